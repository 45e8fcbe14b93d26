"""The feature catalog: which raw features make up each customer-meaningful reason group.

A model speaks in columns (``duration_in_month``); a customer understands factors ("the length of your
loan"). The catalog is the one place that maps one to the other, says which groups are protected (never a
reason), which are actionable (get advice), how each value is shown, and holds the English message ids that
``locales/`` translates. It is a TOML file a person edits; :func:`~explain.draft_catalog` writes a first draft.
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal


from explain._exceptions import CatalogError
from explain._strict import nearest, unknown_keys_message
from explain.catalog._i18n_extract import toml_phrases
from explain.catalog._phrasebook import TRANSLATIONS_DIR, Phrasebook

__all__ = [
    "DIRECTIONS", "PERCENT_SCALES", "VALUE_KINDS", "FeatureCatalog", "FeatureSpec", "PolicyReason", "ReasonGroup",
    "advice_applies",
]

Direction = Literal["higher_is_riskier", "higher_is_safer", "none"]
DIRECTIONS: tuple[str, ...] = ("higher_is_riskier", "higher_is_safer", "none")
ValueKind = Literal["money", "percent", "count", "months", "years", "number", "category"]
VALUE_KINDS: tuple[str, ...] = ("money", "percent", "count", "months", "years", "number", "category")

_GROUP_KEYS = {"label", "features", "direction", "actionable", "protected", "display", "adverse", "favourable", "advice",
               "advice_when", "rationale", "short"}
_FEATURE_KEYS = {"kind", "categories", "unit", "scale", "direction", "order", "adverse", "favourable", "advice",
                 "advice_when", "min", "max", "missing", "currency", "short"}
_WHEN_KEYS = {"above", "below", "categories"}
#: How a ``percent`` feature's values are written: ``fraction`` (0.651 reads 65%) or ``percent`` (65.1 reads 65.1%).
PERCENT_SCALES: tuple[str, ...] = ("fraction", "percent")
_POLICY_KEYS = {"label", "adverse", "favourable", "advice", "actionable"}
_CATALOG_KEYS = {"name", "version", "top", "materiality"}
#: The catalog's top-level tables (one list per table above: a new key is one word in one list).
_TOP_KEYS = {"catalog", "groups", "features", "policy", "actions", "recourse"}


@dataclass(frozen=True)
class FeatureSpec:
    """One raw model input: how its value is shown, and customer wording for its categories."""

    name: str
    group: str
    kind: str = "number"
    categories: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    unit: tuple[str, str] | None = None  # count: English (one, many) msgids with {count}, e.g. "{count} late payment"
    scale: str = "fraction"  # percent: "fraction" (0.65) or "percent" (65.0)
    direction: str | None = None  # numbers: overrides the group's direction for this feature
    order: tuple[str, ...] = ()  # categories: from safest to riskiest, for the counter-intuitive check
    # Phrases for when this feature is the one shown (it carried most of the group's contribution); the
    # group's phrases otherwise.
    adverse: str | None = None
    favourable: str | None = None
    advice: str | None = None
    advice_when: Mapping[str, Any] | None = None
    # The declared range of a number (replacing its kind's: a fraction 0-1, a count 0 or more), and whether a
    # missing value is accepted (None: when no phrase prints {value}); checked for every input of a decision.
    min: float | None = None
    max: float | None = None
    missing: bool | None = None
    currency: str | None = None  # money: the unit of the data's amounts (ISO 4217), when not the letter's
    short: str | None = None  # the reason in a short message, either effect ("repayments at level {value} of 4")


@dataclass(frozen=True)
class ReasonGroup:
    """A factor a customer understands, made of one or more raw features whose contributions are summed."""

    code: str
    label: str
    features: tuple[str, ...]
    direction: str
    actionable: bool
    protected: bool
    display: str
    adverse: str
    favourable: str
    advice: str | None = None
    rationale: str | None = None  # why a protected-looking group is not protected, for the reviewer
    advice_when: Mapping[str, Any] | None = None  # the advice applies only to these values of the shown feature
    short: str | None = None  # the reason in a short message, either effect; default: label (value)


@dataclass(frozen=True)
class PolicyReason:
    """A reason that is not a model factor (overdue repayment, portfolio tightening), given by the caller."""

    code: str
    label: str
    adverse: str
    favourable: str | None = None
    advice: str | None = None
    actionable: bool = False


def _require(table: Mapping[str, Any], key: str, where: str, kind: type | tuple[type, ...]) -> Any:
    if key not in table:
        raise CatalogError(where, f"missing required key {key!r}")
    value = table[key]
    if not isinstance(value, kind):
        expected = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise CatalogError(where, f"{key!r} must be a {expected}, got {value!r}")
    return value


def _flag(table: Mapping[str, Any], key: str, where: str, default: bool) -> bool:
    value = table.get(key, default)
    if not isinstance(value, bool):
        raise CatalogError(where, f"flag {key!r} must be true or false, got {value!r}")
    return value


def _advice_when(table: Mapping[str, Any], where: str) -> Mapping[str, Any] | None:
    """``advice_when``: advice applies only above or below a value, or for some categories."""
    when = table.get("advice_when")
    if when is None:
        return None
    if isinstance(when, dict):
        _unknown_keys(when, _WHEN_KEYS, f"{where} advice_when")
    if not isinstance(when, dict) or not when:
        raise CatalogError(where, "'advice_when' must be a table with 'above', 'below' or 'categories'")
    for key in ("above", "below"):
        if key in when and (isinstance(when[key], bool) or not isinstance(when[key], int | float)):
            raise CatalogError(where, f"'advice_when.{key}' must be a number, got {when[key]!r}")
    if "categories" in when and (not isinstance(when["categories"], list) or not when["categories"]):
        raise CatalogError(where, "'advice_when.categories' must be a non-empty list of categories")
    return MappingProxyType(dict(when))


def advice_applies(when: Mapping[str, Any] | None, value: Any) -> bool:
    """Whether advice conditioned by ``when`` fits a customer whose shown value is ``value``."""
    if when is None:
        return True
    if value is None:
        return False
    if "categories" in when:
        return str(value) in {str(c) for c in when["categories"]}
    try:
        number = float(value)
    except (TypeError, ValueError):
        return False
    return ("above" not in when or number > when["above"]) and ("below" not in when or number < when["below"])


def _unknown_keys(table: Mapping[str, Any], allowed: set[str], where: str) -> None:
    if not isinstance(table, Mapping):
        raise CatalogError(where, f"must be a table, got {table!r}")
    problem = unknown_keys_message(table, allowed)
    if problem:
        raise CatalogError(where, problem)


class FeatureCatalog:
    """Reason groups, feature display specs and policy reasons, validated when built.

    Parameters
    ----------
    groups, features, policy_reasons
        Parsed entries; use :meth:`from_toml` or :meth:`from_dict` rather than building them by hand.
    name, version
        Identify the catalog in audit records.
    top, materiality
        Defaults for reason selection: at most ``top`` reasons, and groups whose share of the account's total
        absolute contribution is below ``materiality`` are not reasons.

    Examples
    --------
    >>> catalog = FeatureCatalog.from_toml("catalog.toml")  # doctest: +SKIP
    >>> catalog.group_of("duration_in_month").code  # doctest: +SKIP
    'loan_term'
    """

    def __init__(
        self,
        groups: Mapping[str, ReasonGroup],
        features: Mapping[str, FeatureSpec],
        policy_reasons: Mapping[str, PolicyReason] = MappingProxyType({}),
        *,
        name: str = "catalog",
        version: str = "0",
        top: int = 4,
        materiality: float = 0.02,
        source: str | None = None,
        phrases: Phrasebook | None = None,
        recourse: Any = None,
    ) -> None:
        self.groups = MappingProxyType(dict(groups))
        self.features = MappingProxyType(dict(features))
        self.policy_reasons = MappingProxyType(dict(policy_reasons))
        self.name = name
        self.version = version
        self.top = top
        self.materiality = materiality
        self._source = source
        self.phrases = phrases
        if recourse is None:
            from explain.recourse._actions import RecoursePolicy

            recourse = RecoursePolicy(actions=MappingProxyType({}), targets=MappingProxyType({}))
        self.recourse = recourse  # actions and targets ([actions.*], [recourse]): explain.recourse reads them
        self._validate()

    # -- construction -------------------------------------------------------------------------------------
    @classmethod
    def from_toml(cls, path: str | Path, *, translations: str | Path | Phrasebook | None = None) -> FeatureCatalog:
        """Read and validate a catalog file, with the translations of its phrases.

        ``translations`` is a :class:`Phrasebook` or a folder of ``<locale>.po`` files; by default the
        ``translations/`` folder beside the file, when there is one. With translations, every phrase must be
        translated in every supported locale (:class:`~explain.TranslationError` lists each one that is not).
        """
        path = Path(path)
        text = path.read_text(encoding="utf-8")
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise CatalogError(str(path), f"is not valid TOML ({exc})") from exc
        if translations is None and (path.parent / TRANSLATIONS_DIR).is_dir():
            translations = path.parent / TRANSLATIONS_DIR
        if translations is not None and not isinstance(translations, Phrasebook):
            translations = Phrasebook.from_dir(translations)
        return cls.from_dict(data, source=text, phrases=translations)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str | None = None,
                  phrases: Phrasebook | None = None) -> FeatureCatalog:
        """Build from the parsed TOML structure, naming the offending table in every error."""
        _unknown_keys(data, _TOP_KEYS, "top level")
        meta = data.get("catalog", {})
        _unknown_keys(meta, _CATALOG_KEYS, "[catalog]")
        raw_groups = data.get("groups", {})
        if not raw_groups:
            raise CatalogError("[groups]", "defines no reason group")
        raw_features = data.get("features", {})

        features: dict[str, FeatureSpec] = {}
        groups: dict[str, ReasonGroup] = {}
        owner: dict[str, str] = {}
        for code, table in raw_groups.items():
            where = f"group {code!r}"
            _unknown_keys(table, _GROUP_KEYS, where)
            members = _require(table, "features", where, list)
            if not members or not all(isinstance(m, str) for m in members):
                raise CatalogError(where, "'features' must be a non-empty list of column names")
            for feature in members:
                if feature in owner:
                    raise CatalogError(
                        f"feature {feature!r}", f"is listed in both group {owner[feature]!r} and group {code!r}"
                    )
                owner[feature] = code
            actionable = _flag(table, "actionable", where, False)
            advice = table.get("advice")
            if actionable and not advice:
                raise CatalogError(where, "is actionable, so it needs an 'advice' phrase")
            display = table.get("display", members[0])
            if display not in members:
                raise CatalogError(where, f"'display' feature {display!r} is not one of its features {members}")
            direction = table.get("direction", "none")
            if direction not in DIRECTIONS:
                raise CatalogError(where, f"'direction' must be one of {', '.join(DIRECTIONS)}, got {direction!r}")
            groups[code] = ReasonGroup(
                code=code,
                label=_require(table, "label", where, str),
                features=tuple(members),
                direction=direction,
                actionable=actionable,
                protected=_flag(table, "protected", where, False),
                display=display,
                adverse=_require(table, "adverse", where, str),
                favourable=_require(table, "favourable", where, str),
                advice=advice,
                rationale=table.get("rationale"),
                advice_when=_advice_when(table, where),
                short=table.get("short"),
            )

        unknown = sorted(set(raw_features) - set(owner))
        if unknown:
            guess = nearest(unknown[0], owner)
            raise CatalogError(f"feature {unknown[0]!r}", "has a [features] table but belongs to no group"
                               + (f" (did you mean {guess!r}?)" if guess else ""))
        for feature, code in owner.items():
            table = raw_features.get(feature, {})
            where = f"feature {feature!r}"
            _unknown_keys(table, _FEATURE_KEYS, where)
            kind = table.get("kind", "number")
            if kind not in VALUE_KINDS:
                raise CatalogError(where, f"'kind' must be one of {', '.join(VALUE_KINDS)}, got {kind!r}")
            categories = table.get("categories", {})
            if not isinstance(categories, dict) or not all(isinstance(v, str) for v in categories.values()):
                raise CatalogError(where, "'categories' must map each category to a customer-facing phrase")
            unit = table.get("unit")
            if unit is not None and (kind != "count" or not isinstance(unit, list) or len(unit) != 2
                                     or not all(isinstance(u, str) and "{count}" in u for u in unit)):
                raise CatalogError(where, "'unit' belongs to a count and must be [singular, plural] phrases with "
                                          "{count}, e.g. [\"{count} late payment\", \"{count} late payments\"]")
            scale = table.get("scale", "fraction")
            if scale not in PERCENT_SCALES or ("scale" in table and kind != "percent"):
                raise CatalogError(where, f"'scale' belongs to a percent and must be one of {', '.join(PERCENT_SCALES)}, "
                                          f"got {scale!r}")
            direction = table.get("direction")
            if direction is not None and (direction not in DIRECTIONS or kind == "category"):
                raise CatalogError(where, f"'direction' is for numbers and must be one of {', '.join(DIRECTIONS)}, "
                                          f"got {direction!r}")
            order = table.get("order", [])
            if order and (kind != "category" or not isinstance(order, list) or set(order) != set(categories)):
                raise CatalogError(where, "'order' lists every category once, from safest to riskiest")
            bounds = {}
            for key in ("min", "max"):
                value = table.get(key)
                if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)
                                          or kind == "category"):
                    raise CatalogError(where, f"{key!r} is the lowest/highest value a number may take, got {value!r}")
                bounds[key] = value
            if bounds["min"] is not None and bounds["max"] is not None and bounds["min"] > bounds["max"]:
                raise CatalogError(where, f"'min' ({bounds['min']}) is above 'max' ({bounds['max']})")
            missing = table.get("missing")
            if missing is not None and not isinstance(missing, bool):
                raise CatalogError(where, f"'missing' must be true or false, got {missing!r}")
            if missing:
                group = raw_groups[code]
                shown = [table.get(e) or group.get(e) for e in ("adverse", "favourable")]
                if any(isinstance(p, str) and "{value}" in p for p in shown):
                    raise CatalogError(where, "accepts a missing value (missing = true), but a phrase it is shown "
                                              "with prints {value}: give it phrases without {value}")
            currency = table.get("currency")
            if currency is not None:
                from babel.numbers import is_currency

                if kind != "money" or not isinstance(currency, str) or not is_currency(currency):
                    raise CatalogError(where, f"'currency' belongs to money and must be an ISO 4217 code such as "
                                              f"\"EUR\", got {currency!r}")
            features[feature] = FeatureSpec(
                feature, code, kind, MappingProxyType(dict(categories)), tuple(unit) if unit else None, scale,
                direction, tuple(order), table.get("adverse"), table.get("favourable"), table.get("advice"),
                _advice_when(table, where), bounds["min"], bounds["max"], missing, currency, table.get("short"))

        policy: dict[str, PolicyReason] = {}
        for code, table in data.get("policy", {}).items():
            where = f"policy reason {code!r}"
            _unknown_keys(table, _POLICY_KEYS, where)
            if code in groups:
                raise CatalogError(where, "has the same code as a reason group")
            actionable = _flag(table, "actionable", where, bool(table.get("advice")))
            policy[code] = PolicyReason(
                code=code,
                label=_require(table, "label", where, str),
                adverse=_require(table, "adverse", where, str),
                favourable=table.get("favourable"),
                advice=table.get("advice"),
                actionable=actionable,
            )

        top = meta.get("top", 4)
        materiality = meta.get("materiality", 0.02)
        from explain.recourse._actions import parse_recourse  # recourse owns its tables' schema

        recourse = parse_recourse(data, features, groups)
        if phrases is not None:
            phrases.require(toml_phrases(data))
        return cls(
            groups,
            features,
            policy,
            name=str(meta.get("name", "catalog")),
            version=str(meta.get("version", "0")),
            top=top,
            materiality=materiality,
            source=source,
            phrases=phrases,
            recourse=recourse,
        )

    def _validate(self) -> None:
        from explain.reasons._reasons import MAX_REASONS  # the hard cap lives with the selection rule

        if not isinstance(self.top, int) or isinstance(self.top, bool) or not 1 <= self.top <= MAX_REASONS:
            raise CatalogError("[catalog]", f"'top' must be an integer from 1 to {MAX_REASONS}, got {self.top!r}")
        if not isinstance(self.materiality, int | float) or not 0 <= self.materiality < 1:
            raise CatalogError("[catalog]", f"'materiality' must be a number in [0, 1), got {self.materiality!r}")
        if all(g.protected for g in self.groups.values()):
            raise CatalogError("[groups]", "every group is protected, so no reason could ever be given")

    # -- queries ------------------------------------------------------------------------------------------
    @property
    def feature_names(self) -> tuple[str, ...]:
        """Every raw feature the catalog covers, in group order."""
        return tuple(f for g in self.groups.values() for f in g.features)

    def group_of(self, feature: str) -> ReasonGroup:
        """The reason group a raw feature belongs to."""
        try:
            return self.groups[self.features[feature].group]
        except KeyError:
            raise CatalogError(f"feature {feature!r}", "is not in the catalog") from None

    def policy_reason(self, code: str) -> PolicyReason:
        """Look up a caller-supplied policy reason, with an error that lists the known codes."""
        from explain._exceptions import UnknownReasonError

        try:
            return self.policy_reasons[code]
        except KeyError:
            raise UnknownReasonError(code, sorted(self.policy_reasons)) from None

    def check_features(self, model_features: list[str] | tuple[str, ...]) -> None:
        """Fail unless the catalog covers exactly the model's raw features, naming the difference."""
        missing = [f for f in model_features if f not in self.features]
        if missing:
            raise CatalogError(f"feature {missing[0]!r}", f"is a model input but belongs to no group (all missing: {missing})")
        unknown = [f for f in self.features if f not in set(model_features)]
        if unknown:
            raise CatalogError(f"feature {unknown[0]!r}", f"is not a model input (all unknown: {unknown})")

    # -- customer wording -----------------------------------------------------------------------------------
    def phrase(self, context: str, msgid: str, *, locale: str) -> str:
        """One of the catalog's phrases in ``locale``, from its translations (checked when it was loaded)."""
        return self.phrasebook().text(context, msgid, locale=locale)

    def count_text(self, feature: str, count: int, number: str, *, locale: str) -> str | None:
        """A count with its unit ("3 late payments", "3笔逾期还款"), or None when the feature has no unit."""
        spec = self.features[feature]
        if spec.unit is None:
            return None
        text = self.phrasebook().plural(f"features:{feature}:unit", spec.unit[0], spec.unit[1], count, locale=locale)
        return text.replace("{count}", number)

    def phrasebook(self) -> Phrasebook:
        """The catalog's translations; a catalog loaded without them cannot word a notice."""
        if self.phrases is None:
            raise CatalogError(
                f"{self.name!r}",
                "has no translations, so it cannot word a notice; keep translations/<locale>.po beside the catalog "
                "(`explain phrases update`) or load it from a bundle",
            )
        return self.phrases

    @property
    def sha256(self) -> str:
        """Hash of the catalog's source text (or canonical form), recorded in every audit record."""
        text = self._source if self._source is not None else repr(
            (self.name, self.version, self.top, self.materiality, sorted(self.groups.items()),
             sorted(self.features.items()), sorted(self.policy_reasons.items()))
        )
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def __repr__(self) -> str:
        return (
            f"FeatureCatalog(name={self.name!r}, version={self.version!r}, groups={len(self.groups)}, "
            f"features={len(self.features)}, policy_reasons={len(self.policy_reasons)})"
        )
