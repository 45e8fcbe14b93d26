"""Lender-supplied wording is data, never a template: template syntax in a catalog's phrases and in the
lender profile (name, contacts, jurisdiction wording) renders as written in every notice part, both
locales, both channels.

The hostile phrases live in a lender folder of the test's own, with real translations in its
``translations/<locale>.po`` (made the way a lender makes them), exactly as a lender's bundle carries them.
"""

from __future__ import annotations

import datetime as dt
import tomllib

import onethread
import pytest
import tomli_w
from lender_support import make_lender

from explain import FeatureCatalog, LenderProfile, render_notice
from explain.notices._notices import DEMO_CATALOG_PATH
from explain.notices._profile import DEMO_PROFILE_PATH

single_thread = pytest.fixture(scope="module", autouse=True)(onethread.one_thread)

HOSTILE = "{{ 7*7 }} {% if true %}yes{% endif %} {value.__class__} ${7*7} {0} %s <i>"
LABEL = "{{7*7}}{%x%}"  # short: labels go into the one-SMS short form, which refuses what does not fit
ZH = "原因"


def _hostile_catalog() -> dict:
    """The demo catalog with template syntax in every group's and policy reason's label and phrases."""
    data = tomllib.loads(DEMO_CATALOG_PATH.read_text(encoding="utf-8"))
    for table in ("groups", "policy"):
        for code, entry in data.get(table, {}).items():
            for field in ("label", "adverse", "favourable", "advice"):
                if entry.get(field):
                    keep_value = " {value}" if "{value}" in entry[field] else ""
                    entry[field] = f"{LABEL}{code[:3]}" if field == "label" else f"{HOSTILE}{keep_value} ({code})"
    for spec in data["features"].values():  # the group's hostile phrases are the ones shown
        for field in ("adverse", "favourable", "advice", "advice_when"):
            spec.pop(field, None)
    for group in data["groups"].values():
        group.pop("advice_when", None)
    return data


def _hostile_profile() -> dict:
    data = tomllib.loads(DEMO_PROFILE_PATH.read_text(encoding="utf-8"))
    data["lender"].update(name="{{7*7}} Bank", names={"zh_CN": "{{7*7}}银行"})
    data["lender"].pop("short_name", None)
    data["contact"].update(phone="{0}1", email="{% if 1 %}x@y{% endif %}",
                           url="https://example.com/{{7*7}}", short_url="e.com/{0}")
    data["wording"] = {key: f"{HOSTILE} ({key})" for key in ("jurisdiction", "escalation")}
    return data


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    folder = make_lender(tmp_path_factory.mktemp("hostile") / "lender", tomli_w.dumps(_hostile_catalog()),
                         profile_text=tomli_w.dumps(_hostile_profile()),
                         zh=lambda msgid: msgid if msgid.startswith(LABEL) else f"{ZH}：{msgid}" if set(msgid) & set("{%$<")
                         else "某种情况")  # plain category phrases short: the one-SMS form keeps the reason
    return FeatureCatalog.from_toml(folder / "catalog.toml"), LenderProfile.from_toml(folder / "profile.toml")


@pytest.mark.parametrize("decision", ["limit_decrease", "limit_increase", "account_closure", "increase_declined",
                                      "increases_suspended"])
def test_template_syntax_in_catalog_phrases_and_profile_is_printed_literally(bundle, hostile, decision) -> None:
    hostile_catalog, hostile_profile = hostile
    explainer = bundle.explainer()
    limits = {"limit_decrease": (20000, 8000), "account_closure": (20000, 0), "limit_increase": (20000, 30000),
              "increase_declined": (20000, 30000), "increases_suspended": (20000, 12000)}[decision]
    policy = () if decision == "limit_increase" else ("overdue_repayment",)
    accounts = 0
    for result in explainer.reasons(bundle.background.iloc[:12], decision=decision, policy_reasons=policy):
        if not result.reasons or accounts == 2:
            continue
        accounts += 1
        for locale in ("zh_CN", "en"):  # the hostile lender's languages (zh_HK/zh_TW take the same path)
            for channel in ("letter", "short"):
                notice = render_notice(decision, result, locale=locale, channel=channel, catalog=hostile_catalog,
                                       profile=hostile_profile,
                                       old_limit=limits[0], new_limit=limits[1], account_ref="{{ 7*7 }}",
                                       notice_date=dt.date(2026, 12, 1))
                parts = {"subject": notice.subject, "text": notice.text, "html": notice.html, "short": notice.short}
                for name, part in parts.items():
                    part = part.replace(notice.reference, "")  # a hash of the inputs: any digits by chance
                    assert "49" not in part and "<class" not in part, (name, part)
                assert "{{ 7*7 }} {% if true %}yes{% endif %} {value.__class__} ${7*7} {0} %s" in notice.text
                assert "<i>" not in notice.html and "&lt;i&gt;" in notice.html
                assert "{value.__class__}" in notice.text and "{% if 1 %}x@y{% endif %}" in notice.text
                assert f"{HOSTILE} (escalation)" in notice.text and "{{7*7}}" in notice.subject + notice.text
                if channel == "short":  # the reason always, under the registered signature
                    assert "{{7*7}}" in notice.short or "{{ 7*7 }}" in notice.short, notice.short
                    assert "49" not in notice.short
    assert accounts == 2
