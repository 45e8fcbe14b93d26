"""Printed letters (:mod:`explain.printing`): the PDF says exactly what the text letter says, in the envelope
window and page frame it promises, with the CJK font embedded, and the same bytes in any process.

WeasyPrint is slow to start and to lay out, so each letter is rendered once per module and every test reads
the same bytes back with pypdf.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

pypdf = pytest.importorskip("pypdf")
pytest.importorskip("weasyprint")

from explain import LenderProfile, NoticeInputError, demo_bundle  # noqa: E402
from explain.commands._cli_notice import DEMO_CASES, DEMO_NOTICE_DATE, render_demo_notice  # noqa: E402
from explain.printing import (  # noqa: E402
    PAPERS,
    PrintingError,
    check_mailing_address,
    default_paper,
    letter_pdf,
    prepare_letter,
    render_pdf,
)
from explain.printing._layout import footer_lines  # noqa: E402

ADDRESS = {"zh_CN": ("张三", "上海市浦东新区示例路88号3室", "200120"),
           "en": ("Jane Doe", "12 Elm Street, Apt 4", "Springfield, IL 62701")}
PAPER = {"zh_CN": "a4", "en": "letter"}
PAGE_LABEL = {"zh_CN": "第 {} 页，共 {} 页", "en": "Page {} of {}"}


@pytest.fixture(scope="module")
def letters() -> dict[str, tuple[object, bytes]]:
    """The demo decrease in both locales: its notice and its PDF (zh_CN on A4, en on US Letter)."""
    bundle = demo_bundle()
    out = {}
    for locale in ("zh_CN", "en"):
        notice = render_demo_notice(bundle, DEMO_CASES[0], locale=locale)
        pdf = letter_pdf(notice, profile=bundle.profile, notice_date=DEMO_NOTICE_DATE, paper=PAPER[locale],
                         mailing_address=ADDRESS[locale])
        out[locale] = (notice, pdf)
    return out


def _pages(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages]


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _expected_lines(notice) -> list[str]:
    """The text letter as a printed page shows it: the subject under the header (the HTML letter's <h1>), and a
    list item without its "- " (the printed list draws its own bullet)."""
    header, _, rest = notice.text.partition("\n\n")
    lines = _lines(header) + [notice.subject] + _lines(rest)
    return [line[2:] if line.startswith("- ") else line for line in lines]


def _body_lines(pdf: bytes, notice, locale: str) -> list[str]:
    """Every page's text without its footer (lender, contact, page label: checked here), the window's lines
    (checked on page 1) and the list bullets."""
    pages = _pages(pdf)
    name, contact = footer_lines(demo_bundle().profile, locale)
    body: list[str] = []
    for number, text in enumerate(pages, start=1):
        lines = _lines(text)
        assert lines[-3:] == [name, contact, PAGE_LABEL[locale].format(number, len(pages))]
        lines = [line for line in lines[:-3] if line != "•"]
        if number == 1:
            address = list(ADDRESS[locale])
            at = lines.index(address[0])
            assert lines[at:at + len(address)] == address
            del lines[at:at + len(address)]
        body.extend(lines)
    return body


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_pdf_text_is_the_text_letter_every_character(letters, locale):
    notice, pdf = letters[locale]
    printed = _body_lines(pdf, notice, locale)
    expected = _expected_lines(notice)
    # Line breaks differ (the page wraps long lines): compare every character, whitespace aside ...
    assert re.sub(r"\s+", "", "".join(printed)) == re.sub(r"\s+", "", "".join(expected))
    if locale == "en":  # ... and, where words are separated by spaces, every word
        assert " ".join(printed).split() == " ".join(expected).split()


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_page_numbers_and_the_lender_footer_on_every_page(letters, locale):
    pages = _pages(letters[locale][1])
    assert len(pages) >= 2  # the demo decrease runs over a page in both languages: "of 2" is exercised
    for number, text in enumerate(pages, start=1):
        assert PAGE_LABEL[locale].format(number, len(pages)) in text
        assert "400-000-0000 | review@example.com | https://example.com/review" in text


def test_the_cjk_font_is_embedded_as_a_subset(letters):
    reader = pypdf.PdfReader(io.BytesIO(letters["zh_CN"][1]))
    embedded = {}
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descendant = font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font else font
            descriptor = descendant["/FontDescriptor"].get_object()
            embedded[str(font["/BaseFont"])] = sorted(k for k in descriptor if k.startswith("/FontFile"))
    cjk = {name: files for name, files in embedded.items() if "Noto-Sans-CJK-SC" in name}
    assert cjk, embedded
    for name, files in cjk.items():
        assert re.fullmatch(r"/[A-Z]{6}\+Noto-Sans-CJK-SC(-Bold)?", name)  # a subset, tagged
        assert files and set(files) <= {"/FontFile2", "/FontFile3"}


def test_paper_sizes_are_a4_and_us_letter(letters):
    for locale, (width, height) in (("zh_CN", (595.28, 841.89)), ("en", (612, 792))):
        box = pypdf.PdfReader(io.BytesIO(letters[locale][1])).pages[0].mediabox
        assert (float(box.width), float(box.height)) == pytest.approx((width, height), abs=0.01)
    assert (PAPERS["a4"].width, PAPERS["letter"].height) == pytest.approx((595.28, 792), abs=0.01)


def test_dates_come_from_the_notice_and_the_identifier_from_the_content(letters):
    reader = pypdf.PdfReader(io.BytesIO(letters["zh_CN"][1]))
    assert reader.metadata["/CreationDate"] == reader.metadata["/ModDate"] == "D:20261201"
    assert reader.metadata["/Title"] == letters["zh_CN"][0].subject
    letter = prepare_letter(letters["zh_CN"][0], profile=demo_bundle().profile, notice_date=DEMO_NOTICE_DATE,
                            paper="a4", mailing_address=ADDRESS["zh_CN"])
    assert reader.trailer["/ID"][0] == letter.identifier
    later = prepare_letter(letters["zh_CN"][0], profile=demo_bundle().profile, notice_date=dt.date(2026, 12, 2),
                           paper="a4", mailing_address=ADDRESS["zh_CN"])
    assert later.identifier != letter.identifier


_SUBPROCESS = """
import datetime as dt, json, sys
from explain.notices._profile import demo_profile
from explain.printing import letter_pdf
notice = json.loads(open(sys.argv[1], encoding="utf-8").read())
pdf = letter_pdf(notice, profile=demo_profile(), notice_date=dt.date(2026, 12, 1), paper="a4",
                 mailing_address=json.loads(sys.argv[2]))
open(sys.argv[3], "wb").write(pdf)
"""


def test_the_same_letter_is_the_same_bytes_in_another_process(letters, tmp_path):
    notice, pdf = letters["zh_CN"]
    stored = tmp_path / "notice.json"
    stored.write_text(notice.to_json(), encoding="utf-8")  # the notice as a record stores it
    out = tmp_path / "again.pdf"
    subprocess.run([sys.executable, "-c", _SUBPROCESS, str(stored), json.dumps(ADDRESS["zh_CN"]), str(out)],
                   check=True, cwd=Path(__file__).resolve().parents[2], timeout=120)
    assert out.read_bytes() == pdf


def _tiny(body: str, lang: str = "zh-Hant-HK") -> dict[str, str]:
    html = (f'<!DOCTYPE html>\n<html lang="{lang}">\n<head>\n<meta charset="utf-8">\n<title>t</title>\n</head>\n'
            f"<body>\n<p>{body}</p>\n</body>\n</html>\n")
    return {"html": html, "locale": "zh_CN"}


def test_traditional_characters_print_in_the_embedded_font_never_as_boxes(tmp_path):
    from PIL import Image

    Image.new("RGB", (4, 4)).save(tmp_path / "seen.png")
    words = "額度 還款 信貸資料庫 聯徵中心 個人資料保護法 金融消費評議中心"
    body = f'{words}<img src="file://{tmp_path / "seen.png"}">'  # never loaded: a letter fetches nothing
    pdf = letter_pdf(_tiny(body), profile=demo_bundle().profile, notice_date=DEMO_NOTICE_DATE, paper="a4")
    assert b"/Image" not in pdf
    text = re.sub(r"\s+", "", _pages(pdf)[0])  # a line may wrap inside a word
    for word in words.split():
        assert word in text
    fonts = {str(f.get_object()["/BaseFont"]) for f in pypdf.PdfReader(io.BytesIO(pdf)).pages[0]["/Resources"]["/Font"].values()}
    assert all("Noto-Sans-CJK-SC" in name for name in fonts), fonts
    with pytest.raises(PrintingError, match="empty boxes"):  # U+0378 is unassigned: no font has it
        render_pdf(prepare_letter(_tiny("\u0378"), profile=demo_bundle().profile, notice_date=DEMO_NOTICE_DATE))


def test_default_paper_follows_the_jurisdiction(tmp_path):
    from us_lender import us_lender

    us = LenderProfile.from_toml(us_lender(tmp_path / "lender"))
    assert default_paper("US").name == "letter" and default_paper("CN").name == default_paper("EU").name == "a4"
    assert prepare_letter(_tiny("x"), profile=us, notice_date=DEMO_NOTICE_DATE).paper.name == "letter"
    assert prepare_letter(_tiny("x"), profile=demo_bundle().profile, notice_date=DEMO_NOTICE_DATE).paper.name == "a4"
    css = prepare_letter(_tiny("x"), profile=us, notice_date=DEMO_NOTICE_DATE, mailing_address=["A"]).css
    assert "size: 612.00pt 792.00pt" in css and "@page :first { margin-top: 144.00pt; }" in css  # the #10 window


def test_the_window_is_blank_but_in_place_without_an_address():
    letter = prepare_letter(_tiny("x"), profile=demo_bundle().profile, notice_date=DEMO_NOTICE_DATE)
    assert '<body>\n<div class="window"></div>\n' in letter.html
    named = prepare_letter(_tiny("x"), profile=demo_bundle().profile, notice_date=DEMO_NOTICE_DATE,
                           mailing_address=["<b>Jane</b>", "  1 Road  "])
    assert '<div class="window">&lt;b&gt;Jane&lt;/b&gt;<br>1 Road</div>' in named.html


@pytest.mark.parametrize(("value", "field", "expected"), [
    ("Jane Doe", "mailing_address", "a list of 1 to 6"),
    ([], "mailing_address", "a list of 1 to 6"),
    (["a"] * 7, "mailing_address", "a list of 1 to 6"),
    (["Jane", " "], "mailing_address[1]", "one line of 1 to 50"),
    (["Jane\nDoe"], "mailing_address[0]", "no control characters"),
    (["x" * 51], "mailing_address[0]", "1 to 50 characters"),
    (["Jane", 7], "mailing_address[1]", "one line"),
])
def test_a_bad_mailing_address_names_the_line(value, field, expected):
    with pytest.raises(NoticeInputError, match=re.escape(expected)) as caught:
        check_mailing_address(value)
    assert caught.value.field == field


def test_a_bad_paper_names_the_choices():
    with pytest.raises(NoticeInputError, match=r"The 'paper' must be one of 'a4', 'letter'. Got 'a5' instead."):
        prepare_letter(_tiny("x"), profile=demo_bundle().profile, notice_date=DEMO_NOTICE_DATE, paper="a5")


def test_the_printing_stage_exports_exactly_these_names():
    import explain.printing

    assert explain.printing.__all__ == sorted(explain.printing.__all__) == [
        "MAX_ADDRESS_LINE", "MAX_ADDRESS_LINES", "PAPERS", "Paper", "PrintedLetter", "PrintingError",
        "PrintingUnavailableError", "check_mailing_address", "default_paper", "letter_pdf", "merged_pdf",
        "parse_paper", "prepare_letter", "record_letter", "render_pdf"]
    assert all(hasattr(explain.printing, name) for name in explain.printing.__all__)
