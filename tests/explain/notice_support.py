"""Fixtures and measures shared by the notice tests (imported explicitly by those modules).

The measures are the issue's plain-language rules made concrete:

- an English *sentence* ends at ``.``, ``!`` or ``?`` followed by a space or the end of a line, and a line
  without such an ending (a heading, an address line, a list item) is a sentence of its own;
- a Chinese sentence ends at a full-width full stop, exclamation or question mark or semicolon, or at the end
  of a line; its length is its number of characters without the closing punctuation;
- the Flesch-Kincaid grade is textstat's (0.7.8), computed on the body with every line closed as a sentence
  (textstat would otherwise glue a heading to the sentence after it); the tests also check the raw score.
"""

from __future__ import annotations

import re

import pytest

from explain import FeatureCatalog, Reason
from explain.commands._cli_notice import DEMO_CASES, render_demo_notice

LOCALES = ("zh_CN", "en")
KINDS = tuple(case.decision for case in DEMO_CASES)

_EN_END = re.compile(r"(?<=[.!?])\s+")
_ZH_END = re.compile("(?<=[\u3002\uff01\uff1f\uff1b])")  # 。！？；

# GSM 03.38: the basic set costs one character each, the extension set two (escape + char).
GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ ÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿"
    "abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = set("^{}\\[~]|€")


def gsm7_length(text: str) -> int:
    """Septets a message takes in GSM-7; a character outside the alphabet fails the test."""
    unknown = sorted({c for c in text if c not in GSM7_BASIC and c not in GSM7_EXTENDED})
    assert not unknown, f"not GSM-7: {unknown}"
    return sum(2 if c in GSM7_EXTENDED else 1 for c in text)


def en_sentences(text: str) -> list[str]:
    return [s.strip() for line in text.splitlines() if line.strip() for s in _EN_END.split(line.strip()) if s.strip()]


def zh_sentences(text: str) -> list[str]:
    out = []
    for line in text.splitlines():
        for part in _ZH_END.split(line.strip()):
            part = part.strip().lstrip("- ").rstrip("\u3002\uff01\uff1f\uff1b")
            if part:
                out.append(part)
    return out


def word_count(sentence: str) -> int:
    return len(sentence.lstrip("- ").split())


def fk_grade(text: str) -> float:
    import textstat

    closed = " ".join(s if s[-1] in ".!?" else s + "." for s in en_sentences(text))
    return float(textstat.flesch_kincaid_grade(closed))


@pytest.fixture(scope="session")
def demo_notices(bundle) -> dict[tuple[str, str], object]:
    """The notice of every demo case, keyed by (decision kind, locale)."""
    return {(case.decision, locale): render_demo_notice(bundle, case, locale=locale)
            for case in DEMO_CASES for locale in LOCALES}


# A representative customer value for each value kind, as the explainer would hand it over.
SAMPLE = {"money": 5951, "percent": 0.85, "count": 2, "months": 48, "years": 4, "number": 3}


def model_reason(
    catalog: FeatureCatalog, code: str, effect: str = "adverse", *, actionable: bool | None = None
) -> Reason:
    group = catalog.groups[code]
    spec = catalog.features[group.display]
    value = next(iter(spec.categories)) if spec.kind == "category" else SAMPLE[spec.kind]
    return Reason(code=code, source="model", effect=effect, contribution=0.4, feature=group.display, value=value,
                  value_kind=spec.kind, percentile=80.0,
                  actionable=group.actionable if actionable is None else actionable)


def policy_reason(catalog: FeatureCatalog, code: str, effect: str = "adverse") -> Reason:
    return Reason(code=code, source="policy", effect=effect, actionable=catalog.policy_reasons[code].actionable)
