"""Version diff: on the same accounts, what a new bundle changes in the scores and in the reasons given.

Per account: the score under each bundle (and, with an approval ``cutoff``, which side of it the account
falls), the principal reasons under each (added, dropped, reordered), the change of every reason group's
contribution, and whether the notice would change (its reasons, the value each one shows, or the neutral
wording of a counter-intuitive reason). :class:`DiffTotals` sums a chunk's accounts into plain counters and
float sums, and totals merge in chunk order, so the figures are the same whatever the engine.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from explain.governance._explained import group_matrix

__all__ = ["DiffTotals", "approved", "diff_rows"]


def approved(scores: np.ndarray, cutoff: float, higher_is: str) -> np.ndarray:
    """Which scores pass an approval ``cutoff``: at or below it for a risk score, at or above for a credit score."""
    return scores <= cutoff if higher_is == "risk" else scores >= cutoff


def diff_rows(old: Sequence[Any], new: Sequence[Any], *, accounts: Sequence[str], rows: Sequence[int],
              codes: Sequence[str], cutoff: float | None, higher_is: tuple[str, str]) -> tuple[list[dict[str, Any]], np.ndarray]:
    """One plain dict per account (old and new DecisionReasons aligned) and the contribution changes (rows x codes)."""
    delta = group_matrix(new, codes) - group_matrix(old, codes)
    old_scores = np.array([r.score for r in old], dtype=float)
    new_scores = np.array([r.score for r in new], dtype=float)
    if cutoff is not None:
        was, now = approved(old_scores, cutoff, higher_is[0]), approved(new_scores, cutoff, higher_is[1])
    out = []
    for i, (before, after) in enumerate(zip(old, new, strict=True)):
        old_codes, new_codes = before.codes, after.codes
        row = {
            "row": int(rows[i]), "account": accounts[i], "decision": after.decision,
            "old_score": float(old_scores[i]), "new_score": float(new_scores[i]),
            "old_reasons": list(old_codes), "new_reasons": list(new_codes),
            "added": [c for c in new_codes if c not in old_codes],
            "dropped": [c for c in old_codes if c not in new_codes],
            "reordered": set(old_codes) == set(new_codes) and old_codes != new_codes,
            # What a notice's reason lines depend on: the reasons, the feature whose value each shows, its wording.
            "notice_changes": before.shown != after.shown,
        }
        if cutoff is not None:
            row["old_approved"], row["new_approved"] = bool(was[i]), bool(now[i])
        out.append(row)
    return out, delta


def _kind_totals() -> dict[str, Any]:
    return {"accounts": 0, "notice_changes": 0, "reasons_changed": 0, "reordered": 0,
            "mix_old": Counter(), "mix_new": Counter(), "added": Counter(), "dropped": Counter()}


@dataclass
class DiffTotals:
    """Sums over accounts; :meth:`merge` adds another chunk's, :meth:`to_dict` gives the figures."""

    codes: tuple[str, ...]
    cutoff: float | None = None
    listed: int = 50  # how many changed accounts to name in the summary (the first, in file order)
    accounts: int = 0
    score_sum: float = 0.0
    score_abs_sum: float = 0.0
    score_up: int = 0
    score_down: int = 0
    score_max_abs: float = 0.0
    score_max_account: str | None = None
    crossings: Counter = field(default_factory=Counter)
    kinds: dict[str, dict[str, Any]] = field(default_factory=dict)
    delta_sum: np.ndarray | None = None
    delta_abs_sum: np.ndarray | None = None
    changed_abs_sum: np.ndarray | None = None  # over accounts whose notice changes
    moved: Counter = field(default_factory=Counter)  # kept, but at another place
    changed: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        m = len(self.codes)
        for name in ("delta_sum", "delta_abs_sum", "changed_abs_sum"):
            if getattr(self, name) is None:
                setattr(self, name, np.zeros(m))

    def add(self, rows: list[dict[str, Any]], delta: np.ndarray) -> None:
        """Count one chunk's accounts (``rows`` from :func:`diff_rows`, ``delta`` aligned with them)."""
        if not rows:
            return
        shift = np.array([r["new_score"] - r["old_score"] for r in rows])
        changes = np.array([r["notice_changes"] for r in rows])
        self.accounts += len(rows)
        self.score_sum += float(shift.sum())
        self.score_abs_sum += float(np.abs(shift).sum())
        self.score_up += int((shift > 0).sum())
        self.score_down += int((shift < 0).sum())
        k = int(np.argmax(np.abs(shift)))
        if abs(shift[k]) > self.score_max_abs:
            self.score_max_abs, self.score_max_account = float(abs(shift[k])), rows[k]["account"]
        self.delta_sum += delta.sum(axis=0)
        self.delta_abs_sum += np.abs(delta).sum(axis=0)
        self.changed_abs_sum += np.abs(delta[changes]).sum(axis=0)
        for row in rows:
            if row["decision"] not in self.kinds:
                self.kinds[row["decision"]] = _kind_totals()
            kind = self.kinds[row["decision"]]
            kind["accounts"] += 1
            kind["mix_old"].update(row["old_reasons"])
            kind["mix_new"].update(row["new_reasons"])
            kind["added"].update(row["added"])
            kind["dropped"].update(row["dropped"])
            kind["reordered"] += row["reordered"]
            kind["reasons_changed"] += row["old_reasons"] != row["new_reasons"]
            kind["notice_changes"] += row["notice_changes"]
            for code in set(row["old_reasons"]) & set(row["new_reasons"]):
                if row["old_reasons"].index(code) != row["new_reasons"].index(code):
                    self.moved[code] += 1
            if "old_approved" in row and row["old_approved"] != row["new_approved"]:
                self.crossings["approved_to_declined" if row["old_approved"] else "declined_to_approved"] += 1
            if row["notice_changes"] and len(self.changed) < self.listed:
                self.changed.append(row)

    def merge(self, other: DiffTotals) -> None:
        """Add ``other`` (the next chunk's totals) to these."""
        self.accounts += other.accounts
        self.score_sum += other.score_sum
        self.score_abs_sum += other.score_abs_sum
        self.score_up += other.score_up
        self.score_down += other.score_down
        if other.score_max_abs > self.score_max_abs:
            self.score_max_abs, self.score_max_account = other.score_max_abs, other.score_max_account
        self.crossings.update(other.crossings)
        for name, kind in other.kinds.items():
            mine = self.kinds.setdefault(name, _kind_totals())
            for key, value in kind.items():
                if isinstance(value, Counter):
                    mine[key].update(value)
                else:
                    mine[key] += value
        self.delta_sum += other.delta_sum
        self.delta_abs_sum += other.delta_abs_sum
        self.changed_abs_sum += other.changed_abs_sum
        self.moved.update(other.moved)
        self.changed.extend(other.changed[: max(0, self.listed - len(self.changed))])

    def to_dict(self) -> dict[str, Any]:
        n = self.accounts
        kinds = {}
        for name, kind in sorted(self.kinds.items()):
            kinds[name] = {
                "accounts": kind["accounts"], "notice_changes": kind["notice_changes"],
                "reasons_changed": kind["reasons_changed"], "reordered": kind["reordered"],
                "mix_old": _ranked(kind["mix_old"]), "mix_new": _ranked(kind["mix_new"]),
                "added": _ranked(kind["added"]), "dropped": _ranked(kind["dropped"]),
            }
        added = sum((k["added"] for k in self.kinds.values()), Counter())
        dropped = sum((k["dropped"] for k in self.kinds.values()), Counter())
        notice_changes = sum(k["notice_changes"] for k in self.kinds.values())
        groups = []
        for j, code in enumerate(self.codes):
            groups.append({
                "group": code, "added": added[code], "dropped": dropped[code], "moved": self.moved[code],
                "mean_change": float(self.delta_sum[j] / n) if n else 0.0,
                "mean_abs_change": float(self.delta_abs_sum[j] / n) if n else 0.0,
                "mean_abs_change_where_notice_changes": float(self.changed_abs_sum[j] / notice_changes)
                if notice_changes else 0.0,
            })
        # The groups that drive the change: most often added, dropped or moved, then by size of change.
        drivers = sorted((g for g in groups if g["added"] + g["dropped"] + g["moved"]),
                         key=lambda g: (-(g["added"] + g["dropped"] + g["moved"]),
                                        -g["mean_abs_change_where_notice_changes"], g["group"]))
        return {
            "accounts": n,
            "notice_changes": notice_changes,
            "score": {"mean_change": self.score_sum / n if n else 0.0,
                      "mean_abs_change": self.score_abs_sum / n if n else 0.0,
                      "increased": self.score_up, "decreased": self.score_down,
                      "max_abs_change": self.score_max_abs, "max_abs_change_account": self.score_max_account},
            "decision_shifts": None if self.cutoff is None else {
                "cutoff": self.cutoff, "approved_to_declined": self.crossings["approved_to_declined"],
                "declined_to_approved": self.crossings["declined_to_approved"]},
            "by_kind": kinds,
            "groups": groups,
            "drivers": [g["group"] for g in drivers],
            "changed_accounts": self.changed,
        }


def _ranked(counter: Counter) -> dict[str, int]:
    return dict(sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])))
