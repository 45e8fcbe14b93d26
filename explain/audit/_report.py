"""The compliance report: are the notices accurate, consistent and fair, and who issued and read them?

:func:`build_report` walks the audit records of a period once (a stream: nothing but counters and a seeded
replay sample is held) and returns a :class:`ComplianceReport` of plain figures; :func:`render_report` writes
them as one self-contained HTML page (charts as inline SVG, no external asset) in the reader's locale;
:meth:`ComplianceReport.to_dict` gives the same figures as JSON for monitoring.

What is counted, per decision kind:

- decisions by kind and by month (``created_at``, UTC);
- how often each reason group (or policy reason) was among the principal reasons;
- the share of the total absolute attribution that fell on protected groups (summed over the records,
  ``Σ|protected| / Σ|all groups|``), and the decisions where a protected group would have been the top reason
  (``excluded`` with ``would_rank == 1``);
- counter-intuitive reasons, twice: reasons the record itself flags (``counter_intuitive``), and, computed here
  from the grouped contributions, groups whose sign contradicts the catalog's declared ``direction`` for the
  customer's value (a material push toward risk while the display feature is below the background median of a
  ``higher_is_riskier`` group, or toward safety while above; the reverse for ``higher_is_safer``);
- additivity failures (``base_value + Σ contributions`` differs from ``margin``): must be zero;
- records whose stored hash no longer matches their content, and the hash-chain walk of the whole store;
- a replay of a seeded random sample (reservoir sampling over the stream) with the byte-identical rate;
- issuance by API key, and reads of decisions by agent and auditor keys (the access log).
"""

from __future__ import annotations

import functools
import random
from datetime import UTC, datetime
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from babel.dates import format_datetime
from babel.numbers import format_decimal, format_percent
from markupsafe import Markup

from explain.audit._audit import AuditRecord, ChainVerification
from explain._bundle import ModelBundle
from explain.catalog._catalog import FeatureCatalog
from explain.audit._charts import Bar, bar_chart
from explain.notices._locales import negotiate, page_lang
from explain.audit._html_env import html_environment, page_gettext

__all__ = [
    "ADDITIVITY_TOLERANCE", "ComplianceReport", "build_report", "contradicting_groups", "render_report", "report_from_store",
]

#: ``|base + Σ contributions − margin|`` allowed, relative to ``max(1, |margin|)``: float summation error only.
ADDITIVITY_TOLERANCE = 1e-6
TEMPLATES_DIR = Path(__file__).resolve().parents[1] / "report_templates"


@dataclass(frozen=True)
class _Reference:
    """What judging a record needs from its bundle: the catalog, the background medians, the score's sense."""

    catalog: FeatureCatalog
    medians: Mapping[str, float]
    risk_sign: float  # +1 when a positive contribution pushes toward risk


def _reference(bundle: ModelBundle) -> _Reference:
    medians = {}
    for column in bundle.background.columns:
        values = bundle.background[column]
        if pd.api.types.is_numeric_dtype(values):
            medians[column] = float(np.nanmedian(values.to_numpy(dtype=float)))
    return _Reference(bundle.catalog, medians, 1.0 if bundle.higher_is == "risk" else -1.0)


def contradicting_groups(record: AuditRecord, catalog: FeatureCatalog, medians: Mapping[str, float],
                         risk_sign: float = 1.0) -> list[dict[str, Any]]:
    """The groups of ``record`` whose material contribution contradicts the catalog's declared direction.

    Judged only for groups with a direction and a numeric display feature whose value the record's inputs
    hold; a contribution is material when it is at least the catalog's ``materiality`` share of the record's
    total absolute contribution. Returns one dict per contradiction (group, contribution, value, median).
    """
    contributions = record.group_contributions
    total = sum(abs(v) for v in contributions.values()) or 1.0
    features = record.inputs.get("features", {}) if isinstance(record.inputs, Mapping) else {}
    found = []
    for code, value in contributions.items():
        group = catalog.groups.get(code)
        if group is None or group.direction == "none" or group.display not in medians:
            continue
        shown = features.get(group.display)
        if not isinstance(shown, int | float) or isinstance(shown, bool):
            continue
        if abs(value) < catalog.materiality * total:
            continue
        toward_risk = risk_sign * value
        median = medians[group.display]
        above, below = shown > median, shown < median
        riskier_up = group.direction == "higher_is_riskier"
        wrong = (above and (toward_risk < 0 if riskier_up else toward_risk > 0)) or (
            below and (toward_risk > 0 if riskier_up else toward_risk < 0))
        if wrong:
            found.append({"group": code, "contribution": value, "value": shown, "median": median,
                          "direction": group.direction})
    return found


