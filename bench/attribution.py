"""Throughput of explain + reasons against bare shap.TreeExplainer on the same model, in the same run.

Not a test: figures depend on the machine. 200-tree, depth-6 gradient-boosted models on 30 synthetic
features: scikit-learn's GradientBoostingClassifier (we use our parallel numba TreeSHAP; bare shap uses its
C++ TreeSHAP) and XGBoost (we use the library's kernel or shap, as bare shap does). 10,000 rows for the
path-dependent meaning; interventional is O(rows x background), so it runs on a tenth of them. Prints
rows/s for each side and the ratio (ours / shap; >= 1.0 means no slower than calling shap yourself).

    python bench/attribution.py [--rows 10000] [--background 100]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd
import shap
import xgboost

from explain import Explainer, FeatureCatalog


def make_data(rows: int, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(rows, 30)), columns=[f"f{i:02d}" for i in range(30)])
    logit = X.iloc[:, :10].sum(axis=1) * 0.4 + X.f10 * X.f11 - 0.5 * X.f12**2 + rng.normal(size=rows)
    return X, (logit > 0).astype(int).to_numpy()


def make_catalog(columns: list[str]) -> FeatureCatalog:
    groups = {
        f"g{j}": {"label": f"Group {j}", "features": columns[j * 3:(j + 1) * 3], "adverse": "a", "favourable": "f",
                  "protected": j == 9}
        for j in range(10)
    }
    return FeatureCatalog.from_dict({"groups": groups})


def best_of(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--background", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from sklearn.ensemble import GradientBoostingClassifier

    X_train, y = make_data(5_000, seed=1)
    models = {
        "sklearn GB": GradientBoostingClassifier(n_estimators=200, max_depth=6, learning_rate=0.1, random_state=0),
        "XGBoost": xgboost.XGBClassifier(n_estimators=200, max_depth=6, learning_rate=0.1, n_jobs=0, random_state=0),
    }
    X, _ = make_data(args.rows, seed=2)
    background = X_train.iloc[: args.background]
    catalog = make_catalog(list(X.columns))
    print(f"200 trees, depth 6, 30 features; {args.rows} rows; background {args.background} rows; best of {args.repeat}")
    print(f"{'model':<12}{'mode':<16}{'engine':<10}{'ours rows/s':>13}{'shap rows/s':>13}{'ratio':>8}")
    for label, model in models.items():
        model.fit(X_train, y)
        for mode in ("path_dependent", "interventional"):
            explainer = Explainer(model, catalog=catalog, background=background, tree_mode=mode)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                bare = shap.TreeExplainer(
                    model,
                    data=background.to_numpy() if mode == "interventional" else None,
                    feature_perturbation="interventional" if mode == "interventional" else "tree_path_dependent",
                    model_output="raw",
                )
            rows = X if mode == "path_dependent" else X.iloc[: max(1, args.rows // 10)]
            explainer.reasons(rows.iloc[:10], decision="limit_decrease")  # compile/warm up outside the timing
            ours = best_of(lambda: explainer.reasons(rows, decision="limit_decrease"), args.repeat)
            theirs = best_of(lambda: bare.shap_values(rows.to_numpy(), check_additivity=False), args.repeat)
            n = len(rows)
            print(f"{label:<12}{mode:<16}{explainer.engine:<10}{n / ours:>13,.0f}{n / theirs:>13,.0f}"
                  f"{theirs / ours:>7.2f}x" + ("" if n == args.rows else f"  ({n} rows)"))


if __name__ == "__main__":
    main()
