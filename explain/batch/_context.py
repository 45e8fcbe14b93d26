"""What every chunk needs, loaded once per process: the bundle, its explainer, the lender profile.

A Dask worker or a local worker process receives only a small :class:`Job` (paths and options); the first
chunk it processes loads the bundle (hash-verified), builds the explainer and reads the profile, and every
later chunk in that process reuses them, with one :class:`~explain.notices._skeletons.NoticeWriter` whose
template skeletons serve every chunk.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from typing import Any

__all__ = ["Context", "Job", "context"]


@dataclass(frozen=True)
class Job:
    """The options every chunk is processed with; small and picklable, sent to every worker."""

    bundle: str
    locales: tuple[str, ...]
    channels: tuple[str, ...]
    notice_date: dt.date
    profile: str | None = None
    trusted: bool = False
    device: str = "cpu"
    audit: bool = False
    #: --format pdf: "notice" or "chunk" (one file per notice or per chunk), the folder, the paper (None: default)
    pdf: str | None = None
    pdf_dir: str | None = None
    paper: str | None = None


@dataclass(frozen=True)
class Context:
    bundle: Any
    explainer: Any
    profile: Any
    numeric: frozenset[str]  # model inputs that are numbers (the rest are categories, read as text)
    writer: Any  # a NoticeWriter: the process's notice skeletons, shared by every chunk


@functools.lru_cache(maxsize=4)
def context(bundle: str, trusted: bool, profile: str | None, device: str) -> Context:
    """The loaded pieces for one (bundle, profile, device), cached for the life of the process."""
    import pandas as pd

    from explain.notices._profile import LenderProfile
    from explain.notices._skeletons import NoticeWriter

    from explain._demo import open_bundle

    loaded = open_bundle(bundle, trusted=trusted)
    if device == "cuda":
        from explain.batch._device import gpu_explainer

        explainer = gpu_explainer(loaded)
    else:
        explainer = loaded.explainer()
    lender = LenderProfile.from_toml(profile) if profile is not None else loaded.profile
    numeric = frozenset(c for c in loaded.background.columns if pd.api.types.is_numeric_dtype(loaded.background[c]))
    return Context(bundle=loaded, explainer=explainer, profile=lender, numeric=numeric, writer=NoticeWriter())
