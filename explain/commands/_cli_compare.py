"""``explain compare``: what a new model version changes in the reasons, how stable they are, who gets which.

    explain compare --old bundles/v1 --new bundles/v2 --input accounts.parquet --decisions decisions.csv \\
        --out governance.html --stability --cutoff 0.2 --protected sex --changes-out changed.jsonl

See :mod:`explain.governance`. The report is HTML (``--format html``, in ``--locale``) or JSON.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from explain._exceptions import ExplainError
from explain.commands._cli_common import check_input_file, fail

__all__ = ["register"]


def _backgrounds(values: list[str]) -> dict[str, str]:
    found = {}
    for value in values:
        name, sep, path = value.partition("=")
        if not sep or not name.strip() or not path.strip():
            raise fail(f"--background must be NAME=FILE (a .csv or .parquet of the model's features), got {value!r}")
        check_input_file(Path(path.strip()), f"--background {name.strip()}")
        found[name.strip()] = path.strip()
    return found


def compare(
    old: Annotated[str, typer.Option("--old", help="The bundle in use: a bundle folder, or 'demo'.")],
    new: Annotated[str, typer.Option("--new", help="The candidate bundle: a bundle folder, or 'demo'.")],
    input: Annotated[Path, typer.Option("--input", help="Accounts: .parquet or .csv, an 'account' column, the "
                                                       "features both models take and any protected columns.")],
    decisions: Annotated[Path, typer.Option("--decisions", help="Decisions, as for explain batch: account, decision, "
                                                               "old_limit, new_limit[, policy_reasons, currency].")],
    out: Annotated[Path, typer.Option("--out", "-o", help="The report: HTML, or JSON with --format json.")],
    output: Annotated[str, typer.Option("--format", help="html or json.")] = "html",
    locale: Annotated[str, typer.Option("--locale", help="zh_CN, en, zh_HK or zh_TW: the HTML report's language.")] = "zh_CN",
    cutoff: Annotated[float | None, typer.Option(
        "--cutoff", help="Approval cutoff on the score: counts accounts that cross it, and (with --stability) "
                         "tests reasons against the accounts at or just above it as the reference.")] = None,
    stability: Annotated[bool, typer.Option("--stability/--no-stability",
                                            help="Test the new bundle's reasons against other method choices.")] = False,
    marginal: Annotated[int, typer.Option("--marginal", min=5, help="Accounts nearest the cutoff in its reference.")] = 50,
    background: Annotated[list[str], typer.Option(
        "--background", help="NAME=FILE: a reference population the lender declares; repeatable.")] = [],  # noqa: B006
    protected: Annotated[list[str], typer.Option(
        "--protected", help="A protected-attribute column of --input to judge disparity on; repeatable.")] = [],  # noqa: B006
    share_threshold: Annotated[float, typer.Option("--share-threshold", min=0.0, max=1.0,
                                                   help="Flag share gaps above this (0-1).")] = 0.10,
    contribution_threshold: Annotated[float, typer.Option(
        "--contribution-threshold", min=0.0, help="Flag gaps of mean contribution above this (margin units).")] = 0.10,
    replicates: Annotated[int, typer.Option("--replicates", min=10, max=100_000, help="Bootstrap replicates.")] = 400,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Seed of the bootstrap.")] = 0,
    listed: Annotated[int, typer.Option("--listed", min=0, help="Accounts named in the report per list.")] = 50,
    changes_out: Annotated[Path | None, typer.Option(
        "--changes-out", help="One JSON line per account whose notice would change, that crosses the cutoff, or "
                              "whose reasons are unstable.")] = None,
    chunk_size: Annotated[int, typer.Option("--chunk-size", min=1, help="Accounts per chunk (memory is bounded by it).")] = 5000,
    engine: Annotated[str, typer.Option("--engine", help="local or dask.")] = "local",
    workers: Annotated[int, typer.Option("--workers", min=1, help="Dask workers (with --engine dask).")] = 1,
    scheduler: Annotated[str | None, typer.Option("--scheduler", help="A distributed scheduler address.")] = None,
    currency: Annotated[str, typer.Option("--currency", help="Currency of limits without a currency column.")] = "CNY",
) -> None:
    """Compare two bundles on the same accounts: changed notices, unstable reasons, disparities."""
    if output not in ("html", "json"):
        raise fail(f"--format must be 'html' or 'json', got {output!r}")
    check_input_file(input)
    check_input_file(decisions, "--decisions")
    from explain.commands._cli_common import load_bundle
    from explain.governance import compare_bundles, render_governance
    from explain.notices._locales import negotiate

    code = negotiate(locale, field="--locale")
    old_bundle, new_bundle = load_bundle(old), load_bundle(new)
    try:
        report = compare_bundles(
            old_bundle, new_bundle, accounts=input, decisions=decisions, chunk_size=chunk_size, cutoff=cutoff,
            stability=stability, marginal=marginal, backgrounds=_backgrounds(background), protected=tuple(protected),
            replicates=replicates, seed=seed, share_threshold=share_threshold,
            contribution_threshold=contribution_threshold, listed=listed, changes_out=changes_out, engine=engine,
            workers=workers, scheduler=scheduler, currency=currency)
    except ExplainError as exc:
        raise fail(str(exc)) from None
    if output == "json":
        out.write_text(report.to_json(), encoding="utf-8")
    else:
        out.write_text(render_governance(report, locale=code, catalog=new_bundle.catalog), encoding="utf-8")
    diff = report.diff
    summary = f"wrote {out}: {diff['accounts']:,} accounts, {diff['notice_changes']:,} notices would change"
    if report.stability is not None:
        summary += f", {report.stability['unstable']:,} decisions with unstable reasons"
    if report.disparity is not None:
        summary += f", {len(report.disparity['flags'])} disparities flagged"
    summary += f", {report.errors['count']:,} rows not compared"
    Console(stderr=True).print(summary, highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add the ``compare`` command to ``app``."""
    app.command("compare")(compare)
