"""More than two changes: the exact enumeration's answer (one or two features) merged with the MILP's (three
to ``max_changes``), suggestion by suggestion, in the same order the enumeration uses.

The enumeration is exact and fast for one and two features, so the MILP only has to look where it cannot:
changes of at least three features (of at least one when the enumeration's budget ran out), cheaper than the
enumeration's next suggestion (at equal cost, fewer features come first, as in the enumeration's order),
and never all the features of a suggestion already kept. A time limit per account bounds HiGHS; when it
stops a solve before a proof, the result says ``time_limit``, shows only what the model itself verified,
and never claims that no change exists.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import numpy as np

from explain.recourse._milp import TreeProgram, margin_bound
from explain.recourse._result import Certificate, Recourse, Suggestion

__all__ = ["with_milp"]

_ROUND = 12


def with_milp(solver: Any, found: Recourse, row: Any, moves: list, state: dict, target: float) -> Recourse:
    """``found`` (the enumeration over one and two changes) extended to ``max_changes`` by the MILP."""
    policy = solver.policy
    k, wanted, limit = policy.max_changes, policy.suggestions, policy.time_limit
    started = time.perf_counter()
    ens = solver._ens
    columns = state["columns"]
    program = TreeProgram(
        ens, state["x0"][0], [state["singles"][state["slices"][p]][:, columns[p]] for p in range(len(moves))],
        columns, [m.costs for _, m in moves],
        np.unique(np.concatenate([f.trees for f, _ in moves])), lambda choice: solver._choice_margin(state, choice))
    bound = margin_bound(solver._adapter.score_from_margin, target, solver.higher_is)

    def meets(margin: float) -> bool:
        return bool(solver.meets(float(solver._score(np.array([margin]))[0]), target))

    def left() -> float:
        return limit - (time.perf_counter() - started)

    position = {f.action.feature: p for p, (f, _) in enumerate(moves)}
    lower = 1 if found.status == "budget_exhausted" else 3
    pending = list(found.suggestions)
    kept: list[Suggestion] = []
    taken: list[frozenset] = []
    proven, solves = True, 0
    while len(kept) < wanted:
        nxt = pending[0] if pending else None
        out = None
        if lower <= min(k, len(moves)) and left() > 0:
            out = program.solve(minimize="cost", changes=(lower, k), margin_bound=bound,
                                no_superset=[[position[f] for f in sorted(t)] for t in taken],
                                cost_below=None if nxt is None else nxt.cost, time_limit=left(), exact_meets=meets)
            solves += out.solves
            proven &= out.status != "time_limit"
        elif lower <= min(k, len(moves)):
            proven = False  # the time was spent before this solve could start
        if out is not None and out.choice is not None:
            cost = float(sum(moves[p][1].costs[v] for p, v in out.choice.items()))
            if nxt is None or round(cost, _ROUND) < round(nxt.cost, _ROUND):
                score = float(solver._verified_scores(state, [out.choice])[0])
                if not solver.meets(score, target):  # the model disagrees with its flattened trees: say nothing
                    return _result(found, kept, "unverified", solver, k, limit, solves, False)
                changes = solver._choice_changes(row, moves, out.choice)
                kept.append(Suggestion(changes, cost, score))
                taken.append(frozenset(c.feature for c in changes))
                continue
        if nxt is None:
            break
        kept.append(nxt)
        taken.append(frozenset(nxt.features))
        pending.pop(0)
    if kept:
        return _result(found, kept, "found" if proven else "time_limit", solver, k, limit, solves, proven)
    if not proven:
        return _result(found, kept, "time_limit", solver, k, limit, solves, False)
    if found.status in ("unverified", "budget_exhausted") and lower == 3:
        return _result(found, kept, found.status, solver, k, limit, solves, True)
    # Proven: no change of at most k features reaches the target. The certificate's best score is the best
    # any such change reaches, when HiGHS proves it in the time left; else the enumeration's (two changes).
    best = program.solve(minimize="margin_down" if solver.higher_is == "risk" else "margin_up", changes=(0, k),
                         time_limit=max(left(), 0.0)) if left() > 0 else None
    solves += 0 if best is None else best.solves
    cert = found.certificate
    if best is not None and best.status == "optimal" and best.choice:
        score = float(solver._score(np.array([best.margin]))[0])
        if solver.meets(score, found.score) and score != found.score:
            cert = Certificate(cert.actions, k, cert.candidates, score, solver._choice_changes(row, moves, best.choice))
        else:
            cert = replace(cert, max_changes=k)
    elif best is not None and best.status == "optimal":
        cert = replace(cert, max_changes=k)
    out = _result(found, kept, "infeasible", solver, k, limit, solves, True)
    return replace(out, certificate=cert, milp={**out.milp, "best_score_proven": best is not None
                                                 and best.status == "optimal"})


def _result(found: Recourse, kept: list[Suggestion], status: str, solver: Any, k: int, limit: float, solves: int,
            proven: bool) -> Recourse:
    kept = sorted(kept, key=lambda s: (round(s.cost, _ROUND), len(s.changes)))
    milp = {"solver": "highs", "max_changes": k, "time_limit_s": limit, "solves": solves, "proven": proven}
    return replace(found, status=status, suggestions=tuple(kept), milp=milp,
                   certificate=None if kept else found.certificate)
