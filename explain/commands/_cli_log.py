"""``explain audit keygen|integrate|checkpoint|verify|verify-receipt``: the Merkle log from a shell.

The signing key is a file named by ``--key-file`` or ``$EXPLAIN_LOG_KEY_FILE`` (never the database); checks
use the public key only (``--public-key``: the ``name+hash+key`` line, or a file holding it), so an auditor
needs nothing secret. Failures exit 1 with the first bad entry named; bad input exits 2.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

__all__ = ["register"]

_DB = typer.Option("--database-url", envvar="EXPLAIN_DATABASE_URL", help="The audit store (default: the embedded SQLite file).")
_KEY = typer.Option("--key-file", envvar="EXPLAIN_LOG_KEY_FILE",
                    help="The log's signing key file (default: the development key in var/).")
_PUBLIC = typer.Option("--public-key", envvar="EXPLAIN_LOG_PUBLIC_KEY",
                       help="The log's public key (name+hash+key), inline or a file; default: from --key-file.")


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def _open(database_url: str | None):  # noqa: ANN202
    from explain.audit._store import AuditStore, configured_database_url

    return AuditStore(database_url or configured_database_url())


def _signer(key_file: str | None, *, create: bool = False):  # noqa: ANN202
    from explain.audit._checkpoint import CheckpointError, load_or_create_signer
    from explain.audit._store import DEFAULT_LOG_ORIGIN, configured_log_key_file

    path = key_file or configured_log_key_file()
    try:
        return load_or_create_signer(path, create=create and key_file is None, origin=DEFAULT_LOG_ORIGIN)
    except CheckpointError as exc:
        raise _fail(str(exc)) from None


def _verifier(public_key: str | None, key_file: str | None):  # noqa: ANN202
    from explain.audit._checkpoint import CheckpointError, load_verifier

    if public_key is None:
        return _signer(key_file).verifier
    try:
        return load_verifier(public_key)
    except CheckpointError as exc:
        raise _fail(f"--public-key: {exc}") from None


def keygen(
    out: Annotated[Path, typer.Option("--out", "-o", help="The new signing key file (created 0600; never overwritten).")],
    name: Annotated[str, typer.Option("--name", help="The log's origin, e.g. bank.example/explain-log.")],
) -> None:
    """Make a new Ed25519 signing key for the log; prints its public key (publish it, give it to witnesses)."""
    from explain.audit._checkpoint import CheckpointError, generate_key, write_key

    try:
        signer = generate_key(name)
        write_key(signer, out)
    except CheckpointError as exc:
        raise _fail(f"--name: {exc}") from None
    except FileExistsError:
        raise _fail(f"--out: {out} exists; a key is never overwritten (rotate to a new file).") from None
    typer.echo(signer.verifier.vkey())


def integrate(database_url: Annotated[str | None, _DB] = None, key_file: Annotated[str | None, _KEY] = None) -> None:
    """Integrate every pending entry now and sign a checkpoint (the service's sequencer does this on its own)."""
    from explain.audit._log import AuditLog

    store = _open(database_url)
    try:
        checkpoint = AuditLog(store, signer=_signer(key_file, create=True)).integrate_all()
    finally:
        store.close()
    typer.echo(f"integrated; tree size {checkpoint.size}" if checkpoint else "nothing pending", err=True)


def checkpoint(
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write the checkpoint here (default: stdout).")] = None,
    witness: Annotated[list[str] | None, typer.Option("--witness", help="Push it to this witness URL (C2SP tlog-witness) "
                                                      "and keep its cosignature; repeat for several.")] = None,
    database_url: Annotated[str | None, _DB] = None,
    key_file: Annotated[str | None, _KEY] = None,
) -> None:
    """Export the newest signed checkpoint (integrating what is pending first), to keep outside the database."""
    from explain.audit._log import AuditLog
    from explain.audit._sequencer import Sequencer

    store = _open(database_url)
    try:
        log = AuditLog(store, signer=_signer(key_file, create=True))
        log.integrate_all()
        latest = log.latest()
        if latest is None:
            raise _fail("the log is empty: there is no checkpoint to export yet", 1)
        if witness:
            Sequencer(log, witnesses=witness).witness(latest)
            latest = log.latest()
    finally:
        store.close()
    if out is None:
        typer.echo(latest.note, nl=False)
    else:
        out.write_text(latest.note, encoding="utf-8")
        typer.echo(f"wrote {out}: tree size {latest.size}", err=True)


def _parse_any(text: str, verifiers: list):  # noqa: ANN202
    """The checkpoint, signed by the current key or (kept from before a rotation) a retired one."""
    from explain.audit._checkpoint import Checkpoint, CheckpointError

    problem: CheckpointError | None = None
    for verifier in verifiers:
        try:
            return Checkpoint.parse(text, verifier)
        except CheckpointError as exc:
            problem = problem or exc
    raise problem  # type: ignore[misc]


def verify(
    checkpoint_file: Annotated[Path, typer.Option("--checkpoint", help="A checkpoint kept outside the database.")],
    public_key: Annotated[str | None, _PUBLIC] = None,
    retired_key: Annotated[list[str] | None, typer.Option("--retired-key", help="A public key the log signed with "
                                                          "before a rotation (inline or a file); repeat for several.")] = None,
    database_url: Annotated[str | None, _DB] = None,
    key_file: Annotated[str | None, _KEY] = None,
) -> None:
    """Prove the log is an append-only extension of --checkpoint and that every record, notice and read hashes
    into it; also walk the old hash chain. Prints the result as JSON; exit 1 naming the first bad entry."""
    from explain.audit._checkpoint import CheckpointError
    from explain.audit._log import AuditLog

    verifier = _verifier(public_key, key_file)
    retired = [_verifier(k, None) for k in retired_key or []]
    try:
        trusted = _parse_any(checkpoint_file.read_text(encoding="utf-8"), [verifier, *retired])
    except OSError as exc:
        raise _fail(f"--checkpoint: cannot read {checkpoint_file}: {exc.strerror}") from None
    except CheckpointError as exc:
        raise _fail(f"--checkpoint: {exc}") from None
    store = _open(database_url)
    try:
        result = AuditLog(store, verifier=verifier, retired=retired).verify(trusted)
        chain = store.verify()
    finally:
        store.close()
    typer.echo(json.dumps({"log": result.to_dict(), "chain": chain.to_dict()}, ensure_ascii=False, indent=2))
    if not result.ok:
        where = (f"entry {result.first_bad_index} ({result.first_bad_kind} {result.first_bad_ref})"
                 if result.first_bad_index is not None else f"entries {result.bad_range}")
        raise _fail(f"the log does not verify at {where}: {result.problem}", 1)
    if not chain.ok:
        raise _fail(f"the hash chain breaks at record {chain.first_bad_seq}: {chain.problem}", 1)
    typer.echo(f"ok: {result.checked} entries verified against the checkpoint of {trusted.size}", err=True)


def verify_receipt(
    notice_file: Annotated[Path, typer.Argument(help="The receipt (GET /v1/decisions/{id}/proof), optionally with "
                                                "'notices': {\"<locale>/<channel>\": notice} to check.")],
    public_key: Annotated[str | None, _PUBLIC] = None,
    key_file: Annotated[str | None, _KEY] = None,
) -> None:
    """Check a notice's receipt offline: the log's signature, the inclusion proof and each notice's hash."""
    from explain.audit._checkpoint import CheckpointError
    from explain.audit._log import verify_receipt as check
    from explain.audit._merkle import ProofError

    verifier = _verifier(public_key, key_file)
    try:
        document = json.loads(notice_file.read_text(encoding="utf-8"))
        receipt = document.get("receipt", document)
        checkpoint = check(receipt, verifier, notices=document.get("notices"))
    except (OSError, json.JSONDecodeError) as exc:
        raise _fail(f"cannot read the receipt {notice_file}: {exc}") from None
    except (KeyError, TypeError, AttributeError) as exc:
        raise _fail(f"{notice_file} is not a receipt (missing {exc})") from None
    except (CheckpointError, ProofError) as exc:
        raise _fail(f"the receipt does not verify: {exc}", 1) from None
    typer.echo(f"ok: decision {receipt['leaf'].get('decision_id')} is entry {receipt['leaf_index']} of the log "
               f"{checkpoint.origin!r}, in its signed checkpoint of {checkpoint.size} entries"
               + (f"; {len(document['notices'])} notice(s) match" if document.get("notices") else ""))


def register_audit(audit_app: typer.Typer) -> None:
    """Add the log's commands to ``explain audit``."""
    audit_app.command("keygen")(keygen)
    audit_app.command("integrate")(integrate)
    audit_app.command("checkpoint")(checkpoint)
    audit_app.command("verify")(verify)
    audit_app.command("verify-receipt")(verify_receipt)
