"""Before any account is explained: check every decision and match it to exactly one account.

The decisions file is the lender's word on what it did (one short row per account). It is read in chunks,
checked column-wise (the kind, the two limits and their relation, the policy reason codes, the currency) and
kept in a SQLite file beside the run's parts, never in memory: a portfolio of millions costs a file, not
RAM. One pass over the accounts file's reference column (nothing else is read) matches each decision to its
account row. A decision is *good* when its row is valid and its account appears exactly once; every other
decision, and every account row without a reference, becomes an error row here, once, so chunks can be
processed in any order and on any machine and still agree on what to explain.

A chunk of accounts then asks the :class:`DecisionIndex` for the good decisions of its rows.
"""

from __future__ import annotations

import json
import math
import os
import secrets
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from explain.catalog._catalog import FeatureCatalog
from explain._exceptions import InvalidInputError
from explain.notices._formatting import MAX_MAGNITUDE
from explain.reasons._reasons import Decision
from explain.batch._inputs import ACCOUNT, InputTable

__all__ = ["ERROR_COLUMNS", "DecisionIndex", "Plan", "close_index", "errors_frame", "make_plan", "open_index",
           "parse_policy_reasons"]

REQUIRED = (ACCOUNT, "decision", "old_limit", "new_limit")
# bureau: the credit score used, a JSON object; mailing_address: the printed letter's recipient, one line each
# (line breaks in the cell, or a JSON list of lines); review_date: YYYY-MM-DD, an increases_suspended's only
OPTIONAL = ("policy_reasons", "currency", "bureau", "mailing_address", "review_date")
#: The columns of the errors file: which file and row, the field at fault, and why.
ERROR_COLUMNS = ("file", "row", "account", "field", "error")


def errors_frame(rows: list[tuple]) -> pd.DataFrame:
    """Error rows as a frame with fixed column types (the same file whatever the rows)."""
    frame = pd.DataFrame(rows, columns=list(ERROR_COLUMNS))
    return frame.astype({"file": object, "row": "int64", "account": object, "field": object, "error": object})


def _shown(value: object) -> str:
    """A value from the lender's file as the errors file quotes it: numpy scalars as the plain number."""
    return repr(value.item() if isinstance(value, np.generic) else value)


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
    """What the run will explain: where its good decisions are kept, and the errors found so far."""

    index: Path  # the DecisionIndex file
    errors: pd.DataFrame
    n_accounts: int


class DecisionIndex:
    """The good decisions, keyed by the account row they apply to; opened read-only, once per thread."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._opened: list[sqlite3.Connection] = []

    def _connection(self) -> sqlite3.Connection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            # Each thread reads through its own connection; ``close`` may come from any thread.
            connection = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=False)
            self._local.connection = connection
            with self._lock:
                self._opened.append(connection)
        return connection

    def for_rows(self, first: int, stop: int) -> pd.DataFrame:
        """The good decisions of account rows ``[first, stop)``, indexed by account row, in row order."""
        rows = self._connection().execute(
            "SELECT m.row, d.account, d.decision, d.old_limit, d.new_limit, d.policy, d.currency, d.bureau, d.mailing, "
            "d.review_date "
            "FROM matched m JOIN decisions d ON d.row = m.decision WHERE m.row >= ? AND m.row < ? ORDER BY m.row",
            (first, stop)).fetchall()
        frame = pd.DataFrame(rows, columns=["row", ACCOUNT, "decision", "old_limit", "new_limit", "policy_reasons",
                                            "currency", "bureau", "mailing_address", "review_date"])
        frame["policy_reasons"] = [tuple(json.loads(p)) for p in frame["policy_reasons"].tolist()]
        frame["bureau"] = pd.Series([json.loads(b) if isinstance(b, str) and b else None for b in frame["bureau"].tolist()],
                                    index=frame.index,
                                    dtype=object)
        frame["mailing_address"] = pd.Series([tuple(json.loads(m)) if isinstance(m, str) and m else None
                                              for m in frame["mailing_address"].tolist()], index=frame.index, dtype=object)
        return frame.set_index("row").rename_axis(None).astype({"old_limit": "float64", "new_limit": "float64"})

    def close(self) -> None:
        with self._lock:
            opened, self._opened = self._opened, []
        for connection in opened:
            connection.close()
        self._local = threading.local()


_OPEN: dict[str, DecisionIndex] = {}
_OPEN_LOCK = threading.Lock()


def open_index(path: str) -> DecisionIndex:
    """One index object per file and process (a worker serves many chunks from it); a process keeps the
    last few open and closes older ones."""
    with _OPEN_LOCK:
        index = _OPEN.get(path)
        if index is None:
            while len(_OPEN) >= 4:
                _OPEN.pop(next(iter(_OPEN))).close()
            index = _OPEN[path] = DecisionIndex(path)
        return index


def close_index(path: str) -> None:
    """Close this process's connections to the index at ``path`` (before its folder is removed)."""
    with _OPEN_LOCK:
        index = _OPEN.pop(path, None)
    if index is not None:
        index.close()


