"""Computing a decision's reasons and notices from its stored inputs: one code path for issuing and replaying.

The service (``api``) issues with :func:`compute` and replays with :func:`replay_record`; the compliance report
(:mod:`explain.audit._report`) replays its sample with the same function, so "byte-identical" means the same thing
in the API, the CLI and the report.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from explain.audit._audit import AuditRecord, canonical_json, canonical_value, notice_sha256
from explain._bundle import ModelBundle
from explain.attribution._one_row import explain_row
from explain.notices._skeletons import NoticeWriter
from explain.reasons._reasons import DecisionReasons

__all__ = ["Computation", "analyse", "compute", "reasons_payload", "recourse_for", "replay_record"]

_UNSET: Any = object()


def analyse(bundle: ModelBundle, features: Mapping[str, Any], decision: str, policy_reasons: Iterable[str] = (),
            *, one: Any = _UNSET) -> DecisionReasons:
    """Score and explain one account; input errors surface as :class:`explain.FeatureMismatchError`.

    Plainly valid values take the frame-free path (``explain.attribution._one_row``; ``one``: the account
    explained by it already, None when it could not be); anything else the frame path, which words the error."""
    explainer = bundle.explainer()
    if one is _UNSET:
        one = explain_row(explainer, features)
    return explainer.reasons_of(one, features, decision=decision, policy_reasons=tuple(policy_reasons))


def recourse_for(bundle: ModelBundle, inputs: Mapping[str, Any], *, one: Any = None) -> Any:
    """What would change an adverse decision (:mod:`explain.recourse`), or None: a favourable decision, or a
    catalog that declares no actions. ``inputs["recourse_target"]``, when the caller gave one, overrides the
    catalog's target for the decision kind. ``one``: the account as the frame-free path explained it."""
    from explain.reasons._reasons import Decision
    from explain.recourse._solver import find_recourse, find_recourse_row

    if not Decision.parse(inputs["decision"]).is_adverse or not bundle.catalog.recourse.enabled:
        return None
    if one is not None:
        return find_recourse_row(bundle, one, inputs["decision"], target=inputs.get("recourse_target"))
    frame = pd.DataFrame([dict(inputs["features"])])
    return find_recourse(bundle, frame, inputs["decision"], target=inputs.get("recourse_target"))


@dataclass(frozen=True)
class Computation:
    reasons: DecisionReasons
    notices: dict[str, dict[str, Any]]  # locale -> Notice.to_dict()
    recourse: Any = None  # explain.recourse.Recourse for an adverse decision, else None
    #: locale -> notice_sha256, hashed from the canonical text the notice was parsed from (so not twice)
    hashes: dict[str, str] | None = None

    @property
    def recourse_payload(self) -> dict[str, Any] | None:
        """The recourse as the audit record stores it (deterministic: no clock)."""
        return None if self.recourse is None else canonical_value(self.recourse.to_dict())

    @property
    def notice_hashes(self) -> dict[str, str]:
        if self.hashes is not None:
            return dict(self.hashes)
        return {locale: notice_sha256(n) for locale, n in self.notices.items()}

    @property
    def template_sha256(self) -> str:
        versions = "\n".join(f"{loc}:{n['template_version']}" for loc, n in sorted(self.notices.items()))
        return hashlib.sha256(versions.encode("utf-8")).hexdigest()


#: The process's notice skeletons (byte-identical to ``render_notice``; each template runs through Jinja once
#: per shape of notice, then a notice is its skeleton joined with its values). Shared by every request.
_WRITER = NoticeWriter()


def compute(bundle: ModelBundle, inputs: Mapping[str, Any]) -> Computation:
    """Explain and render from stored-form ``inputs``: the single code path for issuing and replaying."""
    one = explain_row(bundle.explainer(), inputs["features"])  # shared by the reasons and the recourse
    reasons = analyse(bundle, inputs["features"], inputs["decision"], inputs["policy_reasons"], one=one)
    recourse = recourse_for(bundle, inputs, one=one)
    effective = inputs.get("effective_date")
    review = inputs.get("review_date")
    notices, hashes = {}, {}
    for locale in inputs["locales"]:
        notice = _WRITER.render(
            inputs["decision"],
            reasons,
            locale=locale,
            channel=inputs["channels"][0],
            catalog=bundle.catalog,
            profile=bundle.profile,
            old_limit=inputs["old_limit"],
            new_limit=inputs["new_limit"],
            account_ref=inputs["account_ref"],
            currency=inputs["currency"],
            notice_date=dt.date.fromisoformat(inputs["notice_date"]),
            effective_date=dt.date.fromisoformat(effective) if effective else None,
            bureau=inputs.get("bureau"),
            recourse=recourse,
            review_date=dt.date.fromisoformat(review) if review else None,
        )
        # Canonical JSON is a fixed point (parsing it and writing it again gives the same text), so the hash
        # of this text is notice_sha256 of the parsed notice.
        text = canonical_json(notice.to_dict())
        notices[locale] = json.loads(text)
        hashes[locale] = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return Computation(reasons=reasons, notices=notices, recourse=recourse, hashes=hashes)


