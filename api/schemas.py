"""Request and response bodies, each with an example (they show in ``/docs``)."""

from __future__ import annotations

import math
import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from pydantic_core import PydanticCustomError

from api.params import NO_CONTROL, AccountRef, IsoDate
from explain import Decision
from explain.printing._address import MAX_ADDRESS_LINE, MAX_ADDRESS_LINES

#: Text a caller sends: bounded, and without NUL or other control characters.
Code = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=NO_CONTROL)]


MAX_FEATURE_TEXT = 256
#: The largest magnitude of a numeric feature value: far beyond any amount, count or age, and exact as a
#: float64 (a 400-digit integer would otherwise overflow the model's float conversion: a 500, not a 422).
MAX_FEATURE_MAGNITUDE = 10**15


_CONTROL = re.compile("[\x00-\x1f\x7f]")  # C0 controls and DEL: one search, not a loop over every character


def _finite(value: object) -> object:
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("must be a finite number (null marks a missing value)")
    if isinstance(value, int | float) and not isinstance(value, bool) and abs(value) > MAX_FEATURE_MAGNITUDE:
        raise PydanticCustomError("number_too_large", "Numbers must be at most 10^15 in magnitude",
                                  {"expected": "a number between -10^15 and 10^15"})
    if isinstance(value, str):
        if len(value) > MAX_FEATURE_TEXT:
            raise PydanticCustomError("string_too_long", "Text values must be at most {max} characters",
                                      {"max": MAX_FEATURE_TEXT, "expected": f"at most {MAX_FEATURE_TEXT} characters"})
        if _CONTROL.search(value):
            raise PydanticCustomError("control_character", "Text values must not contain control characters",
                                      {"expected": "text without control characters"})
    return value


# Finite numbers only: JSON's NaN/Infinity literals are not values a customer has (null is "missing"). One
# validator on the whole union, so an error names the feature, not each member type of the union.
FeatureValue = Annotated[str | int | float | bool | None, AfterValidator(_finite)]
Channel = Literal["letter", "short"]

EXAMPLE_FEATURES: dict[str, FeatureValue] = {
    "status_of_existing_checking_account": "... < 0 DM",
    "duration_in_month": 36,
    "credit_history": "existing credits paid back duly till now",
    "purpose": "car (new)",
    "credit_amount": 9055,
    "savings_account_and_bonds": "unknown/ no savings account",
    "present_employment_since": "1 <= ... < 4 years",
    "installment_rate_in_percentage_of_disposable_income": 2,
    "personal_status_and_sex": "male : single",
    "other_debtors_or_guarantors": "none",
    "present_residence_since": 4,
    "property": "unknown / no property",
    "age_in_years": 35,
    "other_installment_plans": "none",
    "housing": "for free",
    "number_of_existing_credits_at_this_bank": 1,
    "job": "unskilled - resident",
    "number_of_people_being_liable_to_provide_maintenance_for": 2,
    "telephone": "yes, registered under the customers name",
    "foreign_worker": "yes",
}
EXAMPLE_REASON = {
    "code": "loan_term", "source": "model", "effect": "adverse", "contribution": 0.4121,
    "feature": "duration_in_month", "value": 36, "value_kind": "months", "percentile": 91.0, "actionable": True,
}
EXAMPLE_ID = "8a4c1f62-3a0e-4a43-9a8e-3f0f3d1e5b1c"
EXAMPLE_HASH = "5fad1038f8cb80937bc3b367acb3ce279f019fb69594cec023f9defdd89617b7"


def _example(example: dict[str, Any], **extra: Any) -> ConfigDict:
    return ConfigDict(json_schema_extra={"examples": [example]}, **extra)


class ExplanationRequest(BaseModel):
    """What-if analysis: the same scoring and reasons as a decision, nothing stored or rendered."""

    model_config = _example(
        {"bundle": "german-credit-demo", "features": EXAMPLE_FEATURES, "decision": "limit_decrease",
         "policy_reasons": []},
        extra="forbid",
    )

    bundle: str = Field(min_length=1, max_length=128, pattern=NO_CONTROL,
                        description="Name of a loaded bundle (see GET /v1/bundles).")
    features: dict[Annotated[str, StringConstraints(max_length=128)], FeatureValue] = Field(
        max_length=256, description="Raw feature values of one account, by feature name.")
    decision: Decision = Field(description="What the lender did (or considers doing).")
    policy_reasons: list[Code] = Field(default_factory=list, max_length=5, description="Policy reason codes, given first.")
    recourse_target: float | None = Field(
        default=None, ge=-1e6, le=1e6, allow_inf_nan=False,
        description="Score the decision needed, overriding the bundle's target for this decision kind "
                    "(higher_is risk: at or below it). Recourse is computed for adverse decisions only.")


