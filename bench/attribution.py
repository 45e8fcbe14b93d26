"""Exact TreeSHAP throughput and one-row latency: ours against bare shap and the fastest exact peers, one run.

Not a test: figures depend on the machine (and on whoever else is using its cores), so every tool is timed
in the same run, cell by cell, with the 1-minute load average printed beside each cell; read the ratios.
Models on 30 synthetic features: scikit-learn HistGradientBoosting and GradientBoosting, XGBoost and
LightGBM with 200 trees of depth 6, and the deep cells: XGBoost 500 trees x depth 8 (the FastTreeSHAP
paper's setting), RandomForest 100 trees x depth 10 and LightGBM 200 trees x 63 leaves. For each model and
tree mode it prints rows/s of ``Explainer.explain`` (validation, encoding, attribution and additivity check
included), of bare ``shap.TreeExplainer`` and, when installed, of FastTreeSHAP v2 (``fasttreeshap-fixed``,
path-dependent only) and WOODELF (``woodelf-explainer``): single-threaded (numba.set_num_threads(1) and
threadpoolctl limits for every tool) and, for ours and shap, on all cores. Every tool's values are checked
against ours (``max|d|``; shap's and WOODELF's kernels keep float32, FastTreeSHAP's too). shap's
interventional reference is given the whole background (``maskers.Independent(bg, max_samples=len(bg))``:
by default it silently samples 100 rows of a larger one). One-row latency (median / p99, ms) is timed on
``--calls`` distinct rows, as the service sees them. Last, the interventional rate of LightGBM 200 x 63
leaves with 100 and with 1,000 background rows (``--big-background``).

    python bench/attribution.py [--rows 2000] [--background 100] [--calls 300] [--only XGBoost]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import time
import warnings

import lightgbm
import numba
import numpy as np
import pandas as pd
import shap
import xgboost
from sklearn.ensemble import GradientBoostingClassifier, HistGradientBoostingClassifier, RandomForestClassifier
from threadpoolctl import threadpool_limits

from explain import Explainer

MODES = ("path_dependent", "interventional")
DEEP = "deep"


def make_data(rows: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(rows, 30)), columns=[f"f{i:02d}" for i in range(30)])
    logit = X.iloc[:, :10].sum(axis=1) * 0.4 + X.f10 * X.f11 - 0.5 * X.f12**2 + rng.normal(size=rows)
    return X, (logit > 0).astype(int).to_numpy()


def make_models() -> dict:
    """Label -> (model, share of --rows it explains): the deep cells explain fewer rows, at the same rate."""
    return {
        "HistGradientBoosting 200x6": (HistGradientBoostingClassifier(
            max_iter=200, max_depth=6, max_leaf_nodes=64, early_stopping=False, random_state=0), 1.0),
        "GradientBoosting 200x6": (GradientBoostingClassifier(n_estimators=200, max_depth=6, random_state=0), 1.0),
        "XGBoost 200x6": (xgboost.XGBClassifier(n_estimators=200, max_depth=6, n_jobs=0, random_state=0), 1.0),
        "LightGBM 200x6": (lightgbm.LGBMClassifier(n_estimators=200, max_depth=6, num_leaves=64, verbose=-1,
                                                   random_state=0), 1.0),
        "XGBoost 500x8": (xgboost.XGBClassifier(n_estimators=500, max_depth=8, n_jobs=0, random_state=0), 0.25),
        "RandomForest 100x10": (RandomForestClassifier(n_estimators=100, max_depth=10, random_state=0), 0.25),
        "LightGBM 200x63 leaves": (lightgbm.LGBMClassifier(n_estimators=200, num_leaves=63, verbose=-1,
                                                           random_state=0), 0.25),
    }


def best_rate(fn, n: int, repeat: int) -> float:
    best = np.inf
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return n / best


def latency(fn, calls: int) -> tuple[float, float]:
    """Median and p99 (ms) of ``fn(i)`` over ``calls`` calls, each on a different row."""
    times = np.empty(calls)
    for i in range(calls):
        start = time.perf_counter()
        fn(i)
        times[i] = time.perf_counter() - start
    return float(np.median(times) * 1e3), float(np.percentile(times, 99) * 1e3)


def set_threads(model, n: int | None) -> None:
    """Thread counts for every side: numba (ours) and the libraries' own pools (XGBoost, LightGBM)."""
    numba.set_num_threads(n or numba.config.NUMBA_NUM_THREADS)
    if isinstance(model, xgboost.XGBClassifier):
        model.get_booster().set_param({"nthread": n or 0})
    if isinstance(model, lightgbm.LGBMClassifier):
        model.set_params(n_jobs=n or -1)


