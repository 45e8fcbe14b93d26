"""build_report on a hand-made chain: months, kinds, records no catalog can judge, the sample's bounds."""

from __future__ import annotations

import pytest

from explain.audit._audit import GENESIS_HASH, AuditRecord, verify_chain
from explain.audit._report import build_report


def _chain(stamps_and_kinds: list[tuple[str, str]]) -> list[AuditRecord]:
    records, prev = [], GENESIS_HASH
    for seq, (stamp, kind) in enumerate(stamps_and_kinds, start=1):
        record = AuditRecord(f"d-{seq}", "", f"acc-{seq % 2}", kind, {"features": {}}, "b", "1", "h", "unknown-catalog",
                             "t", "g", "tree", 0.5, 0.25, 0.0, {"g": 0.25}, [{"code": "g", "source": "model"}], [],
                             {}).chained(seq=seq, prev_hash=prev, created_at=stamp)
        records.append(record)
        prev = record.record_hash
    return records


def test_months_and_kinds_are_counted_and_unknown_catalogs_are_not_judged() -> None:
    records = _chain([("2026-09-30T23:59:59.000000+00:00", "limit_decrease"),
                      ("2026-10-01T00:00:00.000000+00:00", "limit_decrease"),
                      ("2026-10-15T00:00:00.000000+00:00", "limit_increase"),
                      ("2026-11-01T00:00:00.000000+00:00", "account_closure")])
    report = build_report(records, bundles=[], verification=verify_chain(records), sample_size=2, seed=1)
    assert report.by_month == {"2026-09": {"limit_decrease": 1}, "2026-10": {"limit_decrease": 1, "limit_increase": 1},
                               "2026-11": {"account_closure": 1}}
    assert report.by_kind == {"account_closure": 1, "limit_decrease": 2, "limit_increase": 1}
    assert report.principal_reasons["limit_decrease"] == {"g": 2}
    assert report.protected["not_judged"] == 4 and report.protected["by_kind"] == {}
    assert report.additivity["failure_count"] == 0 and report.integrity["chain"]["ok"]
    assert report.replay["sample_size"] == 0  # no replay function: nothing replayed, not a fake rate
    with pytest.raises(ValueError, match="'sample_size' of build_report must be 0 or more"):
        build_report(records, bundles=[], verification=verify_chain(records), sample_size=-1)


def test_the_replay_sample_is_a_seeded_draw_of_distinct_records() -> None:
    records = _chain([(f"2026-11-01T00:00:{s:02d}.000000+00:00", "limit_decrease") for s in range(30)])
    seen: list[str] = []

    def replay(record: AuditRecord) -> dict:
        seen.append(record.decision_id)
        return {"decision_id": record.decision_id, "identical": True}

    first = build_report(records, bundles=[], verification=verify_chain(records), replay=replay, sample_size=5, seed=9)
    drawn, seen[:] = list(seen), []
    second = build_report(records, bundles=[], verification=verify_chain(records), replay=replay, sample_size=5, seed=9)
    assert seen == drawn and len(set(drawn)) == 5 and first.replay == second.replay and first.replay["rate"] == 1.0
    build_report(records, bundles=[], verification=verify_chain(records), replay=replay, sample_size=5, seed=10)
    assert seen[5:] != drawn  # another seed, another sample


def test_a_suspension_of_increases_is_counted_and_named_in_both_languages() -> None:
    import datetime as dt

    from explain.audit._report import render_report

    records = _chain([("2026-11-01T00:00:00.000000+00:00", "increases_suspended"),
                      ("2026-11-02T00:00:00.000000+00:00", "increases_suspended"),
                      ("2026-11-03T00:00:00.000000+00:00", "limit_decrease")])
    report = build_report(records, bundles=[], verification=verify_chain(records), sample_size=0)
    assert report.by_kind == {"increases_suspended": 2, "limit_decrease": 1}
    assert report.by_month == {"2026-11": {"increases_suspended": 2, "limit_decrease": 1}}
    for locale, name in (("en", "Increases suspended"), ("zh_CN", "暂停提额")):
        html = render_report(report, locale=locale, generated_at=dt.datetime(2026, 12, 1, tzinfo=dt.UTC))
        assert name in html and "increases_suspended" not in html.replace('c-reasons-increases_suspended', ""), locale
