"""Explain credit-limit decisions to the people they affect.

Wrap any scoring model with SHAP attribution, group the contributions into customer-meaningful reason
groups, pick the principal reasons behind a limit increase, decrease or closure, render
them as plain-language notices in Chinese and English, and keep a tamper-evident audit trail.
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
    InvalidInputError,
    ModelNotSupportedError,
    NoticeInputError,
    TranslationError,
    UnknownDecisionError,
    UnknownReasonError,
    UnsupportedLocaleError,
)
from explain._i18n_extract import update_translations
from explain._phrasebook import Phrasebook
from explain._formatting import format_date, format_money, format_value
from explain._locales import SUPPORTED_LOCALES, CatalogMissingError, negotiate
from explain._notices import CHANNELS, Notice, reason_phrases, render_notice
from explain._profile import LenderProfile, demo_profile
from explain._reasons import MAX_REASONS, Decision, DecisionReasons, ExcludedGroup, Reason

__version__ = "0.1.0"

__all__ = [
    "CHANNELS",
    "MAX_REASONS",
    "SUPPORTED_LOCALES",
    "TREE_MODES",
    "AdditivityError",
    "Attribution",
    "BundleError",
    "CatalogError",
    "CatalogMissingError",
    "Decision",
    "DecisionReasons",
    "ExcludedGroup",
    "ExplainError",
    "Explainer",
    "FeatureCatalog",
    "FeatureMismatchError",
    "FeatureSpec",
    "InvalidInputError",
    "LenderProfile",
    "ModelBundle",
    "ModelNotSupportedError",
    "Notice",
    "NoticeInputError",
    "Phrasebook",
    "PolicyReason",
    "Reason",
    "ReasonGroup",
    "TranslationError",
    "UnknownDecisionError",
    "UnknownReasonError",
    "UnsupportedLocaleError",
    "build_demo_bundle",
    "demo_bundle",
    "demo_data",
    "demo_profile",
    "draft_catalog",
    "format_date",
    "format_money",
    "format_value",
    "negotiate",
    "reason_phrases",
    "render_notice",
    "save_bundle",
    "update_translations",
]
