"""The lender's own folder from a shell: draft and check a catalog, extract and check its translations.

A lender keeps ``catalog.toml``, ``profile.toml`` and ``translations/<locale>.po`` in a folder of its own;
nothing in the toolkit is edited::

    explain catalog init --data accounts.csv --ignore customer_id -o lender/catalog.toml
    explain phrases update lender/        # translations/phrases.pot + <locale>.po, no fuzzy matching
    explain phrases check lender/         # every phrase translated in every locale?
    explain catalog check lender/catalog.toml --data accounts.csv
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from explain._exceptions import ExplainError
from explain.commands._cli_common import check_input_file, fail, load_bundle, read_accounts

catalog_app = typer.Typer(help="Draft and check a lender's feature catalog.", no_args_is_help=True)
phrases_app = typer.Typer(help="The lender's phrases and their translations (gettext .po files).", no_args_is_help=True)


def _load_model_file(path: Path, trusted: bool) -> Any:
    """A fitted model from the file formats a bundle takes (skops, XGBoost JSON/UBJ, LightGBM text)."""
    from explain._bundle import _load_model

    formats = {".skops": "skops", ".json": "xgboost-json", ".ubj": "xgboost-ubj", ".txt": "lightgbm-text"}
    if path.suffix.lower() not in formats:
        raise fail(f"--model {str(path)!r} must be a .skops, .json, .ubj (XGBoost) or .txt (LightGBM) file")
    return _load_model(path, formats[path.suffix.lower()], path.read_bytes(), trusted=trusted)


@catalog_app.command("init")
def catalog_init(
    data: Annotated[Path, typer.Option("--data", help="A CSV of accounts with the model's raw features.")],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")] = None,
    target: Annotated[str | None, typer.Option("--target", help="A label column to leave out.")] = None,
    ignore: Annotated[list[str], typer.Option("--ignore", help="Another column to leave out; repeatable.")] = [],  # noqa: B006
    model: Annotated[Path | None, typer.Option(
        "--model", help="The fitted model (.skops/.json/.ubj/.txt): directions are inferred from its scores.")] = None,
    trusted: Annotated[bool, typer.Option("--trusted", help="Load a skops model with types outside the safe list.")] = False,
    higher_is: Annotated[str, typer.Option("--higher-is", help="What a higher score means: risk or better.")] = "risk",
    name: Annotated[str, typer.Option("--name", help="Catalog name.")] = "draft",
) -> None:
    """Write a draft catalog: one group per column, kinds and directions inferred, protected traits marked."""
    import tomli_w

    from explain.catalog._catalog_draft import catalog_to_dict, draft_catalog

    if higher_is not in ("risk", "better"):
        raise fail(f"--higher-is must be 'risk' or 'better', got {higher_is!r}")
    check_input_file(data, "--data")
    if model is not None:
        check_input_file(model, "--model")
    frame = read_accounts(data, ignore=[c for c in [*ignore, *([target] if target else [])]])
    fitted = _load_model_file(model, trusted) if model is not None else None
    try:
        catalog = draft_catalog(frame, model=fitted, name=name, higher_is=higher_is)
    except ExplainError as exc:
        raise fail(f"--model {str(model)!r} cannot score --data {str(data)!r}, so no direction can be inferred: {exc}") from None
    directed = sum(g.direction != "none" for g in catalog.groups.values())
    text = tomli_w.dumps(catalog_to_dict(catalog))
    protected = [g.code for g in catalog.groups.values() if g.protected]
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
    Console(stderr=True).print(
        f"drafted {len(catalog.features)} features; directions from the model: "
        f"{directed if model is not None else 'none (no --model)'}; protected (proposed): {', '.join(protected) or 'none'}; "
        "write every TODO phrase as a whole sentence (\"Your savings with us are very low.\", never \"Savings: very low\"), "
        "then `explain phrases update` and `explain catalog check`", highlight=False)


@catalog_app.command("check")
def catalog_check(
    path: Annotated[Path | None, typer.Argument(help="The catalog TOML (default: the bundle's).")] = None,
    bundle: Annotated[str | None, typer.Option("--bundle", help="A bundle folder or 'demo': its features, "
                                                                 "background and model are checked too.")] = None,
    data: Annotated[Path | None, typer.Option("--data", help="Accounts (CSV) to check values and proxies on.")] = None,
    ignore: Annotated[list[str], typer.Option("--ignore", help="A column of --data to leave out; repeatable.")] = [],  # noqa: B006
) -> None:
    """Fail (one line per problem) on a catalog not fit to word notices; report proxies and counter-intuitive shares."""
    import tomllib

    from explain import FeatureCatalog, Phrasebook, TranslationError
    from explain.catalog._catalog_check import check_catalog
    from explain.catalog._phrasebook import TRANSLATIONS_DIR

    if path is None and bundle is None:
        raise fail("give a catalog file, --bundle, or both")
    if path is not None:
        check_input_file(path, "catalog")
    if data is not None:
        check_input_file(data, "--data")
    loaded = load_bundle(bundle) if bundle is not None else None
    source = path if path is not None else loaded.path / loaded.manifest["catalog"]
    text = source.read_text(encoding="utf-8")
    catalog = FeatureCatalog.from_dict(tomllib.loads(text), source=text)
    phrases = None
    if (source.parent / TRANSLATIONS_DIR).is_dir():
        try:
            phrases = Phrasebook.from_dir(source.parent / TRANSLATIONS_DIR)
        except TranslationError as exc:
            raise fail(str(exc)) from None
    background = read_accounts(data, ignore=ignore) if data is not None else (loaded.background if loaded else None)
    problems: list[str] = []
    if loaded is not None:
        try:
            catalog.check_features(loaded.feature_names)
        except Exception as exc:  # noqa: BLE001 - a CatalogError names the feature; keep listing the rest
            problems.append(str(exc))
    report = check_catalog(catalog, phrases=phrases, background=background,
                           explainer=loaded.explainer() if loaded is not None else None,
                           jurisdictions=_jurisdictions(source, loaded))
    problems.extend(report.problems)
    console = Console(highlight=False, soft_wrap=True)
    for note in report.notes:
        console.print(f"note: {note}", markup=False)
    for warning in report.warnings:
        console.print(f"warning: {warning}", markup=False)
    for problem in problems:
        console.print(f"problem: {problem}", markup=False)
    if problems:
        raise typer.Exit(1)
    console.print(f"ok: {catalog!r}", markup=False)


def _jurisdictions(catalog_file: Path, loaded: Any) -> tuple[str, ...]:
    """The packs whose forbidden factors apply: the profile's (the bundle's, or profile.toml beside the catalog);
    every pack when there is none, so a catalog cannot pass by leaving the question open."""
    import tomllib

    from explain.notices._jurisdiction import JURISDICTIONS

    if loaded is not None:
        return (loaded.profile.legal.jurisdiction,)
    profile = catalog_file.parent / "profile.toml"
    if profile.is_file():
        try:
            pack = tomllib.loads(profile.read_text(encoding="utf-8")).get("lender", {}).get("jurisdiction", "CN")
        except (OSError, tomllib.TOMLDecodeError):
            return JURISDICTIONS
        if pack in JURISDICTIONS:
            return (pack,)
    return JURISDICTIONS


def _phrase_files(folder: Path) -> list[Path]:
    """The files of a lender's folder that hold phrases: its catalog and its profile."""
    files = [folder / name for name in ("catalog.toml", "profile.toml") if (folder / name).is_file()]
    if not files:
        raise fail(f"{str(folder)!r} has neither catalog.toml nor profile.toml")
    return files


