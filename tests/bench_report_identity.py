"""Every rendering of a grading report, recorded, to compare before and after a change of the report code.

    python -m tests.bench_report_identity record OUT [--names NAME,...]   # grade and write OUT/<name>/...
    python -m tests.bench_report_identity compare BEFORE AFTER            # exit 1 on any difference
    python -m tests.bench_report_identity rerender BEFORE                 # BEFORE's reports, rendered now

Each submission (complete, idiomatic, student_template, every mutant_* and hostile_* of
tests/submissions/, a folder without mytorch/, and four on a hidden fixture set) is graded once,
through ``cli.run`` as ``runner.py --json --format gradescope --autolab-feedback`` does (its stdout,
--json and results.json are recorded); the same report is then rendered by every entry point
the CLI and the platforms call, at every detail level: ``render`` (and ``-v``), the student view,
Gradescope's, PrairieLearn's and Autolab's documents.  ``compare`` masks what a rerun changes
anyway (timings) and lists the files that differ.  A small ``runner.py batch --feedback`` on the
public and the hidden set records the students' feedback files, summary.json and grades.csv.

A submission is graded in a process of its own (``one``), like runner.py, with ``--jobs 2``.

Some submissions do not grade the same twice (random dropout masks, a timeout that races a crash,
an object's address, a traceback cut at a length that depends on the checkout's path): their
report.json differs too.  ``rerender`` separates the renderers from the grading: it reads each
recorded report.json back (``Report.from_dict``) and renders it with the current code, for every
output that needs only the JSON (all but the summary, which shortens by the judge's findings, and
PrairieLearn's test descriptions, which name the rubric's classes), to compare with what was recorded.
"""
from __future__ import annotations

import argparse
import contextlib
import difflib
import io
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.helpers import ROOT, SUBMISSIONS, TEMPLATE, submission  # run from the repository's root (-m)

HIDDEN_SEED = 918273  # as tests/test_hidden.py
HIDDEN_ONLY = "Downsampling1d,Conv1d,MeanPool2d_stride1,Flatten"
HIDDEN_NAMES = ("complete", "student_template", "mutant_downsample1d_floor", "mutant_meanpool_no_divide")
DETAILS = ("full", "kinds", "passed")
TIMING = re.compile(r"\d+\.\d+ ?s\b")  # a row's "  0.53s", a timeout's "after 10.2 s"
BUILT = re.compile(r"\.built/\d+/")  # conftest.submission's folder of this session (its process id)
TIMING_KEYS = {"wall_seconds", "student_seconds", "execution_time"}


def names() -> list[str]:
    found = sorted(p.name for p in SUBMISSIONS.iterdir() if p.is_dir() and p.name.startswith(("mutant_", "hostile_")))
    return ["complete", "idiomatic", "student_template", "no_package", "no_package_plain", *found,
            *(f"hidden:{name}" for name in HIDDEN_NAMES)]


def folder_of(name: str, scratch: Path) -> Path:
    name = name.removeprefix("hidden:")
    if name == "student_template":
        return TEMPLATE
    if name.startswith("no_package"):
        folder = scratch / "no_package"
        folder.mkdir(exist_ok=True)
        return folder
    return submission(name)


