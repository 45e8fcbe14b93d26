"""Portfolio batch: rows/s of bare shap, of our attribution kernel and of the whole batch; time and memory.

Not a test: figures depend on the machine (and on whoever else is using it). The model is the one of
bench/attribution.py: XGBoost, 200 trees, depth 6, 30 synthetic features, explained interventionally
against the same 100 background rows on every side. Its catalog reuses the demo catalog's reason groups
and wording (so both locales' translations exist) over the 30 synthetic features.

Each figure line comes from one process: ``single-thread`` runs with every thread pool at 1 thread
(NUMBA, OpenMP, BLAS), ``all cores`` with the defaults; the full batch there runs ``--workers <cores>``.
Batch throughput is measured once the run is set up (bundle loaded, inputs hashed and checked, worker
processes started and warm: :attr:`BatchSummary.setup_seconds`, printed too), which a portfolio pays once;
the final join of the parts into the output file is inside it. Bare shap is timed on at most 2,000 rows.

The scale lines run ``explain batch`` as a command (start-up included) and report its wall time and the
peak of the *summed* resident memory of the command and its worker processes, sampled every 0.1 s.

    python bench/batch.py [--rows 20000] [--chunk-size 1000] [--scale 100000,1000000] [--workers 2]

On a 2-core machine the default run takes about 20 minutes, most of it the 1M-account line.
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
import tomllib
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
N_FEATURES = 30
KINDS = ("limit_decrease", "limit_increase", "account_closure", "increase_declined")
_THREAD_VARS = ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def make_data(rows: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Non-negative features (so every value reads as a customer's number), a nonlinear target."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(np.abs(rng.normal(size=(rows, N_FEATURES))) * 10.0, columns=[f"f{i:02d}" for i in range(N_FEATURES)])
    z = (X - 8.0) / 6.0
    logit = z.iloc[:, :10].sum(axis=1) * 0.4 + z.f10 * z.f11 - 0.5 * z.f12**2 + rng.normal(size=rows)
    return X, (logit > 0).astype(int).to_numpy()


def write_lender(folder: Path) -> None:
    """A lender folder: the demo catalog's groups, phrases and policy reasons over the synthetic features
    (round robin), with the demo's profile and translations."""
    import shutil

    import tomli_w

    from explain.notices._profile import DEMO_LENDER_DIR

    shutil.copytree(DEMO_LENDER_DIR / "translations", folder / "translations", dirs_exist_ok=True)
    shutil.copy(DEMO_LENDER_DIR / "profile.toml", folder / "profile.toml")
    path = folder / "catalog.toml"
    demo = tomllib.loads((DEMO_LENDER_DIR / "catalog.toml").read_text("utf-8"))
    codes = list(demo["groups"])
    columns = [f"f{i:02d}" for i in range(N_FEATURES)]
    for code in codes:
        demo["groups"][code]["features"] = [c for i, c in enumerate(columns) if codes[i % len(codes)] == code]
        demo["groups"][code].pop("display", None)
        demo["groups"][code].pop("advice_when", None)
    demo["features"] = {c: {"kind": "number"} for c in columns}
    path.write_text(tomli_w.dumps(demo), encoding="utf-8")


