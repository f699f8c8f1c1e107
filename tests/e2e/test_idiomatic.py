"""The idiomatic solution: a second full solution, written from the handout alone.

``tests/submissions/idiomatic/mytorch/`` solves every item in the modern
standard-library Python a good student writes: dataclasses (with defaults and
``field(default_factory=...)``), ``typing.NamedTuple`` and
``collections.namedtuple``, an ``enum.Enum``, ``functools``, ``itertools``,
``copy.deepcopy``, ``fractions.Fraction``, ``operator``, ``math.fsum``,
generators and ``zip(strict=True)``; and a debug log (``_debug.py``, used by the CNN) that
imports what a sandbox refusing imports used to refuse: ``logging.handlers`` and
``logging.config``, ``multiprocessing.cpu_count()``, ``getpass.getuser()``,
``pwd.getpwuid(os.getuid())``, ``socket``, ``urllib.request``, ``http.client``, ``asyncio``
and ``unittest.mock``.  Idiomatic code must never cost points:
the grader has to give it 100/100 (+15/15 bonus), exactly like complete/.

The solution's idioms are what make it useful (importing ``dataclasses``,
defining a ``NamedTuple``, ... exercise the sandbox's audit hook), so a test
here also checks that they are still there: simplifying the solution must not
quietly turn this into a second copy of complete/.
"""
import ast
import json
import subprocess
import sys

import pytest

from helpers import COMPLETE, MAX_POINTS, SUBMISSIONS, TEMPLATE

pytestmark = pytest.mark.slow  # the idiomatic submission on every item

IDIOMATIC = SUBMISSIONS / "idiomatic"
PACKAGE = IDIOMATIC / "mytorch"
POINTS = MAX_POINTS
GIVEN = {"__init__.py", "activation.py", "linear.py", "loss.py", "tensor.py"}  # complete in the template


@pytest.fixture(scope="module")
def idiomatic_run(tmp_path_factory, runner_run):
    return runner_run("--submission", IDIOMATIC, json_path=tmp_path_factory.mktemp("idiomatic") / "report.json")


# ----------------------------------------------------------------------------- the grade


def failing_messages(item):
    return [case["message"] for case in item["cases"] if case["status"] != "passed"]


def summary(message):
    """A failing case's message in three lines: the case, what went wrong, the last line."""
    lines = message.splitlines()
    return "\n      ".join(lines if len(lines) <= 3 else [lines[0], lines[1], "...", lines[-1]])


def test_idiomatic_solution_scores_full_marks(idiomatic_run):
    assert idiomatic_run.returncode == 0, idiomatic_run.stderr
    report = idiomatic_run.report
    assert report is not None, idiomatic_run.stdout + idiomatic_run.stderr
    assert report["status"] == "graded" and report["error"] == ""
    lost = [item for item in report["items"] if item["points"] < item["max_points"]]
    assert not lost, "\n".join([
        "the idiomatic solution lost points:",
        *(f"  {item['name']}: {item['points']:g}/{item['max_points']:g} [{item['status']}]\n"
          f"      {summary(failing_messages(item)[0])}" for item in lost),
        "the first failing case in full:",
        failing_messages(lost[0])[0]])
    assert report["scores"] == POINTS
    assert report["totals"] == {"main": 100, "main_max": 100, "bonus": 15, "bonus_max": 15}
    for item in report["items"]:
        assert item["passed_cases"] == item["total_cases"] > 0
    assert idiomatic_run.last_line == {"scores": report["scores"], "scoreboard": [100, 15]}
    assert "Total score: 100/100 (+15/15 bonus)" in idiomatic_run.stdout


