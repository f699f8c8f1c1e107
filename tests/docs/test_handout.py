"""The student handout (handout/*.md) agrees with the grader, the template and the reference.

- the rubric table and the item sections of handout/items.md match the rubric the
  fixture set carries (names, points, sections, classes, order, each item's handout link);
- every class skeleton in the handout (```python blocks that start with
  ``# mytorch/<module>.py``) exists with that exact signature in
  student_template/mytorch/ (imported in a ``python -I -S`` child, as the grader
  does) and in reference/ (which may only add the extras the handout documents);
- the signatures listed in handout/api.md agree with the same classes;
- each item's "Grader access" line matches what the fixture programs in
  fixtures/manifest.json construct, set, call and read;
- every worked example (``>>>`` lines) gives the printed value when run
  against the NumPy reference;
- the numbers the handout quotes (tolerance, eps, timeout, memory limit) are the
  grader's, and the grader messages it quotes exist in autograder/.
"""
import ast
import json
import math
import re
import subprocess
import sys

import pytest

from helpers import ALL_EXAMPLES, HANDOUT, ROOT, RUBRIC, assert_matches, code_blocks, examples, handout_files, plain

README = HANDOUT / "README.md"
ITEMS = HANDOUT / "items.md"
API = HANDOUT / "api.md"
TEMPLATE = ROOT / "student_template"
MANIFEST = json.loads((ROOT / "fixtures" / "manifest.json").read_text())


def github_anchor(heading):
    """The anchor GitHub gives a Markdown heading."""
    slug = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return slug.replace(" ", "-")


# ----------------------------------------------------------------------------- signatures

NO_DEFAULT = "<required>"

# Runs in-process for the reference and in a ``python -I -S`` child for the
# stdlib-only template, so both are described by the very same code.
DESCRIBE_SOURCE = r'''
import importlib, inspect, json, sys


def describe(module_name, class_name, methods):
    """{"error": str} or {"module": defining module, "methods": {name: [[param, kind, default repr]] or None}}."""
    try:
        module = importlib.import_module(module_name)
    except BaseException as error:
        return {"error": f"cannot import {module_name}: {type(error).__name__}: {error}"}
    cls = getattr(module, class_name, None)
    if not inspect.isclass(cls):
        return {"error": f"{module_name} has no class {class_name}"}
    described = {}
    for name in methods:
        function = getattr(cls, name, None)
        if function is None or (name == "__init__" and function is object.__init__):
            described[name] = None
            continue
        described[name] = [[p.name, p.kind.name, "<required>" if p.default is p.empty else repr(p.default)]
                           for p in inspect.signature(function).parameters.values()]
    return {"module": cls.__module__, "methods": described}

if __name__ == "__main__":
    sys.path.insert(0, sys.argv[1])
    requests = json.loads(sys.stdin.read())
    print(json.dumps({key: describe(*request) for key, request in requests.items()}))
'''
_describe_namespace = {"__name__": "describe"}
exec(compile(DESCRIBE_SOURCE, "<describe>", "exec"), _describe_namespace)
describe = _describe_namespace["describe"]

KINDS = {"posonlyargs": "POSITIONAL_ONLY", "args": "POSITIONAL_OR_KEYWORD", "kwonlyargs": "KEYWORD_ONLY"}


def ast_parameters(function):
    """[[name, kind, default repr]] of a ``def`` in a handout skeleton (same form as ``describe``)."""
    a = function.args
    positional = [(p, KINDS["posonlyargs"]) for p in a.posonlyargs] + [(p, KINDS["args"]) for p in a.args]
    defaults = [None] * (len(positional) - len(a.defaults)) + list(a.defaults)
    params = [[p.arg, kind, NO_DEFAULT if d is None else repr(ast.literal_eval(d))]
              for (p, kind), d in zip(positional, defaults)]
    if a.vararg:
        params.append([a.vararg.arg, "VAR_POSITIONAL", NO_DEFAULT])
    params += [[p.arg, "KEYWORD_ONLY", NO_DEFAULT if d is None else repr(ast.literal_eval(d))]
               for p, d in zip(a.kwonlyargs, a.kw_defaults)]
    if a.kwarg:
        params.append([a.kwarg.arg, "VAR_KEYWORD", NO_DEFAULT])
    return params


REFERENCE_EXTRA = re.compile(r"reference also accepts (\w+)=(\S+?)[,;)\s]")


