"""WeasyPrint: a :class:`PrintedLetter` to PDF bytes, the same bytes for the same letter.

The bytes depend on nothing but the letter: the creation and modification dates are the notice's date, the
file identifier is the letter's content hash (:attr:`PrintedLetter.identifier`), and WeasyPrint names font
subsets by a hash of the font (no random tags). Fonts come from fontconfig and are embedded as subsets; a
character no font has would print as an empty box, so it is an error here, never a silent blank.
"""

from __future__ import annotations

import datetime as _dt
import functools
import logging
import threading
from collections.abc import Sequence
from typing import Any

from explain.notices._profile import LenderProfile
from explain.printing._errors import PrintingError, PrintingUnavailableError
from explain.printing._layout import PrintedLetter, prepare_letter
from explain.printing._paper import Paper

__all__ = ["document", "letter_pdf", "render_pdf", "write_pdf"]

#: The Debian package with the font every letter is set in.
FONT_PACKAGE = "fonts-noto-cjk"
#: WeasyPrint shares one fontconfig set-up and Pango's font map, and does not promise thread safety: the
#: service's request threads take turns (its worker processes, and batch workers, print in parallel).
_LOCK = threading.Lock()


@functools.cache
def _weasyprint() -> Any:
    """WeasyPrint, imported once (slow: it loads Pango through cffi); missing pieces named."""
    try:
        import weasyprint
    except (ImportError, OSError) as exc:  # OSError: the package is there, Pango is not
        raise PrintingUnavailableError(str(exc)) from exc
    # WeasyPrint logs CSS it ignores at warning level; our CSS is fixed, so anything it says is ours to fix in
    # tests, not a customer's to read in a server log.
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    return weasyprint


@functools.cache
def _font_config() -> Any:
    """One fontconfig set-up per process: building it scans the system's fonts."""
    from weasyprint.text.fonts import FontConfiguration

    _weasyprint()
    return FontConfiguration()


def _refuse(url: str, *args: Any, **kwargs: Any) -> Any:
    raise ValueError(f"printed letters load no external resources ({url[:40]!r})")


@functools.cache
def _no_fetch() -> Any:
    """The print page needs nothing from outside (fonts come from fontconfig): never fetch a URL or read a
    file a letter names, whatever text reached it. (Newer WeasyPrint takes a URLFetcher object, older ones a function.)"""
    try:
        from weasyprint.urls import URLFetcher
    except ImportError:
        return _refuse

    class NoFetch(URLFetcher):
        fetch = staticmethod(_refuse)
        __call__ = staticmethod(_refuse)

    return NoFetch()


def document(letter: PrintedLetter) -> Any:
    """The laid-out WeasyPrint document of ``letter`` (pages, metadata), not yet written."""
    weasyprint = _weasyprint()
    with _LOCK:
        fonts = _font_config()
        html = weasyprint.HTML(string=letter.html, base_url=None, url_fetcher=_no_fetch())
        style = weasyprint.CSS(string=letter.css, font_config=fonts)
        rendered = html.render(stylesheets=[style], font_config=fonts)
    rendered.metadata.created = rendered.metadata.modified = letter.metadata_date
    rendered.metadata.generator = "limit-explain"
    return rendered


def write_pdf(rendered: Any, identifier: str) -> bytes:
    """``rendered``'s PDF with a fixed file identifier; refuses glyphs missing from every font."""
    with _LOCK:
        data = rendered.write_pdf(pdf_identifier=identifier.encode("ascii"))
    missing = sorted({chr(c) for font in rendered.fonts.values() for c in getattr(font, "missing", {})})
    if missing:
        raise PrintingError(
            f"No installed font has {''.join(missing[:20])!r}: the letter would print empty boxes. Install the "
            f"Noto CJK fonts (Debian: apt-get install {FONT_PACKAGE}).")
    return data


def render_pdf(letter: PrintedLetter) -> bytes:
    """``letter`` as PDF bytes (one document: its pages numbered "Page 1 of N")."""
    return write_pdf(document(letter), letter.identifier)


def letter_pdf(
    notice: Any,
    *,
    profile: LenderProfile,
    notice_date: _dt.date,
    paper: Paper | str | None = None,
    mailing_address: Sequence[str] | None = None,
) -> bytes:
    """A notice's letter as a printed PDF: :func:`~explain.printing.prepare_letter` then :func:`render_pdf`.

    >>> pdf = letter_pdf(notice, profile=profile, notice_date=date(2026, 12, 1), paper="a4")  # doctest: +SKIP
    >>> pdf[:5]  # doctest: +SKIP
    b'%PDF-'
    """
    return render_pdf(prepare_letter(notice, profile=profile, notice_date=notice_date, paper=paper,
                                     mailing_address=mailing_address))
