"""Several letters as one PDF (a batch chunk for a mail house): each letter keeps its own page numbers.

Each letter is laid out on its own (so "Page 1 of 2" counts that letter's pages) and the pages are then
written as one document, WeasyPrint's own way of joining documents. The identifier hashes the letters'.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from explain._exceptions import NoticeInputError
from explain.printing._layout import PrintedLetter
from explain.printing._render import document, write_pdf

__all__ = ["merged_pdf"]


def merged_pdf(letters: Sequence[PrintedLetter]) -> bytes:
    """One PDF with every letter's pages in order; its metadata (date, title, language) from the first."""
    if not letters:
        raise NoticeInputError("letters", "at least one letter to print", 0)
    rendered = [document(letter) for letter in letters]
    first = rendered[0]
    joined = first.copy([page for doc in rendered for page in doc.pages])
    digest = hashlib.sha256("\n".join(letter.identifier for letter in letters).encode("ascii"))
    return write_pdf(joined, digest.hexdigest()[:32])
