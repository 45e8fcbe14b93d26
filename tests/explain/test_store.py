"""The audit store against SQLite and PostgreSQL: migrations, appends, keys, idempotency, tampering."""

from __future__ import annotations

import importlib.util
import threading
from dataclasses import replace
from pathlib import Path

import pytest
import sqlalchemy as sa

from explain.audit._audit import AuditRecord, canonical_json, notice_sha256
from explain.audit._store import AuditStore, IdempotencyClaim, IdempotencyConflictError

_spec = importlib.util.spec_from_file_location("explain_tests_dbsupport", Path(__file__).parents[1] / "dbsupport.py")
dbsupport = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(dbsupport)


@pytest.fixture(scope="module")
def postgres_database():
    dbsupport.require_postgres()
    with dbsupport.postgres_database() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return dbsupport.sqlite_url(tmp_path / "audit.db")
    return dbsupport.postgres_schema(request.getfixturevalue("postgres_database"))


@pytest.fixture
def store(store_url):
    s = AuditStore(store_url)
    yield s
    s.close()


def _draft(i: int, account: str = "acc-1") -> AuditRecord:
    notice = {"subject": "Limit", "text": f"notice {i}", "locale": "zh_CN"}
    return AuditRecord(
        decision_id=f"00000000-0000-0000-0000-{i:012d}",
        created_at="",
        account_ref=account,
        decision="limit_decrease",
        inputs={"features": {"age": 30 + i}, "old_limit": 5000, "new_limit": 3000},
        bundle_name="demo",
        bundle_version="1",
        bundle_sha256="b" * 64,
        catalog_sha256="c" * 64,
        template_sha256="t" * 64,
        background_sha256="g" * 64,
        method="tree",
        score=0.1 * i,
        margin=-2.0 + i / 3,
        base_value=-1.5,
        group_contributions={"savings": 0.1 + i / 7, "age": -0.05},
        reasons=[{"code": "savings", "contribution": 0.1 + i / 7}],
        excluded=[],
        notice_hashes={"zh_CN/letter": notice_sha256(notice)},
        notices={"zh_CN/letter": notice},
    )


def test_schema_is_migrated_on_start(store) -> None:
    assert store.schema_revision() == "0006_reviews"
    assert store.ping()
    AuditStore(store.url).close()  # a second start (another worker) is a no-op


def test_append_get_list_round_trip(store) -> None:
    first = store.append(_draft(1)).record
    second = store.append(_draft(2)).record
    store.append(_draft(3, account="acc-2"))
    assert (first.seq, second.seq) == (1, 2)
    assert second.prev_hash == first.record_hash
    got = store.get(second.decision_id)
    assert got == second and got.notices == second.notices
    assert got.compute_hash() == second.record_hash  # floats and JSON survive the database unchanged
    assert [r.seq for r in store.list_by_account("acc-1")] == [2, 1]
    assert store.get("no-such-id") is None
    assert store.count() == 3


def test_iter_records_filters_by_time_and_streams_in_batches(store) -> None:
    records = [store.append(_draft(i)).record for i in range(1, 8)]
    assert [r.seq for r in store.iter_records(batch_size=3)] == list(range(1, 8))
    since, until = records[2].created_at, records[5].created_at
    assert [r.seq for r in store.iter_records(since=since, until=until, batch_size=2)] == [3, 4, 5]


def test_verify_passes_then_names_a_record_changed_in_the_database(store) -> None:
    for i in range(1, 6):
        store.append(_draft(i))
    assert store.verify().ok and store.verify().checked == 5
    with store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE audit_records SET score = 0.999 WHERE seq = 3"))
    result = store.verify()
    assert not result.ok
    assert result.first_bad_seq == 3 and result.first_bad_decision_id == _draft(3).decision_id
    assert "record_hash" in result.problem


def test_verify_notices_a_deleted_record(store) -> None:
    for i in range(1, 4):
        store.append(_draft(i))
    with store.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM audit_records WHERE seq = 2"))
    result = store.verify()
    assert not result.ok and result.first_bad_seq == 3


def test_verify_notices_a_deleted_head(store) -> None:
    for i in range(1, 4):
        store.append(_draft(i))
    with store.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM audit_records WHERE seq = 3"))
    result = store.verify()
    assert not result.ok and "chain head" in result.problem


def test_api_keys_are_stored_hashed_and_checked(store) -> None:
    key, caller = store.create_api_key("auditor", name="alice")
    assert store.authenticate(key) == caller and caller.role == "auditor" and caller.name == "alice"
    with store.engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT key_sha256 FROM api_keys")).scalar_one()
    assert key not in stored and len(stored) == 64
    assert store.authenticate(key[:-1] + ("A" if key[-1] != "A" else "B")) is None
    assert store.authenticate("nonsense") is None
    assert store.authenticate("exk_0000_x") is None
    assert store.revoke_api_key(caller.key_id)
    assert store.authenticate(key) is None


def test_api_key_role_is_validated(store) -> None:
    with pytest.raises(ValueError, match="'role' must be one of 'issuer', 'agent', 'auditor', 'reviewer'. Got 'admin'"):
        store.create_api_key("admin")


def test_idempotency_claim_returns_the_first_response(store) -> None:
    claim = IdempotencyClaim(caller="k1", key="abc", request_sha256="r" * 64)
    first = store.append(_draft(1), idempotency=claim, respond=lambda rec: (201, f'{{"id":"{rec.decision_id}"}}'))
    again = store.append(_draft(2), idempotency=claim, respond=lambda rec: (201, "other"))
    assert not first.replayed and again.replayed and again.record is None
    assert again.response.body == first.response.body and again.response.status_code == 201
    assert store.count() == 1
    assert store.idempotent_response("k1", "abc").decision_id == first.record.decision_id
    with pytest.raises(IdempotencyConflictError, match="already used with a different request"):
        store.append(_draft(3), idempotency=replace(claim, request_sha256="s" * 64))
    # The same key from another caller is another claim.
    assert not store.append(_draft(4), idempotency=replace(claim, caller="k2")).replayed


def test_concurrent_appends_keep_the_chain(store) -> None:
    errors: list[BaseException] = []

    def work(start: int) -> None:
        try:
            for i in range(start, start + 15):
                store.append(_draft(i))
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(100 * t + 1,)) for t in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert store.count() == 90
    assert store.verify().ok


def test_one_statement_append_hashes_as_python_does(store) -> None:
    """PostgreSQL appends a decision in one statement that hashes on the server; the record hash and the log
    leaf must be Python's, also for text outside ASCII and for a value that spells one of the cut markers
    (which takes the locking path instead)."""
    from explain.audit._leaves import decision_leaf_hash
    from explain.audit._one_statement import pieces

    plain = replace(_draft(1), account_ref="账户-1", inputs={"features": {"职业": "工程师", "age": 31}})
    marked = replace(_draft(2), inputs={"features": {"note": "@created-at@", "seq": 9_876_543_210_123_456_789}})
    assert pieces(plain) is not None and pieces(marked) is None
    cut = pieces(plain)
    stamped = replace(plain, seq=42, created_at="2026-12-05T10:00:00.000001+00:00")
    assert cut.payload(stamped.created_at, 42).decode() == canonical_json(stamped.payload())
    for draft in (plain, marked, _draft(3)):
        appended = store.append(draft).record
        stored = store.get(draft.decision_id)
        assert stored == appended and stored.record_hash == stored.compute_hash()
        assert store.logged_leaf_hash(draft.decision_id) == decision_leaf_hash(stored)
    assert [r.seq for r in store.iter_records()] == [1, 2, 3]
    assert store.verify().ok and store.verify().checked == 3
