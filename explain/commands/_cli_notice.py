"""The ``explain notice`` command, and the notices ``explain demo`` prints.

``explain.cli`` calls :func:`register` to add the command; keeping it beside the notices code means the
CLI module does not grow with every layer. Bad input ends with a one-line message naming the option and
exit status 2, never a traceback.

Try any decision kind in one line::

    explain notice --bundle demo --account 1 --decision limit_decrease --old-limit 20000 --new-limit 8000 --locale zh_CN
"""

from __future__ import annotations

import datetime as _dt
import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.panel import Panel

from explain._exceptions import (
    ExplainError,
    NoticeInputError,
    UnknownDecisionError,
    UnknownReasonError,
    UnsupportedLocaleError,
)
from explain.commands._cli_common import fail, load_bundle

if TYPE_CHECKING:
    from explain.notices._notices import Notice

__all__ = ["DEMO_CASES", "DEMO_NOTICE_DATE", "DemoCase", "print_demo_notices", "register", "render_demo_notice"]

_DECISIONS = "limit_increase, limit_decrease, account_closure, increase_declined, increases_suspended"
_FORMATS = ("text", "html", "json", "pdf")


@dataclass(frozen=True)
class DemoCase:
    """One demo account and what the lender decided for it: the inputs of ``explain demo`` and the goldens."""

    decision: str
    account: int
    old_limit: int
    new_limit: int
    policy_reasons: tuple[str, ...] = ()
    review_date: _dt.date | None = None  # increases_suspended: when the lender looks again


#: The notice date of every demo notice, fixed so ``explain demo`` prints the same letters every day.
DEMO_NOTICE_DATE = _dt.date(2026, 12, 1)
#: One case per decision kind: demo accounts whose reasons show the kind well and, between them, every
#: value kind (category, money, months, count) and a policy reason.
DEMO_CASES: tuple[DemoCase, ...] = (
    DemoCase("limit_decrease", 77, 20000, 8000),
    DemoCase("limit_increase", 109, 20000, 30000),
    DemoCase("account_closure", 17, 20000, 0, ("overdue_repayment",)),
    DemoCase("increase_declined", 29, 20000, 30000),
    # 关闭提额 as the article tells it: increases stopped after unusual activity, the limit kept, a date to look again.
    DemoCase("increases_suspended", 44, 20000, 20000, ("unusual_account_activity",),
             _dt.date(2027, 6, 1)),
)


def _option_for(exc: ExplainError) -> str:
    """The command-line option an error is about, so the message names what the user typed."""
    if isinstance(exc, UnsupportedLocaleError):
        return "--locale"
    if isinstance(exc, UnknownDecisionError):
        return "--decision"
    if isinstance(exc, UnknownReasonError):
        return "--policy-reason"
    if isinstance(exc, NoticeInputError):
        field = exc.field.split()[0]
        if field in ("old_limit", "new_limit", "effective_date", "notice_date", "review_date", "account_ref", "currency",
                     "channel"):
            return "--" + field.replace("_", "-")
        if field == "profile":
            return "--profile"
        if field.startswith("bureau"):
            return "--bureau"
    return ""


def render_demo_notice(bundle: Any, case: DemoCase, *, locale: str, channel: str = "letter") -> Notice:
    """The notice of one :data:`DEMO_CASES` entry, from the demo data and ``bundle``'s explainer."""
    from explain import demo_data
    from explain.notices._notices import render_notice

    X = demo_data().iloc[[case.account]]
    reasons = bundle.explainer().reasons(X, decision=case.decision, policy_reasons=case.policy_reasons)[0]
    return render_notice(
        case.decision,
        reasons,
        locale=locale,
        channel=channel,
        catalog=bundle.catalog,
        profile=bundle.profile,
        old_limit=case.old_limit,
        new_limit=case.new_limit,
        account_ref=f"{case.account:06d}",
        notice_date=DEMO_NOTICE_DATE,
        review_date=case.review_date,
    )


def print_demo_notices(console: Console, bundle: Any) -> None:
    """Print the letter and the short message of every decision kind, in Chinese and in English."""
    for case in DEMO_CASES:
        for locale in ("zh_CN", "en"):
            notice = render_demo_notice(bundle, case, locale=locale)
            title = f"{case.decision} · account {case.account} · {locale}"
            console.print(Panel(f"[bold]{notice.subject}[/]\n\n{notice.text.rstrip()}", title=title,
                                title_align="left", highlight=False), markup=True, highlight=False)
            console.print(Panel(notice.short, title=f"{title} · short ({len(notice.short)} characters)",
                                title_align="left", highlight=False), highlight=False)


