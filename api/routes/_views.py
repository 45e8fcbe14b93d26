"""Turning domain objects into response bodies (shared by the decision and explanation routes)."""

from __future__ import annotations

from typing import Any

from api.schemas import BundleRef, IssuerOut, ExplanationResponse, NoticeOut, ReaderView, StoredDecision
from api.service import reasons_payload
from explain import DecisionReasons, ModelBundle
from explain.audit._audit import AuditRecord, notice_sha256


def bundle_ref(bundle: ModelBundle) -> BundleRef:
    return BundleRef(name=bundle.name, version=str(bundle.version), sha256=bundle.sha256)


def explanation(bundle: ModelBundle, reasons: DecisionReasons, recourse: Any = None) -> ExplanationResponse:
    return ExplanationResponse(bundle=bundle_ref(bundle), decision=reasons.decision, **reasons_payload(reasons),
                               recourse=None if recourse is None else recourse.to_dict())


def notices_out(notices: dict[str, dict[str, Any]], channels: list[str], order: list[str] | None = None,
                hashes: dict[str, str] | None = None) -> list[NoticeOut]:
    """The notices in the order the caller asked for their locales (storage sorts keys); ``hashes``, when the
    notices were just hashed (a record being issued), spares hashing them again."""
    rank = {locale: i for i, locale in enumerate(order or [])}
    hashes = hashes or {}
    return [
        NoticeOut(locale=locale, channels=channels, subject=n["subject"], text=n["text"], html=n["html"],
                  short=n["short"], reference=n["reference"], template_version=n["template_version"],
                  sha256=hashes.get(locale) or notice_sha256(n))
        for locale, n in sorted(notices.items(), key=lambda item: (rank.get(item[0], len(rank)), item[0]))
    ]


def stored(record: AuditRecord, reader: dict[str, Any] | None = None) -> StoredDecision:
    return StoredDecision(
        decision_id=record.decision_id,
        seq=record.seq,
        created_at=record.created_at,
        account_ref=record.account_ref,
        decision=record.decision,
        inputs=record.inputs,
        bundle=BundleRef(name=record.bundle_name, version=record.bundle_version, sha256=record.bundle_sha256),
        catalog_sha256=record.catalog_sha256,
        template_sha256=record.template_sha256,
        background_sha256=record.background_sha256,
        method=record.method,
        score=record.score,
        margin=record.margin,
        base_value=record.base_value,
        group_contributions=record.group_contributions,
        reasons=record.reasons,
        excluded=record.excluded,
        notices=notices_out(record.notices, record.inputs.get("channels", []), record.inputs.get("locales")),
        notice_hashes=record.notice_hashes,
        prev_hash=record.prev_hash,
        record_hash=record.record_hash,
        issuer=IssuerOut(key_id=record.issuer_key_id, name=record.issuer_key_name) if record.issuer_key_id else None,
        reader=ReaderView(**reader) if reader else None,
        recourse=record.recourse,
    )


__all__ = ["bundle_ref", "explanation", "notices_out", "stored"]
