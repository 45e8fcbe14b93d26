"""Reading the two input files in chunks: the lender's accounts (features) and its decisions.

Accounts are streamed: chunk ``i`` is always rows ``[i * size, (i + 1) * size)`` of the file, whichever engine
reads it and however often (a resumed run re-reads the same chunk boundaries). Parquet chunks are cut from
the row groups that overlap them, so a chunk costs its own rows; CSV chunks are read in order by the local
engine and found by skipping lines on a Dask worker (Parquet is the format for large portfolios).

The account reference is always read as text, so ``000123`` stays ``000123``.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from explain._exceptions import InvalidInputError

__all__ = ["ACCOUNT", "InputTable", "open_table"]

#: The column that joins accounts to decisions.
ACCOUNT = "account"
_FORMATS = (".parquet", ".csv")


class InputTable:
    """One input file, read in fixed chunks.

    Parameters
    ----------
    path
        A ``.parquet`` or ``.csv`` file.
    option
        The command-line option it came from, named in every error.
    key
        The column that names each account in the file (``--id-column``); it reads as :data:`ACCOUNT`.
    """

    def __init__(self, path: str | Path, *, option: str, key: str = ACCOUNT) -> None:
        self.path = Path(path)
        self.option = option
        self.key = key
        if not self.path.is_file():
            raise InvalidInputError(option, "an existing .parquet or .csv file", str(self.path))
        self.format = self.path.suffix.lower()
        if self.format not in _FORMATS:
            raise InvalidInputError(option, "a file ending in .parquet or .csv", str(self.path))
        raw = self._columns()
        if key not in raw:
            raise InvalidInputError(f"{option} column {key!r}", "the account reference column (name it with "
                                    "--id-column)", raw)
        if key != ACCOUNT and ACCOUNT in raw:
            raise InvalidInputError(f"{option} column {ACCOUNT!r}", f"absent when --id-column names {key!r} (two "
                                    "account columns)", raw)
        self.columns = [ACCOUNT if c == key else c for c in raw]

    # -- shape ---------------------------------------------------------------------------------------------
    def _columns(self) -> list[str]:
        if self.format == ".parquet":
            return list(self._parquet().schema_arrow.names)
        return list(pd.read_csv(self.path, nrows=0).columns)

    @functools.cached_property
    def n_rows(self) -> int:
        if self.format == ".parquet":
            return self._parquet().metadata.num_rows
        # Counted by the CSV parser itself (one column), so quoted line breaks cannot shift the chunks.
        reader = pd.read_csv(self.path, usecols=[self.key], dtype={self.key: str}, chunksize=1 << 16)
        return sum(len(frame) for frame in reader)

    def _parquet(self):  # noqa: ANN202 - pyarrow.parquet.ParquetFile, imported lazily
        import pyarrow.parquet as pq

        return pq.ParquetFile(self.path)

    # -- reading -------------------------------------------------------------------------------------------
    def _usecols(self, columns: list[str] | None) -> list[str] | None:
        return None if columns is None else [self.key if c == ACCOUNT else c for c in columns]

    def _fix(self, frame: pd.DataFrame) -> pd.DataFrame:
        if self.key != ACCOUNT:
            frame = frame.rename(columns={self.key: ACCOUNT})
        refs = frame[ACCOUNT]
        frame[ACCOUNT] = refs.astype(object).where(refs.notna(), None).map(lambda v: None if v is None else str(v).strip())
        return frame

    def iter_chunks(self, size: int, *, columns: list[str] | None = None, start: int = 0,
                    as_text: bool = False) -> Iterator[pd.DataFrame]:
        """Chunks ``start, start + 1, ...`` in order, each indexed by its rows' positions in the file.

        ``as_text`` reads every CSV column as text (Parquet columns keep their types): each chunk of a CSV
        would otherwise guess its own types, and a value would read differently depending on its neighbours.
        """
        if self.format == ".parquet":
            for i in range(start, self.n_chunks(size)):
                yield self.read_chunk(i, size, columns=columns)
            return
        reader = pd.read_csv(self.path, usecols=self._usecols(columns), dtype=str if as_text else {self.key: str},
                             chunksize=size)
        for i, frame in enumerate(reader):
            if i >= start:
                frame.index = pd.RangeIndex(i * size, i * size + len(frame))
                yield self._fix(frame)

    def n_chunks(self, size: int) -> int:
        return -(-self.n_rows // size)

    def read_chunk(self, i: int, size: int, *, columns: list[str] | None = None) -> pd.DataFrame:
        """Chunk ``i`` alone (a Dask partition): the same rows :meth:`iter_chunks` gives as its ``i``-th."""
        first = i * size
        if self.format == ".parquet":
            pf = self._parquet()
            meta = pf.metadata
            starts = np.cumsum([0] + [meta.row_group(g).num_rows for g in range(meta.num_row_groups)])
            groups = [g for g in range(meta.num_row_groups) if starts[g] < first + size and starts[g + 1] > first]
            if groups:
                table = pf.read_row_groups(groups, columns=self._usecols(columns))
                table = table.slice(first - int(starts[groups[0]]), size)
            else:
                empty = pf.schema_arrow.empty_table()
                table = empty if columns is None else empty.select(self._usecols(columns))
            frame = table.to_pandas()
        else:
            frame = pd.read_csv(self.path, usecols=self._usecols(columns), dtype={self.key: str},
                                skiprows=range(1, first + 1), nrows=size)
        frame.index = pd.RangeIndex(first, first + len(frame))
        return self._fix(frame)


def open_table(path: str | Path, *, option: str, key: str = ACCOUNT) -> InputTable:
    """Open ``path`` for reading (``key``: its account column), or raise an error naming ``option``."""
    return InputTable(path, option=option, key=key)
