"""The governance report as HTML: one self-contained page, or a section of the compliance report.

Drawn with the compliance report's own pieces: its Jinja2 environment per locale (strict gettext: no English
slips into a Chinese page), its inline-SVG bar charts, its number formats. Nothing is loaded from outside.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from babel.dates import format_datetime
from markupsafe import Markup

from explain.audit._charts import Bar, bar_chart
from explain.audit._html_env import html_environment, page_gettext
from explain.notices._locales import negotiate, page_lang

__all__ = ["governance_context", "render_governance"]


def governance_context(report: Any, *, locale: str, label: Callable[[str], str], kind_name: Callable[[str], str],
                       number: Callable[..., str]) -> dict[str, Any]:
    """What ``_governance_section.html`` needs besides the page's helpers: the figures and their charts."""
    gettext = functools.partial(page_gettext, locale)
    figures = report.to_dict()
    diff = figures["diff"]
    mix = {}
    for kind, counts in diff["by_kind"].items():
        codes = sorted(set(counts["mix_old"]) | set(counts["mix_new"]),
                       key=lambda c: (-counts["mix_new"].get(c, 0), -counts["mix_old"].get(c, 0), c))
        bars = []
        for code in codes:
            before, after = counts["mix_old"].get(code, 0), counts["mix_new"].get(code, 0)
            bars.append(Bar(gettext("%(group)s, before", group=label(code)), before, number(before)))
            bars.append(Bar(gettext("%(group)s, after", group=label(code)), after, number(after), highlight=True))
        mix[kind] = Markup(bar_chart(bars, title=gettext("Reason mix before and after: %(kind)s", kind=kind_name(kind)),
                                     description=gettext("How often each reason is given by the old and the new model."),
                                     chart_id=f"g-mix-{kind}"))
    groups = {g["group"]: g for g in diff["groups"]}
    drivers = Markup(bar_chart(
        [Bar(label(code), groups[code]["added"] + groups[code]["dropped"] + groups[code]["moved"],
             number(groups[code]["added"] + groups[code]["dropped"] + groups[code]["moved"]), highlight=i == 0)
         for i, code in enumerate(diff["drivers"])],
        title=gettext("Reason groups that drive the change"),
        description=gettext("Accounts where the group was added, dropped or moved among the principal reasons."),
        chart_id="g-drivers"))

    def metric_name(metric: str) -> str:
        kind, _, code = metric.partition(":")
        if kind == "reason_share":
            return gettext("Share given “%(group)s” as a reason", group=label(code))
        if kind == "mean_contribution":
            return gettext("Mean contribution of “%(group)s”", group=label(code))
        return gettext("Share given a counter-intuitive reason")

    return {"g": figures, "g_charts": {"mix": mix, "drivers": drivers}, "metric_name": metric_name}


def render_governance(report: Any, *, locale: str, catalog: Any = None, generated_at: Any = None) -> str:
    """``report`` (a :class:`~explain.governance.GovernanceReport`) as one HTML page in ``locale``; group labels
    come from ``catalog`` (the new bundle's)."""
    from explain.audit._report import TEMPLATES_DIR, page_formatters

    locale = negotiate(locale)
    env = html_environment(TEMPLATES_DIR, locale)
    number, percent, kind_name, label = page_formatters(locale, catalog)

    context = governance_context(report, locale=locale, label=label, kind_name=kind_name, number=number)
    return env.get_template("governance.html").render(
        locale=locale, lang=page_lang(locale), number=number, percent=percent,
        kind_name=kind_name, label=label, **context,
        generated=format_datetime(generated_at, format="medium", locale=locale, tzinfo=None) if generated_at else None,
    )