def documented_classes():
    """{class: {"module", "file", "methods": {name: params}, "extras": {method: [[name, kind, default]]}}}."""
    classes = {}
    for path in handout_files():
        for block in code_blocks(path.read_text()):
            header = re.match(r"# mytorch/(\w+)\.py\n", block)
            if not header:
                continue
            lines = block.splitlines()
            for node in ast.parse(block).body:
                if not isinstance(node, ast.ClassDef):
                    continue
                assert node.name not in classes, f"class {node.name} is documented twice ({path.name})"
                methods, extras = {}, {}
                for item in node.body:
                    if isinstance(item, ast.FunctionDef):
                        methods[item.name] = ast_parameters(item)
                        comment = lines[item.lineno - 1].partition("#")[2]
                        found = REFERENCE_EXTRA.findall(comment + " ")
                        if found:
                            extras[item.name] = [[n, "POSITIONAL_OR_KEYWORD", repr(ast.literal_eval(d))]
                                                 for n, d in found]
                classes[node.name] = {"module": header.group(1), "file": path.name,
                                      "methods": methods, "extras": extras}
    return classes


DOCUMENTED = documented_classes()


def requests():
    """What to describe for every documented class (``__init__`` always, to check default construction)."""
    return {name: (f"mytorch.{doc['module']}", name, sorted(set(doc["methods"]) | {"__init__"}))
            for name, doc in DOCUMENTED.items()}


@pytest.fixture(scope="module")
def template_classes():
    """The template's classes, described inside ``python -I -S`` (no site-packages, like the grader)."""
    if not (TEMPLATE / "mytorch" / "__init__.py").is_file():
        pytest.fail(f"{TEMPLATE / 'mytorch'} is missing: the handout documents its classes")
    child = subprocess.run([sys.executable, "-I", "-S", "-B", "-c", DESCRIBE_SOURCE, str(TEMPLATE)],
                           input=json.dumps(requests()), capture_output=True, text=True, timeout=60)
    assert child.returncode == 0, child.stderr
    return json.loads(child.stdout)


@pytest.fixture(scope="module")
def reference_classes():
    return {name: describe("reference." + module.split(".", 1)[1], cls, methods)
            for name, (module, cls, methods) in requests().items()}


def expected_init(doc):
    """The documented __init__, or the implicit no-argument one when the skeleton has none."""
    return doc["methods"].get("__init__")


def test_every_graded_and_reference_class_is_documented():
    import reference
    graded = {cls for item in RUBRIC.items for cls in item.classes}
    assert graded <= set(DOCUMENTED), f"graded classes without a skeleton: {sorted(graded - set(DOCUMENTED))}"
    assert set(reference.__all__) <= set(DOCUMENTED), \
        f"reference classes missing from the handout: {sorted(set(reference.__all__) - set(DOCUMENTED))}"
    assert set(DOCUMENTED) <= set(reference.__all__), \
        f"handout classes unknown to the reference: {sorted(set(DOCUMENTED) - set(reference.__all__))}"


@pytest.mark.parametrize("name", sorted(DOCUMENTED))
def test_template_matches_documented_signature(name, template_classes):
    doc, got = DOCUMENTED[name], template_classes[name]
    assert "error" not in got, got.get("error")
    assert got["module"] == f"mytorch.{doc['module']}", f"{name} should be defined in mytorch/{doc['module']}.py"
    for method, params in doc["methods"].items():
        assert got["methods"][method] is not None, f"student_template: {name}.{method} is missing"
        assert got["methods"][method] == params, \
            f"student_template: {name}.{method}{got['methods'][method]} but the handout documents {params}"
    if expected_init(doc) is None:  # no documented constructor: must be constructible without arguments
        init = got["methods"]["__init__"] or [["self", "POSITIONAL_OR_KEYWORD", NO_DEFAULT]]
        assert all(d != NO_DEFAULT or k.startswith("VAR") for _, k, d in init[1:]), \
            f"student_template: {name}() must take no arguments, got {init}"