def test_idiomatic_solution_reproduces_the_handout_examples():
    """Every worked example of the handout, run on the idiomatic package in ``python -I -S``.

    Outside the sandbox: this separates "the solution is wrong" from "the grader
    refused the solution's idioms" when the full-marks test fails.
    """
    from helpers import ALL_EXAMPLES, assert_matches

    blocks = [[[source, expected] for source, expected in block] for _, _, block in ALL_EXAMPLES]
    script = (
        "import json, sys\n"
        "sys.path.insert(0, sys.argv[1])\n"
        "results = []\n"
        "for block in json.load(sys.stdin):\n"
        "    namespace, got = {}, []\n"
        "    for source, expected in block:\n"
        "        try:\n"
        "            code = compile(source, '<example>', 'eval')\n"
        "        except SyntaxError:\n"
        "            exec(compile(source, '<example>', 'exec'), namespace)\n"
        "            got.append(None)\n"
        "            continue\n"
        "        got.append(eval(code, namespace))\n"
        "    results.append(got)\n"
        "print(json.dumps(results))\n"
    )
    done = subprocess.run([sys.executable, "-I", "-S", "-c", script, str(IDIOMATIC)], input=json.dumps(blocks),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)
    assert len(results) == len(ALL_EXAMPLES) > 10
    for (file_name, number, block), got_values in zip(ALL_EXAMPLES, results, strict=True):
        for (source, expected), got in zip(block, got_values, strict=True):
            if expected is not None:
                assert_matches(got, ast.literal_eval(expected), f"{file_name} example {number}: >>> {source}")


# ----------------------------------------------------------------------------- the idioms


def modules():
    return {path.name: ast.parse(path.read_text(), filename=str(path)) for path in sorted(PACKAGE.glob("*.py"))}


def written(trees):
    """The modules the student writes (the template's complete helper modules excluded)."""
    return {name: tree for name, tree in trees.items() if name not in GIVEN}


def nodes(trees, kind):
    return [node for tree in trees.values() for node in ast.walk(tree) if isinstance(node, kind)]


def dotted(node):
    """'a.b.c' for Name/Attribute chains, the called function's name for calls, else ''."""
    if isinstance(node, ast.Call):
        return dotted(node.func)
    if isinstance(node, ast.Attribute):
        return f"{dotted(node.value)}.{node.attr}"
    return node.id if isinstance(node, ast.Name) else ""


def imported_and_used(trees, module):
    """Names imported from ``module`` (``from module import x`` or ``import module`` + ``module.x``)
    that the code then really uses."""
    used = set()
    for name, tree in trees.items():
        loaded = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module == module:
                used |= {alias.name for alias in node.names if (alias.asname or alias.name) in loaded}
            elif isinstance(node, ast.Attribute) and dotted(node.value) == module:
                used.add(node.attr)
    return used


def dataclasses_defined(trees):
    """{class name: class node} for every class decorated with @dataclass or @dataclass(...)."""
    return {node.name: node for node in nodes(trees, ast.ClassDef)
            if any(dotted(d) in ("dataclass", "dataclasses.dataclass") for d in node.decorator_list)}


@pytest.fixture(scope="module")
def trees():
    return modules()


def test_the_idiomatic_package_is_complete_and_independent(trees):
    """Every module of the template is there, and the modules the student writes are not copies."""
    assert {p.name for p in (TEMPLATE / "mytorch").glob("*.py")} <= set(trees)
    for name in set(written(trees)) & {p.name for p in (COMPLETE / "mytorch").glob("*.py")}:
        assert (PACKAGE / name).read_bytes() != (COMPLETE / "mytorch" / name).read_bytes(), name
        assert (PACKAGE / name).read_bytes() != (TEMPLATE / "mytorch" / name).read_bytes(), name
        assert "NotImplementedError" not in (PACKAGE / name).read_text(), name


def test_the_idiomatic_package_imports_only_the_standard_library(trees):
    for node in nodes(trees, (ast.Import, ast.ImportFrom)):
        if isinstance(node, ast.ImportFrom) and node.level:
            continue
        names = [node.module] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
        for name in names:
            assert name.partition(".")[0] in sys.stdlib_module_names, f"line {node.lineno}: imports {name}"


def test_dataclasses_with_defaults_and_default_factories(trees):
    found = dataclasses_defined(written(trees))
    assert "Flatten" in found
    assert len(found) >= 4, f"only {sorted(found)} are dataclasses"
    fields = [stmt for cls in found.values() for stmt in cls.body if isinstance(stmt, ast.AnnAssign)]
    with_field = [f for f in fields if isinstance(f.value, ast.Call)
                  and dotted(f.value) in ("field", "dataclasses.field")]
    plain_defaults = [f for f in fields if f.value is not None and f not in with_field]
    factories = [f for f in with_field if any(k.arg == "default_factory" for k in f.value.keywords)]
    assert plain_defaults, "no dataclass field with a plain default value"
    assert factories, "no dataclass field with field(default_factory=...)"


