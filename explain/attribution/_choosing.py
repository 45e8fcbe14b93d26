"""The reasons half of :class:`~explain.Explainer`: from attributions to the principal reasons of a decision.

The explainer attributes (``_attribution.py``); this chooses, from the group sums, the reasons a notice gives:
the decision's terms checked (top, materiality, policy reasons worded for its effect), protected groups set
aside, the member feature whose value is shown and where that value stands in the background. Kept apart so
each file has one job; the methods read the explainer's catalog, background statistics and direction rules.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from explain._exceptions import CatalogError, InvalidInputError
from explain.reasons._reasons import (
    MAX_REASONS,
    Decision,
    DecisionReasons,
    Reason,
    select_reasons_matrix,
    shown_features,
)

__all__ = ["ReasonChoosing"]


def _plain_key(key: Any) -> Any:
    return key.item() if isinstance(key, np.generic) else key


class ReasonChoosing:
    """Reason selection for an :class:`~explain.Explainer` (a mixin: it has no state of its own)."""

    def reasons(
        self,
        X: pd.DataFrame,
        *,
        decision: Decision | str,
        top: int | None = None,
        policy_reasons: tuple[str, ...] | list[str] = (),
        materiality: float | None = None,
    ) -> list[DecisionReasons]:
        """The principal reasons behind ``decision`` for each row of ``X``, policy reasons first."""
        decision, top, materiality, policy, effect = self._decision_terms(decision, top, policy_reasons, materiality)
        X = self._checked(X)
        # Every input judged whole before any reason is chosen: the same verdict whatever the decision.
        self._input_checks.check(X)
        attribution = self._explain_valid(X)
        groups = attribution.by_group()
        return self._decide(
            decision, top, materiality, policy, effect, matrix=groups.to_numpy(), codes=list(groups.columns),
            index=[_plain_key(i) for i in groups.index], contributions=attribution.values.to_numpy(dtype=float),
            column_of=lambda f: self._feature_column(X, f), scores=attribution.scores, margins=attribution.margins,
            base_values=attribution.base_values)

    def reasons_for(self, features: Mapping[str, Any], *, decision: Decision | str,
                    policy_reasons: tuple[str, ...] | list[str] = ()) -> DecisionReasons:
        """One account given as plain values by feature name (a parsed JSON object): exactly
        ``reasons(pd.DataFrame([features]))[0]``, without building a frame when every value is plainly valid
        (the service's one account per request, where pandas cost more than the attribution). Anything
        else, every bad input included, takes the frame path, which names what is wrong."""
        from explain.attribution._one_row import explain_row

        return self.reasons_of(explain_row(self, features), features, decision=decision, policy_reasons=policy_reasons)

    def reasons_of(self, one: Any, features: Mapping[str, Any], *, decision: Decision | str,
                   policy_reasons: tuple[str, ...] | list[str] = ()) -> DecisionReasons:
        """:meth:`reasons_for` with the account already explained by ``_one_row.explain_row`` (None: it could
        not be, and the frame path decides)."""
        terms = self._decision_terms(decision, None, policy_reasons, None)
        if one is None:
            return self.reasons(pd.DataFrame([dict(features)]), decision=decision, policy_reasons=policy_reasons)[0]
        return self._decide(*terms, matrix=one.groups, codes=list(self.catalog.groups), index=[0],
                            contributions=one.contributions, column_of=one.feature_column, scores=one.scores,
                            margins=one.margins, base_values=one.base_values)[0]

    def _decision_terms(self, decision: Decision | str, top: int | None, policy_reasons: tuple[str, ...] | list[str] | str,
                        materiality: float | None) -> tuple[Decision, int, float, tuple[Reason, ...], str]:
        """The decision, ``top``, materiality, policy reasons and effect (adverse/favourable), checked."""
        if self.catalog is None:
            raise CatalogError("(none given)", "selecting reasons needs a FeatureCatalog; pass catalog= to Explainer")
        decision = Decision.parse(decision)
        top = self.catalog.top if top is None else top
        if not isinstance(top, int) or isinstance(top, bool) or not 1 <= top <= MAX_REASONS:
            raise InvalidInputError("top", f"an integer from 1 to {MAX_REASONS}", top)
        materiality = self.catalog.materiality if materiality is None else materiality
        if isinstance(policy_reasons, str):
            policy_reasons = (policy_reasons,)
        codes = list(dict.fromkeys(policy_reasons))
        if len(codes) > top:
            raise InvalidInputError("policy_reasons", f"at most {top} codes (the reasons given are capped at 'top')", codes)
        effect = "adverse" if decision.is_adverse else "favourable"
        entries = [self.catalog.policy_reason(c) for c in codes]
        one_sided = [p.code for p in entries if getattr(p, effect) is None]
        if one_sided:
            raise InvalidInputError(
                "policy_reasons", f"codes that can explain a {decision.value} (these have no {effect} wording)", one_sided
            )
        policy = tuple(Reason(code=p.code, source="policy", effect=effect, actionable=p.actionable) for p in entries)
        return decision, top, materiality, policy, effect

    def _decide(self, decision: Decision, top: int, materiality: float, policy: tuple[Reason, ...], effect: str, *,
                matrix: np.ndarray, codes: list[str], index: list[Any], contributions: np.ndarray,
                column_of: Callable[[str], tuple[list[Any], list[float | None], bool]], scores: np.ndarray,
                margins: np.ndarray, base_values: np.ndarray) -> list[DecisionReasons]:
        """Reasons chosen from the group sums (rows x groups) and contributions (rows x raw features)."""
        protected = [c for c, g in self.catalog.groups.items() if g.protected]
        selections = select_reasons_matrix(
            matrix, codes, decision=decision, higher_is=self.higher_is, protected=protected,
            top=top, materiality=materiality, n_policy=len(policy),
        )
        # The value shown for a reason is the member feature that carried most of it, row by row; each
        # feature's values and standing are computed column-wise, once, as plain Python objects.
        used = {code for chosen, _ in selections for code in chosen}
        risk_sign = 1.0 if self.higher_is == "risk" else -1.0
        position = {name: j for j, name in enumerate(self.feature_names)}
        member = {c: shown_features(contributions, [position[f] for f in self.catalog.groups[c].features],
                                    self.catalog.groups[c].features, toward_risk=decision.is_adverse,
                                    risk_sign=risk_sign) for c in used}
        columns = {f: column_of(f) for c in used for f in set(member[c])}
        results = []
        for i, (chosen, excluded) in enumerate(selections):
            row = matrix[i].tolist()
            model_reasons = tuple(
                self._model_reason(code, row[codes.index(code)], member[code][i], columns[member[code][i]], i, effect)
                for code in chosen
            )
            results.append(
                DecisionReasons(
                    row=index[i],
                    decision=decision,
                    reasons=policy + model_reasons,
                    excluded=tuple(excluded),
                    score=float(scores[i]),
                    margin=float(margins[i]),
                    base_value=float(base_values[i]),
                    method=self.method,
                    mode=self.mode,
                    group_contributions=dict(zip(codes, row, strict=True)),
                )
            )
        return results

    # -- helpers ------------------------------------------------------------------------------------------
    def _model_reason(self, code: str, contribution: float, feature: str, shown: tuple, i: int, effect: str) -> Reason:
        group = self.catalog.groups[code]
        values, standing, categorical = shown
        return Reason(
            code=code,
            source="model",
            effect=effect,
            contribution=contribution,
            feature=feature,
            value=values[i],
            value_kind=self.catalog.features[feature].kind,
            percentile=None if categorical else standing[i],
            share=standing[i] if categorical else None,
            actionable=group.actionable,
            counter_intuitive=self._directions.contradicts(feature, values[i], effect),
        )

    def _feature_column(self, X: pd.DataFrame, feature: str) -> tuple[list[Any], list[float | None], bool]:
        """A feature's values (plain Python), where each stands in the background, and whether the standing
        is a category share (``True``) or a percentile."""
        column = X[feature]
        return self._standing(feature, column.tolist(), lambda: column.to_numpy(dtype=float))

    def _standing(self, feature: str, plain: list[Any], numeric_of: Callable[[], np.ndarray]
                  ) -> tuple[list[Any], list[float | None], bool]:
        """:meth:`_feature_column` from a feature's plain values (``numeric_of``: the same as floats)."""
        values = [None if (isinstance(v, float) and np.isnan(v)) else v for v in plain]
        stats = self._percentiles.get(feature)
        if stats is None:
            return values, [None] * len(values), False
        if isinstance(stats, dict):
            shares = [None if v is None else round(100.0 * stats.get(str(v), 0.0), 1) for v in values]
            return values, shares, True
        numeric = numeric_of()
        ranks = np.round(100.0 * np.searchsorted(stats, numeric, side="right") / len(stats), 1).tolist()
        return values, [None if v is None else r for v, r in zip(values, ranks, strict=True)], False
