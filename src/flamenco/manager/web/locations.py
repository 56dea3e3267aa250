"""Where the web interface and the Blender add-on are: in the installed package, or the checkout."""

from __future__ import annotations

import os
from pathlib import Path

# Set to use the web interface files from another folder, for example a
# `static/` folder being worked on next to an installed Manager.
STATIC_DIR_ENV = "FLAMENCO_WEB_DIR"

ADDON_PACKAGE = "flamenco"

_WEB_PACKAGE_DIR = Path(__file__).resolve().parent
# A wheel carries the files here; setup.py's build step puts them there, under
# these names (keep the two in step).
INSTALLED_STATIC_DIR = _WEB_PACKAGE_DIR / "static"
INSTALLED_ADDON_DIR = _WEB_PACKAGE_DIR / "addon" / ADDON_PACKAGE

# An editable install (`pip install -e .`, as ./farm and tox do) runs this
# module from the checkout's src/flamenco/manager/web.
_CHECKOUT_DIR = _WEB_PACKAGE_DIR.parents[3]
CHECKOUT_STATIC_DIR = _CHECKOUT_DIR / "static"
CHECKOUT_ADDON_DIR = _CHECKOUT_DIR / "addon" / ADDON_PACKAGE


class AddonNotAvailable(Exception):
    """The add-on's source files are not part of this installation."""


def static_dir_candidates() -> list[Path]:
    """The folders that may hold the web interface, in the order they are tried."""
    configured = os.environ.get(STATIC_DIR_ENV)
    if configured:
        return [Path(configured)]
    return [INSTALLED_STATIC_DIR, CHECKOUT_STATIC_DIR]


def static_dir() -> Path:
    """The web interface's folder: the first candidate with an index.html.

    With none, the first candidate, so that the page explaining what is missing
    names where a wheel would have put the files.
    """
    candidates = static_dir_candidates()
    for candidate in candidates:
        if (candidate / "index.html").is_file():
            return candidate
    return candidates[0]


def addon_source() -> Path:
    """The add-on's package folder (`addon/flamenco` in the checkout)."""
    candidates = [INSTALLED_ADDON_DIR, CHECKOUT_ADDON_DIR]
    for candidate in candidates:
        if (candidate / "__init__.py").is_file():
            return candidate
    raise AddonNotAvailable(
        "the Blender add-on is not part of this installation (looked in "
        + ", ".join(str(candidate) for candidate in candidates)
        + ")"
    )
