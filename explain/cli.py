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

from explain._exceptions import ExplainError

app = typer.Typer(help="Explain credit-limit decisions: SHAP reasons, notices and an audited service.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
catalog_app = typer.Typer(help="Create and check feature catalogs.", no_args_is_help=True)
app.add_typer(catalog_app, name="catalog")

_DECISIONS = "limit_increase, limit_decrease, account_closure, increase_declined"


def fail(message: str) -> typer.Exit:
    """Print a one-line error to stderr and return the exit to raise (status 2: bad usage or input)."""
    Console(stderr=True).print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(2)


def load_bundle(spec: str):  # noqa: ANN201 - ModelBundle, imported lazily to keep --help fast
    """``demo`` names the built-in demo bundle; anything else is a bundle folder."""
    from explain import ModelBundle, demo_bundle

    if spec == "demo":
        return demo_bundle()
    if not Path(spec).is_dir():
        raise fail(f"--bundle {spec!r} is neither 'demo' nor a bundle folder")
    return ModelBundle.load(spec)


def read_accounts(path: Path):  # noqa: ANN201 - DataFrame
    """Accounts from a CSV file, a JSON object (one account) or a JSON list of objects."""
    import pandas as pd

    if not path.is_file():
        raise fail(f"--input {str(path)!r} does not exist")
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise fail(f"--input {str(path)!r} is not valid JSON ({exc})") from exc
        rows = [data] if isinstance(data, dict) else data
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise fail(f"--input {str(path)!r} must hold a JSON object or a list of objects (one per account)")
        return pd.DataFrame(rows)
    return pd.read_csv(path)


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
    from explain._cli_notice import print_demo_notices

    print_demo_notices(console, bundle)


@app.command()
def reasons(
    bundle: Annotated[str, typer.Option("--bundle", help="A bundle folder, or 'demo'.")],
    input: Annotated[Path, typer.Option("--input", help="Accounts: CSV, or JSON object/list.")],
    decision: Annotated[str, typer.Option("--decision", help=f"One of: {_DECISIONS}.")],
    top: Annotated[int, typer.Option("--top", help="At most this many reasons (1-5).")] = 4,
    policy_reason: Annotated[list[str], typer.Option("--policy-reason", help="A policy reason code; repeatable.")] = [],  # noqa: B006
    format: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
) -> None:
    """Print the principal reasons behind a decision for every account in a file."""
    from explain import Decision, MAX_REASONS

    if format not in ("table", "json"):
        raise fail(f"--format must be 'table' or 'json', got {format!r}")
    if not 1 <= top <= MAX_REASONS:
        raise fail(f"--top must be from 1 to {MAX_REASONS}, got {top}")
    loaded = load_bundle(bundle)
    kind = Decision.parse(decision)
    results = loaded.explainer().reasons(read_accounts(input), decision=kind, top=top, policy_reasons=tuple(policy_reason))
    if format == "json":
        typer.echo(json.dumps([r.to_dict() for r in results], ensure_ascii=False, indent=2, sort_keys=True))
    else:
        Console().print(_reasons_table(results, loaded.catalog, f"{kind.value}: principal reasons"))


@catalog_app.command("init")
def catalog_init(
    data: Annotated[Path, typer.Option("--data", help="A CSV of accounts with the model's raw features.")],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")] = None,
    target: Annotated[str | None, typer.Option("--target", help="A label column to leave out.")] = None,
    name: Annotated[str, typer.Option("--name", help="Catalog name.")] = "draft",
) -> None:
    """Write a starting catalog (one group per column, kinds guessed) for a person to edit."""
    import pandas as pd
    import tomli_w

    from explain._catalog import draft_catalog

    if not data.is_file():
        raise fail(f"--data {str(data)!r} does not exist")
    frame = pd.read_csv(data)
    if target is not None and target not in frame.columns:
        raise fail(f"--target {target!r} is not a column of {str(data)!r}")
    text = tomli_w.dumps(draft_catalog(frame, name=name, target=target))
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        Console(stderr=True).print(f"wrote {output} ({len(frame.columns) - (target is not None)} features); "
                                   "edit groups, protected flags and phrases before use")


@catalog_app.command("check")
def catalog_check(
    path: Annotated[Path, typer.Argument(help="The catalog TOML file.")],
    bundle: Annotated[str | None, typer.Option("--bundle", help="Also check it covers this bundle's features.")] = None,
) -> None:
    """Validate a catalog file (and optionally that it fits a bundle's model)."""
    from explain import FeatureCatalog

    if not path.is_file():
        raise fail(f"{str(path)!r} does not exist")
    catalog = FeatureCatalog.from_toml(path)
    if bundle is not None:
        catalog.check_features(load_bundle(bundle).feature_names)
    typer.echo(f"ok: {catalog!r}")


def _register_layers() -> None:
    """Commands of the notices and service layers live beside their code."""
    from explain import _cli_batch, _cli_notice, _cli_service

    _cli_notice.register(app)
    _cli_service.register(app)
    _cli_batch.register(app)


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
