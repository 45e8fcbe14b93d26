"""Model bundles: deterministic build, hash verification, safe formats, explicit trust for pickle."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from explain import BundleError, ModelBundle, build_demo_bundle, save_bundle

from explain.notices._profile import DEMO_LENDER_DIR
from lender_support import make_lender


def test_demo_bundle_is_built_deterministically(tmp_path, bundle):
    first = build_demo_bundle(tmp_path / "a")
    second = build_demo_bundle(tmp_path / "b")
    assert first.files == second.files == bundle.files
    assert first.sha256 == second.sha256 == bundle.sha256
    assert first.manifest["data_attribution"].startswith("UCI Statlog (German Credit Data)")
    assert len(first.background) == 200


def test_tampered_file_is_refused(tmp_path):
    built = build_demo_bundle(tmp_path / "b")
    background = built.path / "background.csv"
    background.write_text(background.read_text().replace("real estate", "no property", 1))
    with pytest.raises(BundleError, match="'background.csv' does not match its sha256"):
        ModelBundle.load(built.path)


def test_missing_manifest(tmp_path):
    with pytest.raises(BundleError, match="has no manifest.json"):
        ModelBundle.load(tmp_path)


def test_pickle_needs_explicit_trust(tmp_path, bundle):
    save_bundle(tmp_path / "p", model=bundle.model, lender=DEMO_LENDER_DIR, background=bundle.background,
                name="pickled", version="1", model_format="pickle")
    with pytest.raises(BundleError, match="pass trusted=True only if you trust"):
        ModelBundle.load(tmp_path / "p")
    trusted = ModelBundle.load(tmp_path / "p", trusted=True)
    assert trusted.manifest["model"]["format"] == "pickle"


@pytest.mark.parametrize("library", ["xgboost", "lightgbm"])
def test_native_model_formats_round_trip(tmp_path, library, numeric_toy):
    pytest.importorskip(library)
    import pandas as pd

    X, y = numeric_toy
    if library == "xgboost":
        import xgboost

        model = xgboost.XGBClassifier(n_estimators=20, max_depth=3, n_jobs=1).fit(X, y)
    else:
        import lightgbm

        model = lightgbm.LGBMClassifier(n_estimators=20, verbose=-1, n_jobs=1).fit(X, y)
    lender = make_lender(tmp_path / "lender", "\n".join(
        f'[groups.{c}]\nlabel = "{c}"\nfeatures = ["{c}"]\nadverse = "a"\nfavourable = "f"\n' for c in X.columns))
    loaded = save_bundle(tmp_path / library, model=model, lender=lender, background=X.iloc[:50],
                         name=library, version="1")
    assert loaded.manifest["model"]["format"] in ("xgboost-json", "lightgbm-text")
    rows = pd.DataFrame(X.iloc[:20])
    result = loaded.explainer().explain(rows)
    proba = model.predict_proba(rows)[:, 1]
    np.testing.assert_allclose(result.scores, proba, atol=1e-6)
    np.testing.assert_allclose(result.base_values + result.values.sum(axis=1), result.margins, atol=result.tolerance)


def test_describe_lists_groups_and_hashes(bundle):
    info = bundle.describe()
    assert info["method"] == "tree_shap" and info["mode"] == "interventional"
    assert info["files"] == bundle.files
    assert {g["code"] for g in info["groups"] if g["protected"]} == {"personal_status", "age", "nationality",
                                                                          "telephone_listing"}
    json.dumps(info)


@pytest.mark.parametrize("threads", ["1", "3"])
def test_demo_bundle_hash_is_the_same_in_another_process_on_any_thread_count(tmp_path, bundle, threads):
    """The demo's trees are fitted on a fixed number of OpenMP threads: 1, 2 and 3 gave three bundles."""
    import os
    import subprocess
    import sys

    code = f"import explain; print(explain.build_demo_bundle({str(tmp_path / 'x')!r}).sha256)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True,
                         env={**os.environ, "OMP_NUM_THREADS": threads})
    assert out.stdout.strip() == bundle.sha256


def test_skops_model_that_could_run_code_needs_trust(tmp_path, bundle, numeric_toy):
    """A FunctionTransformer wrapping builtins.eval must not load from an untrusted bundle."""
    import builtins
    from functools import partial

    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    X, y = numeric_toy
    marker = tmp_path / "ran"
    payload = partial(builtins.eval, f"open({str(marker)!r}, 'w').close() or __import__('numpy').asarray(X)")
    model = Pipeline([("f", FunctionTransformer(lambda X: X)), ("m", LogisticRegression())]).fit(X, y)
    model.steps[0][1].func = payload  # what an attacker would ship
    lender = make_lender(tmp_path / "lender", "\n".join(
        f'[groups.{c}]\nlabel = "{c}"\nfeatures = ["{c}"]\nadverse = "a"\nfavourable = "f"\n' for c in X.columns))
    with pytest.raises(BundleError, match=r"types outside the allowed set: \[.*builtins\.eval"):
        save_bundle(tmp_path / "evil", model=model, lender=lender, background=X.iloc[:20], name="evil", version="1")
    assert not marker.exists()


def test_processes_starting_at_once_on_a_fresh_cache_all_get_the_demo_bundle(tmp_path, bundle):
    """The workers of one server on a fresh machine all ask for the demo at once: one builds it, the others
    wait for it (a lock beside the cache) and load it; none reads a half-written file."""
    import os
    import subprocess
    import sys

    code = "import explain; print(explain.demo_bundle().sha256)"
    env = {**os.environ, "EXPLAIN_HOME": str(tmp_path / "home")}
    processes = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True, env=env) for _ in range(3)]
    outputs = [p.communicate(timeout=300) for p in processes]
    assert [p.returncode for p in processes] == [0, 0, 0], [err[-2000:] for _, err in outputs]
    assert {out.strip() for out, _ in outputs} == {bundle.sha256}
