"""Version diff (``explain compare``): accounts/s against explaining the accounts twice; peak memory by size.

Not a test: figures depend on the machine (and on whoever else is using it). The old bundle is the model of
bench/batch.py (XGBoost, 200 trees, depth 6, 30 synthetic features, interventional against 100 background
rows, the demo catalog's groups); the new one is the same recipe trained on a target that leans three times
as hard on ``f00`` (a planted change). Decisions cycle through the four kinds, as in bench/batch.py.

Each throughput line comes from one process: ``single-thread`` with every thread pool at 1 (NUMBA,
OpenMP, BLAS), ``all cores`` with the defaults. In it, on the same accounts:

- ``explain x2``: ``Explainer.explain`` of the old bundle plus that of the new one (whole chunks): the floor;
- ``reasons x2``: ``Explainer.reasons`` of both (attribution and reason selection, per decision kind);
- ``compare``: :func:`explain.governance.compare_bundles` on the files, set-up included (decisions checked
  and matched, inputs hashed), ``--chunk-size`` accounts a chunk; the headline is its cost against
  ``explain x2`` (target: within 1.5x).

Each side is timed ``--rounds`` times, the three taking turns, and the fastest counts: on a shared machine
the load drifts during a run, and a side timed once, later, would pay for it.

The memory lines run ``explain compare`` as a command on each portfolio size and report the peak resident
memory of that process (``ru_maxrss``): flat means the largest portfolio costs what the smallest does.

    python bench/compare.py [--rows 100000] [--chunk-size 5000] [--rounds 3] [--scale 20000,100000]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import batch as batch_bench  # noqa: E402 - the model, lender and inputs of bench/batch.py

_THREAD_VARS = ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def build(folder: Path, accounts: int) -> dict[str, Path]:
    """bench/batch.py's bundle and inputs, and a new bundle that leans harder on f00."""
    from explain import ModelBundle, save_bundle

    paths = batch_bench.build(folder, accounts)
    new = folder / "bundle-new"
    if not (new / "manifest.json").is_file():
        import xgboost

        X, _ = batch_bench.make_data(5_000, seed=1)
        rng = np.random.default_rng(1)
        z = (X - 8.0) / 6.0
        logit = (z.iloc[:, :10].sum(axis=1) + 2.0 * z.f00) * 0.4 + z.f10 * z.f11 - 0.5 * z.f12**2 + rng.normal(size=len(X))
        model = xgboost.XGBClassifier(n_estimators=200, max_depth=6, learning_rate=0.1, n_jobs=1, random_state=0)
        model.fit(X, (logit > 0).astype(int).to_numpy())
        save_bundle(new, model=model, lender=folder, background=X.iloc[:100], name="bench-xgb-200x6", version="2",
                    tree_mode="interventional")
    ModelBundle.load(new)
    return {**paths, "new": new}


def throughput(folder: Path, rows: int, chunk_size: int, rounds: int) -> dict[str, float]:
    """In this process (threads as the environment says): seconds of each side on ``rows`` accounts, the
    fastest of ``rounds`` rounds, the sides taking turns within a round (the load of a shared machine drifts)."""
    from explain import ModelBundle
    from explain.governance import compare_bundles

    paths = build(folder, rows)
    old, new = ModelBundle.load(paths["bundle"]), ModelBundle.load(paths["new"])
    X = pd.read_parquet(paths["accounts"]).drop(columns=["account"])
    kinds = pd.read_parquet(paths["decisions"], columns=["decision"])["decision"].to_numpy()
    for bundle in (old, new):
        bundle.explainer().explain(X.iloc[:50])  # compile / warm up outside the timing

    def explain_x2() -> None:
        for first in range(0, rows, chunk_size):
            for bundle in (old, new):
                bundle.explainer().explain(X.iloc[first:first + chunk_size])

    def reasons_x2() -> None:
        for first in range(0, rows, chunk_size):
            part = X.iloc[first:first + chunk_size]
            for kind in batch_bench.KINDS:
                mask = kinds[first:first + chunk_size] == kind
                policy = ("overdue_repayment",) if kind == "account_closure" else ()
                for bundle in (old, new):
                    bundle.explainer().reasons(part[mask], decision=kind, policy_reasons=policy)

    report = None

    def compare() -> None:
        nonlocal report
        report = compare_bundles(old, new, accounts=paths["accounts"], decisions=paths["decisions"],
                                 chunk_size=chunk_size)

    sides = {"explain_x2": explain_x2, "reasons_x2": reasons_x2, "compare": compare}
    figures: dict[str, float] = {name: float("inf") for name in sides}
    names = list(sides)
    for r in range(rounds):
        for name in names[r % 3:] + names[:r % 3]:
            start = time.perf_counter()
            sides[name]()
            figures[name] = min(figures[name], time.perf_counter() - start)
    return {**figures, "accounts": report.diff["accounts"], "notice_changes": report.diff["notice_changes"],
            "drivers": report.diff["drivers"][:3]}


