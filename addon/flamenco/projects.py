"""Finding a blend file's project folder: the top folder that gets packed (no bpy)."""

import dataclasses
import os
from pathlib import Path
from typing import Dict


@dataclasses.dataclass(frozen=True)
class ProjectFinder:
    label: str
    description: str
    marker: str


# The keys are stored in Blender's preferences, so they must never change.
FINDERS: Dict[str, ProjectFinder] = {
    "BLENDER_PROJECT": ProjectFinder(
        "Blender Project",
        "The nearest folder above the blend file that holds a .blender_project folder",
        ".blender_project",
    ),
    "GIT": ProjectFinder(
        "Git",
        "The nearest folder above the blend file that holds a .git folder",
        ".git",
    ),
    "SUBVERSION": ProjectFinder(
        "Subversion",
        "The nearest folder above the blend file that holds a .svn folder",
        ".svn",
    ),
}

DEFAULT_FINDER = "BLENDER_PROJECT"


def absolute(path: Path) -> Path:
    """An absolute, normalised path, without resolving symlinks.

    Symlinks are kept because a studio's project folder is often reached
    through one, and the pack must mirror the path the artist sees.
    """
    return Path(os.path.normpath(os.path.abspath(str(path))))


def project_root(blendfile: Path, finder: str) -> Path:
    """The folder above `blendfile` holding the finder's marker, else the blend file's folder."""
    if not str(blendfile):
        raise ValueError("the blend file has not been saved yet, so it has no project")
    try:
        marker = FINDERS[finder].marker
    except KeyError:
        raise ValueError("unknown project finder %r" % finder) from None

    start = absolute(blendfile).parent
    for directory in (start, *start.parents):
        if (directory / marker).exists():
            return directory
    return start
