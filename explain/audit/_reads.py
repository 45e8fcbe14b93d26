"""Reads of the audit trail put on record before they are passed on, whoever reads: the service's export and
report, and the operator's `explain audit report` on the command line."""

from __future__ import annotations

import getpass
import itertools
import socket
from collections.abc import Iterator
from typing import Any

from explain.audit._audit import AuditRecord
from explain.audit._store import AuditStore, Caller

__all__ = ["ReadLoggingStore", "logged_reads", "operator"]


def logged_reads(store: AuditStore, caller: Caller, records: Iterator[AuditRecord], *, via: str,
                 chunk: int = 500) -> Iterator[AuditRecord]:
    """``records``, each chunk logged as read by ``caller`` before any of it is passed on."""
    while batch := list(itertools.islice(records, chunk)):
        store.log_reads(caller, batch, via=via)
        yield from batch


class ReadLoggingStore:
    """The store as a report sees it: every record it iterates is logged as read by the caller first."""

    def __init__(self, store: AuditStore, caller: Caller, *, via: str = "report") -> None:
        self._store, self._caller, self._via = store, caller, via

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def iter_records(self, **kwargs: Any) -> Iterator[AuditRecord]:
        return logged_reads(self._store, self._caller, self._store.iter_records(**kwargs), via=self._via)


def operator() -> Caller:
    """Who reads from the command line: no API key, so the operating-system user on this host, by name."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no name for the uid (a bare container)
        user = "unknown"
    return Caller(key_id="cli", name=f"{user}@{socket.gethostname()}", role="operator")
