"""Validation of what clients send: checksums and sizes, checkout paths, file paths."""

from __future__ import annotations

import pytest

from flamenco.shaman import errors
from flamenco.shaman.checkout import parse_checkout_path, parse_file_path, plan_checkout
from flamenco.shaman.filestore import FileKey

SHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
OTHER_SHA = "a" * 64


def test_file_key_is_lower_case_and_names_its_directories() -> None:
    key = FileKey.parse(SHA.upper(), 4)
    assert key == FileKey(SHA, 4)
    assert key.partial_path.parts == (SHA[:2], SHA[2:])


@pytest.mark.parametrize(
    ("sha", "size"),
    [("abc", 1), ("../" + "a" * 61, 1), ("g" * 64, 1), (SHA, -1), (SHA, True), (SHA, "4"), (1, 1)],
)
def test_file_key_refuses_what_cannot_name_a_file(sha: object, size: object) -> None:
    with pytest.raises(errors.InvalidFileKey):
        FileKey.parse(sha, size)


@pytest.mark.parametrize(
    ("path", "parts"),
    [
        ("a", ("a",)),
        ("5e5be786-e6d7-480c-90e6-437f9ef5bf5d", ("5e5be786-e6d7-480c-90e6-437f9ef5bf5d",)),
        ("with spaces here", ("with spaces here",)),
        (
            "Sprite-Fright/scenename/jobname/2022-03-25-11-30-feb3",
            ("Sprite-Fright", "scenename", "jobname", "2022-03-25-11-30-feb3"),
        ),
        ("ránið/lélegt vélmenni", ("ránið", "lélegt vélmenni")),
        ("windows\\separators", ("windows", "separators")),
        ("trailing/", ("trailing",)),
        ("dots.in.names/..x/x..", ("dots.in.names", "..x", "x..")),
    ],
)
def test_valid_checkout_paths(path: str, parts: tuple[str, ...]) -> None:
    assert parse_checkout_path(path) == parts


@pytest.mark.parametrize(
    "path",
    [
        "",
        "/",
        "/blah",
        "c:/blah",
        "blah?",
        "blah*hi",
        "blah;hi",
        "blah:hi",
        "{x}",
        "path/../../../../etc/passwd",
        "..",
        "../x",
        "x/..",
        "./x",
        "x//y",
        "\\\\server\\share",
        "tab\there",
    ],
)
def test_invalid_checkout_paths(path: str) -> None:
    with pytest.raises(errors.InvalidCheckoutPath, match="invalid checkout path"):
        parse_checkout_path(path)


@pytest.mark.parametrize(
    ("path", "parts"),
    [
        ("scene.blend", ("scene.blend",)),
        ("textures/wood.png", ("textures", "wood.png")),
        ("./a//b/./c.png", ("a", "b", "c.png")),
        ("win\\style.png", ("win", "style.png")),
        ("shot:01.exr", ("shot:01.exr",)),
    ],
)
def test_valid_file_paths(path: str, parts: tuple[str, ...]) -> None:
    assert parse_file_path(path) == parts


@pytest.mark.parametrize(
    "path", ["", ".", "/etc/passwd", "../x", "a/../../x", "a/..", "C:/x", "c:x", "nul\0byte"]
)
def test_invalid_file_paths(path: str) -> None:
    with pytest.raises(errors.InvalidFilePath):
        parse_file_path(path)


def test_plan_drops_identical_duplicates() -> None:
    planned = plan_checkout(
        [
            {"sha": SHA, "size": 4, "path": "a.png"},
            {"sha": SHA, "size": 4, "path": "./a.png"},
            {"sha": SHA, "size": 4, "path": "b.png"},
        ]
    )
    assert [file.path for file in planned] == ["a.png", "b.png"]


@pytest.mark.parametrize(
    "files",
    [
        [{"sha": SHA, "size": 4, "path": "a.png"}, {"sha": OTHER_SHA, "size": 4, "path": "a.png"}],
        [{"sha": SHA, "size": 4, "path": "a"}, {"sha": SHA, "size": 4, "path": "a/b.png"}],
        [{"sha": SHA, "size": 4, "path": "a/b/c"}, {"sha": SHA, "size": 4, "path": "a/b"}],
    ],
)
def test_plan_refuses_conflicting_paths(files: list[dict[str, object]]) -> None:
    with pytest.raises(errors.InvalidFilePath):
        plan_checkout(files)  # type: ignore[arg-type]