@pytest.mark.parametrize("name", sorted(DOCUMENTED))
def test_reference_matches_documented_signature(name, reference_classes):
    doc, got = DOCUMENTED[name], reference_classes[name]
    assert "error" not in got, got.get("error")
    assert got["module"] == f"reference.{doc['module']}", f"{name} should be defined in reference/{doc['module']}.py"
    for method, params in doc["methods"].items():
        actual = got["methods"][method]
        assert actual is not None, f"reference: {name}.{method} is missing"
        extras = doc["extras"].get(method, [])
        assert actual[:len(params)] == params, f"reference: {name}.{method}{actual} vs handout {params}"
        undocumented = [p for p in actual[len(params):] if p not in extras]
        assert not undocumented, f"reference: {name}.{method} has undocumented extra parameters {undocumented}"
        assert all(d != NO_DEFAULT for _, _, d in actual[len(params):]), \
            f"reference: {name}.{method} extras must be optional"
    if expected_init(doc) is None:
        init = got["methods"]["__init__"] or [["self", "POSITIONAL_OR_KEYWORD", NO_DEFAULT]]
        assert all(d != NO_DEFAULT for _, _, d in init[1:]), f"reference: {name}() needs arguments: {init}"


def readme_module_row(first_cell):
    row = re.search(r"^\| " + re.escape(first_cell) + r" \|(.*)\|$", README.read_text(), re.M)
    assert row, f"README.md: no row for {first_cell} in the module table"
    return [cell.strip() for cell in row.group(1).split("|")]


def raises_not_implemented(tree):
    return any(isinstance(node, ast.Raise) and "NotImplementedError" in ast.unparse(node.exc or ast.Pass())
               for node in ast.walk(tree))


def test_readme_module_table_matches_the_template():
    """The helpers README.md says tensor.py gives exist; the modules it calls complete have no stubs."""
    _, given = readme_module_row("`tensor.py`")
    helpers = re.findall(r"`(\w+)`", given)
    tree = ast.parse((TEMPLATE / "mytorch" / "tensor.py").read_text())
    defined = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
    assert helpers and set(helpers) <= defined, f"tensor.py lacks {sorted(set(helpers) - defined)}"
    for module in ("activation", "linear", "loss"):
        readme_module_row("`activation.py`, `linear.py`, `loss.py`")
        source = (TEMPLATE / "mytorch" / f"{module}.py").read_text()
        assert not raises_not_implemented(ast.parse(source)), f"README.md calls {module}.py complete, it has stubs"
    for name, doc in DOCUMENTED.items():  # and every graded module does have stubs left to write
        if doc["module"] in ("activation", "linear", "loss"):
            continue
        source = (TEMPLATE / "mytorch" / f"{doc['module']}.py").read_text()
        assert raises_not_implemented(ast.parse(source)), f"mytorch/{doc['module']}.py has nothing left to write"


def test_api_md_signatures_match_the_handout():
    """handout/api.md lists constructors as "- `Class(args)`": they must agree with the skeletons.

    The page summarises the assignment's classes; the complete list is the skeletons in items.md
    (an item added later needs only its items.md section), so the page names at least the classes
    it was written for and states where the rest are."""
    text = API.read_text()
    listed = re.findall(r"^\s*- `(\w+)\(([^`]*)\)`", text, re.M)
    seen = set()
    for name, args in listed:
        if name not in DOCUMENTED:
            continue
        seen.add(name)
        init = DOCUMENTED[name]["methods"].get("__init__", [["self", "POSITIONAL_OR_KEYWORD", NO_DEFAULT]])
        function = ast.parse(f"def __init__(self{', ' if args else ''}{args}): pass").body[0]
        assert ast_parameters(function) == init, f"api.md: {name}({args}) differs from the skeleton in the handout"
    assert len(seen) >= 20, f"api.md lists signatures for only {sorted(seen)}"
    assert "every graded class has its skeleton" in " ".join(text.split()), "api.md must point to items.md"


# ----------------------------------------------------------------------------- rubric


def rubric_table_rows():
    text = ITEMS.read_text()
    header = re.search(r"^\| # \| Item \| Section \| Points \| Classes \| Details \|\n\|[-:| ]+\|\n", text, re.M)
    assert header, "handout/items.md has no rubric table (| # | Item | Section | Points | Classes | Details |)"
    rows = []
    for line in text[header.end():].splitlines():
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    return rows


