"""Explain credit-limit decisions to the people they affect.

Wrap any scoring model with SHAP attribution, group the contributions into customer-meaningful reason
groups, pick the principal reasons behind a limit increase, decrease or closure, render
them as plain-language notices in Chinese and English, and keep a tamper-evident audit trail.
"""

from typing import TYPE_CHECKING

# Names load on first use (PEP 562): `explain --help`, or a command that needs only the notices, does not pay
# for pandas, numba and the model libraries it never touches. Each name maps to the module that defines it.
_LAZY = {
    "TREE_MODES": "attribution._attribution", "Attribution": "attribution._attribution", "Explainer": "attribution._attribution",
    "ModelBundle": "_bundle", "save_bundle": "_bundle",
    "FeatureCatalog": "catalog._catalog", "FeatureSpec": "catalog._catalog", "PolicyReason": "catalog._catalog", "ReasonGroup": "catalog._catalog",
    "draft_catalog": "catalog._catalog_draft",
    "build_demo_bundle": "_demo", "demo_bundle": "_demo", "demo_data": "_demo",
    "AdditivityError": "_exceptions", "BundleError": "_exceptions", "CatalogError": "_exceptions",
    "ExplainError": "_exceptions", "FeatureMismatchError": "_exceptions", "InvalidInputError": "_exceptions",
    "ModelNotSupportedError": "_exceptions", "NoticeInputError": "_exceptions", "UnknownDecisionError": "_exceptions",
    "UnknownReasonError": "_exceptions", "UnsupportedLocaleError": "_exceptions", "TranslationError": "_exceptions",
    "update_translations": "catalog._i18n_extract", "Phrasebook": "catalog._phrasebook",
    "format_date": "notices._formatting", "format_money": "notices._formatting", "format_value": "notices._formatting",
    "SUPPORTED_LOCALES": "notices._locales", "CatalogMissingError": "notices._locales", "negotiate": "notices._locales",
    "CHANNELS": "notices._notices", "Notice": "notices._notices", "reason_phrases": "notices._notices", "render_notice": "notices._notices",
    "LenderProfile": "notices._profile", "demo_profile": "notices._profile",
    "MAX_REASONS": "reasons._reasons", "Decision": "reasons._reasons", "DecisionReasons": "reasons._reasons", "ExcludedGroup": "reasons._reasons",
    "Reason": "reasons._reasons",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'explain' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"explain.{module}"), name)
    globals()[name] = value  # once: later lookups are plain module attributes
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


if TYPE_CHECKING:  # for type checkers and IDEs: the same names, imported eagerly
    from explain.attribution._attribution import TREE_MODES, Attribution, Explainer
    from explain._bundle import ModelBundle, save_bundle
    from explain.catalog._catalog import FeatureCatalog, FeatureSpec, PolicyReason, ReasonGroup
    from explain.catalog._catalog_draft import draft_catalog
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
    from explain.notices._formatting import format_date, format_money, format_value
    from explain.catalog._i18n_extract import update_translations
    from explain.notices._locales import SUPPORTED_LOCALES, CatalogMissingError, negotiate
    from explain.notices._notices import CHANNELS, Notice, reason_phrases, render_notice
    from explain.catalog._phrasebook import Phrasebook
    from explain.notices._profile import LenderProfile, demo_profile
    from explain.reasons._reasons import MAX_REASONS, Decision, DecisionReasons, ExcludedGroup, Reason

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
