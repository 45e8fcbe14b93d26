"""The audit store: decisions as a hash chain in SQLite (embedded default) or PostgreSQL (at scale).

One SQLAlchemy 2 code path serves both. The schema is owned by Alembic migrations shipped in
:mod:`explain.migrations`; :meth:`AuditStore.migrate` runs ``upgrade head`` under a lock so several workers
starting at once do not race.

Appending serialises on the chain head, inside the same transaction that inserts the record:

- PostgreSQL: ``SELECT ... FOR UPDATE`` on the one-row ``chain_head`` table; a decision without an
  idempotency key in one autocommit statement, so the lock is never held across a round trip
  (:mod:`explain.audit._one_statement`);
- SQLite: every write transaction starts with ``BEGIN IMMEDIATE`` (the database write lock), in WAL mode
  so readers are never blocked.

So the chain stays valid however many processes write at once, and an idempotency key is claimed in the
same transaction as the record it answers for.

API keys are ``exk_<key_id>_<secret>``: the ``key_id`` finds the row, the sha256 of the whole key is what is
stored, and the comparison is :func:`hmac.compare_digest`. The key itself is shown once and never stored.
"""

from __future__ import annotations

import os

import hashlib
import hmac
import itertools
import json
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, make_url

from explain.audit._audit import GENESIS_HASH, AuditRecord, ChainVerification, canonical_json, verify_chain
from explain.audit._leaves import DECISION, READ, decision_leaf_hash, read_leaf_hash
from explain.audit._one_statement import append_one, pieces
from explain.audit._tables import (
    AccessRow,
    ApiKeyRow,
    AuditRow,
    Base,
    ChainHead,
    IdempotencyRow,
    LogEntryRow,
    SessionRow,
)

__all__ = [
    "ROLES",
    "AccessEntry",
    "ApiKeyInfo",
    "Appended",
    "AuditStore",
    "Caller",
    "IdempotencyClaim",
    "IdempotencyConflictError",
    "Session",
    "StoredResponse",
    "normalize_url",
    "utc_timestamp",
]

#: The roles an API key may carry.
ROLES = ("issuer", "agent", "auditor", "reviewer")
#: The embedded default store: a SQLite file under the repository's (git-ignored) ``var/``.
DEFAULT_DATABASE_URL = f"sqlite:///{Path(__file__).resolve().parents[2] / 'var' / 'explain.db'}"


def configured_database_url() -> str:
    """``$EXPLAIN_DATABASE_URL`` if set, else the embedded SQLite default (the service reads the same)."""
    return os.environ.get("EXPLAIN_DATABASE_URL") or DEFAULT_DATABASE_URL

#: The development signing key of the Merkle log, made on first use when ``$EXPLAIN_LOG_KEY_FILE`` is unset.
DEFAULT_LOG_KEY_FILE = Path(__file__).resolve().parents[2] / "var" / "log.key"
DEFAULT_LOG_ORIGIN = "explain.local/audit-log"


def configured_log_key_file() -> str:
    """``$EXPLAIN_LOG_KEY_FILE`` if set, else the development key file beside the default database."""
    return os.environ.get("EXPLAIN_LOG_KEY_FILE") or str(DEFAULT_LOG_KEY_FILE)


_KEY_PREFIX = "exk"
_MIGRATION_LOCK = 0x6578706C61696E  # "explain": the pg_advisory_xact_lock id serialising migrations


def utc_timestamp(moment: datetime | None = None) -> str:
    """Fixed-width ISO 8601 in UTC (microseconds), so string order is time order."""
    moment = datetime.now(UTC) if moment is None else moment.astimezone(UTC)
    return moment.isoformat(timespec="microseconds")


_RECORDS = AuditRow.__table__
_INSERT_RECORD = sa.insert(_RECORDS)
_INSERT_ENTRY = sa.insert(LogEntryRow.__table__)
_INSERT_IDEMPOTENCY = sa.insert(IdempotencyRow.__table__)
_MOVE_HEAD = (sa.update(ChainHead.__table__).where(ChainHead.__table__.c.id == 1)
              .values(seq=sa.bindparam("new_seq"), record_hash=sa.bindparam("new_hash")))
