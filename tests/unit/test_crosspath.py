"""Tests for flamenco.crosspath: the same inputs and answers as upstream's pkg/crosspath."""

from __future__ import annotations

import os

import pytest

from flamenco import crosspath


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("", "."),
        ("justafile.txt", "justafile.txt"),
        ("/Linux path/with spaces.txt", "with spaces.txt"),
        ("C:\\ünicode\\is\\awésom.tar.gz", "awésom.tar.gz"),
        (
            "\\\\?\\UNC\\ComputerName\\SharedFolder\\Resource with ext.ension",
            "Resource with ext.ension",
        ),
        ("/trailing/slash/", "slash"),
        ("///", "/"),
    ],
)
def test_base(path: str, expected: str) -> None:
    assert crosspath.base(path) == expected


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("", "."),
        ("justafile.txt", "."),
        ("/", "/"),
        ("/file-at-root", "/"),
        ("C:\\file-at-root", "C:"),
        ("/Linux path/with spaces.txt", "/Linux path"),
        ("/Mixed path\\with/slash.txt", "/Mixed path/with"),
        ("C:\\ünicode\\is\\awésom.tar.gz", "C:/ünicode/is"),
        ("\\\\SERVER\\ünicode\\is\\awésom.tar.gz", "//SERVER/ünicode/is"),
        ("\\\\?\\UNC\\ComputerName\\SharedFolder\\Resource", "//?/UNC/ComputerName/SharedFolder"),
    ],
)
def test_dir(path: str, expected: str) -> None:
    assert crosspath.dir(path) == expected


@pytest.mark.parametrize(
    ("elements", "expected"),
    [
        ((), ""),
        (("",), ""),
        (("", ""), ""),
        (("", "", "a", "", "b", ""), "a/b"),
        (("/", "file-at-root"), "/file-at-root"),
        (("C:", "file-at-root"), "C:/file-at-root"),
        (("/Linux path", "with spaces.txt"), "/Linux path/with spaces.txt"),
        (("C:\\ünicode", "is\\awésom.tar.gz"), "C:/ünicode/is/awésom.tar.gz"),
        (("\\\\SERVER", "mount", "dir", "file.txt"), "//SERVER/mount/dir/file.txt"),
        (
            ("\\\\?\\UNC\\ComputerName", "SharedFolder\\Resource"),
            "//?/UNC/ComputerName/SharedFolder/Resource",
        ),
        (("a/b/../c", "./d"), "a/c/d"),
        (("/..", "x"), "/x"),
        (("..", "x"), "../x"),
    ],
)
def test_join(elements: tuple[str, ...], expected: str) -> None:
    assert crosspath.join(*elements) == expected


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("", ""),
        ("stem", "stem"),
        ("stem.txt", "stem"),
        ("stem.tar.gz", "stem.tar"),
        ("/path/to/file.txt", "file"),
        ("C:\\path\\to\\file.txt", "file"),
        ("C:\\path\\to/mixed/slashes/file.txt", "file"),
        ("C:\\path/to\\mixed/slashes\\file.txt", "file"),
        ("\\\\?\\UNC\\ComputerName\\SharedFolder\\Resource with ext.ension", "Resource with ext"),
    ],
)
def test_stem(path: str, expected: str) -> None:
    assert crosspath.stem(path) == expected


@pytest.mark.parametrize(
    ("path", "slashed"),
    [
        ("", ""),
        (".", "."),
        ("/some/simple/path", "/some/simple/path"),
        ("C:\\path\\to\\file.txt", "C:/path/to/file.txt"),
        ("C:\\path\\to/mixed/slashes/file.txt", "C:/path/to/mixed/slashes/file.txt"),
        (
            "\\\\?\\UNC\\ComputerName\\SharedFolder\\Resource with ext.ension",
            "//?/UNC/ComputerName/SharedFolder/Resource with ext.ension",
        ),
    ],
)
def test_to_native(path: str, slashed: str) -> None:
    expected = slashed.replace("/", "\\") if os.sep == "\\" else slashed
    assert crosspath.to_native(path) == expected