def _check_decisions(frame: pd.DataFrame, catalog: FeatureCatalog, default_currency: str) -> tuple[np.ndarray, list[tuple]]:
    """Row-by-row checks of one chunk of decisions (indexed by file row): which are good, and the problems."""
    from babel.numbers import is_currency

    n = len(frame)
    bad = np.zeros(n, dtype=bool)
    problems: list[tuple] = []

    def flag(mask: np.ndarray, field: str, message) -> None:  # noqa: ANN001 - str or row -> str
        for i in np.flatnonzero(mask & ~bad):
            account = frame[ACCOUNT].iat[i]
            problems.append(("decisions", int(frame.index[i]), account, field,
                             message(i) if callable(message) else message))
        bad[mask] = True

    accounts = frame[ACCOUNT]
    flag(accounts.isna().to_numpy() | (accounts.fillna("") == "").to_numpy(), ACCOUNT, "a non-empty account reference")
    # A reference given twice is found across the whole file, later, and then outranks every problem below.
    kinds = frame["decision"].astype(object)
    valid_kinds = [d.value for d in Decision]
    flag(~kinds.isin(valid_kinds).to_numpy(), "decision",
         lambda i: f"one of {', '.join(valid_kinds)}; got {_shown(kinds.iat[i])}")
    limits = {}
    for column in ("old_limit", "new_limit"):
        raw = frame[column]
        values = pd.to_numeric(raw, errors="coerce").astype(float).to_numpy()
        wrong = ~np.isfinite(values) | (values < 0) | (values >= MAX_MAGNITUDE)
        flag(wrong, column, lambda i, raw=raw: f"an amount from 0 to below {MAX_MAGNITUDE:.0e}; got {_shown(raw.iat[i])}")
        limits[column] = values
    old, new = limits["old_limit"], limits["new_limit"]
    for kind, wrong, expected in (
        ("limit_decrease", ~(new < old), "below old_limit for a limit_decrease"),
        ("limit_increase", ~(new > old), "above old_limit for a limit_increase"),
        ("increase_declined", ~(new > old), "the requested limit, above old_limit, for an increase_declined"),
        ("account_closure", new != 0, "0 for an account_closure"),
        ("increases_suspended", new > old,
         "old_limit to keep it, or a lower limit to lower it too, for an increases_suspended (never more)"),
        ("increases_suspended", new == 0, "above 0 for an increases_suspended (a limit of 0 is an account_closure)"),
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
         lambda i: f"an ISO 4217 currency code such as 'CNY'; got {_shown(currency.iat[i])}")
    frame["old_limit"], frame["new_limit"] = old, new
    frame["policy_reasons"] = pd.Series(parsed, index=frame.index, dtype=object)
    frame["currency"] = currency
    bureau = frame["bureau"].tolist() if "bureau" in frame else [None] * n
    stored = []
    for i, value in enumerate(bureau):
        text = None if value is None or (isinstance(value, float) and math.isnan(value)) else str(value).strip()
        try:
            data = json.loads(text) if text else None
        except json.JSONDecodeError:
            data = "invalid"
        if data is not None and not isinstance(data, dict):
            flag(np.arange(n) == i, "bureau", lambda i: "a JSON object with bureau_score, range, date and key_factors; "
                                                        f"got {_shown(bureau[i])}")
            data = None
        stored.append(json.dumps(data, sort_keys=True, ensure_ascii=False) if data is not None else None)
    frame["bureau"] = pd.Series(stored, index=frame.index, dtype=object)
    frame["mailing_address"] = _mailing_addresses(frame, n, flag)
    frame["review_date"] = pd.Series(_review_dates(frame, kinds, flag), index=frame.index, dtype=object)
    return ~bad, problems


