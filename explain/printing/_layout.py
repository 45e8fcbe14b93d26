"""The print page of one letter: the notice's HTML letter with the envelope window, and the CSS that lays it
out on the chosen paper with a running footer.

Nothing here needs WeasyPrint: :func:`prepare_letter` only checks the inputs and writes HTML and CSS, so a
caller learns about a bad paper or address before any rendering starts.
"""

from __future__ import annotations

import datetime as _dt
import functools
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from markupsafe import escape

from explain._exceptions import NoticeInputError
from explain.notices._locales import negotiate
from explain.notices._profile import LenderProfile
from explain.printing._address import check_mailing_address
from explain.printing._errors import PrintingError
from explain.printing._paper import Paper, default_paper, parse_paper

__all__ = ["LETTER_CSS", "PrintedLetter", "footer_lines", "page_label", "prepare_letter"]

#: The typography of every printed letter (shipped in the package beside this module).
LETTER_CSS = Path(__file__).resolve().parent / "letter.css"


def N_(message: str) -> str:  # noqa: N802 - the gettext marker pybabel extracts; translated where it is used
    return message


_PAGE_OF = N_("Page %(page)s of %(pages)s")


@dataclass(frozen=True)
class PrintedLetter:
    """One letter ready to render: its print page, CSS, and what fixes the PDF's bytes.

    ``identifier`` is the PDF file identifier: a hash of everything that decides the bytes (the letter's
    HTML, paper, address, footer, date), so the same letter always has the same one.
    """

    html: str
    css: str
    locale: str
    notice_date: _dt.date
    paper: Paper
    identifier: str

    @property
    def metadata_date(self) -> str:
        """The PDF's creation and modification date: the notice's date, never the clock."""
        return self.notice_date.isoformat()


@functools.cache
def _letter_css() -> str:
    return LETTER_CSS.read_text(encoding="utf-8")


def _css_string(text: str) -> str:
    """``text`` as a CSS string literal (a line break is ``\\A``, shown with ``white-space: pre``)."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + "\\A ".join(escaped.splitlines()) + '"'


def page_label(locale: str) -> str:
    """The CSS ``content`` of "Page 1 of 2" in ``locale``, from the toolkit's catalog (e.g. 第 1 页，共 2 页)."""
    from explain.notices._environment import toolkit_gettext

    text = toolkit_gettext(locale)(_PAGE_OF)
    parts: list[str] = []
    rest = text
    while rest:
        at = [(rest.find(token), token, counter) for token, counter in
              (("%(page)s", "counter(page)"), ("%(pages)s", "counter(pages)")) if token in rest]
        if not at:
            parts.append(_css_string(rest))
            break
        index, token, counter = min(at)
        if index:
            parts.append(_css_string(rest[:index]))
        parts.append(counter)
        rest = rest[index + len(token):]
    if "counter(page)" not in parts or "counter(pages)" not in parts:
        raise PrintingError(f"The {locale!r} translation of {_PAGE_OF!r} must keep %(page)s and %(pages)s: {text!r}")
    return " ".join(parts)


def footer_lines(profile: LenderProfile, locale: str) -> tuple[str, str]:
    """The lender's name, and how to reach it (phone, email, web), for every page's footer."""
    return profile.display_name(locale), " | ".join((profile.phone, profile.email, profile.url))


def _pt(value: float) -> str:
    return f"{value:.2f}pt"


def _page_css(paper: Paper, footer: tuple[str, str], label: str) -> str:
    left, top, width, height = paper.window
    return f"""
@page {{
  size: {_pt(paper.width)} {_pt(paper.height)};
  margin: {_pt(paper.margin_top)} {_pt(paper.margin_right)} {_pt(paper.margin_bottom)} {_pt(paper.margin_left)};
  @bottom-left {{
    content: {_css_string(chr(10).join(footer))};
    white-space: pre; font-size: 7.5pt; line-height: 1.35; vertical-align: top; padding-top: 4mm; width: 75%;
  }}
  @bottom-right {{
    content: {label};
    font-size: 7.5pt; vertical-align: top; padding-top: 4mm; text-align: right; width: 25%;
  }}
}}
@page :first {{ margin-top: {_pt(top)}; }}
.window {{ width: {_pt(width - paper.inset)}; height: {_pt(height)}; padding-top: {_pt(paper.zone)};
           margin-right: 5mm; }}
"""


def _field(notice: Any, name: str) -> Any:
    return notice[name] if isinstance(notice, Mapping) else getattr(notice, name)


def prepare_letter(
    notice: Any,
    *,
    profile: LenderProfile,
    notice_date: _dt.date,
    paper: Paper | str | None = None,
    mailing_address: Sequence[str] | None = None,
) -> PrintedLetter:
    """The print page of ``notice`` (a :class:`~explain.Notice` or its stored dict) for ``profile``'s letter.

    Parameters
    ----------
    paper
        ``a4``, ``letter`` or a :class:`Paper`; default: the profile's jurisdiction's (US Letter in the US).
    mailing_address
        The recipient's lines for the envelope window; without them the window stays blank, in its place.
    notice_date
        The notice's date: the PDF's creation and modification date.

    Raises
    ------
    NoticeInputError
        a bad paper, address or date, naming the field.
    """
    if not isinstance(profile, LenderProfile):
        raise NoticeInputError("profile", "a LenderProfile", type(profile).__name__)
    if isinstance(notice_date, _dt.datetime) or not isinstance(notice_date, _dt.date):
        raise NoticeInputError("notice_date", "a date", notice_date)
    sheet = (default_paper(profile.legal.jurisdiction) if paper is None
             else paper if isinstance(paper, Paper) else parse_paper(paper))
    lines = check_mailing_address(mailing_address) or ()
    locale = negotiate(_field(notice, "locale"))
    html = _field(notice, "html")
    if not isinstance(html, str) or html.count("<body>") != 1:
        raise PrintingError("The notice's HTML letter must have one <body> element to print it.")
    window = '<div class="window">' + "<br>".join(str(escape(line)) for line in lines) + "</div>\n"
    page = html.replace("<body>", "<body>\n" + window, 1)
    footer = footer_lines(profile, locale)
    css = _page_css(sheet, footer, page_label(locale)) + _letter_css()
    digest = hashlib.sha256()
    for part in (page, css, locale, notice_date.isoformat(), sheet.name):
        digest.update(part.encode("utf-8") + b"\0")
    return PrintedLetter(html=page, css=css, locale=locale, notice_date=notice_date, paper=sheet,
                         identifier=digest.hexdigest()[:32])
