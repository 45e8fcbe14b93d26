"""The sequencer loop and witnesses: integrate every fraction of a second, push each checkpoint to witnesses.

Every service worker runs a :class:`Sequencer` thread; each tick tries :meth:`AuditLog.integrate`, which
only one process at a time gets to do (the PostgreSQL advisory lock, SQLite's write lock), so whichever
worker is alive carries on. A full batch is followed at once by the next; otherwise the thread sleeps
``interval`` seconds (200 ms by default): an entry is in a signed checkpoint within about that long.

Witnesses follow C2SP ``tlog-witness``: ``POST <url>/add-checkpoint`` with ``old <size>``, the consistency
proof from the size the witness last cosigned, a blank line and the new checkpoint; a 200 answers with the
witness's cosignature line(s), which are kept with the checkpoint; a 409 tells the witness's own size, from
which the next push proves consistency. Pushing is best effort: a witness that is down never holds up the log.
"""

from __future__ import annotations

import base64
import logging
import threading
import urllib.error
import urllib.request
from collections.abc import Sequence

from explain.audit._checkpoint import Checkpoint
from explain.audit._log import AuditLog

__all__ = ["Sequencer", "push_to_witness"]

log = logging.getLogger("explain.audit.log")


def push_to_witness(url: str, checkpoint: Checkpoint, old_size: int, proof: Sequence[bytes], *,
                    timeout: float = 5.0) -> tuple[int, list[str] | int]:
    """POST one checkpoint to a witness: ``(200, cosignature lines)``, or ``(409, the witness's size)``."""
    body = f"old {old_size}\n" + "".join(base64.b64encode(p).decode() + "\n" for p in proof) + "\n" + checkpoint.note
    request = urllib.request.Request(url.rstrip("/") + "/add-checkpoint", data=body.encode("utf-8"), method="POST",
                                     headers={"Content-Type": "text/plain; charset=utf-8"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - the operator's witness URL
            return response.status, [line for line in response.read().decode("utf-8").splitlines() if line]
    except urllib.error.HTTPError as exc:
        with exc:
            if exc.code == 409:
                text = exc.read().decode("utf-8").strip()
                return 409, int(text) if text.isdigit() else 0
            raise


class Sequencer:
    """Integrates ``log`` every ``interval`` seconds in a daemon thread; pushes checkpoints to ``witnesses``."""

    def __init__(self, log_: AuditLog, *, interval: float = 0.2, batch: int = 5000,
                 witnesses: Sequence[str] = ()) -> None:
        self.log = log_
        self.interval = interval
        self.batch = batch
        self.witnesses = list(witnesses)
        self._witness_size: dict[str, int] = dict.fromkeys(self.witnesses, 0)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="explain-sequencer", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def step(self) -> Checkpoint | None:
        """One integration attempt, then the witnesses; the checkpoint signed, if any."""
        checkpoint = self.log.integrate(max_entries=self.batch)
        if checkpoint is not None:
            self.witness(checkpoint)
        return checkpoint

    def witness(self, checkpoint: Checkpoint) -> None:
        for url in self.witnesses:
            try:
                for _ in range(2):  # a 409 teaches us the witness's size; then one more try
                    old = self._witness_size[url]
                    proof = self.log.consistency(old, checkpoint.size) if old <= checkpoint.size else []
                    status, answer = push_to_witness(url, checkpoint, old, proof)
                    if status == 200:
                        self.log.add_cosignatures(checkpoint.size, answer)  # type: ignore[arg-type]
                        self._witness_size[url] = checkpoint.size
                        break
                    self._witness_size[url] = answer  # type: ignore[assignment]
            except (OSError, ValueError) as exc:
                log.warning("witness %s did not cosign checkpoint %d: %s", url, checkpoint.size, exc)

    def _run(self) -> None:
        failing = False
        while not self._stop.is_set():
            full = False
            try:
                checkpoint = self.step()
                full = checkpoint is not None and self.log.pending() > 0  # more waiting: go on at once
                if failing:
                    log.warning("log integration works again")
                failing = False
            except Exception as exc:  # noqa: BLE001 - a database blip must not end the loop; the next tick retries
                if not failing:  # one line per outage, not one per tick, and no traceback (like the service's)
                    cause = getattr(exc, "orig", None) or exc
                    first = (str(cause).strip().splitlines() or [""])[0][:200]
                    log.warning("log integration failed (%s: %s); retrying every %.1f s",
                                type(cause).__name__, first, self.interval)
                failing = True
            if not full:
                self._stop.wait(self.interval)
