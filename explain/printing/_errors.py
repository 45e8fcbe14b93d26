"""What can go wrong when printing, beyond bad input (which is a :class:`~explain.NoticeInputError`)::

    ExplainError
    └── PrintingError (RuntimeError)              a letter that cannot be printed as asked
        └── PrintingUnavailableError (ImportError) WeasyPrint (the ``pdf`` extra) or its system libraries missing
"""

from __future__ import annotations

from explain._exceptions import ExplainError

__all__ = ["PrintingError", "PrintingUnavailableError"]


class PrintingError(ExplainError, RuntimeError):
    """A letter that cannot be printed as asked: e.g. characters no installed font has (they would print as
    empty boxes), named with the font package that has them."""


class PrintingUnavailableError(PrintingError, ImportError):
    """WeasyPrint or the system libraries it loads (Pango) are missing."""

    def __init__(self, cause: str) -> None:
        self.cause = cause
        super().__init__(
            f"Printing to PDF needs the 'pdf' extra and Pango: pip install 'limit-explain[pdf]' (Debian: "
            f"apt-get install libpango-1.0-0 libpangoft2-1.0-0 fonts-noto-cjk). Cause: {cause}")