@phrases_app.command("update")
def phrases_update(
    folder: Annotated[Path, typer.Argument(help="The lender's folder (catalog.toml, profile.toml).")],
    locale: Annotated[list[str] | None, typer.Option(
        "--locale", help="Also start this locale's file (zh_HK, zh_TW); repeat for several. zh_CN and en, and "
                         "every locale that already has a file, are always updated.")] = None,
) -> None:
    """Extract the lender's phrases into translations/phrases.pot and update each <locale>.po (no fuzzy matching)."""
    from explain._exceptions import UnsupportedLocaleError
    from explain.catalog._i18n_extract import update_translations

    files = _phrase_files(folder)
    try:
        counts = update_translations(folder, *files, project=folder.resolve().name, locales=locale or ())
    except UnsupportedLocaleError as exc:
        raise fail(str(exc)) from None
    for locale, c in counts.items():
        typer.echo(f"{folder / 'translations' / (locale + '.po')}: {c['total']} phrases, {c['new']} new, "
                   f"{c['untranslated']} to translate")


@phrases_app.command("check")
def phrases_check(
    folder: Annotated[Path, typer.Argument(help="The lender's folder.")],
) -> None:
    """Fail, naming each phrase and locale, unless every phrase has a reviewed translation."""
    from explain import Phrasebook, TranslationError
    from explain.catalog._i18n_extract import lender_phrases
    from explain.catalog._phrasebook import TRANSLATIONS_DIR

    files = _phrase_files(folder)
    try:
        Phrasebook.from_dir(folder / TRANSLATIONS_DIR).require(lender_phrases(*files))
    except TranslationError as exc:
        Console(stderr=True, highlight=False, soft_wrap=True).print(str(exc), markup=False)
        raise typer.Exit(1) from None
    typer.echo(f"ok: every phrase of {', '.join(f.name for f in files)} is translated in every locale")


def register(app: typer.Typer) -> None:
    """Add ``catalog`` and ``phrases`` to ``app``."""
    app.add_typer(catalog_app, name="catalog")
    app.add_typer(phrases_app, name="phrases")
