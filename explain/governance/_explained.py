"""One bundle's principal reasons for a chunk of accounts, with the bad rows set aside.

The accounts of a chunk are explained in one call per (decision kind, policy reasons) pair, and their
reasons chosen by the same steps as :meth:`~explain.Explainer.reasons` (the same input checks, attribution,
selection, shown feature and counter-intuitive judgment), so the reasons compared here are the reasons a
notice would carry; the tests hold the two equal. What a notice shows *about* each reason (the customer's
value, its percentile) is not built: a comparison does not need it, and it costs more than the selection.
A call that fails on input is split in halves until the failing rows are alone; each becomes an error
naming the field.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from explain._exceptions import ExplainError, InvalidInputError
from explain.batch._rows import bisected, error_field
from explain.batch._rows import typed_features as typed_rows
from explain.reasons._reasons import MAX_REASONS, Decision, select_reasons_matrix, shown_features

__all__ = ["Explained", "Outcome", "explain_rows", "group_matrix", "typed_features"]


@dataclass(frozen=True, slots=True)
class Outcome:
    """One account's principal reasons as a comparison needs them."""

    decision: str
    codes: tuple[str, ...]  # policy reasons first, then model reasons, in the order given
    shown: tuple[tuple[str, str | None, bool], ...]  # (code, feature whose value is shown, counter-intuitive)
    score: float
    groups: tuple[str, ...]  # the bundle's reason groups (shared by every outcome of a call)
    contributions: np.ndarray  # one per group, margin space

    @property
    def counter_intuitive(self) -> bool:
        return any(flag for _, _, flag in self.shown)


@dataclass(frozen=True)
class Explained:
    """One bundle's view of a chunk: per explained row, its outcome; per bad row, the field and why."""

    results: dict[Any, Outcome]  # row position -> Outcome
    errors: dict[Any, tuple[str, str]]  # row position -> (field, message)


def typed_features(background: pd.DataFrame, chunk: pd.DataFrame) -> tuple[pd.DataFrame, dict[Any, tuple[str, str]]]:
    """The model's inputs in the dtypes its background has; text in a number column is a per-row error."""
    missing = [c for c in background.columns if c not in chunk.columns]
    if missing:
        raise InvalidInputError("--input", f"accounts with every feature the bundle takes (missing {', '.join(missing)})",
                                list(chunk.columns))
    numeric = {c for c in background.columns if pd.api.types.is_numeric_dtype(background[c])}
    return typed_rows(chunk, list(background.columns), numeric)


def _policy(catalog: Any, decision: Decision, codes: tuple[str, ...]) -> tuple[tuple[str, None, bool], ...]:
    """The policy reasons as :meth:`~explain.Explainer.reasons` checks them: known, worded for the effect, few."""
    if len(codes) > catalog.top:
        raise InvalidInputError("policy_reasons", f"at most {catalog.top} codes (the reasons given are capped at 'top')",
                                list(codes))
    effect = "adverse" if decision.is_adverse else "favourable"
    one_sided = [c for c in codes if getattr(catalog.policy_reason(c), effect) is None]
    if one_sided:
        raise InvalidInputError("policy_reasons", f"codes that can explain a {decision.value} (these have no "
                                                  f"{effect} wording)", one_sided)
    return tuple((c, None, False) for c in codes)


def _sides(rules: Any, feature: str, column: pd.Series) -> np.ndarray:
    """:meth:`~explain.reasons._reasons.DirectionRules.side` of every value of ``column``: +1 riskier than
    typical by the catalog's declaration, -1 safer, 0 unknown (missing values, undeclared features)."""
    if feature in rules.ordered:
        ranks, median = rules.ordered[feature]
        rank = column.map(lambda v: None if v is None or (isinstance(v, float) and np.isnan(v)) else ranks.get(str(v)))
        rank = pd.to_numeric(rank, errors="coerce").to_numpy(dtype=float)
        return np.nan_to_num(np.sign(rank - median)).astype(int)
    if feature in rules.numeric:
        median, sign = rules.numeric[feature]
        values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float)
        return np.nan_to_num(np.sign(values - median)).astype(int) * sign
    return np.zeros(len(column), dtype=int)


def _prepare(explainer: Any, X: pd.DataFrame, kind: str, policy: tuple[str, ...]) -> tuple[Decision, tuple, pd.DataFrame]:
    """What :meth:`~explain.Explainer.reasons` checks before attributing: the kind, the policy reasons, the
    rows (the model's own input checks, and missing values judged on these rows together)."""
    catalog = explainer.catalog
    decision = Decision.parse(kind)
    if not 1 <= catalog.top <= MAX_REASONS:
        raise InvalidInputError("top", f"an integer from 1 to {MAX_REASONS}", catalog.top)
    return decision, _policy(catalog, decision, tuple(dict.fromkeys(policy))), explainer._checked(X)


@dataclass(frozen=True)
class _Attributed:
    """One attribution call's figures as plain arrays: grouped (rows x groups) and raw (rows x features)."""

    groups: tuple[str, ...]
    matrix: np.ndarray
    values: np.ndarray
    columns: tuple[str, ...]
    scores: np.ndarray

    @classmethod
    def of(cls, attribution: Any) -> _Attributed:
        grouped = attribution.by_group()
        return cls(tuple(grouped.columns), grouped.to_numpy(), attribution.values.to_numpy(dtype=float),
                   tuple(attribution.values.columns), np.asarray(attribution.scores))