def test_named_tuples_and_an_enum(trees):
    trees = written(trees)
    bases = {dotted(base) for cls in nodes(trees, ast.ClassDef) for base in cls.bases}
    calls = {dotted(call) for call in nodes(trees, ast.Call)}
    assert bases & {"NamedTuple", "typing.NamedTuple"}, "no typing.NamedTuple class"
    assert calls & {"namedtuple", "collections.namedtuple"}, "no collections.namedtuple(...)"
    assert bases & {"Enum", "enum.Enum"}, "no enum.Enum class"


@pytest.mark.parametrize("module, names", [
    ("functools", {"reduce", "lru_cache", "partial", "wraps"}),
    ("itertools", {"product", "chain", "accumulate", "islice"}),
    ("copy", {"deepcopy"}),
    ("fractions", {"Fraction"}),
    ("math", {"fsum"}),
    ("typing", {"NamedTuple"}),
    ("dataclasses", {"dataclass", "field"}),
    ("enum", {"Enum"}),
])
def test_standard_library_idioms_are_used(trees, module, names):
    used = imported_and_used(trees, module)
    assert names <= used, f"{module}: {sorted(names - used)} not imported and used (used: {sorted(used)})"


def test_operator_generators_comprehensions_and_strict_zip(trees):
    mine = written(trees)
    assert imported_and_used(mine, "operator"), "the operator module is not used"
    assert nodes(mine, (ast.Yield, ast.YieldFrom)), "no generator function"
    assert nodes(mine, ast.GeneratorExp) and nodes(mine, ast.ListComp)
    strict = [call for call in nodes(mine, ast.Call) if dotted(call) == "zip"
              and any(k.arg == "strict" and getattr(k.value, "value", None) is True for k in call.keywords)]
    assert len(strict) >= 5, f"only {len(strict)} zip(..., strict=True) calls"


def test_written_functions_are_annotated(trees):
    """Every function the student writes has annotated parameters (self and cls aside) and a return type."""
    missing = []
    for name, tree in written(trees).items():
        for fn in ast.walk(tree):
            if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                arguments = fn.args.posonlyargs + fn.args.args + fn.args.kwonlyargs
                arguments += [a for a in (fn.args.vararg, fn.args.kwarg) if a is not None]
                bare = [a.arg for a in arguments if a.annotation is None and a.arg not in ("self", "cls")]
                if bare or fn.returns is None:
                    missing.append(f"{name}:{fn.lineno} {fn.name}")
    assert not missing, "functions without annotations: " + ", ".join(missing)


def test_a_debug_log_with_modules_that_reach_sockets_and_processes(trees):
    """Importing these and calling the harmless parts at import time must cost nothing (issue 22):
    each imports socket or subprocess, or reads who the user is, none acts."""
    imported = {alias.name for node in nodes(trees, ast.Import) for alias in node.names}
    imported |= {node.module for node in nodes(trees, ast.ImportFrom) if node.module and not node.level}
    assert {"asyncio", "getpass", "http.client", "logging.config", "logging.handlers", "multiprocessing", "pwd",
            "socket", "urllib.request", "unittest"} <= imported, imported
    at_import = {dotted(call) for tree in trees.values() for statement in tree.body
                 if not isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                 for call in ast.walk(statement) if isinstance(call, ast.Call)}
    assert {"logging.config.dictConfig", "logging.handlers.MemoryHandler", "multiprocessing.cpu_count",
            "getpass.getuser", "pwd.getpwuid"} <= at_import, at_import
    assert {"mock.Mock", "asyncio.iscoroutinefunction", "urllib.request.urlopen"} <= {
        dotted(call) for call in nodes(trees, ast.Call)}
    cnn = trees["cnn.py"]
    assert any(isinstance(node, ast.ImportFrom) and node.module == "_debug" for node in ast.walk(cnn))
