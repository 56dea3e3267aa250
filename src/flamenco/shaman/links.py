"""Putting a stored file into a checkout: a relative symbolic link, else a hard link, else a copy.

Upstream only makes symbolic links, which ordinary Windows accounts, FAT and
some network shares cannot. In `auto` mode the Linker starts with symbolic
links and, the first time the platform refuses one, switches to hard links for
good, then to copies, logging each switch once. A forced mode never switches.
"""

from __future__ import annotations

import enum
import errno
import logging
import os
import shutil
import threading
from collections.abc import Callable
from pathlib import Path

logger = logging.getLogger(__name__)


class LinkMode(enum.StrEnum):
    """How checkouts refer to stored files (the `shaman.link_mode` setting)."""

    AUTO = "auto"
    SYMLINK = "symlink"
    HARDLINK = "hardlink"
    COPY = "copy"


# Errors that say "this platform or file system cannot do that at all", as
# opposed to a problem with one particular file or directory.
_UNSUPPORTED_ERRNOS = frozenset({errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS})
_HARDLINK_UNSUPPORTED_ERRNOS = _UNSUPPORTED_ERRNOS | {errno.EXDEV}
# Windows: ERROR_INVALID_FUNCTION (no hard links on FAT), ERROR_NOT_SAME_DEVICE,
# ERROR_PRIVILEGE_NOT_HELD (symlinks without Developer Mode or the policy).
_UNSUPPORTED_WINERRORS = frozenset({1, 17, 1314})

# The order in which `auto` tries them.
_METHODS = (LinkMode.SYMLINK, LinkMode.HARDLINK, LinkMode.COPY)

_SWITCH_MESSAGES = {
    LinkMode.HARDLINK: "shaman: this platform cannot make symbolic links here, "
    "checkouts use hard links instead",
    LinkMode.COPY: "shaman: this platform cannot make symbolic or hard links here, "
    "checkouts use copies instead",
}

# Paths are plain strings: a checkout places thousands of files, and pathlib's
# overhead per path would be most of the time spent.
SymlinkFunction = Callable[[str, str], None]
HardlinkFunction = Callable[[str, str], None]
CopyFunction = Callable[[str, str], object]


def _symlink(target: str, link: str) -> None:
    os.symlink(target, link)


def _hardlink(source: str, link: str) -> None:
    os.link(source, link)


class Linker:
    """Places stored files in checkouts; safe to use from several threads.

    The link functions can be replaced, so that tests can play a platform
    that refuses symbolic or hard links.
    """

    def __init__(
        self,
        mode: LinkMode,
        *,
        symlink: SymlinkFunction = _symlink,
        hardlink: HardlinkFunction = _hardlink,
        copy: CopyFunction = shutil.copyfile,
    ) -> None:
        self.mode = mode
        self._method: LinkMode = LinkMode.SYMLINK if mode is LinkMode.AUTO else mode
        self._symlink = symlink
        self._hardlink = hardlink
        self._copy = copy
        self._lock = threading.Lock()

    @property
    def method(self) -> LinkMode:
        """How the next file will be placed: symlink, hardlink or copy."""
        return self._method

    def place_blocking(
        self, blob: str | Path, link: str | Path, *, symlink_target: str | None = None
    ) -> LinkMode:
        """Make `link` give the content of `blob`; returns how it was done.

        `symlink_target` is the text of a symbolic link, when the caller knows it
        already; by default, the path of `blob` relative to the link's directory.
        """
        blob, link = os.fspath(blob), os.fspath(link)
        current = self._method
        if self.mode is not LinkMode.AUTO:
            self._place_with(current, blob, link, symlink_target)
            return current
        switch_to: LinkMode | None = None
        cause: BaseException | None = None
        for method in _METHODS[_METHODS.index(current) :]:
            try:
                self._place_with(method, blob, link, symlink_target)
            except (OSError, NotImplementedError) as error:
                if method is LinkMode.COPY:
                    raise
                if isinstance(error, OSError) and error.errno == errno.EMLINK:
                    continue  # This one file has too many links; the next one may not.
                if not _unsupported(error, method):
                    raise
                switch_to, cause = _METHODS[_METHODS.index(method) + 1], error
                continue
            if switch_to is not None and cause is not None:
                self._switch_to(switch_to, cause)
            return method
        raise AssertionError("copying neither worked nor failed")

    def _place_with(
        self, method: LinkMode, blob: str, link: str, symlink_target: str | None
    ) -> None:
        if method is LinkMode.SYMLINK:
            self._symlink(symlink_target or _link_target(blob, link), link)
        elif method is LinkMode.HARDLINK:
            self._hardlink(blob, link)
        else:
            self._copy(blob, link)

    def _switch_to(self, method: LinkMode, cause: BaseException) -> None:
        with self._lock:
            if _rank(method) <= _rank(self._method):
                return  # Another thread got there first.
            self._method = method
        logger.warning(
            _SWITCH_MESSAGES[method],
            extra={"link_mode": self.mode.value, "cause": str(cause)},
        )


def _rank(method: LinkMode) -> int:
    return _METHODS.index(method)


def _unsupported(error: BaseException, method: LinkMode) -> bool:
    if isinstance(error, NotImplementedError):
        return True  # Python without os.symlink support on this platform.
    assert isinstance(error, OSError)
    if getattr(error, "winerror", None) in _UNSUPPORTED_WINERRORS:
        return True
    if method is LinkMode.HARDLINK:
        return error.errno in _HARDLINK_UNSUPPORTED_ERRNOS
    return error.errno in _UNSUPPORTED_ERRNOS


def _link_target(blob: str, link: str) -> str:
    """The target for a symbolic link at `link`: relative, so mounts elsewhere work too."""
    try:
        return os.path.relpath(blob, os.path.dirname(link))
    except ValueError:
        # Windows, different drives: no relative path exists.
        return blob
