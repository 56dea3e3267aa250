"""Last rendered images: newest wins, conversion to JPEG, and failed uploads that change nothing."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from flamenco.worker.client import Answer, ManagerUnreachable
from flamenco.worker.output_uploader import OutputUploader, load_as_jpeg

Image = pytest.importorskip("PIL.Image")


class Sender:
    def __init__(self, status: int = 202) -> None:
        self.uploads: list[tuple[str, bytes, str]] = []
        self.status = status

    async def task_output_produced(self, task_id: str, image: bytes, content_type: str) -> Answer:
        if self.status == 0:
            raise ManagerUnreachable("down")
        self.uploads.append((task_id, image, content_type))
        return Answer(self.status, None)


def test_only_the_newest_waiting_image_is_kept() -> None:
    uploader = OutputUploader(Sender())
    uploader.offer("task", "/frames/0001.png")
    uploader.offer("task", "/frames/0002.png")
    assert uploader.take() == ("task", Path("/frames/0002.png"))
    assert uploader.take() is None


@pytest.mark.parametrize(("suffix", "mode"), [("png", "RGBA"), ("tiff", "RGB"), ("jpg", "RGB")])
def test_images_become_jpeg(tmp_path: Path, suffix: str, mode: str) -> None:
    path = tmp_path / f"frame.{suffix}"
    Image.new(mode, (64, 36), (255, 0, 0)).save(path)
    jpeg = load_as_jpeg(path)
    assert jpeg is not None
    with Image.open(io.BytesIO(jpeg)) as decoded:
        assert decoded.format == "JPEG"
        assert decoded.size == (64, 36)


def test_sixteen_bit_png_is_scaled_not_clipped(tmp_path: Path) -> None:
    path = tmp_path / "deep.png"
    Image.new("I;16", (8, 8), 32768).save(path)
    jpeg = load_as_jpeg(path)
    assert jpeg is not None
    with Image.open(io.BytesIO(jpeg)) as decoded:
        assert 120 <= decoded.getpixel((4, 4)) <= 136


def test_unreadable_files_are_skipped(tmp_path: Path) -> None:
    exr = tmp_path / "frame.exr"
    exr.write_bytes(b"v/1\x01 not an image Pillow reads")
    assert load_as_jpeg(exr) is None
    assert load_as_jpeg(tmp_path / "missing.png") is None


@pytest.mark.parametrize("status", [202, 429, 501, 0])
async def test_upload_outcomes_never_raise(tmp_path: Path, status: int) -> None:
    path = tmp_path / "frame.png"
    Image.new("RGB", (4, 4)).save(path)
    sender = Sender(status)
    await OutputUploader(sender).upload("task-1", path)
    if status:
        assert sender.uploads[0][0] == "task-1"
        assert sender.uploads[0][2] == "image/jpeg"