class BureauFields(BaseModel):
    """The credit score a US decision used (FCRA §615(a)(2), §609(f)): required when the lender profile says
    ``bureau_data = true``, printed in the notice's credit-score disclosure."""

    model_config = _example({"bureau_score": 612, "range": [300, 850], "date": "2026-11-20",
                             "key_factors": ["Too many recent credit inquiries"]}, extra="forbid")

    bureau_score: int = Field(strict=True, description="The score, as the consumer reporting agency gave it.")
    range: tuple[int, int] = Field(description="Lowest and highest possible score, e.g. [300, 850].")
    date: IsoDate = Field(description="When the score was created.")
    key_factors: list[Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=NO_CONTROL)]
                      | dict[Annotated[str, StringConstraints(max_length=16)],
                             Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=NO_CONTROL)]]] = Field(
        min_length=1, max_length=4, description="Up to 4 key factors that lowered the score: one text, or one per locale.")


class DecisionRequest(ExplanationRequest):
    """A limit change to explain, notify and record."""

    model_config = _example(
        {"account_ref": "6222-0001", "bundle": "german-credit-demo", "features": EXAMPLE_FEATURES,
         "decision": "limit_decrease", "old_limit": 20000, "new_limit": 8000, "currency": "CNY",
         "effective_date": "2026-12-31", "policy_reasons": [], "locales": ["zh_CN", "en"], "channels": ["letter"]},
        extra="forbid",
    )

    account_ref: AccountRef = Field(min_length=1, max_length=128, pattern=NO_CONTROL,
                                    description="The account as the customer knows it (NFC; no invisible, "
                                                "direction or separator characters but inner spaces).")
    old_limit: float = Field(ge=0, lt=1e15, allow_inf_nan=False, strict=True, description="Limit before the decision.")
    new_limit: float = Field(ge=0, lt=1e15, allow_inf_nan=False, strict=True,
                             description="Limit after (for increase_declined: asked for; for increases_suspended: "
                                         "old_limit when the limit is kept, lower when it is lowered too).")
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$",
                                 description="ISO 4217 code; default: the lender profile's currency (CNY unless "
                                             "the profile says otherwise, e.g. HKD or TWD).")
    effective_date: IsoDate | None = Field(default=None, description="When it takes effect (default: per lender policy).")
    notice_date: IsoDate | None = Field(default=None, description="Date printed on the notice (default: today, UTC).")
    review_date: IsoDate | None = Field(default=None, description="increases_suspended only: the date after which the "
                                                                  "lender looks at the account again (after the "
                                                                  "notice date). Left out, the notice promises none.")
    locales: list[Annotated[str, StringConstraints(min_length=2, max_length=16, pattern=NO_CONTROL)]] | None = Field(
        default=None, min_length=1, max_length=4,
                                      description="Notice languages: zh_CN, en, zh_HK, zh_TW (zh-HK, zh-Hant-TW ... "
                                                  "accepted; default: zh_CN and en).")
    channels: list[Channel] = Field(default_factory=lambda: ["letter"], min_length=1, max_length=2)
    bureau: BureauFields | None = Field(default=None, description="The credit score the decision used (US profiles "
                                                                  "with bureau_data = true).")
    mailing_address: list[Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                                           max_length=MAX_ADDRESS_LINE, pattern=NO_CONTROL)]] | None = Field(
        default=None, min_length=1, max_length=MAX_ADDRESS_LINES,
        description="The recipient's name and postal address, one line each, for the envelope window of the "
                    "printed letter (GET /v1/decisions/{id}/notice.pdf); without it the window stays blank.",
        examples=[["Zhang San", "88 Example Road, Pudong", "Shanghai 200120"]])


class BundleRef(BaseModel):
    model_config = _example({"name": "german-credit-demo", "version": "1.0.0", "sha256": EXAMPLE_HASH})

    name: str
    version: str
    sha256: str


