"""Writing results so that a run killed at any point can be started again and finish exactly once.

Whoever processes a chunk (this process, a worker, a Dask worker) *stages* its rows and errors as
``<out>.parts/staged-part-NNNNNN.parquet`` and ``staged-errors-NNNNNN.parquet``, each through a temporary name
and an atomic rename. The run then, in chunk order, stores the chunk's audit records and *commits* it:
renames the errors and then the part to ``errors-NNNNNN.parquet`` and ``part-NNNNNN.parquet``. A part file
exists completely or not at all, and its presence is what marks the chunk done; a staged file is not done,
and a restart writes it again. A run killed between storing and committing processes that chunk again, and
the store skips the records it already holds (their ids derive from the inputs). When every chunk is done the parts are joined, in chunk order, into the output file (again
through a temporary name), the errors file likewise, and the parts folder is removed.

``run.json`` in the parts folder pins what the parts were made from (input hashes, options, notice date):
a restart with different inputs or options refuses to mix its rows with the old ones.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from explain._exceptions import InvalidInputError
from explain._spreadsheet import neutralise_cell
from explain.batch._plan import ERROR_COLUMNS

__all__ = ["PartsFolder", "output_columns", "stage_chunk", "to_arrow", "write_frame"]

_BASE = ("row", "account", "decision_id", "decision", "old_limit", "new_limit", "currency", "score", "locale",
         "reason_codes", "reason_contributions", "excluded_codes", "reference", "template_version", "recourse")
_CHANNEL_PARTS = {"letter": ("subject", "text", "html"), "short": ("short",)}
_LISTS = {"reason_codes": "string", "reason_contributions": "float64", "excluded_codes": "string"}
_NUMBERS = {"row": "int64", "old_limit": "float64", "new_limit": "float64", "score": "float64"}


def output_columns(channels: Iterable[str], *, pdf: bool = False) -> list[str]:
    """The output file's columns: the decision and its reasons, then the parts of each channel asked for, and
    with ``--format pdf`` the printed letter's file name (in the PDF folder)."""
    columns = list(_BASE)
    for channel in channels:
        columns.extend(_CHANNEL_PARTS[channel])
    if pdf:
        columns.append("pdf")
    return columns


def to_arrow(frame: pd.DataFrame, columns: list[str]):  # noqa: ANN201 - pyarrow.Table
    """A table with a fixed schema (lists typed even when empty) and no pandas metadata: the same bytes
    whatever engine or chunk produced the rows."""
    import pyarrow as pa

    arrays, fields = [], []
    for column in columns:
        if column in _LISTS:
            kind = pa.list_(pa.string() if _LISTS[column] == "string" else pa.float64())
        elif column in _NUMBERS:
            kind = pa.int64() if _NUMBERS[column] == "int64" else pa.float64()
        else:
            kind = pa.string()
        values = frame[column].tolist() if column in frame else [None] * len(frame)
        arrays.append(pa.array(values, type=kind))
        fields.append(pa.field(column, kind))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def _json_list(values: Any) -> str:
    """A list cell as JSON text (CSV has no lists); a missing contribution (policy reason) is null."""
    if values is None:
        return "[]"
    plain = [v.item() if hasattr(v, "item") else v for v in values]
    return json.dumps([None if isinstance(v, float) and math.isnan(v) else v for v in plain], ensure_ascii=False)


def _csv_ready(frame: pd.DataFrame) -> pd.DataFrame:
    """Lists as JSON text, and every text cell a spreadsheet would run as a formula neutralised (OWASP)."""
    frame = frame.copy()
    for column in _LISTS:
        if column in frame:
            frame[column] = [_json_list(v) for v in frame[column].tolist()]
    for column in frame.columns:
        if not pd.api.types.is_numeric_dtype(frame[column]):  # text, whatever pandas calls its dtype
            frame[column] = [neutralise_cell(v) for v in frame[column].tolist()]
    return frame


def write_frame(frame: pd.DataFrame, path: Path, columns: list[str]) -> None:
    """``frame`` as Parquet or CSV (by ``path``'s suffix), through a temporary file and an atomic rename."""
    # A name of this writer's own: a chunk run twice at once (a Dask retry) never renames another's half file.
    tmp = path.with_name(f"{path.name}.{os.getpid()}-{threading.get_ident()}.tmp")
    if path.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq

        pq.write_table(to_arrow(frame, columns), tmp)
    else:
        _csv_ready(frame.reindex(columns=columns)).to_csv(tmp, index=False, lineterminator="\n")
    os.replace(tmp, path)


