"""Many notices at string-join speed, byte-identical to :func:`~explain.render_notice`.

A portfolio's notices differ in a few values (the account, the amounts, the reasons' sentences) and share
everything else. Jinja re-runs every macro, import and ``gettext`` call for every notice; here each template
is rendered once per *shape* (the context with its per-account values replaced by numbered slots) and the
result is kept as a skeleton: literal text with slots. A notice is then the skeleton joined with its values,
escaped exactly where the template escapes them.

It stays honest by checking rather than assuming:

- A value is slotted only when it is one plain line (no surrounding space, no line break, not starting like
  a heading or list item, no private-use character): such a value cannot change how the letter's line
  filters or ``strip`` treat the text around it. Any other value sends that notice through Jinja.
- A skeleton is made from two renders with different slot markers (the second longer, in both cases, and
  with ``&``, ``<`` and ``'`` in it). Both must give the same literal text, with every marker printed whole
  and escaped exactly as the part requires (HTML once, text never). A template that measures, cuts,
  re-cases or leaves a value unescaped fails the check, and that shape is rendered by Jinja every time. One
  that compared a value with a fixed string would not be caught; the templates only print values and test
  them for being there (the tests compare the writer with ``render_notice`` on real accounts).
- Everything not slotted that the template looks up (the lender, dates, the legal pack, the reasons' count
  and flags) is part of the shape's key, so a different value there is a different skeleton.

The templates are still the only wording: a skeleton is their own output.
"""

from __future__ import annotations

import functools
import json
import re
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from jinja2 import Environment
from jinja2.runtime import Context
from markupsafe import escape

from explain.notices._environment import Renderer, notice_environment
from explain.notices._notices import Notice, check_letter, jinja_renderer, write_notice

__all__ = ["NoticeWriter"]

#: Context values that differ from one account to the next, printed as they are.
_SLOTTED = ("account_ref", "reference", "old_limit", "new_limit", "effective_date", "effective_date_short",
            "old_limit_short", "new_limit_short", "score_value", "score_low", "score_high", "score_date", "review_date")
#: The short message's own slotted values, numbered last: its shorter tries change only these (and the flags
#: below), so a try's shape is the letter's with these slotted again (see NoticeWriter.render).
_SHORT_SLOTTED = ("short_reason", "short_phrase", "short_date", "short_new", "short_old")
_SHORT_FLAGS = ("short_review", "short_compact", "short_details")
_SHORT_KEYS = frozenset(_SHORT_SLOTTED + _SHORT_FLAGS)
#: Lists of phrased reasons: these keys of each are slotted.
_REASON_LISTS = ("principal", "weighed")
_REASON_KEYS = ("label", "text", "value", "short", "advice")
_PRIVATE = re.compile("[\ue000-\uf8ff]")
_MARKER = re.compile("\ue000([0-9]+)\ue001")
_MISSING = object()
#: Shapes remembered per writer; past this (a context value that varies per account but is not slotted would
#: make a shape per account) new shapes are rendered by Jinja and not kept, so memory stays bounded.
MAX_SKELETONS = 4096


def _marker(i: int) -> str:
    return f"\ue000{i}\ue001"


def _probe(i: int) -> str:
    """A second marker: longer, in both cases, escaped in HTML: a measured, cut, re-cased or unescaped value
    does not come out the way the first marker did."""
    return f"\ue002&<'xX{i}>{'~' * (3 + i % 5)}\ue003"


def _plain(value: str) -> bool:
    # isprintable() is False for every line break, control, format and private-use character and every
    # space but " ", so with no " " at either end the value is one line that ``strip`` leaves alone.
    return (
        value.isprintable() and value[:1] not in ("", " ") and value[-1] != " "
        and not value.startswith(("- ", "## "))
    )


class _NotPlain(Exception):
    pass


def _slotted(context: dict[str, Any], mark: Any) -> tuple[dict[str, Any], list[str]]:
    """``context`` with its per-account strings replaced by ``mark(i)``, and those strings in slot order."""
    values: list[str] = []

    def slot(value: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, str) or not _plain(value):
            raise _NotPlain
        values.append(value)
        return mark(len(values) - 1)

    out = dict(context)
    for name in _SLOTTED:
        out[name] = slot(context[name])
    for name in _REASON_LISTS:
        out[name] = [{**r, **{k: slot(r[k]) for k in _REASON_KEYS}} for r in context[name]]
    out["advice"] = [slot(line) for line in context["advice"]]
    out["score_factors"] = [slot(line) for line in context["score_factors"]]
    out["recourse_lines"] = [slot(line) for line in context.get("recourse_lines", ())]
    for name in _SHORT_SLOTTED:
        out[name] = slot(context[name])
    return out, values


def _reslotted(base: dict[str, Any], shaped: tuple[dict[str, Any], list[str]], context: dict[str, Any]
               ) -> tuple[dict[str, Any], list[str]] | None:
    """``_slotted(context, _marker)`` from the letter's ``shaped``, when ``context`` is the letter's ``base``
    with only short-message keys changed (their slots are numbered last, so the others keep theirs); None
    otherwise."""
    if context.keys() != base.keys() or any(context[k] is not v for k, v in base.items() if k not in _SHORT_KEYS):
        return None
    marked, values = shaped
    values = values[:len(values) - sum(base[name] is not None for name in _SHORT_SLOTTED)]
    out = dict(marked)
    for name in _SHORT_FLAGS:
        out[name] = context[name]
    for name in _SHORT_SLOTTED:
        value = context[name]
        if value is None:
            out[name] = None
            continue
        if not isinstance(value, str) or not _plain(value):
            raise _NotPlain
        values.append(value)
        out[name] = _marker(len(values) - 1)
    return out, values


