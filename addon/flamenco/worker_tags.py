"""The worker tag enum, filled from the Manager's worker tags."""

import zlib
from typing import Any, Dict, List, Optional, Tuple

import bpy

from . import manager_cache

ALL_WORKERS = "-"

_enum_items: List[Tuple[str, str, str, str, int]] = []
_known = False


def _enum_number(identifier: str) -> int:
    # Stable numbers, so a saved choice survives tags being listed in another order.
    return (zlib.crc32(identifier.encode("utf-8")) & 0x7FFFFFFE) + 1


def set_available(tags: Optional[List[Dict[str, Any]]]) -> None:
    """Rebuild the items; None means "not known yet" (never refreshed)."""
    global _known
    _enum_items.clear()
    _known = tags is not None
    if tags is None:
        _enum_items.append(
            (ALL_WORKERS, "-tags unknown-", "Refresh to load the Manager's worker tags", "NONE", 0)
        )
        return
    _enum_items.append(
        (ALL_WORKERS, "All", "No specific tag: any Worker can work on this job", "NONE", 0)
    )
    for tag in tags:
        tag_id = str(tag["id"])
        _enum_items.append(
            (
                tag_id,
                str(tag.get("name") or tag_id),
                str(tag.get("description") or ""),
                "NONE",
                _enum_number(tag_id),
            )
        )


def _items(_self: Any, _context: Any) -> List[Tuple[str, str, str, str, int]]:
    if not _enum_items:
        info = manager_cache.cached()
        set_available(info.worker_tags if info is not None else None)
    return _enum_items


def selected_id(scene: Optional[bpy.types.Scene]) -> str:
    if scene is None:
        return ""
    tag = str(getattr(scene, "flamenco_worker_tag", "") or "")
    return "" if tag == ALL_WORKERS else tag


def select(scene: bpy.types.Scene, tag_id: str) -> bool:
    try:
        scene.flamenco_worker_tag = tag_id
    except TypeError:
        scene.property_unset("flamenco_worker_tag")
        return False
    return True


def register() -> None:
    bpy.types.Scene.flamenco_worker_tag = bpy.props.EnumProperty(
        name="Worker Tag",
        description="The Workers that may work on this job",
        items=_items,
        default=0,
    )


def unregister() -> None:
    if hasattr(bpy.types.Scene, "flamenco_worker_tag"):
        del bpy.types.Scene.flamenco_worker_tag
    _enum_items.clear()
