"""Lender profiles for the review tests: the demo profile moved to another jurisdiction pack, with extra
``[review]`` lines, read from TOML text the way a lender's own file is read."""

from __future__ import annotations

import tomllib

from explain.notices._profile import DEMO_PROFILE_PATH, LenderProfile, demo_profile

US_LEGAL = """[legal]
agency = "Consumer Financial Protection Bureau"
agency_address = "1700 G Street NW, Washington, DC 20552"
"""
EU_LEGAL = """[legal]
supervisor = "the Example Financial Supervisory Authority"
adr = "the Example Financial Ombudsman"
"""


def profile(pack: str = "CN", review: str = "") -> LenderProfile:
    """The demo profile moved to ``pack``, with ``review`` lines in its ``[review]`` table."""
    text = DEMO_PROFILE_PATH.read_text(encoding="utf-8")
    if pack != "CN":
        text = text.replace('jurisdiction = "CN"', f'jurisdiction = "{pack}"')
        text = text[:text.index("[legal]")] + {"US": US_LEGAL, "EU": EU_LEGAL}[pack]
    for line in review.splitlines():  # an override replaces the demo's own line
        key = line.split("=")[0].strip()
        text = "".join(t for t in text.splitlines(keepends=True) if not t.startswith(f"{key} ="))
    text = text.replace("[review]\n", f"[review]\n{review}\n")
    return LenderProfile.from_dict(tomllib.loads(text), source=text, phrases=demo_profile().phrases)
