"""Whether a rendered file is there, not empty, and whole: each format cut short is caught."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from flamenco.frame_checks import files
from flamenco.frame_checks.files import FrameState
from support import images


def pillow_image(image_format: str) -> bytes:
    buffer = io.BytesIO()
    # Noise, so that no format can squeeze the pixels into a few bytes.
    Image.effect_noise((64, 48), 60).convert("RGB").save(buffer, image_format)
    return buffer.getvalue()


FORMATS = {
    "png": lambda: pillow_image("PNG"),
    "jpg": lambda: pillow_image("JPEG"),
    "tif": lambda: pillow_image("TIFF"),
    "bmp": lambda: pillow_image("BMP"),
    "tga": lambda: pillow_image("TGA"),
    "webp": lambda: pillow_image("WEBP"),
    "exr": lambda: images.openexr(64, 48),
    "zip.exr": lambda: images.openexr(64, 48, lines_per_chunk=16),
}


@pytest.mark.parametrize("extension", FORMATS)
def test_a_whole_file_is_rendered(tmp_path: Path, extension: str) -> None:
    path = tmp_path / f"frame.{extension}"
    path.write_bytes(FORMATS[extension]())
    check = files.check_file(str(path))
    assert check.state == FrameState.RENDERED, check.problem
    assert check.size == path.stat().st_size


@pytest.mark.parametrize("extension", FORMATS)
@pytest.mark.parametrize("kept", [0.9, 0.75, 0.5, 0.1])
def test_a_file_cut_short_is_broken(tmp_path: Path, extension: str, kept: float) -> None:
    data = FORMATS[extension]()
    path = tmp_path / f"frame.{extension}"
    path.write_bytes(data[: int(len(data) * kept)])
    check = files.check_file(str(path))
    assert check.state == FrameState.BROKEN
    assert check.problem.startswith("not a") or check.problem.startswith("cannot read"), check


@pytest.mark.parametrize("extension", ["png", "jpg", "exr", "zip.exr"])
def test_the_last_byte_missing_is_noticed(tmp_path: Path, extension: str) -> None:
    path = tmp_path / f"frame.{extension}"
    path.write_bytes(FORMATS[extension]()[:-1])
    assert files.check_file(str(path)).state == FrameState.BROKEN


def test_exr_with_offsets_never_filled_in_is_broken(tmp_path: Path) -> None:
    # OpenEXR writes the offset table last: a writer that died leaves zeros.
    data = bytearray(images.openexr(8, 4))
    chunks = 4 * (8 + 2 * 8)  # four lines of eight HALF pixels, each with y and size
    second_offset = len(data) - chunks - 3 * 8
    data[second_offset : second_offset + 8] = bytes(8)
    path = tmp_path / "frame.exr"
    path.write_bytes(bytes(data))
    check = files.check_file(str(path))
    assert check.state == FrameState.BROKEN
    assert "chunk offset 0 lies outside the data" in check.problem


def test_missing_and_empty(tmp_path: Path) -> None:
    assert files.check_file(str(tmp_path / "nothing.png")).state == FrameState.MISSING
    (tmp_path / "empty.png").write_bytes(b"")
    empty = files.check_file(str(tmp_path / "empty.png"))
    assert (empty.state, empty.problem) == (FrameState.BROKEN, "the file is empty")
    assert empty.describe() == f"broken frame {tmp_path / 'empty.png'}: the file is empty"


def test_not_an_image_is_broken(tmp_path: Path) -> None:
    (tmp_path / "frame.png").write_bytes(b"<html>disk quota exceeded</html>")
    check = files.check_file(str(tmp_path / "frame.png"))
    assert (check.state, check.problem) == (FrameState.BROKEN, "not an image file that can be read")


def test_radiance_hdr_only_needs_to_be_there(tmp_path: Path) -> None:
    (tmp_path / "frame.hdr").write_bytes(b"#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y 1 +X 1\n")
    assert files.check_file(str(tmp_path / "frame.hdr")).state == FrameState.RENDERED


def test_broken_files_are_set_aside(tmp_path: Path) -> None:
    good, broken, gone = tmp_path / "1.png", tmp_path / "2.png", tmp_path / "3.png"
    png = FORMATS["png"]()
    good.write_bytes(png)
    broken.write_bytes(png[:100])
    checks = files.check_and_set_aside([str(good), str(broken), str(gone)])
    assert [check.state for check in checks] == ["rendered", "broken", "missing"]
    assert not broken.exists()
    assert (tmp_path / "2.png.broken").read_bytes() == png[:100]
    assert checks[1].problem.endswith(f"; set aside as {tmp_path / '2.png.broken'}")


def test_only_files_named_like_images_are_set_aside(tmp_path: Path) -> None:
    # A job names the files; it must not get any file renamed (`-x 0 -o /data/db-#`).
    precious = tmp_path / "db-1"
    precious.write_bytes(b"not an image")
    (check,) = files.check_and_set_aside([str(precious)])
    assert check.state == FrameState.BROKEN
    assert check.problem.endswith("(not set aside: its name has no image file extension)")
    assert precious.read_bytes() == b"not an image"
