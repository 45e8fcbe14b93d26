"""Notices with recourse: a "what would change this" line per verified suggestion in both locales (golden files),
in place of the static advice; the pointer to human review when none exists.

Golden files live in ``tests/golden/recourse/<case>/<locale>/``. To accept a deliberate change::

    UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/explain/test_recourse_notices.py
    git diff tests/golden/recourse
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from explain import demo_data, render_notice
from explain.notices._skeletons import NoticeWriter
from explain.recourse import find_recourse

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "recourse"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
LOCALES = ("zh_CN", "en")
# (case name, demo account, decision, target override): two with suggestions (a pair of changes, and one
# money change), one where the target is out of reach, so the notice points to review.
CASES = (
    ("decrease_two_changes", 59, "limit_decrease", None),
    ("declined_money", 18, "increase_declined", None),
    ("closure_no_recourse", 59, "account_closure", 0.001),
)
LIMITS = {"limit_decrease": (20000, 12000), "increase_declined": (20000, 30000), "account_closure": (20000, 0)}


def _arguments(bundle, account: int, decision: str, target: float | None) -> tuple:
    frame = demo_data().iloc[[account]]
    reasons = bundle.explainer().reasons(frame, decision=decision)[0]
    recourse = find_recourse(bundle, frame, decision, target=target)
    old, new = LIMITS[decision]
    return reasons, dict(catalog=bundle.catalog, profile=bundle.profile, old_limit=old, new_limit=new,
                         account_ref="6217 **** 0042", notice_date=dt.date(2026, 12, 1), recourse=recourse)


@pytest.fixture(scope="module")
def rendered(bundle):
    out = {}
    for name, account, decision, target in CASES:
        reasons, arguments = _arguments(bundle, account, decision, target)
        for locale in LOCALES:
            out[name, locale] = (render_notice(decision, reasons, locale=locale, **arguments), arguments, reasons)
    return out


def _expected(path: Path, actual: str) -> str:
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(actual.encode("utf-8"))
    if not path.is_file():
        pytest.fail(f"missing golden file {path}; run with UPDATE_GOLDEN=1 and review it")
    return path.read_bytes().decode("utf-8")


@pytest.mark.parametrize("part", ["letter.txt", "letter.html"])
@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("case", [c[0] for c in CASES])
def test_recourse_notice_matches_golden(rendered, case, locale, part):
    notice = rendered[case, locale][0]
    actual = notice.text if part == "letter.txt" else notice.html
    assert actual == _expected(GOLDEN / case / locale / part, actual)


@pytest.mark.parametrize("locale", LOCALES)
def test_each_verified_suggestion_has_its_line_and_replaces_advice(rendered, locale):
    notice, arguments, _ = rendered["decrease_two_changes", locale]
    recourse = arguments["recourse"]
    assert recourse.status == "found" and len(recourse.suggestions) == 2
    heading = "怎样可以改变这一决定" if locale == "zh_CN" else "What would change this decision"
    opener = "- 如果" if locale == "zh_CN" else "- If "
    lines = notice.text.split(heading, 1)[1].splitlines()
    assert sum(line.startswith(opener) for line in lines) == len(recourse.suggestions)
    assert ("What you can do" not in notice.text) and ("您可以采取的措施" not in notice.text)
    if locale == "zh_CN":
        assert not any(c.isascii() and c.isalpha() for c in notice.text.split(heading, 1)[1].split("\n\n")[0])


@pytest.mark.parametrize("locale", LOCALES)
def test_no_recourse_points_to_review_and_shows_no_suggestion(rendered, locale):
    notice, arguments, _ = rendered["closure_no_recourse", locale]
    assert arguments["recourse"].status == "infeasible"
    review = "人工复核" if locale == "zh_CN" else "ask for a person to review it"
    assert review in notice.text
    assert "如果" not in notice.text.split("怎样可以改变这一决定")[-1].split("\n\n")[0]
    assert "- If " not in notice.text


def test_notice_writer_gives_the_same_bytes_with_recourse(bundle, rendered):
    writer = NoticeWriter()
    for (case, locale), (notice, arguments, reasons) in rendered.items():
        decision = next(c[2] for c in CASES if c[0] == case)
        assert writer.render(decision, reasons, locale=locale, **arguments) == notice
