"""The class report (``OUT/report.html``): its numbers equal summary.json, student text is escaped, it
needs nothing from outside, and it renders in a real headless Chromium (skipped when none is installed).

One small batch (graded against a trimmed fixture set, one case per item) gives a page with every part:
a complete submission, one with a shape error under a hostile id, the template (nothing implemented)
and one that cannot be graded.
"""
import json
import os
import shutil
import struct
import subprocess
import zlib
from html.parser import HTMLParser

import pytest

from autograder.batch import class_report
from autograder.batch.entries import Outcome
from autograder.batch.class_report import HISTOGRAM_COLOR, KINDS, failure_kind, render
from helpers import TEMPLATE, copy_complete, run_runner, trimmed_fixtures

HOSTILE_DIR = "<img src=x onerror=alert(1)>\"'&"  # a folder name cannot hold '/', so no </script> here
SCRIPT_ID = "<script>alert(1)</script>\"'&amp;"
SHAPE_ERRORS = {"Flatten", "CNN", "SimpleScanningMLP", "DistributedScanningMLP"}  # the items using Flatten
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
WINDOW = (900, 700)
SAFE_TAGS = {"html", "head", "meta", "title", "style", "body", "h1", "h2", "p", "div", "b", "br", "table", "tr",
             "th", "td", "pre", "span", "i", "svg", "rect", "line", "text"}