@dataclass
class ComplianceReport:
    """The figures of one report. Plain values only: :meth:`to_dict` is the JSON the API returns."""

    since: str | None
    until: str | None
    total: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    by_month: dict[str, dict[str, int]] = field(default_factory=dict)
    principal_reasons: dict[str, dict[str, int]] = field(default_factory=dict)
    protected: dict[str, Any] = field(default_factory=dict)
    counter_intuitive: dict[str, Any] = field(default_factory=dict)
    additivity: dict[str, Any] = field(default_factory=dict)
    integrity: dict[str, Any] = field(default_factory=dict)
    replay: dict[str, Any] = field(default_factory=dict)
    issuance: list[dict[str, Any]] = field(default_factory=list)
    access: dict[str, Any] = field(default_factory=dict)
    #: Human reviews requested in the period (explain.review._report.review_figures); empty when none.
    reviews: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def build_report(
    records: Iterable[AuditRecord],
    *,
    bundles: Iterable[ModelBundle],
    verification: ChainVerification,
    replay: Callable[[AuditRecord], Mapping[str, Any]] | None = None,
    access: Iterable[Any] = (),
    since: str | None = None,
    until: str | None = None,
    sample_size: int = 20,
    seed: int = 0,
) -> ComplianceReport:
    """Compute the report over ``records`` (chain order), judging each against the bundle whose catalog it
    names (records whose catalog is not among ``bundles`` are counted as not judged).

    ``replay(record)`` recomputes one record (see :func:`explain.audit._replay.replay_record`); ``sample_size``
    records are drawn by reservoir sampling with ``random.Random(seed)``, so the same trail and seed replay
    the same sample. ``access`` is the access log of the period (:class:`explain.audit._store.AccessEntry`).
    """
    if sample_size < 0:
        raise ValueError(f"The 'sample_size' of build_report must be 0 or more. Got {sample_size!r} instead.")
    references = {b.catalog.sha256: _reference(b) for b in bundles}
    report = ComplianceReport(since=since, until=until)
    by_kind: Counter[str] = Counter()
    by_month: dict[str, Counter[str]] = defaultdict(Counter)
    principal: dict[str, Counter[str]] = defaultdict(Counter)
    protected_abs: Counter[str] = Counter()
    total_abs: Counter[str] = Counter()
    protected_groups: set[str] = set()
    top_protected: list[dict[str, Any]] = []
    flagged: list[dict[str, Any]] = []
    contradictions: list[dict[str, Any]] = []
    additivity_failures: list[dict[str, Any]] = []
    hash_mismatches: list[dict[str, Any]] = []
    issuers: Counter[tuple[str | None, str | None]] = Counter()
    not_judged = 0
    rng = random.Random(seed)
    sample: list[AuditRecord] = []

    for n, record in enumerate(records):
        kind = record.decision
        by_kind[kind] += 1
        by_month[record.created_at[:7]][kind] += 1
        issuers[(record.issuer_key_id, record.issuer_key_name)] += 1
        where = {"seq": record.seq, "decision_id": record.decision_id, "account_ref": record.account_ref,
                 "decision": kind}
        for reason in record.reasons:
            principal[kind][reason["code"]] += 1
            if reason.get("counter_intuitive", False):
                flagged.append({**where, "group": reason["code"], "contribution": reason.get("contribution")})
        for excluded in record.excluded:
            if excluded.get("would_rank") == 1:
                top_protected.append({**where, "group": excluded["code"], "contribution": excluded["contribution"]})
        total = record.base_value + sum(record.group_contributions.values())
        if abs(total - record.margin) > ADDITIVITY_TOLERANCE * max(1.0, abs(record.margin)):
            additivity_failures.append({**where, "margin": record.margin, "sum": total})
        if record.compute_hash() != record.record_hash:
            hash_mismatches.append(where)
        ref = references.get(record.catalog_sha256)
        if ref is None:
            not_judged += 1
        else:
            for code, value in record.group_contributions.items():
                total_abs[kind] += abs(value)
                group = ref.catalog.groups.get(code)
                if group is not None and group.protected:
                    protected_abs[kind] += abs(value)
                    protected_groups.add(code)
            for found in contradicting_groups(record, ref.catalog, ref.medians, ref.risk_sign):
                contradictions.append({**where, **found})
        # reservoir sampling: every record equally likely, one pass, a seeded generator of our own
        if len(sample) < sample_size:
            sample.append(record)
        elif sample_size:
            j = rng.randint(0, n)
            if j < sample_size:
                sample[j] = record

    report.total = sum(by_kind.values())
    report.by_kind = dict(sorted(by_kind.items()))
    report.by_month = {m: dict(sorted(c.items())) for m, c in sorted(by_month.items())}
    report.principal_reasons = {k: dict(sorted(c.items(), key=lambda kv: (-kv[1], kv[0])))
                                for k, c in sorted(principal.items())}
    report.protected = {
        "groups": sorted(protected_groups),
        "by_kind": {k: {"protected_abs": protected_abs[k], "total_abs": total_abs[k],
                        "share": protected_abs[k] / total_abs[k] if total_abs[k] else 0.0} for k in sorted(total_abs)},
        "share": sum(protected_abs.values()) / sum(total_abs.values()) if sum(total_abs.values()) else 0.0,
        "would_have_been_top": top_protected,
        "not_judged": not_judged,
    }
    report.counter_intuitive = {"flagged": flagged, "contradictions": contradictions,
                                "flagged_count": len(flagged), "contradiction_count": len(contradictions)}
    report.additivity = {"checked": report.total, "tolerance": ADDITIVITY_TOLERANCE,
                         "failures": additivity_failures, "failure_count": len(additivity_failures)}
    report.integrity = {"chain": verification.to_dict(), "hash_mismatches": hash_mismatches,
                        "hash_mismatch_count": len(hash_mismatches)}
    results = [dict(replay(r)) for r in sorted(sample, key=lambda r: r.seq)] if replay is not None else []
    identical = sum(1 for r in results if r.get("identical"))
    report.replay = {
        "seed": seed, "sample_size": len(results), "identical": identical,
        "rate": identical / len(results) if results else None,
        "differing": [{"decision_id": r["decision_id"], "problem": r.get("problem"),
                       "checks": {k: v for k, v in r.get("checks", {}).items() if not v}}
                      for r in results if not r.get("identical")],
    }
    report.issuance = [{"key_id": k, "key_name": name, "decisions": c}
                       for (k, name), c in sorted(issuers.items(), key=lambda kv: (-kv[1], str(kv[0])))]
    reads: dict[tuple[str, str, str], dict[str, Any]] = {}
    entries = 0
    for entry in access:
        entries += 1
        row = reads.setdefault((entry.key_id, entry.key_name, entry.role),
                               {"key_id": entry.key_id, "key_name": entry.key_name, "role": entry.role,
                                "reads": 0, "accounts": set(), "first": entry.at, "last": entry.at})
        row["reads"] += 1
        row["accounts"].add(entry.account_ref)
        row["last"] = entry.at
    report.access = {"reads": entries, "by_key": [
        {**r, "accounts": len(r["accounts"])} for r in sorted(reads.values(), key=lambda r: (-r["reads"], r["key_id"]))]}
    return report


