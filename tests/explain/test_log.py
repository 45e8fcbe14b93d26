"""The Merkle log over a real store (SQLite and PostgreSQL): the sequencer, receipts, witnesses.

Trees are checked against a from-scratch RFC 9162 ``MTH`` over the stored leaf hashes, not the log's code.
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import importlib.util
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from explain.audit._checkpoint import (Checkpoint, CheckpointError, Verifier, cosign, generate_key,
                                       verify_cosignature, write_key)
from explain.audit._log import AuditLog, verify_receipt
from explain.audit._merkle import ProofError, verify_consistency
from explain.audit._sequencer import Sequencer
from explain.audit._store import AuditStore

_spec = importlib.util.spec_from_file_location("explain_tests_dbsupport_log", Path(__file__).parents[1] / "dbsupport.py")
dbsupport = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(dbsupport)
_store_spec = importlib.util.spec_from_file_location("explain_tests_store_drafts", Path(__file__).parent / "test_store.py")
_drafts = importlib.util.module_from_spec(_store_spec)
_store_spec.loader.exec_module(_drafts)
draft = _drafts._draft


def mth(leaves: list[bytes]) -> bytes:
    """RFC 9162 MTH over already-hashed leaves."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return hashlib.sha256(b"\x01" + mth(leaves[:k]) + mth(leaves[k:])).digest()


@pytest.fixture(scope="module")
def postgres_database():
    dbsupport.require_postgres()
    with dbsupport.postgres_database() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    if request.param == "sqlite":
        url = dbsupport.sqlite_url(tmp_path / "audit.db")
    else:
        url = dbsupport.postgres_schema(request.getfixturevalue("postgres_database"))
    s = AuditStore(url)
    yield s
    s.close()


@pytest.fixture
def key_file(tmp_path) -> Path:
    path = tmp_path / "log.key"
    write_key(generate_key("test.example/log"), path)
    return path


@pytest.fixture
def log(store, key_file) -> AuditLog:
    from explain.audit._checkpoint import load_signer

    return AuditLog(store, signer=load_signer(key_file))


def leaves_in_order(store: AuditStore) -> list[tuple[int, int, bytes]]:
    with store.engine.connect() as conn:
        return [(i, e, bytes.fromhex(h)) for i, e, h in conn.execute(sa.text(
            "SELECT leaf_index, id, leaf_hash FROM log_entries WHERE leaf_index IS NOT NULL ORDER BY leaf_index"))]


def test_a_sequencer_killed_mid_batch_loses_nothing_and_integrates_nothing_twice(store, log, key_file) -> None:
    for i in range(1, 13):
        store.append(draft(i))
    first = log.integrate(max_entries=4)
    assert first.size == 4
    child = (
        "import os, signal, sys\n"
        "from explain.audit._store import AuditStore\n"
        "from explain.audit._log import AuditLog\n"
        "from explain.audit._checkpoint import load_signer\n"
        "log = AuditLog(AuditStore(sys.argv[1], migrate=False), signer=load_signer(sys.argv[2]))\n"
        "log.integrate(max_entries=5, before_commit=lambda n: os.kill(os.getpid(), signal.SIGKILL))\n"
    )
    done = subprocess.run([sys.executable, "-c", child, store.url, str(key_file)], capture_output=True, timeout=120)
    assert done.returncode == -signal.SIGKILL, done.stderr.decode()
    # the killed batch left nothing: the same 8 entries wait, the newest checkpoint is still 4
    assert log.pending() == 8 and log.latest().size == 4
    with store.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT max(idx) FROM log_nodes WHERE level = 1")).scalar_one() == 1
    final = log.integrate_all()
    assert final.size == 12 and log.pending() == 0
    rows = leaves_in_order(store)
    assert [i for i, _, _ in rows] == list(range(12))  # dense, each once
    assert [e for _, e, _ in rows] == sorted(e for _, e, _ in rows)  # arrival order
    assert final.root == mth([h for _, _, h in rows])
    assert log.verify(Checkpoint.parse(first.note, log.verifier)).ok


