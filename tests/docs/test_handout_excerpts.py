"""What the handout quotes is what the grader and a correct solution print.

- every ```text block of the handout that quotes the grader's report is marked with
  ``<!-- excerpt: NAME -->`` and equals what ``tests/handout_excerpts.py`` renders from a
  live run of its recipe (timings, the machine's ``sandbox:`` lines and the random dropout
  fractions normalised; the trimming is the recipe's own);
- every fixture-set id the handout quotes is the live one;
- every worked example of handout/*.md (``>>>`` lines) prints, run against the complete
  stdlib solution in a ``python -I -S`` child, what the handout shows, rounded as
  handout/items.md says: 10 significant digits, rounding noise below 1e-12 shown as 0.0.

The recipes' gradings run once, two runners at a time (about 10-20 s).
"""
from __future__ import annotations

import ast
import difflib
import json
import re
import subprocess
import sys

import pytest

from helpers import COMPLETE, ROOT, examples, handout_files
import handout_excerpts as excerpts

TEXT_BLOCK = re.compile(r"(<!-- excerpt: [\w-]+ -->\n)?```text\n(.*?)\n```", re.S)
REPORT_LOOKING = re.compile(r"^  (PASS|FAIL|TODO)  |Details of what went wrong|Total score:|not implemented yet|"
                            r"Traceback \(most recent|fixture set seed-", re.M)
FIXTURE_ID = re.compile(r"seed-\d+-[0-9a-f]{12}")
MARKED = excerpts.marked_blocks()
MARKED_NAMES = [name for _, name, _ in MARKED]


def test_every_quoted_report_is_marked_with_a_recipe():
    for path in excerpts.MARKED_FILES:
        for match in TEXT_BLOCK.finditer(path.read_text()):
            if REPORT_LOOKING.search(match.group(2)):
                assert match.group(1), (
                    f"{path.relative_to(ROOT)}: a ```text block quotes the grader but has no "
                    f"<!-- excerpt: NAME --> marker before it (add a recipe to tests/handout_excerpts.py):\n"
                    f"{match.group(2)[:300]}")
    assert len(MARKED_NAMES) == len(set(MARKED_NAMES)), f"a recipe marks two blocks: {sorted(MARKED_NAMES)}"
    assert set(MARKED_NAMES) == set(excerpts.RECIPES), (
        f"recipes without a block: {sorted(set(excerpts.RECIPES) - set(MARKED_NAMES))}; "
        f"markers without a recipe: {sorted(set(MARKED_NAMES) - set(excerpts.RECIPES))}")


@pytest.fixture(scope="module")
def live() -> dict[str, str]:
    """Recipe -> the runner's stdout, every recipe graded once."""
    return excerpts.run_all(sorted(excerpts.RECIPES))


@pytest.mark.slow
@pytest.mark.parametrize("file_name, name, quoted", [(p.name, n, q) for p, n, q in MARKED],
                         ids=[name for name in MARKED_NAMES])
def test_quoted_excerpt_is_what_the_grader_prints(file_name, name, quoted, live):
    rendered = excerpts.render(name, live[name])
    if excerpts.normalise(quoted) != excerpts.normalise(rendered):
        diff = "\n".join(difflib.unified_diff(quoted.split("\n"), rendered.split("\n"),
                                              f"{file_name} (quoted)", "grader (live)", lineterm=""))
        pytest.fail(f"the {name!r} excerpt in {file_name} is stale:\n{diff}\n{excerpts.WRITE_HINT}")


@pytest.mark.slow
def test_quoted_fixture_set_ids_are_the_live_one(live):
    header = excerpts.parse_report(live["progress"]).header
    current = {m for line in header for m in FIXTURE_ID.findall(line)}
    assert len(current) == 1, header
    for path in handout_files():
        quoted = set(FIXTURE_ID.findall(path.read_text()))
        assert quoted <= current, (f"{path.name} quotes the fixture set id {sorted(quoted - current)}, the grader "
                                   f"prints {current.pop()}: {excerpts.WRITE_HINT}")


