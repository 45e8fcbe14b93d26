"""The ``explain batch`` command: notices for a whole portfolio (see :mod:`explain.batch`).

``explain.cli`` calls :func:`register`; nothing here is imported by ``explain notice`` or ``--help``
beyond this module itself (pandas, pyarrow and dask load when the command runs).

    explain batch --bundle demo --input accounts.parquet --decisions decisions.csv \\
        --locale zh_CN,en --out notices.parquet --workers 2
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from explain._exceptions import ExplainError

__all__ = ["register"]


def _fail(message: str) -> typer.Exit:
    Console(stderr=True).print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(2)


def _split(text: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in text.split(",") if p.strip())


def batch(
    bundle: Annotated[str, typer.Option("--bundle", help="A bundle folder, or 'demo'.")],
    input: Annotated[Path, typer.Option("--input", help="Accounts: .parquet or .csv, an 'account' column (see "
                                                       "--id-column) and the model's raw features.")],
    decisions: Annotated[Path, typer.Option("--decisions", help="Decisions: .parquet or .csv with account, decision, "
                                                               "old_limit, new_limit[, policy_reasons, currency, bureau, "
                                                               "review_date].")],
    out: Annotated[Path, typer.Option("--out", help="Output file, .parquet or .csv: one row per account and locale.")],
    locale: Annotated[str, typer.Option("--locale", help="Comma-separated locales, e.g. zh_CN,en or zh_HK,en (zh_CN, en, zh_HK, zh_TW).")] = "zh_CN,en",
    channel: Annotated[str, typer.Option("--channel", help="Comma-separated: letter, short.")] = "letter",
    errors: Annotated[Path | None, typer.Option(
        "--errors", help="Bad rows with the reason (default: <out stem>.errors.csv beside the output, e.g. "
                         "notices.errors.csv for notices.parquet).")] = None,
    engine: Annotated[str, typer.Option("--engine", help="local or dask.")] = "local",
    workers: Annotated[int, typer.Option("--workers", help="Worker processes (local) or Dask workers.")] = 1,
    scheduler: Annotated[str | None, typer.Option(
        "--scheduler", help="A distributed scheduler address (with --engine dask; default: a local cluster).")] = None,
    device: Annotated[str, typer.Option("--device", help="cpu, or cuda for XGBoost's GPU contributions.")] = "cpu",
    chunk_size: Annotated[int | None, typer.Option(
        "--chunk-size", help="Accounts per chunk (memory is bounded by it; default: 100-1,000, so progress moves "
                             "about every second).")] = None,
    notice_date: Annotated[str | None, typer.Option(
        "--notice-date", help="YYYY-MM-DD (default: the day the run first started).")] = None,
    currency: Annotated[str | None, typer.Option(
        "--currency", help="Currency of limits without a currency column (default: the profile's, CNY unless set).")] = None,
    profile: Annotated[Path | None, typer.Option("--profile", help="A lender profile TOML with translations/ beside it (default: the bundle's).")] = None,
    store: Annotated[str | None, typer.Option(
        "--store", help="Append the audit records to this store (SQLAlchemy URL), chain intact.")] = None,
    progress: Annotated[bool, typer.Option("--progress/--no-progress", help="A progress bar or log lines.")] = True,
    id_column: Annotated[str, typer.Option(
        "--id-column", help="The column naming each account in --input and --decisions.")] = "account",
    format: Annotated[str, typer.Option(
        "--format", help="table (the output file) or pdf: also print every letter (needs the 'pdf' extra).")] = "table",
    pdf_files: Annotated[str, typer.Option(
        "--pdf-files", help="pdf: notice (one file per notice, <row>-<locale>.pdf) or chunk (one merged file per "
                            "chunk, chunk-NNNNNN.pdf).")] = "notice",
    pdf_dir: Annotated[Path | None, typer.Option(
        "--pdf-dir", help="pdf: the folder of the printed letters (default: <out stem>-pdf beside --out).")] = None,
    paper: Annotated[str | None, typer.Option(
        "--paper", help="pdf: a4 or letter (default: the lender's jurisdiction's).")] = None,
    ignore: Annotated[list[str], typer.Option(
        "--ignore", help="A column of --input the model does not take (a label, a name); repeatable. Any other "
                         "such column is refused, as the API refuses it.")] = [],  # noqa: B006
) -> None:
    """Explain every account of a portfolio and write its notices; a killed run resumes where it stopped."""
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise _fail("explain batch needs the 'batch' extra: pip install 'limit-explain[batch]'") from None
    from explain.batch import run_batch
    from explain.batch._runner import default_pdf_dir

    issued = None
    if notice_date is not None:
        try:
            issued = _dt.date.fromisoformat(notice_date)
        except ValueError:
            raise _fail(f"--notice-date must be a date as YYYY-MM-DD, got {notice_date!r}") from None
    try:
        summary = run_batch(
            bundle=bundle, input=input, decisions=decisions, out=out, locales=_split(locale), channels=_split(channel),
            errors=errors, engine=engine, workers=workers, scheduler=scheduler, device=device, chunk_size=chunk_size,
            notice_date=issued, currency=currency, profile=profile, store_url=store, progress=progress,
            id_column=id_column, ignore=tuple(ignore), format=format, pdf_files=pdf_files, pdf_dir=pdf_dir,
            paper=paper,
        )
    except ExplainError as exc:
        raise _fail(str(exc)) from None
    Console(stderr=True).print(
        f"wrote {summary.out}: {summary.explained:,} accounts x {summary.output_rows // max(1, summary.explained)} "
        f"locales; {summary.error_rows:,} bad rows in {summary.errors}"
        + (f"; {summary.stored:,} audit records stored" if store else "")
        + (f"; resumed after {summary.resumed_chunks} finished chunks" if summary.resumed_chunks else "")
        + (f"; letters printed in {pdf_dir or default_pdf_dir(out)}" if format == "pdf" else "")
        + f" ({summary.rows_per_second:,.0f} accounts/s)", highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add the ``batch`` command to ``app``."""
    app.command("batch")(batch)