def test_concurrent_writers_and_two_sequencers_build_one_consistent_tree(store, log) -> None:
    other = AuditLog(store, signer=log.signer)
    stop = threading.Event()
    errors: list[BaseException] = []

    def sequencer(which: AuditLog) -> None:
        while not stop.is_set():
            try:
                which.integrate(max_entries=7)
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
                return

    def writer(base: int) -> None:
        for i in range(base, base + 10):
            store.append(draft(i, account=f"acc-{base}"))

    threads = [threading.Thread(target=sequencer, args=(x,)) for x in (log, other)]
    writers = [threading.Thread(target=writer, args=(b,)) for b in (100, 200, 300)]
    for t in threads + writers:
        t.start()
    for t in writers:
        t.join()
    stop.set()
    for t in threads:
        t.join()
    assert not errors
    log.integrate_all()
    rows = leaves_in_order(store)
    assert [i for i, _, _ in rows] == list(range(30))
    with store.engine.connect() as conn:
        sizes = [n for (n,) in conn.execute(sa.text("SELECT tree_size FROM log_checkpoints ORDER BY tree_size"))]
    assert sizes[-1] == 30
    leaves = [h for _, _, h in rows]
    for old, new in zip(sizes, sizes[1:]):
        verify_consistency(old, new, mth(leaves[:old]), mth(leaves[:new]), log.consistency(old, new))


def test_a_receipt_checks_offline_and_catches_a_changed_notice(store, log) -> None:
    for i in range(1, 6):
        store.append(draft(i))
    log.integrate_all()
    target = draft(3).decision_id
    receipt = log.receipt(target).to_dict()
    notices = store.get(target).notices
    checkpoint = verify_receipt(receipt, log.verifier, notices=notices)
    assert checkpoint.size == 5 and receipt["leaf_index"] == 2
    changed = {key: {**n, "text": n["text"] + " (edited)"} for key, n in notices.items()}
    with pytest.raises(ProofError, match="not the one on the log"):
        verify_receipt(receipt, log.verifier, notices=changed)
    with pytest.raises(CheckpointError, match="no signature by the key"):
        verify_receipt(receipt, generate_key("test.example/log").verifier)
    forged = {**receipt, "leaf": {**receipt["leaf"], "record_sha256": "0" * 64}}
    with pytest.raises(ProofError):
        verify_receipt(forged, log.verifier)


class _Witness(http.server.BaseHTTPRequestHandler):
    """A C2SP tlog-witness, as small as it can be: checks the log's signature and consistency, then cosigns."""

    key = Ed25519PrivateKey.generate()
    name = "witness.test/w1"
    log_verifier: Verifier
    latest: tuple[int, bytes] = (0, hashlib.sha256(b"").digest())

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        text = self.rfile.read(int(self.headers["Content-Length"])).decode()
        head, note = text.split("\n\n", 1)
        lines = head.split("\n")
        old = int(lines[0].removeprefix("old "))
        proof = [base64.b64decode(p) for p in lines[1:] if p]
        checkpoint = Checkpoint.parse(note, type(self).log_verifier)
        size, root = type(self).latest
        if old != size:
            self.send_response(409)
            self.end_headers()
            self.wfile.write(str(size).encode())
            return
        verify_consistency(size, checkpoint.size, root, checkpoint.root, proof)
        type(self).latest = (checkpoint.size, checkpoint.root)
        self.send_response(200)
        self.end_headers()
        self.wfile.write((cosign(type(self).key, type(self).name, checkpoint) + "\n").encode())

    def log_message(self, *args) -> None:  # quiet
        pass


def test_checkpoints_are_pushed_to_a_witness_and_its_cosignatures_kept(store, log) -> None:
    _Witness.log_verifier = log.verifier
    _Witness.latest = (0, hashlib.sha256(b"").digest())
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Witness)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        sequencer = Sequencer(log, witnesses=[f"http://127.0.0.1:{server.server_port}"])
        for i in range(1, 4):
            store.append(draft(i))
        sequencer.step()
        for i in range(4, 9):
            store.append(draft(i))
        second = sequencer.step()
        assert _Witness.latest[0] == 8 == second.size
        kept = log.latest()
        witness = Verifier(_Witness.name, _Witness.key.public_key(), 0x04)
        assert verify_cosignature(kept, witness) > 0
        assert Checkpoint.parse(kept.note, log.verifier).size == 8  # still the log's signed note
        # a witness that has not seen the log before answers 409 with its size; the next push proves from there
        sequencer._witness_size[sequencer.witnesses[0]] = 3
        store.append(draft(9))
        sequencer.step()
        assert _Witness.latest[0] == 9
    finally:
        server.shutdown()
        server.server_close()


