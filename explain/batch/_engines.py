"""Where the chunks run: in this process, in local worker processes, or on a Dask cluster.

Every engine runs the same :func:`complete_chunk` on the same chunks (chunk ``i`` is rows
``[i * size, (i + 1) * size)`` of the accounts file): it looks up the chunk's decisions in the run's
:class:`~explain.batch._plan.DecisionIndex`, explains the accounts and writes the notices, and *stages* the
chunk's part files itself, so the texts never travel back. Only a :class:`ChunkOutput` does (the chunk's
number and, with a store, its draft audit records), and the engines hand those back *in chunk order*: the
audit chain and the output file do not depend on the engine or on which worker finished first. At most a
few chunks per worker are in flight, so memory does not grow with the portfolio.

- ``local``, 1 worker: a plain loop in this process.
- ``local``, N workers: N spawned processes (a fork would inherit the parent's kernel threads), each given
  ``cores / N`` threads. :class:`WorkerPool` starts them first thing, and each loads the bundle and warms its
  kernel while this process checks the inputs; the run starts its clock once all are ready.
- ``dask``: a ``dask.dataframe`` built with ``from_map`` (one partition per chunk) and
  ``map_partitions(process_partition)``, on a ``LocalCluster`` of N single-threaded workers or on the
  ``distributed`` scheduler at ``--scheduler``. Workers read the input files and write the parts
  themselves, so on a real cluster the input, the parts folder and the decision index must be on storage
  every worker sees.
"""

from __future__ import annotations

import functools
import os
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import pandas as pd

from explain._exceptions import WorkerError
from explain.batch._context import Job, context
from explain.batch._inputs import InputTable
from explain.batch._output import stage_chunk
from explain.batch._plan import ERROR_COLUMNS, open_index
from explain.batch._process import empty_result, process_chunk

__all__ = ["ENGINES", "ChunkOutput", "Task", "WorkerPool", "complete_chunk", "dask_chunks", "local_chunks",
           "process_partition"]

ENGINES = ("local", "dask")
_THREAD_VARIABLES = ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


@dataclass(frozen=True)
class Task:
    """Where a chunk's inputs are and where its parts go; small and picklable, sent with every chunk."""

    job: Job
    index: str  # the DecisionIndex file
    parts: str  # the parts folder
    columns: tuple[str, ...]  # the output file's columns


@dataclass(frozen=True)
class ChunkOutput:
    """What comes back of a finished chunk: its number and, with a store, its draft audit records (JSON)."""

    i: int
    audit: list[str] = field(default_factory=list)
    explained: int = 0  # accounts of the chunk with notices
    rejected: int = 0  # accounts of the chunk without (a bad row, no usable decision)


def complete_chunk(i: int, chunk: pd.DataFrame, task: Task) -> ChunkOutput:
    """Explain chunk ``i`` (its rows indexed by position in the accounts file) and stage its parts."""
    if len(chunk):
        decided = open_index(task.index).for_rows(int(chunk.index[0]), int(chunk.index[-1]) + 1)
        result = process_chunk(chunk.loc[decided.index], decided, task.job, chunk_id=i)
    else:
        result = empty_result()
    failed = result["error"].notna()
    rows = result.loc[~failed]
    errors = result.loc[failed].assign(file="accounts", field=result.loc[failed, "error_field"])
    stage_chunk(task.parts, i, rows, errors.loc[:, list(ERROR_COLUMNS)], list(task.columns))
    explained = int(rows["row"].nunique())
    return ChunkOutput(i, rows["audit"].dropna().tolist() if task.job.audit else [], explained=explained,
                       rejected=len(chunk) - explained)


# ---------------------------------------------------------------------------------------------------- local
#: In a worker: why it could not start (then every task it is given fails with that, not with a traceback of
#: the executor's own); None once started.
_START_FAILURE: str | None = None


def _worker_start(threads: int, loads: tuple, barrier) -> None:  # noqa: ANN001 - a multiprocessing Barrier
    """In each worker, before any chunk: its thread share, then the bundle loaded and the kernel warmed."""
    global _START_FAILURE
    import threading

    for name in _THREAD_VARIABLES:
        os.environ[name] = str(threads)
    try:
        ctx = context(*loads)
        ctx.explainer.explain(ctx.bundle.background.iloc[:8])
        barrier.wait(timeout=900)
    except threading.BrokenBarrierError:  # the run stopped (or another worker failed): nothing to report here
        _START_FAILURE = "the run stopped while the workers were starting"
    except Exception as exc:  # noqa: BLE001 - reported through the first task, whatever it was
        _START_FAILURE = f"{type(exc).__name__}: {exc}"
        barrier.abort()


class WorkerStartError(RuntimeError):
    """Raised in a worker that could not start; plain, so it crosses the process boundary intact."""


def _started() -> None:
    if _START_FAILURE is not None:
        raise WorkerStartError(_START_FAILURE)


def _ready() -> int:
    _started()
    return os.getpid()


def _pool_task(i: int, chunk: pd.DataFrame, task: Task) -> ChunkOutput:
    _started()
    return complete_chunk(i, chunk, task)


