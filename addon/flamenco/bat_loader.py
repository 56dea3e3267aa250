"""Importing Blender Asset Tracer: the copy bundled in the add-on's zip comes first (no bpy)."""

import importlib
import logging
import sys
from pathlib import Path
from types import ModuleType

log = logging.getLogger(__name__)

# The Manager's zip puts the blender_asset_tracer package here, so that the
# add-on installs without internet access.
VENDOR_DIR = Path(__file__).resolve().parent / "vendor"
PACKAGE = "blender_asset_tracer"


class BATMissing(ImportError):
    """Blender Asset Tracer can be found neither in the add-on nor in Blender's Python."""


def _is_from(module: ModuleType, directory: Path) -> bool:
    filename = getattr(module, "__file__", None)
    if not filename:
        return False
    try:
        Path(filename).resolve().relative_to(directory)
    except ValueError:
        return False
    return True


def load() -> ModuleType:
    """Import `blender_asset_tracer.pack`, from the bundled copy when there is one."""
    if (VENDOR_DIR / PACKAGE).is_dir():
        vendor = str(VENDOR_DIR)
        if vendor not in sys.path:
            sys.path.insert(0, vendor)
        loaded = sys.modules.get(PACKAGE)
        if loaded is not None and not _is_from(loaded, VENDOR_DIR):
            # Another add-on imported its own BAT; ours is the one we were
            # tested with, so forget theirs (their module objects keep working).
            log.info("replacing %s loaded from %s", PACKAGE, getattr(loaded, "__file__", "?"))
            for name in [name for name in sys.modules if name.split(".")[0] == PACKAGE]:
                del sys.modules[name]
    had_multiprocessing = "multiprocessing" in sys.modules
    try:
        module = importlib.import_module(PACKAGE + ".pack")
    except ImportError as error:
        raise BATMissing(
            "Blender Asset Tracer is missing (%s); install the add-on from the Manager's "
            "flamenco-addon.zip, which includes it" % error
        ) from None
    if not had_multiprocessing:
        _drop_main_module_alias()
    return module


def _drop_main_module_alias() -> None:
    """Undo multiprocessing's `__mp_main__` alias of `__main__`.

    BAT imports multiprocessing (for a thread pool), which registers
    `sys.modules["__mp_main__"]` as the current `__main__`. Under
    `blender --python script.py` that is the script's temporary module, which
    Blender frees after the script runs; on exit Blender then walks
    sys.modules and crashes on the dangling alias (segfault, exit code 139).
    The alias only matters for spawning processes, which BAT never does.
    """
    if sys.modules.get("__mp_main__") is sys.modules.get("__main__"):
        sys.modules.pop("__mp_main__", None)


def version() -> str:
    module = sys.modules.get(PACKAGE)
    return str(getattr(module, "__version__", "unknown"))