# ------------------------------------------------------------------------------------------------- HTML
def _label(catalog: FeatureCatalog | None, code: str, locale: str) -> str:
    """A reason group's or policy reason's label in ``locale`` (the code itself when no catalog knows it)."""
    if catalog is not None:
        if code in catalog.groups:
            return catalog.phrase(f"groups:{code}:label", catalog.groups[code].label, locale=locale)
        if code in catalog.policy_reasons:
            return catalog.phrase(f"policy:{code}:label", catalog.policy_reasons[code].label, locale=locale)
    return code


def page_formatters(locale: str, catalog: FeatureCatalog | None) -> tuple[Callable[..., str], ...]:
    """The report pages' formatters in ``locale``: number, percent, a decision kind's name and a reason
    group's label (from ``catalog``); shared by the compliance and the governance report."""
    gettext = functools.partial(page_gettext, locale)

    def number(value: float, digits: int = 0) -> str:
        return format_decimal(value, format="#,##0" + ("." + "0" * digits if digits else ""), locale=locale)

    def percent(value: float | None) -> str:
        return "–" if value is None else format_percent(value, format="#,##0.0%", locale=locale)

    def kind_name(kind: str) -> str:
        return {"limit_increase": gettext("Limit increase"), "limit_decrease": gettext("Limit decrease"),
                "account_closure": gettext("Account closure"),
                "increase_declined": gettext("Increase declined"),
                "increases_suspended": gettext("Increases suspended")}.get(kind, kind)

    def label(code: str) -> str:
        return _label(catalog, code, locale)

    return number, percent, kind_name, label