def one(name: str, out: Path, hidden: Path, scratch: Path) -> None:
    """Grade ``name`` through cli.run and write every rendering of its report into ``out``."""
    from autograder import cli
    from autograder.report.autolab import feedback_line
    from autograder.report.gradescope import gradescope_document
    from autograder.report.prairielearn import prairielearn_document
    from autograder.report.student_view import render_student, student_document
    from autograder.sandbox import close_servers
    out.mkdir(parents=True, exist_ok=True)
    argv = ["--submission", str(folder_of(name, scratch)), "--json", str(out / "report.json"), "--jobs", "2"]
    if name != "no_package_plain":
        argv += ["--format", "gradescope", "--gradescope-out", str(out / "cli_gradescope.json"), "--autolab-feedback"]
    if name.startswith("hidden:"):
        argv += ["--fixtures", str(hidden), "--only", HIDDEN_ONLY]
    reports = []
    emit = cli.emit

    def keep(report, args, detail=cli.FULL):
        reports.append(report)
        return emit(report, args, detail)

    cli.emit = keep
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        exit_code = cli.run(cli.parse_args(argv))
    close_servers()
    (out / "stdout.txt").write_text(f"{stdout.getvalue()}exit {exit_code}\n")
    (out / "stderr.txt").write_text(stderr.getvalue())
    report = reports[0]
    texts = {"render.txt": report.render(), "render_verbose.txt": report.render(verbose=True),
             "autolab_line.txt": report.autolab_line()}
    document = report.to_dict()
    for detail in DETAILS:
        texts[f"student_{detail}.txt"] = render_student(document, detail)
        texts[f"student_{detail}.json"] = json.dumps(student_document(document, detail), indent=1)
        texts[f"gradescope_{detail}.json"] = json.dumps(gradescope_document(report, detail), indent=1)
        texts[f"prairielearn_{detail}.json"] = json.dumps(prairielearn_document(report, detail), indent=1)
        texts[f"autolab_{detail}.txt"] = feedback_line(report, detail)
    for file, text in texts.items():
        (out / file).write_text(text + "\n")


BATCH_NAMES = ("complete", "student_template", "mutant_meanpool_no_divide", "mutant_downsample1d_floor",
               "hostile_exits", "no_package")


def batch(out: Path, hidden: Path, scratch: Path) -> None:
    """``runner.py batch --feedback`` over a few submissions, on the public and the hidden set: the
    students' feedback files, summary.json and grades.csv into ``out/batch_<set>/``."""
    subs = scratch / "batch"
    for name in BATCH_NAMES:
        if not (subs / name).exists():
            shutil.copytree(folder_of(name, scratch), subs / name, ignore=shutil.ignore_patterns("__pycache__"))
    for label, fixtures in (("public", ROOT / "fixtures"), ("hidden", hidden)):
        work, target = scratch / f"batch_{label}", out / f"batch_{label}"
        shutil.rmtree(work, ignore_errors=True)
        subprocess.run([sys.executable, str(ROOT / "runner.py"), "batch", str(subs), "--out", str(work / "out"),
                        "--fixtures", str(fixtures), "--jobs", "2", "--feedback", str(work / "feedback"),
                        "--hidden-detail", "kinds"], cwd=ROOT, capture_output=True, check=False)
        shutil.copytree(work / "feedback", target)
        for file in ("summary.json", "grades.csv"):
            shutil.copy(work / "out" / file, target / file)
        print(f"batch on the {label} set: ok", flush=True)


