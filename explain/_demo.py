"""The demo bundle: a HistGradientBoosting pipeline on the UCI German Credit data, built deterministically.

Data: UCI Statlog (German Credit Data), Hans Hofmann, 1994, doi:10.24432/C5NC77, CC BY 4.0 (see
``explain/data/ATTRIBUTION.md``). The model predicts the probability that an account turns bad
(``higher_is = "risk"``); the background is a seeded sample of accounts in good standing, so every reason
reads "compared with accounts in good standing".
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from explain._bundle import ModelBundle, save_bundle
from explain.catalog._catalog import FeatureCatalog
from explain._exceptions import ExplainError
from explain.catalog._phrasebook import TRANSLATIONS_DIR
from explain.notices._profile import DEMO_LENDER_DIR

__all__ = ["DEMO_NAME", "DEMO_VERSION", "build_demo_bundle", "demo_bundle", "demo_data", "open_bundle"]

DEMO_NAME = "german-credit-demo"
DEMO_VERSION = "1.0.0"
TARGET = "creditability"
SEED = 20261129
BACKGROUND_ROWS = 200


def _data_file(name: str) -> Path:
    return Path(str(resources.files("explain") / "data" / name))


def demo_data(*, with_target: bool = False) -> pd.DataFrame:
    """The 1,000 German Credit accounts (20 raw features; the ``creditability`` label on request)."""
    frame = pd.read_csv(_data_file("german_credit.csv"))
    return frame if with_target else frame.drop(columns=[TARGET])


def _build_pipeline(catalog: FeatureCatalog, X: pd.DataFrame):  # noqa: ANN202 - sklearn objects
    """HistGradientBoosting that follows the catalog: monotone where it declares a direction or an order.

    Categories with a declared order (safest first) are coded in that order and constrained like numbers, so
    the model cannot learn, say, that a seriously overdue account lowers risk; categories without an order
    keep native categorical splits; numbers with a direction get a monotonic constraint.
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OrdinalEncoder

    def direction(feature: str) -> int:
        spec, group = catalog.features[feature], catalog.group_of(feature)
        declared = spec.direction or group.direction
        return {"higher_is_riskier": 1, "higher_is_safer": -1}.get(declared, 0)

    categorical = [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])]
    unordered = [c for c in categorical if not catalog.features[c].order]
    ordered = [c for c in categorical if catalog.features[c].order]
    numeric = [c for c in X.columns if c not in categorical]
    encode = ColumnTransformer(
        [("categories", OrdinalEncoder(dtype=np.float64), unordered),
         ("ordered", OrdinalEncoder(categories=[list(catalog.features[c].order) for c in ordered], dtype=np.float64),
          ordered),
         ("numbers", "passthrough", numeric)],
        verbose_feature_names_out=False,
    )
    monotonic = [0] * len(unordered) + [1] * len(ordered) + [direction(c) for c in numeric]
    model = HistGradientBoostingClassifier(
        max_iter=120,
        learning_rate=0.06,
        max_depth=4,
        min_samples_leaf=20,
        l2_regularization=1.0,
        categorical_features=list(range(len(unordered))),
        monotonic_cst=monotonic,
        early_stopping=False,
        random_state=SEED,
    )
    return Pipeline([("encode", encode), ("model", model)])


#: HistGradientBoosting's fit adds up gradients per OpenMP thread, so the fitted trees (and the bundle's bytes)
#: depend on how many threads fit them: 1 and 2 gave different bundles. The demo is fitted on this many
#: threads wherever it is built, whatever the machine's cores or ``OMP_NUM_THREADS``.
FIT_THREADS = 2


def build_demo_bundle(path: str | Path) -> ModelBundle:
    """Train the demo model and write its bundle to ``path``; the same bytes on every run."""
    data = demo_data(with_target=True)
    y = (data[TARGET] == "bad").astype(int).to_numpy()
    X = data.drop(columns=[TARGET])
    catalog = FeatureCatalog.from_toml(DEMO_LENDER_DIR / "catalog.toml")
    pipeline = _build_pipeline(catalog, X)  # imports scikit-learn's OpenMP runtime, which the limit must find
    with threadpool_limits(limits=FIT_THREADS, user_api="openmp"):
        pipeline.fit(X, y)
    good = X[y == 0]
    rng = np.random.default_rng(SEED)
    background = good.iloc[np.sort(rng.choice(len(good), size=BACKGROUND_ROWS, replace=False))].reset_index(drop=True)
    return save_bundle(
        path,
        model=pipeline,
        lender=DEMO_LENDER_DIR,
        background=background,
        name=DEMO_NAME,
        version=DEMO_VERSION,
        higher_is="risk",
        tree_mode="interventional",
        description="HistGradientBoosting on UCI Statlog German Credit (CC BY 4.0); risk = P(account turns bad).",
        extra={"random_state": SEED, "background_meaning": "accounts in good standing (seeded sample)",
               "data_attribution": "UCI Statlog (German Credit Data), Hans Hofmann, 1994, doi:10.24432/C5NC77, CC BY 4.0"},
    )


def _lender_digests() -> dict[str, str]:
    """sha256 of each shipped demo lender file, named as inside a bundle."""
    files = {"catalog.toml": DEMO_LENDER_DIR / "catalog.toml", "profile.toml": DEMO_LENDER_DIR / "profile.toml"}
    files.update({f"{TRANSLATIONS_DIR}/{p.name}": p for p in (DEMO_LENDER_DIR / TRANSLATIONS_DIR).glob("*.po")})
    return {name: hashlib.sha256(path.read_bytes()).hexdigest() for name, path in files.items()}


def _home() -> Path:
    return Path(os.environ.get("EXPLAIN_HOME") or Path.home() / ".cache" / "limit-explain")


@cache
def open_bundle(spec: str, *, trusted: bool = False) -> ModelBundle:
    """What ``--bundle`` names: ``demo`` for the built-in bundle, else a bundle folder."""
    from explain._exceptions import InvalidInputError

    if spec == "demo":
        return demo_bundle()
    if not Path(spec).is_dir():
        raise InvalidInputError("--bundle", "'demo' or a bundle folder", spec)
    return ModelBundle.load(spec, trusted=trusted)


def demo_bundle() -> ModelBundle:
    """The built-in demo bundle, built on first use into ``$EXPLAIN_HOME`` (default ``~/.cache/limit-explain``)."""
    path = _home() / "bundles" / f"{DEMO_NAME}-{DEMO_VERSION}"
    with _building(path):
        if (path / "manifest.json").is_file():
            try:
                cached = ModelBundle.load(path)
            except ExplainError:
                cached = None  # a damaged or outdated cache: rebuild it rather than explain with it
            # A cache built from an older lender folder (reworded phrases) would render stale text: rebuild it too.
            if cached is not None and all(cached.files.get(name) == digest for name, digest in _lender_digests().items()):
                return cached
        return build_demo_bundle(path)


@contextmanager
def _building(path: Path) -> Iterator[None]:
    """One process at a time checks and builds the cached bundle (a lock file beside it): the workers of one
    server, or two commands, starting on a fresh machine would otherwise write the same files at once and
    read each other's half-written ones. Where ``fcntl`` is missing, no lock."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.parent / f".{path.name}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
