"""Progress of a batch: a rich bar with rows/s and ETA on a terminal, a plain line now and then otherwise.

A scheduler's log or a CI console cannot redraw a bar; a line every ``every`` seconds (and one at the end)
says the same in text that reads well in a log file. Rejected accounts (a bad row, no usable decision) are
counted apart from the explained ones: a run that ends at 5,000/5,000 with 65 rejected says so.
"""

from __future__ import annotations

import sys
import time
from typing import IO

__all__ = ["Progress"]


class Progress:
    """Counts rows done against ``total``; use as a context manager and call :meth:`advance`."""

    def __init__(self, total: int, *, done: int = 0, stream: IO[str] | None = None, every: float = 10.0,
                 enabled: bool = True) -> None:
        self.total, self.done, self.every, self.enabled = total, done, every, enabled
        self.stream = stream or sys.stderr
        self._start = self._last = time.monotonic()
        self._started_at = done
        self.rejected = 0
        self._bar = None

    def __enter__(self) -> Progress:
        if self.enabled and self.stream.isatty():
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress as Bar, TextColumn, TimeRemainingColumn

            self._bar = Bar(TextColumn("explain batch"), BarColumn(), MofNCompleteColumn(),
                            TextColumn("{task.fields[rejected]} rejected"),
                            TextColumn("{task.fields[rate]} rows/s"), TimeRemainingColumn(),
                            console=Console(file=self.stream), transient=False)
            self._bar.start()
            self._task = self._bar.add_task("batch", total=self.total, completed=self.done, rate="-", rejected=0)
        return self

    def rate(self) -> float:
        elapsed = time.monotonic() - self._start
        return (self.done - self._started_at) / elapsed if elapsed > 0 else 0.0

    def advance(self, explained: int, rejected: int = 0) -> None:
        """Count accounts finished: ``explained`` with notices, ``rejected`` without."""
        self.done += explained + rejected
        self.rejected += rejected
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.update(self._task, completed=self.done, rate=f"{self.rate():,.0f}", rejected=f"{self.rejected:,}")
        elif time.monotonic() - self._last >= self.every:
            self._line()

    def _line(self) -> None:
        self._last = time.monotonic()
        rate = self.rate()
        left = (self.total - self.done) / rate if rate > 0 else float("nan")
        eta = f"{left:,.0f} s" if left == left else "-"
        share = 100.0 * self.done / self.total if self.total else 100.0
        print(f"explain batch: {self.done:,}/{self.total:,} accounts ({share:.0f}%; {self.rejected:,} rejected), "
              f"{rate:,.0f} rows/s, ETA {eta}", file=self.stream, flush=True)

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()
        elif self.enabled:
            self._line()