def _staged(folder: Path, name: str) -> Path:
    return folder / f"staged-{name}"


def stage_chunk(folder: str | Path, i: int, rows: pd.DataFrame, errors: pd.DataFrame, columns: list[str]) -> None:
    """Write chunk ``i``'s rows and errors under their staged names (not done until committed)."""
    folder = Path(folder)
    write_frame(errors, _staged(folder, f"errors-{i:06d}.parquet"), list(ERROR_COLUMNS))
    write_frame(rows, _staged(folder, f"part-{i:06d}.parquet"), columns)


class PartsFolder:
    """The parts of one run, beside its output file."""

    def __init__(self, out: Path, errors: Path, key: dict[str, Any]) -> None:
        self.out, self.errors = out, errors
        self.path = out.with_name(out.name + ".parts")
        self.key = key

    def open(self, today: str) -> dict[str, Any]:
        """Start, or resume a run made from the same inputs; returns its key, with the notice date fixed at
        the first start (``today`` unless one was given), so a resumed run writes the same notices."""
        state = self.path / "run.json"
        if state.is_file():
            stored = json.loads(state.read_text(encoding="utf-8"))
            same = {k: v for k, v in stored.items() if k != "notice_date"} == {
                k: v for k, v in self.key.items() if k != "notice_date"}
            if not same or self.key.get("notice_date") not in (None, stored.get("notice_date")):
                raise InvalidInputError(
                    "--out", f"written with the same inputs and options as the unfinished run whose parts are in "
                             f"{self.path} (or remove that folder to start over)", str(self.out))
            return stored
        key = {**self.key, "notice_date": self.key.get("notice_date") or today}
        self.path.mkdir(parents=True, exist_ok=True)
        tmp = state.with_name("run.json.tmp")
        tmp.write_text(json.dumps(key, sort_keys=True, indent=2), encoding="utf-8")
        os.replace(tmp, state)
        return key

    def part(self, i: int) -> Path:
        return self.path / f"part-{i:06d}.parquet"

    def errors_part(self, i: int) -> Path:
        return self.path / f"errors-{i:06d}.parquet"

    def done(self, n_chunks: int) -> set[int]:
        return {i for i in range(n_chunks) if self.part(i).is_file()}

    def commit(self, i: int) -> None:
        """Mark staged chunk ``i`` done: its errors, then its part (whose presence is the mark)."""
        os.replace(_staged(self.path, self.errors_part(i).name), self.errors_part(i))
        os.replace(_staged(self.path, self.part(i).name), self.part(i))

    def finish(self, n_chunks: int, columns: list[str], plan_errors: pd.DataFrame) -> tuple[int, int]:
        """Join the parts into the output and errors files; return (output rows, error rows)."""
        import pyarrow.parquet as pq

        rows = self._join([self.part(i) for i in range(n_chunks)], self.out, columns)
        chunk_errors = [pq.read_table(self.errors_part(i)).to_pandas() for i in range(n_chunks)]
        errors = pd.concat([plan_errors, *chunk_errors], ignore_index=True) if chunk_errors else plan_errors
        order = errors.assign(_file=(errors["file"] != "decisions").astype(int)).sort_values(["_file", "row"], kind="stable")
        write_frame(errors.loc[order.index].reset_index(drop=True), self.errors, list(ERROR_COLUMNS))
        shutil.rmtree(self.path)
        return rows, len(errors)

    def _join(self, parts: list[Path], target: Path, columns: list[str]) -> int:
        import pyarrow.parquet as pq

        tmp = target.with_name(target.name + ".tmp")
        total = 0
        if target.suffix.lower() == ".parquet":
            writer = None
            for part in parts:
                table = pq.read_table(part)
                writer = writer or pq.ParquetWriter(tmp, table.schema)
                writer.write_table(table)
                total += table.num_rows
            if writer is None:
                pq.write_table(to_arrow(pd.DataFrame(columns=columns), columns), tmp)
            else:
                writer.close()
        else:
            with tmp.open("w", encoding="utf-8", newline="") as handle:
                handle.write(",".join(columns) + "\n")
                for part in parts:
                    frame = _csv_ready(pq.read_table(part).to_pandas())
                    frame.to_csv(handle, index=False, header=False, lineterminator="\n")
                    total += len(frame)
        os.replace(tmp, target)
        return total
