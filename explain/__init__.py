"""Explain credit-limit decisions to the people they affect.

Wrap any scoring model with SHAP attribution, group the contributions into customer-meaningful reason
groups, pick the principal reasons behind a limit increase, decrease or closure, and (in later layers) render
them as notices and keep a tamper-evident audit trail.
"""

from explain._attribution import TREE_MODES, Attribution, Explainer
from explain._bundle import ModelBundle, save_bundle
from explain._catalog import FeatureCatalog, FeatureSpec, PolicyReason, ReasonGroup, draft_catalog
from explain._demo import build_demo_bundle, demo_bundle, demo_data
from explain._exceptions import (
    AdditivityError,
    BundleError,
    CatalogError,
    ExplainError,
    FeatureMismatchError,
    ModelNotSupportedError,
    NoticeInputError,
    UnknownDecisionError,
    UnknownReasonError,
    UnsupportedLocaleError,
)
from explain._reasons import MAX_REASONS, Decision, DecisionReasons, ExcludedGroup, Reason

__version__ = "0.1.0"

__all__ = [
    "MAX_REASONS",
    "TREE_MODES",
    "AdditivityError",
    "Attribution",
    "BundleError",
    "CatalogError",
    "Decision",
    "DecisionReasons",
    "ExcludedGroup",
    "ExplainError",
    "Explainer",
    "FeatureCatalog",
    "FeatureMismatchError",
    "FeatureSpec",
    "ModelBundle",
    "ModelNotSupportedError",
    "NoticeInputError",
    "PolicyReason",
    "Reason",
    "ReasonGroup",
    "UnknownDecisionError",
    "UnknownReasonError",
    "UnsupportedLocaleError",
    "build_demo_bundle",
    "demo_bundle",
    "demo_data",
    "draft_catalog",
    "save_bundle",
]