def test_to_slash_converts_backslashes_on_every_platform() -> None:
    assert crosspath.to_slash("C:\\a/b\\c") == "C:/a/b/c"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("", False),
        ("/", True),
        ("C:", True),
        ("C:/", True),
        ("C:\\", True),
        ("z:", True),
        ("\\", False),
        ("just letters", False),
        ("/subdir", False),
        ("C:\\subdir", False),
        ("C:subdir", False),
        ("/subdir/..", False),
        ("\\\\NAS\\Share\\", False),
        ("//NAS/Share/", False),
        ("é:", False),
        ("1:", False),
    ],
)
def test_is_root(path: str, expected: bool) -> None:
    assert crosspath.is_root(path) is expected


@pytest.mark.parametrize(
    ("path", "platform", "expected"),
    [
        ("", "windows", ""),
        ("", "linux", ""),
        ("path with spaces", "windows", "path with spaces"),
        ("path with spaces", "linux", "path with spaces"),
        ("native\\path", "windows", "native\\path"),
        ("native/path", "linux", "native/path"),
        ("opposite/path", "windows", "opposite\\path"),
        ("opposite\\path", "linux", "opposite/path"),
        ("F:/mixed/path\\to\\file.blend", "windows", "F:\\mixed\\path\\to\\file.blend"),
        ("F:/mixed/path\\to\\file.blend", "linux", "F:/mixed/path/to/file.blend"),
        ("F:/absolute/path", "windows", "F:\\absolute\\path"),
        ("/absolute/path", "linux", "/absolute/path"),
        ("/absolute/path", "windows", "\\absolute\\path"),
        # A bare drive keeps its separator: `F:` alone means "current dir on F".
        ("F:\\", "windows", "F:\\"),
        ("F:\\directory\\", "linux", "F:/directory"),
        ("/dir/path/", "windows", "\\dir\\path"),
        ("\\\\NAS\\share\\path", "windows", "\\\\NAS\\share\\path"),
        ("\\\\NAS\\share\\path", "linux", "//NAS/share/path"),
        ("/double//separators", "darwin", "/double/separators"),
        ("F:relative", "windows", "F:\\relative"),
    ],
)
def test_to_platform(path: str, platform: str, expected: str) -> None:
    assert crosspath.to_platform(path, platform) == expected


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("", ""),
        ("/", "/"),
        ("\\", "\\"),
        ("///", "/"),
        ("\\\\\\", "\\"),
        ("/\\\\", "/"),
        ("\\//", "\\"),
        ("nothing/trailing\\here", "nothing/trailing\\here"),
        ("trailing/space/ ", "trailing/space/ "),
        ("trailing/slash/", "trailing/slash"),
        ("trailing/slashes///", "trailing/slashes"),
        ("trailing\\backslash\\", "trailing\\backslash"),
        ("trailing\\backslashes\\\\\\", "trailing\\backslashes"),
        ("F:\\", "F:"),
    ],
)
def test_trim_trailing_sep(path: str, expected: str) -> None:
    assert crosspath.trim_trailing_sep(path) == expected


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("F:path\\to\\file", "F:\\path\\to\\file"),
        ("F:path/to/file", "F:\\path/to/file"),
        ("F:", "F:\\"),
        ("", ""),
        ("/", "/"),
        ("/some/path", "/some/path"),
        ("/söme/path", "/söme/path"),
        ("F", "F"),
        ("©:path\\to\\thing", "©:path\\to\\thing"),
        ("\\\\NAS\\Flamenco\\path", "\\\\NAS\\Flamenco\\path"),
        ("€", "€"),
        ("F:\\some\\path", "F:\\some\\path"),
    ],
)
def test_ensure_drive_absolute(path: str, expected: str) -> None:
    assert crosspath.ensure_drive_absolute(path) == expected


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("\\\\SERVER\\Share\\path\\file.txt", True),
        ("\\\\.\\NUL", True),
        ("\\\\?\\UNC\\localhost\\c$\\temp\\foo.txt", True),
        ("\\\\", True),
        ("//blendfile/relative.path", False),
        ("C:\\normal\\drive\\path", False),
        ("/posix/path.txt", False),
        ("", False),
        ("\\", False),
    ],
)
def test_is_unc(path: str, expected: bool) -> None:
    assert crosspath.is_unc(path) is expected
