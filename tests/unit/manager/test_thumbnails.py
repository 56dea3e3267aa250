"""Images are refused by their header alone, before any pixel is decoded."""

from __future__ import annotations

import pytest

from flamenco.manager.services.thumbnails import MAX_PIXELS, ImageRefused, check_header
from support.images import huge_png, png_header


@pytest.mark.parametrize(("width", "height"), [(8192, 8192), (16384, 4096), (1, MAX_PIXELS)])
def test_up_to_the_pixel_limit_is_fine(width: int, height: int) -> None:
    check_header(huge_png(width, height))


@pytest.mark.parametrize(("width", "height"), [(8193, 8192), (65535, 65535), (1, MAX_PIXELS + 1)])
def test_beyond_the_pixel_limit_is_413(width: int, height: int) -> None:
    with pytest.raises(ImageRefused) as refused:
        check_header(png_header(width, height))
    assert refused.value.status == 413