class ReasonOut(BaseModel):
    model_config = _example(EXAMPLE_REASON)

    code: str
    source: Literal["policy", "model"]
    effect: Literal["adverse", "favourable"]
    contribution: float | None = None
    feature: str | None = None
    value: Any = None
    value_kind: str | None = None
    percentile: float | None = Field(default=None, description="Numeric values: % of the background at or below.")
    share: float | None = Field(default=None, description="Categories: % of the background in the same category.")
    actionable: bool = False
    counter_intuitive: bool = Field(default=False, description="The effect contradicts the catalog's declared "
                                                               "direction for this value; worded neutrally.")


class ExcludedOut(BaseModel):
    model_config = _example({"code": "age", "contribution": 0.2217, "would_rank": 2})

    code: str
    contribution: float
    would_rank: int


_EXAMPLE_CHANGE = {"feature": "credit_amount", "kind": "money", "current": 12579, "value": 8100, "direction": "decrease",
                   "cost": 0.04, "months": None}


class ChangeOut(BaseModel):
    """One feature a suggestion moves, from the customer's value to the suggested one."""

    model_config = _example(_EXAMPLE_CHANGE)

    feature: str
    kind: str
    current: Any
    value: Any
    direction: str = Field(description="decrease, increase, or safer (categories, toward the start of their order).")
    cost: float
    months: int | None = Field(default=None, description="For features that change only with time: the wait.")


class SuggestionOut(BaseModel):
    model_config = _example({"changes": [_EXAMPLE_CHANGE], "cost": 0.04, "score": 0.3277})

    changes: list[ChangeOut]
    cost: float
    score: float = Field(description="The model's own score of the account with the changes applied (verified).")


class RecourseOut(BaseModel):
    """What would change the decision: verified suggestions, cheapest first, or a certificate that none exists."""

    model_config = _example(
        {"decision": "limit_decrease", "status": "found", "score": 0.62, "target": 0.4, "higher_is": "risk",
         "method": "tree_cells", "exact": True, "evaluated": 550,
         "suggestions": [{"changes": [_EXAMPLE_CHANGE], "cost": 0.04, "score": 0.3277}],
         "certificate": None}
    )

    decision: str
    status: Literal["found", "infeasible", "target_met", "budget_exhausted", "unverified", "no_actions", "no_target",
                    "time_limit"]
    score: float
    target: float | None
    higher_is: str
    method: str
    exact: bool = Field(description="Every cell of the model's splits was searched (tree ensembles).")
    evaluated: int = Field(description="Candidate changes scored (bounded by the catalog's budget).")
    suggestions: list[SuggestionOut]
    certificate: dict[str, Any] | None = Field(
        default=None, description="When no suggestion: the actions considered and the best score reachable.")
    milp: dict[str, Any] | None = Field(
        default=None, exclude_if=lambda v: v is None, description="More than two changes (catalog max_changes > 2): how the MILP ran (solver, "
                                  "time limit in seconds, solves, whether its answer is proven).")


class ExplanationResponse(BaseModel):
    model_config = _example(
        {"bundle": {"name": "german-credit-demo", "version": "1.0.0", "sha256": EXAMPLE_HASH},
         "decision": "limit_decrease", "score": 0.31, "margin": -0.8, "base_value": -1.95,
         "method": "tree_shap:interventional", "reasons": [EXAMPLE_REASON],
         "excluded": [{"code": "age", "contribution": 0.2217, "would_rank": 2}],
         "group_contributions": {"loan_term": 0.4121, "age": 0.2217}}
    )

    bundle: BundleRef
    decision: Decision
    score: float = Field(description="In the model's natural space (probability of default for the demo).")
    margin: float = Field(description="Model margin (log-odds): base_value + sum of group_contributions.")
    base_value: float
    method: str
    reasons: list[ReasonOut]
    excluded: list[ExcludedOut] = Field(description="Protected groups that would have qualified; never given.")
    group_contributions: dict[str, float]
    recourse: RecourseOut | None = Field(default=None, description="Adverse decisions: what would change it.")


