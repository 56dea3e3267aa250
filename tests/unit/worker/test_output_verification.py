"""The Worker's checks after `blender-render`: missing and broken frames fail, odd ones warn."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from flamenco.worker import output_verification


def args_for(folder: Path, frames: str) -> list[str]:
    return ["-b", "scene.blend", "-o", f"{folder}/f_####", "-F", "PNG", "-f", frames]


def write(folder: Path, frame: int, colour: tuple[int, int, int]) -> Path:
    path = folder / f"f_{frame:04d}.png"
    Image.new("RGB", (16, 9), colour).save(path)
    return path


def test_expected_paths_add_what_blender_said_it_saved(tmp_path: Path) -> None:
    saved = [f"{tmp_path}/f_0001.png", f"{tmp_path}/extra.png"]
    assert output_verification.expected_paths(args_for(tmp_path, "1..2"), "", saved) == [
        f"{tmp_path}/f_0001.png",
        f"{tmp_path}/f_0002.png",
        f"{tmp_path}/extra.png",
    ]


async def test_all_there_is_logged(tmp_path: Path) -> None:
    paths = [str(write(tmp_path, frame, (9, 9, 9))) for frame in (1, 2)]
    log: list[str] = []
    await output_verification.verify("blender-render", paths, log.append)
    assert log == ["blender-render: checked 2 frames: all there and whole"]


async def test_missing_and_broken_fail_naming_each(tmp_path: Path) -> None:
    paths = [str(write(tmp_path, frame, (9, 9, 9))) for frame in range(1, 6)]
    for path in paths[1:]:
        Path(path).write_bytes(b"")
    log: list[str] = []
    with pytest.raises(output_verification.FramesNotWritten) as failure:
        await output_verification.verify("blender-render", paths, log.append)
    assert str(failure.value) == (
        f"blender-render: 4 of 5 frames missing or broken: {paths[1]}, {paths[2]}, {paths[3]}"
        " and 1 more"
    )
    lines = log[0].splitlines()
    assert lines[0] == f"broken frame {paths[1]}: the file is empty; set aside as {paths[1]}.broken"
    assert len(lines) == 4


async def test_black_and_identical_frames_are_warnings(tmp_path: Path) -> None:
    write(tmp_path, 4, (1, 2, 3))  # rendered by another task, before this one
    write(tmp_path, 5, (1, 2, 3))
    write(tmp_path, 6, (0, 0, 0))
    write(tmp_path, 7, (7, 7, 7))
    log: list[str] = []
    await output_verification.warn_about_looks(
        args_for(tmp_path, "5..7"), "", ["black", "identical"], log.append
    )
    assert log == [
        f"warning: frame {tmp_path}/f_0005.png: identical to the frame before it"
        f" ({tmp_path}/f_0004.png)",
        f"warning: frame {tmp_path}/f_0006.png: every pixel is black",
    ]
