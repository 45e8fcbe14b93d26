"""Where the chunks run: in this process, in local worker processes, or on a Dask cluster.

Every engine runs the same :func:`~explain.batch._process.process_chunk` on the same chunks (chunk ``i`` is
rows ``[i * size, (i + 1) * size)`` of the accounts file) and hands the results back *in chunk order*, so the
output file and the order of the audit chain do not depend on the engine or on which worker finished first.
At most a few chunks per worker are in flight, so memory does not grow with the portfolio.

- ``local``, 1 worker: a plain loop in this process.
- ``local``, N workers: N spawned processes (a fork would inherit the parent's kernel threads), each
  loading the bundle once and given ``cores / N`` threads.
- ``dask``: a ``dask.dataframe`` built with ``from_map`` (one partition per chunk) and
  ``map_partitions(process_partition)``, on a ``LocalCluster`` of N single-threaded workers or on the
  ``distributed`` scheduler at ``--scheduler``. Workers read the input files themselves, so on a real
  cluster those paths must be on storage every worker sees.
"""

from __future__ import annotations

import functools
import os
from collections import deque
from collections.abc import Iterator, Sequence
from pathlib import Path
import pandas as pd

from explain.batch._context import Job
from explain.batch._inputs import ACCOUNT, InputTable
from explain.batch._process import empty_result, process_chunk

__all__ = ["ENGINES", "dask_chunks", "local_chunks", "process_partition"]

ENGINES = ("local", "dask")


def _join_and_process(chunk: pd.DataFrame, decisions: pd.DataFrame, lookup: pd.Index, job: Job) -> pd.DataFrame:
    at = lookup.get_indexer(chunk[ACCOUNT].to_numpy(dtype=object))
    keep = at >= 0
    return process_chunk(chunk.loc[keep], decisions.iloc[at[keep]], job)


# ---------------------------------------------------------------------------------------------------- local
def _worker_init(threads: int) -> None:
    for name in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = str(threads)


def _pool_task(chunk: pd.DataFrame, job: Job, decisions_path: str) -> pd.DataFrame:
    decisions, lookup = _good_decisions(decisions_path)
    return _join_and_process(chunk, decisions, lookup, job)


def local_chunks(
    accounts: InputTable, pending: Sequence[int], *, size: int, columns: list[str], decisions: pd.DataFrame,
    lookup: pd.Index, decisions_path: Path, job: Job, workers: int,
) -> Iterator[tuple[int, pd.DataFrame]]:
    """Results of the ``pending`` chunks, in order, computed here (1 worker) or in ``workers`` processes."""
    wanted = set(pending)
    chunks = ((i, c) for i, c in enumerate(accounts.iter_chunks(size, columns=columns)) if i in wanted)
    if workers <= 1:
        for i, chunk in chunks:
            yield i, _join_and_process(chunk, decisions, lookup, job)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    threads = max(1, (os.cpu_count() or 1) // workers)
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                             initializer=_worker_init, initargs=(threads,)) as pool:
        window: deque = deque()
        for i, chunk in chunks:
            window.append((i, pool.submit(_pool_task, chunk, job, str(decisions_path))))
            if len(window) >= 2 * workers:
                j, future = window.popleft()
                yield j, future.result()
        while window:
            j, future = window.popleft()
            yield j, future.result()


# ----------------------------------------------------------------------------------------------------- dask
@functools.lru_cache(maxsize=2)
def _good_decisions(path: str) -> tuple[pd.DataFrame, pd.Index]:
    """The run's good decisions, read once per worker process from the parts folder."""
    decisions = pd.read_parquet(path)
    decisions["policy_reasons"] = [tuple(v) for v in decisions["policy_reasons"].tolist()]
    return decisions, pd.Index(decisions[ACCOUNT].to_numpy(dtype=object))


def _read_chunk(i: int, *, path: str, size: int, columns: list[str]) -> pd.DataFrame:
    return InputTable(path, option="--input").read_chunk(i, size, columns=columns)


def process_partition(chunk: pd.DataFrame, job: Job, decisions_path: str) -> pd.DataFrame:
    """One Dask partition (one chunk of accounts) through the same code as the local engine."""
    if len(chunk) == 0:
        return empty_result()
    decisions, lookup = _good_decisions(decisions_path)
    return _join_and_process(chunk, decisions, lookup, job)


def dask_chunks(
    accounts: InputTable, pending: Sequence[int], *, size: int, columns: list[str], decisions_path: Path, job: Job,
    workers: int, scheduler: str | None, processes: bool = True,
) -> Iterator[tuple[int, pd.DataFrame]]:
    """Results of the ``pending`` chunks, in order, from ``map_partitions`` on a Dask cluster."""
    if not pending:
        return
    import dask
    import dask.dataframe as dd
    from distributed import Client, LocalCluster

    read = functools.partial(_read_chunk, path=str(accounts.path.resolve()), size=size, columns=columns)
    meta = accounts.read_chunk(0, size, columns=columns).iloc[:0]
    frame = dd.from_map(read, list(pending), meta=meta, divisions=None, enforce_metadata=False)
    results = frame.map_partitions(process_partition, job, str(decisions_path), meta=empty_result(),
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
            todo = iter(zip(pending, parts, strict=True))
            for i, part in todo:
                window.append((i, client.compute(part)))
                if len(window) >= 2 * max(1, workers):
                    j, future = window.popleft()
                    yield j, future.result()
                    future.release()
            while window:
                j, future = window.popleft()
                yield j, future.result()
                future.release()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