class WorkerPool:
    """``workers`` processes started at once and warmed in the background; :meth:`wait` blocks until every
    one has loaded the bundle."""

    def __init__(self, workers: int, *, bundle: str, trusted: bool, profile: str | None, device: str) -> None:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        spawn = multiprocessing.get_context("spawn")
        self.workers = workers
        self._barrier = spawn.Barrier(workers)
        threads = max(1, (os.cpu_count() or 1) // workers)
        self.executor = ProcessPoolExecutor(workers, mp_context=spawn, initializer=_worker_start,
                                            initargs=(threads, (bundle, trusted, profile, device), self._barrier))
        self._warming = [self.executor.submit(_ready) for _ in range(workers)]  # starts every process now

    def wait(self) -> None:
        for future in self._warming:
            _collected(None, future)

    def close(self) -> None:
        self._barrier.abort()  # a worker still warming stops waiting for the others
        self.executor.shutdown(wait=True, cancel_futures=True)


def local_chunks(
    accounts: InputTable, pending: Sequence[int], *, size: int, task: Task, pool: WorkerPool | None,
) -> Iterator[ChunkOutput]:
    """The ``pending`` chunks' outputs, in order, computed here (no pool) or by the pool's workers."""
    wanted = set(pending)
    columns = _input_columns(task)
    chunks = ((i, c) for i, c in enumerate(accounts.iter_chunks(size, columns=columns)) if i in wanted)
    if pool is None:
        for i, chunk in chunks:
            yield complete_chunk(i, chunk, task)
        return
    from concurrent.futures.process import BrokenProcessPool

    window: deque = deque()
    for i, chunk in chunks:
        try:
            future = pool.executor.submit(_pool_task, i, chunk, task)
        except BrokenProcessPool:
            raise WorkerError(window[0][0] if window else i) from None
        window.append((i, future))
        if len(window) >= 2 * pool.workers:
            yield _collected(*window.popleft())
    while window:
        yield _collected(*window.popleft())


def _collected(i: int | None, future) -> ChunkOutput:  # noqa: ANN001 - a concurrent.futures Future
    from concurrent.futures.process import BrokenProcessPool

    try:
        return future.result()
    except BrokenProcessPool:
        raise WorkerError(i) from None
    except WorkerStartError as exc:
        raise WorkerError(i, cause=str(exc)) from None


def _input_columns(task: Task) -> list[str]:
    from explain.batch._inputs import ACCOUNT

    ctx = context(task.job.bundle, task.job.trusted, task.job.profile, task.job.device)
    return [ACCOUNT, *ctx.explainer.feature_names]


# ----------------------------------------------------------------------------------------------------- dask
def _read_chunk(i: int, *, path: str, size: int, columns: list[str], key: str) -> pd.DataFrame:
    return InputTable(path, option="--input", key=key).read_chunk(i, size, columns=columns)


def process_partition(chunk: pd.DataFrame, task: Task, pending: list[int], partition_info: dict | None = None,
                      ) -> pd.DataFrame:
    """One Dask partition (chunk ``pending[number]`` of the accounts) through the same code as the local
    engine; returns the chunk's number and its audit drafts, one row each (a single row with none)."""
    done = complete_chunk(pending[partition_info["number"]], chunk, task)
    audit = done.audit or [None]
    return pd.DataFrame({"chunk": [done.i] * len(audit), "audit": audit})


def dask_chunks(
    accounts: InputTable, pending: Sequence[int], *, size: int, task: Task, workers: int, scheduler: str | None,
    processes: bool = True,
) -> Iterator[ChunkOutput]:
    """The ``pending`` chunks' outputs, in order, from ``map_partitions`` on a Dask cluster."""
    if not pending:
        return
    import dask
    import dask.dataframe as dd
    from distributed import Client, LocalCluster

    columns = _input_columns(task)
    read = functools.partial(_read_chunk, path=str(accounts.path.resolve()), size=size, columns=columns,
                             key=accounts.key)
    meta = accounts.read_chunk(0, size, columns=columns).iloc[:0]
    frame = dd.from_map(read, list(pending), meta=meta, divisions=None, enforce_metadata=False)
    summary_meta = pd.DataFrame({"chunk": pd.Series(dtype="int64"), "audit": pd.Series(dtype=object)})
    results = frame.map_partitions(process_partition, task, list(pending), meta=summary_meta,
                                   enforce_metadata=False, align_dataframes=False)
    parts = results.to_delayed()
    cluster = None
    if scheduler is None:
        cluster = LocalCluster(n_workers=max(1, workers), threads_per_worker=1, processes=processes,
                               dashboard_address=None, silence_logs=40)
    client = Client(cluster if cluster is not None else scheduler)
    try:
        with dask.config.set(scheduler=client):
            window: deque = deque()
            for i, part in zip(pending, parts, strict=True):
                window.append((i, client.compute(part)))
                if len(window) >= 2 * max(1, workers):
                    yield _summary(*window.popleft())
            while window:
                yield _summary(*window.popleft())
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _summary(i: int, future) -> ChunkOutput:  # noqa: ANN001 - a distributed Future
    frame = future.result()
    future.release()
    return ChunkOutput(i, [a for a in frame["audit"].tolist() if a is not None])