def _child_env(single: bool) -> dict[str, str]:
    env = dict(os.environ)
    for name in _THREAD_VARS:
        if single:
            env[name] = "1"
        else:
            env.pop(name, None)
    return env


def memory(folder: Path, accounts: int, chunk_size: int) -> tuple[float, float]:
    """Wall time and peak RSS (MiB) of ``explain compare`` on ``accounts`` accounts, run as a command."""
    paths = build(folder, accounts)
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        command = [sys.executable, "-m", "explain.cli", "compare", "--old", str(paths["bundle"]), "--new",
                   str(paths["new"]), "--input", str(paths["accounts"]), "--decisions", str(paths["decisions"]),
                   "--out", str(Path(tmp) / "governance.json"), "--format", "json", "--chunk-size", str(chunk_size),
                   "--changes-out", str(Path(tmp) / "changes.jsonl")]
        start = time.perf_counter()
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        seconds = time.perf_counter() - start
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    # ru_maxrss of children is the largest child so far: each size runs in a fresh bench process (see main).
    return seconds, max(peak, before) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="accounts for the throughput figures")
    parser.add_argument("--chunk-size", type=int, default=5000)
    parser.add_argument("--scale", default="20000,100000", help="comma-separated portfolio sizes for memory")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the throughput sides (fastest counts)")
    parser.add_argument("--folder", type=Path, default=None, help="keep the bundles and inputs here between runs")
    parser.add_argument("--child", choices=("single", "all", "memory"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    folder = args.folder or Path(tempfile.mkdtemp(prefix="bench-compare-"))
    folder.mkdir(parents=True, exist_ok=True)
    if args.child == "memory":
        print(json.dumps(memory(folder, args.rows, args.chunk_size)))
        return
    if args.child:
        print(json.dumps(throughput(folder, args.rows, args.chunk_size, args.rounds)))
        return

    build(folder, args.rows)
    print(f"old and new XGBoost 200 trees, depth 6, {batch_bench.N_FEATURES} features, interventional on 100 "
          f"background rows; {args.rows:,} accounts, chunks of {args.chunk_size:,}; {os.cpu_count()} cores; "
          f"load average {os.getloadavg()[0]:.1f} (other users make every figure noisy)")
    print(f"{'mode':<15}{'explain x2 s':>13}{'reasons x2 s':>13}{'compare s':>11}{'accounts/s':>11}"
          f"{'vs explain x2':>14}{'vs reasons x2':>14}")
    for mode in ("single", "all"):
        output = subprocess.run([sys.executable, __file__, "--child", mode, "--rows", str(args.rows), "--folder",
                                 str(folder), "--chunk-size", str(args.chunk_size), "--rounds", str(args.rounds)],
                                check=True, capture_output=True,
                                text=True, env=_child_env(mode == "single")).stdout
        f = json.loads(output.strip().splitlines()[-1])
        label = "single-thread" if mode == "single" else "all cores"
        print(f"{label:<15}{f['explain_x2']:>13,.1f}{f['reasons_x2']:>13,.1f}{f['compare']:>11,.1f}"
              f"{f['accounts'] / f['compare']:>11,.0f}{f['compare'] / f['explain_x2']:>13.2f}x"
              f"{f['compare'] / f['reasons_x2']:>13.2f}x")
    print(f"  ({f['notice_changes']:,} of {f['accounts']:,} notices would change; drivers {', '.join(f['drivers'])})")
    print(f"load average {os.getloadavg()[0]:.1f}")
    print(f"{'accounts':>10}{'seconds':>10}{'accounts/s':>11}{'peak MiB':>10}   (explain compare, all cores)")
    peaks = []
    for n in (int(s) for s in args.scale.split(",") if s):
        output = subprocess.run([sys.executable, __file__, "--child", "memory", "--rows", str(n), "--folder",
                                 str(folder), "--chunk-size", str(args.chunk_size)], check=True, capture_output=True,
                                text=True).stdout
        seconds, peak = json.loads(output.strip().splitlines()[-1])
        peaks.append(peak)
        print(f"{n:>10,}{seconds:>10,.1f}{n / seconds:>11,.0f}{peak:>10,.0f}")
    if len(peaks) > 1:
        print(f"peak memory, largest vs smallest portfolio: {peaks[-1] / peaks[0]:.2f}x")


if __name__ == "__main__":
    main()
