"""Paper sizes and where the recipient's address goes so that it shows through an envelope's window.

A4 follows DIN 5008 form B: the address field starts 20 mm from the left edge and 45 mm from the top and is
85 x 45 mm; its first 17.7 mm are the return-address and notes zone, so the recipient's lines start at
62.7 mm. Folded twice it fits a DL or C5/6 window envelope (window 90 x 45 mm, 20 mm from the left).

US Letter follows the common #10 window envelope (4 1/8 x 9 1/2 in, window 4 1/2 x 1 1/8 in, 7/8 in from the
left and 1/2 in from the bottom): folded in three, the window shows the sheet from 2 in to 3 1/8 in from the
top, 7/8 in from the left.

The page's left margin is the window's left edge plus its inset, so the address and the letter's text start
on one line.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

from explain._exceptions import NoticeInputError

__all__ = ["DEFAULT_PAPER", "PAPERS", "Paper", "default_paper", "parse_paper"]

_MM = 72 / 25.4  # PostScript points per millimetre
_IN = 72.0


@dataclass(frozen=True)
class Paper:
    """A sheet and its window, every length in PostScript points (1/72 in), as the PDF's media box is."""

    name: str
    width: float
    height: float
    #: the window's left edge, top edge, width and height on the sheet
    window: tuple[float, float, float, float]
    #: space between the window's left edge and the text, and above the recipient's lines (return zone)
    inset: float
    zone: float
    margin_top: float
    margin_right: float
    margin_bottom: float
    envelope: str

    @property
    def margin_left(self) -> float:
        return self.window[0] + self.inset


PAPERS: MappingProxyType[str, Paper] = MappingProxyType({
    "a4": Paper("a4", 210 * _MM, 297 * _MM, window=(20 * _MM, 45 * _MM, 85 * _MM, 45 * _MM), inset=5 * _MM,
                zone=17.7 * _MM, margin_top=20 * _MM, margin_right=20 * _MM, margin_bottom=25 * _MM,
                envelope="DIN 5008 form B: DL or C5/6 window envelope"),
    "letter": Paper("letter", 8.5 * _IN, 11 * _IN, window=(0.875 * _IN, 2 * _IN, 4 * _IN, 1.125 * _IN),
                    inset=0.125 * _IN, zone=0.0, margin_top=0.75 * _IN, margin_right=1 * _IN,
                    margin_bottom=1 * _IN, envelope="#10 window envelope"),
})

#: The paper of a jurisdiction's letters when none is asked for; any other jurisdiction prints on A4.
DEFAULT_PAPER: MappingProxyType[str, str] = MappingProxyType({"US": "letter"})


def default_paper(jurisdiction: str) -> Paper:
    """The paper a lender in ``jurisdiction`` sends letters on: US Letter in the US, A4 elsewhere."""
    return PAPERS[DEFAULT_PAPER.get(jurisdiction, "a4")]


def parse_paper(value: object, *, field: str = "paper") -> Paper:
    """``a4`` or ``letter`` (any case) as a :class:`Paper`; anything else names ``field`` and the choices."""
    key = value.strip().lower() if isinstance(value, str) else None
    if key not in PAPERS:
        raise NoticeInputError(field, f"one of {', '.join(map(repr, PAPERS))}", value)
    return PAPERS[key]
