"""What CPython 3.10 to 3.13 themselves write differently in a report, for the tests that compare
reports (or quote them) across versions: tests/e2e/test_interpreters.py, tests/handout_excerpts.py.

The grader makes everything else read the same (autograder/util/compat.py; wire.py draws no ``^^^``
lines).  What remains is CPython's own traceback text:

* from 3.12 on, a list, dict or set comprehension runs in its function's frame (PEP 709): a
  traceback through one has no ``<listcomp>`` frame below the function's;
* from 3.12 on, the traceback module ends an AttributeError, NameError or ImportError with
  ``. Did you mean: 'x'?`` (or ``. Did you forget to import 'x'?``) where it finds a near name.

(An error's own message can differ too, when CPython rewords one; none of the graded
submissions meets such a message today.)

And one in what a student's code computes: from 3.12 on, ``sum()`` of floats is compensated
(Neumaier summation), so a student's sums may differ in their last bits between 3.10/3.11 and
3.12/3.13.  Far inside the tolerance, no score changes; but a failing case quotes the student's
values, and where they are rounding-level (ResBlock's "dead_channel" case, a channel of zero
variance) the quoted digits differ, and a variance that was 1e-17 can be exactly 0, so a missing
eps raises ZeroDivisionError instead of giving wrong values (``across_sum_change``).
"""
import copy
import re

COMPREHENSION_FRAME = re.compile(r'^( *)File "[^"\n]*", line \d+, in <(?:listcomp|dictcomp|setcomp)>\n(?:\1  \S.*\n)?',
                                 re.MULTILINE)
SUGGESTION = re.compile(r"\. Did you (?:mean: .*|forget to import '[^'\n]*')\?$", re.MULTILINE)


def set_aside(text):
    """``text`` (a report's message, or printed report) without comprehension frames and suggestions."""
    return SUGGESTION.sub("", COMPREHENSION_FRAME.sub("", text))


COMPENSATED_SUMS = (3, 12)  # sum() of floats is compensated from this version on
NUMBER = re.compile(r"-?\d+\.\d+(?:e[-+]?\d+)?|-?\d+e[-+]?\d+")
NUMBER_DIGITS = 6  # significant digits a number in a message keeps when the sums differ


def sums_alike(version, other):
    """Whether Pythons ``version`` and ``other`` ("3.X") sum floats alike."""
    def compensated(text):
        return tuple(map(int, text.split("."))) >= COMPENSATED_SUMS
    return compensated(version) == compensated(other)


def across_sum_change(report, other):
    """Two reports (as tests/test_interpreters.comparable gives them) as they compare between a Python whose
    ``sum()`` is compensated and one whose is not: every number in a text at NUMBER_DIGITS significant
    digits, and a case (or item) that fails on both sides but not in the same way reduced to its points."""
    report, other = copy.deepcopy(report), copy.deepcopy(other)
    for item, its in zip(report.get("items", []), other.get("items", [])):
        for mine, theirs in [(item, its), *zip(item.get("cases", []), its.get("cases", []))]:
            statuses = {mine.get("status"), theirs.get("status")} if isinstance(mine, dict) else set()
            if len(statuses) == 2 and "passed" not in statuses:
                for side in (mine, theirs):
                    side["status"] = "failing"
                    for key in ("message", "mismatches", "failures"):
                        side.pop(key, None)
    return rounded(report), rounded(other)


def rounded(value):
    if isinstance(value, dict):
        return {key: rounded(item) for key, item in value.items()}
    if isinstance(value, list):
        return [rounded(item) for item in value]
    if isinstance(value, str):
        return NUMBER.sub(lambda match: f"{float(match.group()):.{NUMBER_DIGITS}g}", value)
    return value