def build(folder: Path, accounts: int, seed: int = 2) -> dict[str, Path]:
    """The bundle (once) and an accounts + decisions pair of ``accounts`` rows (Parquet)."""
    from explain import ModelBundle, save_bundle

    bundle = folder / "bundle"
    if not (bundle / "manifest.json").is_file():
        import xgboost

        X_train, y = make_data(5_000, seed=1)
        model = xgboost.XGBClassifier(n_estimators=200, max_depth=6, learning_rate=0.1, n_jobs=1, random_state=0)
        model.fit(X_train, y)
        write_lender(folder)
        save_bundle(bundle, model=model, lender=folder, background=X_train.iloc[:100],
                    name="bench-xgb-200x6", version="1", tree_mode="interventional")
    ModelBundle.load(bundle)
    paths = {"bundle": bundle, "accounts": folder / f"accounts-{accounts}.parquet",
             "decisions": folder / f"decisions-{accounts}.parquet"}
    if not paths["accounts"].is_file():
        import pyarrow as pa
        import pyarrow.parquet as pq

        writer = None
        dec_writer = None
        for start in range(0, accounts, 100_000):  # written in slices: 1M accounts never sit in memory at once
            n = min(100_000, accounts - start)
            X, _ = make_data(n, seed=seed + start)
            refs = [f"{start + i:09d}" for i in range(n)]
            table = pa.Table.from_pandas(X.assign(account=refs)[["account", *X.columns]], preserve_index=False)
            kinds = np.array(KINDS)[np.arange(start, start + n) % 4]
            new = np.select([kinds == "limit_decrease", kinds == "account_closure"], [8000.0, 0.0], 30000.0)
            dec = pa.Table.from_pandas(pd.DataFrame({
                "account": refs, "decision": kinds, "old_limit": 20000.0, "new_limit": new,
                "policy_reasons": np.where(kinds == "account_closure", "overdue_repayment", "")}), preserve_index=False)
            writer = writer or pq.ParquetWriter(paths["accounts"], table.schema)
            dec_writer = dec_writer or pq.ParquetWriter(paths["decisions"], dec.schema)
            writer.write_table(table, row_group_size=10_000)
            dec_writer.write_table(dec)
        writer.close()
        dec_writer.close()
    return paths


# ------------------------------------------------------------------------------------------ throughput
def throughput(folder: Path, rows: int, workers: int, chunk_size: int) -> dict[str, float]:
    """In this process (its thread settings come from the environment): rows/s of each side."""
    import shap

    from explain import ModelBundle
    from explain.batch import run_batch

    paths = build(folder, rows)
    bundle = ModelBundle.load(paths["bundle"])
    X = pd.read_parquet(paths["accounts"]).drop(columns=["account"])
    bg = bundle.background.to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bare = shap.TreeExplainer(bundle.model, data=bg, feature_perturbation="interventional", model_output="raw")
    sample = X.iloc[:2000]  # bare shap is the slow side: 2,000 rows are plenty
    start = time.perf_counter()
    bare.shap_values(sample.to_numpy(), check_additivity=False)
    shap_rate = len(sample) / (time.perf_counter() - start)
    explainer = bundle.explainer()
    explainer.explain(X.iloc[:50])  # compile / warm up outside the timing
    start = time.perf_counter()
    explainer.explain(X)
    kernel_rate = rows / (time.perf_counter() - start)
    start = time.perf_counter()
    explainer.reasons(X, decision="limit_decrease")
    reasons_rate = rows / (time.perf_counter() - start)
    figures = {"shap": shap_rate, "kernel": kernel_rate, "reasons": reasons_rate}
    for n_workers in sorted({1, workers}):
        with tempfile.TemporaryDirectory() as tmp:
            summary = run_batch(bundle=str(paths["bundle"]), input=paths["accounts"], decisions=paths["decisions"],
                                out=Path(tmp) / "notices.parquet", locales=("zh_CN", "en"), workers=n_workers,
                                chunk_size=chunk_size, progress=False)
        figures[f"batch_w{n_workers}"] = summary.explained / (summary.seconds - summary.setup_seconds)
        figures[f"setup_w{n_workers}"] = summary.setup_seconds
    return figures


def _child_env(single: bool) -> dict[str, str]:
    env = dict(os.environ)
    for name in _THREAD_VARS:
        if single:
            env[name] = "1"
        else:
            env.pop(name, None)
    return env


