"""Golden notices: every decision kind x locale x channel of the demo bundle, checked in and read by a person.

Any change to what a customer reads shows up as a diff of ``tests/golden/notices/<kind>/<locale>/``:
``subject.txt``, ``letter.txt``, ``letter.html`` (the letter channel) and ``short.txt`` (the short channel).
The inputs are :data:`explain.commands._cli_notice.DEMO_CASES`, the same ones ``explain demo`` prints.

To accept a deliberate change, regenerate and review the diff before committing::

    UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/explain/test_notice_golden.py
    git diff tests/golden/notices
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from notice_support import KINDS, LOCALES, demo_notices

__all__ = ["demo_notices"]  # the fixture, imported for pytest

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "notices"
PARTS = {"subject.txt": "subject", "letter.txt": "text", "letter.html": "html", "short.txt": "short"}
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"


def _expected(path: Path, actual: str) -> str:
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(actual.encode("utf-8"))
    if not path.is_file():
        pytest.fail(f"missing golden file {path}; run with UPDATE_GOLDEN=1 and review it")
    return path.read_bytes().decode("utf-8")


@pytest.mark.parametrize("part", list(PARTS))
@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("kind", KINDS)
def test_notice_matches_golden(demo_notices, kind, locale, part):
    notice = demo_notices[kind, locale]
    actual = getattr(notice, PARTS[part])
    if part in ("subject.txt", "short.txt"):
        actual += "\n"  # one line, stored as a text file
    assert actual == _expected(GOLDEN / kind / locale / part, actual)


def test_no_stray_golden_files():
    expected = {GOLDEN / k / loc / p for k in KINDS for loc in LOCALES for p in PARTS}
    found = {p for p in GOLDEN.rglob("*") if p.is_file()}
    assert found - expected == set()
