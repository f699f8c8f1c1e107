"""README's "Contributing: adding a graded item", followed to the letter with a toy item.

In a copy of the repository: a toy layer ``Scale`` (Z = factor * A) is added by
touching exactly the files the README lists, the fixtures are regenerated, and
the toy item is graded: full points for the toy solution, zero for the template,
the rubric grows by its points, and nothing else had to change.
"""
import json
import re
import shutil
import subprocess
import sys

import pytest

from helpers import ROOT, RUBRIC

TOY = "ToyScale"
TOY_POINTS = 1
FILES = {
    "reference/toy.py": '''"""A toy layer for the contributing test: Z = factor * A."""
import numpy as np


class Scale:
    """forward: Z = factor * A (any shape); backward: dLdA = factor * dLdZ."""

    def __init__(self, factor):
        self.factor = factor

    def forward(self, A):
        return self.factor * np.asarray(A, dtype=np.float64)

    def backward(self, dLdZ):
        return self.factor * np.asarray(dLdZ, dtype=np.float64)
''',
    "reference/items/toy.py": f'''"""Graded item: the toy Scale layer."""
from autograder.contract.rubric import Section
from reference.casebuilder import CaseBuilder, Item, normal, pick

POSITION = 99


def scale_case(rng, name, description, shape, factor):
    case = CaseBuilder(name, description, "mytorch.toy", "Scale", {{"factor": factor, "input_shape": list(shape)}},
                       args=[factor])
    case.call("forward", case.array("A", normal(rng, *shape)), check="forward output Z", formula="same shape as A")
    case.call("backward", case.array("dLdZ", normal(rng, *shape)), check="backward dLdA", formula="same shape as A")
    return case


def build_scale(rng):
    return [
        scale_case(rng, "batch1", "batch 1, one channel", (1, 1, pick(rng, 2, 5)), 2.0),
        scale_case(rng, "negative", "a negative factor", (2, 3, pick(rng, 2, 5)), -0.5),
        scale_case(rng, "two_dimensional", "(N, C, H, W) input", (2, 2, 3, pick(rng, 2, 4)), 3.0),
    ]


ITEMS = [
    Item("{TOY}", Section.BONUS, {TOY_POINTS}, ("Scale",), "items.md#22-toyscale-1-point-bonus", build_scale),
]
''',
    "student_template/mytorch/toy.py": '''"""A toy layer."""


class Scale:
    def __init__(self, factor):
        self.factor = factor

    def forward(self, A):
        raise NotImplementedError("Scale.forward: multiply every element by factor")

    def backward(self, dLdZ):
        raise NotImplementedError("Scale.backward: multiply every element by factor")
''',
    "tests/submissions/complete/mytorch/toy.py": '''"""A toy layer."""


def _scale(x, factor):
    return [_scale(v, factor) for v in x] if isinstance(x, list) else factor * x


class Scale:
    def __init__(self, factor):
        self.factor = factor

    def forward(self, A):
        return _scale(A, self.factor)

    def backward(self, dLdZ):
        return _scale(dLdZ, self.factor)
''',
}
HANDOUT_ROW = f"| 22 | `{TOY}` | bonus | {TOY_POINTS} | `Scale` | [§22](#22-toyscale-1-point-bonus) |\n"
HANDOUT_SECTION = f"""
## 22. {TOY} ({TOY_POINTS} point, bonus)

```python
# mytorch/toy.py
class Scale:
    def __init__(self, factor): ...
    def forward(self, A): ...      # factor * A
    def backward(self, dLdZ): ...  # factor * dLdZ
```
"""


def copy_of_the_repository(target):
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    for name in filter(None, tracked.decode().split("\0")):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


def snapshot(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts and ".pytest_cache" not in p.parts}


def grade(repo, submission, *args):
    run = subprocess.run([sys.executable, "runner.py", "--submission", submission, *args], cwd=repo,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    return json.loads(run.stdout.splitlines()[-1]), run.stdout


@pytest.mark.slow
def test_adding_a_toy_item_touches_only_the_listed_files(tmp_path):
    repo = copy_of_the_repository(tmp_path / "repo")
    before = snapshot(repo)
    for name, text in FILES.items():                                          # steps 1 to 4
        (repo / name).write_text(text)
    items_md = (repo / "handout" / "items.md").read_text()                  # step 5
    table_end = items_md.index("\n\n", items_md.index("| 21 | `ResBlock`")) + 1
    items_md = items_md[:table_end] + HANDOUT_ROW + items_md[table_end:] + HANDOUT_SECTION
    (repo / "handout" / "items.md").write_text(items_md)
    generated = subprocess.run([sys.executable, "-m", "reference.generate"], cwd=repo,  # step 6
                               capture_output=True, text=True, timeout=600)
    assert generated.returncode == 0, generated.stderr

    changed = {name for name, data in snapshot(repo).items() if before.get(name) != data}
    assert {name for name in changed if not name.startswith("fixtures/")} == \
        set(FILES) | {"handout/items.md"}
    assert {"fixtures/manifest.json", f"fixtures/{TOY}.npz"} <= changed
    touched = {name for name in changed if not name.startswith("fixtures/")} | {"fixtures/"}
    assert len(touched) <= 6, f"adding an item touched {sorted(touched)}"

    listed = subprocess.run([sys.executable, "runner.py", "--list"], cwd=repo, capture_output=True, text=True)
    assert re.search(rf"^\s+{TOY}\s+{TOY_POINTS}\s+all or nothing\s+\(Scale\)$", listed.stdout, re.M)
    bonus = RUBRIC.sections["bonus"].max + TOY_POINTS
    assert f"Bonus ({bonus:g} points)" in listed.stdout

    line, _ = grade(repo, "tests/submissions/complete", "--only", TOY)
    assert line == {"scores": {TOY: float(TOY_POINTS)}, "scoreboard": [0.0, float(TOY_POINTS)]}
    line, text = grade(repo, "student_template", "--only", TOY)
    assert line == {"scores": {TOY: 0.0}, "scoreboard": [0.0, 0.0]}
    assert re.search(rf"TODO\s+{TOY}\s+0/{TOY_POINTS}.*\[not implemented\]", text)
    line, text = grade(repo, "tests/submissions/complete")
    assert line["scoreboard"] == [RUBRIC.sections["main"].max, bonus]
    assert f"Total score: 100/100 (+{bonus:g}/{bonus:g} bonus)" in text
