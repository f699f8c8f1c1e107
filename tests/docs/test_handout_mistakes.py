"""Every mistake the handout says the grader catches is caught, provably.

Each entry of the handout's mistake lists (the ``###`` subsections of handout/README.md
"Common mistakes and how the grader reports them", and every bullet of its "More
mistakes ..." list) names, in an HTML comment, the mutant submissions that commit it:

    ### Values differ: the kernel flip forgotten in `Conv1d_stride1.backward`
    <!-- mutant: conv1d_noflip -->

    - `BatchNorm2d`: `eps` forgotten. <!-- mutant: batchnorm_no_eps -->

Every named mutant must exist in tests/submissions/ and have its expected lost items in
tests/e2e/test_mutants.py MUTANTS (which grades it and asserts exactly those items are lost),
so an entry added to the handout without a mutant fails here.  items.md has no mistake
list; a bullet there that carries a ``<!-- mutant: ... -->`` marker is checked the same way.
"""
from __future__ import annotations

import re

import pytest

from helpers import ROOT, SUBMISSIONS
import handout_excerpts as excerpts
from tests.e2e.test_mutants import KNOWN_FIXTURE_GAPS, MUTANTS

README = ROOT / "handout" / "README.md"
ITEMS_MD = ROOT / "handout" / "items.md"
SECTION = "## Common mistakes and how the grader reports them"
MORE = '### More mistakes that show up as "values differ"'
MUTANT_MARKER = re.compile(r"<!-- mutant: ([\w, ]+) -->")
HOW_TO_FIX = ("add a mutant: tests/submissions/mutant_<name>/mytorch/<module>.py (the complete solution's module "
              "with the slip put in), its expected lost items in tests/e2e/test_mutants.py MUTANTS, and the marker "
              "<!-- mutant: <name> --> on the handout entry")


def section(text: str, heading: str) -> str:
    """The text under ``heading`` up to the next heading of the same or a higher level."""
    level = heading.split(" ")[0]
    start = text.index(heading + "\n") + len(heading) + 1
    stop = re.compile(rf"^#{{1,{len(level)}}} ", re.M).search(text, start)
    return text[start:stop.start() if stop else len(text)]


def bullets(text: str) -> list[str]:
    """The top-level ``- `` list items of ``text``, each with its continuation lines."""
    found, current = [], None
    for line in text.split("\n"):
        if line.startswith("- "):
            current = [line]
            found.append(current)
        elif current is not None and line.startswith("  ") and line.strip():
            current.append(line)
        else:
            current = None
    return [" ".join(part.strip() for part in item) for item in found]


def mistake_entries() -> list[tuple[str, str]]:
    """(entry title, entry text) for every mistake the handout says the grader reports."""
    text = README.read_text()
    common = section(text, SECTION)
    entries = []
    for heading in re.findall(r"^### .+$", common, re.M):
        if heading == MORE:
            entries += [(item.split(" <!--")[0][2:], item) for item in bullets(section(common, MORE))]
        else:
            body = section(common, heading)
            entries.append((heading[4:], body[:body.find("\n\n")] if "\n\n" in body else body))
    items_md = ITEMS_MD.read_text()
    entries += [(f"items.md: {item[2:60]}", item) for item in bullets(items_md) if MUTANT_MARKER.search(item)]
    return entries


ENTRIES = mistake_entries()


def marked_mutants(entry: str) -> list[str]:
    return [name.strip() for marker in MUTANT_MARKER.findall(entry) for name in marker.split(",") if name.strip()]


def test_the_mistake_lists_are_found():
    """The parsing itself: the README's subsections and the "More mistakes" bullets."""
    titles = [title for title, _ in ENTRIES]
    assert len(titles) >= 25, titles
    assert "Wrong shape: `floor` instead of `ceil`" in titles
    assert any(title.startswith("`BatchNorm2d`: `eps` forgotten") for title in titles)
    assert MORE[4:] not in titles


@pytest.mark.parametrize("title, entry", ENTRIES, ids=[title[:60] for title, _ in ENTRIES])
def test_every_handout_mistake_has_a_graded_mutant(title, entry):
    names = marked_mutants(entry)
    assert names, f"handout mistake {title!r} names no mutant that commits it: {HOW_TO_FIX}"
    for name in names:
        assert (SUBMISSIONS / f"mutant_{name}" / "mytorch").is_dir(), \
            f"handout mistake {title!r}: tests/submissions/mutant_{name}/ does not exist: {HOW_TO_FIX}"
        assert name in MUTANTS, f"handout mistake {title!r}: mutant_{name} has no expectation in test_mutants.MUTANTS"
        assert MUTANTS[name] - KNOWN_FIXTURE_GAPS.get(name, set()), \
            f"handout mistake {title!r}: the fixtures cannot see mutant_{name} (it loses no item)"


def test_each_quoted_report_comes_from_its_entrys_mutant():
    """A subsection that quotes a report (an excerpt recipe) grades the mutant its marker names."""
    common = section(README.read_text(), SECTION)
    checked = 0
    for heading in re.findall(r"^### .+$", common, re.M):
        body = section(common, heading)
        for recipe in re.findall(r"<!-- excerpt: ([\w-]+) -->", body):
            submission = excerpts.RECIPES[recipe].submission
            assert submission.removeprefix("mutant_") in marked_mutants(body), (
                f"{heading}: the quoted report (recipe {recipe!r}) grades {submission}, which the entry's "
                f"<!-- mutant: ... --> marker does not name")
            checked += 1
    assert checked >= 10