def _select(explainer: Any, X: pd.DataFrame, attributed: _Attributed, rows: slice, decision: Decision,
            policy_shown: tuple) -> list[Outcome]:
    """The reasons of the attribution's ``rows`` (the rows of ``X``), chosen as reasons() chooses them."""
    catalog = explainer.catalog
    groups = attributed.groups
    matrix = attributed.matrix[rows]
    protected = [c for c, g in catalog.groups.items() if g.protected]
    selections = select_reasons_matrix(matrix, groups, decision=decision, higher_is=explainer.higher_is,
                                       protected=protected, top=catalog.top, materiality=catalog.materiality,
                                       n_policy=len(policy_shown))
    used = {code for chosen, _ in selections for code in chosen}
    values = attributed.values[rows]
    position = {name: j for j, name in enumerate(attributed.columns)}
    risk_sign = 1.0 if explainer.higher_is == "risk" else -1.0
    member = {c: shown_features(values, [position[f] for f in catalog.groups[c].features], catalog.groups[c].features,
                                toward_risk=decision.is_adverse, risk_sign=risk_sign) for c in used}
    # A reason contradicts the catalog when it is adverse on a value on the safe side (or favourable on the
    # risky side): DirectionRules.side, judged column-wise once per feature shown.
    wrong_side = -1 if decision.is_adverse else 1
    contradicts = {f: (_sides(explainer._directions, f, X[f]) == wrong_side).tolist()
                   for c in used for f in set(member[c])}
    scores = attributed.scores[rows].tolist()
    out = []
    for i, (chosen, _) in enumerate(selections):
        shown = policy_shown + tuple((code, member[code][i], contradicts[member[code][i]][i]) for code in chosen)
        out.append(Outcome(decision.value, tuple(c for c, _, _ in shown), shown, scores[i], groups, matrix[i]))
    return out


def outcomes(explainer: Any, X: pd.DataFrame, kind: str, policy: tuple[str, ...]) -> list[Outcome]:
    """The steps of :meth:`~explain.Explainer.reasons` that decide what a notice says, for rows of one kind."""
    decision, policy_shown, X = _prepare(explainer, X, kind, policy)
    # The explainer's own attribution (additivity checked), as reasons() runs it.
    return _select(explainer, X, _Attributed.of(explainer._explain_valid(X)), slice(None), decision, policy_shown)


def explain_rows(explainer: Any, background: pd.DataFrame, chunk: pd.DataFrame, kinds: Sequence[str],
                 policies: Sequence[tuple[str, ...]]) -> Explained:
    """Reasons for every row of ``chunk`` (``kinds`` and ``policies`` aligned with its rows)."""
    X, problems = typed_features(background, chunk)
    errors = dict(problems)
    clean = X.drop(index=list(problems))
    kind_of = pd.Series(list(kinds), index=chunk.index, dtype=object)
    policy_of = pd.Series(list(policies), index=chunk.index, dtype=object)
    keys = kind_of.loc[clean.index].astype(str) + "|" + policy_of.loc[clean.index].map(";".join)
    results: dict[Any, Any] = {}
    groups = [(kind, tuple(p for p in policy.split(";") if p), rows)
              for (kind, _, policy), rows in ((key.partition("|"), rows)
                                              for key, rows in clean.groupby(keys.to_numpy(), sort=True).groups.items())]
    # Each group is checked as reasons() checks it, then all are attributed in one call (a row's contributions
    # do not depend on the rows beside it) and each group's reasons chosen from its slice. A group that fails
    # a check, or a call that fails, takes the slow path: one call per group, bisected down to its bad rows.
    checked, slow = [], []
    for kind, policy, rows in groups:
        try:
            checked.append(_prepare(explainer, clean.loc[rows], kind, policy))
        except ExplainError:
            slow.append((kind, policy, rows))
    if checked:
        frames = [X_ for _, _, X_ in checked]
        try:
            attributed = _Attributed.of(explainer._explain_valid(pd.concat(frames) if len(frames) > 1 else frames[0]))
        except ExplainError:
            slow.extend((d.value, tuple(c for c, _, _ in p), X_.index) for d, p, X_ in checked)
        else:
            start = 0
            for decision, policy_shown, X_ in checked:
                stop = start + len(X_)
                results.update(zip(X_.index, _select(explainer, X_, attributed, slice(start, stop), decision,
                                                     policy_shown), strict=True))
                start = stop
    for kind, policy, rows in slow:
        call = lambda X_, kind=kind, policy=policy: outcomes(explainer, X_, kind, policy)  # noqa: E731
        for position, outcome in bisected(call, clean.loc[rows]):
            if isinstance(outcome, ExplainError):
                errors[position] = (error_field(outcome), str(outcome))
            else:
                results[position] = outcome
    return Explained(results=results, errors=errors)


def group_matrix(results: Sequence[Outcome], codes: Sequence[str]) -> np.ndarray:
    """Grouped contributions of ``results`` (rows) over ``codes`` (columns); a group a bundle lacks is 0."""
    out = np.zeros((len(results), len(codes)))
    if not results:
        return out
    groups = results[0].groups
    if tuple(codes[:len(groups)]) == groups:
        out[:, :len(groups)] = np.vstack([r.contributions for r in results])
        return out
    where = {c: j for j, c in enumerate(groups)}
    for j, code in enumerate(codes):
        if code in where:
            out[:, j] = [r.contributions[where[code]] for r in results]
    return out
