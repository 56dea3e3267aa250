"""The add-on's modules importable as `flamenco_addon`, and the Blenders its tests run in.

Inside Blender the add-on is the package `flamenco`; here that name belongs to
the Manager and Worker under src/. The add-on's folder is registered as a
package under another name without running its `__init__.py` (which needs
bpy), so `from flamenco_addon import job_settings` loads addon/flamenco/
job_settings.py, and its relative imports stay inside the add-on.
"""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest

from support.blender_runner import BlenderRunner, BlenderUnavailable, blender_binary, bpy_module

ADDON_DIR = Path(__file__).resolve().parents[2] / "addon" / "flamenco"
ALIAS = "flamenco_addon"

if ALIAS not in sys.modules:
    package = types.ModuleType(ALIAS, "The Flamenco add-on's modules, loaded without Blender.")
    package.__path__ = [str(ADDON_DIR)]
    package.__file__ = str(ADDON_DIR / "__init__.py")
    sys.modules[ALIAS] = package


@pytest.fixture(scope="session", params=["blender", "bpy-4.5"])
def blender_runner(request: pytest.FixtureRequest) -> BlenderRunner:
    """Each add-on test in real Blender runs twice: in Debian's blender binary (3.4.1
    there) and in Blender 4.5 LTS, what studios run today, as PyPI's bpy module."""
    try:
        if request.param == "blender":
            return blender_binary()
        return bpy_module()
    except BlenderUnavailable as error:
        # In CI, tests/conftest.py turns this skip into a failure.
        pytest.skip(str(error))
