"""Before any account is explained: check every decision and match it to exactly one account.

The decisions file is the lender's word on what it did (one short row per account), so it is read whole and
checked column-wise: the kind, the two limits and their relation, the policy reason codes, the currency.
Then one pass over the accounts file's reference column (nothing else is read) counts how often each
decision's account appears. A decision is *good* when its row is valid and its account appears exactly
once; every other decision, and every account row without a reference, becomes an error row here, once,
so chunks can be processed in any order and on any machine and still agree on what to explain.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from explain.catalog._catalog import FeatureCatalog
from explain._exceptions import InvalidInputError
from explain.notices._formatting import MAX_MAGNITUDE
from explain.reasons._reasons import Decision
from explain.batch._inputs import ACCOUNT, InputTable

__all__ = ["ERROR_COLUMNS", "Plan", "errors_frame", "make_plan", "parse_policy_reasons"]

REQUIRED = (ACCOUNT, "decision", "old_limit", "new_limit")
OPTIONAL = ("policy_reasons", "currency")
#: The columns of the errors file: which file and row, the field at fault, and why.
ERROR_COLUMNS = ("file", "row", "account", "field", "error")


def errors_frame(rows: list[tuple]) -> pd.DataFrame:
    """Error rows as a frame with fixed column types (the same file whatever the rows)."""
    frame = pd.DataFrame(rows, columns=list(ERROR_COLUMNS))
    return frame.astype({"file": object, "row": "int64", "account": object, "field": object, "error": object})


def parse_policy_reasons(value: object) -> tuple[str, ...]:
    """``"a;b"`` (CSV), a list (Parquet) or nothing, as a tuple of codes in the order given."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ()
    if isinstance(value, str):
        parts = value.replace(",", ";").split(";")
    else:
        parts = [str(v) for v in value]
    return tuple(dict.fromkeys(p.strip() for p in parts if p.strip()))


@dataclass(frozen=True)
class Plan:
    """What the run will explain: the good decisions, looked up by account, and the errors found so far."""

    decisions: pd.DataFrame  # columns: account, decision, old_limit, new_limit, policy_reasons, currency
    lookup: pd.Index  # account reference -> position of its good decision in ``decisions``
    errors: pd.DataFrame
    n_accounts: int


