"""A lender's own folder for tests: catalog, profile and translations, made the way a lender makes them.

``make_lender`` writes the catalog (and a profile), runs the same translation update as
``explain phrases update`` and fills each locale's empty entries, so a test can build a bundle of its own
model without touching the toolkit's files.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

from babel.messages.pofile import read_po, write_po

from explain.catalog._i18n_extract import update_translations
from explain.notices._profile import DEMO_PROFILE_PATH


def fill_translations(folder: Path, locale: str, translate: Callable[[str], str]) -> None:
    """Fill every empty entry of ``<folder>/translations/<locale>.po`` with ``translate(msgid)``."""
    path = Path(folder) / "translations" / f"{locale}.po"
    catalog = read_po(io.BytesIO(path.read_bytes()), locale=locale)
    for message in catalog:
        if not message.id:
            continue
        if isinstance(message.id, tuple):
            if not all(message.string):
                message.string = tuple(translate(i) for i in message.id)[: catalog.num_plurals] * (
                    1 if catalog.num_plurals <= 2 else catalog.num_plurals)
        elif not message.string:
            message.string = translate(message.id)
    buffer = io.BytesIO()
    write_po(buffer, catalog, width=120)
    path.write_bytes(buffer.getvalue())


def make_lender(folder: Path, catalog_text: str, *, profile_text: str | None = None,
                zh: Callable[[str], str] = lambda msgid: f"【译】{msgid}") -> Path:
    """A complete lender folder (``catalog.toml``, ``profile.toml``, ``translations/``) under ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "catalog.toml").write_text(catalog_text, encoding="utf-8")
    (folder / "profile.toml").write_text(profile_text or DEMO_PROFILE_PATH.read_text("utf-8"), encoding="utf-8")
    update_translations(folder, folder / "catalog.toml", folder / "profile.toml")
    fill_translations(folder, "zh_CN", zh)
    return folder
