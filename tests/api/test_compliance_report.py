"""The compliance report over a seeded trail of 500+ decisions on the demo bundle.

Decisions are computed once per (account, kind) through the service's own code path and appended several times
through the store (an account's decisions over time), so the set is large but the test stays fast. Planted: a
tampered record, a reason flagged counter-intuitive, a contribution contradicting its group's direction and an
additivity failure. Every figure the test checks it computes itself from the database.
"""

from __future__ import annotations

import dataclasses
import json
import random
import re

import numpy as np
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from api.service import BundleRegistry, compute, decision_inputs, make_record, reader_reasons
from explain import demo_bundle
from explain.audit._report import build_report, render_report, report_from_store
from explain.audit._store import AuditStore, Caller
from explain.cli import app as cli_app

KINDS = {"limit_decrease": (20000, 8000), "limit_increase": (20000, 30000), "account_closure": (20000, 0),
         "increase_declined": (20000, 25000)}
ISSUER = Caller(key_id="seedissuer000001", name="seed-issuer", role="issuer")


@pytest.fixture(scope="module")
def trail(tmp_path_factory):  # noqa: ANN201
    """A SQLite store with 15 accounts x 4 kinds computed once, appended to 520 records, and the plants."""
    bundle = demo_bundle()
    store = AuditStore(f"sqlite:///{tmp_path_factory.mktemp('report') / 'explain.db'}")
    rows = bundle.background.iloc[:15]
    drafts = []
    for i, (_, row) in enumerate(rows.iterrows()):
        features = {k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
        for kind, (old, new) in KINDS.items():
            inputs = decision_inputs(account_ref=f"ACC-{i:03d}", bundle=bundle.name, features=features, decision=kind,
                                     old_limit=old, new_limit=new, currency="CNY", effective_date=None,
                                     notice_date=None, policy_reasons=[], locales=["zh_CN", "en"], channels=["letter"])
            drafts.append((bundle, inputs, compute(bundle, inputs)))
    rng = random.Random(7)
    for n in range(520):
        b, inputs, computation = drafts[rng.randrange(len(drafts))]
        store.append(make_record(b, inputs, computation, issuer=ISSUER))
    # planted 1: a reason flagged counter-intuitive (as the catalog check marks them)
    b, inputs, computation = next(d for d in drafts if d[2].reasons.reasons)
    record = make_record(b, inputs, computation, issuer=ISSUER)
    flagged = store.append(dataclasses.replace(record, reasons=[{**record.reasons[0], "counter_intuitive": True},
                                                               *record.reasons[1:]])).record
    # planted 2: loan_term (higher_is_riskier) pushing toward safety for a term far above the median,
    # base value moved so the record still adds up
    inputs2 = {**inputs, "features": {**inputs["features"], "duration_in_month": 72}}
    record = make_record(b, inputs2, computation, issuer=ISSUER)
    old = record.group_contributions["loan_term"]
    contradicting = store.append(dataclasses.replace(
        record, group_contributions={**record.group_contributions, "loan_term": -0.8},
        base_value=record.base_value + old + 0.8)).record
    # planted 3: contributions that do not add up to the margin
    record = make_record(b, inputs, computation, issuer=ISSUER)
    not_additive = store.append(dataclasses.replace(record, margin=record.margin + 0.01)).record
    # planted 4: a stored record changed after the fact (its hash no longer fits)
    with store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE audit_records SET score = score + 0.05 WHERE seq = 37"))
    yield {"store": store, "bundle": bundle, "flagged": flagged, "contradicting": contradicting,
           "not_additive": not_additive}
    store.close()


@pytest.fixture(scope="module")
def figures(trail):  # noqa: ANN201
    return report_from_store(trail["store"], bundles=[trail["bundle"]], sample_size=8, seed=3).to_dict()


def _rows(store: AuditStore) -> list[sa.Row]:
    with store.engine.connect() as conn:
        return list(conn.execute(sa.text("SELECT seq, decision, group_contributions, excluded FROM audit_records")))


def test_counts_equal_the_database(trail, figures) -> None:
    with trail["store"].engine.connect() as conn:
        by_kind = dict(conn.execute(sa.text("SELECT decision, COUNT(*) FROM audit_records GROUP BY decision")).all())
    assert figures["total"] == sum(by_kind.values()) == 523
    assert figures["by_kind"] == by_kind
    assert sum(sum(m.values()) for m in figures["by_month"].values()) == 523
    # principal reasons: every reason of every record counted once under its kind
    assert sum(sum(c.values()) for c in figures["principal_reasons"].values()) == sum(
        len(r.reasons) for r in trail["store"].iter_records())


def test_protected_share_matches_an_independent_computation(trail, figures) -> None:
    protected = {c for c, g in trail["bundle"].catalog.groups.items() if g.protected}
    totals: dict[str, list[float]] = {}
    for row in _rows(trail["store"]):
        contributions = json.loads(row.group_contributions)
        acc = totals.setdefault(row.decision, [0.0, 0.0])
        acc[0] += sum(abs(v) for c, v in contributions.items() if c in protected)
        acc[1] += sum(abs(v) for v in contributions.values())
    for kind, (p, t) in totals.items():
        assert figures["protected"]["by_kind"][kind]["share"] == pytest.approx(p / t, rel=1e-12)
    assert 0 < figures["protected"]["share"] < 1
    tops = {(r["decision_id"], r["group"]) for r in figures["protected"]["would_have_been_top"]}
    expected = set()
    for record in trail["store"].iter_records():
        expected |= {(record.decision_id, e["code"]) for e in record.excluded if e["would_rank"] == 1}
    assert tops == expected


def test_the_tampered_record_is_reported(figures) -> None:
    chain = figures["integrity"]["chain"]
    assert chain["ok"] is False and chain["first_bad_seq"] == 37
    assert [m["seq"] for m in figures["integrity"]["hash_mismatches"]] == [37]


def test_counter_intuitive_reasons_are_reported_both_ways(trail, figures) -> None:
    flagged = figures["counter_intuitive"]["flagged"]
    assert [(f["decision_id"], f["group"]) for f in flagged] == [
        (trail["flagged"].decision_id, trail["flagged"].reasons[0]["code"])]
    found = {(c["decision_id"], c["group"]) for c in figures["counter_intuitive"]["contradictions"]}
    assert (trail["contradicting"].decision_id, "loan_term") in found
    # each reported contradiction really contradicts: check the sign against the background median here
    background = trail["bundle"].background
    catalog = trail["bundle"].catalog
    for c in figures["counter_intuitive"]["contradictions"]:
        group = catalog.groups[c["group"]]
        median = float(np.median(background[group.display]))
        assert c["median"] == pytest.approx(median)
        riskier = group.direction == "higher_is_riskier"
        assert (c["value"] > median) == ((c["contribution"] < 0) if riskier else (c["contribution"] > 0))


def test_additivity_failures_are_exactly_the_planted_one(trail, figures) -> None:
    assert [f["decision_id"] for f in figures["additivity"]["failures"]] == [trail["not_additive"].decision_id]


def test_the_replay_sample_is_seeded_and_recomputes_byte_for_byte(trail, figures) -> None:
    replay = figures["replay"]
    assert replay["sample_size"] == 8
    planted = {trail[k].decision_id for k in ("flagged", "contradicting", "not_additive")}
    differing = {d["decision_id"] for d in replay["differing"]}
    assert differing <= planted | {r.decision_id for r in trail["store"].iter_records() if r.seq == 37}
    assert replay["identical"] == 8 - len(differing) and replay["rate"] == replay["identical"] / 8
    again = report_from_store(trail["store"], bundles=[trail["bundle"]], sample_size=8, seed=3).to_dict()
    assert again["replay"] == replay  # the same seed draws and replays the same sample
    assert figures["issuance"] == [{"key_id": ISSUER.key_id, "key_name": ISSUER.name, "decisions": 523}]


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_the_html_report_is_self_contained_and_names_the_reasons_as_the_api_does(trail, figures, locale) -> None:
    store, bundle = trail["store"], trail["bundle"]
    report = build_report(store.iter_records(), bundles=[bundle], verification=store.verify(), sample_size=0)
    html = render_report(report, locale=locale, catalog=bundle.catalog)
    assert html == render_report(report, locale=locale, catalog=bundle.catalog)  # deterministic
    assert "<script" not in html and not re.search(r"(?:src|href)=\"(?:https?:)?//", html)  # nothing fetched
    assert html.count("<svg") >= 2 + len(report.principal_reasons)
    # the reason labels are the API reader's labels for the same decisions, in the same language
    record = trail["flagged"]
    phrased = reader_reasons(bundle, dataclasses.replace(record, reasons=[
        {k: v for k, v in r.items() if k != "counter_intuitive"} for r in record.reasons]), locale)
    for reason in phrased["reasons"]:
        assert reason["label"] in html
    assert ("第 37 条记录" if locale == "zh_CN" else "record 37") in html


def test_cli_writes_the_report_and_refuses_bad_dates(trail, tmp_path) -> None:
    url = trail["store"].url
    out = tmp_path / "report.html"
    reads_before = len(trail["store"].access_log())
    result = CliRunner().invoke(cli_app, ["audit", "report", "--database-url", url, "--locale", "en", "--sample", "2",
                                          "--since", "2000-01-01", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "Compliance report" in out.read_text(encoding="utf-8") and "523 decisions" in result.output
    # the report lists account references: every record it read is on record, in the operator's name
    reads = trail["store"].access_log()[reads_before:]
    assert len(reads) == 523 and {(r.via, r.role, r.key_id) for r in reads} == {("report", "operator", "cli")}
    as_json = tmp_path / "report.json"
    result = CliRunner().invoke(cli_app, ["audit", "report", "--database-url", url, "--format", "json", "--sample", "0",
                                          "--until", "2000-01-01", "--out", str(as_json)])
    assert result.exit_code == 0 and json.loads(as_json.read_text())["total"] == 0
    result = CliRunner().invoke(cli_app, ["audit", "report", "--database-url", url, "--since", "yesterday",
                                          "--out", str(out)])
    assert result.exit_code == 2 and "'--since'" in result.output
