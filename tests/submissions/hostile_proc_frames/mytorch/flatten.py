# HOSTILE: looks for other cases' data from inside its own case: walks every frame up from its
# own (into the fork server's), everything their locals, globals, defaults and closures
# reach, and gc's view where gc allows it, for another case's raw results (a "final" message)
# or request (input arrays other than its own).  Every case raises with what it found, so the
# Flatten item is lost either way; the test requires "found nothing" from every case.

"""Flatten every axis but the batch axis."""

import marshal
import sys

from .tensor import flatten, reshape, shape

MAX_OBJECTS = 300_000
# Built at run time: this file's own source and compiled code (which the case holds, like any
# package's) must not contain the pattern it looks for in other cases' data.
FINAL = b"".join([b'"final"', b":true"])


def _other_case(value, own):
    """A short description if ``value`` holds another case's results or request, else None."""
    if value is FINAL:
        return None
    if isinstance(value, (bytes, bytearray, memoryview, str)):
        data = bytes(value) if not isinstance(value, str) else value.encode("utf-8", "replace")
        if FINAL in data:  # as child.py writes it; this case has not sent its own yet
            return f"raw results ({len(data)} bytes)"
        if data[:1] in (b"{", b"\xfb") and b"arrays" in data:
            try:
                return _other_case(marshal.loads(data), own)
            except Exception:
                return None
    if isinstance(value, dict):
        arrays = value.get("arrays") if "arrays" in value else None
        if isinstance(arrays, dict) and "A" in arrays and arrays["A"] != own:
            return "another case's request"
    return None


def _neighbours(value):
    if isinstance(value, dict):
        return list(value.keys()) + list(value.values())
    if isinstance(value, (list, tuple, set, frozenset)):
        return list(value)
    if type(value).__name__ == "frame":
        return [dict(value.f_locals), value.f_globals, value.f_back]  # 3.13: f_locals is a proxy, not a dict
    if callable(value) and hasattr(value, "__code__"):
        cells = [c.cell_contents for c in (value.__closure__ or ()) if _filled(c)]
        return [value.__defaults__, value.__kwdefaults__, *cells]
    if type(value).__name__ == "module":
        return [vars(value)]
    return []


def _filled(cell):
    try:
        cell.cell_contents
        return True
    except ValueError:
        return False


def search(own):
    roots = [sys._getframe(), sys.modules.get("__main__")]
    try:
        import gc
        roots += gc.get_objects()
    except Exception:
        pass  # refused: the frames are what is left
    found, seen, pending = [], set(), list(roots)
    while pending and len(seen) < MAX_OBJECTS:
        value = pending.pop()
        if id(value) in seen or value is None:
            continue
        seen.add(id(value))
        what = _other_case(value, own)
        if what:
            found.append(what)
        try:
            pending += _neighbours(value)
        except Exception:
            pass
    return found


class Flatten:
    """Row-major (C order) flatten of every axis but the first.

    forward:  A (N, C, W) -> Z (N, C*W), or A (N, C, H, W) -> Z (N, C*H*W).
    backward: dLdZ (N, prod) -> dLdA with the forward input shape.
    """

    def forward(self, A):
        found = search(A)
        if found:
            raise RuntimeError(f"hostile frame walk: found {len(found)} of other cases: {sorted(set(found))}")
        raise RuntimeError("hostile frame walk: found nothing of other cases")

    def backward(self, dLdZ):
        return [reshape(row, self.input_shape[1:]) for row in dLdZ]
