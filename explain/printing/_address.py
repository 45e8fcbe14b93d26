"""The recipient's mailing address: the lines printed in the envelope's window, checked once at the boundary.

Optional everywhere (API, CLI, batch): a letter without one leaves the window blank, still in its place,
for a label or a mail house. The limits keep every line inside the window of either paper.
"""

from __future__ import annotations

from collections.abc import Sequence

from explain._exceptions import NoticeInputError

__all__ = ["MAX_ADDRESS_LINE", "MAX_ADDRESS_LINES", "check_mailing_address"]

#: DIN 5008 form B holds six lines for the recipient; a #10 window as many at the window's type size.
MAX_ADDRESS_LINES = 6
#: Characters per line: what a window 80 mm wide holds at 9 pt (Latin); a Chinese line wraps inside it.
MAX_ADDRESS_LINE = 50


def check_mailing_address(value: object, *, field: str = "mailing_address") -> tuple[str, ...] | None:
    """``None``, or 1 to 6 non-empty single lines of at most 50 characters each, stripped.

    Raises
    ------
    NoticeInputError
        naming ``field`` (or the line, ``field[i]``) and what was expected.
    """
    if value is None:
        return None
    if isinstance(value, str) or not isinstance(value, Sequence) or not 1 <= len(value) <= MAX_ADDRESS_LINES:
        raise NoticeInputError(field, f"a list of 1 to {MAX_ADDRESS_LINES} address lines", value)
    lines = []
    for i, line in enumerate(value):
        if (not isinstance(line, str) or not line.strip() or len(line.strip()) > MAX_ADDRESS_LINE
                or any(ord(c) < 32 or ord(c) == 127 for c in line)):
            raise NoticeInputError(f"{field}[{i}]", f"one line of 1 to {MAX_ADDRESS_LINE} characters, no control "
                                                    "characters", line)
        lines.append(line.strip())
    return tuple(lines)