def render_report(report: ComplianceReport, *, locale: str, catalog: FeatureCatalog | None = None,
                  generated_at: Any = None, governance: Any = None) -> str:
    """The report as one self-contained HTML page in ``locale`` (group labels from ``catalog``); a
    :class:`~explain.governance.GovernanceReport` given as ``governance`` adds its sections."""
    locale = negotiate(locale)
    env = html_environment(TEMPLATES_DIR, locale)
    gettext = functools.partial(page_gettext, locale)

    number, percent, kind_name, label = page_formatters(locale, catalog)

    charts = {
        "by_kind": bar_chart([Bar(kind_name(k), v, number(v)) for k, v in report.by_kind.items()],
                             title=gettext("Decisions by kind"), description=gettext("Number of decisions of each kind in the period."),
                             chart_id="c-kind"),
        "principal": {k: bar_chart([Bar(label(code), n, number(n)) for code, n in counts.items()],
                                   title=gettext("Principal reasons: %(kind)s", kind=kind_name(k)),
                                   description=gettext("How often each reason was among the principal reasons."),
                                   chart_id=f"c-reasons-{k}")
                      for k, counts in report.principal_reasons.items()},
        "protected": bar_chart([Bar(kind_name(k), v["share"], percent(v["share"]), highlight=True)
                                for k, v in report.protected["by_kind"].items()],
                               title=gettext("Share of attribution on protected groups"),
                               description=gettext("Share of the total absolute attribution that fell on protected groups, by kind."),
                               chart_id="c-protected"),
    }
    template = env.get_template("report.html")
    extra = {}
    if governance is not None:  # the model-governance sections (explain compare), from their own partial
        from explain.governance._render import governance_context

        extra = governance_context(governance, locale=locale, label=label, kind_name=kind_name, number=number)
    return template.render(
        governance=governance is not None, **extra,
        r=report, locale=locale, lang=page_lang(locale), charts={k: v if isinstance(v, dict) else Markup(v) for k, v in charts.items()},
        principal_charts={k: Markup(v) for k, v in charts["principal"].items()},
        number=number, percent=percent, kind_name=kind_name, label=label,
        generated=format_datetime(generated_at, format="medium", locale=locale, tzinfo=None) if generated_at else None,
    )


def report_from_store(store: Any, *, bundles: Iterable[ModelBundle], since: str | None = None,
                      until: str | None = None, sample_size: int = 20, seed: int = 0) -> ComplianceReport:
    """:func:`build_report` over an :class:`explain.audit._store.AuditStore`: the period's records and reads, the whole
    chain verified, the sample replayed with the bundle each record names (when it is loaded)."""
    from explain.audit._replay import replay_record

    bundles = list(bundles)
    by_name = {b.name: b for b in bundles}
    verification = store.verify()
    report = build_report(
        store.iter_records(since=since, until=until),
        bundles=bundles,
        verification=verification,
        replay=lambda record: replay_record(by_name.get(record.bundle_name), record),
        access=store.access_log(since=since, until=until),
        since=since,
        until=until,
        sample_size=sample_size,
        seed=seed,
    )
    from explain.review._report import review_figures  # the review stage builds on this one: imported late
    from explain.review._store import ReviewStore

    reviews = [r for r in ReviewStore(store).iter_reviews()
               if (since is None or r.requested_at >= since) and (until is None or r.requested_at < until)]
    report.reviews = review_figures(reviews, store.get, today=datetime.now(UTC).date())
    return report
