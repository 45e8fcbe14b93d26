"""Locale negotiation, loading catalogs without silent fallback, and the health of the gettext catalogs."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from explain import UnsupportedLocaleError
from explain.notices._locales import (
    LOCALES_DIR,
    SUPPORTED_LOCALES,
    CatalogMissingError,
    get_translations,
    negotiate,
)

from explain.notices._profile import DEMO_LENDER_DIR

ROOT = Path(__file__).resolve().parents[2]
PO = {loc: LOCALES_DIR / loc / "LC_MESSAGES" / "messages.po" for loc in SUPPORTED_LOCALES}


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("zh-CN", "zh_CN"),
        ("zh_CN", "zh_CN"),
        ("zh", "zh_CN"),
        ("zh-Hans", "zh_CN"),
        ("ZH-cn", "zh_CN"),
        ("en-US", "en"),
        ("en_US", "en"),
        ("en", "en"),
        ("zh-HK", "zh_HK"),
        ("zh_Hant_HK", "zh_HK"),
        ("zh-Hant-HK", "zh_HK"),
        ("zh-MO", "zh_HK"),
        ("zh-TW", "zh_TW"),
        ("zh_tw", "zh_TW"),
        ("zh-Hant-TW", "zh_TW"),
        ("zh_Hant_TW", "zh_TW"),
    ],
)
def test_negotiation_table(given, expected):
    assert negotiate(given) == expected


# zh-Hant alone is refused: Hong Kong and Taiwan write different financial words, so the region must be said.
@pytest.mark.parametrize("given", ["fr", "en-GB", "zh-Hant", "zh-SG", "", "english", None, 5])
def test_unsupported_locale_lists_what_is_supported(given):
    with pytest.raises(UnsupportedLocaleError,
                       match=r"must be one of 'zh_CN', 'en', 'zh_HK', 'zh_TW'\. Got .* instead") as info:
        negotiate(given)
    assert info.value.supported == ("zh_CN", "en", "zh_HK", "zh_TW")
    assert isinstance(info.value, ValueError)


def test_error_names_the_field():
    with pytest.raises(UnsupportedLocaleError, match="'accept_language'"):
        negotiate("fr", field="accept_language")


def test_missing_catalog_is_an_error_not_english(tmp_path):
    with pytest.raises(CatalogMissingError, match="make locales") as info:
        get_translations("zh_CN", tmp_path)
    assert isinstance(info.value, UnsupportedLocaleError)
    assert not (tmp_path / "zh_CN").exists()


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_translations_are_cached_per_locale(locale):
    assert get_translations(locale) is get_translations(locale)


# ------------------------------------------------------------------------------------------ catalog health
@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_po_has_no_untranslated_fuzzy_or_invalid_entry(locale):
    with PO[locale].open("rb") as fp:
        catalog = read_po(fp, locale=locale)
    entries = [m for m in catalog if m.id]
    assert entries, "empty catalog"
    assert not catalog.fuzzy, "the catalog header is marked fuzzy"
    assert [m.id for m in entries if not m.string] == []
    assert [m.id for m in entries if m.fuzzy] == []
    problems = [(m.id, [str(e) for e in errors]) for m, errors in catalog.check()]
    assert problems == []


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_placeholders_survive_translation(locale):
    with PO[locale].open("rb") as fp:
        catalog = read_po(fp, locale=locale)
    pattern = re.compile(r"\{value\}|%\(\w+\)s")
    for message in catalog:
        if message.id:
            assert sorted(pattern.findall(message.string)) == sorted(pattern.findall(message.id)), message.id


@pytest.mark.parametrize("path", [PO["zh_CN"], DEMO_LENDER_DIR / "translations" / "zh_CN.po"], ids=["toolkit", "demo"])
def test_chinese_uses_full_width_punctuation(path):
    with path.open("rb") as fp:
        catalog = read_po(fp, locale="zh_CN")
    for message in catalog:
        if message.id:
            # ASCII , ; ( ) ! ? and ':' outside a URL/format have full-width forms in Chinese text.
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            text = re.sub(r"%\(\w+\)s|\{value\}|\{count\}", "", " ".join(strings))
            assert not re.search(r"[,;()!?:]", text), (message.id, message.string)


def _extracted() -> set[tuple[str | None, str]]:
    with (ROOT / "babel.cfg").open(encoding="utf-8") as fp:
        method_map, options_map = parse_mapping_cfg(fp)
    found = set()
    # The default directory filter skips "." and "_" folders, as `pybabel extract` does.
    for _filename, _lineno, message, _comments, context in extract_from_dir(str(ROOT), method_map, options_map):
        found.add((context, message))
    return found


def test_pot_is_up_to_date_with_the_sources():
    with (LOCALES_DIR / "messages.pot").open("rb") as fp:
        pot = {(m.context, m.id) for m in read_po(fp) if m.id}
    assert _extracted() == pot, "run the extract step of `make locales` (pybabel extract + update)"


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_po_matches_the_pot(locale):
    with (LOCALES_DIR / "messages.pot").open("rb") as fp:
        pot = {(m.context, m.id) for m in read_po(fp) if m.id}
    with PO[locale].open("rb") as fp:
        po = {(m.context, m.id) for m in read_po(fp) if m.id}
    assert po == pot


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_compiled_catalog_is_current(locale):
    """The .mo on disk says what the .po says: otherwise notices would use stale wording."""
    with PO[locale].open("rb") as fp:
        po = {(m.context, m.id): m.string for m in read_po(fp) if m.id}
    mo_path = LOCALES_DIR / locale / "LC_MESSAGES" / "messages.mo"
    assert mo_path.is_file(), "run `make locales`"
    mo = {(m.context, m.id): m.string for m in read_mo(io.BytesIO(mo_path.read_bytes())) if m.id}
    assert mo == po, "the compiled catalog is stale: run `make locales`"
