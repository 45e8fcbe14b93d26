"""The Merkle log's figures: sequencer integration rate, proof generation and verification, full verification.

On a store of its own (SQLite file by default; ``--database-url postgresql://...`` for PostgreSQL, or
``--postgres`` for a fresh ``explain_bench_<random>`` database dropped at the end):

1. fill: ``--entries`` reads (access-log rows, each with its log entry, as ``AuditStore.log_reads`` writes
   them, in bulk) and ``--decisions`` decision records (``AuditStore.append``, one transaction each);
2. integration: the sequencer step (``AuditLog.integrate``, batches of ``--batch``) until nothing is
   pending; entries/s, batches/s. The anchor is Tessera's ~2,000-2,900 entries/s on a small VM;
3. proofs: inclusion proofs (receipts of random decisions, with the database round trips) and consistency
   proofs, generation and verification, per proof;
4. verification: ``AuditLog.verify`` against the first checkpoint: every leaf recomputed from the stored
   record or read, the tree rebuilt, the signed roots compared, the consistency proof checked.

    .venv/bin/python bench/log.py                                # 1,000,000 entries, SQLite
    .venv/bin/python bench/log.py --entries 200000 --postgres    # PostgreSQL

Prints the load average: on a shared machine every figure is depressed. This is not a test.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import sqlalchemy as sa  # noqa: E402

from explain.audit._audit import AuditRecord, notice_sha256  # noqa: E402
from explain.audit._checkpoint import Checkpoint, generate_key  # noqa: E402
from explain.audit._leaves import READ, read_leaf_hash  # noqa: E402
from explain.audit._log import AuditLog, verify_receipt  # noqa: E402
from explain.audit._merkle import verify_consistency  # noqa: E402
from explain.audit._store import AccessRow, AuditStore, LogEntryRow, normalize_url, utc_timestamp  # noqa: E402

ADMIN_URL = os.environ.get("EXPLAIN_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def _draft(i: int) -> AuditRecord:
    notice = {"subject": "额度调整通知", "text": f"尊敬的客户：您的信用卡额度已调整。参考编号 {i:08d}。" * 8,
              "locale": "zh_CN"}
    return AuditRecord(decision_id=f"00000000-0000-4000-8000-{i:012d}", created_at="", account_ref=f"acc-{i}",
                       decision="limit_decrease", inputs={"account_ref": f"acc-{i}", "decision": "limit_decrease",
                                                          "bundle": "demo", "features": {"age": 30 + i % 40}},
                       bundle_name="demo", bundle_version="1", bundle_sha256="b" * 64, catalog_sha256="c" * 64,
                       template_sha256="t" * 64, background_sha256="g" * 64, method="tree", score=0.25, margin=-1.1,
                       base_value=-1.5, group_contributions={"savings": 0.4, "age": -0.1},
                       reasons=[{"code": "savings", "effect": 0.4}], excluded=[],
                       notice_hashes={"zh_CN/letter": notice_sha256(notice)}, notices={"zh_CN/letter": notice})


def _fill_reads(store: AuditStore, n: int, chunk: int = 20_000) -> None:
    at = utc_timestamp()
    done = 0
    while done < n:
        size = min(chunk, n - done)
        rows = [{"at": at, "key_id": "bench", "key_name": "bench-agent", "role": "agent",
                 "account_ref": f"acc-{(done + i) % 50_000}", "decision_id": f"d-{done + i}", "via": "api"}
                for i in range(size)]
        with store._writing() as conn, conn.begin():  # noqa: SLF001
            ids = conn.execute(sa.insert(AccessRow).returning(AccessRow.id, sort_by_parameter_order=True),
                               rows).scalars().all()
            conn.execute(sa.insert(LogEntryRow), [{"kind": READ, "ref": str(i), "leaf_hash": read_leaf_hash(r),
                                                   "created_at": at} for i, r in zip(ids, rows, strict=True)])
        done += size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", help="store URL (default: a SQLite file in a temporary folder)")
    parser.add_argument("--postgres", action="store_true", help="a fresh PostgreSQL database, dropped after")
    parser.add_argument("--entries", type=int, default=1_000_000, help="read entries (default 1,000,000)")
    parser.add_argument("--decisions", type=int, default=2_000, help="decision records (default 2,000)")
    parser.add_argument("--batch", type=int, default=5_000, help="entries per integration batch (default 5,000)")
    parser.add_argument("--proofs", type=int, default=300)
    args = parser.parse_args()
    load0 = os.getloadavg()
    own = None
    with tempfile.TemporaryDirectory(prefix="explain-logbench-") as tmp:
        url = args.database_url or f"sqlite:///{tmp}/log.db"
        if args.postgres:
            own = f"explain_bench_{secrets.token_hex(4)}"
            admin = sa.create_engine(normalize_url(ADMIN_URL), isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
            with admin.connect() as conn:
                conn.execute(sa.text(f'CREATE DATABASE "{own}"'))
            url = sa.engine.make_url(normalize_url(ADMIN_URL)).set(database=own).render_as_string(hide_password=False)
        store = AuditStore(url)
        try:
            _run(store, args, load0)
        finally:
            store.close()
            if own:
                with admin.connect() as conn:
                    conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{own}" WITH (FORCE)'))


def _run(store: AuditStore, args: argparse.Namespace, load0: tuple[float, float, float]) -> None:
    log = AuditLog(store, signer=generate_key("bench.example/explain-log"))
    total = args.entries + args.decisions
    print(f"Merkle log bench: {store.dialect}, {args.decisions:,} decisions + {args.entries:,} reads = {total:,} entries, "
          f"batches of {args.batch:,}, {os.cpu_count()} cores; load average {' '.join(f'{x:.2f}' for x in load0)}")
    t = time.perf_counter()
    for i in range(args.decisions // 2):
        store.append(_draft(i))
    first = log.integrate_all()  # an early checkpoint, as an auditor would have kept
    _fill_reads(store, args.entries)
    for i in range(args.decisions // 2, args.decisions):
        store.append(_draft(i))
    print(f"  fill (appends one by one, reads in bulk): {time.perf_counter() - t:.1f} s")

    pending = log.pending()
    t = time.perf_counter()
    cpu = time.process_time()
    batches = 0
    while log.integrate(max_entries=args.batch) is not None:
        batches += 1
    wall, cpu = time.perf_counter() - t, time.process_time() - cpu
    latest = log.latest()
    print(f"  integration: {pending:,} entries in {wall:.1f} s = {pending / wall:,.0f} entries/s "
          f"({batches} batches, {1000 * wall / batches:.0f} ms per batch of {args.batch:,}; "
          f"this process's CPU {1000 * cpu / batches:.0f} ms per batch; target >= 2,000 entries/s)")

    rng = random.Random(0)
    ids = [_draft(rng.randrange(args.decisions)).decision_id for _ in range(args.proofs)]
    t = time.perf_counter()
    receipts = [log.receipt(d).to_dict() for d in ids]
    gen = (time.perf_counter() - t) / len(ids)
    t = time.perf_counter()
    for receipt in receipts:
        verify_receipt(receipt, log.verifier)
    ver = (time.perf_counter() - t) / len(ids)
    print(f"  inclusion proof (receipt) of a tree of {latest.size:,}: generate {1000 * gen:.2f} ms "
          f"(database included), verify {1000 * ver:.3f} ms (signature included), "
          f"{len(receipts[0]['inclusion_proof'])} hashes")
    sizes = sorted(rng.randrange(1, latest.size) for _ in range(50))
    t = time.perf_counter()
    proofs = [(s, log.consistency(s, latest.size)) for s in sizes]
    gen = (time.perf_counter() - t) / len(proofs)
    roots = {s: log.root(s) for s in sizes}
    t = time.perf_counter()
    for s, proof in proofs:
        verify_consistency(s, latest.size, roots[s], latest.root, proof)
    ver = (time.perf_counter() - t) / len(proofs)
    print(f"  consistency proof to {latest.size:,}: generate {1000 * gen:.2f} ms, verify {1000 * ver:.3f} ms")

    t = time.perf_counter()
    cpu = time.process_time()
    result = log.verify(Checkpoint.parse(first.note, log.verifier))
    wall, cpu = time.perf_counter() - t, time.process_time() - cpu
    print(f"  full verification of {result.checked:,} entries (every leaf recomputed from its record or read, the "
          f"tree rebuilt, {result.checkpoint_size:,}-entry checkpoint): {wall:.1f} s "
          f"({1e6 * wall / result.checked:.1f} us per entry, CPU {cpu:.1f} s), ok={result.ok}")
    print(f"  load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if not result.ok:
        raise SystemExit(f"FAILED: {result.problem}")


if __name__ == "__main__":
    main()
