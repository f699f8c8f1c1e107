"""The layout of autograder/ is a stack of layers: every import points down (or within its own subpackage),
there is no circle of imports anywhere in the repository, and what runs inside the sandbox (case/) imports
the standard library only.  The import graph is read from the source (every import statement, at module
level or inside a function), so a lazy import cannot hide a circle."""
import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# lowest first; a module may import from its own layer or any lower one
LAYERS = [
    {"autograder", "autograder.errors", "autograder.util"},
    {"autograder.contract", "autograder.archives", "autograder.case"},
    {"autograder.sandbox"},
    {"autograder.judge"},
    {"autograder.report"},
    {"autograder.grading", "autograder.config"},
    {"autograder.batch"},
    {"autograder.platforms"},
    {"autograder.cli", "autograder.conftest", "autograder.__main__"},
]
AT_TOP_AT_MOST = 10  # modules directly in autograder/


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def sources() -> dict[str, Path]:
    found = {}
    for top in ("autograder", "reference"):
        for path in sorted((ROOT / top).rglob("*.py")):
            found[module_name(path)] = path
    return found


def imported(path: Path, name: str, known: set[str]) -> set[str]:
    """The repository's modules ``path`` imports (``from package import module`` counts as the module)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


GRAPH = {name: imported(path, name, set(sources())) for name, path in sources().items()}


def layer_of(name: str) -> int:
    for index, members in enumerate(LAYERS):
        if any(name == member or name.startswith(member + ".") and member != "autograder" for member in members):
            return index
    raise AssertionError(f"{name} belongs to no layer: add its subpackage to LAYERS in tests/test_layers.py")


@pytest.mark.parametrize("name", sorted(n for n in GRAPH if n.startswith("autograder")))
def test_imports_point_down(name):
    up = sorted(t for t in GRAPH[name] if t.startswith("autograder") and layer_of(t) > layer_of(name))
    assert not up, f"{name} (layer {layer_of(name)}) imports from a higher layer: {up}"


def test_no_circles_anywhere():
    """Tarjan's strongly connected components over autograder/ and reference/: each must be one module
    (a package and its own __init__ re-exports aside, which the graph never contains)."""
    index, low, stack, on_stack, circles, counter = {}, {}, [], set(), [], [0]

    def visit(node):
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for target in sorted(GRAPH.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for node in sorted(GRAPH):
        if node not in index:
            visit(node)
    assert not circles, f"import circles: {circles}"


def test_what_runs_in_the_sandbox_imports_only_the_standard_library():
    """case/ is loaded by path by the fork server (before any restriction) and by spawned cases: it may not
    import the grader, numpy or anything else outside the standard library."""
    for path in sorted((ROOT / "autograder" / "case").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or "."] if isinstance(node, ast.ImportFrom) else []
            if isinstance(node, ast.ImportFrom) and node.level:
                raise AssertionError(f"{path.name}: relative import (case modules are loaded by path)")
            for name in names:
                top = name.split(".")[0]
                assert top in sys.stdlib_module_names or top == "__future__", f"{path.name} imports {name}"


def test_the_top_of_the_package_stays_small():
    top = sorted(p.name for p in (ROOT / "autograder").glob("*.py"))
    assert len(top) <= AT_TOP_AT_MOST, f"{len(top)} modules directly in autograder/: {top}"
