"""Student- and entry-controlled text made safe for each place the grader shows or stores it.

One function per sink; every print and write of such text (exception messages,
printed output, type names, submission and archive member names, student ids)
goes through the one for its sink:

- :func:`for_terminal`: a terminal, a log, a report read line by line.  C0 and
  C1 control characters, DEL and the Unicode categories Cc (controls), Cf
  (format: bidi overrides, zero-width characters), Zl and Zp (line and paragraph
  separators, U+2028/U+2029), plus lone surrogates (Cs, unprintable), become
  visible escapes (``\\x1b``, ``\\u2028``, ``\\U000e0001``).  With
  ``newlines=True`` newline and tab are kept, for multi-line text whose lines
  the caller indents; otherwise they are escaped too.  After it, the only line
  break left is ``\\n``, and only where the caller allowed it, so nothing a
  student writes can start a line of its own or move the cursor.
- :func:`for_csv`: a spreadsheet cell.  Text is made terminal-safe (one line),
  then a cell a spreadsheet would read as a formula (starting with ``=``, ``+``,
  ``-``, ``@``, tab or carriage return, after any spaces) gets a leading ``'``.
  Numbers the grader writes stay numbers.
- :func:`for_json`: JSON is already safe for controls (the encoder escapes
  them); lone surrogates, which strict JSON readers reject, become U+FFFD, in
  every string (keys too) of a document.
"""
from __future__ import annotations

import re
import unicodedata

ESCAPED_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})
KEPT_IN_MULTILINE = "\n\t"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
FORMULA_GUARD = "'"
REPLACEMENT = "\ufffd"

_CANDIDATES = re.compile(r"[^\x20-\x7e]")  # anything escaped is outside printable ASCII
_SURROGATES = re.compile("[\ud800-\udfff]")


def escape_character(character: str) -> str:
    """The visible escape of one character: ``\\x1b``, ``\\u2028`` or ``\\U000e0001``."""
    code = ord(character)
    if code <= 0xff:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xffff else f"\\U{code:08x}"


def _escape_match(match: re.Match[str], keep: str) -> str:
    character = match.group()
    if character in keep or unicodedata.category(character) not in ESCAPED_CATEGORIES:
        return character
    return escape_character(character)


def for_terminal(text: object, newlines: bool = False) -> str:
    """``text`` with every control, format and separator character shown as an escape.

    ``newlines=True`` keeps ``\\n`` and ``\\t`` (multi-line text); every other
    line break (``\\r``, ``\\x0b``, ``\\x0c``, ``\\x1c``-``\\x1e``, U+0085, U+2028,
    U+2029) is escaped either way.
    """
    text = str(text)
    if text.isascii() and text.isprintable():
        return text
    keep = KEPT_IN_MULTILINE if newlines else ""
    return _CANDIDATES.sub(lambda match: _escape_match(match, keep), text)


def for_csv(value: str | int | float) -> str:
    """One spreadsheet cell: numbers as the grader formats them, text terminal-safe and never a formula."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return format(value, "g")
    text = for_terminal(value)
    if any(cell.lstrip(" ").startswith(FORMULA_STARTS) for cell in (str(value), text)):
        return FORMULA_GUARD + text
    return text


def for_json(value: object) -> object:
    """``value`` (a JSON document) with every lone surrogate in its strings replaced by U+FFFD."""
    if isinstance(value, str):
        return _SURROGATES.sub(REPLACEMENT, value)
    if isinstance(value, dict):
        return {for_json(key): for_json(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [for_json(item) for item in value]
    return value


def indented(text: str, indent: str) -> str:
    """Multi-line ``text`` made terminal-safe, every line after the first starting with ``indent``."""
    return for_terminal(text, newlines=True).replace("\n", "\n" + indent)


__all__ = ["for_terminal", "for_csv", "for_json", "indented", "escape_character"]