def test_signed_notes_follow_the_c2sp_formats(key_file) -> None:
    from explain.audit._checkpoint import load_signer, load_verifier

    signer = load_signer(key_file)
    vkey = signer.verifier.vkey()
    name, key_hash, blob = vkey.split("+", 2)
    raw = base64.b64decode(blob)
    assert name == "test.example/log" and raw[0] == 0x01 and len(raw) == 33
    assert key_hash == hashlib.sha256(b"test.example/log\n\x01" + raw[1:]).digest()[:4].hex()
    checkpoint = Checkpoint.sign(signer, 7, b"\x11" * 32)
    body, sig = checkpoint.note.split("\n\n")
    root_b64 = base64.b64encode(b"\x11" * 32).decode()
    assert body == f"test.example/log\n7\n{root_b64}"
    dash, signer_name, signature = sig.strip().split(" ")
    assert dash == "\u2014" and signer_name == "test.example/log"
    blob = base64.b64decode(signature)
    load_verifier(vkey).key.verify(blob[4:], (body + "\n").encode())  # the signature covers the text exactly
    assert blob[:4].hex() == key_hash
    tampered = checkpoint.note.replace("\n7\n", "\n8\n")
    with pytest.raises(CheckpointError, match="does not verify"):
        Checkpoint.parse(tampered, signer.verifier)
    assert os.stat(key_file).st_mode & 0o777 == 0o600


def test_a_key_rotation_keeps_old_checkpoints_verifiable(store, log, tmp_path) -> None:
    from typer.testing import CliRunner

    from explain.cli import app as cli

    for i in range(1, 5):
        store.append(draft(i))
    before = log.integrate_all()
    kept = tmp_path / "before-rotation.txt"
    kept.write_text(before.note, encoding="utf-8")
    new_key = tmp_path / "new.key"
    made = CliRunner().invoke(cli, ["audit", "keygen", "--out", str(new_key), "--name", "test.example/log"])
    assert made.exit_code == 0, made.output
    from explain.audit._checkpoint import load_signer

    rotated = AuditLog(store, signer=load_signer(new_key))
    for i in range(5, 8):
        store.append(draft(i))
    after = rotated.integrate_all()
    assert after.size == 7 and after.signature_lines() != before.signature_lines()
    args = ["audit", "verify", "--checkpoint", str(kept), "--database-url", store.url,
            "--public-key", made.stdout.strip()]
    refused = CliRunner().invoke(cli, args)
    assert refused.exit_code == 2 and "no signature by the key" in refused.output  # the old key is not trusted yet
    accepted = CliRunner().invoke(cli, [*args, "--retired-key", log.verifier.vkey()])
    assert accepted.exit_code == 0, accepted.output
    assert '"tree_size": 7' in accepted.stdout and '"checkpoint_size": 4' in accepted.stdout


def test_the_sequencer_thread_outlives_database_errors(store, log, caplog) -> None:
    import time

    class Flaky:
        """The log, whose first three integrations fail as a dropped connection would."""

        failures = 3

        def __getattr__(self, name):
            return getattr(log, name)

        def integrate(self, **kwargs):
            if Flaky.failures:
                Flaky.failures -= 1
                raise sa.exc.OperationalError("SELECT 1", {}, ConnectionError("server closed the connection"))
            return log.integrate(**kwargs)

    store.append(draft(1))
    sequencer = Sequencer(Flaky(), interval=0.02)
    sequencer.start()
    try:
        deadline = time.monotonic() + 30
        while log.pending() and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        sequencer.stop()
    assert log.pending() == 0 and log.latest().size == 1 and Flaky.failures == 0
    failed = [r.getMessage() for r in caplog.records if "log integration failed" in r.getMessage()]
    assert len(failed) == 1 and "ConnectionError" in failed[0]  # one line per outage, no traceback
    assert not any(r.exc_info for r in caplog.records)
