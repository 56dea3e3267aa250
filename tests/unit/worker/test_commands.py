"""Commands: argument assembly, output parsing, parameters, and the file-management commands."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
from pathlib import Path
from typing import Any

import pytest

from flamenco.worker.commands import COMMANDS, CommandContext, blender, ffmpeg, file_mgmt
from flamenco.worker.commands import exec as exec_command
from flamenco.worker.commands.base import go_quote, go_value
from flamenco.worker.errors import CommandError, ParameterInvalid, ParameterMissing
from support.fakes import FakeClock


class Recorder:
    def __init__(self) -> None:
        self.log: list[str] = []
        self.steps = 0
        self.outputs: list[str] = []


def context(
    name: str, parameters: dict[str, Any], **overrides: Any
) -> tuple[CommandContext, Recorder]:
    recorder = Recorder()

    def step() -> None:
        recorder.steps += 1

    values: dict[str, Any] = {
        "task_id": "1d54c6fe-1242-4c8f-bd63-5a09e358d7b6",
        "name": name,
        "parameters": parameters,
        "log_lines": recorder.log.extend,
        "step": step,
        "output_produced": recorder.outputs.append,
        "clock": FakeClock(),
    }
    values.update(overrides)
    return CommandContext(**values), recorder


# --- blender-render


def test_blender_simple_args() -> None:
    ctx, _ = context(
        "blender-render",
        {
            "exe": "/path/to/blender",
            "argsBefore": ["--background"],
            "blendfile": "file.blend",
            "args": ["--render-output", "/frames"],
        },
    )
    assert blender.build_args(ctx) == [
        "/path/to/blender",
        "--background",
        "file.blend",
        "--render-output",
        "/frames",
    ]


def test_blender_exe_args_go_before_args_before() -> None:
    exe = "D:\\Blender_3.2_stable\\blender.exe"
    ctx, _ = context(
        "blender-render",
        {
            "exe": exe,
            "exeArgs": ' --factory-startup --python-expr "import bpy; print(\\"hello world\\")"',
            "argsBefore": ["-no-audio"],
            "blendfile": "file with spaces.blend",
            "args": ["--debug"],
        },
    )
    assert blender.build_args(ctx) == [
        exe,
        "--factory-startup",
        "--python-expr",
        'import bpy; print("hello world")',
        "-no-audio",
        "file with spaces.blend",
        "--debug",
    ]


def test_blender_empty_blendfile_is_left_out() -> None:
    ctx, _ = context(
        "blender-render",
        {"exe": "blender", "argsBefore": ["-b"], "blendfile": "", "args": ["-f", "1"]},
    )
    assert blender.build_args(ctx) == ["blender", "-b", "-f", "1"]


def test_blender_bad_parameters() -> None:
    with pytest.raises(ParameterMissing, match='blender-render: mandatory parameter "exe"'):
        blender.build_args(context("blender-render", {"args": []})[0])
    with pytest.raises(ParameterInvalid, match='"argsBefore" has invalid value'):
        blender.build_args(context("blender-render", {"exe": "b", "argsBefore": "-b"})[0])
    with pytest.raises(ParameterInvalid, match='"exeArgs"'):
        blender.build_args(context("blender-render", {"exe": "b", "exeArgs": '"open'})[0])


@pytest.mark.parametrize(
    ("line", "saved", "frame_done"),
    [
        ("starting Blender", None, False),
        # Blender 3.x indents the Time line.
        ("Saved: '/path/to/file.exr'", "/path/to/file.exr", False),
        (" Time: 00:00.24 (Saving: 00:00.20)", None, True),
        ('skipping existing frame "/path/to/0001.png"', None, True),
        # Blender 4.5
        ("Time: 00:01.06", None, True),
        ('Skipping existing frame "/path/to/running-default-cube0001.jpg"', None, True),
        # Blender 5.0
        ("00:00.327  render           | Saved: '/path/to/file.exr'", "/path/to/file.exr", False),
        ("00:00.419  render           | Time: 00:01.06 (Saving: 00:00.02)", None, True),
        (
            '00:00.419  render           | Skipping existing frame "/path/to/cube0001.jpg"',
            None,
            True,
        ),
        ("Fra:1 Mem:8.88M (Peak 10.20M) | Time:00:00.06 | Scene | Updating Film", None, False),
    ],
)
def test_blender_output_lines(line: str, saved: str | None, frame_done: bool) -> None:
    result = blender.parse_line(line)
    assert result.saved == saved
    assert result.frame_done is frame_done


# --- frames-to-video


def video_parameters(**overrides: Any) -> dict[str, Any]:
    parameters: dict[str, Any] = {
        "exe": "F:\\software\\tools\\ffmpeg.exe",
        "exeArgs": "-v quiet",
        "argsBefore": ["-report"],
        "inputGlob": "path/to/renders/*.png",
        "fps": 10.0,
        "args": ["-c:v", "hevc", "-crf", "31", "-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2"],
        "outputFile": "path/to/renders/preview.mkv",
    }
    parameters.update(overrides)
    return parameters


def test_ffmpeg_posix_args() -> None:
    ctx, _ = context("frames-to-video", video_parameters())
    args = ffmpeg.build_args(ctx, ffmpeg.glob_input_args("path/to/renders/*.png", 10.0))
    assert args == [
        "F:\\software\\tools\\ffmpeg.exe",
        "-v", "quiet",
        "-report",
        "-r", "10",
        "-pattern_type", "glob", "-i", "path/to/renders/*.png",
        "-c:v", "hevc", "-crf", "31", "-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2",
        "-r", "10",
        "path/to/renders/preview.mkv",
    ]  # fmt: skip


def test_ffmpeg_fractional_fps_and_backslash_glob() -> None:
    assert ffmpeg.glob_input_args("C:\\renders\\*.png", 23.976) == [
        "-r", "23.976", "-pattern_type", "glob", "-i", "C:/renders/*.png"
    ]  # fmt: skip


def test_ffmpeg_windows_concat_index(tmp_path: Path) -> None:
    for frame in (1, 2, 3):
        (tmp_path / f"frame-{frame}.png").write_bytes(b"png")
    pattern = str(tmp_path / "*.png")
    with ffmpeg.concat_index(pattern, 10.0) as input_args:
        index = tmp_path / "ffmpeg-file-index.txt"
        assert input_args == ["-f", "concat", "-safe", "0", "-i", str(index)]
        lines = index.read_text(encoding="utf-8").splitlines()
        assert lines[0] == f"file '{tmp_path / 'frame-1.png'}'"
        assert lines[1] == "duration 0.100000"
        assert len(lines) == 6
    assert not index.exists()


def test_ffmpeg_windows_without_frames_fails(tmp_path: Path) -> None:
    ctx, _ = context(
        "frames-to-video",
        video_parameters(inputGlob=str(tmp_path / "*.png")),
        platform="win32",
    )
    with pytest.raises(ParameterInvalid, match="no files found"):
        asyncio.run(ffmpeg.frames_to_video(ctx))


@pytest.mark.parametrize("fps", [None, 0, "24", True])
def test_ffmpeg_needs_fps(fps: Any) -> None:
    parameters = video_parameters(fps=fps)
    ctx, _ = context("frames-to-video", parameters)
    with pytest.raises(ParameterMissing, match='"fps"'):
        ffmpeg.build_args(ctx, [])


def test_ffmpeg_plain_name_is_found_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ffmpeg, "find_ffmpeg", lambda: "/opt/ffmpeg/bin/ffmpeg")
    ctx, _ = context("frames-to-video", video_parameters(exe="ffmpeg"))
    assert ffmpeg.build_args(ctx, [])[0] == "/opt/ffmpeg/bin/ffmpeg"
    monkeypatch.setattr(ffmpeg, "find_ffmpeg", lambda: None)
    with pytest.raises(ParameterInvalid, match='"exe"'):
        ffmpeg.build_args(ctx, [])


# --- exec, echo, sleep, parameters


def test_exec_args_become_strings() -> None:
    ctx, _ = context("exec", {"exe": "/bin/echo", "args": ["a", 1, 2.5, 3.0, True, None]})
    assert exec_command.build_args(ctx) == ["/bin/echo", "a", "1", "2.5", "3", "true", "<nil>"]


def test_go_formatting() -> None:
    assert go_value(24.0) == "24"
    assert go_value("x") == "x"
    assert go_quote("понављај за мном") == '"понављај за мном"'
    assert go_quote('a "b"\n') == '"a \\"b\\"\\n"'


async def test_echo_logs_quoted_message() -> None:
    ctx, recorder = context("echo", {"message": "понављај за мном"})
    await COMMANDS["echo"](ctx)
    assert recorder.log == ['echo: "понављај за мном"']
    with pytest.raises(ParameterMissing):
        await COMMANDS["echo"](context("echo", {})[0])


async def test_sleep_uses_the_clock_and_logs_go_duration() -> None:
    clock = FakeClock()
    ctx, recorder = context("sleep", {"duration_in_seconds": 47}, clock=clock)
    sleeping = asyncio.create_task(COMMANDS["sleep"](ctx))
    while not sleeping.done():
        clock.advance(1)
        await asyncio.sleep(0.002)
    await sleeping
    assert recorder.log == ["slept 47s"]


async def test_sleep_refuses_negative_and_wrong_types() -> None:
    with pytest.raises(ParameterInvalid, match="cannot be negative") as negative:
        await COMMANDS["sleep"](context("sleep", {"duration_in_seconds": -47})[0])
    assert negative.value.value == -47
    with pytest.raises(ParameterInvalid, match="expecting int or float"):
        await COMMANDS["sleep"](context("sleep", {"duration_in_seconds": "5"})[0])


# --- file management


async def test_make_directory(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b"
    ctx, recorder = context("make-directory", {"path": str(target)})
    await COMMANDS["make-directory"](ctx)
    assert target.is_dir()
    await COMMANDS["make-directory"](ctx)  # existing is fine
    assert recorder.log[0] == f'make-directory: creating directory "{target}"'
    with pytest.raises(ParameterMissing):
        await COMMANDS["make-directory"](context("make-directory", {})[0])


async def test_move_directory_keeps_existing_destination(tmp_path: Path) -> None:
    src, dest = tmp_path / "src", tmp_path / "dest"
    for path in (src, dest):
        path.mkdir()
        (path / "marker").write_text(path.name, encoding="utf-8")
    mtime = dt.datetime(2006, 1, 2, 15, 4, 5).timestamp()
    os.utime(dest, (mtime, mtime))

    ctx, recorder = context("move-directory", {"src": str(src), "dest": str(dest)})
    await COMMANDS["move-directory"](ctx)
    backup = tmp_path / "dest-2006-01-02_150405"
    assert (dest / "marker").read_text(encoding="utf-8") == "src"
    assert (backup / "marker").read_text(encoding="utf-8") == "dest"
    assert recorder.log == [
        f'move-directory: moving "{dest}" to "{backup}"',
        f'move-directory: moving "{src}" to "{dest}"',
    ]

    # Again, with the timestamped name taken: a numbered one is used.
    src.mkdir()
    os.utime(dest, (mtime, mtime))
    await COMMANDS["move-directory"](ctx)
    assert (tmp_path / "dest-2006-01-02_150405-001").is_dir()


async def test_move_directory_missing_source(tmp_path: Path) -> None:
    ctx, recorder = context(
        "move-directory", {"src": str(tmp_path / "nope"), "dest": str(tmp_path / "dest")}
    )
    with pytest.raises(ParameterInvalid, match="path does not exist"):
        await COMMANDS["move-directory"](ctx)
    assert "does not exist, not moving anything" in recorder.log[0]


def test_unique_path(tmp_path: Path) -> None:
    base = str(tmp_path / "dest-2006-01-02_150405")
    assert file_mgmt.unique_path(base) == base + "-001"
    for suffix in ("-001", "-007", "-abc"):
        Path(base + suffix).mkdir()
    assert file_mgmt.unique_path(base) == base + "-008"


async def test_copy_file(tmp_path: Path) -> None:
    src = tmp_path / "src.txt"
    src.write_text("content", encoding="utf-8")
    dest = tmp_path / "new" / "dir" / "dest.txt"
    ctx, recorder = context("copy-file", {"src": str(src), "dest": str(dest)})
    await COMMANDS["copy-file"](ctx)
    assert dest.read_text(encoding="utf-8") == "content"
    assert recorder.log[-1] == f'copy-file: copied "{src}" to "{dest}"'
    with pytest.raises(ParameterInvalid, match="already exists"):
        await COMMANDS["copy-file"](ctx)


async def test_copy_file_refuses_directories_and_relative_paths(tmp_path: Path) -> None:
    ctx, _ = context("copy-file", {"src": str(tmp_path), "dest": str(tmp_path / "x")})
    with pytest.raises(CommandError, match="not a regular file"):
        await COMMANDS["copy-file"](ctx)
    ctx, _ = context("copy-file", {"src": "relative.txt", "dest": str(tmp_path / "y")})
    with pytest.raises(ParameterInvalid, match="not absolute"):
        await COMMANDS["copy-file"](ctx)
