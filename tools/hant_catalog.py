"""Draft the Traditional Chinese catalogs (zh_HK, zh_TW) from the reviewed zh_CN ones; a developer's tool.

Not part of the package and not imported by it: OpenCC is a development dependency only (``pip install -e
".[hant]"``). What ships is the reviewed ``.po`` files, never this tool's output unread.

For every pair of catalogs (the toolkit's ``locales/<locale>/LC_MESSAGES/messages.po`` and a lender's
``translations/<locale>.po``, the demo lender's by default) it:

1. brings the zh_HK / zh_TW catalog's entries in line with zh_CN's (adds new message ids empty, drops gone
   ones), creating the file the first time;
2. drafts **only the entries that are empty**: OpenCC's phrase-level conversion (``s2hk`` for Hong Kong,
   ``s2twp`` for Taiwan) of the zh_CN text, then the reviewed regional-terms table ``tools/hant_terms.toml``;
   a law's title in 《》 is converted character by character only (its name is its name);
3. marks each draft ``fuzzy`` with a translator comment, and prints it beside its zh_CN source.

A fuzzy entry is not compiled into the ``.mo`` and fails the catalogs' completeness test, so a draft cannot
ship unread. A reviewer reads every printed draft, fixes it in the ``.po`` file, then runs ``--accept`` to
clear the flag on the drafts. Entries already reviewed are never touched, so running the tool again is a
no-op until new message ids arrive (idempotent)::

    make extract                               # new msgids into every catalog (zh_HK, zh_TW included)
    .venv/bin/python tools/hant_catalog.py     # draft the empty zh_HK/zh_TW entries; read what it prints
    # ... fix the drafts in the .po files ...
    .venv/bin/python tools/hant_catalog.py --accept
    .venv/bin/python tools/hant_catalog.py --check   # exit 1 on an empty/fuzzy entry or a term the table forbids
    make locales

``--lender DIR`` does a lender's folder (``DIR/translations/zh_CN.po`` -> ``zh_HK.po``, ``zh_TW.po``) instead
of the defaults.
"""

from __future__ import annotations

import argparse
import io
import re
import sys
import tomllib
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
TERMS = Path(__file__).with_name("hant_terms.toml")
#: Region -> (locale, OpenCC configuration).
REGIONS = {"HK": ("zh_HK", "s2hk"), "TW": ("zh_TW", "s2twp")}
DRAFT_NOTE = "draft: OpenCC {config} + tools/hant_terms.toml; read it, fix it, then `tools/hant_catalog.py --accept`"
_TITLE = re.compile(r"(《[^》]*》)")


def _strings(message) -> tuple[str, ...]:
    return message.string if isinstance(message.string, tuple) else (message.string,)


def load_terms(path: Path = TERMS) -> dict[str, list[tuple[str, str]]]:
    """The regional terms per region, in order: ``[(draft, final), ...]``."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    terms = {}
    for region in REGIONS:
        rows = data.get(region, [])
        for row in rows:
            if set(row) != {"draft", "final", "why"} or not row["why"].strip():
                raise SystemExit(f"{path}: every [[{region}]] term needs draft, final and why: {row}")
        terms[region] = [(row["draft"], row["final"]) for row in rows]
    return terms


def apply_terms(text: str, terms: list[tuple[str, str]]) -> str:
    """Replace each term outside 《》 titles, in the table's order."""
    parts = _TITLE.split(text)
    for i, part in enumerate(parts):
        if not _TITLE.fullmatch(part):
            for draft, final in terms:
                part = part.replace(draft, final)
            parts[i] = part
    return "".join(parts)


class Drafter:
    """zh_CN text -> a regional draft: OpenCC phrase-level outside 《》, character-level inside, then the terms."""

    def __init__(self, region: str, terms: list[tuple[str, str]]) -> None:
        try:
            import opencc
        except ImportError:  # pragma: no cover - a developer without the extra
            raise SystemExit('OpenCC is missing: `.venv/bin/pip install -e ".[hant]"`') from None
        self.config = REGIONS[region][1]
        self._phrases = opencc.OpenCC(self.config)
        self._chars = opencc.OpenCC("s2t")
        self._terms = terms

    def __call__(self, text: str) -> str:
        parts = _TITLE.split(text)
        converted = "".join(self._chars.convert(p) if _TITLE.fullmatch(p) else self._phrases.convert(p) for p in parts)
        return apply_terms(converted, self._terms)


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def _read(path: Path, locale: str) -> Catalog:
    with path.open("rb") as fp:
        return read_po(fp, locale=locale)


def _write(path: Path, catalog: Catalog) -> None:
    buffer = io.BytesIO()
    write_po(buffer, catalog, width=120, omit_header=False, ignore_obsolete=True, include_previous=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue())


def pairs(lender: Path | None) -> list[tuple[Path, dict[str, Path]]]:
    """(zh_CN source, {region: target}) for the toolkit's catalogs and a lender's translations."""
    if lender is not None:
        folder = lender / "translations"
        return [(folder / "zh_CN.po", {r: folder / f"{loc}.po" for r, (loc, _) in REGIONS.items()})]
    toolkit = ROOT / "locales"
    demo = ROOT / "explain" / "data" / "demo_lender" / "translations"
    return [(toolkit / "zh_CN" / "LC_MESSAGES" / "messages.po",
             {r: toolkit / loc / "LC_MESSAGES" / "messages.po" for r, (loc, _) in REGIONS.items()}),
            (demo / "zh_CN.po", {r: demo / f"{loc}.po" for r, (loc, _) in REGIONS.items()})]


