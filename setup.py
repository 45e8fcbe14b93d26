"""Build hook: ship the top-level ``templates/`` and ``locales/`` inside the ``explain`` package.

They stay at the top of the repository, where people edit them; a wheel copies the templates into
``explain/templates`` and compiles each ``locales/<lang>/LC_MESSAGES/messages.po`` into a ``.mo`` under
``explain/locales`` (compiled catalogs are build products, never committed). All other metadata is in
pyproject.toml.
"""

from __future__ import annotations

import io
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent


class BuildWithNoticeResources(build_py):
    """``build_py`` plus the notice templates and the compiled gettext catalogs."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:  # an editable install reads them from the checkout itself
            return
        target = Path(self.build_lib) / "explain"
        templates = target / "templates"
        shutil.rmtree(templates, ignore_errors=True)
        shutil.copytree(ROOT / "templates", templates)
        from babel.messages.mofile import write_mo
        from babel.messages.pofile import read_po

        for po in sorted((ROOT / "locales").glob("*/LC_MESSAGES/messages.po")):
            locale = po.parts[-3]
            catalog = read_po(io.BytesIO(po.read_bytes()), locale=locale, abort_invalid=True)
            errors = [(m.id, e) for m, errs in catalog.check() for e in errs]
            if errors or any(m.fuzzy for m in catalog if m.id):
                raise SystemExit(f"{po}: refusing to build a catalog with errors or fuzzy entries: {errors[:3]}")
            out = target / "locales" / locale / "LC_MESSAGES"
            out.mkdir(parents=True, exist_ok=True)
            with (out / "messages.mo").open("wb") as fp:
                write_mo(fp, catalog, use_fuzzy=False)


setup(cmdclass={"build_py": BuildWithNoticeResources})
