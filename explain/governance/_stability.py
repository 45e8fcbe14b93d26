"""Reason stability: would an account be given the same principal reasons under another defensible method?

A regulator can question the choices behind every reason: interventional or path-dependent Shapley values,
and the reference point they are measured from. Regulation B's commentary names two (the accounts at or just
above the approval cutoff, or the whole population); a lender may also declare backgrounds of its own. Each
choice is an :class:`Alternative`: an explainer of the same model and catalog that differs in that one
respect. An account's reasons are *stable* when every alternative gives the same principal reasons, in the
same order; otherwise the alternatives' reasons are kept beside it, and it belongs in front of a person.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from explain._exceptions import InvalidInputError
from explain.governance._diff import approved

__all__ = ["Alternative", "StabilityTotals", "alternatives", "cutoff_reference", "record_stability", "stability_rows"]

#: Fewest reference rows an alternative background may have: fewer is not a population.
MIN_REFERENCE_ROWS = 5


@dataclass(frozen=True)
class Alternative:
    """One method choice a regulator could make instead of the bundle's: a name, what it means, its explainer."""

    name: str
    description: str
    explainer: Any = field(repr=False, compare=False)
    background_rows: int | None = None


def _explainer(bundle: Any, *, background: pd.DataFrame, tree_mode: str | None) -> Any:
    from explain.attribution._attribution import Explainer

    return Explainer(bundle.model, catalog=bundle.catalog, background=background, higher_is=bundle.higher_is,
                     tree_mode=tree_mode, random_state=bundle.manifest.get("random_state", 0))


def cutoff_reference(bundle: Any, cutoff: float, *, size: int = 50, population: pd.DataFrame | None = None) -> pd.DataFrame:
    """The ``size`` approved accounts of ``population`` (default: the bundle's background) nearest the cutoff.

    Approved means at or below ``cutoff`` for a risk score, at or above it for a credit score; ties in
    distance keep the population's order, so the same inputs give the same reference.
    """
    population = bundle.background if population is None else population
    scores = bundle.explainer().explain(population).scores
    passing = np.flatnonzero(approved(scores, cutoff, bundle.higher_is))
    if len(passing) < MIN_REFERENCE_ROWS:
        raise InvalidInputError("cutoff", f"a score that at least {MIN_REFERENCE_ROWS} accounts of the reference "
                                          f"population pass (only {len(passing)} do)", cutoff)
    nearest = passing[np.argsort(np.abs(scores[passing] - cutoff), kind="stable")[:size]]
    return population.iloc[np.sort(nearest)]


def alternatives(bundle: Any, *, cutoff: float | None = None, marginal: int = 50,
                 backgrounds: Mapping[str, pd.DataFrame] | None = None) -> list[Alternative]:
    """The method choices to test ``bundle``'s reasons against, in a fixed order.

    - ``path_dependent`` (or ``interventional`` for a path-dependent bundle): tree models only;
    - ``cutoff_reference``: the ``marginal`` approved accounts nearest ``cutoff`` as the reference, where the
      bundle's background stands for the whole population (Reg B's two reference points);
    - one per entry of ``backgrounds``: a reference population the lender declares.
    """
    base = bundle.explainer()
    found = []
    if base.mode is not None:
        other = "path_dependent" if base.mode == "interventional" else "interventional"
        found.append(Alternative(other, f"{other.replace('_', '-')} Shapley values instead of {base.mode.replace('_', '-')}",
                                 _explainer(bundle, background=bundle.background, tree_mode=other),
                                 None if other == "path_dependent" else len(bundle.background)))
    if cutoff is not None:
        reference = cutoff_reference(bundle, cutoff, size=marginal)
        found.append(Alternative("cutoff_reference", f"accounts at or just above the approval cutoff {cutoff:g} "
                                 f"({len(reference)} nearest) instead of the whole population",
                                 _explainer(bundle, background=reference, tree_mode=base.mode), len(reference)))
    for name, frame in sorted((backgrounds or {}).items()):
        if len(frame) < MIN_REFERENCE_ROWS:
            raise InvalidInputError(f"background {name!r}", f"at least {MIN_REFERENCE_ROWS} rows", len(frame))
        found.append(Alternative(f"background:{name}", f"the declared background {name!r}",
                                 _explainer(bundle, background=frame, tree_mode=base.mode), len(frame)))
    return found


def stability_rows(base: Mapping[Any, Any], judged: Mapping[str, Mapping[Any, Any]], *, accounts: Mapping[Any, str]) -> list[dict[str, Any]]:
    """Per account of ``base`` (position -> DecisionReasons): stable or not, and each alternative's reasons.

    ``judged`` maps an alternative's name to its results by position; an account an alternative could not
    explain is judged on the others.
    """
    out = []
    for position, result in base.items():
        reasons = list(result.codes)
        others = {name: list(results[position].codes) for name, results in judged.items() if position in results}
        out.append({"row": int(position), "account": accounts[position], "decision": result.decision,
                    "reasons": reasons, "stable": all(o == reasons for o in others.values()),
                    "same_set": all(set(o) == set(reasons) for o in others.values()),
                    "alternatives": {n: o for n, o in others.items() if o != reasons}})
    return out


