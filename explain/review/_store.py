"""Reviews in the audit store's database: each action one event row, one log entry and the index row updated,
in one transaction.

A request claims its idempotency key (the service's ``idempotency_keys`` table) in the transaction that
writes it. Later actions are optimistic: the caller read the review at event ``seq``; if another action
landed first, the write is refused with a :class:`TransitionError` (the state may no longer allow it).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from explain.audit._audit import canonical_json
from explain.audit._leaves import REVIEW, review_leaf_hash
from explain.audit._store import (AuditStore, Caller, IdempotencyClaim, IdempotencyConflictError, StoredResponse,
                                  utc_timestamp)
from explain.audit._tables import AuditRow, IdempotencyRow, LogEntryRow
from explain.review._errors import ReviewOpenError, TransitionError
from explain.review._records import Review, event_from_row
from explain.review._tables import ReviewEventRow, ReviewRow
from explain.review._workflow import FINAL_STATES, Action, State

__all__ = ["Opened", "ReviewStore"]

_OPEN = (State.REQUESTED.value, State.IN_REVIEW.value)


@dataclass(frozen=True)
class Opened:
    """What :meth:`ReviewStore.open` did: a new review, or the first answer to the same idempotency key."""

    review: Review | None
    response: StoredResponse | None
    replayed: bool


class ReviewStore:
    """The reviews of one :class:`~explain.audit._store.AuditStore` (same database, same log)."""

    def __init__(self, store: AuditStore) -> None:
        self.store = store

    # ---------------------------------------------------------------------------------------------- writes
    def _insert_event(self, conn: Connection, *, review_id: str, decision_id: str, seq: int, at: str, action: str,
                      from_state: str, to_state: str, caller: Caller, body: dict[str, Any]) -> None:
        row = {"review_id": review_id, "decision_id": decision_id, "seq": seq, "at": at, "action": action,
               "from_state": from_state, "to_state": to_state, "key_id": caller.key_id, "key_name": caller.name,
               "role": caller.role, "body": canonical_json(body)}
        event_id = conn.execute(sa.insert(ReviewEventRow).returning(ReviewEventRow.id), [row]).scalar_one()
        conn.execute(sa.insert(LogEntryRow).values(kind=REVIEW, ref=str(event_id),
                                                   leaf_hash=review_leaf_hash({"id": event_id, **row}), created_at=at))

    def open(self, *, review_id: str, decision_id: str, account_ref: str, jurisdiction: str, due_date: dt.date,
             held: bool, caller: Caller, body: dict[str, Any], at: str | None = None,
             idempotency: IdempotencyClaim | None = None, respond: Any = None) -> Opened:
        """Write a new review in state ``requested`` (its first event), unless the decision has one open."""
        at = at or utc_timestamp()
        with self.store._writing() as conn, conn.begin():  # noqa: SLF001 - the store's write-locked connection
            if idempotency is not None:
                seen = self.store._claimed(conn, idempotency.caller, idempotency.key)  # noqa: SLF001
                if seen is not None:
                    if seen.request_sha256 != idempotency.request_sha256:
                        raise IdempotencyConflictError(idempotency.key)
                    return Opened(review=None, response=seen, replayed=True)
            # Lock the decision's record (PostgreSQL; SQLite's write lock is already held): two requests for
            # the same decision at once then see each other, and only one review is opened.
            conn.execute(sa.select(AuditRow.seq).where(AuditRow.decision_id == decision_id).with_for_update()).first()
            busy = conn.execute(sa.select(ReviewRow.review_id, ReviewRow.state).where(
                ReviewRow.decision_id == decision_id, ReviewRow.state.in_(_OPEN)).with_for_update()).first()
            if busy is not None:
                raise ReviewOpenError(decision_id, busy.review_id, busy.state)
            conn.execute(sa.insert(ReviewRow).values(
                review_id=review_id, decision_id=decision_id, account_ref=account_ref, state=State.REQUESTED.value,
                awaiting_second=False, held=held, jurisdiction=jurisdiction, requested_at=at,
                due_date=due_date.isoformat(), decided_at=None, updated_at=at, events=1))
            self._insert_event(conn, review_id=review_id, decision_id=decision_id, seq=1, at=at,
                               action=Action.REQUEST.value, from_state="", to_state=State.REQUESTED.value,
                               caller=caller, body=body)
            review = self._load(conn, [review_id])[0]
            response = None
            if idempotency is not None:
                status, text = respond(review)
                response = StoredResponse(review_id, status, text, idempotency.request_sha256)
                conn.execute(sa.insert(IdempotencyRow).values(
                    caller=idempotency.caller, key=idempotency.key, request_sha256=idempotency.request_sha256,
                    decision_id=review_id, status_code=status, response=text, created_at=at))
            return Opened(review=review, response=response, replayed=False)

    def append(self, review: Review, *, action: Action, to_state: State, caller: Caller, body: dict[str, Any],
               at: str | None = None) -> Review:
        """Add one event to ``review`` as it was read (event ``review.seq``); refused if another came first."""
        at = at or utc_timestamp()
        with self.store._writing() as conn, conn.begin():  # noqa: SLF001
            row = conn.execute(sa.select(ReviewRow.events, ReviewRow.state).where(
                ReviewRow.review_id == review.review_id).with_for_update()).one()
            if row.events != review.seq:
                current = self._load(conn, [review.review_id])[0]
                raise TransitionError(review.review_id, current.state.value, action.value,
                                      [a.value for a in current.allowed], why="another action landed first")
            self._insert_event(conn, review_id=review.review_id, decision_id=review.decision_id, seq=review.seq + 1,
                               at=at, action=action.value, from_state=review.state.value, to_state=to_state.value,
                               caller=caller, body=body)
            updated = self._load(conn, [review.review_id])[0]
            conn.execute(sa.update(ReviewRow).where(ReviewRow.review_id == review.review_id).values(
                state=to_state.value, awaiting_second=updated.awaiting_second, updated_at=at, events=updated.seq,
                decided_at=updated.decided_at, held=review.held and to_state not in FINAL_STATES))
            return updated

    # ----------------------------------------------------------------------------------------------- reads
    @staticmethod
    def _load(conn: Connection, review_ids: list[str]) -> list[Review]:
        if not review_ids:
            return []
        rows = {r.review_id: r for r in conn.execute(sa.select(ReviewRow).where(ReviewRow.review_id.in_(review_ids)))}
        events: dict[str, list] = {rid: [] for rid in rows}
        for e in conn.execute(sa.select(ReviewEventRow).where(ReviewEventRow.review_id.in_(list(rows)))
                              .order_by(ReviewEventRow.review_id, ReviewEventRow.seq)):
            events[e.review_id].append(event_from_row(e))
        return [Review(review_id=rid, decision_id=rows[rid].decision_id, account_ref=rows[rid].account_ref,
                       jurisdiction=rows[rid].jurisdiction, due_date=rows[rid].due_date, held=bool(rows[rid].held),
                       events=tuple(events[rid])) for rid in review_ids if rid in rows and events[rid]]

    def get(self, review_id: str) -> Review | None:
        with self.store.engine.connect() as conn:
            found = self._load(conn, [review_id])
        return found[0] if found else None

    def for_decision(self, decision_id: str) -> list[Review]:
        """The decision's reviews, oldest first."""
        with self.store.engine.connect() as conn:
            ids = conn.execute(sa.select(ReviewRow.review_id).where(ReviewRow.decision_id == decision_id)
                               .order_by(ReviewRow.requested_at)).scalars().all()
            return self._load(conn, list(ids))

    def queue(self, *, today: dt.date, state: str | None = None, due_before: dt.date | None = None,
              limit: int = 100, offset: int = 0) -> list[Review]:
        """Reviews for the queue: overdue open ones first, then by due date, then by arrival."""
        overdue = sa.case((sa.and_(ReviewRow.state.in_(_OPEN), ReviewRow.due_date < today.isoformat()), 0), else_=1)
        stmt = sa.select(ReviewRow.review_id).order_by(overdue, ReviewRow.due_date, ReviewRow.requested_at,
                                                       ReviewRow.review_id)
        if state is not None:
            stmt = stmt.where(ReviewRow.state == state)
        if due_before is not None:
            stmt = stmt.where(ReviewRow.due_date <= due_before.isoformat())
        with self.store.engine.connect() as conn:
            ids = conn.execute(stmt.limit(limit).offset(offset)).scalars().all()
            return self._load(conn, list(ids))

    def overdue_count(self, today: dt.date) -> int:
        with self.store.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(ReviewRow).where(
                ReviewRow.state.in_(_OPEN), ReviewRow.due_date < today.isoformat())).scalar_one()

    def iter_reviews(self, *, batch_size: int = 500) -> Iterator[Review]:
        """Every review, by arrival, in batches of short transactions."""
        offset = 0
        while True:
            with self.store.engine.connect() as conn:
                ids = conn.execute(sa.select(ReviewRow.review_id).order_by(ReviewRow.requested_at, ReviewRow.review_id)
                                   .limit(batch_size).offset(offset)).scalars().all()
                batch = self._load(conn, list(ids))
            yield from batch
            if len(ids) < batch_size:
                return
            offset += batch_size
