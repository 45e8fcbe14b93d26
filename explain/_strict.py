"""Strict tables: a key a schema does not define is refused, naming it and the nearest valid name.

A misspelt table (``[lender.shortnames]``) or key (``advise``) read silently would leave out what the lender
meant to say; refused at once, with ``did you mean 'short_names'?``, it costs one edit. Each schema keeps one
tuple of allowed keys per table beside the code that reads it, so a new key is one word in one list.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["nearest", "unknown_keys_message"]


def nearest(name: str, allowed: Iterable[str]) -> str | None:
    """The allowed name closest to ``name`` (a typo, another spelling), or None when none is close."""
    found = difflib.get_close_matches(str(name), [str(a) for a in allowed], n=1, cutoff=0.6)
    return found[0] if found else None


def unknown_keys_message(table: Mapping[str, Any], allowed: Iterable[str]) -> str | None:
    """What is wrong with ``table``'s keys, or None: each unknown key with its nearest valid name."""
    allowed = sorted(set(allowed))
    extra = sorted(str(k) for k in set(table) - set(allowed))
    if not extra:
        return None
    parts = []
    for key in extra:
        guess = nearest(key, allowed)
        parts.append(f"{key!r}" + (f" (did you mean {guess!r}?)" if guess else ""))
    return f"unknown key(s) {', '.join(parts)}; allowed: {', '.join(allowed)}"
