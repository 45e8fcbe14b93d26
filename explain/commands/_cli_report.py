"""``explain audit report``: the compliance report of a period, from the audit store, as HTML or JSON."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated

import typer

__all__ = ["register"]


def _instant(value: str | None, option: str) -> str | None:
    """An ISO date or date-time as the store's UTC timestamp string; a bare date is midnight UTC."""
    if value is None:
        return None
    from explain.audit._store import utc_timestamp

    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        typer.echo(f"error: The '{option}' must be an ISO 8601 date or date-time (2026-11-01 or "
                   f"2026-11-01T00:00:00Z). Got {value!r} instead.", err=True)
        raise typer.Exit(2) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return utc_timestamp(moment)


def report(
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to write the report (HTML, or JSON with --format json).")],
    since: Annotated[str | None, typer.Option("--since", help="Inclusive, ISO 8601 (UTC when no offset).")] = None,
    until: Annotated[str | None, typer.Option("--until", help="Exclusive, ISO 8601.")] = None,
    locale: Annotated[str, typer.Option("--locale", help="zh_CN, en, zh_HK or zh_TW: the report's language.")] = "zh_CN",
    output: Annotated[str, typer.Option("--format", help="html or json.")] = "html",
    bundle: Annotated[list[str] | None, typer.Option("--bundle", help="Bundles the records name (folder or 'demo'); "
                                                     "repeat for several.")] = None,
    sample: Annotated[int, typer.Option("--sample", min=0, max=10_000, help="Records to replay.")] = 20,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the replay sample.")] = 0,
    database_url: Annotated[str | None, typer.Option("--database-url", envvar="EXPLAIN_DATABASE_URL",
                                                     help="The audit store (default: the embedded SQLite file).")] = None,
) -> None:
    """Write the compliance report of the audit trail between --since and --until."""
    from explain._bundle import ModelBundle
    from explain._demo import demo_bundle
    from explain.notices._locales import negotiate
    from explain.audit._report import render_report, report_from_store
    from explain.audit._reads import ReadLoggingStore, operator
    from explain.audit._store import AuditStore, configured_database_url

    if output not in ("html", "json"):
        typer.echo(f"error: The '--format' must be 'html' or 'json'. Got {output!r} instead.", err=True)
        raise typer.Exit(2)
    code = negotiate(locale, field="--locale")
    since_s, until_s = _instant(since, "--since"), _instant(until, "--until")
    if since_s and until_s and until_s <= since_s:
        typer.echo(f"error: The '--until' must be after '--since' ({since_s}). Got {until_s!r} instead.", err=True)
        raise typer.Exit(2)
    bundles = [demo_bundle() if spec == "demo" else ModelBundle.load(Path(spec)) for spec in (bundle or ["demo"])]
    store = AuditStore(database_url or configured_database_url())
    try:
        # The report lists account references: its reads go on record like the service's, in the operator's name.
        figures = report_from_store(ReadLoggingStore(store, operator()), bundles=bundles, since=since_s, until=until_s, sample_size=sample, seed=seed)
    finally:
        store.close()
    if output == "json":
        out.write_text(json.dumps(figures.to_dict(), ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    else:
        out.write_text(render_report(figures, locale=code, catalog=bundles[0].catalog), encoding="utf-8")
    chain = "verified" if figures.integrity["chain"]["ok"] else "BROKEN"
    typer.echo(f"wrote {out}: {figures.total} decisions, chain {chain}, {figures.additivity['failure_count']} "
               f"additivity failures, replay {figures.replay['identical']}/{figures.replay['sample_size']} identical",
               err=True)


def register(app: typer.Typer) -> None:
    """Add ``audit report`` to the ``explain`` command."""
    audit_app = typer.Typer(help="Reports on the audit trail, and its Merkle log.", no_args_is_help=True)
    audit_app.command("report")(report)
    from explain.commands._cli_log import register_audit

    register_audit(audit_app)
    app.add_typer(audit_app, name="audit")
