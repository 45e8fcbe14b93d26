"""One governance run: the accounts file read chunk by chunk against two bundles, the figures summed.

The decisions are checked and matched to the accounts exactly as ``explain batch`` does (one pass, an
on-disk index), then every chunk is explained by the old and the new bundle (and, when asked, by the
stability alternatives) and reduced to totals; the totals merge in chunk order, so an engine changes the
speed, never a figure. Memory holds one chunk and the totals, whatever the number of accounts. The
accounts whose notice would change (or whose reasons are unstable, or that cross the cutoff) can be
written one JSON line each, as each chunk finishes.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

import pandas as pd

from explain._exceptions import InvalidInputError
from explain.batch._inputs import ACCOUNT, InputTable, open_table
from explain.batch._plan import close_index, make_plan, open_index
from explain.governance._diff import DiffTotals, diff_rows
from explain.governance._disparity import DisparityTotals, chunk_weights, disparity_metrics, metric_matrix
from explain.governance._explained import explain_rows
from explain.governance._stability import StabilityTotals, alternatives, stability_rows

__all__ = ["ENGINES", "GovernanceReport", "Job", "compare_bundles"]

ENGINES = ("local", "dask")
_LISTED_ERRORS = 50


@dataclass(frozen=True)
class Job:
    """What every chunk is processed with; small and picklable (a Dask task carries it)."""

    old: str
    new: str
    trusted: bool = False
    cutoff: float | None = None
    stability: bool = False
    marginal: int = 50
    backgrounds: tuple[tuple[str, str], ...] = ()
    protected: tuple[str, ...] = ()
    replicates: int = 400
    seed: int = 0
    share_threshold: float = 0.10
    contribution_threshold: float = 0.10
    listed: int = 50
    lines: bool = False  # build the per-account lines (only when they are written)


@dataclass(frozen=True)
class _Context:
    old: Any
    new: Any
    codes: tuple[str, ...]  # the union of both catalogs' groups: the new catalog's order, then the old's others
    reason_codes: tuple[str, ...]  # the new catalog's groups that can be reasons (not protected)
    alternatives: tuple[Any, ...]


def _read_frame(path: str) -> pd.DataFrame:
    return pd.read_parquet(path) if path.lower().endswith(".parquet") else pd.read_csv(path)


@functools.lru_cache(maxsize=4)
def _context(job: Job) -> _Context:
    """The loaded bundles and alternatives of ``job``, once per process."""
    from explain._demo import open_bundle

    old, new = open_bundle(job.old, trusted=job.trusted), open_bundle(job.new, trusted=job.trusted)
    codes = tuple(new.catalog.groups) + tuple(c for c in old.catalog.groups if c not in new.catalog.groups)
    reason_codes = tuple(c for c, g in new.catalog.groups.items() if not g.protected)
    found = ()
    if job.stability:
        backgrounds = {}
        for name, path in job.backgrounds:
            frame = _read_frame(path)
            missing = [c for c in new.background.columns if c not in frame.columns]
            if missing:
                raise InvalidInputError(f"--background {name}", f"a file with every feature of the new bundle "
                                        f"(missing {', '.join(missing)})", path)
            backgrounds[name] = frame.loc[:, list(new.background.columns)]
        found = tuple(alternatives(new, cutoff=job.cutoff, marginal=job.marginal, backgrounds=backgrounds))
    return _Context(old, new, codes, reason_codes, found)


@dataclass
class ChunkTotals:
    """One chunk reduced: its totals, the accounts worth a line of their own, and its error rows."""

    i: int
    diff: DiffTotals
    stability: StabilityTotals | None
    disparity: DisparityTotals | None
    lines: list[dict[str, Any]] = field(default_factory=list)
    errors: list[tuple] = field(default_factory=list)
    error_count: int = 0


def _empty(job: Job, ctx: _Context, i: int) -> ChunkTotals:
    return ChunkTotals(
        i, DiffTotals(ctx.codes, cutoff=job.cutoff, listed=job.listed),
        StabilityTotals(tuple(a.name for a in ctx.alternatives), listed=job.listed) if job.stability else None,
        DisparityTotals(tuple(disparity_metrics(ctx.codes, ctx.reason_codes)), job.replicates, job.seed,
                        job.share_threshold, job.contribution_threshold) if job.protected else None,
    )


def process_chunk(i: int, chunk: pd.DataFrame, decided: pd.DataFrame, job: Job) -> ChunkTotals:
    """Chunk ``i`` (rows indexed by their place in the accounts file) reduced to totals; ``decided`` holds the
    good decisions of its rows (indexed the same way)."""
    ctx = _context(job)
    totals = _empty(job, ctx, i)
    chunk = chunk.loc[decided.index]
    if not len(chunk):
        return totals
    kinds, policies = decided["decision"].tolist(), decided["policy_reasons"].tolist()
    accounts = dict(zip(chunk.index, chunk[ACCOUNT].tolist(), strict=True))
    old = explain_rows(ctx.old.explainer(), ctx.old.background, chunk, kinds, policies)
    new = explain_rows(ctx.new.explainer(), ctx.new.background, chunk, kinds, policies)
    failed = {**{p: ("old", *e) for p, e in old.errors.items()}, **{p: ("new", *e) for p, e in new.errors.items()}}
    both = [p for p in chunk.index if p not in failed]
    totals.error_count = len(failed)
    totals.errors = [("accounts", int(p), accounts[p], f"{which}:{field_}", message)
                     for p, (which, field_, message) in sorted(failed.items())]
    rows, delta = diff_rows([old.results[p] for p in both], [new.results[p] for p in both],
                            accounts=[accounts[p] for p in both], rows=both, codes=ctx.codes, cutoff=job.cutoff,
                            higher_is=(ctx.old.higher_is, ctx.new.higher_is))
    totals.diff.add(rows, delta)
    lines = {row["row"]: {**row, "contribution_change": dict(zip(ctx.codes, delta[k].tolist(), strict=True))}
             for k, row in enumerate(rows)
             if job.lines and (row["notice_changes"] or row.get("old_approved") != row.get("new_approved"))}
    if job.stability:
        base = {p: new.results[p] for p in both}
        judged = {}
        for alternative in ctx.alternatives:
            judged[alternative.name] = explain_rows(alternative.explainer, ctx.new.background, chunk.loc[both],
                                                    [kinds[chunk.index.get_loc(p)] for p in both],
                                                    [policies[chunk.index.get_loc(p)] for p in both]).results
        stable = stability_rows(base, judged, accounts=accounts)
        totals.stability.add(stable)
        for row in stable:
            if job.lines and not row["stable"]:
                line = lines.setdefault(row["row"], {"row": row["row"], "account": row["account"],
                                                     "decision": row["decision"]})
                line["unstable"] = {"reasons": row["reasons"], "alternatives": row["alternatives"],
                                    "same_set": row["same_set"]}
    if job.protected:
        weights = chunk_weights(job.seed, i, len(chunk), job.replicates)
        keep = [chunk.index.get_loc(p) for p in both]
        results = [new.results[p] for p in both]
        values = metric_matrix(results, ctx.codes, ctx.reason_codes)
        groups = {c: chunk[c].iloc[keep].tolist() for c in job.protected}
        totals.disparity.add([r.decision for r in results], groups, values, weights[keep])
    totals.lines = [lines[r] for r in sorted(lines)]
    return totals


@dataclass(frozen=True)
class GovernanceReport:
    """What a run found: which bundles and data it covers, the version diff, stability and disparity figures.

    :meth:`to_dict` is the JSON (``explain compare --format json``); :func:`render_governance` the HTML page.
    """

    coverage: dict[str, Any]
    diff: dict[str, Any]
    stability: dict[str, Any] | None
    disparity: dict[str, Any] | None
    errors: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        """Sorted keys, no spaces lost or added: the same run gives the same bytes."""
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _bundle_identity(bundle: Any) -> dict[str, Any]:
    explainer = bundle.explainer()
    return {"name": bundle.name, "version": str(bundle.version), "sha256": bundle.sha256,
            "model_sha256": bundle.model_sha256, "catalog_sha256": bundle.catalog_sha256,
            "background_sha256": bundle.background_sha256, "method": explainer.method, "mode": explainer.mode,
            "higher_is": bundle.higher_is}


def _spec(bundle: Any) -> str:
    if isinstance(bundle, str | Path):
        return str(bundle)
    return str(bundle.path)


def _chunks(accounts: InputTable, index_path: str, size: int, columns: list[str]) -> Iterator[tuple[int, pd.DataFrame, pd.DataFrame]]:
    index = open_index(index_path)
    for i, chunk in enumerate(accounts.iter_chunks(size, columns=columns)):
        decided = index.for_rows(int(chunk.index[0]), int(chunk.index[-1]) + 1) if len(chunk) else None
        yield i, chunk, decided


def _dask_chunks(accounts: InputTable, index_path: str, size: int, columns: list[str], job: Job,
                 scheduler: str | None, workers: int) -> Iterator[ChunkTotals]:
    """Chunks on Dask (a local cluster of ``workers`` processes, or the scheduler at ``scheduler``), a few
    in flight per worker, handed back in chunk order."""
    from dask.distributed import Client, LocalCluster

    cluster = None if scheduler else LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                                  dashboard_address=None)
    client = Client(scheduler or cluster)
    try:
        n = accounts.n_chunks(size)
        window = max(2, 2 * workers)
        pending = {}
        next_i = 0
        for i in range(n):
            pending[i] = client.submit(_dask_task, str(accounts.path), index_path, i, size, columns, job, pure=False)
            while len(pending) >= window or (i == n - 1 and pending):
                yield pending.pop(next_i).result()
                next_i += 1
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _dask_task(path: str, index_path: str, i: int, size: int, columns: list[str], job: Job) -> ChunkTotals:
    chunk = open_table(path, option="--input").read_chunk(i, size, columns=columns)
    if not len(chunk):
        return _empty(job, _context(job), i)
    decided = open_index(index_path).for_rows(int(chunk.index[0]), int(chunk.index[-1]) + 1)
    return process_chunk(i, chunk, decided, job)


def compare_bundles(
    old: Any,
    new: Any,
    *,
    accounts: str | Path,
    decisions: str | Path,
    chunk_size: int = 5000,
    cutoff: float | None = None,
    stability: bool = False,
    marginal: int = 50,
    backgrounds: Mapping[str, str | Path] | None = None,
    protected: Sequence[str] = (),
    replicates: int = 400,
    seed: int = 0,
    share_threshold: float = 0.10,
    contribution_threshold: float = 0.10,
    listed: int = 50,
    changes_out: str | Path | IO[str] | None = None,
    engine: str = "local",
    workers: int = 1,
    scheduler: str | None = None,
    trusted: bool = False,
    currency: str = "CNY",
) -> GovernanceReport:
    """Compare bundle ``old`` with bundle ``new`` on the same accounts and decisions.

    ``old`` and ``new`` are loaded bundles, bundle folders or ``"demo"``. ``accounts`` and ``decisions`` are
    the files ``explain batch`` takes (Parquet or CSV, joined on ``account``). With ``stability`` the new
    bundle's reasons are tested against :func:`~explain.governance.alternatives` (``cutoff`` adds Reg B's
    cutoff reference point, ``backgrounds`` the lender's declared ones, name -> file); ``protected`` names
    the accounts file's protected-attribute columns to judge disparity on, with ``replicates`` bootstrap
    replicates drawn from ``seed``. ``changes_out`` receives one JSON line per account whose notice would
    change, that crosses the cutoff, or whose reasons are unstable.
    """
    if engine not in ENGINES:
        raise InvalidInputError("engine", f"one of {', '.join(ENGINES)}", engine)
    if not isinstance(chunk_size, int) or chunk_size < 1:
        raise InvalidInputError("chunk_size", "a whole number of accounts, at least 1", chunk_size)
    if replicates < 10:
        raise InvalidInputError("replicates", "at least 10 bootstrap replicates", replicates)
    job = Job(old=_spec(old), new=_spec(new), trusted=trusted, cutoff=None if cutoff is None else float(cutoff),
              stability=stability, marginal=marginal,
              backgrounds=tuple(sorted((str(k), str(v)) for k, v in (backgrounds or {}).items())),
              protected=tuple(protected), replicates=replicates, seed=seed, share_threshold=share_threshold,
              contribution_threshold=contribution_threshold, listed=listed,
              lines=changes_out is not None)
    ctx = _context(job)
    table = open_table(accounts, option="--input")
    decisions_table = open_table(decisions, option="--decisions")
    missing = [c for c in job.protected if c not in table.columns]
    if missing:
        raise InvalidInputError("--protected", f"a column of the accounts file ({', '.join(table.columns)})", missing[0])
    features = list(dict.fromkeys([*ctx.new.background.columns, *ctx.old.background.columns]))
    absent = [c for c in features if c not in table.columns]
    if absent:
        raise InvalidInputError("--input", f"a file with every feature the two bundles take (missing "
                                           f"{', '.join(absent)})", str(accounts))
    columns = list(dict.fromkeys([ACCOUNT, *features, *job.protected]))
    totals = _empty(job, ctx, -1)
    errors: list[tuple] = []
    error_count = 0
    with tempfile.TemporaryDirectory(prefix="explain-compare-") as folder:
        plan = make_plan(table, decisions_table, catalog=ctx.new.catalog, chunk_size=chunk_size,
                         default_currency=currency, folder=Path(folder))
        error_count += len(plan.errors)
        errors.extend(plan.errors.head(_LISTED_ERRORS).itertuples(index=False, name=None))
        try:
            if engine == "dask":
                stream: Iterator[ChunkTotals] = _dask_chunks(table, str(plan.index), chunk_size, columns, job,
                                                             scheduler, workers)
            else:
                stream = (process_chunk(i, chunk, decided, job) if decided is not None else _empty(job, ctx, i)
                          for i, chunk, decided in _chunks(table, str(plan.index), chunk_size, columns))
            with _lines_sink(changes_out) as sink:
                for part in stream:
                    totals.diff.merge(part.diff)
                    if part.stability is not None:
                        totals.stability.merge(part.stability)
                    if part.disparity is not None:
                        totals.disparity.merge(part.disparity)
                    error_count += part.error_count
                    errors.extend(part.errors[: max(0, _LISTED_ERRORS - len(errors))])
                    if sink is not None:
                        for line in part.lines:
                            sink.write(json.dumps(line, ensure_ascii=False, sort_keys=True) + "\n")
        finally:
            close_index(str(plan.index))
    coverage = {
        "old": _bundle_identity(ctx.old), "new": _bundle_identity(ctx.new),
        "accounts": {"file": Path(accounts).name, "sha256": _sha256(Path(accounts)), "rows": plan.n_accounts},
        "decisions": {"file": Path(decisions).name, "sha256": _sha256(Path(decisions))},
        "options": {"cutoff": job.cutoff, "stability": job.stability, "marginal": job.marginal,
                    "backgrounds": {name: _sha256(Path(path)) for name, path in job.backgrounds},
                    "protected": list(job.protected), "replicates": job.replicates, "seed": job.seed,
                    "share_threshold": job.share_threshold, "contribution_threshold": job.contribution_threshold},
    }
    stability_figures = None
    if totals.stability is not None:
        stability_figures = {"alternatives": [{"name": a.name, "description": a.description,
                                               "background_rows": a.background_rows} for a in ctx.alternatives],
                             **totals.stability.to_dict()}
    return GovernanceReport(
        coverage=coverage, diff=totals.diff.to_dict(), stability=stability_figures,
        disparity=totals.disparity.to_dict() if totals.disparity is not None else None,
        errors={"count": error_count, "first": [dict(zip(("file", "row", "account", "field", "error"), e, strict=True))
                                                  for e in errors]},
    )


@contextlib.contextmanager
def _lines_sink(target: str | Path | IO[str] | None) -> Iterator[IO[str] | None]:
    """``changes_out`` opened for writing (a path) or used as given (an open text stream), or nothing."""
    if target is None or not isinstance(target, str | Path):
        yield target
        return
    with open(target, "w", encoding="utf-8") as handle:
        yield handle