# ---------------------------------------------------------------------------------------------- scale
def scale(folder: Path, accounts: int, workers: int) -> tuple[float, float]:
    """Wall time and peak summed RSS (MiB) of ``explain batch`` and its workers on ``accounts`` accounts."""
    import psutil

    paths = build(folder, accounts)
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        command = [sys.executable, "-m", "explain.cli", "batch", "--bundle", str(paths["bundle"]),
                   "--input", str(paths["accounts"]), "--decisions", str(paths["decisions"]),
                   "--out", str(Path(tmp) / "notices.parquet"), "--locale", "zh_CN,en", "--workers", str(workers),
                   "--chunk-size", "2000", "--no-progress"]
        start = time.perf_counter()
        run = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        root = psutil.Process(run.pid)
        peak = 0
        while run.poll() is None:
            total = 0
            try:
                for process in (root, *root.children(recursive=True)):
                    total += process.memory_info().rss
            except psutil.Error:  # a process ended while being read: the next sample counts again
                pass
            peak = max(peak, total)
            time.sleep(0.1)
        seconds = time.perf_counter() - start
        if run.returncode != 0:
            raise SystemExit(f"explain batch failed on {accounts} accounts (exit {run.returncode})")
    return seconds, peak / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20000, help="accounts for the throughput figures")
    parser.add_argument("--chunk-size", type=int, default=1000, help="chunk size of the throughput runs")
    parser.add_argument("--scale", default="100000,1000000", help="comma-separated portfolio sizes for time/memory")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--folder", type=Path, default=None, help="keep the bundle and inputs here between runs")
    parser.add_argument("--child", choices=("single", "all"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    folder = args.folder or Path(tempfile.mkdtemp(prefix="bench-batch-"))
    folder.mkdir(parents=True, exist_ok=True)
    if args.child:
        print(json.dumps(throughput(folder, args.rows, 1 if args.child == "single" else args.workers, args.chunk_size)))
        return

    build(folder, args.rows)
    print(f"XGBoost 200 trees, depth 6, {N_FEATURES} features, interventional on 100 background rows; "
          f"{args.rows} accounts; notices in zh_CN and en (letter); {os.cpu_count()} cores; "
          f"load average {os.getloadavg()[0]:.1f} (other users make every figure noisy)")
    print(f"{'mode':<15}{'shap rows/s':>12}{'kernel':>9}{'(x shap)':>9}{'reasons':>9}{'batch':>9}{'(x shap)':>9}"
          f"{'workers':>8}")
    rows = {}
    for mode in ("single", "all"):
        output = subprocess.run([sys.executable, __file__, "--child", mode, "--rows", str(args.rows), "--folder",
                                 str(folder), "--workers", str(args.workers), "--chunk-size", str(args.chunk_size)],
                                check=True, capture_output=True,
                                text=True, env=_child_env(mode == "single")).stdout
        figures = rows[mode] = json.loads(output.strip().splitlines()[-1])
        batch = figures["batch_w1"] if mode == "single" else figures[f"batch_w{args.workers}"]
        label = "single-thread" if mode == "single" else "all cores"
        print(f"{label:<15}{figures['shap']:>12,.0f}{figures['kernel']:>9,.0f}{figures['kernel'] / figures['shap']:>8.2f}x"
              f"{figures['reasons']:>9,.0f}{batch:>9,.0f}{batch / figures['shap']:>8.2f}x"
              f"{1 if mode == 'single' else args.workers:>8}")
    every = rows["all"]
    if args.workers > 1:
        w1, wn = every["batch_w1"], every[f"batch_w{args.workers}"]
        print(f"--workers {args.workers} vs 1 (same run, all cores): {wn:,.0f} vs {w1:,.0f} rows/s = {wn / w1:.2f}x "
              f"(set-up {every[f'setup_w{args.workers}']:.1f} s vs {every['setup_w1']:.1f} s, paid once a run)")
    print(f"{'accounts':>10}{'seconds':>10}{'rows/s':>9}{'peak MiB':>10}   (explain batch --workers {args.workers})")
    peaks = []
    for n in (int(s) for s in args.scale.split(",") if s):
        seconds, peak = scale(folder, n, args.workers)
        peaks.append(peak)
        print(f"{n:>10,}{seconds:>10,.1f}{n / seconds:>9,.0f}{peak:>10,.0f}")
    if len(peaks) > 1:
        print(f"peak memory, largest vs smallest portfolio: {peaks[-1] / peaks[0]:.2f}x")


if __name__ == "__main__":
    main()