def test_rubric_table_matches_the_rubric():
    rows = rubric_table_rows()
    assert [r[1].strip("`") for r in rows] == RUBRIC.names, "item names or order differ"
    for number, (row, item) in enumerate(zip(rows, RUBRIC.items), start=1):
        assert row[0] == str(number), row
        assert row[2].lower() == item.section, (row, item)
        assert math.isclose(float(row[3]), item.points), (row, item)
        assert tuple(re.findall(r"`(\w+)`", row[4])) == item.classes, (row, item)
        link = re.fullmatch(r"\[[^\]]+\]\(#([\w-]+)\)", row[5])
        assert link, f"row {number}: the Details cell must link to the item's #anchor, got {row[5]!r}"
        assert link.group(1) == github_anchor(item_headings()[number - 1][0]), f"row {number}: broken link"


def test_every_item_declares_its_handout_section():
    """The item declaration's ``handout`` names the heading of its section in items.md."""
    for (heading, _), item in zip(item_headings(), RUBRIC.items):
        assert item.handout == f"items.md#{github_anchor(heading)}", item.name


def test_rubric_totals_and_policy_in_items_md():
    text = ITEMS.read_text()
    for section in RUBRIC.sections.values():
        assert re.search(rf"\*\*{section.title}: {section.max:g} points\*\*", text), \
            f"items.md must state '**{section.title}: {section.max:g} points**'"
    if all(item.policy == "all_or_nothing" for item in RUBRIC.items):
        assert "every item is all or nothing" in text


def item_headings():
    return [(m.group(0)[3:], m.groups()[1:]) for m in
            re.finditer(r"^## (\d+)\. (\w+) \(([\d.]+) points?, (main|bonus)\)$", ITEMS.read_text(), re.M)]


def test_item_sections_follow_the_rubric():
    headings = item_headings()
    assert [h[1][0] for h in headings] == RUBRIC.names
    for (_, (name, points, section)), item in zip(headings, RUBRIC.items):
        assert math.isclose(float(points), item.points) and section == item.section, (name, item)


def test_internal_links_resolve():
    anchors = {path.name: {github_anchor(h) for h in re.findall(r"^#+ (.+)$", path.read_text(), re.M)}
               for path in handout_files()}
    for path in handout_files():
        for target, anchor in re.findall(r"\]\(([\w.]*\.md)?#([\w-]+)\)", path.read_text()):
            file_name = target or path.name
            assert anchor in anchors.get(file_name, set()), f"{path.name}: broken link {target}#{anchor}"
        for target in re.findall(r"\]\(([\w./]+\.md)\)", path.read_text()):
            assert (path.parent / target).is_file(), f"{path.name}: link to missing {target}"


# ----------------------------------------------------------------------------- grader access


def item_sections():
    text = ITEMS.read_text()
    starts = list(re.finditer(r"^## \d+\. (\w+) \(", text, re.M))
    ends = [m.start() for m in starts[1:]] + [len(text)]
    return {m.group(1): text[m.start():end] for m, end in zip(starts, ends)}


def expand(pattern):
    """`a.{b,c}.{i}` -> regexes for a.b.<int> and a.c.<int>."""
    match = re.search(r"\{([^{}]*)\}", pattern)
    if not match:
        return [re.escape(pattern).replace(re.escape("<INDEX>"), r"\d+")]
    options = ["<INDEX>"] if match.group(1) == "i" else match.group(1).split(",")
    return [r for option in options for r in expand(pattern[:match.start()] + option + pattern[match.end():])]


def documented_access(section):
    line = re.search(r"\*\*Grader access:\*\*(.*?)(?:\n\n|\Z)", section, re.S)
    assert line, "no **Grader access:** line"
    access = {"constructs with": [], "sets": [], "calls": [], "reads": []}
    for part in line.group(1).replace("\n", " ").split(";"):
        part = part.strip()
        key = next((k for k in access if part.startswith(k)), None)
        assert key, f"cannot parse {part!r} in a Grader access line"
        spans = re.findall(r"`([^`]+)`", re.sub(r"\([^)]*\)", "", part))
        access[key] += [r for span in spans for r in expand(span)]
    return access


def manifest_access(item):
    access = {"constructs with": set(), "sets": set(), "calls": set(), "reads": set()}
    for case in MANIFEST["items"][item]["cases"]:
        program = case["program"]
        access["constructs with"] |= set(program.get("kwargs", {}))
        access["sets"] |= {path for path, _ in program.get("set", [])}
        for step in program["steps"]:
            access["calls" if "call" in step else "reads"].add(step.get("call") or step.get("read"))
    return access


