"""The audit log under attack: an attacker with write access to the database, as SECURITY.md's threat says.

Each attack the hash chain let through (issue 23) is reproduced with the project's own code, then checked
with ``explain audit verify`` against a checkpoint exported *before* the attack (kept outside the database,
signed with a key the database never held). Every one must fail verification and name the first bad entry.
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path

import pytest
import sqlalchemy as sa
from apihelpers import test_log_key_file
from typer.testing import CliRunner

from api.service import compute, make_record
from explain.audit._checkpoint import load_signer
from explain.audit._leaves import decision_leaf_hash
from explain.audit._merkle import CompactRange
from explain.audit._store import Caller, _record_to_row
from explain.cli import app as cli

runner = CliRunner()


def settle(svc, timeout: float = 30.0) -> None:
    """Wait for the service's sequencer to integrate everything written so far."""
    log = svc.app.state.audit_log
    deadline = time.monotonic() + timeout
    while log.pending():
        assert time.monotonic() < deadline, "the sequencer did not integrate in time"
        time.sleep(0.02)


def issue(svc, decision_body, n: int) -> list[dict]:
    out = []
    for _ in range(n):
        r = svc.client.post("/v1/decisions", json=decision_body(), headers=svc.auth("issuer"))
        assert r.status_code == 201, r.text
        out.append(r.json())
    settle(svc)
    return out


@pytest.fixture
def trail(fresh_service, decision_body, tmp_path: Path) -> dict:
    """12 decisions issued in three batches, with agent reads between them; the checkpoint exported with the
    CLI to a file outside the database."""
    svc = fresh_service
    issued = issue(svc, decision_body, 4)
    for d in issued[:2]:
        assert svc.client.get(f"/v1/decisions/{d['decision_id']}", headers=svc.auth("agent")).status_code == 200
    settle(svc)
    issued += issue(svc, decision_body, 4)
    assert svc.client.get(f"/v1/decisions/{issued[5]['decision_id']}", headers=svc.auth("agent")).status_code == 200
    issued += issue(svc, decision_body, 4)
    url = svc.store.url
    checkpoint = tmp_path / "checkpoint.txt"
    result = runner.invoke(cli, ["audit", "checkpoint", "--out", str(checkpoint), "--database-url", url,
                                 "--key-file", test_log_key_file()])
    assert result.exit_code == 0, result.output
    assert checkpoint.read_text(encoding="utf-8").splitlines()[1] == "15"  # 12 decisions and 3 reads
    return {"svc": svc, "issued": issued, "url": url, "checkpoint": checkpoint}


def verify(trail: dict) -> tuple[int, dict]:
    vkey = load_signer(test_log_key_file()).verifier.vkey()
    result = runner.invoke(cli, ["audit", "verify", "--checkpoint", str(trail["checkpoint"]),
                                 "--database-url", trail["url"], "--public-key", vkey])
    return result.exit_code, json.loads(result.stdout)


def leaf_index_of(trail: dict, kind: str, ref: str) -> int:
    with trail["svc"].store.engine.connect() as conn:
        return conn.execute(sa.text("SELECT leaf_index FROM log_entries WHERE kind = :k AND ref = :r"),
                            {"k": kind, "r": ref}).scalar_one()


def sql(trail: dict, statement: str, **params) -> None:
    with trail["svc"].store.engine.begin() as conn:
        conn.execute(sa.text(statement), params)


