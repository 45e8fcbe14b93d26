"""``--format pdf``: a chunk's letters printed, one PDF per notice or one merged PDF per chunk.

Each file is written through a temporary name and an atomic rename, and a letter's bytes depend only on its
inputs, so a chunk processed again after a restart (or twice, by a Dask retry) writes the same files.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

__all__ = ["PDF_FILES", "print_chunk"]

#: ``notice``: one file per notice (``<row>-<locale>.pdf``); ``chunk``: one merged file per chunk, for a mail house.
PDF_FILES = ("notice", "chunk")


def _write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f"{path.name}.{os.getpid()}-{threading.get_ident()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def print_chunk(job: Any, profile: Any, letters: list[tuple[int, str, Any, tuple[str, ...] | None]],
                chunk_id: int) -> dict[tuple[int, str], str]:
    """Print ``letters`` (account row, locale, notice, mailing address) into ``job.pdf_dir``; the file name of
    each (row, locale)."""
    from explain.printing import merged_pdf, prepare_letter, render_pdf

    folder = Path(job.pdf_dir)
    folder.mkdir(parents=True, exist_ok=True)
    prepared = [(row, locale, prepare_letter(notice, profile=profile, notice_date=job.notice_date, paper=job.paper,
                                             mailing_address=address))
                for row, locale, notice, address in letters]
    names: dict[tuple[int, str], str] = {}
    if job.pdf == "chunk":
        if prepared:
            name = f"chunk-{chunk_id:06d}.pdf"
            _write(folder / name, merged_pdf([letter for _, _, letter in prepared]))
            names = {(row, locale): name for row, locale, _ in prepared}
        return names
    for row, locale, letter in prepared:
        name = f"{row:06d}-{locale}.pdf"
        _write(folder / name, render_pdf(letter))
        names[(row, locale)] = name
    return names
