"""Failed-authentication throttling: per client address and per key id, an exponential delay, then a lockout.

A wrong key (an API call's ``Authorization`` or the agent page's sign-in form) counts one failure against the
client's address and, when the key is well formed (``exk_<key id>_<secret>``), against that key id. After
``free_failures`` failures each further one makes the subject wait ``delay * 2**k`` seconds (at most
``max_delay``) before its next attempt is even looked at; at ``lockout_failures`` it is locked out for
``lockout_seconds``: one warning log line and one ``explain_auth_lockouts_total`` count per lockout. An attempt
made while waiting is answered 429 with ``Retry-After`` and never reaches the database, which is the point: a
guess costs the attacker time and the service nothing. Failures are forgotten ``lockout_seconds`` after the last.

State is per worker process and in memory (no database round trip; with N workers an attacker gets at most N
times the attempts). Requests whose key the worker has cached as valid never consult it. The clock is
injectable so the tests step time instead of sleeping.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

__all__ = ["AuthThrottle", "Subject", "subjects_for"]

log = logging.getLogger("api.auth")

#: What a failure is counted against: ``("address", "203.0.113.9")`` or ``("key", "3f9c0a7b21d4e856")``.
Subject = tuple[str, str]
_MAX_SUBJECTS = 100_000


def subjects_for(address: str | None, key: str | None) -> list[Subject]:
    """The client's address, and the key id named by a well-formed ``key`` (any text is bounded first)."""
    subjects: list[Subject] = [("address", (address or "unknown")[:64])]
    if key:
        parts = key.split("_", 2)
        if len(parts) == 3 and parts[0] == "exk" and 0 < len(parts[1]) <= 32:
            subjects.append(("key", parts[1]))
    return subjects


@dataclass
class _Record:
    failures: int = 0
    not_before: float = 0.0
    last: float = 0.0


class AuthThrottle:
    """Counts failures per subject and says how long a subject must still wait (0 when it may try now)."""

    def __init__(self, *, free_failures: int = 3, delay: float = 1.0, max_delay: float = 60.0,
                 lockout_failures: int = 10, lockout_seconds: float = 900.0,
                 clock: Callable[[], float] = time.monotonic,
                 on_lockout: Callable[[str], None] | None = None) -> None:
        self.free_failures = free_failures
        self.delay = delay
        self.max_delay = max_delay
        self.lockout_failures = lockout_failures
        self.lockout_seconds = lockout_seconds
        self.clock = clock
        self.on_lockout = on_lockout
        self._records: dict[Subject, _Record] = {}
        self._lock = threading.Lock()

    def wait_seconds(self, subjects: Iterable[Subject]) -> float:
        """How long until every one of ``subjects`` may try again (0: now)."""
        if not self._records:  # the common case: nobody has failed lately, no lock taken
            return 0.0
        now = self.clock()
        with self._lock:
            waits = [r.not_before - now for s in subjects if (r := self._records.get(s)) is not None]
        return max([0.0, *waits])

    def retry_after(self, subjects: Iterable[Subject]) -> int | None:
        """Whole seconds to send in ``Retry-After``, or None when the subjects may try now."""
        wait = self.wait_seconds(subjects)
        return max(1, math.ceil(wait)) if wait > 0 else None

    def failed(self, subjects: Iterable[Subject]) -> None:
        """One more failure for each of ``subjects``: delay it, or lock it out at the threshold."""
        now = self.clock()
        with self._lock:
            if len(self._records) > _MAX_SUBJECTS:
                self._forget_stale(now)
            for subject in subjects:
                record = self._records.get(subject)
                if record is None or now - record.last > self.lockout_seconds:
                    record = self._records[subject] = _Record()
                record.failures += 1
                record.last = now
                extra = record.failures - self.free_failures
                if record.failures == self.lockout_failures:
                    record.not_before = now + self.lockout_seconds
                    self._locked_out(subject, record.failures)
                elif record.failures > self.lockout_failures:
                    record.not_before = max(record.not_before, now + self.max_delay)
                elif extra > 0:
                    record.not_before = now + min(self.max_delay, self.delay * 2 ** (extra - 1))

    def succeeded(self, subjects: Iterable[Subject]) -> None:
        """A key was right: forget the failures of its key id (an address keeps its count; it may be shared)."""
        if not self._records:
            return
        with self._lock:
            for subject in subjects:
                if subject[0] == "key":
                    self._records.pop(subject, None)

    def _locked_out(self, subject: Subject, failures: int) -> None:
        kind, value = subject
        log.warning("authentication lockout: %s %s after %d failures, refused for %d s", kind, value, failures,
                    round(self.lockout_seconds))
        if self.on_lockout is not None:
            self.on_lockout(kind)

    def _forget_stale(self, now: float) -> None:
        stale = [s for s, r in self._records.items() if now - r.last > self.lockout_seconds and now >= r.not_before]
        for subject in stale:
            del self._records[subject]
        if len(self._records) > _MAX_SUBJECTS:  # a flood of fresh addresses: keep the memory bounded
            self._records.clear()