def _check_decisions(frame: pd.DataFrame, catalog: FeatureCatalog, default_currency: str) -> tuple[np.ndarray, list[tuple]]:
    from babel.numbers import is_currency

    n = len(frame)
    bad = np.zeros(n, dtype=bool)
    problems: list[tuple] = []

    def flag(mask: np.ndarray, field: str, message) -> None:  # noqa: ANN001 - str or row -> str
        for i in np.flatnonzero(mask & ~bad):
            account = frame[ACCOUNT].iat[i]
            problems.append(("decisions", int(i), account, field, message(i) if callable(message) else message))
        bad[mask] = True

    accounts = frame[ACCOUNT]
    flag(accounts.isna().to_numpy() | (accounts.fillna("") == "").to_numpy(), ACCOUNT, "a non-empty account reference")
    counts = accounts.map(accounts.value_counts())
    flag((counts > 1).to_numpy(), ACCOUNT,
         lambda i: f"exactly one decision per account; this account has {int(counts.iat[i])}")
    kinds = frame["decision"].astype(object)
    valid_kinds = [d.value for d in Decision]
    flag(~kinds.isin(valid_kinds).to_numpy(), "decision",
         lambda i: f"one of {', '.join(valid_kinds)}; got {kinds.iat[i]!r}")
    limits = {}
    for column in ("old_limit", "new_limit"):
        raw = frame[column]
        values = pd.to_numeric(raw, errors="coerce").astype(float).to_numpy()
        wrong = ~np.isfinite(values) | (values < 0) | (values >= MAX_MAGNITUDE)
        flag(wrong, column, lambda i, raw=raw: f"an amount from 0 to below {MAX_MAGNITUDE:.0e}; got {raw.iat[i]!r}")
        limits[column] = values
    old, new = limits["old_limit"], limits["new_limit"]
    for kind, wrong, expected in (
        ("limit_decrease", ~(new < old), "below old_limit for a limit_decrease"),
        ("limit_increase", ~(new > old), "above old_limit for a limit_increase"),
        ("increase_declined", ~(new > old), "the requested limit, above old_limit, for an increase_declined"),
        ("account_closure", new != 0, "0 for an account_closure"),
    ):
        flag((kinds == kind).to_numpy() & wrong, "new_limit",
             lambda i, expected=expected: f"{expected}; got {new[i]:g} (old_limit {old[i]:g})")
    policies = frame["policy_reasons"] if "policy_reasons" in frame else pd.Series([()] * n, index=frame.index)
    parsed = [parse_policy_reasons(v) for v in policies.tolist()]
    for i, codes in enumerate(parsed):
        if bad[i] or not codes:
            continue
        effect = "favourable" if kinds.iat[i] == "limit_increase" else "adverse"
        unknown = [c for c in codes if c not in catalog.policy_reasons]
        one_sided = [c for c in codes if c in catalog.policy_reasons and getattr(catalog.policy_reasons[c], effect) is None]
        message = None
        if unknown:
            message = f"codes from {', '.join(sorted(catalog.policy_reasons))}; got {', '.join(unknown)}"
        elif one_sided:
            message = f"codes with {effect} wording for a {kinds.iat[i]}; got {', '.join(one_sided)}"
        elif len(codes) > catalog.top:
            message = f"at most {catalog.top} codes (the reasons given are capped); got {len(codes)}"
        if message:
            flag(np.arange(n) == i, "policy_reasons", message)
    currency = (frame["currency"].astype(object).where(frame["currency"].notna(), default_currency)
                if "currency" in frame else pd.Series([default_currency] * n, index=frame.index, dtype=object))
    currency = currency.map(lambda c: str(c).strip().upper())
    known = {c: is_currency(c) for c in set(currency.tolist())}
    flag(~currency.map(known).to_numpy(dtype=bool), "currency",
         lambda i: f"an ISO 4217 currency code such as 'CNY'; got {currency.iat[i]!r}")
    frame["old_limit"], frame["new_limit"] = old, new
    frame["policy_reasons"] = pd.Series(parsed, index=frame.index, dtype=object)
    frame["currency"] = currency
    return ~bad, problems


def make_plan(
    accounts: InputTable, decisions: InputTable, *, catalog: FeatureCatalog, chunk_size: int, default_currency: str
) -> Plan:
    """Check the decisions, match them to the accounts file, and list every problem found on the way."""
    missing = [c for c in REQUIRED if c not in decisions.columns]
    if missing:
        raise InvalidInputError(f"--decisions column {missing[0]!r}", f"the columns {', '.join(REQUIRED)}",
                                decisions.columns)
    columns = [c for c in (*REQUIRED, *OPTIONAL) if c in decisions.columns]
    frame = decisions.read_all(columns).reset_index(drop=True)
    good, problems = _check_decisions(frame, catalog, default_currency)
    # Duplicated references are errors already; the lookup needs unique keys, so it holds the good ones only.
    candidates = pd.Index(frame[ACCOUNT].to_numpy(dtype=object)[good])
    candidate_rows = np.flatnonzero(good)
    seen = np.zeros(len(candidates), dtype=np.int64)
    n_accounts = 0
    for chunk in accounts.iter_chunks(chunk_size, columns=[ACCOUNT]):
        n_accounts += len(chunk)
        refs = chunk[ACCOUNT]
        for position in chunk.index[refs.isna().to_numpy()]:
            problems.append(("accounts", int(position), None, ACCOUNT, "a non-empty account reference"))
        at = candidates.get_indexer(refs.to_numpy(dtype=object))
        np.add.at(seen, at[at >= 0], 1)
    for k in np.flatnonzero(seen != 1):
        i = int(candidate_rows[k])
        message = ("an account in --input; no row of --input has this reference" if seen[k] == 0
                   else f"one row in --input for the account; it has {int(seen[k])}")
        problems.append(("decisions", i, frame[ACCOUNT].iat[i], ACCOUNT, message))
        good[i] = False
    problems.sort(key=lambda p: (p[0] != "decisions", p[1]))
    kept = frame.loc[good]
    return Plan(decisions=kept, lookup=pd.Index(kept[ACCOUNT].to_numpy(dtype=object)),
                errors=errors_frame(problems), n_accounts=n_accounts)
