"""What every ``explain`` command shares: one-line failures, loading a bundle, reading an accounts file."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console

__all__ = ["check_input_file", "fail", "load_bundle", "read_accounts"]


def fail(message: str) -> typer.Exit:
    """Print a one-line error to stderr and return the exit to raise (status 2: bad usage or input)."""
    Console(stderr=True).print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(2)


def load_bundle(spec: str):  # noqa: ANN201 - ModelBundle, imported lazily to keep --help fast
    """``demo`` names the built-in demo bundle; anything else is a bundle folder."""
    from explain._demo import open_bundle
    from explain._exceptions import InvalidInputError

    try:
        return open_bundle(spec)
    except InvalidInputError as exc:
        if exc.field != "--bundle":
            raise
        raise fail(f"--bundle {spec!r} is neither 'demo' nor a bundle folder") from None


def check_input_file(path: Path, option: str = "--input") -> None:
    """Fail on a missing input before anything slow (loading a bundle) happens."""
    if not path.is_file():
        raise fail(f"{option} {str(path)!r} does not exist")


def read_accounts(path: Path, *, id_column: str | None = None, ignore: list[str] | tuple[str, ...] = ()):  # noqa: ANN201
    """Accounts from a CSV file, a JSON object (one account) or a JSON list of objects.

    ``id_column`` becomes the index (the account reference shown with each result); ``ignore`` names columns
    the model does not take (a label, a name), dropped before scoring.
    """
    frame = _read_frame(path)
    unknown = [c for c in [*([id_column] if id_column else []), *ignore] if c not in frame.columns]
    if unknown:
        option = "--id-column" if id_column in unknown else "--ignore"
        raise fail(f"{option} {unknown[0]!r} is not a column of {str(path)!r} (columns: {', '.join(map(str, frame.columns))})")
    frame = frame.drop(columns=list(ignore))
    if id_column:
        if frame[id_column].duplicated().any():
            raise fail(f"--id-column {id_column!r} has repeated values, e.g. {frame[id_column][frame[id_column].duplicated()].iloc[0]!r}")
        frame = frame.set_index(id_column)
    return frame


def _read_frame(path: Path):  # noqa: ANN202 - DataFrame
    import pandas as pd

    check_input_file(path)
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
