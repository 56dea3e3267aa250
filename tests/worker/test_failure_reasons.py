"""A failing Blender or FFmpeg run fails its command with that program's own last error lines."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from flamenco.worker.commands import CommandContext, blender, ffmpeg
from flamenco.worker.errors import CommandError
from support.fakes import FakeClock

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        shutil.which("blender") is None or shutil.which("ffmpeg") is None,
        reason="needs blender and ffmpeg on the PATH",
    ),
]

# Debian's Blender is built without OpenImageDenoise, so asking for it fails the render.
DENOISE_WITH_OIDN = (
    "import bpy; scene = bpy.context.scene; scene.render.engine = 'CYCLES'; "
    "scene.cycles.samples = 1; scene.cycles.use_denoising = True; "
    "scene.render.resolution_x = 16; scene.render.resolution_y = 16"
)


def context(name: str, parameters: dict[str, Any], log: list[str]) -> CommandContext:
    return CommandContext(
        task_id="1d54c6fe-1242-4c8f-bd63-5a09e358d7b6",
        name=name,
        parameters=parameters,
        log_lines=log.extend,
        step=lambda: None,
        output_produced=lambda _path: None,
        clock=FakeClock(),
    )


async def fail(command: Any, name: str, parameters: dict[str, Any]) -> tuple[str, list[str]]:
    log: list[str] = []
    with pytest.raises(CommandError) as failure:
        await command(context(name, parameters, log))
    return str(failure.value), log


async def test_blender_without_denoiser_says_so(tmp_path: Path) -> None:
    reason, log = await fail(
        blender.blender_render,
        "blender-render",
        {
            "exe": "blender",
            "argsBefore": ["-b", "--factory-startup"],
            "args": ["--python-expr", DENOISE_WITH_OIDN, "-o", f"{tmp_path}/frame_", "-f", "1"],
        },
    )
    assert reason == "command exited abnormally with code 1: Error: Build without OpenImageDenoiser"
    assert any(line.endswith("> Error: Build without OpenImageDenoiser") for line in log)


async def test_blender_python_error_names_the_exception() -> None:
    reason, _ = await fail(
        blender.blender_render,
        "blender-render",
        {
            "exe": "blender",
            "argsBefore": ["-b", "--factory-startup", "--python-exit-code", "3"],
            "args": ["--python-expr", "raise ValueError('the scene has no camera')"],
        },
    )
    assert reason.startswith(
        "command exited abnormally with code 3: ValueError: the scene has no camera | "
        "Error: script failed"
    )


@pytest.fixture
def frames(tmp_path: Path) -> Path:
    folder = tmp_path / "frames"
    folder.mkdir()
    subprocess.run(
        [
            "ffmpeg",
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            "color=c=red:s=16x16:d=0.2",
            str(folder / "frame_%03d.png"),
        ],
        check=True,
        timeout=60,
    )
    return folder


async def test_ffmpeg_says_why_it_cannot_write(frames: Path, tmp_path: Path) -> None:
    output = tmp_path / "no-such-folder" / "video.mp4"
    reason, _ = await fail(
        ffmpeg.frames_to_video,
        "frames-to-video",
        {
            "exe": "ffmpeg",
            "fps": 24,
            "inputGlob": str(frames / "*.png"),
            "outputFile": str(output),
            "args": ["-c:v", "libx264", "-pix_fmt", "yuv420p"],
        },
    )
    assert reason == f"command exited abnormally with code 1: {output}: No such file or directory"


async def test_ffmpeg_without_frames_says_where_it_looked(tmp_path: Path) -> None:
    reason, _ = await fail(
        ffmpeg.frames_to_video,
        "frames-to-video",
        {
            "exe": "ffmpeg",
            "fps": 24,
            "inputGlob": str(tmp_path / "nothing-here" / "*.png"),
            "outputFile": str(tmp_path / "video.mp4"),
        },
    )
    assert f"Could not open file : {tmp_path}/nothing-here/*.png" in reason
    assert reason.endswith("Output file #0 does not contain any stream")
