"""Warnings about frames that rendered but look wrong: all black, or the same as the last."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from flamenco.frame_checks import looks
from support import images


def frame(folder: Path, number: int, colour: tuple[int, int, int]) -> str:
    path = folder / f"{number:04d}.png"
    image = Image.new("RGBA", (32, 18), (*colour, 255))
    image.save(path)
    return str(path)


def test_black_and_identical_frames(tmp_path: Path) -> None:
    paths = [
        frame(tmp_path, 1, (10, 20, 30)),
        frame(tmp_path, 2, (0, 0, 0)),
        frame(tmp_path, 3, (10, 20, 30)),
        frame(tmp_path, 4, (10, 20, 30)),  # the same as 3
        frame(tmp_path, 5, (11, 20, 30)),
    ]
    assert looks.frame_warnings(paths, ["black", "identical"]) == {
        paths[1]: "every pixel is black",
        paths[3]: f"identical to the frame before it ({paths[2]})",
    }
    assert looks.frame_warnings(paths, ["black"]) == {paths[1]: "every pixel is black"}
    assert looks.frame_warnings(paths, []) == {}


def test_black_with_transparency_and_previous_frame_from_another_task(tmp_path: Path) -> None:
    earlier = frame(tmp_path, 1, (5, 5, 5))
    later = frame(tmp_path, 2, (5, 5, 5))
    transparent_black = tmp_path / "0003.png"
    Image.new("RGBA", (8, 8), (0, 0, 0, 0)).save(transparent_black)
    found = looks.frame_warnings([later, str(transparent_black)], ["black", "identical"], earlier)
    assert found == {
        later: f"identical to the frame before it ({earlier})",
        str(transparent_black): "every pixel is black",
    }


def test_frames_pillow_cannot_decode_get_no_warning(tmp_path: Path) -> None:
    exr = tmp_path / "0001.exr"
    exr.write_bytes(images.openexr(8, 8))
    second = tmp_path / "0002.exr"
    second.write_bytes(images.openexr(8, 8))
    assert looks.frame_warnings([str(exr), str(second)], ["black", "identical"]) == {}
