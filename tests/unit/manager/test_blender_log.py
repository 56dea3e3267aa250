"""Per-frame render time and peak memory read from real Blender 3.4 logs, in Workers' chunks."""

from __future__ import annotations

from pathlib import Path

import pytest

from flamenco.manager.render_statistics.blender_log import (
    FrameLogParser,
    RenderedFrame,
    frame_from_path,
    parse_duration,
)

LOGS = Path(__file__).parent / "blender_logs"
MIB = 1024 * 1024


def as_worker_sends(name: str) -> list[str]:
    """The log as our Worker (and upstream's) prefixes it, line by line."""
    text = (LOGS / name).read_text(encoding="utf-8")
    return [f"pid=4242 > {line}\n" for line in text.splitlines()]


def parse_in_chunks(lines: list[str], chunk_lines: int) -> list[RenderedFrame]:
    parser = FrameLogParser()
    frames: list[RenderedFrame] = []
    for start in range(0, len(lines), chunk_lines):
        frames.extend(parser.feed("".join(lines[start : start + chunk_lines])))
    return frames


@pytest.mark.parametrize("chunk_lines", [1, 2, 3, 7, 10_000])
def test_cycles_frames_with_time_and_peak_memory(chunk_lines: int) -> None:
    frames = parse_in_chunks(as_worker_sends("cycles-3.4.1.txt"), chunk_lines)
    assert frames == [
        RenderedFrame(1, 0.20, 0.16, int(10.20 * MIB), "/tmp/rs/out_CYCLES/000001.png"),
        RenderedFrame(2, 0.0, 0.0, int(10.20 * MIB), "/tmp/rs/out_CYCLES/000002.png"),
    ]


def test_eevee_frames() -> None:
    frames = parse_in_chunks(as_worker_sends("eevee-3.4.1.txt"), 4)
    assert [(f.frame, f.render_seconds, f.saving_seconds) for f in frames] == [
        (1, 4.97, 0.15),
        (2, 1.18, 0.0),
    ]
    assert {f.peak_memory_bytes for f in frames} == {int(11.32 * MIB)}


def test_workbench_frames_take_their_number_from_the_file_name() -> None:
    """Workbench prints no `Fra:` lines, so there is no memory figure either."""
    frames = parse_in_chunks(as_worker_sends("workbench-3.4.1.txt"), 5)
    assert frames == [
        RenderedFrame(1, 1.30, 0.15, None, "/tmp/rs/out_BLENDER_WORKBENCH/000001.png"),
        RenderedFrame(2, 0.0, 0.0, None, "/tmp/rs/out_BLENDER_WORKBENCH/000002.png"),
    ]


def test_peak_is_per_frame_and_the_highest_seen() -> None:
    parser = FrameLogParser()
    text = (
        "Fra:7 Mem:1.00M (Peak 2.00M) | Time:00:00.01 | Sample 0/4\n"
        "Fra:7 Mem:1.50G (Peak 3.25G) | Time:00:01.00 | Sample 2/4\n"
        "Fra:7 Mem:1.00M (Peak 2.50M) | Time:00:02.00 | Finished\n"
        "Saved: '/out/shot_0007.exr'\n"
        " Time: 01:02:03.45 (Saving: 00:01.50)\n"
        "Fra:8 Mem:1.00M (Peak 1.00M) | Time:00:00.01 | Sample 0/4\n"
    )
    [frame] = parser.feed(text)
    assert frame.frame == 7
    assert frame.peak_memory_bytes == int(3.25 * 1024**3)
    assert frame.render_seconds == pytest.approx(3723.45)
    assert frame.saving_seconds == 1.5
    [next_frame] = parser.feed("Saved: '/out/shot_0008.exr'\n Time: 00:00.50 (Saving: 00:00.01)\n")
    assert (next_frame.frame, next_frame.peak_memory_bytes) == (8, 1 * MIB)


def test_lines_that_only_look_alike_finish_no_frame() -> None:
    parser = FrameLogParser()
    assert parser.feed("Fra:3 Mem:12.3M | Rendering tile 3\n") == []
    assert parser.feed('Info: Saved "scene.blend"\n') == []
    assert parser.feed(" Time: 00:01.00 (Saving: 00:00.00)\n") == []  # nothing started
    assert parser.feed("Time:00:01.00 | Mem:0.00M, Peak:0.00M\n") == []


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("00:00.20", 0.2), ("01:30.00", 90.0), ("02:00:01.50", 7201.5), ("3.5", 3.5)],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    ("path", "frame"),
    [
        ("/r/000042.png", 42),
        ("C:\\r\\shot_0007_L.exr", 7),
        ("/r/frame.png", None),
        ("/r/v2/beauty.0012.exr", 12),
    ],
)
def test_frame_from_path(path: str, frame: int | None) -> None:
    assert frame_from_path(path) == frame
