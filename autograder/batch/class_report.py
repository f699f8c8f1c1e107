"""The class report: ``OUT/report.html``, one page a TA would rather look at than read.

Written by every batch run (atomically) from the same outcomes and summary as
``summary.json``: the histograms of main and bonus totals, the per-item pass
rates, the per-item failure kinds, the slowest submissions and the ones that
could not be graded and why.  The page is self-contained: inline CSS and inline
SVG, no JavaScript, no network, no fonts or images from outside.

Every number that ``summary.json`` also holds is printed from the summary
itself and carried in ``data-`` attributes (``data-key``/``data-value`` for the
statistics, ``data-item`` rows for the items), so a test can parse the page and
compare.  Student-controlled text (ids, error reasons, case messages) reaches
the page only through :func:`for_html`: terminal-safe first (no control,
bidi-override or separator character), then HTML-escaped, quotes included.
"""
from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from autograder.util.atomic import write_text_atomic
from autograder.batch.entries import Outcome
from autograder.util.safetext import for_terminal

REPORT_NAME = "report.html"
HISTOGRAM_COLOR = "#2f6db5"  # the histogram bars; the browser test looks for this colour in a screenshot
PASS_COLOR = "#3a9a5b"
HISTOGRAM_BINS = 10
SLOWEST_SHOWN = 10
MAX_REASON_CHARS = 2000
# failure kinds of one item of one submission, in the order they are stacked, with their colours
KINDS: dict[str, tuple[str, str]] = {
    "timeout": ("timeout", "#d9822b"),
    "crash": ("crash", "#8e44ad"),
    "exception": ("exception / error", "#c0392b"),
    "shape": ("wrong shape or invalid result", "#e0b000"),
    "mismatch": ("value mismatch", "#7f8c8d"),
    "not_implemented": ("not implemented", "#bdc3c7"),
    "not_graded": ("not graded", "#34495e"),
}
ITEM_KIND = {"timeout": "timeout", "crashed": "crash", "error": "exception", "not_implemented": "not_implemented",
             "not_graded": "not_graded", "skipped": "not_graded"}


def for_html(text: object) -> str:
    """Student-controlled ``text`` for an HTML text node or quoted attribute."""
    return html.escape(for_terminal(str(text), newlines=True), quote=True)


def number(value: float | None) -> str:
    """A number as the summary holds it, printed with ``repr`` precision (``-`` for none)."""
    return "-" if value is None else format(value, "g") if float(value).is_integer() else repr(float(value))


def failure_kind(item: Mapping[str, Any]) -> str | None:
    """The kind of failure of one item of one report, or None if it passed.

    The item's status is the gravest of its cases'; a plain ``failed`` item is a
    shape error or an invalid result if the judge filed one of its failed checks so
    (a case's ``failures``: kind ``shape`` or ``invalid``), else a value mismatch.
    """
    status = item.get("status")
    if status == "passed":
        return None
    if status == "failed":
        kinds = {failure.get("kind") for case in item.get("cases", []) if case.get("status") == "failed"
                 for failure in case.get("failures", ())}
        return "shape" if kinds & {"shape", "invalid"} else "mismatch"
    return ITEM_KIND.get(str(status), "exception")


def failure_kinds(documents: Sequence[Mapping[str, Any]], items: Sequence[str]) -> dict[str, dict[str, int]]:
    """For each item, how many graded submissions failed it in each way (one kind per submission)."""
    counts = {name: {kind: 0 for kind in KINDS} for name in items}
    for document in documents:
        if document["status"] != "graded":
            continue
        by_name = {item["name"]: item for item in document["items"]}
        for name in items:
            kind = failure_kind(by_name.get(name, {"status": "not_graded"}))
            if kind is not None:
                counts[name][kind] += 1
    return counts