def reasons_payload(reasons: DecisionReasons) -> dict[str, Any]:
    """The analysis as stored and returned: plain JSON numbers, method and tree mode in one string."""
    data = canonical_value(reasons.to_dict())
    return {
        "score": data["score"],
        "margin": data["margin"],
        "base_value": data["base_value"],
        "method": data["method"] if not data.get("mode") else f"{data['method']}:{data['mode']}",
        "group_contributions": data["group_contributions"],
        "reasons": data["reasons"],
        "excluded": data["excluded"],
    }


def _record_checks(record: AuditRecord, logged_leaf_hash: str | None) -> dict[str, bool]:
    """What replaying cannot see by recomputing: that the stored columns are the ones the inputs (and the log)
    say. A record whose ``account_ref`` was changed still replays to the same notices from its inputs."""
    from explain.audit._leaves import decision_leaf_hash

    inputs = record.inputs
    checks = {"columns": (record.account_ref, record.decision, record.bundle_name)
              == (inputs.get("account_ref"), inputs.get("decision"), inputs.get("bundle"))}
    if record.prev_hash:  # on the legacy hash chain
        checks["record_hash"] = record.compute_hash() == record.record_hash
    if logged_leaf_hash is not None:
        checks["on_log"] = decision_leaf_hash(record) == logged_leaf_hash
    return checks


def _pdf_replay(bundle: ModelBundle, record: AuditRecord, locale: str, notice: dict[str, Any]) -> dict[str, Any]:
    from explain.printing import record_letter, render_pdf

    stored = render_pdf(record_letter(record, profile=bundle.profile, locale=locale))
    again = render_pdf(record_letter(record, profile=bundle.profile, locale=locale, notice=notice))
    return {"pdf_identical": stored == again, "pdf_sha256": hashlib.sha256(stored).hexdigest()}


def replay_record(bundle: ModelBundle | None, record: AuditRecord, *, logged_leaf_hash: str | None = None,
                  pdf: bool = False) -> dict[str, Any]:
    """Recompute ``record`` from its inputs with ``bundle`` (None: not loaded) and say, part by part, whether
    the bytes are the same; and whether the record's columns agree with its inputs and, given the leaf hash
    its log entry holds, with the log. With ``pdf``, each locale's printed letter too: the PDF printed from the
    recomputed notice against the one printed from the stored notice (:mod:`explain.printing`), and the
    latter's sha256, to compare with the hash of a letter that was sent."""
    if bundle is None:
        return {"decision_id": record.decision_id, "replayed": False, "identical": False,
                "problem": f"bundle {record.bundle_name!r} is not loaded"}
    if bundle.sha256 != record.bundle_sha256:
        return {"decision_id": record.decision_id, "replayed": False, "identical": False,
                "problem": f"the loaded bundle {bundle.name!r} ({bundle.sha256[:12]}) is not the one the record was "
                           f"issued with ({record.bundle_sha256[:12]})"}
    again = compute(bundle, record.inputs)
    payload = reasons_payload(again.reasons)
    checks: dict[str, bool] = {}
    for name in ("score", "margin", "base_value", "method", "group_contributions", "reasons", "excluded"):
        checks[name] = canonical_json(payload[name]) == canonical_json(getattr(record, name))
    checks["recourse"] = canonical_json(again.recourse_payload) == canonical_json(record.recourse)
    checks["catalog_sha256"] = bundle.catalog.sha256 == record.catalog_sha256
    checks["background_sha256"] = bundle.background_sha256 == record.background_sha256
    checks["template_sha256"] = again.template_sha256 == record.template_sha256
    checks.update(_record_checks(record, logged_leaf_hash))
    notices = {}
    for locale, notice in again.notices.items():
        stored = record.notices.get(locale)
        notices[locale] = {
            "identical": stored is not None and canonical_json(stored) == canonical_json(notice)
            and record.notice_hashes.get(locale) == notice_sha256(notice),
            "sha256": notice_sha256(notice),
            "stored_sha256": record.notice_hashes.get(locale),
        }
        if pdf and stored is not None:
            notices[locale].update(_pdf_replay(bundle, record, locale, notice))
    identical = all(checks.values()) and all(n["identical"] for n in notices.values()) and set(notices) == set(record.notice_hashes)
    return {
        "decision_id": record.decision_id,
        "replayed": True,
        "identical": identical,
        "reasons_identical": checks["reasons"] and checks["excluded"] and checks["group_contributions"],
        "notices_identical": all(n["identical"] for n in notices.values()),
        "checks": checks,
        "notices": notices,
    }
