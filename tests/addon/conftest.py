"""Makes the add-on's Blender-free modules importable as `flamenco_addon`, apart from `flamenco`.

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

ADDON_DIR = Path(__file__).resolve().parents[2] / "addon" / "flamenco"
ALIAS = "flamenco_addon"

if ALIAS not in sys.modules:
    package = types.ModuleType(ALIAS, "The Flamenco add-on's modules, loaded without Blender.")
    package.__path__ = [str(ADDON_DIR)]
    package.__file__ = str(ADDON_DIR / "__init__.py")
    sys.modules[ALIAS] = package
