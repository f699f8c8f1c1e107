"""A character map of where a student's array differs from the reference.

One 2D slice is drawn, one character per element: the last two axes, at the
leading indices (sample, channel, ...) of the first mismatching element; a 1D
quantity is one row.  ``.`` equal (within the tolerance), ``+`` got above
expected, ``-`` got below.  A student sees at once "only the last column",
"the border", "every other element", "the whole second half".

``picture`` is the map as data (for ``--json`` and other front ends), bounded to
``MASK_ROWS`` x ``MASK_COLUMNS``; ``render`` draws it as text, cut to a width.
"""
from __future__ import annotations

from typing import Any

import numpy as np

MAP_WIDTH = 80      # columns of a drawn map line, labels included
MAP_ROWS = 24       # rows drawn in the text report
MASK_ROWS = 64      # rows kept in the JSON picture
MASK_COLUMNS = 128  # columns kept in the JSON picture
LEGEND = "'.' equal, '+' got above expected, '-' got below"


def picture(got: np.ndarray, expected: np.ndarray, bad: np.ndarray) -> dict[str, Any] | None:
    """The slice with the first mismatch as data, or None for a single number.

    ``slice``: the index of the slice drawn, ``null`` for the drawn axes; ``rows``: one string
    per row of the slice (cut to MASK_ROWS x MASK_COLUMNS); ``shape``: the whole slice's shape.
    """
    if expected.ndim == 0 or not bad.any():
        return None
    first = tuple(int(i) for i in np.argwhere(bad)[0])
    lead = first[:-2] if expected.ndim >= 2 else ()
    g, e, b = got[lead], expected[lead], bad[lead]
    if expected.ndim == 1:
        g, e, b = g[None, :], e[None, :], b[None, :]
    chars = np.where(~b, ".", np.where(g > e, "+", "-"))
    rows = ["".join(row[:MASK_COLUMNS]) for row in chars[:MASK_ROWS]]
    drawn = [None] * (2 if expected.ndim >= 2 else 1)
    return {"slice": list(lead) + drawn, "shape": list(chars.shape), "rows": rows}


def render(pic: dict[str, Any], width: int = MAP_WIDTH, max_rows: int = MAP_ROWS) -> list[str]:
    """The picture as labelled text lines, each at most ``width`` characters (row labels included)."""
    index = ", ".join(":" if i is None else str(i) for i in pic["slice"])
    height, columns = pic["shape"]
    axes = len(pic["slice"])
    what = (f"rows: axis {axes - 2}, columns: axis {axes - 1}" if height > 1 or axes >= 2
            else f"axis {axes - 1}")
    label = max(len(str(min(height, max_rows) - 1)), 1)
    room = max(width - label - 7, 10)
    shown = min(columns, room, len(pic["rows"][0]))
    lines = [f"  Where they differ, slice [{index}] ({what}, index mod 10 above):", f"    {LEGEND}"]
    lines.append(" " * (label + 5) + "".join(str(c % 10) for c in range(shown)))
    for r, row in enumerate(pic["rows"][:max_rows]):
        lines.append(f"    {r:>{label}} {row[:shown]}" + (" >" if columns > shown else ""))
    cut = []
    if min(height, len(pic["rows"])) > max_rows or height > len(pic["rows"]):
        cut.append(f"rows 0-{min(max_rows, len(pic['rows'])) - 1} of {height}")
    if columns > shown:
        cut.append(f"columns 0-{shown - 1} of {columns}")
    if cut:
        lines.append(f"    (only {' and '.join(cut)} shown)")
    return lines
