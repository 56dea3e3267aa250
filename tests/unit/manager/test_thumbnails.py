"""Images refused by their header alone; thumbnails of whatever JPEG or PNG passes."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from flamenco.manager.services.thumbnails import (
    MAX_PIXELS,
    SUFFIXES,
    ImageRefused,
    check_header,
    make_thumbnails_blocking,
)
from support.images import huge_png, png_header


@pytest.mark.parametrize(("width", "height"), [(8192, 8192), (16384, 4096), (1, MAX_PIXELS)])
def test_up_to_the_pixel_limit_is_fine(width: int, height: int) -> None:
    check_header(huge_png(width, height))


@pytest.mark.parametrize(("width", "height"), [(8193, 8192), (65535, 65535), (1, MAX_PIXELS + 1)])
def test_beyond_the_pixel_limit_is_413(width: int, height: int) -> None:
    with pytest.raises(ImageRefused) as refused:
        check_header(png_header(width, height))
    assert refused.value.status == 413


@pytest.mark.parametrize(
    ("mode", "file_format", "options"),
    [
        ("RGB", "JPEG", {}),
        ("RGB", "JPEG", {"progressive": True}),
        ("L", "JPEG", {}),
        ("CMYK", "JPEG", {}),
        ("RGB", "PNG", {}),
        ("RGBA", "PNG", {}),
        ("L", "PNG", {}),
        ("LA", "PNG", {}),
        ("P", "PNG", {}),
        ("I;16", "PNG", {}),
        ("1", "PNG", {}),
    ],
)
def test_thumbnails_of_every_kind_of_image(
    tmp_path: Path, mode: str, file_format: str, options: dict[str, object]
) -> None:
    source = io.BytesIO()
    Image.new(mode, (3000, 1000)).save(source, file_format, **options)

    make_thumbnails_blocking(source.getvalue(), tmp_path)

    sizes = {}
    for name in SUFFIXES:
        with Image.open(tmp_path / name) as thumbnail:
            assert (thumbnail.format, thumbnail.mode) == ("JPEG", "RGB")
            sizes[name] = thumbnail.size
    assert list(sizes.values()) == [(1920, 640), (600, 200), (200, 67)]
