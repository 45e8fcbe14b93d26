"""Printing: any notice's HTML letter as a PDF for the post, on A4 or US Letter.

The printed letter is the HTML letter itself (the same templates and catalogs), laid out for paper: the
recipient's address in the window of a window envelope, the lender's name and contact in every page's footer,
"Page 1 of 2" in the notice's language, the CJK font embedded so Chinese prints on any printer. The same
inputs always give the same bytes (dates from the notice date, the file identifier from the content), so a
PDF re-rendered from a stored record can be compared with the one that was sent.

Modules, each with one job::

    _paper    the paper sizes, their envelope windows, and the default paper of each jurisdiction
    _address  the optional mailing address (lines), checked
    _layout   the print page: the letter's HTML with the window block, and its CSS (letter.css + page rules)
    _render   WeasyPrint: one letter to PDF bytes, deterministic, refusing missing glyphs
    _merge    several letters as one PDF (a batch chunk), each keeping its own page numbers
    _records  a stored decision's letter, as issued (the service's notice.pdf, the replay)

Needs the ``pdf`` extra (WeasyPrint) and Pango with the Noto CJK fonts (Debian: ``fonts-noto-cjk``).

>>> pdf = letter_pdf(notice, profile=bundle.profile, notice_date=date(2026, 12, 1))  # doctest: +SKIP
"""

from explain.printing._address import MAX_ADDRESS_LINE, MAX_ADDRESS_LINES, check_mailing_address
from explain.printing._errors import PrintingError, PrintingUnavailableError
from explain.printing._layout import PrintedLetter, prepare_letter
from explain.printing._merge import merged_pdf
from explain.printing._paper import PAPERS, Paper, default_paper, parse_paper
from explain.printing._records import record_letter
from explain.printing._render import letter_pdf, render_pdf

__all__ = [
    "MAX_ADDRESS_LINE",
    "MAX_ADDRESS_LINES",
    "PAPERS",
    "Paper",
    "PrintedLetter",
    "PrintingError",
    "PrintingUnavailableError",
    "check_mailing_address",
    "default_paper",
    "letter_pdf",
    "merged_pdf",
    "parse_paper",
    "prepare_letter",
    "record_letter",
    "render_pdf",
]