def rewrite_recomputing_hashes(trail: dict, decision_id: str, *, new_limit: float, also_the_log: bool) -> None:
    """Issue 23's attack: change a decision's new limit, re-render its notices with the project's own code,
    recompute the chain hashes of it and every record after it; with ``also_the_log``, the log entry's leaf
    hash and every stored tree node too (the attacker knows the leaf format; only the key is out of reach)."""
    store = trail["svc"].store
    bundle = next(iter(trail["svc"].app.state.bundles))
    old = store.get(decision_id)
    inputs = {**old.inputs, "new_limit": new_limit}
    forged = make_record(bundle, inputs, compute(bundle, inputs),
                         issuer=Caller(old.issuer_key_id, old.issuer_key_name, "issuer"))
    forged = replace(forged, decision_id=old.decision_id)
    records = [r for r in store.iter_records() if r.seq >= old.seq]
    prev = old.prev_hash
    with store.engine.begin() as conn:
        for r in records:
            source = forged if r.decision_id == decision_id else r
            again = source.chained(seq=r.seq, prev_hash=prev, created_at=r.created_at)
            if r.decision_id == decision_id:
                rewritten = again
            conn.execute(sa.text("DELETE FROM audit_records WHERE seq = :s"), {"s": r.seq})
            conn.execute(sa.insert(sa.table("audit_records", *[sa.column(c) for c in _record_to_row(again)])),
                         _record_to_row(again))
            prev = again.record_hash
        conn.execute(sa.text("UPDATE chain_head SET record_hash = :h"), {"h": prev})
        if also_the_log:
            conn.execute(sa.text("UPDATE log_entries SET leaf_hash = :h WHERE ref = :d"),
                         {"h": decision_leaf_hash(rewritten), "d": decision_id})
            leaves = conn.execute(sa.text("SELECT leaf_hash FROM log_entries WHERE leaf_index IS NOT NULL "
                                          "ORDER BY leaf_index")).scalars().all()
            compact = CompactRange()
            nodes = [{"level": lvl, "idx": i, "hash": h.hex()} for leaf in leaves
                     for lvl, i, h in compact.append(bytes.fromhex(leaf)) if lvl > 0]
            conn.execute(sa.text("DELETE FROM log_nodes"))
            conn.execute(sa.text("INSERT INTO log_nodes (level, idx, hash) VALUES (:level, :idx, :hash)"), nodes)
            conn.execute(sa.text("UPDATE log_checkpoints SET root_hash = :r WHERE tree_size = :n"),
                         {"r": compact.root().hex(), "n": compact.size})


def test_an_untouched_log_verifies_against_the_exported_checkpoint(trail) -> None:
    code, out = verify(trail)
    assert code == 0, out
    assert out["log"]["ok"] and out["log"]["checked"] == 15 and out["log"]["checkpoint_size"] == 15
    assert out["chain"]["ok"]


def test_a_rewrite_with_recomputed_chain_hashes_is_named(trail) -> None:
    target = trail["issued"][7]["decision_id"]
    rewrite_recomputing_hashes(trail, target, new_limit=1000, also_the_log=False)
    assert trail["svc"].client.get("/v1/audit/verify", headers=trail["svc"].auth("auditor")).json()["ok"]  # the old check passes
    code, out = verify(trail)
    assert code == 1
    assert out["log"]["first_bad_ref"] == target and out["log"]["first_bad_kind"] == "decision"
    assert out["log"]["first_bad_index"] == leaf_index_of(trail, "decision", target)


def test_a_rewrite_that_also_recomputes_the_log_is_caught_by_the_signed_roots(trail) -> None:
    target = trail["issued"][7]["decision_id"]
    rewrite_recomputing_hashes(trail, target, new_limit=1000, also_the_log=True)
    code, out = verify(trail)
    assert code == 1
    low, high = out["log"]["bad_range"]
    # the rewritten entry lies in the first batch whose signed root the log no longer reproduces
    assert low <= leaf_index_of(trail, "decision", target) <= high and high < 15
    assert "rewritten" in out["log"]["problem"]


def test_truncation_with_the_head_moved_is_named(trail) -> None:
    svc = trail["svc"]
    last = trail["issued"][-3:]
    first_removed = leaf_index_of(trail, "decision", last[0]["decision_id"])
    ids = [d["decision_id"] for d in last]
    with svc.store.engine.begin() as conn:
        for d in ids:
            conn.execute(sa.text("DELETE FROM audit_records WHERE decision_id = :d"), {"d": d})
        conn.execute(sa.text("DELETE FROM log_entries WHERE leaf_index >= :i"), {"i": first_removed})
        conn.execute(sa.text("DELETE FROM log_checkpoints WHERE tree_size > :i"), {"i": first_removed})
        conn.execute(sa.text("UPDATE chain_head SET seq = :s, record_hash = :h"),
                     {"s": trail["issued"][-4]["seq"], "h": trail["issued"][-4]["record_hash"]})
    assert svc.store.verify().ok  # the old chain's own check passes
    code, out = verify(trail)
    assert code == 1
    assert out["log"]["first_bad_index"] == first_removed and out["log"]["tree_size"] == first_removed
    assert "removed" in out["log"]["problem"]


