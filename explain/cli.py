"""The ``explain`` command line: the same flow as the library, from a shell.

Bad input ends with a one-line message naming the option or column and a non-zero exit (2), never a
traceback.
"""

from __future__ import annotations

import json
import sys
import tomllib
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from explain.commands._cli_common import fail, load_bundle, read_accounts
from explain._exceptions import ExplainError

app = typer.Typer(help="Explain credit-limit decisions: SHAP reasons, notices and an audited service.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)

_DECISIONS = "limit_increase, limit_decrease, account_closure, increase_declined, increases_suspended"


def _reasons_table(results, catalog, title: str) -> Table:  # noqa: ANN001
    table = Table(title=title, show_lines=False)
    for column in ("row", "score", "#", "reason", "contribution", "value", "standing"):
        table.add_column(column, justify="right" if column in ("score", "contribution", "standing", "#") else "left")
    for result in results:
        first = True
        for rank, reason in enumerate(result.reasons, start=1):
            label = (catalog.groups.get(reason.code) or catalog.policy_reasons[reason.code]).label
            table.add_row(
                str(result.row) if first else "",
                f"{result.score:.3f}" if first else "",
                str(rank),
                f"{label} [dim]({reason.code})[/]",
                "policy" if reason.contribution is None else f"{reason.contribution:+.3f}",
                "" if reason.value is None else str(reason.value),
                _standing(reason),
            )
            first = False
        if first:
            table.add_row(str(result.row), f"{result.score:.3f}", "-", "[dim](no material reason)[/]", "", "", "")
        for ex in result.excluded:
            table.add_row("", "", "x", f"[dim]{catalog.groups[ex.code].label} ({ex.code}): protected, not a reason[/]",
                          f"[dim]{ex.contribution:+.3f}[/]", "", "")
    return table


def _standing(reason) -> str:  # noqa: ANN001
    """Percentile for numbers ("p90"), share of the background in the same category for categories."""
    if reason.percentile is not None:
        return f"p{reason.percentile:.0f}"
    return "" if reason.share is None else f"{reason.share:.0f}% same"


@app.command()
def demo(
    accounts: Annotated[int, typer.Option("--accounts", min=1, max=20, help="How many demo accounts to show.")] = 3,
) -> None:
    """Build (or load) the demo bundle and show the principal reasons for a few accounts per decision kind."""
    from explain import Decision, demo_bundle, demo_data

    console = Console()
    bundle = demo_bundle()
    explainer = bundle.explainer()
    console.print(f"[bold]{bundle.name}[/] {bundle.version}  sha256 {bundle.sha256[:16]}  "
                  f"method={explainer.method} mode={explainer.mode}  background={len(bundle.background)} rows")
    X = demo_data().iloc[:accounts]
    for decision in Decision:
        results = explainer.reasons(X, decision=decision)
        console.print(_reasons_table(results, bundle.catalog, f"{decision.value}: principal reasons"))
    _demo_notices(console, bundle)


def _demo_notices(console: Console, bundle) -> None:  # noqa: ANN001
    from explain.commands._cli_notice import print_demo_notices

    print_demo_notices(console, bundle)


@app.command()
def reasons(
    bundle: Annotated[str, typer.Option("--bundle", help="A bundle folder, or 'demo'.")],
    input: Annotated[Path, typer.Option("--input", help="Accounts: CSV, or JSON object/list.")],
    decision: Annotated[str, typer.Option("--decision", help=f"One of: {_DECISIONS}.")],
    top: Annotated[int, typer.Option("--top", help="At most this many reasons (1-5).")] = 4,
    policy_reason: Annotated[list[str], typer.Option("--policy-reason", help="A policy reason code; repeatable.")] = [],  # noqa: B006
    format: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
    id_column: Annotated[str | None, typer.Option(
        "--id-column", help="The column that names each account (shown with its reasons, not scored).")] = None,
    ignore: Annotated[list[str], typer.Option(
        "--ignore", help="A column the model does not take (a label, a name); repeatable.")] = [],  # noqa: B006
) -> None:
    """Print the principal reasons behind a decision for every account in a file."""
    from explain import Decision, MAX_REASONS

    if format not in ("table", "json"):
        raise fail(f"--format must be 'table' or 'json', got {format!r}")
    if not 1 <= top <= MAX_REASONS:
        raise fail(f"--top must be from 1 to {MAX_REASONS}, got {top}")
    kind = Decision.parse(decision)
    accounts = read_accounts(input, id_column=id_column, ignore=ignore)
    loaded = load_bundle(bundle)
    results = loaded.explainer().reasons(accounts, decision=kind, top=top, policy_reasons=tuple(policy_reason))
    if format == "json":
        typer.echo(json.dumps([r.to_dict() for r in results], ensure_ascii=False, indent=2, sort_keys=True))
    else:
        Console().print(_reasons_table(results, loaded.catalog, f"{kind.value}: principal reasons"))


def _register_layers() -> None:
    """Commands of the notices and service layers live beside their code."""
    from explain.commands import (_cli_batch, _cli_bundle, _cli_compare, _cli_lender, _cli_notice, _cli_report,
                                  _cli_service)

    _cli_lender.register(app)
    _cli_notice.register(app)
    _cli_service.register(app)
    _cli_report.register(app)
    _cli_batch.register(app)
    _cli_bundle.register(app)
    _cli_compare.register(app)  # model governance


_register_layers()


def main() -> None:
    """Entry point: domain errors become one-line messages with exit status 2."""
    try:
        app()
    except ExplainError as exc:
        Console(stderr=True).print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except tomllib.TOMLDecodeError as exc:
        Console(stderr=True).print(f"[bold red]error:[/] invalid TOML: {exc}", highlight=False)
        sys.exit(2)


if __name__ == "__main__":
    main()