_JSON_FIELDS = ("inputs", "group_contributions", "reasons", "excluded", "notice_hashes", "notices")
# The recourse travels inside the inputs column's JSON under a key no request can carry (no migration): the
# record's hash covers it as a field of its own either way.
_RECORD_FIELDS = tuple(f.name for f in fields(AuditRecord) if f.name != "recourse")
_RECOURSE_KEY = "_recourse"


@dataclass(frozen=True)
class Caller:
    """An authenticated API key: who is calling and in which role."""

    key_id: str
    name: str
    role: str
    #: The issuer key ids whose decisions this caller may read; None: every decision (an unscoped key).
    readable_issuers: frozenset[str] | None = None

    def may_read(self, record: AuditRecord) -> bool:
        """Whether the caller's scope admits ``record`` (a scoped key never reads a record without an issuer)."""
        return self.readable_issuers is None or record.issuer_key_id in self.readable_issuers


@dataclass(frozen=True)
class ApiKeyInfo:
    """An API key as listed: never the key or its hash."""

    key_id: str
    name: str
    role: str
    created_at: str
    revoked: bool
    revoked_at: str | None
    tenant: str | None = None
    scope: dict[str, Any] | None = None


@dataclass(frozen=True)
class AccessEntry:
    """One logged read: who (key id, name, role) read which account's decision, when and how."""

    at: str
    key_id: str
    key_name: str
    role: str
    account_ref: str
    decision_id: str
    via: str


@dataclass(frozen=True)
class Session:
    """A signed-in page session: the caller it acts for and the token its forms must carry."""

    caller: Caller
    csrf_token: str
    expires_at: str


@dataclass(frozen=True)
class IdempotencyClaim:
    """A caller's ``Idempotency-Key`` and the hash of the request it came with."""

    caller: str
    key: str
    request_sha256: str


@dataclass(frozen=True)
class StoredResponse:
    """The first response given for an idempotency key."""

    decision_id: str
    status_code: int
    body: str
    request_sha256: str


@dataclass(frozen=True)
class Appended:
    """What :meth:`AuditStore.append` did: a new record, or the first answer to the same idempotency key."""

    record: AuditRecord | None
    response: StoredResponse | None
    replayed: bool


class IdempotencyConflictError(ValueError):
    """An idempotency key reused with a different request body."""

    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(
            f"The Idempotency-Key {key!r} was already used with a different request; "
            "expected the same body as the first request, or a new key."
        )


def normalize_url(url: str) -> str:
    """Use the psycopg 3 driver for plain ``postgresql://`` URLs (psycopg2 is not a dependency)."""
    parsed = make_url(url)
    if parsed.drivername in {"postgresql", "postgres"}:
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def _row_to_record(row: Any) -> AuditRecord:
    values = {name: getattr(row, name) for name in _RECORD_FIELDS}
    for name in _JSON_FIELDS:
        values[name] = json.loads(values[name])
    values["recourse"] = values["inputs"].pop(_RECOURSE_KEY, None)
    return AuditRecord(**values)


def _record_to_row(record: AuditRecord) -> dict[str, Any]:
    values: dict[str, Any] = {name: getattr(record, name) for name in _RECORD_FIELDS}
    if record.recourse is not None:
        values["inputs"] = {**values["inputs"], _RECOURSE_KEY: record.recourse}
    for name in _JSON_FIELDS:
        values[name] = canonical_json(values[name])
    return values


