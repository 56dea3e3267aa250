"""Platform-independent path strings: treat `/` and `\\` both as separators, whatever we run on.

These helpers understand Windows paths on POSIX and the other way around, because
the Manager rewrites paths for Workers on other platforms. Results may use forward
slashes. They mirror upstream Flamenco's `pkg/crosspath`, including its quirks, so
that paths reach Workers exactly as an upstream Manager would send them.
"""

from __future__ import annotations

import logging
import os

logger = logging.getLogger(__name__)

_SEPARATORS = "/\\"


def to_slash(path: str) -> str:
    """Replace every backslash with a forward slash, on every platform."""
    return path.replace("\\", "/")


def to_native(path: str) -> str:
    """Replace both kinds of separator with the separator of the platform we run on."""
    if os.sep == "\\":
        return path.replace("/", "\\")
    return to_slash(path)


def base(path: str) -> str:
    """The last element of `path`; `.` for an empty path and `/` for only separators."""
    slashed = to_slash(path)
    if slashed == "":
        return "."
    stripped = slashed.rstrip("/")
    if stripped == "":
        return "/"
    return stripped.rpartition("/")[2]


def dir(path: str) -> str:
    """Everything but the last element of `path`, with forward slashes.

    Unlike a cleaning `dirname`, leading double separators survive, so UNC paths
    (`\\\\SERVER\\share\\file`) keep their `//SERVER` prefix.
    """
    if path == "":
        return "."
    head, separator, _ = to_slash(path).rpartition("/")
    if not separator:
        return "."
    directory = head + separator
    return directory[:-1] if len(directory) > 1 else directory


def join(*elements: str) -> str:
    """Join the non-empty elements with `/` and clean the result, as Go's path.Join does.

    Only forward slashes count as separators while cleaning; backslashes are
    turned into slashes afterwards, so `\\\\SERVER` keeps its double prefix.
    """
    non_empty = [element for element in elements if element]
    if not non_empty:
        return ""
    return to_slash(_clean("/".join(non_empty)))


def _clean(path: str) -> str:
    """Go's path.Clean: collapse separators, drop `.`, resolve `..` lexically."""
    if path == "":
        return "."
    rooted = path.startswith("/")
    parts: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts and parts[-1] != "..":
                parts.pop()
            elif not rooted:
                parts.append("..")
            # `..` at the root of a rooted path is just the root.
            continue
        parts.append(part)
    cleaned = "/".join(parts)
    if rooted:
        return "/" + cleaned
    return cleaned or "."


def stem(path: str) -> str:
    """The file name of `path` without its last extension."""
    name = base(path)
    dot = name.rfind(".")
    if dot < 0:
        return name
    return name[:dot]


def is_root(path: str) -> bool:
    """Whether `path` is `/` or a drive root (`C:`, `C:\\`, `C:/`).

    This is purely textual: symlinks and `..` are not resolved.
    """
    if path == "/":
        return True
    if not 2 <= len(path) <= 3 or path[1] != ":":
        return False
    if len(path) == 3 and path[2] not in _SEPARATORS:
        return False
    return _is_drive_letter(path[0])


def _is_drive_letter(character: str) -> bool:
    # Only Latin letters: str.isalpha() would also accept letters like `é`.
    return "A" <= character <= "Z" or "a" <= character <= "z"


def _separator_for(platform: str) -> str:
    return "\\" if platform == "windows" else "/"


def to_platform(path: str, platform: str) -> str:
    """`path` with its separators made right for `platform` (a Go GOOS name like `windows`).

    Every `/` and `\\` is taken to be a separator. Runs of separators collapse and
    trailing ones go, but leading ones are kept, so absolute and UNC paths stay
    what they are. For Windows, a drive-relative `F:path` becomes `F:\\path`.
    """
    if path == "":
        return ""
    leading = len(path) - len(path.lstrip(_SEPARATORS))
    components = [""] * leading + [part for part in _split_separators(path) if part]
    translated = _separator_for(platform).join(components)
    if platform == "windows":
        return ensure_drive_absolute(translated)
    return translated


def _split_separators(path: str) -> list[str]:
    return to_slash(path).split("/")


def trim_trailing_sep(path: str) -> str:
    """Remove trailing separators, but keep a path that is only separators as its first one."""
    if path == "":
        return ""
    trimmed = path.rstrip(_SEPARATORS)
    return trimmed or path[0]


def ensure_drive_absolute(windows_path: str) -> str:
    """Make a drive-relative Windows path absolute: `F:path\\file` becomes `F:\\path\\file`."""
    if len(windows_path) < 2 or windows_path[1] != ":" or not _is_drive_letter(windows_path[0]):
        return windows_path
    if len(windows_path) == 2:
        return windows_path + "\\"
    if windows_path[2] == "\\":
        return windows_path
    return windows_path[:2] + "\\" + windows_path[2:]


def is_unc(windows_path: str) -> bool:
    """Whether `windows_path` is in UNC notation (`\\\\SERVER\\share`), which Flamenco can't use."""
    return windows_path.startswith("\\\\")