class Page(HTMLParser):
    """The parts of report.html the tests compare: tags, data attributes, text."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.tags, self.attributes, self.data = [], [], []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attributes.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.data.append(data)

    def with_attribute(self, name, tag=None):
        return [attrs for t, attrs in self.attributes if name in attrs and (tag is None or t == tag)]


@pytest.fixture(scope="module")
def class_batch(tmp_path_factory):
    base = tmp_path_factory.mktemp("classreport")
    fixtures = trimmed_fixtures(base / "fixtures")
    subs = base / "submissions"
    subs.mkdir()
    copy_complete(subs / "alice")
    hostile = copy_complete(subs / HOSTILE_DIR)
    flatten = hostile / "mytorch" / "flatten.py"  # forward returns a (1, 1) list: a shape error
    flatten.write_text(flatten.read_text().replace("return [flatten", "return [[0]] or [flatten", 1))
    shutil.copytree(TEMPLATE / "mytorch", subs / "tom" / "mytorch", ignore=shutil.ignore_patterns("__pycache__"))
    (subs / "dave").mkdir()
    (subs / "dave" / "notes.txt").write_text("forgot the code")
    out = base / "out"
    argv = ["batch", subs, "--out", out, "--fixtures", fixtures, "--jobs", "2"]
    run = run_runner(*argv, timeout=300)
    assert run.returncode == 1, run.stderr  # dave has no mytorch/: not graded, listed
    text = (out / "report.html").read_text(encoding="utf-8")
    return {"argv": argv, "out": out, "summary": json.loads((out / "summary.json").read_text()), "text": text, "page": Page(text)}


@pytest.mark.slow
def test_every_batch_writes_the_report_atomically(class_batch):
    assert sorted(p.name for p in class_batch["out"].iterdir() if not p.name.startswith(".")) == \
        ["grades.csv", "report.html", "reports", "summary.json"]  # no temporary file left behind


@pytest.mark.slow
def test_numbers_equal_the_summary(class_batch):
    summary, page = class_batch["summary"], class_batch["page"]
    shown = {cell["data-key"]: json.loads(cell["data-value"]) for cell in page.with_attribute("data-key", "td")}
    for key in ("count", "graded", "errors", "reused", "wall_seconds", "main_max", "bonus_max"):
        assert shown[key] == summary[key], key
    for section in ("main", "bonus"):
        for name, value in summary[section].items():
            assert shown[f"{section}.{name}"] == value, (section, name)
    assert (summary["count"], summary["graded"], summary["errors"]) == (4, 3, 1)
    rows = {row["data-item"]: row for row in page.with_attribute("data-item", "tr")}
    assert list(rows) == list(summary["items"])
    for name, entry in summary["items"].items():
        row = rows[name]
        assert (int(row["data-passed"]), int(row["data-graded"]), json.loads(row["data-pass-rate"])) == \
            (entry["passed"], entry["graded"], entry["pass_rate"]), name
    failed = [row["data-student"] for row in page.with_attribute("data-student", "tr") if row.get("class") == "failed"]
    assert failed == [f["student"] for f in summary["failed_to_grade"]] == ["dave"]


@pytest.mark.slow
def test_histograms_count_every_submission(class_batch):
    summary, page = class_batch["summary"], class_batch["page"]
    bars = page.with_attribute("data-count", "rect")
    assert len(bars) == 2 * class_report.HISTOGRAM_BINS and all(bar["fill"] == HISTOGRAM_COLOR for bar in bars)
    main, bonus = bars[:class_report.HISTOGRAM_BINS], bars[class_report.HISTOGRAM_BINS:]
    for section, section_bars in (("main", main), ("bonus", bonus)):
        assert sum(int(bar["data-count"]) for bar in section_bars) == summary["count"]
        assert float(section_bars[-1]["data-high"]) == summary[f"{section}_max"]
    # main totals 100 (alice), 80 (shape error in Flatten, and so in CNN and both scanning MLPs), 0, 0
    assert [int(bar["data-count"]) for bar in main] == [2, 0, 0, 0, 0, 0, 0, 0, 1, 1]


@pytest.mark.slow
def test_failure_kinds_per_item(class_batch):
    summary, page = class_batch["summary"], class_batch["page"]
    for row in page.with_attribute("data-item", "tr"):
        entry = summary["items"][row["data-item"]]
        assert entry["graded"] == 3
    table = class_batch["text"].split('<table class="items">', 1)[1]
    for name, entry in summary["items"].items():
        cells = table.split(f'data-item="{name}"', 1)[1].split("</tr>", 1)[0]
        kinds = {kind: int(cells.split(f'data-kind="{kind}">', 1)[1].split("<", 1)[0]) for kind in KINDS}
        assert entry["passed"] + sum(kinds.values()) == entry["graded"], name
        assert kinds["not_implemented"] == 1, name  # the template
        assert kinds["shape"] == (1 if name in SHAPE_ERRORS else 0), name


def case(status, message="", failures=()):
    return {"case": "c", "status": status, "points": 0, "message": message, "wall_seconds": 0,
            "student_seconds": 0, "output": "", "failures": [{"quantity": "forward output Z", "kind": kind}
                                                            for kind in failures]}


@pytest.mark.parametrize("status, messages, kind", [
    ("passed", [], None),
    ("timeout", [("timeout", "timed out after 3 s")], "timeout"),
    ("crashed", [("crashed", "ended without reporting a result (SIGKILL)")], "crash"),
    ("error", [("error", "ValueError raised in forward")], "exception"),
    ("not_implemented", [("not_implemented", "not implemented yet")], "not_implemented"),
    ("not_graded", [], "not_graded"),
    # the judge's kinds (a case's failures), never its words: a message that reads like a shape error counts for
    # nothing, the kind decides
    ("failed", [("failed", "h\nforward output Z: values differ", ["shape"])], "shape"),
    ("failed", [("failed", "h\nforward output Z: got None; did the method forget to return?", ["invalid"])],
     "shape"),
    ("failed", [("failed", "h\nforward output Z: shape (1, 1) but the reference has shape (2, 6)", ["mismatch"])],
     "mismatch"),
    ("failed", [("failed", "h\nforward output Z: values differ", ["mismatch", "invalid"])], "shape"),
    ("failed", [("passed", "", []), ("failed", "h\nforward output Z: values differ from the reference (rtol=1e-05)",
                                      ["mismatch"])], "mismatch"),
    ("failed", [("failed", "a report without failures (older than the judge's kinds)", [])], "mismatch"),
])
def test_failure_kind(status, messages, kind):
    assert failure_kind({"status": status, "cases": [case(*each) for each in messages]}) == kind


def test_student_text_is_escaped():
    """A hostile id, error reason and case message stay text: no tag, no attribute, no event handler."""
    item = {"name": "Flatten", "section": "main", "policy": "all_or_nothing", "status": "failed", "points": 0,
            "max_points": 5, "passed_cases": 0, "total_cases": 1, "wall_seconds": 0.1,
            "cases": [case("failed", f"{SCRIPT_ID}: shape (1,) but the reference has shape (2,)")]}
    totals = {"main": 0.0, "main_max": 100.0, "bonus": 0.0, "bonus_max": 15.0}
    graded = {"status": "graded", "error": "", "totals": totals, "items": [item], "wall_seconds": 1.0}
    broken = {"status": "error", "error": f"</pre>{SCRIPT_ID}\n\u202eevil\x1b[2J", "totals": totals, "items": [],
              "wall_seconds": 0.0}
    summary = {"harness_version": "1", "rubric": {"name": "HW", "version": "1"},
               "fixture_set": {"id": "x", "seed": 1, "manifest_sha256": "0" * 64, "path": "f"},
               "count": 2, "graded": 1, "errors": 1, "reused": 0, "main": None, "main_max": 100.0, "bonus": None,
               "bonus_max": 15.0, "wall_seconds": 1.0,
               "items": {"Flatten": {"section": "main", "max_points": 5, "passed": 0, "graded": 1, "pass_rate": 0.0}},
               "failed_to_grade": [{"student": SCRIPT_ID + "2", "submission": "s", "reason": broken["error"]}]}
    text = render([Outcome(SCRIPT_ID, graded), Outcome(SCRIPT_ID + "2", broken)], summary)
    page = Page(text)
    assert set(page.tags) <= SAFE_TAGS and "script" not in page.tags
    assert not any(name.startswith("on") for _, attrs in page.attributes for name in attrs)
    assert "<script>" not in text and "\u202e" not in text and "\x1b" not in text
    assert SCRIPT_ID in "".join(page.data)  # shown as text, as it is
    assert [attrs["data-student"] for attrs in page.with_attribute("data-student", "tr")
            if attrs.get("class") == "failed"] == [SCRIPT_ID + "2"]


@pytest.mark.slow
def test_self_contained(class_batch):
    text = class_batch["text"]
    page = class_batch["page"]
    assert "script" not in page.tags and "link" not in page.tags and "img" not in page.tags
    assert HOSTILE_DIR in "".join(page.data)  # the hostile id (a real entry) is shown as text
    assert not any(key in ("src", "href") for _, attrs in page.attributes for key in attrs)
    assert "url(" not in text and "@import" not in text
    assert text.count("http://") + text.count("https://") == \
        text.count('xmlns="http://www.w3.org/2000/svg"')  # only the SVG namespace, never fetched
    assert "Content-Security-Policy\" content=\"default-src 'none'" in text  # a browser fetches nothing


# ----------------------------------------------------------------------------- in a real browser


def find_browser():
    return next((path for path in map(shutil.which, BROWSERS) if path), None)


def png_pixels(data):
    """(width, height, rows of (r, g, b) tuples) of an 8-bit RGB or RGBA non-interlaced PNG (stdlib only)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    position, chunks, header = 8, [], None
    while position < len(data):
        length, kind = struct.unpack(">I4s", data[position:position + 8])
        body = data[position + 8:position + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            chunks.append(body)
        position += 12 + length
    width, height, depth, colour, _, _, interlace = header
    assert depth == 8 and colour in (2, 6) and interlace == 0, header
    step = 3 if colour == 2 else 4
    raw, stride = zlib.decompress(b"".join(chunks)), width * step
    previous, rows = bytearray(stride), []
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - step] if i >= step else 0
            up, corner = previous[i], previous[i - step] if i >= step else 0
            if kind == 1:
                line[i] = (line[i] + left) & 255
            elif kind == 2:
                line[i] = (line[i] + up) & 255
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 255
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 255
        rows.append([tuple(line[x:x + 3]) for x in range(0, stride, step)])
        previous = line
    return width, height, rows