class NoticeOut(BaseModel):
    model_config = _example(
        {"locale": "en", "channels": ["letter"], "subject": "Your credit limit is changing",
         "text": "Dear customer, ...", "html": "<html lang=\"en\">...</html>",
         "short": "Your limit on 6222-0001 will change to CNY 8,000.00 ...", "reference": "LE-7F3A9C21",
         "template_version": EXAMPLE_HASH, "sha256": EXAMPLE_HASH}
    )

    locale: str
    channels: list[str]
    subject: str
    text: str
    html: str
    short: str
    reference: str
    template_version: str
    sha256: str


class DecisionResponse(ExplanationResponse):
    model_config = _example(
        {"decision_id": EXAMPLE_ID, "seq": 42, "created_at": "2026-11-29T12:00:00.000000+00:00",
         "account_ref": "6222-0001", "record_hash": EXAMPLE_HASH,
         **ExplanationResponse.model_config["json_schema_extra"]["examples"][0],
         "notices": [NoticeOut.model_config["json_schema_extra"]["examples"][0]]}
    )

    decision_id: str
    seq: int
    created_at: str
    account_ref: str
    record_hash: str
    notices: list[NoticeOut]


class ReaderReason(BaseModel):
    model_config = _example(
        {"code": "loan_term", "source": "model", "effect": "adverse", "label": "Loan term",
         "text": "The length of your loan, 36 months, counted against you.",
         "advice": "Choosing a shorter term for new loans will help."}
    )

    code: str
    source: str
    effect: str
    label: str
    text: str
    advice: str | None = None


class ReaderView(BaseModel):
    model_config = _example({"locale": "en", "reasons": [ReaderReason.model_config["json_schema_extra"]["examples"][0]]})

    locale: str
    reasons: list[ReaderReason]


class IssuerOut(BaseModel):
    """The API key that issued a decision: its id and name, never the key."""

    model_config = _example({"key_id": "3f9c0a7b21d4e856", "name": "lender-x"})

    key_id: str
    name: str | None = None


class StoredDecision(BaseModel):
    """A decision as the audit trail holds it; ``reader`` phrases its reasons in the reader's language."""

    model_config = _example(
        {"decision_id": EXAMPLE_ID, "seq": 42, "created_at": "2026-11-29T12:00:00.000000+00:00",
         "account_ref": "6222-0001", "decision": "limit_decrease",
         "inputs": {"features": EXAMPLE_FEATURES, "old_limit": 20000, "new_limit": 8000, "currency": "CNY"},
         "bundle": {"name": "german-credit-demo", "version": "1.0.0", "sha256": EXAMPLE_HASH},
         "catalog_sha256": EXAMPLE_HASH, "template_sha256": EXAMPLE_HASH, "background_sha256": EXAMPLE_HASH,
         "method": "tree_shap:interventional", "score": 0.31, "margin": -0.8, "base_value": -1.95,
         "group_contributions": {"loan_term": 0.4121}, "reasons": [EXAMPLE_REASON], "excluded": [],
         "notices": [], "notice_hashes": {"en": EXAMPLE_HASH}, "prev_hash": EXAMPLE_HASH, "record_hash": EXAMPLE_HASH,
         "issuer": {"key_id": "3f9c0a7b21d4e856", "name": "lender-x"},
         "reader": ReaderView.model_config["json_schema_extra"]["examples"][0]}
    )

    decision_id: str
    seq: int
    created_at: str
    account_ref: str
    decision: str
    inputs: dict[str, Any]
    bundle: BundleRef
    catalog_sha256: str
    template_sha256: str
    background_sha256: str
    method: str
    score: float
    margin: float
    base_value: float
    group_contributions: dict[str, float]
    reasons: list[ReasonOut]
    excluded: list[ExcludedOut]
    notices: list[NoticeOut]
    notice_hashes: dict[str, str]
    prev_hash: str
    record_hash: str
    issuer: IssuerOut | None = Field(default=None, description="The key that issued it (records written before migration 0002 have none).")
    reader: ReaderView | None = None
    recourse: RecourseOut | None = Field(default=None, description="What would change it, as recorded (adverse decisions).")
    held: bool = Field(default=False, description="The change is held: a human review is open and the lender's "
                                                 "profile holds decreases and closures meanwhile.")
    review: dict[str, Any] | None = Field(default=None, description="The open review, if any: id, state, due date.")


class AccountDecisions(BaseModel):
    model_config = _example({"account_ref": "6222-0001", "decisions": [StoredDecision.model_config["json_schema_extra"]["examples"][0]]})

    account_ref: str
    decisions: list[StoredDecision]


