"""One batch run from start (or restart) to finish: plan, process the chunks not done yet, join the parts."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

import pandas as pd

from explain._exceptions import InvalidInputError
from explain.batch._context import Job, context
from explain.batch._device import DEVICES
from explain.batch._engines import ENGINES, Task, WorkerPool, dask_chunks, local_chunks
from explain.batch._inputs import ACCOUNT, open_table
from explain.batch._output import PartsFolder, output_columns
from explain.batch._plan import close_index, make_plan
from explain.batch._progress import Progress

__all__ = ["BatchSummary", "auto_chunk_size", "default_errors_path", "default_pdf_dir", "read_output", "run_batch"]


@dataclass(frozen=True)
class BatchSummary:
    """What a run did: accounts explained, rows written, errors, and how fast."""

    out: str
    errors: str
    accounts: int  # rows of the accounts file
    explained: int  # accounts with a notice in the output
    output_rows: int  # explained x locales
    error_rows: int
    stored: int  # audit records newly appended by this run (0 without a store)
    resumed_chunks: int  # chunks found done from an earlier, interrupted run
    seconds: float
    setup_seconds: float = 0.0  # of ``seconds``: loading the bundle, hashing and checking the inputs, warming workers

    @property
    def rows_per_second(self) -> float:
        return self.explained / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "rows_per_second": round(self.rows_per_second, 1)}


def default_errors_path(out: Path) -> Path:
    """``notices.parquet`` -> ``notices.errors.csv`` (a person reads the errors; CSV opens anywhere)."""
    return out.with_name(out.stem + ".errors.csv")


def default_pdf_dir(out: Path) -> Path:
    """``notices.parquet`` -> ``notices-pdf/``: where ``--format pdf`` prints the letters by default."""
    return out.with_name(out.stem + "-pdf")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def run_batch(
    *,
    bundle: str,
    input: str | Path,
    decisions: str | Path,
    out: str | Path,
    locales: tuple[str, ...] = ("zh_CN", "en"),
    channels: tuple[str, ...] = ("letter",),
    errors: str | Path | None = None,
    engine: str = "local",
    workers: int = 1,
    scheduler: str | None = None,
    device: str = "cpu",
    chunk_size: int | None = None,
    notice_date: dt.date | None = None,
    currency: str | None = None,
    profile: str | Path | None = None,
    store_url: str | None = None,
    trusted: bool = False,
    progress: bool = True,
    progress_stream: IO[str] | None = None,
    dask_processes: bool = True,
    id_column: str = ACCOUNT,
    ignore: tuple[str, ...] | list[str] = (),
    format: str = "table",
    pdf_files: str = "notice",
    pdf_dir: str | Path | None = None,
    paper: str | None = None,
) -> BatchSummary:
    """Explain every account of a portfolio and write its notices; see ``explain batch --help``.

    ``format="pdf"`` also prints every letter (:mod:`explain.printing`) into ``pdf_dir`` (default: the output
    file's name without its suffix, plus ``-pdf``), one file per notice or, with ``pdf_files="chunk"``, one merged
    file per chunk; the output file's ``pdf`` column names each notice's file.

    Raises
    ------
    InvalidInputError
        An option, a file or a column that cannot be used (named, with what was expected).
    """
    from explain.notices._locales import negotiate
    from explain.notices._notices import CHANNELS

    started = time.perf_counter()
    if engine not in ENGINES:
        raise InvalidInputError("--engine", f"one of {', '.join(ENGINES)}", engine)
    if device not in DEVICES:
        raise InvalidInputError("--device", f"one of {', '.join(DEVICES)}", device)
    if scheduler is not None and engine != "dask":
        raise InvalidInputError("--scheduler", "used with --engine dask only", scheduler)
    if not isinstance(workers, int) or workers < 1:
        raise InvalidInputError("--workers", "a whole number of at least 1", workers)
    if chunk_size is not None and (not isinstance(chunk_size, int) or chunk_size < 1):
        raise InvalidInputError("--chunk-size", "a whole number of at least 1", chunk_size)
    locales = tuple(dict.fromkeys(negotiate(loc, field="--locale") for loc in locales))
    if not locales:
        raise InvalidInputError("--locale", "at least one locale", "")
    bad = [c for c in channels if c not in CHANNELS]
    if bad or not channels:
        raise InvalidInputError("--channel", f"one or more of {', '.join(CHANNELS)}", ",".join(channels))
    channels = tuple(dict.fromkeys(channels))
    out = Path(out)
    if out.suffix.lower() not in (".parquet", ".csv"):
        raise InvalidInputError("--out", "a file ending in .parquet or .csv", str(out))
    printing = _printing_options(format, pdf_files, pdf_dir, paper, channels, out)
    errors_path = Path(errors) if errors is not None else default_errors_path(out)
    if errors_path.suffix.lower() not in (".parquet", ".csv"):
        raise InvalidInputError("--errors", "a file ending in .parquet or .csv", str(errors_path))
    profile_path = None if profile is None else str(profile)
    # Worker processes start first: they load the bundle while this process reads and checks the inputs.
    pool = (WorkerPool(workers, bundle=bundle, trusted=trusted, profile=profile_path, device=device)
            if engine == "local" and workers > 1 else None)
    try:
        return _run(pool, started, bundle=bundle, input=input, decisions=decisions, out=out, errors_path=errors_path,
                    locales=locales, channels=channels, engine=engine, workers=workers, scheduler=scheduler,
                    device=device, chunk_size=chunk_size, notice_date=notice_date, currency=currency,
                    profile=profile_path, store_url=store_url, trusted=trusted, progress=progress,
                    progress_stream=progress_stream, dask_processes=dask_processes, id_column=id_column,
                    ignore=tuple(ignore), printing=printing)
    finally:
        if pool is not None:
            pool.close()


def _run(pool: WorkerPool | None, started: float, *, bundle: str, input: str | Path, decisions: str | Path,
         out: Path, errors_path: Path, locales: tuple[str, ...], channels: tuple[str, ...], engine: str, workers: int,
         scheduler: str | None, device: str, chunk_size: int, notice_date: dt.date | None, currency: str | None,
         profile: str | None, store_url: str | None, trusted: bool, progress: bool, progress_stream: IO[str] | None,
         dask_processes: bool, id_column: str, ignore: tuple[str, ...], printing: dict[str, Any]) -> BatchSummary:
    accounts = open_table(input, option="--input", key=id_column)
    decided = open_table(decisions, option="--decisions", key=id_column)
    ctx = context(bundle, trusted, profile, device)
    currency = currency or ctx.profile.currency  # the lender's own (HKD, TWD ...) unless the run names one
    features = list(ctx.explainer.feature_names)
    missing = [c for c in features if c not in accounts.columns]
    if missing:
        raise InvalidInputError(f"--input column {missing[0]!r}", f"every model input ({len(features)} columns)",
                                f"{len(missing)} missing: {', '.join(missing[:5])}")
    absent = [c for c in ignore if c not in accounts.columns or c == ACCOUNT]
    if absent:
        raise InvalidInputError("--ignore", f"a column of --input other than the account column ({accounts.key!r})",
                                absent[0])
    # As the API refuses a feature the model does not take, a column the model does not take (a label, a
    # name) is refused unless --ignore says to leave it out: nothing is dropped silently.
    extra = [c for c in accounts.columns if c != ACCOUNT and c not in features and c not in ignore]
    if extra:
        raise InvalidInputError(f"--input column {extra[0]!r}", "a model input; leave out other columns (a label, "
                                "a name) with --ignore", f"{len(extra)} such column(s): {', '.join(map(str, extra[:5]))}")
    if chunk_size is None:
        chunk_size = auto_chunk_size(accounts.n_rows, workers)

    key = {
        "bundle_sha256": ctx.bundle.sha256, "input_sha256": _sha256(accounts.path),
        "decisions_sha256": _sha256(decided.path), "locales": list(locales), "channels": list(channels),
        "chunk_size": chunk_size, "currency": currency, "profile_sha256": ctx.profile.sha256, "device": device,
        "audit": store_url is not None, "out": out.suffix.lower(), "errors": errors_path.suffix.lower(),
        "notice_date": None if notice_date is None else notice_date.isoformat(),
        **({"printing": printing} if printing["pdf"] else {}),
    }
    parts = PartsFolder(out, errors_path, key)
    state = parts.open(today=dt.date.today().isoformat())
    issued = dt.date.fromisoformat(state["notice_date"])
    job = Job(bundle=bundle, locales=locales, channels=channels, notice_date=issued, profile=profile,
              trusted=trusted, device=device, audit=store_url is not None, **printing)

    plan = make_plan(accounts, decided, catalog=ctx.bundle.catalog, chunk_size=chunk_size, default_currency=currency,
                     folder=parts.path)
    n_chunks = accounts.n_chunks(chunk_size)
    done = parts.done(n_chunks)
    pending = [i for i in range(n_chunks) if i not in done]
    task = Task(job=job, index=str(plan.index), parts=str(parts.path), columns=tuple(output_columns(channels, pdf=printing["pdf"] is not None)))
    if pool is not None:
        pool.wait()  # the clock of the processing itself starts with every worker ready
    store = None
    if store_url is not None:
        from explain.audit._audit import AuditRecord
        from explain.audit._store import AuditStore
        from explain.batch._audit_bulk import append_many

        store = AuditStore(store_url)
    if engine == "dask":
        results = dask_chunks(accounts, pending, size=chunk_size, task=task, workers=workers, scheduler=scheduler,
                              processes=dask_processes)
    else:
        results = local_chunks(accounts, pending, size=chunk_size, task=task, pool=pool)
    setup = time.perf_counter() - started
    stored = 0
    total = plan.n_accounts
    already = sum(min(chunk_size, total - i * chunk_size) for i in done)
    try:
        with Progress(total, done=already, stream=progress_stream, enabled=progress) as bar:
            for chunk in results:
                if store is not None:
                    stored += append_many(store, [AuditRecord(**json.loads(s)) for s in chunk.audit])
                parts.commit(chunk.i)
                bar.advance(chunk.explained, chunk.rejected)
    finally:
        if store is not None:
            store.close()
    close_index(task.index)
    output_rows, error_rows = parts.finish(n_chunks, list(task.columns), plan.errors)
    explained = output_rows // len(locales)
    return BatchSummary(out=str(out), errors=str(errors_path), accounts=total, explained=explained,
                        output_rows=output_rows, error_rows=error_rows, stored=stored, resumed_chunks=len(done),
                        seconds=time.perf_counter() - started, setup_seconds=setup)


def _printing_options(format: str, pdf_files: str, pdf_dir: str | Path | None, paper: str | None,
                      channels: tuple[str, ...], out: Path) -> dict[str, Any]:
    """``--format``, ``--pdf-files``, ``--pdf-dir`` and ``--paper`` checked, as the :class:`Job` fields."""
    from explain.batch._printing import PDF_FILES

    if format not in ("table", "pdf"):
        raise InvalidInputError("--format", "'table' (the output file only) or 'pdf' (the printed letters too)", format)
    if format == "table":
        for option, value in (("--pdf-dir", pdf_dir), ("--paper", paper)):
            if value is not None:
                raise InvalidInputError(option, "used with --format pdf only", str(value))
        return {"pdf": None, "pdf_dir": None, "paper": None}
    if pdf_files not in PDF_FILES:
        raise InvalidInputError("--pdf-files", f"one of {', '.join(PDF_FILES)}", pdf_files)
    if "letter" not in channels:
        raise InvalidInputError("--channel", "one that includes letter: --format pdf prints the letter", ",".join(channels))
    from explain.printing import parse_paper, render_pdf  # noqa: F401 - a missing 'pdf' extra fails here, not per chunk
    from explain.printing._render import _weasyprint

    _weasyprint()
    folder = Path(pdf_dir) if pdf_dir is not None else default_pdf_dir(out)
    return {"pdf": pdf_files, "pdf_dir": str(folder.resolve()),
            "paper": None if paper is None else parse_paper(paper, field="--paper").name}


def auto_chunk_size(n_rows: int, workers: int) -> int:
    """Chunks small enough that progress moves about every second (a chunk is the unit a worker reports),
    large enough that per-chunk costs stay small: about 20 chunks per worker, from 100 to 1,000 accounts."""
    return max(100, min(1000, -(-n_rows // (20 * max(1, workers)))))


def read_output(path: str | Path) -> pd.DataFrame:
    """An output or errors file back as a frame (tests and tools)."""
    path = Path(path)
    return pd.read_parquet(path) if path.suffix.lower() == ".parquet" else pd.read_csv(path, dtype={ACCOUNT: str})