def _mailing_addresses(frame: pd.DataFrame, n: int, flag: Any) -> pd.Series:
    """The optional ``mailing_address`` column as JSON lists of lines (None when empty); bad ones flagged."""
    from explain.printing import check_mailing_address

    values = frame["mailing_address"].tolist() if "mailing_address" in frame else [None] * n
    stored = []
    for i, value in enumerate(values):
        text = None if value is None or (isinstance(value, float) and math.isnan(value)) else str(value).strip()
        lines: Any = None
        if text:
            try:
                lines = json.loads(text) if text.startswith("[") else text.splitlines()
                lines = check_mailing_address(lines)
            except (json.JSONDecodeError, InvalidInputError) as exc:
                flag(np.arange(n) == i, "mailing_address",
                     lambda i, exc=exc: f"{getattr(exc, 'expected', 'a JSON list of lines')}; got {_shown(values[i])}")
                lines = None
        stored.append(json.dumps(list(lines), ensure_ascii=False) if lines else None)
    return pd.Series(stored, index=frame.index, dtype=object)


def _review_dates(frame: pd.DataFrame, kinds: pd.Series, flag) -> list[str | None]:  # noqa: ANN001 - flag as above
    """The ``review_date`` column as ISO dates (None where empty); a date that is not one, or on another kind
    than an increases_suspended, is flagged. Its order against the notice date is the notice's check."""
    import datetime as dt

    values = frame["review_date"].tolist() if "review_date" in frame else [None] * len(frame)
    out: list[str | None] = []
    for i, value in enumerate(values):
        if value is pd.NaT:
            value = None
        elif isinstance(value, dt.datetime) and value.time() == dt.time(0):
            value = value.date()  # a Parquet date column stored as timestamps at midnight
        text = None if value is None or (isinstance(value, float) and math.isnan(value)) else str(value).strip()
        if not text:
            out.append(None)
            continue
        try:
            out.append(dt.date.fromisoformat(text).isoformat())
        except ValueError:
            flag(np.arange(len(frame)) == i, "review_date", f"a date as YYYY-MM-DD; got {_shown(value)}")
            out.append(None)
            continue
        if kinds.iat[i] != "increases_suspended":
            flag(np.arange(len(frame)) == i, "review_date",
                 f"empty for a {kinds.iat[i]} (only an increases_suspended has one); got {_shown(value)}")
    return out


_SCHEMA = """
CREATE TABLE decisions (row INTEGER PRIMARY KEY, account TEXT, decision TEXT, old_limit REAL, new_limit REAL,
                        policy TEXT, currency TEXT, field TEXT, problem TEXT, bureau TEXT, mailing TEXT,
                        review_date TEXT);
CREATE TABLE refs (row INTEGER PRIMARY KEY, account TEXT NOT NULL);
CREATE TABLE matched (row INTEGER PRIMARY KEY, decision INTEGER NOT NULL);
"""


def make_plan(
    accounts: InputTable, decisions: InputTable, *, catalog: FeatureCatalog, chunk_size: int, default_currency: str,
    folder: Path,
) -> Plan:
    """Check the decisions, match them to the accounts file, keep the good ones in a
    ``folder/decisions-*.sqlite`` index and list every problem found on the way."""
    missing = [c for c in REQUIRED if c not in decisions.columns]
    if missing:
        raise InvalidInputError(f"--decisions column {missing[0]!r}", f"the columns {', '.join(REQUIRED)}",
                                decisions.columns)
    columns = [c for c in (*REQUIRED, *OPTIONAL) if c in decisions.columns]
    for old in folder.glob("decisions-*.sqlite*"):  # an earlier start's index: rebuilt, the inputs are pinned
        old.unlink()
    # A new name each build: a worker that cached an index by its path never reads an earlier run's file.
    path = folder / f"decisions-{secrets.token_hex(8)}.sqlite"
    tmp = path.with_name(path.name + ".tmp")
    db = sqlite3.connect(tmp)
    try:
        errors, n_accounts = _fill_index(db, accounts, decisions, columns, catalog, chunk_size, default_currency)
    finally:
        db.close()
    os.replace(tmp, path)
    return Plan(index=path, errors=errors, n_accounts=n_accounts)