def test_an_emptied_table_is_named(trail) -> None:
    with trail["svc"].store.engine.begin() as conn:
        for table in ("audit_records", "access_log", "log_entries", "log_nodes", "log_checkpoints"):
            conn.execute(sa.text(f"DELETE FROM {table}"))
        conn.execute(sa.text("UPDATE chain_head SET seq = 0, record_hash = :h"), {"h": "0" * 64})
    assert trail["svc"].store.verify().ok  # "ok: true, checked 0" with the chain alone
    code, out = verify(trail)
    assert code == 1 and out["log"]["first_bad_index"] == 0 and out["log"]["tree_size"] == 0


@pytest.mark.parametrize("how", ["all notices", "one locale"])
def test_a_removed_notice_is_named(trail, how: str) -> None:
    target = trail["issued"][2]
    store = trail["svc"].store
    notices = store.get(target["decision_id"]).notices
    kept = {} if how == "all notices" else {k: v for k, v in notices.items() if not k.startswith("en")}
    assert len(kept) < len(notices)
    sql(trail, "UPDATE audit_records SET notices = :n WHERE decision_id = :d", n=json.dumps(kept),
        d=target["decision_id"])
    code, out = verify(trail)
    assert code == 1
    assert out["log"]["first_bad_ref"] == target["decision_id"] and "was removed" in out["log"]["problem"]


def test_deleted_reads_are_named(trail) -> None:
    with trail["svc"].store.engine.connect() as conn:
        first_read = conn.execute(sa.text("SELECT min(id) FROM access_log")).scalar_one()
    sql(trail, "DELETE FROM access_log WHERE id = :i", i=first_read)
    code, out = verify(trail)
    assert code == 1
    assert out["log"]["first_bad_kind"] == "read" and out["log"]["first_bad_ref"] == str(first_read)
    assert out["log"]["first_bad_index"] == leaf_index_of(trail, "read", str(first_read))


def test_deleted_reads_and_their_log_entries_are_named(trail) -> None:
    read_index = leaf_index_of(trail, "read", "1")
    sql(trail, "DELETE FROM access_log")
    sql(trail, "DELETE FROM log_entries WHERE kind = 'read'")
    code, out = verify(trail)
    assert code == 1 and out["log"]["first_bad_index"] == read_index and "missing" in out["log"]["problem"]


def test_replay_notices_a_changed_column_and_verify_names_the_record(trail) -> None:
    svc = trail["svc"]
    target = trail["issued"][4]["decision_id"]
    sql(trail, "UPDATE audit_records SET account_ref = 'someone-else' WHERE decision_id = :d", d=target)
    r = svc.client.post(f"/v1/decisions/{target}/replay", headers=svc.auth("auditor"))
    assert r.status_code == 200
    replay = r.json()
    assert replay["identical"] is False and replay["notices_identical"] is True  # the notices recompute alike...
    assert replay["checks"]["columns"] is False and replay["checks"]["on_log"] is False  # ...but the record moved
    code, out = verify(trail)
    assert code == 1 and out["log"]["first_bad_ref"] == target


def test_a_record_inserted_behind_the_log_is_reported(trail) -> None:
    store = trail["svc"].store
    source = store.get(trail["issued"][0]["decision_id"])
    row = _record_to_row(replace(source, decision_id="00000000-0000-4000-8000-000000000000", seq=999,
                                 record_hash="f" * 64))
    with store.engine.begin() as conn:
        conn.execute(sa.insert(sa.table("audit_records", *[sa.column(c) for c in row])), row)
    code, out = verify(trail)
    assert code == 1 and "00000000-0000-4000-8000-000000000000 is not on the log" in out["log"]["problem"]


