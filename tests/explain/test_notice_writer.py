"""The batch's notice writer: skeletons filled with values must be byte for byte what render_notice writes."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

import jinja2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from explain import Reason, render_notice
from explain.notices._skeletons import NoticeWriter, _marker, _probe, _skeleton, _slotted

LIMITS = {"limit_decrease": (20000, 8000), "limit_increase": (20000, 30000),
          "account_closure": (20000, 0), "increase_declined": (20000, 30000)}


def _cases(bundle, german, n: int):
    """(decision, reasons, arguments) for ``n`` German Credit accounts under every decision kind and locale."""
    X, _ = german
    explainer = bundle.explainer()
    accounts = X.iloc[:n]
    for kind, (old, new) in LIMITS.items():
        policy = ("overdue_repayment",) if kind == "account_closure" else ()
        for i, chosen in enumerate(explainer.reasons(accounts, decision=kind, policy_reasons=policy)):
            if kind != "limit_increase" and not chosen.reasons:
                continue
            for locale in ("zh_CN", "en"):
                yield kind, chosen, dict(locale=locale, profile=bundle.profile, catalog=bundle.catalog,
                                         old_limit=old + 10 * i, new_limit=0 if new == 0 else new + 7 * i,
                                         account_ref=f"6222-{i:04d}", notice_date=dt.date(2026, 11, 2))


def test_writer_matches_render_notice_on_real_accounts(bundle, german) -> None:
    writer = NoticeWriter()
    cases = list(_cases(bundle, german, 120))
    assert len(cases) > 600
    for kind, chosen, arguments in cases:
        assert writer.render(kind, chosen, **arguments) == render_notice(kind, chosen, **arguments)
    # Every notice came from a skeleton (none needed Jinja), and shapes are far fewer than notices.
    assert writer.rendered == 0
    assert writer.filled >= 4 * len(cases)
    assert writer.skeletons < writer.filled // 4
    assert all(s is not None for shapes in writer._shapes.values() for _, table in shapes for s in table.values())


def test_values_that_need_escaping_are_escaped_once_in_html(bundle, german) -> None:
    """``&``, ``<`` and quotes are plain (slotted) values: the HTML letter escapes them exactly once."""
    writer = NoticeWriter()
    kind, chosen, arguments = next(_cases(bundle, german, 1))
    for ref in ("A&B <7>", "O'Brien \"9\"", "账户&<1>"):
        for locale in ("zh_CN", "en"):
            args = {**arguments, "account_ref": ref, "locale": locale}
            fast = writer.render(kind, chosen, **args)
            assert fast == render_notice(kind, chosen, **args)
            assert ref in fast.text and ref not in fast.html
    assert writer.rendered == 0


def test_a_value_that_could_change_the_layout_goes_through_jinja(bundle, german) -> None:
    """A value starting like a list item or heading is not slotted: Jinja renders it, same bytes."""
    writer = NoticeWriter()
    kind, chosen, arguments = next(_cases(bundle, german, 1))
    for ref in ("- 6222", "## 6222"):
        args = {**arguments, "account_ref": ref}
        assert writer.render(kind, chosen, **args) == render_notice(kind, chosen, **args)
    assert writer.rendered > 0


def test_counter_intuitive_and_policy_reasons(bundle) -> None:
    writer = NoticeWriter()
    reasons = (
        Reason("overdue_repayment", "policy", "adverse"),
        Reason("repayment_history", "model", "adverse", 0.4, "credit_history",
               "all credits at this bank paid back duly", "category", None, True, counter_intuitive=True),
    )
    for locale in ("zh_CN", "en"):
        arguments = dict(locale=locale, profile=bundle.profile, catalog=bundle.catalog, old_limit=5000,
                         new_limit=0, account_ref="6222-9", notice_date=dt.date(2026, 1, 5))
        fast = writer.render("account_closure", reasons, **arguments)
        assert fast == render_notice("account_closure", reasons, **arguments)


def _renderer(source: str):
    env = jinja2.Environment(loader=jinja2.DictLoader({"t.txt": source, "t.html": source}),
                             autoescape=jinja2.select_autoescape(enabled_extensions=("html",)))
    return lambda name, context: env.get_template(name).render(context)


@pytest.mark.parametrize("source", [
    "Ref {{ account_ref | upper }}",  # reshaped
    "Ref {{ account_ref[:4] }}",  # cut
    "{% if account_ref | length > 5 %}long{% endif %}",  # measured
    "Ref {{ account_ref | safe }}",  # unescaped in HTML
])
def test_a_template_that_reshapes_a_value_gets_no_skeleton(source, bundle, german) -> None:
    kind, chosen, arguments = next(_cases(bundle, german, 1))
    from explain.notices._notices import check_letter

    context = check_letter(kind, chosen, **arguments).context
    marked, values = _slotted(context, _marker)
    probed, _ = _slotted(context, _probe)
    render = _renderer(source)
    name = "t.html" if "safe" in source else "t.txt"
    assert _skeleton(name, render, marked, len(values), probed) is None


def test_a_template_that_prints_values_gets_one(bundle, german) -> None:
    kind, chosen, arguments = next(_cases(bundle, german, 1))
    from explain.notices._notices import check_letter

    context = check_letter(kind, chosen, **arguments).context
    marked, values = _slotted(context, _marker)
    probed, _ = _slotted(context, _probe)
    render = _renderer("<b>{{ account_ref }}</b> {% if top_reason %}{{ top_reason }}{% endif %} {{ lender }}")
    for name in ("t.txt", "t.html"):
        skeleton = _skeleton(name, render, marked, len(values), probed)
        assert skeleton is not None
        assert skeleton.fill(values) == render(name, context)


def test_shapes_are_bounded(bundle, german, monkeypatch) -> None:
    """Past the cap, new shapes are rendered by Jinja and not remembered."""
    import explain.notices._skeletons as skeletons

    monkeypatch.setattr(skeletons, "MAX_SKELETONS", 3)
    writer = NoticeWriter()
    for kind, chosen, arguments in list(_cases(bundle, german, 10)):
        assert writer.render(kind, chosen, **arguments) == render_notice(kind, chosen, **arguments)
    assert writer.skeletons == 3
    assert writer.rendered > 0


def test_notice_fields_are_all_compared() -> None:
    """Guard for the tests above: Notice equality covers every part a customer receives."""
    names = {f.name for f in dataclasses.fields(render_notice.__globals__["Notice"])}
    assert {"subject", "text", "html", "short", "template_version", "reference"} <= names


_TRICKY = st.lists(st.sampled_from(list("6222-AZaz09 &<>'\"%{}#\n\u00a0\u2028账户") + ["- ", "## "]),
                   min_size=1, max_size=12).map("".join)


@pytest.fixture(scope="module")
def chosen_reasons(bundle, german) -> dict:
    """Real reasons for 12 accounts under every decision kind (adverse ones with at least one reason)."""
    X, _ = german
    explainer = bundle.explainer()
    out = {}
    for kind in LIMITS:
        policy = ("overdue_repayment",) if kind == "account_closure" else ()
        found = [r for r in explainer.reasons(X.iloc[:12], decision=kind, policy_reasons=policy)
                 if kind == "limit_increase" or r.reasons]
        out[kind] = found
    return out


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=st.sampled_from(sorted(LIMITS)), pick=st.integers(0, 100), locale=st.sampled_from(["zh_CN", "en"]),
       ref=_TRICKY, old=st.integers(1, 10**7), day=st.integers(0, 3000))
def test_writer_equals_render_notice_for_any_values(bundle, chosen_reasons, kind, pick, locale, ref, old, day):
    """Whatever the account reference, amounts and dates, the writer's bytes (or its error) are render_notice's."""
    found = chosen_reasons[kind]
    chosen = found[pick % len(found)]
    new = {"limit_decrease": old // 2, "account_closure": 0}.get(kind, old * 2)
    arguments = dict(locale=locale, profile=bundle.profile, catalog=bundle.catalog, old_limit=old, new_limit=new,
                     account_ref=ref, notice_date=dt.date(2020, 1, 1) + dt.timedelta(days=day))
    try:
        expected = render_notice(kind, chosen, **arguments)
    except Exception as exc:  # noqa: BLE001 - the writer must fail the same way
        with pytest.raises(type(exc), match=re.escape(str(exc))):
            _WRITER.render(kind, chosen, **arguments)
        return
    assert _WRITER.render(kind, chosen, **arguments) == expected


_WRITER = NoticeWriter()  # shared across examples, as in a batch worker: shapes carry over
