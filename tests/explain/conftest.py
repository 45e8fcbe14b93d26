"""Fixtures for the core library tests: the real German Credit data and models of every supported kind."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from explain import FeatureCatalog, demo_bundle, demo_data
from explain._demo import TARGET


@pytest.fixture(scope="session")
def german() -> tuple[pd.DataFrame, np.ndarray]:
    frame = demo_data(with_target=True)
    y = (frame[TARGET] == "bad").astype(int).to_numpy()
    return frame.drop(columns=[TARGET]), y


@pytest.fixture(scope="session")
def categorical_columns(german) -> list[str]:
    X, _ = german
    return [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])]


@pytest.fixture(scope="session")
def numeric_columns(german, categorical_columns) -> list[str]:
    X, _ = german
    return [c for c in X.columns if c not in categorical_columns]


@pytest.fixture(scope="session")
def bundle():
    return demo_bundle()


@pytest.fixture(scope="session")
def catalog(bundle) -> FeatureCatalog:
    return bundle.catalog


@pytest.fixture(scope="session")
def good_background(german) -> pd.DataFrame:
    """A seeded sample of accounts in good standing: the reference population."""
    X, y = german
    good = X[y == 0]
    rng = np.random.default_rng(7)
    return good.iloc[np.sort(rng.choice(len(good), 60, replace=False))]


@pytest.fixture(scope="session")
def numeric_toy() -> tuple[pd.DataFrame, np.ndarray]:
    """Numeric data for models that take numbers only (bare estimators)."""
    rng = np.random.default_rng(11)
    X = pd.DataFrame(rng.normal(size=(600, 6)), columns=[f"f{i}" for i in range(6)])
    logits = 1.2 * X.f0 - 0.8 * X.f1 + X.f2 * X.f3 + 0.3 * rng.normal(size=600)
    return X, (logits > 0).astype(int).to_numpy()