class AuditStore:
    """Decisions, API keys and idempotency keys in one database.

    Parameters
    ----------
    url : str
        SQLAlchemy URL: ``sqlite:///path/to/explain.db`` or ``postgresql://user@host/db``.
    migrate : bool
        Run the Alembic migrations now (the default); they are idempotent and serialised across processes.

    Examples
    --------
    >>> store = AuditStore("sqlite:///:memory:")  # doctest: +SKIP
    >>> key, caller = store.create_api_key("auditor", name="alice")  # doctest: +SKIP
    """

    def __init__(self, url: str, *, migrate: bool = True, pool_size: int = 8) -> None:
        self.url = normalize_url(url)
        self.dialect = make_url(self.url).get_backend_name()
        self.engine = self._make_engine(pool_size)
        if migrate:
            self.migrate()

    # ------------------------------------------------------------------------------------------- engine
    def _make_engine(self, pool_size: int) -> Engine:
        url = make_url(self.url)
        if self.dialect == "sqlite":
            if url.database and url.database != ":memory:":
                Path(url.database).parent.mkdir(parents=True, exist_ok=True)
            engine = sa.create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

            @event.listens_for(engine, "connect")
            def _on_connect(dbapi_conn: Any, _record: Any) -> None:
                # Take transaction control away from pysqlite so that "begin" below decides how to start.
                dbapi_conn.isolation_level = None
                cursor = dbapi_conn.cursor()
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
                cursor.execute("PRAGMA busy_timeout=30000")
                cursor.close()

            @event.listens_for(engine, "begin")
            def _on_begin(conn: Connection) -> None:
                # Writers take the database write lock up front: the chain head read and the insert that
                # follows it can then never interleave with another writer's.
                write = conn.get_execution_options().get("explain_write", False)
                conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

            return engine
        engine = sa.create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)

        @event.listens_for(engine, "handle_error")
        def _operational_errors_lose_the_connection(context: Any) -> None:
            # A backend terminated in the middle of a batch (psycopg's pipelined executemany) leaves the
            # connection unusable with an error psycopg does not call a disconnect: SQLAlchemy then tries to
            # roll it back, fails again, and the pool logs a traceback. Whatever the server or network broke,
            # the connection is dropped here and the pool makes a new one; other connections are left alone
            # (pre-ping checks each before use). The caller still sees the error (a 503 in the service).
            if isinstance(context.original_exception, context.dialect.loaded_dbapi.OperationalError):
                context.is_disconnect = True
                context.invalidate_pool_on_disconnect = False

        return engine

    def _writing(self) -> Any:
        """A connection context whose transaction holds the write lock (SQLite) from its first statement."""
        return self.engine.connect().execution_options(explain_write=True)

    def close(self) -> None:
        self.engine.dispose()

    def ping(self) -> bool:
        """True when the database answers and the schema is in place."""
        return self.health() is None

    def health(self) -> str | None:
        """None when the database answers and the schema is in place, else one line saying why not."""
        try:
            with self.engine.connect() as conn:
                conn.execute(sa.select(ChainHead.seq).where(ChainHead.id == 1)).one()
            return None
        except sa.exc.SQLAlchemyError as exc:
            cause = getattr(exc, "orig", None) or exc
            lines = str(cause).strip().splitlines()
            return f"{type(cause).__name__}: {lines[0][:200] if lines else ''}".rstrip(": ")

    # ---------------------------------------------------------------------------------------- migration
    def migrate(self) -> None:
        """Create or upgrade the schema to the latest revision (``alembic upgrade head``)."""
        from alembic import command
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(Path(__file__).resolve().parents[1] / "migrations"))
        with self._writing() as conn, conn.begin():
            if self.dialect == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:id)"), {"id": _MIGRATION_LOCK})
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    def schema_revision(self) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one_or_none()

    # ------------------------------------------------------------------------------------------ records
    def append(
        self,
        draft: AuditRecord,
        *,
        idempotency: IdempotencyClaim | None = None,
        respond: Callable[[AuditRecord], tuple[int, str]] | None = None,
    ) -> Appended:
        """Add ``draft`` at the head of the chain, in one transaction.

        The store assigns ``seq``, ``created_at``, ``prev_hash`` and ``record_hash`` while it holds the
        chain head. With ``idempotency``, a key already claimed by the same request returns the first
        response instead (``replayed=True``) and nothing is written; claimed by a different request, it
        raises :class:`IdempotencyConflictError`. ``respond(record)`` builds the ``(status, body)`` kept
        for the key, inside the same transaction.
        """
        if self.dialect == "postgresql" and idempotency is None:
            cut = pieces(draft)
            if cut is not None:  # the lock held by the server alone (explain.audit._one_statement)
                with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                    return Appended(record=append_one(conn, draft, cut, _record_to_row(draft)), response=None,
                                    replayed=False)
        with self._writing() as conn, conn.begin():
            head = conn.execute(sa.select(ChainHead.seq, ChainHead.record_hash).where(ChainHead.id == 1).with_for_update()).one()
            if idempotency is not None:
                stored = self._claimed(conn, idempotency.caller, idempotency.key)
                if stored is not None:
                    if stored.request_sha256 != idempotency.request_sha256:
                        raise IdempotencyConflictError(idempotency.key)
                    return Appended(record=None, response=stored, replayed=True)
            record, payload = draft.chained_with_payload(seq=head.seq + 1, prev_hash=head.record_hash,
                                                         created_at=utc_timestamp())
            # Constant statements, values as parameters: SQLAlchemy compiles each once, where .values(row)
            # coerced some thirty literals into bind parameters on every append.
            conn.execute(_INSERT_RECORD, _record_to_row(record))
            conn.execute(_INSERT_ENTRY, _decision_entry(record, payload))
            conn.execute(_MOVE_HEAD, {"new_seq": record.seq, "new_hash": record.record_hash})
            response = None
            if idempotency is not None:
                status, body = respond(record) if respond else (201, canonical_json({"decision_id": record.decision_id}))
                response = StoredResponse(record.decision_id, status, body, idempotency.request_sha256)
                conn.execute(_INSERT_IDEMPOTENCY, {
                    "caller": idempotency.caller, "key": idempotency.key, "request_sha256": idempotency.request_sha256,
                    "decision_id": record.decision_id, "status_code": status, "response": body,
                    "created_at": record.created_at})
            return Appended(record=record, response=response, replayed=False)

    @staticmethod
    def _claimed(conn: Connection, caller: str, key: str) -> StoredResponse | None:
        row = conn.execute(
            sa.select(
                IdempotencyRow.decision_id,
                IdempotencyRow.status_code,
                IdempotencyRow.response,
                IdempotencyRow.request_sha256,
            ).where(IdempotencyRow.caller == caller, IdempotencyRow.key == key)
        ).one_or_none()
        if row is None:
            return None
        return StoredResponse(row.decision_id, row.status_code, row.response, row.request_sha256)

    def idempotent_response(self, caller: str, key: str) -> StoredResponse | None:
        """The first response stored for ``(caller, key)``, if any (a fast path before doing the work)."""
        with self.engine.connect() as conn:
            return self._claimed(conn, caller, key)

    def get(self, decision_id: str) -> AuditRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(_RECORDS).where(_RECORDS.c.decision_id == decision_id)).one_or_none()
            return None if row is None else _row_to_record(row)

    def logged_leaf_hash(self, decision_id: str) -> str | None:
        """The leaf hash the Merkle log holds for a decision (None when it is not on the log)."""
        with self.engine.connect() as conn:
            return conn.execute(sa.select(LogEntryRow.leaf_hash).where(
                LogEntryRow.kind == DECISION, LogEntryRow.ref == decision_id)).scalar_one_or_none()

    def list_by_account(self, account_ref: str, *, limit: int = 100, offset: int = 0,
                        issuers: frozenset[str] | None = None) -> list[AuditRecord]:
        """The account's decisions, newest first; only those issued by ``issuers`` when given (a scoped key)."""
        stmt = (
            sa.select(_RECORDS)
            .where(_RECORDS.c.account_ref == account_ref)
            .order_by(_RECORDS.c.seq.desc())
            .limit(limit)
            .offset(offset)
        )
        if issuers is not None:
            stmt = stmt.where(_RECORDS.c.issuer_key_id.in_(sorted(issuers)))
        with self.engine.connect() as conn:
            return [_row_to_record(r) for r in conn.execute(stmt)]

    def count(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(AuditRow)).scalar_one()

    def iter_records(
        self, *, since: str | None = None, until: str | None = None, batch_size: int = 500
    ) -> Iterator[AuditRecord]:
        """Records in chain order, read in batches of short transactions (safe to stream while writers run).

        ``since`` (inclusive) and ``until`` (exclusive) are ISO timestamps compared in UTC.
        """
        after = 0
        while True:
            stmt = sa.select(_RECORDS).where(_RECORDS.c.seq > after).order_by(_RECORDS.c.seq).limit(batch_size)
            if since is not None:
                stmt = stmt.where(_RECORDS.c.created_at >= since)
            if until is not None:
                stmt = stmt.where(_RECORDS.c.created_at < until)
            with self.engine.connect() as conn:
                rows = [_row_to_record(r) for r in conn.execute(stmt)]
            yield from rows
            if len(rows) < batch_size:
                return
            after = rows[-1].seq

    def verify(self) -> ChainVerification:
        """Walk the chain from its first record to the head as it stood when the walk began.

        See :func:`explain.audit._audit.verify_chain`; in addition the chain-head row, written in the same
        transaction as each record, must point at the last record walked (so deleting the newest records
        is noticed too). Records appended during the walk are left for the next verification.
        """
        with self.engine.connect() as conn:
            head = conn.execute(sa.select(ChainHead.seq, ChainHead.record_hash).where(ChainHead.id == 1)).one()
        records = itertools.takewhile(lambda r: r.seq <= head.seq, self.iter_records())
        result = verify_chain(records)
        if result.ok and ((result.head_seq or 0) != head.seq or (result.head_hash or GENESIS_HASH) != head.record_hash):
            return ChainVerification(
                ok=False,
                checked=result.checked,
                head_seq=result.head_seq,
                head_hash=result.head_hash,
                first_bad_seq=(result.head_seq or 0) + 1,
                problem=f"the chain head points at record {head.seq}, but the records end at {result.head_seq or 0}",
            )
        return result

    # ----------------------------------------------------------------------------------------- API keys
    def create_api_key(self, role: str, *, name: str | None = None, tenant: str | None = None,
                       scope_issuers: tuple[str, ...] | list[str] = (),
                       scope_tenant: str | None = None) -> tuple[str, Caller]:
        """Make a new key for ``role``; returns the key (shown once, never stored) and its caller.

        ``tenant`` labels the key (which lender or brand an issuer key posts for). An ``agent`` key may be
        scoped: it then reads only decisions issued by the keys ``scope_issuers`` and/or by the keys labelled
        ``scope_tenant`` (those made later included).
        """
        if role not in ROLES:
            raise ValueError(f"The 'role' must be one of {', '.join(map(repr, ROLES))}. Got {role!r} instead.")
        scope = _scope_json(role, scope_issuers, scope_tenant)
        key_id = secrets.token_hex(8)
        key = f"{_KEY_PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"
        caller = Caller(key_id=key_id, name=name or f"{role}-{key_id[:6]}", role=role)
        with self._writing() as conn, conn.begin():
            conn.execute(
                sa.insert(ApiKeyRow).values(
                    key_id=key_id,
                    name=caller.name,
                    role=role,
                    key_sha256=_key_hash(key),
                    created_at=utc_timestamp(),
                    revoked=False,
                    tenant=tenant,
                    scope=scope,
                )
            )
            readable = _readable_issuers(conn, scope)
        return key, Caller(caller.key_id, caller.name, caller.role, readable)

    def authenticate(self, key: str) -> Caller | None:
        """The caller holding ``key``, or None for a malformed, unknown or revoked key."""
        parts = key.split("_")
        if len(parts) < 3 or parts[0] != _KEY_PREFIX:
            return None
        key_id = parts[1]
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(ApiKeyRow.key_id, ApiKeyRow.name, ApiKeyRow.role, ApiKeyRow.key_sha256, ApiKeyRow.revoked,
                          ApiKeyRow.scope)
                .where(ApiKeyRow.key_id == key_id)
            ).one_or_none()
            # Compare even when the id is unknown, so timing does not tell which ids exist.
            stored = row.key_sha256 if row is not None else "0" * 64
            if not hmac.compare_digest(_key_hash(key), stored) or row is None or row.revoked:
                return None
            return Caller(row.key_id, row.name, row.role, _readable_issuers(conn, row.scope))

    def revoke_api_key(self, key_id: str) -> bool:
        """Revoke the key ``key_id``; False when there is no such key. Revoking twice keeps the first time.

        Workers that cached the key refuse it at most their key cache's lifetime later
        (``EXPLAIN_AUTH_CACHE_SECONDS``).
        """
        with self._writing() as conn, conn.begin():
            exists = conn.execute(sa.select(ApiKeyRow.key_id).where(ApiKeyRow.key_id == key_id)).one_or_none()
            conn.execute(sa.update(ApiKeyRow).where(ApiKeyRow.key_id == key_id, ApiKeyRow.revoked.is_(False))
                         .values(revoked=True, revoked_at=utc_timestamp()))
            return exists is not None

    def list_api_keys(self, *, include_revoked: bool = True) -> list[ApiKeyInfo]:
        """Every key's id, name, role and dates, oldest first; never the key or its hash."""
        stmt = sa.select(ApiKeyRow.key_id, ApiKeyRow.name, ApiKeyRow.role, ApiKeyRow.created_at, ApiKeyRow.revoked,
                         ApiKeyRow.revoked_at, ApiKeyRow.tenant, ApiKeyRow.scope
                         ).order_by(ApiKeyRow.created_at, ApiKeyRow.key_id)
        if not include_revoked:
            stmt = stmt.where(ApiKeyRow.revoked.is_(False))
        with self.engine.connect() as conn:
            return [ApiKeyInfo(r.key_id, r.name, r.role, r.created_at, bool(r.revoked), r.revoked_at, r.tenant,
                               json.loads(r.scope) if r.scope else None)
                    for r in conn.execute(stmt)]


    # -------------------------------------------------------------------------------------- access log
    def log_reads(self, caller: Caller, records: list[AuditRecord], *, via: str) -> None:
        """Record that ``caller`` read ``records`` (one row each, one transaction); ``via`` is ``api`` or
        ``page``. Called before the records are returned, so a read that cannot be logged is not served."""
        if not records:
            return
        at = utc_timestamp()
        rows = [{"at": at, "key_id": caller.key_id, "key_name": caller.name, "role": caller.role,
                 "account_ref": r.account_ref, "decision_id": r.decision_id, "via": via} for r in records]
        with self._writing() as conn, conn.begin():
            ids = conn.execute(sa.insert(AccessRow).returning(AccessRow.id, sort_by_parameter_order=True),
                               rows).scalars().all()
            conn.execute(sa.insert(LogEntryRow), [
                {"kind": READ, "ref": str(i), "leaf_hash": read_leaf_hash(row), "created_at": at}
                for i, row in zip(ids, rows, strict=True)])

    def log_lookup(self, caller: Caller, account_ref: str, *, via: str) -> None:
        """Record that ``caller`` looked up ``account_ref`` and was shown no decision (unknown, or out of its
        scope): one access-log row with an empty ``decision_id``, so probing for accounts leaves a trace."""
        row = {"at": utc_timestamp(), "key_id": caller.key_id, "key_name": caller.name, "role": caller.role,
               "account_ref": account_ref, "decision_id": "", "via": via}
        with self._writing() as conn, conn.begin():
            read_id = conn.execute(sa.insert(AccessRow).returning(AccessRow.id), [row]).scalar_one()
            conn.execute(sa.insert(LogEntryRow), [{"kind": READ, "ref": str(read_id), "leaf_hash": read_leaf_hash(row),
                                                   "created_at": row["at"]}])

    def access_log(self, *, since: str | None = None, until: str | None = None,
                   account_ref: str | None = None) -> list[AccessEntry]:
        """Logged reads, oldest first; ``since`` inclusive, ``until`` exclusive (ISO timestamps, UTC)."""
        stmt = sa.select(AccessRow.at, AccessRow.key_id, AccessRow.key_name, AccessRow.role, AccessRow.account_ref,
                         AccessRow.decision_id, AccessRow.via).order_by(AccessRow.id)
        if since is not None:
            stmt = stmt.where(AccessRow.at >= since)
        if until is not None:
            stmt = stmt.where(AccessRow.at < until)
        if account_ref is not None:
            stmt = stmt.where(AccessRow.account_ref == account_ref)
        with self.engine.connect() as conn:
            return [AccessEntry(r.at, r.key_id, r.key_name, r.role, r.account_ref, r.decision_id, r.via)
                    for r in conn.execute(stmt)]

    # ----------------------------------------------------------------------------------------- sessions
    def create_session(self, caller: Caller, *, ttl_seconds: int) -> tuple[str, Session]:
        """A new page session for ``caller``: the token (for the cookie; only its hash is stored) and the
        session with its CSRF token."""
        token = secrets.token_urlsafe(32)
        now = datetime.now(UTC)
        session = Session(caller, secrets.token_urlsafe(32), utc_timestamp(now + timedelta(seconds=ttl_seconds)))
        with self._writing() as conn, conn.begin():
            conn.execute(sa.delete(SessionRow).where(SessionRow.expires_at <= utc_timestamp(now)))  # housekeeping
            conn.execute(sa.insert(SessionRow).values(token_sha256=_key_hash(token), key_id=caller.key_id,
                                                     csrf_token=session.csrf_token, created_at=utc_timestamp(now),
                                                     expires_at=session.expires_at))
        return token, session

    def session(self, token: str) -> Session | None:
        """The live session behind ``token``: None when unknown, expired, or its key was revoked since."""
        stmt = (sa.select(SessionRow.csrf_token, SessionRow.expires_at, ApiKeyRow.key_id, ApiKeyRow.name,
                          ApiKeyRow.role, ApiKeyRow.revoked, ApiKeyRow.scope)
                .join(ApiKeyRow, ApiKeyRow.key_id == SessionRow.key_id)
                .where(SessionRow.token_sha256 == _key_hash(token)))
        with self.engine.connect() as conn:
            row = conn.execute(stmt).one_or_none()
            if row is None or row.revoked or row.expires_at <= utc_timestamp():
                return None
            caller = Caller(row.key_id, row.name, row.role, _readable_issuers(conn, row.scope))
        return Session(caller, row.csrf_token, row.expires_at)

    def end_session(self, token: str) -> None:
        with self._writing() as conn, conn.begin():
            conn.execute(sa.delete(SessionRow).where(SessionRow.token_sha256 == _key_hash(token)))


