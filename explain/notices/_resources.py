"""Where the toolkit's own files are: inside the installed package, or at the top of a source checkout.

``templates/`` and ``locales/`` sit at the top of the repository, where people edit them; the wheel build
copies them into the package (with the catalogs compiled), so an installed toolkit renders notices
without the repository.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["resource_dir"]

_PACKAGE = Path(__file__).resolve().parent.parent  # the explain package


def resource_dir(name: str) -> Path:
    """``<package>/<name>`` when installed from a wheel, else ``<checkout>/<name>``."""
    packaged = _PACKAGE / name
    return packaged if packaged.is_dir() else _PACKAGE.parent / name
