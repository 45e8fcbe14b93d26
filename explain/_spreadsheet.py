"""CSV cells a spreadsheet will not run: the OWASP rule against CSV (formula) injection.

A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read as a formula by Excel,
LibreOffice and Google Sheets (``=HYPERLINK(...)``, ``=cmd|' /C calc'!A0``, ``@SUM(1)``). Such a text cell is
written with a leading apostrophe, which spreadsheets show as text and do not print; numbers are written as
numbers (``-0.8`` is a value, not a formula). Only CSV is changed: JSON lines and Parquet carry the values
exactly. One rule for every CSV the toolkit writes: the service's export and the batch's notices and errors files.
"""

from __future__ import annotations

__all__ = ["FORMULA_STARTS", "neutralise_cell"]

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_cell(value: object) -> object:
    """``value``, with a leading ``'`` when it is text a spreadsheet would evaluate.

    >>> neutralise_cell("=HYPERLINK(\\"http://x\\")"), neutralise_cell("6222-0001"), neutralise_cell(-0.8)
    ('\\'=HYPERLINK("http://x")', '6222-0001', -0.8)
    """
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