class ReasonGroupOut(BaseModel):
    model_config = _example({"code": "loan_term", "label": "Loan term", "features": ["duration_in_month"],
                             "protected": False, "actionable": True, "direction": "higher_is_riskier"})

    code: str
    label: str
    features: list[str]
    protected: bool
    actionable: bool
    direction: str


class CatalogOut(BaseModel):
    model_config = _example({"name": "german-credit-demo", "version": "2026.11", "sha256": EXAMPLE_HASH})

    name: str
    version: str
    sha256: str


class BundleOut(BaseModel):
    model_config = _example(
        {"name": "german-credit-demo", "version": "1.0.0", "sha256": EXAMPLE_HASH, "higher_is": "risk",
         "method": "tree_shap", "mode": "interventional", "background_rows": 200, "background_sha256": EXAMPLE_HASH,
         "files": {"model.skops": EXAMPLE_HASH},
         "catalog": CatalogOut.model_config["json_schema_extra"]["examples"][0],
         "groups": [ReasonGroupOut.model_config["json_schema_extra"]["examples"][0]],
         "policy_reasons": ["overdue_repayment"]}
    )

    name: str
    version: str
    sha256: str
    higher_is: str
    method: str
    mode: str | None = None
    background_rows: int
    background_sha256: str
    files: dict[str, str]
    catalog: CatalogOut
    groups: list[ReasonGroupOut]
    policy_reasons: list[str]


class BundleList(BaseModel):
    model_config = _example({"bundles": [BundleOut.model_config["json_schema_extra"]["examples"][0]]})

    bundles: list[BundleOut]


class VerifyResponse(BaseModel):
    model_config = _example({"ok": False, "checked": 41, "head_seq": 41, "head_hash": EXAMPLE_HASH, "first_bad_seq": 42,
                             "first_bad_decision_id": EXAMPLE_ID, "problem": "record_hash does not match the record content"})

    ok: bool
    checked: int
    head_seq: int | None = None
    head_hash: str | None = None
    first_bad_seq: int | None = None
    first_bad_decision_id: str | None = None
    problem: str | None = None


class NoticeReplay(BaseModel):
    model_config = _example({"identical": True, "sha256": EXAMPLE_HASH, "stored_sha256": EXAMPLE_HASH})

    identical: bool
    sha256: str
    stored_sha256: str | None = None
    pdf_identical: bool | None = Field(default=None, description="With ?pdf=true: the letter printed from the "
                                       "recomputed notice is byte for byte the one printed from the stored notice.")
    pdf_sha256: str | None = Field(default=None, description="With ?pdf=true: sha256 of the letter printed from the "
                                   "stored record (GET notice.pdf, default paper), to compare with a letter sent.")


class ReplayResponse(BaseModel):
    model_config = _example(
        {"decision_id": EXAMPLE_ID, "replayed": True, "identical": True, "reasons_identical": True,
         "notices_identical": True, "checks": {"score": True, "reasons": True, "excluded": True},
         "notices": {"en": NoticeReplay.model_config["json_schema_extra"]["examples"][0]}}
    )

    decision_id: str
    replayed: bool
    identical: bool
    reasons_identical: bool | None = None
    notices_identical: bool | None = None
    checks: dict[str, bool] = Field(default_factory=dict)
    notices: dict[str, NoticeReplay] = Field(default_factory=dict)
    problem: str | None = None


class Health(BaseModel):
    model_config = _example({"status": "ok"})

    status: str


class Readiness(BaseModel):
    model_config = _example({"status": "ready", "database": True, "bundles": ["german-credit-demo"],
                             "catalogs": ["zh_CN", "en"]})

    status: str
    database: bool
    bundles: list[str]
    catalogs: list[str] = Field(description="Locales whose compiled message catalog is loaded.")


class ProblemDetails(BaseModel):
    """RFC 9457 problem details: every error has this shape."""

    model_config = _example(
        {"type": "urn:limit-explain:problem:invalid-request", "title": "Invalid request", "status": 422,
         "detail": "The request has invalid fields: features.duration_in_month.", "instance": "/v1/decisions",
         "errors": [{"field": "features.duration_in_month", "message": "Input should be a valid number",
                     "expected": "a number"}]},
        extra="allow",
    )

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[dict[str, Any]] | None = None
