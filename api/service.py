"""What the routes do, without HTTP: score, explain, choose reasons, render notices, build and replay records.

Everything a stored decision needs to be replayed is in its ``inputs`` (canonical JSON, dates as ISO
strings, the notice date fixed at issue), and both issuing and replaying run :func:`compute` on those same
inputs, so a replay differs only if the bundle, the code or the catalogs did.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from explain import ModelBundle, Reason, demo_bundle
from explain.audit._audit import AuditRecord, canonical_value
from explain.notices._locales import negotiate
from explain.notices._notices import reason_phrases
from explain.audit._replay import Computation, analyse, compute, reasons_payload, recourse_for, replay_record
from explain.audit._store import Caller

__all__ = [
    "BundleRegistry",
    "Computation",
    "UnknownBundleError",
    "analyse",
    "compute",
    "decision_inputs",
    "make_record",
    "reader_reasons",
    "reasons_payload",
    "recourse_for",
    "replay",
]


class UnknownBundleError(KeyError):
    def __init__(self, name: str, loaded: Iterable[str]) -> None:
        self.name = name
        self.loaded = tuple(loaded)
        super().__init__(f"No bundle named {name!r} is loaded; expected one of {', '.join(map(repr, self.loaded))}.")

    def __str__(self) -> str:
        return str(self.args[0])


class BundleRegistry:
    """The bundles this process serves, by name; loaded once at start-up."""

    def __init__(self, bundles: Iterable[ModelBundle]) -> None:
        self._bundles = {b.name: b for b in bundles}

    @classmethod
    def load(cls, specs: Iterable[str], *, trusted: bool = False) -> BundleRegistry:
        bundles = [demo_bundle() if spec == "demo" else ModelBundle.load(Path(spec), trusted=trusted) for spec in specs]
        return cls(bundles)

    def get(self, name: str) -> ModelBundle:
        try:
            return self._bundles[name]
        except KeyError:
            raise UnknownBundleError(name, self._bundles) from None

    def names(self) -> list[str]:
        return list(self._bundles)

    def __iter__(self) -> Iterator[ModelBundle]:
        return iter(self._bundles.values())

    def __len__(self) -> int:
        return len(self._bundles)

    def warm_up(self) -> None:
        """Explain one background row per bundle, so the first customer does not pay for lazy set-up."""
        for bundle in self:
            row = bundle.background.iloc[[0]]
            bundle.explainer().reasons(row, decision="limit_decrease")


def decision_inputs(
    *,
    account_ref: str,
    bundle: str,
    features: Mapping[str, Any],
    decision: str,
    old_limit: float,
    new_limit: float,
    currency: str,
    effective_date: dt.date | None,
    notice_date: dt.date | None,
    policy_reasons: Iterable[str],
    review_date: dt.date | None = None,
    locales: Iterable[str],
    channels: Iterable[str],
    bureau: Mapping[str, Any] | None = None,
    recourse_target: float | None = None,
    mailing_address: Iterable[str] | None = None,
) -> dict[str, Any]:
    """The request as it is stored: canonical JSON values, locales negotiated, the notice date fixed."""
    negotiated = []
    for i, locale in enumerate(locales):
        code = negotiate(locale, field=f"locales[{i}]")
        if code not in negotiated:
            negotiated.append(code)
    raw = {
        "account_ref": account_ref,
        "bundle": bundle,
        "features": dict(features),
        "decision": decision,
        "old_limit": old_limit,
        "new_limit": new_limit,
        "currency": currency,
        "effective_date": effective_date.isoformat() if effective_date else None,
        "notice_date": (notice_date or dt.datetime.now(dt.UTC).date()).isoformat(),
        "policy_reasons": list(policy_reasons),
        "locales": negotiated,
        "channels": list(dict.fromkeys(channels)),
    }
    if bureau is not None:  # only when given: records without it keep their stored form
        raw["bureau"] = dict(bureau)
    if recourse_target is not None:  # only when given: requests without one keep their stored form
        raw["recourse_target"] = recourse_target
    if mailing_address is not None:  # only when given: printed in the letter's envelope window, nowhere else
        raw["mailing_address"] = list(mailing_address)
    if review_date is not None:  # likewise: only a suspension of increases may carry one
        raw["review_date"] = review_date.isoformat()
    return canonical_value(raw)


def make_record(bundle: ModelBundle, inputs: Mapping[str, Any], computation: Computation,
                issuer: Caller | None = None) -> AuditRecord:
    """A draft record (the store chains it); a fresh random decision id; ``issuer`` the key that asked."""
    payload = reasons_payload(computation.reasons)
    return AuditRecord(
        decision_id=str(uuid.uuid4()),
        created_at="",
        account_ref=inputs["account_ref"],
        decision=inputs["decision"],
        inputs=dict(inputs),
        bundle_name=bundle.name,
        bundle_version=str(bundle.version),
        bundle_sha256=bundle.sha256,
        catalog_sha256=bundle.catalog.sha256,
        template_sha256=computation.template_sha256,
        background_sha256=bundle.background_sha256,
        notice_hashes=computation.notice_hashes,
        notices=computation.notices,
        issuer_key_id=issuer.key_id if issuer else None,
        issuer_key_name=issuer.name if issuer else None,
        recourse=computation.recourse_payload,
        **payload,
    )


def replay(bundles: BundleRegistry, record: AuditRecord, *, logged_leaf_hash: str | None = None,
           pdf: bool = False) -> dict[str, Any]:
    """Recompute ``record`` from its inputs and say, part by part, whether the bytes are the same (and, given
    its log entry's leaf hash, whether the record is still the one on the log)."""
    try:
        bundle = bundles.get(record.bundle_name)
    except UnknownBundleError:
        bundle = None
    return replay_record(bundle, record, logged_leaf_hash=logged_leaf_hash, pdf=pdf)


_REASON_FIELDS = frozenset(f.name for f in dataclasses.fields(Reason))


def reader_reasons(bundle: ModelBundle, record: AuditRecord, locale: str) -> dict[str, Any]:
    """The stored reasons phrased in the reader's language (not the customer's)."""
    code = negotiate(locale)
    phrased = []
    for data in record.reasons:
        reason = Reason(**{k: v for k, v in data.items() if k in _REASON_FIELDS})
        phrased.append({"code": reason.code, "source": reason.source, "effect": reason.effect,
                        **reason_phrases(reason, locale=code, catalog=bundle.catalog,
                                         currency=record.inputs.get("currency", "CNY"))})
    return {"locale": code, "reasons": phrased}
