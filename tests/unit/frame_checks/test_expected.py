"""Which files a Blender command line writes, named as Blender names them."""

from __future__ import annotations

import pytest

from flamenco.frame_checks import expected


@pytest.mark.parametrize(
    ("pattern", "frame", "image_format", "path"),
    [
        ("/render/shot/######", 7, "PNG", "/render/shot/000007.png"),
        ("/render/shot/frame_", 12, "OPEN_EXR", "/render/shot/frame_0012.exr"),
        ("/render/shot/a_##_b", 3, "JPEG", "/render/shot/a_03_b.jpg"),
        # Only the last run of '#' in the file name counts, never one in a folder.
        ("/render/v##/f_#_x_###", 5, "PNG", "/render/v##/f_#_x_005.png"),
        ("/render/v##/frame", 5, "PNG", "/render/v##/frame0005.png"),
        # An extension the format writes is kept, in any case.
        ("/render/f_####.JPEG", 9, "JPEG", "/render/f_0009.JPEG"),
        ("/render/f_####.png", 9, "OPEN_EXR", "/render/f_0009.png.exr"),
        ("C:\\render\\####", 1234, "TIFF", "C:\\render\\1234.tif"),
        ("/render/###", 12345, "PNG", "/render/12345.png"),
        ("/render/####", -3, "PNG", "/render/-0003.png"),
    ],
)
def test_frame_path(pattern: str, frame: int, image_format: str, path: str) -> None:
    assert expected.frame_path(pattern, frame, image_format) == path


def test_frame_path_without_extension() -> None:
    assert expected.frame_path("/r/####", 1, "PNG", use_extension=False) == "/r/0001"


@pytest.mark.parametrize(
    ("text", "frames"),
    [
        ("7", [7]),
        ("1..3", [1, 2, 3]),
        ("1,3,5..7", [1, 3, 5, 6, 7]),
        ("-2..1", [-2, -1, 0, 1]),
        ("+1", None),
        ("1..+3", None),
        ("3..1", None),
        ("x", None),
        ("", None),
    ],
)
def test_parse_frames(text: str, frames: list[int] | None) -> None:
    assert expected.parse_frames(text) == frames


def test_simple_blender_render_command_line() -> None:
    args = [
        "-b", "-y", "/jobs/shot.blend",
        "--scene", "Scene",
        "--python-expr", "import bpy",
        "--render-output", "/render/shot/2026-12-05_010203/######",
        "--render-format", "PNG",
        "--render-frame", "11..13",
    ]  # fmt: skip
    output = expected.render_output(args)
    assert output is not None
    assert output.paths() == [
        (11, "/render/shot/2026-12-05_010203/000011.png"),
        (12, "/render/shot/2026-12-05_010203/000012.png"),
        (13, "/render/shot/2026-12-05_010203/000013.png"),
    ]


def test_relative_output_is_relative_to_the_blend_file() -> None:
    output = expected.render_output(["-o", "//out/f_", "-F", "PNG", "-f", "1"], "/jobs/a/s.blend")
    assert output is not None
    assert output.path_for(1) == "/jobs/a/out/f_0001.png"


@pytest.mark.parametrize(
    "args",
    [
        ["-o", "/r/####", "-F", "PNG"],  # no frames
        ["-o", "/r/####", "-f", "1"],  # the blend file's format: unknown here
        ["-F", "PNG", "-f", "1"],  # the blend file's output path
        ["-o", "/r/####", "-F", "PNG", "-a"],  # the blend file's frame range
        ["-o", "/r/####", "-F", "FFMPEG", "-f", "1..3"],  # a movie
        ["-o", "/r/####", "-F", "PNG", "-f", "+2"],
        ["-o", "//r/####", "-F", "PNG", "-f", "2"],  # relative, to no known blend file
    ],
)
def test_command_lines_that_do_not_say(args: list[str]) -> None:
    assert expected.render_output(args) is None


def test_outputs_of_task_commands() -> None:
    commands = [
        {"name": "echo", "parameters": {"message": "hi"}},
        {
            "name": "blender-render",
            "parameters": {
                "blendfile": "/j/s.blend",
                "args": ["-o", "/r/##", "-F", "JPEG", "-f", "4"],
            },
        },
        {"name": "blender-render", "parameters": {"args": ["-f", "4"]}},
    ]
    outputs = expected.blender_render_outputs(commands)
    assert [output.paths() for output in outputs] == [[(4, "/r/04.jpg")]]
