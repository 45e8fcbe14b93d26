"""The lender's side of a notice: its name, how customers reach it, and the wording its lawyers chose.

A notice must say who decided, how to ask for an explanation and a human review, and by when. Those facts
belong to the lender, not to the toolkit, so they live in a small TOML profile; :func:`demo_profile` is a
neutral one for trying things out.
"""

from __future__ import annotations

import functools
import hashlib
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from explain._exceptions import NoticeInputError
from explain._locales import negotiate

__all__ = ["DEMO_PROFILE_PATH", "LenderProfile", "demo_profile"]

DEMO_PROFILE_PATH = Path(__file__).resolve().parent / "data" / "demo_profile.toml"

#: Keys of ``[wording]``: English msgids with gettext context ``profile:wording:<key>``.
WORDING_KEYS: tuple[str, ...] = ("jurisdiction", "escalation")


def wording_context(key: str) -> str:
    """The gettext context of one ``[wording]`` entry."""
    return f"profile:wording:{key}"


@dataclass(frozen=True)
class LenderProfile:
    """Who sends the notice and how the customer can answer it.

    Attributes
    ----------
    name
        The lender's name, used where ``names`` has no entry for the locale.
    names
        The name customers know in each locale (``{"zh_CN": "示例银行"}``).
    phone, email, url
        Where to ask for an explanation or a human review.
    short_url
        A short address for the SMS/push form.
    review_window_days
        How many days after the notice date the customer can ask for a review.
    notice_period_days
        Default days between the notice and a decrease or closure taking effect.
    wording
        Jurisdiction wording (English msgids, translated through ``locales/``).
    """

    name: str
    phone: str
    email: str
    url: str
    short_url: str
    review_window_days: int = 30
    notice_period_days: int = 30
    names: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    wording: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    source: str = field(default="", repr=False, compare=False)

    def __post_init__(self) -> None:
        for key in ("name", "phone", "email", "url", "short_url"):
            value = getattr(self, key)
            if not isinstance(value, str) or not value.strip():
                raise NoticeInputError(f"profile {key}", "a non-empty string", value)
        for key in ("review_window_days", "notice_period_days"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 366:
                raise NoticeInputError(f"profile {key}", "a whole number of days from 0 to 366", value)
        if self.review_window_days < 1:
            raise NoticeInputError("profile review_window_days", "at least 1 day", self.review_window_days)
        names = {}
        for locale, name in dict(self.names).items():
            if not isinstance(name, str) or not name.strip():
                raise NoticeInputError(f"profile name for {locale!r}", "a non-empty string", name)
            names[negotiate(locale, field="profile [lender.names] locale")] = name
        missing = [k for k in WORDING_KEYS if not isinstance(self.wording.get(k), str) or not self.wording[k]]
        if missing:
            got = self.wording.get(missing[0])
            raise NoticeInputError(f"profile wording {missing[0]}", "a non-empty sentence", got)
        unknown = sorted(set(self.wording) - set(WORDING_KEYS))
        if unknown:
            raise NoticeInputError(f"profile wording {unknown[0]}", f"one of {', '.join(WORDING_KEYS)}", unknown[0])
        object.__setattr__(self, "names", MappingProxyType(names))
        if not self.source:  # built in code rather than read from a file: hash a canonical form instead
            canonical = repr((self.name, self.phone, self.email, self.url, self.short_url, self.review_window_days,
                              self.notice_period_days, sorted(names.items()), sorted(dict(self.wording).items())))
            object.__setattr__(self, "source", canonical)
        object.__setattr__(self, "wording", MappingProxyType(dict(self.wording)))

    @classmethod
    def from_toml(cls, path: str | Path) -> LenderProfile:
        """Read a profile file; every problem is a :class:`~explain.NoticeInputError` naming the field."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise NoticeInputError("profile", "a readable TOML file", str(path)) from exc
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise NoticeInputError("profile", f"valid TOML ({exc})", str(path)) from exc
        return cls.from_dict(data, source=text)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str = "") -> LenderProfile:
        lender = dict(data.get("lender", {}))
        contact = dict(data.get("contact", {}))
        review = dict(data.get("review", {}))
        return cls(
            name=lender.get("name"),
            names=lender.get("names", {}),
            phone=contact.get("phone"),
            email=contact.get("email"),
            url=contact.get("url"),
            short_url=contact.get("short_url"),
            review_window_days=review.get("window_days", 30),
            notice_period_days=review.get("notice_period_days", 30),
            wording=data.get("wording", {}),
            source=source,
        )

    def display_name(self, locale: str) -> str:
        """The lender's name in ``locale``."""
        return self.names.get(negotiate(locale), self.name)

    @property
    def sha256(self) -> str:
        """Hash of the profile's source text: part of every notice's template version."""
        return hashlib.sha256(self.source.encode("utf-8")).hexdigest()


@functools.cache
def demo_profile() -> LenderProfile:
    """The neutral demo lender profile shipped with the package, read and parsed once per process.

    ``render_notice`` falls back to it for every notice given no profile; re-reading the TOML each time
    cost a batch of notices a seventh of its run. A profile is frozen, so one shared instance is safe.
    """
    return LenderProfile.from_toml(DEMO_PROFILE_PATH)
