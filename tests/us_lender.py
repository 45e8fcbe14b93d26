"""A US lender with bureau_data = true: the demo lender's folder with a US profile (tests of the bureau fields)."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

from explain.notices._profile import DEMO_LENDER_DIR

US_LEGAL = """[legal]
agency = "Consumer Financial Protection Bureau"
agency_address = "1700 G Street NW, Washington, DC 20552"
bureau_data = true
bureau = "Example Credit Bureau"
bureau_address = "P.O. Box 1000, Chicago, IL 60601"
bureau_phone = "1-800-555-0100"
"""
#: The decision's bureau fields, as the API, the CLI and batch take them.
BUREAU = {"bureau_score": 612, "range": [300, 850], "date": "2026-11-20",
          "key_factors": ["Too many recent credit inquiries", "Balances on revolving accounts are too high"]}


def us_lender(folder: Path) -> Path:
    """A lender folder (catalog, US profile, translations) under ``folder``; returns the profile's path."""
    shutil.copytree(DEMO_LENDER_DIR, folder)
    profile = folder / "profile.toml"
    text = profile.read_text("utf-8").replace('jurisdiction = "CN"', 'jurisdiction = "US"')
    profile.write_text(text.split("[legal]")[0] + US_LEGAL, "utf-8")
    return profile


def us_bundle(bundle_dir: Path, folder: Path) -> Path:
    """A copy of the bundle at ``bundle_dir`` signed by the US lender (the manifest's hash updated)."""
    shutil.copytree(bundle_dir, folder)
    profile = us_lender(folder.parent / (folder.name + "-lender"))
    (folder / "profile.toml").write_bytes(profile.read_bytes())
    manifest = json.loads((folder / "manifest.json").read_text("utf-8"))
    manifest["files"]["profile.toml"] = hashlib.sha256(profile.read_bytes()).hexdigest()
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return folder
