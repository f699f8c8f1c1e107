"""``StrEnum``: an enumeration whose members are strings, on every supported Python (3.10 to 3.13).

``enum.StrEnum`` is new in Python 3.11.  This base behaves as it does where the grader
relies on it: a member is a ``str`` equal to its value, ``str()``, ``format()`` and
f-strings give the value (not ``Class.MEMBER``), and ``json`` writes the value.  The same
class is used on every version, so reports are byte-identical whichever Python grades.
"""
from __future__ import annotations

import enum


class StrEnum(str, enum.Enum):
    """A ``(str, Enum)`` whose ``str()`` and ``format()`` are its value's, like 3.11's ``enum.StrEnum``."""

    __str__ = str.__str__
    __format__ = str.__format__
