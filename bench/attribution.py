"""Exact TreeSHAP throughput and one-row latency: ours against bare shap.TreeExplainer, same models, one run.

Not a test: figures depend on the machine (and on whoever else is using its cores). Models on 30 synthetic
features: scikit-learn HistGradientBoosting and GradientBoosting, XGBoost and LightGBM with 200 trees of
depth 6, and a RandomForest with 100 trees of depth 10. For each model and tree mode it prints rows/s of
bare ``shap.TreeExplainer.shap_values`` and of ``Explainer.explain`` (validation, encoding, attribution,
additivity check included), single-threaded (numba.set_num_threads(1) and threadpoolctl limits for both
sides) and on all cores, and the ratios; then the one-row latency (median and p99 over --calls calls) of
both, as the service sees it.

    python bench/attribution.py [--rows 2000] [--background 100] [--calls 500]
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


def make_data(rows: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(rows, 30)), columns=[f"f{i:02d}" for i in range(30)])
    logit = X.iloc[:, :10].sum(axis=1) * 0.4 + X.f10 * X.f11 - 0.5 * X.f12**2 + rng.normal(size=rows)
    return X, (logit > 0).astype(int).to_numpy()


def make_models() -> dict:
    return {
        "HistGradientBoosting": HistGradientBoostingClassifier(max_iter=200, max_depth=6, max_leaf_nodes=64,
                                                               early_stopping=False, random_state=0),
        "GradientBoosting": GradientBoostingClassifier(n_estimators=200, max_depth=6, random_state=0),
        "XGBoost": xgboost.XGBClassifier(n_estimators=200, max_depth=6, n_jobs=0, random_state=0),
        "LightGBM": lightgbm.LGBMClassifier(n_estimators=200, max_depth=6, num_leaves=64, verbose=-1, random_state=0),
        "RandomForest (100 x depth 10)": RandomForestClassifier(n_estimators=100, max_depth=10, random_state=0),
    }


def best_rate(fn, n: int, repeat: int) -> float:
    best = np.inf
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return n / best


def latency(fn, calls: int) -> tuple[float, float]:
    times = np.empty(calls)
    for i in range(calls):
        start = time.perf_counter()
        fn()
        times[i] = time.perf_counter() - start
    return float(np.median(times) * 1e3), float(np.percentile(times, 99) * 1e3)


def set_threads(model, n: int | None) -> None:
    """Thread counts for both sides: numba (ours) and the libraries' own pools (XGBoost, LightGBM)."""
    numba.set_num_threads(n or numba.config.NUMBA_NUM_THREADS)
    if isinstance(model, xgboost.XGBClassifier):
        model.get_booster().set_param({"nthread": n or 0})
    if isinstance(model, lightgbm.LGBMClassifier):
        model.set_params(n_jobs=n or -1)


def main() -> None:
    warnings.filterwarnings("ignore", message="LightGBM binary classifier with TreeExplainer")  # shap's notice
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2000, help="rows explained per timing (interventional: a fifth)")
    parser.add_argument("--background", type=int, default=100)
    parser.add_argument("--calls", type=int, default=500, help="one-row calls per latency figure")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--train", type=int, default=3000)
    args = parser.parse_args()

    X_train, y = make_data(args.train, seed=1)
    X, _ = make_data(args.rows, seed=2)
    background = X_train.iloc[: args.background]
    cores = os.cpu_count()
    print(f"30 features; {args.rows} rows path-dependent, {args.rows // 5} interventional (background "
          f"{args.background}); best of {args.repeat}; {cores} cores (shared: figures are noisy)")
    print("rows/s: 1 thread | all cores; ratio = ours / bare shap. Latency: one row, ms, median / p99 over "
          f"{args.calls} calls.\n")
    header = (f"{'model':<30}{'mode':<16}{'shap 1T':>9}{'ours 1T':>9}{'x 1T':>7}{'shap all':>10}{'ours all':>10}"
              f"{'x all':>7}  {'latency shap':>14}{'latency ours':>14}")
    print(header)
    print("-" * len(header))
    for label, model in make_models().items():
        model.fit(X_train, y)
        for mode in MODES:
            explainer = Explainer(model, background=background, tree_mode=mode)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                bare = shap.TreeExplainer(
                    model, data=background.to_numpy() if mode == "interventional" else None,
                    feature_perturbation="interventional" if mode == "interventional" else "tree_path_dependent",
                    model_output="raw",
                )
            rows = X if mode == "path_dependent" else X.iloc[: max(1, args.rows // 5)]
            arr = rows.to_numpy()
            explainer.explain(rows.iloc[:100])  # compile (or load) both kernel variants outside the timing
            explainer.explain(rows.iloc[:1])
            rates = {}
            for threads in (1, None):
                set_threads(model, threads)
                # shap draws a progress bar on stderr for slow calls; it is not part of the figures.
                with threadpool_limits(limits=threads), contextlib.redirect_stderr(io.StringIO()):
                    theirs = best_rate(lambda: bare.shap_values(arr, check_additivity=False), len(rows), args.repeat)
                    ours = best_rate(lambda: explainer.explain(rows), len(rows), args.repeat)
                rates[threads] = (theirs, ours)
            set_threads(model, None)
            one, one_arr = rows.iloc[:1], arr[:1]
            lat_theirs = latency(lambda: bare.shap_values(one_arr, check_additivity=False), args.calls)
            lat_ours = latency(lambda: explainer.explain(one), args.calls)
            (s1, o1), (sa, oa) = rates[1], rates[None]
            print(f"{label:<30}{mode:<16}{s1:>9,.0f}{o1:>9,.0f}{o1 / s1:>6.1f}x{sa:>10,.0f}{oa:>10,.0f}{oa / sa:>6.1f}x"
                  f"  {lat_theirs[0]:>6.2f} / {lat_theirs[1]:<5.2f}{lat_ours[0]:>6.2f} / {lat_ours[1]:<5.2f}"
                  f"  [{explainer.engine}]", flush=True)


if __name__ == "__main__":
    main()