@pytest.mark.parametrize("item", RUBRIC.names)
def test_grader_access_line_matches_the_fixture_programs(item):
    documented = documented_access(item_sections()[item])
    for key, used in manifest_access(item).items():
        patterns = documented[key]
        for path in sorted(used):
            assert any(re.fullmatch(p, path) for p in patterns), \
                f"{item}: the grader {key} {path!r} but the handout's Grader access line does not say so"
        for pattern in patterns:
            assert any(re.fullmatch(pattern, path) for path in used), \
                f"{item}: the handout says the grader {key} {pattern!r}, which no fixture case does"


# ----------------------------------------------------------------------------- worked examples


def test_the_handout_has_worked_examples_for_most_items():
    sections = item_sections()
    with_examples = [name for name, text in sections.items() if examples(text)]
    assert len(with_examples) >= len(sections) - 1, f"items without an example: {set(sections) - set(with_examples)}"


@pytest.mark.parametrize("file_name, number, block", ALL_EXAMPLES,
                         ids=[f"{f}-example{n}" for f, n, _ in ALL_EXAMPLES])
def test_worked_example_against_the_reference(file_name, number, block):
    namespace = {}
    for source, expected in block:
        where = f"{file_name} example {number}: >>> {source.splitlines()[0]}"
        source = re.sub(r"\bmytorch\.", "reference.", source)
        try:
            code = compile(source, "<example>", "eval")
        except SyntaxError:
            exec(compile(source, "<example>", "exec"), namespace)
            assert expected is None, f"{where}: a statement prints nothing"
            continue
        got = eval(code, namespace)
        if expected is None:
            assert got is None, f"{where}: printed {got!r} but the handout shows nothing"
            continue
        assert_matches(plain(got), ast.literal_eval(expected), where)


# ----------------------------------------------------------------------------- facts and messages


def test_quoted_numbers_are_the_graders():
    from autograder.sandbox import Limits
    from reference.batchnorm2d import BatchNorm2d
    text = "\n".join(p.read_text() for p in handout_files())
    tolerances = {(t["tolerance"]["rtol"], t["tolerance"]["atol"]) for t in MANIFEST["items"].values()}
    assert len(tolerances) == 1
    rtol, atol = tolerances.pop()
    readme = " ".join(README.read_text().split())  # line breaks are free in Markdown
    assert f"rtol = {rtol:g}" in readme and f"atol = {atol:g}" in readme, "README must quote the manifest tolerance"
    assert "|got - expected| <= atol + rtol * |expected|" in readme
    stated = {float(v) for v in re.findall(r"\beps = ([\d.e-]+)`", text)}
    assert stated == {BatchNorm2d(1).eps}, f"the handout states eps {stated}"
    assert f"{Limits.timeout:g} seconds of CPU time per case" in readme
    assert f"{Limits.address_space // 2**20} MiB of memory" in readme


QUOTED_MESSAGES = [
    "values differ from the reference", "Mismatched elements", "Max absolute difference",
    "First mismatches (index: got vs expected)", "but the reference has shape", "not implemented yet",
    "which is not available while grading", "mytorch may only use the Python standard library",
    "(infinite loop, or far too slow)", "not run: an earlier case of", "tuples are not accepted",
    "probability of DROPPING a channel", "Total score:", "ragged nested list",
]


def test_quoted_grader_messages_exist():
    readme = README.read_text()
    sources = "\n".join(p.read_text() for p in (ROOT / "autograder").rglob("*.py"))
    for message in QUOTED_MESSAGES:
        assert message in readme, f"README.md no longer quotes {message!r}"
        assert message in sources, f"the grader no longer says {message!r}: update handout/README.md"


def test_dropout_values_of_p_said_graded_and_left_open_match_the_fixtures():
    """items.md names the graded p values and leaves p = 1, p = 0 and eval's identity open: true of the set."""
    text = " ".join(ITEMS.read_text().split())
    graded = sorted({case["hyperparameters"]["p"] for case in MANIFEST["items"]["Dropout2d"]["cases"]})
    assert f"Graded values of `p`: {', '.join(f'{p:g}' for p in graded[:-1])} and {graded[-1]:g}." in text
    assert 0.0 not in graded and 1.0 not in graded
    assert "`p = 1` (every channel dropped;" in text and "it is not graded either" in text