@pytest.mark.slow
def test_renders_in_headless_chromium(class_batch, tmp_path):
    browser = find_browser()
    if browser is None:
        if os.environ.get("CLASS_REPORT_REQUIRE_BROWSER"):  # .ci/run installed one: a skip would hide a failure
            pytest.fail(f"CLASS_REPORT_REQUIRE_BROWSER is set but none of {', '.join(BROWSERS)} is on PATH")
        pytest.skip(f"no headless browser: none of {', '.join(BROWSERS)} is on PATH "
                    f"(install one, e.g. apt-get install chromium, to run this test)")
    page, shot = class_batch["out"] / "report.html", tmp_path / "report.png"
    command = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
               f"--user-data-dir={tmp_path / 'profile'}", f"--window-size={WINDOW[0]},{WINDOW[1]}"]
    done = subprocess.run([*command, f"--screenshot={shot}", page.as_uri()], capture_output=True, text=True,
                          timeout=180)
    assert shot.is_file(), f"no screenshot ({done.returncode}): {done.stderr[-2000:]}"
    width, height, rows = png_pixels(shot.read_bytes())
    assert (width, height) == WINDOW
    colours = {pixel for row in rows for pixel in row}
    assert len(colours) > 10, "the screenshot is blank"
    wanted = tuple(int(HISTOGRAM_COLOR[i:i + 2], 16) for i in (1, 3, 5))
    bar_pixels = sum(1 for row in rows for pixel in row if all(abs(a - b) <= 3 for a, b in zip(pixel, wanted)))
    assert bar_pixels > 500, f"the histogram's bars ({HISTOGRAM_COLOR}) are not in the screenshot"
    dom = subprocess.run([*command, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=180)
    assert dom.stdout.count('class="bar"') == 2 * class_report.HISTOGRAM_BINS, dom.stderr[-2000:]


@pytest.mark.slow
def test_a_run_that_grades_nothing_writes_it_again(class_batch):
    """Last in this file: it rewrites the batch's outputs (every report reused, the same numbers)."""
    (class_batch["out"] / "report.html").unlink()
    run = run_runner(*class_batch["argv"], timeout=300)
    assert run.returncode == 1, run.stderr  # dave again
    summary = json.loads((class_batch["out"] / "summary.json").read_text())
    page = Page((class_batch["out"] / "report.html").read_text(encoding="utf-8"))
    shown = {cell["data-key"]: json.loads(cell["data-value"]) for cell in page.with_attribute("data-key", "td")}
    assert shown["reused"] == summary["reused"] == 4
    assert shown["main.mean"] == summary["main"]["mean"] == class_batch["summary"]["main"]["mean"]