def record(out: Path, chosen: list[str], hidden: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "ROOT").write_text(str(ROOT))  # compare reads the paths of another checkout as this one's
    if not (hidden / "manifest.json").exists():
        subprocess.run([sys.executable, "-m", "reference.generate", "--seed", str(HIDDEN_SEED), "--out", str(hidden)],
                       cwd=ROOT, check=True, capture_output=True)
    scratch = Path(tempfile.gettempdir()) / "report_identity_scratch"  # the same path before and after
    scratch.mkdir(exist_ok=True)
    try:
        for name in chosen:
            done = subprocess.run([sys.executable, "-m", "tests.bench_report_identity", "one", name, str(out / name.replace(":", "_")),
                                   "--hidden", str(hidden), "--scratch", str(scratch)], cwd=ROOT, check=False)
            print(f"{name}: {'ok' if done.returncode == 0 else f'FAILED ({done.returncode})'}", flush=True)
        batch(out, hidden, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def masked(path: Path, root: str) -> str:
    text = path.read_text().replace(root, "<root>")
    if path.suffix == ".json":
        def drop(value):
            if isinstance(value, dict):
                return {k: "<t>" if k in TIMING_KEYS else drop(v) for k, v in value.items()}
            if isinstance(value, list):
                return [drop(v) for v in value]
            return value
        text = json.dumps(drop(json.loads(text)), indent=1)
    return BUILT.sub(".built/<n>/", TIMING.sub("<t>s", text))


def compare(before: Path, after: Path) -> int:
    differ = 0
    roots = [(folder / "ROOT").read_text() for folder in (before, after)]
    files = sorted({p.relative_to(before) for p in before.rglob("*/*") if p.is_file()}
                   | {p.relative_to(after) for p in after.rglob("*/*") if p.is_file()})
    for file in files:
        old, new = before / file, after / file
        if not old.exists() or not new.exists():
            print(f"only in {'after' if new.exists() else 'before'}: {file}")
            differ += 1
            continue
        a, b = masked(old, roots[0]), masked(new, roots[1])
        if a != b:
            differ += 1
            print(f"differs: {file}")
            diff = difflib.unified_diff(a.splitlines(True), b.splitlines(True), n=1)
            print("".join(line if len(line) < 300 else line[:300] + "...\n" for line in list(diff)[:40]))
    print(f"{len(files)} files, {differ} differ")
    return 1 if differ else 0


def rerender(before: Path) -> int:
    """Render every report.json under ``before`` with the current code; count the outputs that differ."""
    from autograder.report.autolab import feedback_line
    from autograder.report.gradescope import gradescope_document
    from autograder.report.model import Report
    from autograder.report.prairielearn import prairielearn_document
    from autograder.report.student_view import render_student, student_document
    root, differ, compared = (before / "ROOT").read_text(), 0, 0
    scratch = Path(tempfile.mkdtemp(prefix="rerender_"))
    try:
        for folder in sorted(p for p in before.iterdir() if (p / "report.json").exists()):
            document = json.loads((folder / "report.json").read_text())
            report = Report.from_dict(document)
            texts = {"render_verbose.txt": report.render(verbose=True), "autolab_line.txt": report.autolab_line()}
            for detail in DETAILS:
                texts[f"student_{detail}.txt"] = render_student(document, detail)
                texts[f"student_{detail}.json"] = json.dumps(student_document(document, detail), indent=1)
                texts[f"gradescope_{detail}.json"] = json.dumps(gradescope_document(report, detail), indent=1)
                texts[f"autolab_{detail}.txt"] = feedback_line(report, detail)
                if report.status == "graded":  # an ungraded upload's problem is not in the JSON
                    texts[f"prairielearn_{detail}.json"] = json.dumps(prairielearn_document(report, detail), indent=1)
            for file, text in texts.items():
                compared += 1
                now = scratch / file
                now.write_text(text + "\n")
                recorded = masked(folder / file, root)
                if file.startswith("prairielearn"):
                    recorded, text = (re.sub(r'"description": "[^"]*"', "", t) for t in (recorded, masked(now, root)))
                else:
                    text = masked(now, root)
                if recorded != text:
                    differ += 1
                    print(f"differs: {folder.name}/{file}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(f"{compared} outputs rendered again, {differ} differ")
    return 1 if differ else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    rec = commands.add_parser("record")
    rec.add_argument("out", type=Path)
    rec.add_argument("--names", type=lambda s: s.split(","), default=None)
    rec.add_argument("--hidden", type=Path, default=Path(tempfile.gettempdir()) / f"report_identity_{HIDDEN_SEED}")
    single = commands.add_parser("one")
    single.add_argument("name")
    single.add_argument("out", type=Path)
    single.add_argument("--hidden", type=Path, required=True)
    single.add_argument("--scratch", type=Path, required=True)
    cmp = commands.add_parser("compare")
    cmp.add_argument("before", type=Path)
    cmp.add_argument("after", type=Path)
    again = commands.add_parser("rerender")
    again.add_argument("before", type=Path)
    args = parser.parse_args(argv)
    if args.command == "record":
        record(args.out, args.names or names(), args.hidden)
        return 0
    if args.command == "one":
        one(args.name, args.out, args.hidden, args.scratch)
        return 0
    if args.command == "rerender":
        return rerender(args.before)
    return compare(args.before, args.after)


if __name__ == "__main__":
    sys.exit(main())