def _bureau(text: str | None) -> dict[str, Any] | None:
    """``--bureau``: the decision's bureau fields as one JSON object (checked by the notice)."""
    if text is None:
        return None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise fail(f"--bureau must be a JSON object with bureau_score, range, date and key_factors ({exc})") from None
    if not isinstance(data, dict):
        raise fail("--bureau must be a JSON object with bureau_score, range, date and key_factors")
    return data


def _decimal(text: str, option: str) -> Decimal:
    try:
        value = Decimal(text.replace(",", "").replace("_", ""))
    except InvalidOperation:
        raise fail(f"{option} must be an amount such as 20000 or 8000.50, got {text!r}") from None
    if not value.is_finite():
        raise fail(f"{option} must be a finite amount, got {text!r}")
    return value


def _date(text: str | None, option: str) -> _dt.date | None:
    if text is None:
        return None
    try:
        return _dt.date.fromisoformat(text)
    except ValueError:
        raise fail(f"{option} must be a date as YYYY-MM-DD, got {text!r}") from None


def _account_frame(bundle_spec: str, input: Path | None, account: int | None) -> tuple[Any, str]:
    """The one account to explain, and the account reference shown by default."""
    import pandas as pd

    if (input is None) == (account is None):
        raise fail("give exactly one of --input (an account's features as JSON) and --account (a demo row)")
    if account is not None:
        if bundle_spec != "demo":
            raise fail("--account takes a row of the demo data, so it needs --bundle demo; use --input otherwise")
        from explain import demo_data

        data = demo_data()
        if not 0 <= account < len(data):
            raise fail(f"--account must be from 0 to {len(data) - 1}, got {account}")
        return data.iloc[[account]].reset_index(drop=True), f"{account:06d}"
    assert input is not None
    if not input.is_file():
        raise fail(f"--input {str(input)!r} does not exist")
    try:
        data = json.loads(input.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise fail(f"--input {str(input)!r} is not valid JSON ({exc})") from None
    if not isinstance(data, dict) or not data:
        raise fail(f"--input {str(input)!r} must hold one JSON object: one account's raw features by name")
    return pd.DataFrame([data]), input.stem


def notice(
    bundle: Annotated[str, typer.Option("--bundle", help="A bundle folder, or 'demo' for the built-in one.")],
    decision: Annotated[str, typer.Option("--decision", help=f"One of: {_DECISIONS}.")],
    old_limit: Annotated[str, typer.Option("--old-limit", help="The limit before the decision.")],
    new_limit: Annotated[str, typer.Option(
        "--new-limit", help="The limit after it (the requested limit for increase_declined; 0 for a closure; "
                            "for increases_suspended the old limit to keep it, a lower one to lower it too).")],
    locale: Annotated[str, typer.Option("--locale", help="zh_CN, en, zh_HK or zh_TW (zh-CN, zh, zh-Hans, en-US, zh-HK, zh-Hant-HK, zh-TW, zh-Hant-TW also accepted).")],
    input: Annotated[Path | None, typer.Option("--input", help="One account's raw features as a JSON object.")] = None,
    account: Annotated[int | None, typer.Option(
        "--account", help="Row N of the demo data (with --bundle demo).")] = None,
    channel: Annotated[str, typer.Option("--channel", help="letter or short.")] = "letter",
    format: Annotated[str, typer.Option("--format", help="text, html, json or pdf (the printed letter; needs --out "
                                                          "and the 'pdf' extra).")] = "text",
    out: Annotated[Path | None, typer.Option("--out", help="Write the notice to this file (required for pdf).")] = None,
    paper: Annotated[str | None, typer.Option(
        "--paper", help="pdf: a4 or letter (default: the lender's jurisdiction's, US Letter in the US, else A4).")] = None,
    mailing_address: Annotated[list[str], typer.Option(
        "--mailing-address", help="pdf: one line of the recipient's address for the envelope window (name first); "
                                  "repeatable, up to 6 lines.")] = [],  # noqa: B006
    policy_reason: Annotated[list[str], typer.Option(
        "--policy-reason", help="A policy reason code; repeatable.")] = [],  # noqa: B006
    account_ref: Annotated[str | None, typer.Option(
        "--account-ref", help="The account as the customer knows it (default: the row or file name).")] = None,
    currency: Annotated[str | None, typer.Option(
        "--currency", help="ISO 4217 code of the limits (default: the profile's [lender] currency, CNY unless set).")] = None,
    notice_date: Annotated[str | None, typer.Option("--notice-date", help="YYYY-MM-DD (default: today).")] = None,
    effective_date: Annotated[str | None, typer.Option(
        "--effective-date", help="YYYY-MM-DD (default: after the profile's notice period).")] = None,
    review_date: Annotated[str | None, typer.Option(
        "--review-date", help="increases_suspended only: YYYY-MM-DD after which the lender looks again.")] = None,
    profile: Annotated[Path | None, typer.Option(
        "--profile", help="A lender profile TOML with translations/ beside it (default: the bundle's).")] = None,
    bureau: Annotated[str | None, typer.Option(
        "--bureau", help="The credit score the decision used, as JSON: {\"bureau_score\": 612, \"range\": [300, 850], "
                         "\"date\": \"2026-11-20\", \"key_factors\": [...]} (required when the profile says "
                         "bureau_data = true).")] = None,
) -> None:
    """Write the notice a customer reads about a limit decision, in Chinese or English."""
    from explain.notices._locales import negotiate
    from explain.notices._notices import CHANNELS, render_notice
    from explain.notices._profile import LenderProfile
    from explain.reasons._reasons import Decision

    if format not in _FORMATS:
        raise fail(f"--format must be one of {', '.join(_FORMATS)}, got {format!r}")
    if channel not in CHANNELS:
        raise fail(f"--channel must be one of {', '.join(CHANNELS)}, got {channel!r}")
    if format in ("html", "pdf") and channel != "letter":
        raise fail(f"--format {format} needs --channel letter: a short message is plain text")
    sheet, address = _print_options(format, out, paper, mailing_address)
    try:
        kind = Decision.parse(decision)
        negotiate(locale)
        old, new = _decimal(old_limit, "--old-limit"), _decimal(new_limit, "--new-limit")
        # today when not given, fixed here once: the letter and its PDF's date are the same day
        issued = _date(notice_date, "--notice-date") or _dt.date.today()
        effective = _date(effective_date, "--effective-date")
        review = _date(review_date, "--review-date")
        lender = LenderProfile.from_toml(profile) if profile is not None else None
        score = _bureau(bureau)
        X, default_ref = _account_frame(bundle, input, account)
        loaded = load_bundle(bundle)
        reasons = loaded.explainer().reasons(X, decision=kind, policy_reasons=tuple(policy_reason))[0]
        if kind.is_adverse and not reasons.reasons:
            raise fail(f"the model found no material reason for a {kind.value} of this account; "
                        "a customer must be told why, so give one with --policy-reason")
        result = render_notice(
            kind, reasons, locale=locale, channel=channel, profile=lender or loaded.profile, catalog=loaded.catalog,
            old_limit=old, new_limit=new, account_ref=account_ref or default_ref, currency=currency,
            notice_date=issued, effective_date=effective, bureau=score, review_date=review,
        )
        if format == "pdf":
            from explain.printing import letter_pdf

            assert out is not None
            pdf = letter_pdf(result, profile=lender or loaded.profile, notice_date=issued,
                             paper=sheet, mailing_address=address)
    except ExplainError as exc:
        option = _option_for(exc)
        raise fail(f"{option}: {exc}" if option else str(exc)) from None
    if format == "pdf":
        _write(out, pdf)
        return
    if format == "json":
        text = result.to_json() + "\n"
    elif format == "html":
        text = result.html
    elif channel == "short":
        text = result.short + "\n"
    else:
        text = f"{result.subject}\n\n{result.text}"
    if out is not None:
        _write(out, text.encode("utf-8"))
    else:
        typer.echo(text, nl=False)


def _print_options(format: str, out: Path | None, paper: str | None, lines: list[str]) -> tuple[Any, Any]:
    """``--paper`` and ``--mailing-address``, checked before any work: they belong to ``--format pdf`` only."""
    if format != "pdf":
        for option, given in (("--paper", paper is not None), ("--mailing-address", bool(lines))):
            if given:
                raise fail(f"{option} is for the printed letter: use it with --format pdf")
        return None, None
    if out is None:
        raise fail("--format pdf needs --out FILE: a PDF is not written to a terminal")
    from explain.printing import check_mailing_address, parse_paper

    try:
        sheet = parse_paper(paper, field="--paper") if paper is not None else None
        address = check_mailing_address(lines or None, field="--mailing-address")
    except ExplainError as exc:
        raise fail(str(exc)) from None
    return sheet, address


def _write(out: Path | None, data: bytes) -> None:
    """The notice into ``--out``, through a temporary name so a reader never sees half a file."""
    assert out is not None
    tmp = out.with_name(out.name + ".tmp")
    try:
        tmp.write_bytes(data)
        tmp.replace(out)
    except OSError as exc:
        raise fail(f"--out {str(out)!r} cannot be written ({exc.strerror or exc})") from None


def register(app: typer.Typer) -> None:
    """Add the ``notice`` command to ``app``."""
    app.command("notice")(notice)
