"""The one rule for an account reference, shared by the library, the CLI, the batch and the service.

An account reference is printed into the customer's letter and looked up by agents, so it must read the
same on paper as in the database: it is normalised to Unicode NFC (a composed and a decomposed ``é`` are one
account), and characters that are invisible or move other characters are refused rather than stripped
(stripping would make such an account impossible to find again):

- control characters (``Cc``: NUL, line breaks, U+0085 NEXT LINE, ...), surrogates and private-use characters;
- format characters (``Cf``): bidirectional overrides and isolates (U+202E RIGHT-TO-LEFT OVERRIDE lets
  ``6222-0001`` print as something else), zero-width characters (U+200B, U+200D, U+FEFF, ...);
- separators (``Zs``, ``Zl``, ``Zp``): no-break spaces, U+2028 LINE SEPARATOR, ...; a plain space (U+0020)
  is allowed between other characters only, never at either end.

The error names the code point and its position, e.g. ``U+202E RIGHT-TO-LEFT OVERRIDE at position 5``.
"""

from __future__ import annotations

import unicodedata

from explain._exceptions import NoticeInputError

__all__ = ["MAX_ACCOUNT_REF_LENGTH", "REFUSED_CATEGORIES", "account_ref_problem", "check_account_ref"]

MAX_ACCOUNT_REF_LENGTH = 128
#: Unicode general categories never allowed in an account reference.
REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Zs", "Zl", "Zp"})
EXPECTED = ("a visible account reference: no control, format (bidi, zero-width) or separator characters, and "
            "no space at either end")


_UNNAMED = {"Cc": "(control character)", "Co": "(private-use character)", "Cs": "(surrogate)"}


def _describe(char: str, position: int) -> str:
    category = unicodedata.category(char)
    name = unicodedata.name(char, "") or _UNNAMED.get(category, f"({category})")
    return f"U+{ord(char):04X} {name} at position {position}"


def account_ref_problem(value: str) -> str | None:
    """What is wrong with the (already NFC) ``value``, naming the first offending code point; None if nothing."""
    if not value:
        return "an empty reference"
    if len(value) > MAX_ACCOUNT_REF_LENGTH:
        return f"{len(value)} characters (at most {MAX_ACCOUNT_REF_LENGTH})"
    last = len(value) - 1
    for i, char in enumerate(value):
        if char == " ":
            if i in (0, last):
                return _describe(char, i + 1)
            continue
        if unicodedata.category(char) in REFUSED_CATEGORIES:
            return _describe(char, i + 1)
    return None


def check_account_ref(value: object, field: str = "account_ref") -> str:
    """``value`` in NFC, or :class:`~explain.NoticeInputError` naming ``field`` and the offending code point.

    >>> check_account_ref("6222-0001")
    '6222-0001'
    >>> check_account_ref("Cafe\\u0301-1")  # a decomposed e-acute, composed
    'Café-1'
    """
    if not isinstance(value, str):
        raise NoticeInputError(field, EXPECTED, value)
    normal = unicodedata.normalize("NFC", value)
    problem = account_ref_problem(normal)
    if problem is not None:
        raise NoticeInputError(field, EXPECTED, problem)
    return normal