@dataclass
class StabilityTotals:
    """Counts of stable and unstable accounts, per decision kind and per alternative; the first few listed."""

    names: tuple[str, ...]
    listed: int = 50
    kinds: dict[str, Counter] = field(default_factory=dict)
    differ: Counter = field(default_factory=Counter)  # alternative -> accounts whose reasons it changes
    set_differ: Counter = field(default_factory=Counter)  # ... whose set of reasons (not just order) it changes
    unstable: list[dict[str, Any]] = field(default_factory=list)

    def add(self, rows: Sequence[dict[str, Any]]) -> None:
        for row in rows:
            kind = self.kinds.setdefault(row["decision"], Counter())
            kind["accounts"] += 1
            kind["unstable"] += not row["stable"]
            kind["set_changes"] += not row["same_set"]
            for name, codes in row["alternatives"].items():
                self.differ[name] += 1
                self.set_differ[name] += set(codes) != set(row["reasons"])
            if not row["stable"] and len(self.unstable) < self.listed:
                self.unstable.append(row)

    def merge(self, other: StabilityTotals) -> None:
        for name, counts in other.kinds.items():
            self.kinds.setdefault(name, Counter()).update(counts)
        self.differ.update(other.differ)
        self.set_differ.update(other.set_differ)
        self.unstable.extend(other.unstable[: max(0, self.listed - len(self.unstable))])

    def to_dict(self) -> dict[str, Any]:
        accounts = sum(k["accounts"] for k in self.kinds.values())
        unstable = sum(k["unstable"] for k in self.kinds.values())
        return {
            "accounts": accounts, "unstable": unstable, "stable_share": (accounts - unstable) / accounts if accounts else None,
            # unstable: the reasons or their order change under some alternative; set_changes: the reasons
            # themselves do (a reordering alone is not counted there).
            "by_kind": {name: {"accounts": k["accounts"], "unstable": k["unstable"], "set_changes": k["set_changes"]}
                        for name, k in sorted(self.kinds.items())},
            "by_alternative": {name: {"reasons_differ": self.differ[name], "set_differs": self.set_differ[name]}
                               for name in self.names},
            "unstable_accounts": self.unstable,
        }


@dataclass(frozen=True)
class _Given:
    """The reasons a stored decision was given, as :func:`stability_rows` reads them."""

    codes: tuple[str, ...]
    decision: str


def record_stability(bundle: Any, records: Any, *, cutoff: float | None = None, marginal: int = 50,
                     backgrounds: Mapping[str, pd.DataFrame] | None = None, listed: int = 50,
                     batch_size: int = 2000) -> dict[str, Any]:
    """Stability of decisions already issued, from their audit records alone.

    Each record of ``bundle`` (by its sha256) keeps the inputs it was explained from; its reasons *as given*
    are compared with each alternative's reasons for the same inputs, ``batch_size`` records at a time. No
    column is added to the store: the flag and the alternatives are recomputed whenever they are asked for,
    from what the record already holds. Records of other bundles are counted as not judged.
    """
    from explain.governance._explained import explain_rows

    found = alternatives(bundle, cutoff=cutoff, marginal=marginal, backgrounds=backgrounds)
    totals = StabilityTotals(tuple(a.name for a in found), listed=listed)
    not_judged = 0
    pending: list[Any] = []

    def judge(batch: list[Any]) -> None:
        frame = pd.DataFrame([r.inputs.get("features", {}) for r in batch], index=range(len(batch)))
        kinds = [r.decision for r in batch]
        policies = [tuple(r.inputs.get("policy_reasons") or ()) for r in batch]
        given = {i: _Given(tuple(reason["code"] for reason in r.reasons), r.decision) for i, r in enumerate(batch)}
        judged = {a.name: explain_rows(a.explainer, bundle.background, frame, kinds, policies).results for a in found}
        rows = stability_rows(given, judged, accounts={i: r.account_ref for i, r in enumerate(batch)})
        for row in rows:
            row["decision_id"] = batch[row.pop("row")].decision_id
        totals.add(rows)

    for record in records:
        if record.bundle_sha256 != bundle.sha256:
            not_judged += 1
            continue
        pending.append(record)
        if len(pending) >= batch_size:
            judge(pending)
            pending = []
    if pending:
        judge(pending)
    return {"bundle": {"name": bundle.name, "version": str(bundle.version), "sha256": bundle.sha256},
            "alternatives": [{"name": a.name, "description": a.description, "background_rows": a.background_rows}
                             for a in found],
            **totals.to_dict(), "not_judged": not_judged}
