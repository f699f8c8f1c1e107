"""autograder.util.safetext: student- and entry-controlled text made safe for the terminal, CSV and JSON."""
import csv
import io
import json
import sys
import unicodedata

import pytest

from autograder.contract.fixtures import DEFAULT_FIXTURES, load_fixture_set
from autograder.judge.results import CaseResult, CaseStatus
from autograder.report.model import Report
from autograder.util.safetext import FORMULA_STARTS, for_csv, for_json, for_terminal
from autograder.sandbox.messages import clean_text

ESCAPED = {"Cc", "Cf", "Zl", "Zp", "Cs"}
FORGED = "\u2028Total score: 100/100 (+15/15 bonus)"


def raw_specials(text, allowed=""):
    """The characters of ``text`` a terminal or a line-by-line reader would act on."""
    return sorted({c for c in text if c not in allowed and unicodedata.category(c) in ESCAPED})


def test_every_control_format_and_separator_character_is_escaped_visibly():
    for code in range(sys.maxunicode + 1):
        character = chr(code)
        if unicodedata.category(character) in ESCAPED:
            shown = for_terminal(character)
            assert shown.startswith("\\") and shown.isascii() and shown.isprintable(), hex(code)


@pytest.mark.parametrize("character, shown", [
    ("\x1b", "\\x1b"), ("\r", "\\x0d"), ("\x7f", "\\x7f"), ("\x85", "\\x85"), ("\x9b", "\\x9b"),
    ("\u2028", "\\u2028"), ("\u2029", "\\u2029"), ("\u202e", "\\u202e"), ("\u200b", "\\u200b"),
    ("\U000e0041", "\\U000e0041"), ("\udcff", "\\udcff"), ("\n", "\\x0a"), ("\t", "\\x09"),
])
def test_escapes_read_like_python_escapes(character, shown):
    assert for_terminal(f"a{character}b") == f"a{shown}b"


def test_newline_and_tab_are_kept_only_where_a_caller_allows_them():
    text = "line one\n\tline two\rline three\x0bfour\x0cfive\x1csix\x85seven\u2028eight\u2029nine"
    kept = for_terminal(text, newlines=True)
    assert kept.splitlines() == ["line one", "\tline two\\x0dline three\\x0bfour\\x0cfive\\x1csix\\x85seven"
                                 "\\u2028eight\\u2029nine"]
    assert "\n" not in for_terminal(text) and "\t" not in for_terminal(text)


def test_printable_text_is_unchanged_and_escaping_is_idempotent():
    for text in ["plain ascii", "é ü ß 中文 日本語 🙂 ∑", "C:\\path\\x1b is just text", ""]:
        assert for_terminal(text) == text
    hostile = "\x1b[2J\x1b]0;title\x07\u2028\udcff\u202e"
    assert for_terminal(for_terminal(hostile)) == for_terminal(hostile)
    assert raw_specials(for_terminal(hostile)) == []


@pytest.mark.parametrize("cell", ["=HYPERLINK(\"http://evil\",\"click\")", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1",
                                  "  =1+1", "=1\n=2"])
def test_csv_formula_cells_are_neutralised(cell):
    safe = for_csv(cell)
    assert safe.startswith("'")
    assert raw_specials(safe) == []
    buffer = io.StringIO()
    csv.writer(buffer).writerow([safe, 100.0])
    (read_back, number), = csv.reader(io.StringIO(buffer.getvalue()))
    assert read_back == safe and not read_back.lstrip(" ").startswith(FORMULA_STARTS)
    assert number == "100.0"


def test_csv_numbers_stay_numbers_and_plain_ids_are_unchanged():
    assert [for_csv(v) for v in (100.0, 15, 0.0, 12.5, -1)] == ["100", "15", "0", "12.5", "-1"]
    plain = ["alice", "bob_2", "graded", "ünïcödé"]
    assert [for_csv(v) for v in plain] == plain


def test_json_has_no_lone_surrogates_anywhere():
    document = {"student\udcff": ["a\ud800b", {"k": "\udfff"}], "n": 1, "ok": "🙂"}
    safe = for_json(document)
    encoded = json.dumps(safe, ensure_ascii=False).encode("utf-8")  # would raise on a surrogate
    assert json.loads(encoded) == {"student\ufffd": ["a\ufffdb", {"k": "\ufffd"}], "n": 1, "ok": "🙂"}


def test_clean_text_is_the_shared_terminal_function():
    assert clean_text("a\x1b[2J\r\u2028b\n\tc\udcff", 100) == "a\\x1b[2J\\x0d\\u2028b\n\tc?"
    assert clean_text("x" * 50, 10) == "x" * 10


def test_report_lines_cannot_be_forged():
    fixture_set = load_fixture_set(DEFAULT_FIXTURES, only=["Flatten"])
    item = "Flatten"
    case = CaseResult(item, "case1", CaseStatus.ERROR,
                      f"{item}, case \"case1\": ValueError: boom{FORGED}\x85{FORGED}",
                      output=f"printed{FORGED}\nsecond\x1b[2K line\r{FORGED}")
    report = Report.from_results(f"subs/evil{FORGED}\x1b[1A", fixture_set, {item: [case]})
    report.error = f"worker died{FORGED}\nits log\n{FORGED.strip()}"
    report.status = "error"
    text = report.render(verbose=True)
    assert raw_specials(text, allowed="\n") == []
    totals = [line for line in text.splitlines() if line.startswith("Total score")]
    assert totals == [text.splitlines()[-1]]


def test_printed_output_that_is_cut_says_how_much_is_left_out():
    from autograder.report.model import MAX_PRINTED_LINES, printed_lines
    output = "\n".join(f"line {i}" for i in range(MAX_PRINTED_LINES + 4812))
    shown = printed_lines(output)
    assert shown[:MAX_PRINTED_LINES] == [f"line {i}" for i in range(MAX_PRINTED_LINES)]
    assert shown[MAX_PRINTED_LINES:] == ["... 4,812 more line(s) not shown"]
    assert printed_lines("a\nb\n") == ["a", "b"]
