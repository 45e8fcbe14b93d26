"""Lender-supplied wording is data, never a template: template syntax in a catalog's phrases and in the
lender profile (name, contacts, jurisdiction wording) renders as written in every notice part, both
locales, both channels.

The catalog's phrases are gettext message ids, so the hostile phrases get real translations here: the
project's own catalogs plus one entry per changed phrase, compiled with Babel into a temporary folder.
"""

from __future__ import annotations

import datetime as dt
import tomllib

import onethread
import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

import explain._locales as locales
from explain import FeatureCatalog, LenderProfile, render_notice
from explain._notices import DEMO_CATALOG_PATH

single_thread = pytest.fixture(scope="module", autouse=True)(onethread.one_thread)

HOSTILE = "{{ 7*7 }} {% if true %}yes{% endif %} {value.__class__} ${7*7} {0} %s <i>"
LABEL = "{{7*7}}{%x%}"  # short: labels go into the one-SMS short form, which refuses what does not fit
ZH = "原因"


def _hostile_catalog() -> tuple[FeatureCatalog, dict[tuple[str, str], str]]:
    """The demo catalog with template syntax in every group's label and phrases; the changed msgids."""
    data = tomllib.loads(DEMO_CATALOG_PATH.read_text(encoding="utf-8"))
    changed = {}
    for table in ("groups", "policy"):
        for code, entry in data.get(table, {}).items():
            for field in ("label", "adverse", "favourable", "advice"):
                if entry.get(field):
                    keep_value = " {value}" if "{value}" in entry[field] else ""
                    entry[field] = f"{LABEL}{code[:3]}" if field == "label" else f"{HOSTILE}{keep_value} ({code})"
                    changed[(f"{table}:{code}:{field}", entry[field])] = entry[field]
    for key in ("jurisdiction", "escalation"):
        changed[(f"profile:wording:{key}", f"{HOSTILE} ({key})")] = f"{HOSTILE} ({key})"
    return FeatureCatalog.from_dict(data), changed


def _hostile_profile() -> LenderProfile:
    return LenderProfile(name="{{7*7}} Bank", names={"zh_CN": "{{7*7}}银行"}, phone="{value.__class__}",
                         email="{% if 1 %}x@y{% endif %}", url="https://example.com/{{7*7}}", short_url="e.com/{0}",
                         wording={key: f"{HOSTILE} ({key})" for key in ("jurisdiction", "escalation")})


@pytest.fixture(scope="module")
def hostile_catalog(tmp_path_factory):
    catalog, changed = _hostile_catalog()
    root = tmp_path_factory.mktemp("hostile-locales")
    for locale in locales.SUPPORTED_LOCALES:
        with (locales.LOCALES_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as fp:
            po = read_po(fp, locale=locale)
        for (context, msgid), text in changed.items():
            zh = f"{ZH}：{text}" if not context.endswith(":label") else text
            po.add(msgid, zh if locale == "zh_CN" else text, context=context)
        target = root / locale / "LC_MESSAGES"
        target.mkdir(parents=True)
        with (target / "messages.mo").open("wb") as fp:
            write_mo(fp, po)
    patch = pytest.MonkeyPatch()
    patch.setattr(locales, "catalog_path", lambda locale, _dir=None: root / locale / "LC_MESSAGES" / "messages.mo")
    locales.get_translations.cache_clear()
    yield catalog
    patch.undo()
    locales.get_translations.cache_clear()


@pytest.mark.parametrize("decision", ["limit_decrease", "limit_increase", "account_closure", "increase_declined"])
def test_template_syntax_in_catalog_phrases_and_profile_is_printed_literally(bundle, hostile_catalog, decision) -> None:
    explainer = bundle.explainer()
    limits = {"limit_decrease": (20000, 8000), "account_closure": (20000, 0), "limit_increase": (20000, 30000),
              "increase_declined": (20000, 30000)}[decision]
    policy = () if decision == "limit_increase" else ("overdue_repayment",)
    accounts = 0
    for result in explainer.reasons(bundle.background.iloc[:12], decision=decision, policy_reasons=policy):
        if not result.reasons or accounts == 2:
            continue
        accounts += 1
        for locale in locales.SUPPORTED_LOCALES:
            for channel in ("letter", "short"):
                notice = render_notice(decision, result, locale=locale, channel=channel, catalog=hostile_catalog,
                                       profile=_hostile_profile(),
                                       old_limit=limits[0], new_limit=limits[1], account_ref="{{ 7*7 }}",
                                       notice_date=dt.date(2026, 12, 1))
                parts = {"subject": notice.subject, "text": notice.text, "html": notice.html, "short": notice.short}
                for name, part in parts.items():
                    assert "49" not in part and "<class" not in part, (name, part)
                assert "{{ 7*7 }} {% if true %}yes{% endif %} {value.__class__} ${7*7} {0} %s" in notice.text
                assert "<i>" not in notice.html and "&lt;i&gt;" in notice.html
                assert "{value.__class__}" in notice.text and "{% if 1 %}x@y{% endif %}" in notice.text
                assert f"{HOSTILE} (escalation)" in notice.text and "{{7*7}}" in notice.subject + notice.text
                if channel == "short":
                    assert "{{7*7}}{%x%}" in notice.short
    assert accounts == 2
