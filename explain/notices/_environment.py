"""The Jinja environment a locale's notices are rendered with: the toolkit's strict gettext (an untranslated
sentence is an error, never English in a Chinese letter), the lender's voice, the filters that give the
plain-text and HTML letters their form, and the version of all the wording a notice was written with.

Split from ``_notices`` (checking a notice's inputs and writing it), which renders through it; the review
outcome letters, the audit pages, printed letters and recourse wording use the same gettext.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from typing import Any

import jinja2
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from explain._exceptions import CatalogError
from explain.catalog._catalog import FeatureCatalog
from explain.notices._locales import catalog_path, get_translations, negotiate
from explain.notices._profile import LenderProfile
from explain.notices._resources import resource_dir

__all__ = ["Renderer", "TEMPLATES_DIR", "notice_environment", "strict_callables", "template_version", "toolkit_gettext"]

#: Root of the notice templates: ``<decision>/{subject.txt,letter.txt,letter.html,short.txt}``.
TEMPLATES_DIR = resource_dir("templates")


def strict_callables(locale: str) -> tuple[Any, Any]:
    """gettext/ngettext that refuse to pass an untranslated template string through."""
    translations = get_translations(locale)
    entries = translations._catalog  # noqa: SLF001 - the stdlib's storage of a GNU catalog's entries

    def gettext(message: str) -> str:
        if message not in entries:
            raise CatalogError(f"template message {message!r}", f"has no {locale!r} translation; run `make locales`")
        return translations.gettext(message)

    def ngettext(singular: str, plural: str, n: int) -> str:
        if (singular, 0) not in entries:
            raise CatalogError(f"template message {singular!r}", f"has no {locale!r} translation; run `make locales`")
        return translations.ngettext(singular, plural, n)

    return gettext, ngettext


@functools.lru_cache(maxsize=None)
def notice_environment(locale: str) -> Environment:
    """One environment per locale, built once: switching a shared one per request would race on globals."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False, default=False),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,
    )
    strict_gettext, ngettext = strict_callables(locale)

    @jinja2.pass_context
    def gettext(context: Any, message: str) -> str:
        # A Chinese sentence that speaks as the lender says "{voice}" (我行, 我司 ...): the profile's voice.
        text = strict_gettext(message)
        return text.replace("{voice}", context.resolve_or_missing("voice")) if "{voice}" in text else text

    env.install_gettext_callables(gettext, ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.filters.update(text_blocks=_text_blocks, html_blocks=_html_blocks, html_lines=_html_lines, html_text=_html_text)
    return env


#: Renders one template (``<decision>/<part>``) with a context; :func:`jinja_renderer` is the reference one.
Renderer = Callable[[str, dict[str, Any]], str]


# Shared letter parts are written once, as plain lines ("## " a heading, "- " a list item); these filters
# give the plain-text letter and the HTML letter their form. The HTML ones escape every line themselves.
def _text_blocks(text: str) -> str:
    return "\n".join(line[3:] if line.startswith("## ") else line for line in str(text).strip("\n").splitlines())


def _linked(context: Any, line: str) -> Markup:
    """One line escaped, with the lender's phone, email and web address made links (``tel:``, ``mailto:``)."""
    html = str(escape(line))
    for text, href in context.resolve_or_missing("links"):
        shown = str(escape(text))
        if shown in html:
            html = html.replace(shown, f'<a href="{escape(href)}">{shown}</a>')
    return Markup(html)


@jinja2.pass_context
def _html_blocks(context: Any, text: str) -> Markup:
    out: list[str] = []
    items: list[str] = []
    for line in (line.strip() for line in str(text).splitlines()):
        if line.startswith("- "):
            items.append(f"<li>{_linked(context, line[2:])}</li>")
            continue
        if items:
            out.append("<ul>\n" + "\n".join(items) + "\n</ul>")
            items = []
        if line.startswith("## "):
            out.append(f"<h2>{escape(line[3:])}</h2>")
        elif line:
            out.append(f"<p>{_linked(context, line)}</p>")
    if items:
        out.append("<ul>\n" + "\n".join(items) + "\n</ul>")
    return Markup("\n".join(out))


def _html_text(text: str) -> Markup:
    """A macro's plain text, escaped once. A macro called from the HTML letter returns Markup (Jinja marks it
    safe for its caller), although the wording and values in it were never escaped; ``e`` would pass it."""
    return escape(str(text))


@jinja2.pass_context
def _html_lines(context: Any, text: str) -> Markup:
    return Markup("<br>\n").join(_linked(context, line) for line in str(text).strip().splitlines())


@functools.lru_cache(maxsize=None)
def _templates_digest() -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in TEMPLATES_DIR.rglob("*") if p.is_file()):
        digest.update(path.relative_to(TEMPLATES_DIR).as_posix().encode("utf-8") + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


@functools.lru_cache(maxsize=None)
def _catalog_digest(locale: str) -> str:
    get_translations(locale)  # a missing .mo is an error here too
    return hashlib.sha256(catalog_path(locale).read_bytes()).hexdigest()


def template_version(locale: str, profile: LenderProfile, catalog: FeatureCatalog) -> str:
    """sha256 over the templates, the compiled catalog of ``locale``, the profile, the reason catalog and the
    lender's translations of both."""
    parts = (_templates_digest(), _catalog_digest(negotiate(locale)), profile.sha256, catalog.sha256,
             catalog.phrasebook().sha256, profile.phrases.sha256 if profile.phrases is not None else "-")
    return hashlib.sha256("\n".join(parts).encode("ascii")).hexdigest()


def toolkit_gettext(locale: str) -> Any:
    """The toolkit's own gettext for ``locale`` (strict: an untranslated message is an error)."""
    return strict_callables(locale)[0]