def _fill_index(db: sqlite3.Connection, accounts: InputTable, decisions: InputTable, columns: list[str],
                catalog: FeatureCatalog, chunk_size: int, default_currency: str) -> tuple[pd.DataFrame, int]:
    """Check and store the decisions, match them to the account rows; the errors found and the accounts."""
    db.executescript("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;" + _SCHEMA)
    account_problems: list[tuple] = []
    n_accounts = 0
    with db:
        for frame in decisions.iter_chunks(max(chunk_size, 50_000), columns=columns, as_text=True):
            good, problems = _check_decisions(frame, catalog, default_currency)
            problem = {row: (field, message) for _, row, _, field, message in problems}
            db.executemany("INSERT INTO decisions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", (
                (row, account, kind if ok else None, old if ok else None, new if ok else None,
                 json.dumps(list(policy)) if ok else None, currency if ok else None, *problem.get(row, (None, None)),
                 bureau if ok else None, mailing if ok else None, review if ok else None)
                for row, account, kind, old, new, policy, currency, bureau, mailing, review, ok in zip(
                    frame.index.tolist(), frame[ACCOUNT].tolist(), frame["decision"].tolist(),
                    frame["old_limit"].tolist(), frame["new_limit"].tolist(), frame["policy_reasons"].tolist(),
                    frame["currency"].tolist(), frame["bureau"].tolist(), frame["mailing_address"].tolist(),
                    frame["review_date"].tolist(), good.tolist(), strict=True)))
        db.execute("CREATE INDEX decisions_account ON decisions (account)")
        db.execute(
            "UPDATE decisions SET field = ?, problem = 'exactly one decision per account; this account has ' || "
            "(SELECT COUNT(*) FROM decisions d WHERE d.account = decisions.account) "
            "WHERE account IN (SELECT account FROM decisions WHERE account IS NOT NULL AND account != '' "
            "GROUP BY account HAVING COUNT(*) > 1)", (ACCOUNT,))
        for chunk in accounts.iter_chunks(max(chunk_size, 50_000), columns=[ACCOUNT]):
            n_accounts += len(chunk)
            refs = chunk[ACCOUNT]
            missing_ref = refs.isna().to_numpy()
            account_problems.extend(("accounts", int(position), None, ACCOUNT, "a non-empty account reference")
                                    for position in chunk.index[missing_ref])
            db.executemany("INSERT INTO refs VALUES (?, ?)",
                           zip(chunk.index[~missing_ref].tolist(), refs[~missing_ref].tolist(), strict=True))
        db.execute("CREATE INDEX refs_account ON refs (account)")
        db.execute(
            "UPDATE decisions SET field = ?, problem = CASE (SELECT COUNT(*) FROM refs r WHERE r.account = decisions.account) "
            "WHEN 0 THEN 'an account in --input; no row of --input has this reference' "
            "ELSE 'one row in --input for the account; it has ' || (SELECT COUNT(*) FROM refs r WHERE r.account = decisions.account) END "
            "WHERE problem IS NULL AND (SELECT COUNT(*) FROM refs r WHERE r.account = decisions.account) != 1", (ACCOUNT,))
        db.execute("INSERT INTO matched SELECT r.row, d.row FROM decisions d JOIN refs r ON r.account = d.account "
                   "WHERE d.problem IS NULL")
        db.execute("DROP TABLE refs")
        decision_problems = db.execute("SELECT 'decisions', row, account, field, problem FROM decisions "
                                       "WHERE problem IS NOT NULL ORDER BY row").fetchall()
    return errors_frame([*decision_problems, *account_problems]), n_accounts