def histogram(values: Sequence[float], maximum: float, bins: int = HISTOGRAM_BINS) -> list[tuple[float, float, int]]:
    """(low, high, count) for equal bins over [0, maximum]; the last bin includes ``maximum``."""
    if maximum <= 0:
        return [(0.0, 0.0, len(values))]
    width = maximum / bins
    counts = [0] * bins
    for value in values:
        counts[min(max(int(value // width), 0), bins - 1)] += 1
    return [(round(i * width, 6), round((i + 1) * width, 6), count) for i, count in enumerate(counts)]


def histogram_svg(title: str, key: str, values: Sequence[float], maximum: float) -> str:
    """An inline SVG bar chart of ``values`` over [0, maximum]."""
    bars = histogram(values, maximum)
    width, height, left, bottom, top = 500, 200, 36, 34, 12
    step = (width - left - 8) / len(bars)
    tallest = max((count for _, _, count in bars), default=0) or 1
    scale = (height - bottom - top) / tallest
    parts = [f'<svg class="chart" data-histogram="{key}" width="{width}" height="{height}" role="img" '
             f'xmlns="http://www.w3.org/2000/svg"><title>{html.escape(title)}</title>',
             f'<line x1="{left}" y1="{height - bottom}" x2="{width - 8}" y2="{height - bottom}" stroke="#444"/>',
             f'<text x="{left - 6}" y="{top + 4}" text-anchor="end">{tallest}</text>']
    for i, (low, high, count) in enumerate(bars):
        x, bar = left + i * step, count * scale
        parts.append(f'<rect class="bar" data-low="{low:g}" data-high="{high:g}" data-count="{count}" '
                     f'x="{x + 2:.1f}" y="{height - bottom - bar:.1f}" width="{step - 4:.1f}" height="{bar:.1f}" '
                     f'fill="{HISTOGRAM_COLOR}"><title>{low:g}-{high:g}: {count}</title></rect>')
        if count:
            parts.append(f'<text x="{x + step / 2:.1f}" y="{height - bottom - bar - 3:.1f}" '
                         f'text-anchor="middle">{count}</text>')
        parts.append(f'<text x="{x + step / 2:.1f}" y="{height - bottom + 14}" text-anchor="middle">{low:g}</text>')
    parts.append(f'<text x="{width - 8}" y="{height - 4}" text-anchor="end">points (of {maximum:g})</text></svg>')
    return "".join(parts)


def items_svg(summary: Mapping[str, Any], kinds: Mapping[str, Mapping[str, int]]) -> str:
    """One stacked bar per item: passed, then each kind of failure, over the graded submissions."""
    names = list(summary["items"])
    row, label, width = 22, 190, 360
    height = row * len(names) + 30
    parts = [f'<svg class="chart" width="{label + width + 60}" height="{height}" role="img" '
             f'xmlns="http://www.w3.org/2000/svg"><title>pass rate and failure kinds per item</title>']
    for index, name in enumerate(names):
        entry, y = summary["items"][name], index * row + 4
        total = entry["graded"] or 1
        parts.append(f'<text x="{label - 6}" y="{y + 14}" text-anchor="end">{html.escape(name)}</text>')
        x = float(label)
        segments = [("passed", entry["passed"], PASS_COLOR)] + [
            (kind, kinds[name][kind], colour) for kind, (_, colour) in KINDS.items()]
        for kind, count, colour in segments:
            if count:
                w = width * count / total
                parts.append(f'<rect data-kind="{kind}" x="{x:.1f}" y="{y}" width="{w:.1f}" height="{row - 6}" '
                             f'fill="{colour}"><title>{html.escape(name)}: {kind} {count}</title></rect>')
                x += w
        rate = entry["pass_rate"]
        parts.append(f'<text x="{label + width + 6}" y="{y + 14}">'
                     f'{"-" if rate is None else f"{100 * rate:.0f}%"}</text>')
    legend = "".join(f'<span class="key"><i style="background:{colour}"></i>{text}</span>'
                     for text, colour in [("passed", PASS_COLOR), *KINDS.values()])
    return "".join(parts) + "</svg>" + f'<p class="legend">{legend}</p>'


def stat_cell(key: str, value: float | int | None) -> str:
    """A table cell for one summary number, its exact value in ``data-value``."""
    raw = "null" if value is None else repr(value)
    return f'<td data-key="{key}" data-value="{raw}">{number(value)}</td>'


def statistics_table(summary: Mapping[str, Any]) -> str:
    counts = "".join(f"<tr><th>{label}</th>{stat_cell(key, summary[key])}</tr>" for key, label in
                     [("count", "submissions"), ("graded", "graded"), ("errors", "could not be graded"),
                      ("reused", "reused from an earlier run"), ("wall_seconds", "batch wall time (s)")])
    rows = []
    for section in ("main", "bonus"):
        stats = summary[section] or {}
        cells = "".join(stat_cell(f"{section}.{name}", stats.get(name)) for name in ("mean", "median", "min", "max"))
        rows.append(f"<tr><th>{section} total</th>{cells}{stat_cell(f'{section}_max', summary[f'{section}_max'])}</tr>")
    return (f'<table class="numbers">{counts}</table>'
            f'<table class="numbers"><tr><th></th><th>mean</th><th>median</th><th>min</th><th>max</th>'
            f'<th>of</th></tr>{"".join(rows)}</table>')


def items_table(summary: Mapping[str, Any], kinds: Mapping[str, Mapping[str, int]]) -> str:
    head = "".join(f"<th>{text}</th>" for text, _ in KINDS.values())
    rows = []
    for name, entry in summary["items"].items():
        rate = entry["pass_rate"]
        kind_cells = "".join(f'<td data-kind="{kind}">{kinds[name][kind]}</td>' for kind in KINDS)
        rows.append(f'<tr data-item="{html.escape(name)}" data-section="{entry["section"]}" '
                    f'data-passed="{entry["passed"]}" data-graded="{entry["graded"]}" '
                    f'data-pass-rate="{"null" if rate is None else repr(rate)}">'
                    f'<th>{html.escape(name)}</th><td>{entry["section"]}</td><td>{number(entry["max_points"])}</td>'
                    f'<td>{entry["passed"]} / {entry["graded"]}</td>'
                    f'<td>{"-" if rate is None else f"{100 * rate:.1f}%"}</td>{kind_cells}</tr>')
    return (f'<table class="items"><tr><th>item</th><th>section</th><th>points</th><th>passed</th><th>pass rate</th>'
            f'{head}</tr>{"".join(rows)}</table>')


def seconds(outcome: Outcome) -> float:
    """How long a submission took: its worker's time in this run, or the report's own for a reused one."""
    return max(outcome.seconds, float(outcome.document.get("wall_seconds", 0.0)))


def slowest_table(outcomes: Sequence[Outcome]) -> str:
    slowest = sorted(outcomes, key=lambda o: -seconds(o))[:SLOWEST_SHOWN]
    if not slowest:
        return "<p>No submissions.</p>"
    rows = []
    for outcome in slowest:
        document = outcome.document
        totals = document["totals"]
        score = f"{number(totals['main'])} + {number(totals['bonus'])}" if document["status"] == "graded" else "-"
        rows.append(f'<tr data-student="{for_html(outcome.student)}"><td>{for_html(outcome.student)}</td>'
                    f'<td>{seconds(outcome):.2f}</td>'
                    f'<td>{document["status"]}{" (reused)" if outcome.reused else ""}</td><td>{score}</td></tr>')
    return ('<table><tr><th>student</th><th>seconds</th><th>status</th><th>main + bonus</th></tr>'
            f'{"".join(rows)}</table>')


def failed_table(summary: Mapping[str, Any]) -> str:
    failures = summary["failed_to_grade"]
    if not failures:
        return "<p>Every submission was graded.</p>"
    rows = []
    for failure in failures:
        reason = failure["reason"]
        if len(reason) > MAX_REASON_CHARS:
            reason = reason[:MAX_REASON_CHARS] + f"\n... ({len(failure['reason'])} characters in all)"
        rows.append(f'<tr class="failed" data-student="{for_html(failure["student"])}">'
                    f'<td>{for_html(failure["student"])}</td><td><pre>{for_html(reason)}</pre></td></tr>')
    return f'<table><tr><th>student</th><th>reason</th></tr>{"".join(rows)}</table>'


STYLE = """
body{font:14px/1.4 sans-serif;margin:16px 24px;color:#222;background:#fff;max-width:1100px}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:22px 0 6px;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:6px 16px 6px 0;display:inline-table;vertical-align:top}
td,th{border:1px solid #ddd;padding:2px 8px;text-align:right}th{background:#f4f4f4;text-align:left}
td:first-child{text-align:left}pre{margin:0;white-space:pre-wrap;max-width:800px;text-align:left;font-size:12px}
.chart text{font:11px sans-serif;fill:#333}.charts{display:flex;flex-wrap:wrap;gap:16px}
.legend .key{margin-right:12px}.legend i{display:inline-block;width:10px;height:10px;margin-right:4px}
.muted{color:#666}
"""


def render(outcomes: Sequence[Outcome], summary: Mapping[str, Any]) -> str:
    """The class report page for a batch's outcomes (in student order) and its summary."""
    documents = [outcome.document for outcome in outcomes]
    kinds = failure_kinds(documents, list(summary["items"]))
    fixture_set, rubric = summary["fixture_set"], summary["rubric"]
    mains = [float(d["totals"]["main"]) for d in documents]
    bonuses = [float(d["totals"]["bonus"]) for d in documents]
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>Class report: {for_html(rubric["name"])}</title><style>{STYLE}</style></head>
<body>
<h1>Class report: {for_html(rubric["name"])} {for_html(rubric["version"])}</h1>
<p class="muted">fixture set {for_html(fixture_set["id"])}, harness {for_html(summary["harness_version"])};
a submission that could not be graded counts with 0 points in the totals.</p>
<h2>Scores</h2>
<div class="charts"><div><b>main total</b><br>{histogram_svg("main totals", "main", mains, summary["main_max"])}</div>
<div><b>bonus total</b><br>{histogram_svg("bonus totals", "bonus", bonuses, summary["bonus_max"])}</div></div>
{statistics_table(summary)}
<h2>Items: pass rate and kinds of failure</h2>
<p class="muted">Over the {summary["graded"]} graded submissions; a submission that failed an item counts once,
under the gravest of its cases (timeout, crash, exception, then a wrong shape or an invalid result, or a value mismatch).</p>
{items_svg(summary, kinds)}
{items_table(summary, kinds)}
<h2>Could not be graded ({summary["errors"]})</h2>
{failed_table(summary)}
<h2>Slowest submissions</h2>
{slowest_table(outcomes)}
</body></html>
"""


def write_class_report(out: Path, outcomes: Sequence[Outcome], summary: Mapping[str, Any]) -> Path:
    """Write ``out/report.html`` atomically; returns its path."""
    path = Path(out) / REPORT_NAME
    write_text_atomic(path, render(outcomes, summary))
    return path