@dataclass(frozen=True)
class _Skeleton:
    pieces: tuple[str, ...]  # literal text; one more than ``slots``
    slots: tuple[int, ...]  # the value printed between piece k and piece k + 1
    escaped: bool  # an HTML part: values are printed escaped

    def fill(self, values: list[str]) -> str:
        if self.escaped:
            values = [str(escape(v)) for v in values]
        out = [self.pieces[0]]
        for slot, piece in zip(self.slots, self.pieces[1:]):
            out.append(values[slot])
            out.append(piece)
        return "".join(out)


def _skeleton(name: str, render: Renderer, marked: dict[str, Any], n_values: int, probed: dict[str, Any]) -> _Skeleton | None:
    """The skeleton of template ``name`` for one shape, or None when its output is not a plain fill of values."""
    text = render(name, marked)
    parts = _MARKER.split(text)
    pieces, slots = tuple(parts[0::2]), tuple(int(s) for s in parts[1::2])
    if any(_PRIVATE.search(p) for p in pieces) or any(s >= n_values for s in slots):
        return None
    skeleton = _Skeleton(pieces, slots, escaped=name.endswith(".html"))
    if skeleton.fill([_probe(i) for i in range(n_values)]) != render(name, probed):
        return None
    return skeleton


class _RecordingContext(Context):
    """A Jinja context that notes every variable name a render looks up, while a build asks it to."""

    def resolve_or_missing(self, key: str) -> Any:
        names = _RECORDED.get()
        if names is not None:
            names.add(key)
        return super().resolve_or_missing(key)


_RECORDED: ContextVar[set[str] | None] = ContextVar("explain_skeleton_names", default=None)


@functools.lru_cache(maxsize=None)
def _recording_environment(locale: str) -> Environment:
    env = notice_environment(locale).overlay()
    env.context_class = _RecordingContext
    return env


def _key(marked: dict[str, Any], names: tuple[str, ...]) -> str:
    return json.dumps([marked[n] for n in names], ensure_ascii=False, default=repr)


class NoticeWriter:
    """Writes notices like :func:`~explain.render_notice` (same arguments, same bytes), faster for many.

    One writer serves any number of notices, locales and decision kinds of one process; it remembers one
    skeleton per template and shape (a few hundred for a portfolio), never the accounts.

    A shape is keyed by the variables the template actually looked up when its skeleton was made (Jinja is
    asked to note them), not by the whole context: the subject, which prints no value, has one skeleton per
    decision and locale, not one per combination of reasons. A render reads only what it looks up, so two
    contexts that agree on those variables render alike.
    """

    def __init__(self) -> None:
        # (locale, template) -> [(names looked up, {their marked values as JSON: skeleton or None})]
        self._shapes: dict[tuple[str, str], list[tuple[tuple[str, ...], dict[str, _Skeleton | None]]]] = {}
        self._jinja: dict[str, Renderer] = {}
        self.skeletons = 0  # shapes remembered (bounded by MAX_SKELETONS)
        self.filled = 0  # template renders answered from a skeleton (for tests and benchmarks)
        self.rendered = 0  # template renders that ran Jinja

    def render(self, decision: Any, reasons: Any, **arguments: Any) -> Notice:
        """See :func:`~explain.render_notice`."""
        letter = check_letter(decision, reasons, **arguments)
        locale = letter.locale
        jinja = self._jinja.get(locale) or self._jinja.setdefault(
            locale, jinja_renderer(locale, _recording_environment(locale)))
        shaped = _shape(letter.context)  # once for the letter's parts; the short message's tries vary it

        def render(name: str, context: dict[str, Any]) -> str:
            shape = shaped if context is letter.context else _shape(context, letter.context, shaped)
            skeleton = None if shape is None else self._skeleton(locale, jinja, name, context, *shape)
            if skeleton is None:
                self.rendered += 1
                return jinja(name, context)
            self.filled += 1
            return skeleton.fill(shape[1])

        return write_notice(letter, render)

    def _skeleton(self, locale: str, jinja: Renderer, name: str, context: dict[str, Any], marked: dict[str, Any],
                  values: list[str]) -> _Skeleton | None:
        known = self._shapes.setdefault((locale, name), [])
        for names, table in known:
            found = table.get(_key(marked, names), _MISSING)
            if found is not _MISSING:
                return found
        if self.skeletons >= MAX_SKELETONS:
            return None
        looked_up: set[str] = set()
        token = _RECORDED.set(looked_up)
        try:
            probed, _ = _slotted(context, _probe)
            skeleton = _skeleton(name, jinja, marked, len(values), probed)
        finally:
            _RECORDED.reset(token)
        names = tuple(sorted(looked_up & marked.keys()))
        table = next((t for n, t in known if n == names), None)
        if table is None:
            table = {}
            known.append((names, table))
        table[_key(marked, names)] = skeleton
        self.skeletons += 1
        return skeleton


def _shape(context: dict[str, Any], base: dict[str, Any] | None = None,
           shaped: tuple[dict[str, Any], list[str]] | None = None) -> tuple[dict[str, Any], list[str]] | None:
    """The marked context and its values; None when a value cannot be slotted. Given the letter's context
    and shape, a short-message try (the letter's context with short-message keys changed) reuses them."""
    try:
        if base is not None and shaped is not None:
            found = _reslotted(base, shaped, context)
            if found is not None:
                return found
        return _slotted(context, _marker)
    except _NotPlain:
        return None