def _sync(source: Catalog, target: Catalog | None, locale: str) -> Catalog:
    """``target`` with exactly ``source``'s message ids: kept strings stay, new ids come in empty."""
    fresh = Catalog(locale=locale, domain=source.domain, project=source.project, version=source.version,
                    copyright_holder=source.copyright_holder, msgid_bugs_address=source.msgid_bugs_address,
                    creation_date=source.creation_date, revision_date=source.revision_date,
                    last_translator=source.last_translator, language_team=f"{locale} <LL@li.org>",
                    charset="utf-8", fuzzy=False)
    if target is not None:
        fresh.revision_date = target.revision_date
    for message in source:
        if not message.id:
            continue
        old = target.get(message.id, context=message.context) if target is not None else None
        empty = ("",) * len(_strings(message)) if isinstance(message.id, tuple) else ""
        string = old.string if old is not None and isinstance(old.id, tuple) == isinstance(message.id, tuple) else empty
        fresh.add(message.id, string, locations=message.locations, flags=set(old.flags if old else ()) | (
            set(message.flags) - {"fuzzy"}), auto_comments=message.auto_comments,
                  user_comments=old.user_comments if old else [], context=message.context)
    return fresh


def draft(lender: Path | None, out=None, *, make_drafter=None) -> int:
    """Draft the empty entries; ``make_drafter(region, terms)`` builds the converter (default: OpenCC's)."""
    make_drafter, out = make_drafter or Drafter, out or sys.stdout
    terms = load_terms()
    count = 0
    for source_path, targets in pairs(lender):
        source = _read(source_path, "zh_CN")
        for region, path in targets.items():
            locale = REGIONS[region][0]
            drafter = make_drafter(region, terms[region])
            catalog = _sync(source, _read(path, locale) if path.is_file() else None, locale)
            for message in catalog:
                if not message.id or any(_strings(message)):
                    continue
                original = source.get(message.id, context=message.context)
                if not all(_strings(original)):
                    print(f"SKIP {_shown(path)}: zh_CN has no text yet for {message.id!r}", file=out)
                    continue
                texts = tuple(drafter(s) for s in _strings(original))
                message.string = texts if isinstance(message.id, tuple) else texts[0]
                message.flags.add("fuzzy")
                message.user_comments = [DRAFT_NOTE.format(config=drafter.config)]
                count += 1
                where = f"{message.context} | " if message.context else ""
                print(f"DRAFT {_shown(path)}: {where}{message.id!r}\n  zh_CN  {_strings(original)[0]}\n"
                      f"  {locale}  {texts[0]}", file=out)
            _write(path, catalog)
    print(f"{count} draft(s) written, each fuzzy until a reviewer runs --accept", file=out)
    return 0


def accept(lender: Path | None, out=None) -> int:
    """Clear ``fuzzy`` and the draft note on every drafted entry (after the reviewer has read and fixed them)."""
    out = out or sys.stdout
    count = 0
    for _, targets in pairs(lender):
        for region, path in targets.items():
            catalog = _read(path, REGIONS[region][0])
            for message in catalog:
                if message.id and any(c.startswith("draft: OpenCC") for c in message.user_comments):
                    message.flags.discard("fuzzy")
                    message.user_comments = [c for c in message.user_comments if not c.startswith("draft: OpenCC")]
                    count += 1
            _write(path, catalog)
    print(f"{count} reviewed draft(s) accepted", file=out)
    return 0


def check(lender: Path | None, out=None) -> int:
    """Exit 1 on an empty or fuzzy entry, or a text holding a form the terms table replaces (outside 《》)."""
    out = out or sys.stdout
    terms = load_terms()
    problems = []
    for _, targets in pairs(lender):
        for region, path in targets.items():
            if not path.is_file():
                problems.append(f"{path}: missing (run the tool without --check)")
                continue
            for message in _read(path, REGIONS[region][0]):
                if not message.id:
                    continue
                name = f"{_shown(path)}: {message.id!r}"
                if "fuzzy" in message.flags or not all(_strings(message)):
                    problems.append(f"{name}: {'fuzzy (an unreviewed draft)' if all(_strings(message)) else 'empty'}")
                    continue
                for text in _strings(message):
                    outside = "".join(p for p in _TITLE.split(text) if not _TITLE.fullmatch(p))
                    # single characters (戶, 帳 ...) are glyph fixes, checked only as the table's own words
                    wrong = [d for d, f in terms[region] if len(d) > 1 and d in outside and d not in f]
                    if wrong:
                        problems.append(f"{name}: holds {', '.join(wrong)} (see tools/hant_terms.toml)")
    for line in problems:
        print(line, file=out)
    print(f"{len(problems)} problem(s)", file=out)
    return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lender", type=Path, help="a lender's folder (translations/zh_CN.po beside its catalog)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--accept", action="store_true", help="clear fuzzy on the reviewed drafts")
    mode.add_argument("--check", action="store_true", help="fail on an empty or fuzzy entry or a forbidden term")
    args = parser.parse_args(argv)
    if args.accept:
        return accept(args.lender)
    if args.check:
        return check(args.lender)
    return draft(args.lender)


if __name__ == "__main__":
    raise SystemExit(main())