def test_the_renderer_trims_as_documented():
    """The trimming itself, on a made-up report: rows, blocks, heads and tails, the Autolab line."""
    stdout = "\n".join([
        "mytorch autograder 1.0.0: /x", "fixture set seed-1-0123456789ab", "sandbox: whatever", "",
        "  PASS  A                  1/1   1/1 cases    0.01s",
        "  FAIL  B                  0/1   0/2 cases    0.02s",
        "  FAIL  C                  0/1   0/1 cases    0.03s", "",
        "Details of what went wrong:", "",
        'B, case "one" (x)', "    line 1", "      line 2", "      line 3", "",
        'B, case "two" (y)', "    only", "",
        'C, case "three" (z)', "    c", "",
        "Total score: 1/3 (+0/0 bonus)",
        '{"scores":{"A":1.0,"B":0.0,"C":0.0},"scoreboard":[1.0,0.0]}',
    ])
    excerpts.RECIPES["_probe"] = excerpts.Recipe(
        "progress", "/x", header=True, details_heading=True, rows=("A", "C"),
        blocks=(excerpts.Block('B, case "one"', 2), excerpts.Block('C, case "three"')))
    try:
        rendered = excerpts.render("_probe", stdout)
    finally:
        del excerpts.RECIPES["_probe"]
    assert rendered.split("\n") == [
        "$ python runner.py --submission /x", "mytorch autograder 1.0.0: /x", "fixture set seed-1-0123456789ab",
        "sandbox: whatever", "",
        "  PASS  A                  1/1   1/1 cases    0.01s", "...",
        "  FAIL  C                  0/1   0/1 cases    0.03s", "",
        "Details of what went wrong:", "",
        'B, case "one" (x)', "    line 1", "    ...", "...", "",
        'C, case "three" (z)', "    c", "",
        "Total score: 1/3 (+0/0 bonus)",
        '{"scores":{"A":1.0,...,"C":0.0},"scoreboard":[1.0,0.0]}',
    ]
    assert excerpts.normalise("  FAIL  C     0/1   0/1 cases    3.14s\nsandbox: x") == \
        excerpts.normalise("  FAIL  C     0/1   0/1 cases    0.03s")


# ----------------------------------------------------------------------------- worked examples

RUN_EXAMPLES = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
results = []
for block in json.load(sys.stdin):
    namespace, printed = {}, []
    for source in block:
        try:
            code = compile(source, "<example>", "eval")
        except SyntaxError:
            exec(compile(source, "<example>", "exec"), namespace)
            printed.append(None)
            continue
        value = eval(code, namespace)
        printed.append(None if value is None else repr(value))
    results.append(printed)
print(json.dumps(results))
"""

ALL_EXAMPLES = [(path.name, n, block) for path in handout_files()
                for n, block in enumerate(examples(path.read_text()), start=1)]


@pytest.fixture(scope="module")
def printed_by_complete() -> list[list[str | None]]:
    """What the complete stdlib solution prints for every statement of every example, in order."""
    sources = [[source for source, _ in block] for _, _, block in ALL_EXAMPLES]
    done = subprocess.run([sys.executable, "-I", "-S", "-c", RUN_EXAMPLES, str(COMPLETE)], input=json.dumps(sources),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def shown_as(got, shown, where: str) -> None:
    """``shown`` is ``got`` as the handout prints numbers: 10 significant digits, |x| < 1e-12 as 0.0."""
    if isinstance(shown, (list, tuple)):
        assert type(got) is type(shown) and len(got) == len(shown), f"{where}: structure differs"
        for g, s in zip(got, shown):
            shown_as(g, s, where)
    elif isinstance(shown, float):
        assert type(got) is float, f"{where}: the solution prints {got!r} where the handout shows a float {shown!r}"
        rounded = 0.0 if abs(got) < 1e-12 else float(f"{got:.10g}")
        assert rounded == shown, f"{where}: the solution prints {got!r}, i.e. {rounded!r} as shown, not {shown!r}"
    else:
        assert got == shown and type(got) is type(shown), f"{where}: the solution prints {got!r}, not {shown!r}"


@pytest.mark.parametrize("index", range(len(ALL_EXAMPLES)), ids=[f"{f}-example{n}" for f, n, _ in ALL_EXAMPLES])
def test_worked_example_prints_what_the_complete_solution_prints(index, printed_by_complete):
    file_name, number, block = ALL_EXAMPLES[index]
    for (source, expected), got in zip(block, printed_by_complete[index], strict=True):
        where = f"{file_name} example {number}: >>> {source.splitlines()[0]}"
        if expected is None:
            assert got is None, f"{where}: the solution prints {got} but the handout shows nothing"
            continue
        assert got is not None, f"{where}: the handout shows {expected} but the solution prints nothing"
        shown_as(ast.literal_eval(got), ast.literal_eval(expected), where)


def test_items_md_says_how_examples_are_rounded():
    text = " ".join((ROOT / "handout" / "items.md").read_text().split())
    assert "rounded to 10 significant digits" in text and "shown as `0.0`" in text