def test_every_read_goes_on_the_log(trail) -> None:
    svc = trail["svc"]
    log = svc.app.state.audit_log

    def reads() -> int:
        with svc.store.engine.connect() as conn:
            return conn.execute(sa.text("SELECT count(*) FROM log_entries WHERE kind = 'read'")).scalar_one()

    before = reads()
    assert svc.client.get("/v1/audit/export", headers=svc.auth("auditor")).status_code == 200
    assert reads() == before + 12
    assert svc.client.get("/v1/audit/export", params={"format": "csv"}, headers=svc.auth("auditor")).status_code == 200
    assert reads() == before + 24
    r = svc.client.get("/v1/audit/report", params={"format": "json", "sample": 0}, headers=svc.auth("auditor"))
    assert r.status_code == 200 and reads() == before + 36
    target = trail["issued"][0]["decision_id"]
    assert svc.client.post(f"/v1/decisions/{target}/replay", headers=svc.auth("auditor")).status_code == 200
    assert reads() == before + 37
    vias = [e.via for e in svc.store.access_log()]
    assert {"export", "report", "replay"} <= set(vias)
    settle(svc)
    assert log.pending() == 0
    code, out = verify(trail)
    assert code == 0 and out["log"]["tree_size"] == 15 + 37


def test_a_notice_has_a_receipt_anyone_can_check(service, decision_body, tmp_path: Path) -> None:
    svc = service
    issued = svc.client.post("/v1/decisions", json=decision_body(), headers=svc.auth("issuer")).json()
    decision_id = issued["decision_id"]
    deadline = time.monotonic() + 30
    while (r := svc.client.get(f"/v1/decisions/{decision_id}/proof", headers=svc.auth("issuer"))).status_code == 409:
        assert r.headers["retry-after"] == "1" and time.monotonic() < deadline
        time.sleep(0.05)
    assert r.status_code == 200, r.text
    receipt = r.json()
    assert receipt["leaf"]["decision_id"] == decision_id and receipt["leaf_index"] < receipt["tree_size"]
    public_key = svc.client.get("/v1/log/public-key").text.strip()
    assert receipt["log_public_key"] == public_key
    # the customer's file: the receipt and the notices received; checked offline with the public key only
    letter = {key: n for key, n in svc.store.get(decision_id).notices.items()}
    document = tmp_path / "notice.json"
    document.write_text(json.dumps({"receipt": receipt, "notices": letter}, ensure_ascii=False), encoding="utf-8")
    ok = runner.invoke(cli, ["audit", "verify-receipt", str(document), "--public-key", public_key])
    assert ok.exit_code == 0, ok.output
    assert f"decision {decision_id} is entry {receipt['leaf_index']}" in ok.stdout
    edited = {k: {**n, "subject": "edited"} for k, n in letter.items()}
    document.write_text(json.dumps({"receipt": receipt, "notices": edited}), encoding="utf-8")
    bad = runner.invoke(cli, ["audit", "verify-receipt", str(document), "--public-key", public_key])
    assert bad.exit_code == 1 and "is not the one on the log" in bad.output
    # the public endpoints: no key, nothing revealed but hashes
    leaf_hash = svc.app.state.audit_log.store.logged_leaf_hash(decision_id)
    proof = svc.client.get(f"/v1/log/proof/{leaf_hash}")
    assert proof.status_code == 200 and set(proof.json()) == {"leaf_index", "tree_size", "inclusion_proof", "checkpoint"}
    assert svc.client.get(f"/v1/log/proof/{'0' * 64}").status_code == 404
    verdict = svc.client.post("/v1/log/verify-receipt", json={"receipt": receipt, "notices": letter}).json()
    assert verdict["ok"] is True and verdict["latest_size"] >= receipt["tree_size"]
    verdict = svc.client.post("/v1/log/verify-receipt", json={"receipt": receipt, "notices": edited}).json()
    assert verdict["ok"] is False and "not the one on the log" in verdict["problem"]
    checkpoint = svc.client.get("/v1/log/checkpoint").text
    size = int(checkpoint.splitlines()[1])
    consistency = svc.client.get("/v1/log/consistency", params={"old": receipt["tree_size"], "new": size})
    assert consistency.status_code == 200 and consistency.json()["new_size"] == size
    assert svc.client.get(f"/v1/decisions/{decision_id}/proof").status_code == 401
