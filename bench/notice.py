"""Benchmark ``explain notice`` for one account: the wall time of the whole command, start-up included.

A lender's back office or a support agent runs it for one customer at a time, so start-up is the cost. Two
bundles: the demo (a scikit-learn pipeline kept as skops, whose safe loading imports skops' list of trusted
types, i.e. every scikit-learn estimator) and an XGBoost bundle of the same data (model.json: no skops at all).
Each command runs ``--repeat`` times after one warm-up run (bundles built, numba's cache filled); the median
is printed, with the time ``python -c 'import skops.io'`` alone takes on this machine now, and the load
average, because absolute figures on a shared machine say little: compare the lines of one run.

    .venv/bin/python bench/notice.py [--repeat 5]

Goal: under 1 s for the XGBoost bundle on a quiet machine. This is not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("EXPLAIN_HOME", str(REPO / "var" / "bench-home"))
EXPLAIN = str(Path(sys.executable).with_name("explain"))


def xgboost_bundle(folder: Path) -> Path:
    """The demo data and lender, an XGBoost model with native categorical splits, bundled (once)."""
    import pandas as pd
    import xgboost

    from explain import demo_data, save_bundle
    from explain._demo import TARGET
    from explain.notices._profile import DEMO_LENDER_DIR

    path = folder / "xgboost-bundle"
    if (path / "manifest.json").is_file():
        return path
    data = demo_data(with_target=True)
    y = (data[TARGET] == "bad").astype(int)
    X = data.drop(columns=[TARGET])
    X = X.astype({c: "category" for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])})
    model = xgboost.XGBClassifier(n_estimators=120, max_depth=4, learning_rate=0.06, enable_categorical=True,
                                  tree_method="hist", n_jobs=1, random_state=0).fit(X, y)
    save_bundle(path, model=model, lender=DEMO_LENDER_DIR, background=X[y == 0].iloc[:200], name="xgb-demo",
                version="1")
    return path


def wall(args: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat + 1):  # the first run warms caches (numba, the demo bundle) and is not counted
        start = time.perf_counter()
        subprocess.run(args, check=True, capture_output=True, timeout=600)
        times.append(time.perf_counter() - start)
    return statistics.median(times[1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    options = parser.parse_args()
    from explain import demo_data

    folder = REPO / "var" / "bench-notice"
    folder.mkdir(parents=True, exist_ok=True)
    bundle = xgboost_bundle(folder)
    account = Path(tempfile.mkdtemp()) / "account.json"
    row = demo_data().iloc[77]
    account.write_text(json.dumps({k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}))
    common = ["--decision", "limit_decrease", "--old-limit", "20000", "--new-limit", "8000", "--locale", "zh_CN"]
    print(f"load average {os.getloadavg()}; {os.cpu_count()} cores; median of {options.repeat} runs")
    figures = {
        "explain notice, XGBoost bundle (model.json)": wall([EXPLAIN, "notice", "--bundle", str(bundle),
                                                             "--input", str(account), *common], options.repeat),
        "explain notice, demo bundle (skops)": wall([EXPLAIN, "notice", "--bundle", "demo", "--account", "77",
                                                     *common], options.repeat),
        "python -c 'import skops.io' alone": wall([sys.executable, "-c", "import skops.io"], options.repeat),
        "python -c 'import explain.cli' alone": wall([sys.executable, "-c", "import explain.cli"], options.repeat),
    }
    for what, seconds in figures.items():
        print(f"{what:<48} {seconds:6.2f} s")


if __name__ == "__main__":
    main()