def _scope_json(role: str, issuers: tuple[str, ...] | list[str], tenant: str | None) -> str | None:
    """The ``api_keys.scope`` column of a new key (None: unlimited); only agent keys may be scoped."""
    issuers = sorted(set(issuers))
    if not issuers and tenant is None:
        return None
    if role != "agent":
        raise ValueError(f"Only an 'agent' key may be scoped to issuers or a tenant. Got the role {role!r}.")
    scope: dict[str, Any] = {}
    if issuers:
        scope["issuers"] = issuers
    if tenant is not None:
        scope["tenant"] = tenant
    return json.dumps(scope, sort_keys=True)


def _readable_issuers(conn: Connection, scope: str | None) -> frozenset[str] | None:
    """The issuer key ids a key's ``scope`` admits, the tenant's keys looked up now; None for an unscoped key."""
    if not scope:
        return None
    parsed = json.loads(scope)
    readable = set(parsed.get("issuers", ()))
    if parsed.get("tenant") is not None:
        readable.update(conn.execute(sa.select(ApiKeyRow.key_id).where(ApiKeyRow.tenant == parsed["tenant"])).scalars())
    return frozenset(readable)


def _decision_entry(record: AuditRecord, payload_json: str | None = None) -> dict[str, Any]:
    """The log entry of a stored decision (inserted with it, in the same transaction)."""
    return {"kind": DECISION, "ref": record.decision_id, "leaf_hash": decision_leaf_hash(record, payload_json),
            "created_at": record.created_at}


def _key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()