def shap_reference(model, background: pd.DataFrame, mode: str):
    """Bare shap, interventional against the whole background."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if mode == "path_dependent":
            return shap.TreeExplainer(model, feature_perturbation="tree_path_dependent", model_output="raw")
        masker = shap.maskers.Independent(background.to_numpy(), max_samples=len(background))
        return shap.TreeExplainer(model, data=masker, feature_perturbation="interventional", model_output="raw")


def peers(model, background: pd.DataFrame, mode: str) -> dict:
    """The optional anchors that are installed: name -> (rows -> values), or an error text."""
    out: dict = {}
    if mode == "path_dependent":
        try:
            import fasttreeshap_fixed

            fast = fasttreeshap_fixed.TreeExplainer(model, algorithm="v2", n_jobs=1,
                                                    feature_perturbation="tree_path_dependent")
            out["FastTreeSHAP v2"] = lambda frame: fast.shap_values(frame.to_numpy(), check_additivity=False)
        except ImportError:
            pass
        except Exception as exc:  # noqa: BLE001 - a peer that cannot load this model is reported, not fatal
            out["FastTreeSHAP v2"] = f"fails ({type(exc).__name__})"
    try:
        from woodelf import WoodelfExplainer

        wood = WoodelfExplainer(model, data=None if mode == "path_dependent" else background,
                                feature_perturbation="tree_path_dependent" if mode == "path_dependent"
                                else "interventional")
        out["WOODELF"] = lambda frame: wood.shap_values(frame, verbose=False)
    except ImportError:
        pass
    except Exception as exc:  # noqa: BLE001
        out["WOODELF"] = f"fails ({type(exc).__name__})"
    return out


def positive_class(values) -> np.ndarray:
    values = values[-1] if isinstance(values, list) else values
    values = np.asarray(values, dtype=np.float64)
    return values[:, :, -1] if values.ndim == 3 else values


def run_cell(label: str, model, mode: str, rows: pd.DataFrame, background: pd.DataFrame, args) -> None:
    explainer = Explainer(model, background=background, tree_mode=mode)
    bare = shap_reference(model, background, mode)
    ours_fn = lambda frame: explainer.explain(frame).values.to_numpy()  # noqa: E731
    shap_fn = lambda frame: bare.shap_values(frame.to_numpy(), check_additivity=False)  # noqa: E731
    # shap's interventional kernel costs O(background) per row: time it on fewer rows (a rate is a rate).
    shap_rows = rows if mode == "path_dependent" else rows.iloc[: max(20, len(rows) // 5)]
    explainer.explain(rows.iloc[:100])  # compile (or load) both kernel variants outside the timing
    explainer.explain(rows.iloc[:1])
    ours_values = ours_fn(rows.iloc[:50])
    tools = {"shap": (shap_fn, shap_rows)}
    for name, fn in peers(model, background, mode).items():
        tools[name] = (fn, rows) if callable(fn) else fn
    load = os.getloadavg()[0]
    line = [f"{label:<28}{mode:<16}{load:>5.1f}"]
    rates = {}
    for threads in (1, None):
        set_threads(model, threads)
        with threadpool_limits(limits=threads), contextlib.redirect_stderr(io.StringIO()):
            ours = best_rate(lambda: explainer.explain(rows), len(rows), args.repeat)
            rates[("ours", threads)] = ours
            for name, tool in tools.items():
                if isinstance(tool, str) or (threads is None and name != "shap"):
                    continue
                fn, tool_rows = tool
                try:
                    rates[(name, threads)] = best_rate(lambda: fn(tool_rows), len(tool_rows), args.repeat)
                except Exception as exc:  # noqa: BLE001 - e.g. a peer that refuses a model at explain time
                    tools[name] = f"fails ({type(exc).__name__})"
    set_threads(model, None)
    line.append(f"{rates[('ours', 1)]:>9,.0f}{rates[('ours', None)]:>9,.0f}")
    s1, sa = rates[("shap", 1)], rates[("shap", None)]
    line.append(f"{s1:>9,.0f}{sa:>9,.0f}{rates[('ours', 1)] / s1:>6.1f}x{rates[('ours', None)] / sa:>6.1f}x")
    for name, tool in tools.items():
        if name == "shap":
            continue
        if isinstance(tool, str):
            line.append(f"  {name}: {tool}")
            continue
        with contextlib.redirect_stderr(io.StringIO()):
            gap = np.abs(positive_class(tool[0](rows.iloc[:50])) - ours_values).max()
        r = rates[(name, 1)]
        line.append(f"  {name}: {r:,.0f} ({rates[('ours', 1)] / r:.2f}x, max|d| {gap:.0e})")
    with contextlib.redirect_stderr(io.StringIO()):
        gap = np.abs(positive_class(shap_fn(rows.iloc[:50])) - ours_values).max()
    distinct = rows.iloc[: args.calls]
    lat_theirs = latency(lambda i: bare.shap_values(distinct.iloc[[i]].to_numpy(), check_additivity=False),
                         len(distinct))
    lat_ours = latency(lambda i: explainer.explain(distinct.iloc[[i]]), len(distinct))
    prepared = getattr(explainer, "_prepared", None)
    held = f", {prepared.nbytes / 2**20:.0f} MiB held" if prepared is not None else ""
    line.append(f"  shap max|d| {gap:.0e}; latency ms shap {lat_theirs[0]:.2f}/{lat_theirs[1]:.2f} "
                f"ours {lat_ours[0]:.2f}/{lat_ours[1]:.2f}  [{explainer.engine}{held}]")
    print("".join(line), flush=True)


def background_sweep(model, X_train: pd.DataFrame, rows: pd.DataFrame, sizes: list[int], repeat: int) -> None:
    """Interventional rows/s against backgrounds of several sizes, single-threaded (and set-up time)."""
    set_threads(model, 1)
    figures = []
    with threadpool_limits(limits=1):
        for size in sizes:
            start = time.perf_counter()
            explainer = Explainer(model, background=X_train.iloc[:size], tree_mode="interventional")
            setup = time.perf_counter() - start
            explainer.explain(rows.iloc[:10])
            figures.append((size, best_rate(lambda: explainer.explain(rows), len(rows), repeat), setup))
    set_threads(model, None)
    first = figures[0][1]
    print("  ".join(f"background {size:,}: {rate:,.0f} rows/s (set-up {setup:.1f} s, {first / rate:.2f}x slower)"
                    for size, rate, setup in figures) + f"   load {os.getloadavg()[0]:.1f}", flush=True)


def main() -> None:
    warnings.filterwarnings("ignore", message="LightGBM binary classifier with TreeExplainer")  # shap's notice
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2000, help="rows explained per timing (deep cells: a quarter)")
    parser.add_argument("--background", type=int, default=100)
    parser.add_argument("--big-background", type=int, default=1000)
    parser.add_argument("--calls", type=int, default=300, help="distinct one-row calls per latency figure")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--train", type=int, default=3000)
    parser.add_argument("--only", default="", help="run the cells whose label contains this text")
    args = parser.parse_args()

    X_train, y = make_data(args.train, seed=1)
    X, _ = make_data(args.rows, seed=2)
    background = X_train.iloc[: args.background]
    print(f"30 features; {args.rows} rows path-dependent, {args.rows // 5} interventional (deep cells: a "
          f"quarter), background {args.background}; best of {args.repeat}; {os.cpu_count()} cores, shared: "
          "absolute figures are noisy, compare within a line")
    print("rows/s, 1T = one thread, all = all cores; x = ours / bare shap; peers single-threaded, (x = ours / "
          "peer); max|d| = largest difference from our values; latency = one distinct row per call, median/p99\n")
    print(f"{'model':<28}{'mode':<16}{'load':>5}{'ours 1T':>9}{'ours all':>9}{'shap 1T':>9}{'shap all':>9}"
          f"{'x 1T':>7}{'x all':>7}  peers, checks, latency")
    for label, (model, share) in make_models().items():
        if args.only and args.only not in label:
            continue
        model.fit(X_train, y)
        n = max(50, int(args.rows * share))
        for mode in MODES:
            rows = X.iloc[:n] if mode == "path_dependent" else X.iloc[: max(50, n // 5)]
            run_cell(label, model, mode, rows, background, args)
        if label.startswith("LightGBM 200x63"):
            print(f"{'':<28}interventional, LightGBM 200x63 leaves, single-threaded: ", end="")
            background_sweep(model, X_train, X.iloc[: max(50, n // 5)], [args.background, args.big_background],
                             args.repeat)


if __name__ == "__main__":
    main()
