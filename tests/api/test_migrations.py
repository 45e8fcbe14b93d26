"""Upgrading a store written at revision 0001: its records keep verifying, new records carry the issuer."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from explain.audit._audit import AuditRecord
from explain.audit._store import AuditStore

from pathlib import Path

import explain.audit._store


def _upgrade(store: AuditStore, revision: str) -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(explain.audit._store.__file__).resolve().parents[1] / "migrations"))
    with store._writing() as conn, conn.begin():
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def _draft(n: int, **extra) -> AuditRecord:
    return AuditRecord(f"d-{n}", "", "acc", "limit_decrease", {"n": n}, "b", "1", "h", "c", "t", "g", "tree",
                       0.5, 0.0, -1.0, {"g": 1.0}, [], [], {}, **extra)


def _insert_as_0002(store: AuditStore, record: AuditRecord) -> None:
    """A record as revisions 0002 and 0003 wrote it: the chain only, no Merkle log yet."""
    row = explain.audit._store._record_to_row(record)
    with store._writing() as conn, conn.begin():
        conn.execute(sa.text("INSERT INTO audit_records (%s) VALUES (%s)" % (
            ", ".join(row), ", ".join(f":{k}" for k in row))), row)
        conn.execute(sa.text("UPDATE chain_head SET seq = :s, record_hash = :h"), {"s": record.seq, "h": record.record_hash})


def test_records_from_0001_still_verify_after_0002(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    store = AuditStore(url, migrate=False)
    _upgrade(store, "0001")
    # a record as revision 0001 wrote it: no issuer columns at all
    old = _draft(1).chained(seq=1, prev_hash="0" * 64, created_at="2026-11-01T00:00:00.000000+00:00")
    row = {k: v for k, v in explain.audit._store._record_to_row(old).items() if not k.startswith("issuer_")}
    with store._writing() as conn, conn.begin():
        conn.execute(sa.text("INSERT INTO audit_records (%s) VALUES (%s)" % (
            ", ".join(row), ", ".join(f":{k}" for k in row))), row)
        conn.execute(sa.text("UPDATE chain_head SET seq = 1, record_hash = :h"), {"h": old.record_hash})
    store.migrate()
    assert store.schema_revision() == "0006_reviews"
    appended = store.append(_draft(2, issuer_key_id="abc", issuer_key_name="lender-x"))
    assert store.verify().ok and store.verify().checked == 2
    assert store.get("d-1").issuer_key_id is None
    assert store.get("d-2").issuer_key_name == "lender-x" and appended.record.issuer_key_id == "abc"
    # the issuer is covered by the hash: changing who issued a record breaks the chain there
    with store._writing() as conn, conn.begin():
        conn.execute(sa.text("UPDATE audit_records SET issuer_key_name = 'someone-else' WHERE seq = 2"))
    assert store.verify().first_bad_seq == 2
    store.close()


def test_0003_adds_the_access_log_and_sessions_and_downgrades_cleanly(tmp_path) -> None:
    from alembic import command as alembic_command

    url = f"sqlite:///{tmp_path / 'access.db'}"
    store = AuditStore(url, migrate=False)
    _upgrade(store, "0002_issuer_key")
    assert not {"access_log", "agent_sessions"} & set(sa.inspect(store.engine).get_table_names())
    _insert_as_0002(store, _draft(1).chained(seq=1, prev_hash="0" * 64, created_at="2026-11-01T00:00:00.000000+00:00"))
    store.migrate()
    assert store.schema_revision() == "0006_reviews"
    _, caller = store.create_api_key("agent", name="reader")
    store.log_reads(caller, [store.get("d-1")], via="api")
    assert [(e.key_name, e.account_ref, e.decision_id) for e in store.access_log()] == [("reader", "acc", "d-1")]
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(explain.audit._store.__file__).resolve().parents[1] / "migrations"))
    with store._writing() as conn, conn.begin():
        cfg.attributes["connection"] = conn
        alembic_command.downgrade(cfg, "0002_issuer_key")
    assert not {"access_log", "agent_sessions"} & set(sa.inspect(store.engine).get_table_names())
    assert store.verify().ok


def test_0004_puts_the_existing_chain_and_reads_on_the_merkle_log_first(tmp_path) -> None:
    from explain.audit._checkpoint import generate_key
    from explain.audit._leaves import decision_leaf_hash, read_leaf_hash
    from explain.audit._log import AuditLog

    store = AuditStore(f"sqlite:///{tmp_path / 'legacy.db'}", migrate=False)
    _upgrade(store, "0003_access_log")
    prev, legacy = "0" * 64, []
    for n in range(1, 6):
        record = _draft(n).chained(seq=n, prev_hash=prev, created_at=f"2026-11-0{n}T00:00:00.000000+00:00")
        _insert_as_0002(store, record)
        legacy.append(record)
        prev = record.record_hash
    read = {"at": "2026-11-06T00:00:00.000000+00:00", "key_id": "k1", "key_name": "agent-1", "role": "agent",
            "account_ref": "acc", "decision_id": "d-2", "via": "api"}
    with store._writing() as conn, conn.begin():
        conn.execute(sa.text("INSERT INTO access_log (at, key_id, key_name, role, account_ref, decision_id, via) "
                             "VALUES (:at, :key_id, :key_name, :role, :account_ref, :decision_id, :via)"), read)
    store.migrate()
    log = AuditLog(store, signer=generate_key("test.example/legacy"))
    store.append(_draft(6))  # a new record after the migration
    checkpoint = log.integrate_all()
    assert checkpoint.size == 7
    with store.engine.connect() as conn:
        leaves = conn.execute(sa.text("SELECT kind, ref, leaf_hash FROM log_entries ORDER BY leaf_index")).all()
    # the old records first, in chain order, then the old read, then what came after
    assert [(k, r) for k, r, _ in leaves] == [("decision", f"d-{n}") for n in range(1, 6)] + [("read", "1"), ("decision", "d-6")]
    assert [h for _, _, h in leaves[:5]] == [decision_leaf_hash(r) for r in legacy]
    assert leaves[5][2] == read_leaf_hash(read)
    assert store.verify().ok and store.verify().checked == 6  # the old chain keeps verifying
    assert log.verify(checkpoint).ok
    store.close()
