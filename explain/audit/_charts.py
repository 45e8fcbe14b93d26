"""Charts as inline SVG, drawn on the server: no script, no external asset, readable offline and in print.

Both the agent page (a decision's waterfall) and the compliance report (bar charts) draw with these. Every chart
is an ``<svg role="img">`` with a ``<title>`` and a ``<desc>``, scales with its container (``viewBox``), and
never relies on colour alone: bars carry their value as text, excluded (protected) groups are hatched and
labelled. Text is escaped here; the callers pass plain strings.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

__all__ = ["Bar", "WaterfallStep", "bar_chart", "waterfall"]

# Colours chosen for contrast on white (WCAG AA for the text drawn over or beside them) and told apart by
# lightness as well as hue.
RISK = "#b42318"  # pushed toward risk
SAFE = "#067647"  # pushed away from risk
NEUTRAL = "#475467"
EXCLUDED = "#98a2b3"
INK = "#101828"


@dataclass(frozen=True)
class WaterfallStep:
    """One grouped contribution: its label, signed size (margin space) and whether it is excluded (protected)."""

    label: str
    value: float
    excluded: bool = False
    note: str = ""


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    text: str  # the value as the reader reads it (formatted by the caller, in the reader's locale)
    highlight: bool = False


def _attrs(**kw: object) -> str:
    return " ".join(f'{k.rstrip("_").replace("_", "-")}="{escape(str(v), quote=True)}"' for k, v in kw.items())


def waterfall(
    *,
    base_label: str,
    base_value: float,
    steps: Sequence[WaterfallStep],
    total_label: str,
    total_value: float,
    title: str,
    description: str,
    fmt: Callable[[float], str],
    risk_up: bool = True,
    compact: bool = False,
) -> str:
    """A horizontal waterfall from ``base_value`` through each step to ``total_value``.

    Rows read top to bottom: the base value, one bar per step from the running total, the total. A step that
    pushes toward risk is drawn in :data:`RISK` (``risk_up``: a positive value is toward risk), one away from
    it in :data:`SAFE`; an excluded step is hatched grey with its ``note``. The chart's own running total
    ends where the steps end; the total row shows ``total_value`` (equal when the attribution is additive).
    ``compact`` lays each row out as a label line above its bar, for phone widths.
    """
    if compact:
        label_w, value_w, width, row_h, pad = 0, 0, 360, 40, 6
        plot_x0, plot_x1 = pad, width - pad
    else:
        label_w, value_w, width, row_h, pad = 250, 210, 880, 26, 8
        plot_x0, plot_x1 = label_w + pad, width - value_w - pad
    running = [base_value]
    for step in steps:
        running.append(running[-1] + step.value)
    lo = min(running + [total_value])
    hi = max(running + [total_value])
    if hi - lo < 1e-12:
        lo, hi = lo - 1, hi + 1
    span = hi - lo
    lo, hi = lo - 0.04 * span, hi + 0.04 * span

    def x(v: float) -> float:
        return plot_x0 + (v - lo) / (hi - lo) * (plot_x1 - plot_x0)

    rows = len(steps) + 2
    height = rows * row_h + 2 * pad
    ids = "wfc" if compact else "wf"
    css = "chart waterfall compact" if compact else "chart waterfall wide"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" {_attrs(viewBox=f"0 0 {width} {height}", role="img", class_=css, aria_labelledby=f"{ids}-title {ids}-desc")} preserveAspectRatio="xMinYMin meet">',
        f'<title id="{ids}-title">{escape(title)}</title><desc id="{ids}-desc">{escape(description)}</desc>',
        f'<defs><pattern id="{ids}-hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
        f'<rect width="6" height="6" fill="#f2f4f7"/><line x1="0" y1="0" x2="0" y2="6" stroke="{EXCLUDED}" stroke-width="3"/>'
        "</pattern></defs>",
        f'<line {_attrs(x1=f"{x(base_value):.1f}", y1=pad, x2=f"{x(base_value):.1f}", y2=height - pad, stroke="#d0d5dd", stroke_dasharray="3 3")}/>',
    ]

    def row(i: int, label: str, start: float, end: float, fill: str, value_text: str, *, css: str, note: str = "") -> None:
        y = pad + i * row_h
        x0, x1 = sorted((x(start), x(end)))
        w = max(x1 - x0, 1.5)
        shown = value_text + (f" {note}" if note else "")
        parts.append(f'<g class="{css}">')
        if compact:  # label and value on a line of their own, the bar below
            parts.append(f'<text {_attrs(x=pad, y=y + 14, fill=INK, font_size=13)}>{escape(label)}</text>')
            parts.append(f'<text {_attrs(x=width - pad, y=y + 14, text_anchor="end", fill=INK, font_size=12)}>{escape(shown)}</text>')
            parts.append(f'<rect {_attrs(x=f"{x0:.1f}", y=y + 19, width=f"{w:.1f}", height=row_h - 24, fill=fill, rx=2)}/>')
        else:
            parts.append(f'<text {_attrs(x=label_w, y=y + row_h * 0.68, text_anchor="end", fill=INK, font_size=13)}>{escape(label)}</text>')
            parts.append(f'<rect {_attrs(x=f"{x0:.1f}", y=y + 4, width=f"{w:.1f}", height=row_h - 8, fill=fill, rx=2)}/>')
            parts.append(f'<text {_attrs(x=plot_x1 + pad, y=y + row_h * 0.68, fill=INK, font_size=12)}>{escape(shown)}</text>')
        parts.append("</g>")

    row(0, base_label, base_value, base_value, NEUTRAL, fmt(base_value), css="base")  # a marker at the base
    for i, step in enumerate(steps, start=1):
        start, end = running[i - 1], running[i]
        toward_risk = (step.value > 0) == risk_up
        fill = f"url(#{ids}-hatch)" if step.excluded else (RISK if toward_risk else SAFE)
        sign = "+" if step.value >= 0 else "−"
        row(i, step.label, start, end, fill, f"{sign}{fmt(abs(step.value))}",
            css="step excluded" if step.excluded else ("step risk" if toward_risk else "step safe"), note=step.note)
    row(rows - 1, total_label, total_value, total_value, INK, fmt(total_value), css="total")
    parts.append("</svg>")
    return "".join(parts)


def bar_chart(bars: Sequence[Bar], *, title: str, description: str, chart_id: str) -> str:
    """Horizontal bars, one row each, longest scale set by the largest value; each bar labelled with its text."""
    label_w, value_w, width, row_h, pad = 260, 110, 760, 24, 6
    plot_x0, plot_x1 = label_w + pad, width - value_w - pad
    top = max((b.value for b in bars), default=0.0) or 1.0
    height = max(len(bars), 1) * row_h + 2 * pad
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" {_attrs(viewBox=f"0 0 {width} {height}", role="img", class_="chart bars", aria_labelledby=f"{chart_id}-t {chart_id}-d")} preserveAspectRatio="xMinYMin meet">',
        f'<title id="{chart_id}-t">{escape(title)}</title><desc id="{chart_id}-d">{escape(description)}</desc>',
    ]
    for i, bar in enumerate(bars):
        y = pad + i * row_h
        w = max((plot_x1 - plot_x0) * bar.value / top, 0.0 if bar.value == 0 else 1.5)
        fill = RISK if bar.highlight else NEUTRAL
        parts.append(f'<text {_attrs(x=label_w, y=y + row_h * 0.7, text_anchor="end", fill=INK, font_size=13)}>{escape(bar.label)}</text>')
        parts.append(f'<rect {_attrs(x=plot_x0, y=y + 4, width=f"{w:.1f}", height=row_h - 8, fill=fill, rx=2)}/>')
        parts.append(f'<text {_attrs(x=plot_x0 + w + pad, y=y + row_h * 0.7, fill=INK, font_size=12)}>{escape(bar.text)}</text>')
    parts.append("</svg>")
    return "".join(parts)
