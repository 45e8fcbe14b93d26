"""``explain bundle build``: a bundle from a model file, the lender's folder and a background CSV, no Python.

A lender who fits its model elsewhere exports it in a format that cannot run code on load (XGBoost
``model.json``/``model.ubj``, LightGBM ``model.txt``, skops for scikit-learn) and builds the bundle the
service, the CLI and batch all read::

    explain bundle build --model model.json --lender lender/ --background good_accounts.csv \\
        --name my-model --version 2026.12 -o bundles/my-model-2026.12
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from explain._exceptions import ExplainError
from explain.commands._cli_common import check_input_file, fail, read_accounts

bundle_app = typer.Typer(help="Build a model bundle from files (no Python needed).", no_args_is_help=True)

#: Model file suffix -> the bundle's format for it.
MODEL_SUFFIXES = {".skops": "skops", ".json": "xgboost-json", ".ubj": "xgboost-ubj", ".txt": "lightgbm-text"}


@bundle_app.command("build")
def bundle_build(
    model: Annotated[Path, typer.Option("--model", help="The fitted model: .json/.ubj (XGBoost), .txt (LightGBM) "
                                                         "or .skops (scikit-learn).")],
    lender: Annotated[Path, typer.Option("--lender", help="The lender's folder: catalog.toml, profile.toml, "
                                                           "translations/.")],
    background: Annotated[Path, typer.Option("--background", help="A CSV of reference accounts (e.g. in good "
                                                                   "standing): the model's raw features.")],
    name: Annotated[str, typer.Option("--name", help="The bundle's name (what API requests and batch name).")],
    version: Annotated[str, typer.Option("--version", help="The bundle's version.")],
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="The bundle folder to write (default: ./<name>-<version>).")] = None,
    higher_is: Annotated[str, typer.Option("--higher-is", help="What a higher score means: risk or better.")] = "risk",
    ignore: Annotated[list[str], typer.Option(
        "--ignore", help="A column of --background the model does not take (a label, an id); repeatable.")] = [],  # noqa: B006
    description: Annotated[str, typer.Option("--description", help="One line on what the model predicts.")] = "",
    trusted: Annotated[bool, typer.Option("--trusted", help="Load a skops model with types outside the safe list.")] = False,
) -> None:
    """Build a bundle: the model, the lender's catalog, profile and translations, the background, hashed."""
    from explain._bundle import _load_model, save_bundle
    from explain.attribution._models import frame_for_model

    suffix = model.suffix.lower()
    if suffix not in MODEL_SUFFIXES:
        raise fail(f"--model {str(model)!r} must be a .json or .ubj (XGBoost), .txt (LightGBM) or .skops "
                   "(scikit-learn) file")
    if higher_is not in ("risk", "better"):
        raise fail(f"--higher-is must be 'risk' or 'better', got {higher_is!r}")
    check_input_file(model, "--model")
    check_input_file(background, "--background")
    if not lender.is_dir():
        raise fail(f"--lender {str(lender)!r} is not a folder (catalog.toml, profile.toml, translations/)")
    fmt = MODEL_SUFFIXES[suffix]
    target = output or Path(f"{name}-{version}")
    try:
        fitted = _load_model(model, fmt, model.read_bytes(), trusted=trusted)
        frame = frame_for_model(fitted, read_accounts(background, ignore=ignore))
        built = save_bundle(target, model=fitted, background=frame, lender=lender, name=name, version=version,
                            higher_is=higher_is, model_format=fmt, description=description)
        explainer = built.explainer()  # the model must explain its own background: found now, not in service
    except ExplainError as exc:
        raise fail(str(exc)) from None
    typer.echo(f"built {str(target)!r}: {built.name} {built.version}, {len(built.background)} background rows, "
               f"{explainer.method}, sha256 {built.sha256}")


def register(app: typer.Typer) -> None:
    """Add ``bundle`` to ``app``."""
    app.add_typer(bundle_app, name="bundle")
