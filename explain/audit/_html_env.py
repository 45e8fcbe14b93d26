"""Jinja2 environments for the toolkit's HTML pages (the compliance report, the agent page), one per locale.

Built once per (folder, locale) and never switched per request (switching a shared environment's locale writes
its globals and races). Autoescaped; gettext strict like the notices': a message without a translation in
the locale's catalog is an error, never English slipped into a Chinese page.
"""

from __future__ import annotations

import functools
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from explain.notices._locales import negotiate
from explain.notices._environment import strict_callables

__all__ = ["html_environment", "page_gettext"]


@functools.lru_cache(maxsize=None)
def html_environment(templates_dir: Path, locale: str) -> Environment:
    """The environment rendering ``templates_dir`` in ``locale`` (``zh_CN`` or ``en``)."""
    locale = negotiate(locale)
    env = Environment(loader=FileSystemLoader(templates_dir), autoescape=select_autoescape(default=True),
                      undefined=StrictUndefined, extensions=["jinja2.ext.i18n"], trim_blocks=True,
                      lstrip_blocks=True, auto_reload=False)
    gettext, ngettext = strict_callables(locale)
    env.install_gettext_callables(gettext, ngettext, newstyle=True)  # type: ignore[attr-defined]
    return env


@functools.lru_cache(maxsize=None)
def _plain_gettext(locale: str):  # noqa: ANN202 - the strict gettext callable
    return strict_callables(negotiate(locale))[0]


def page_gettext(locale: str, message: str, **variables: object) -> str:
    """``message`` translated to ``locale`` for code that builds page parts outside a template (chart labels),
    formatted like the templates' new-style gettext (``%(name)s`` placeholders)."""
    text = _plain_gettext(locale)(message)
    return text % variables if variables else text
