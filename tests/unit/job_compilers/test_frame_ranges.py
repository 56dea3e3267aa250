"""frameChunker() and frameCount(): upstream's frame-range grammar and chunk formatting."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from flamenco.manager import job_compilers

Evaluate = Callable[[str], Any]


def chunker(evaluate: Evaluate, frames: str, chunk_size: object) -> Any:
    return evaluate(f"frameChunker({json.dumps(frames)}, {json.dumps(chunk_size)})")


@pytest.mark.parametrize(
    ("frames", "chunk_size", "expected"),
    [
        # The cases of upstream's js_globals_test.go.
        ("1..10,20..25,40,3..8", 4, ["1-4", "5-8", "9,10,20,21", "22-25", "40"]),
        ("1-10,20-25,40", 4, ["1-4", "5-8", "9,10,20,21", "22-25", "40"]),
        (" 1  .. 10,\t20..25\n,40   ", 4, ["1-4", "5-8", "9,10,20,21", "22-25", "40"]),
        ("47", 4, ["47"]),
        ("1-3", 3, ["1-3"]),
        # Upstream's Simple Blender Render test and its complex range test.
        ("1-10", 3, ["1-3", "4-6", "7-9", "10"]),
        ("0-12,34-56,78-90", 20, ["0-12,34-40", "41-56,78-81", "82-90"]),
        # Two frames are "A,B"; lone frames stay lone; duplicates and order do not matter.
        ("1-2", 5, ["1,2"]),
        ("1,3,5", 10, ["1,3,5"]),
        ("5,3,5,4", 10, ["3-5"]),
        ("10-12,1-3", 2, ["1,2", "3,10", "11,12"]),
        ("1-5,3-8", 100, ["1-8"]),
        ("+7", 1, ["7"]),
        # A range that runs backwards holds no frames, but others still count.
        ("10-1,4", 1, ["4"]),
        # The chunk size is converted like Go's int conversion.
        ("1-4", "2", ["1,2", "3,4"]),
        ("1-4", 2.9, ["1,2", "3,4"]),
    ],
)
def test_frame_chunker_valid_ranges_chunk_like_upstream(
    evaluate: Evaluate, frames: str, chunk_size: object, expected: list[str]
) -> None:
    assert chunker(evaluate, frames, chunk_size) == expected


@pytest.mark.parametrize(
    ("frames", "chunk_size", "message"),
    [
        ("   ", 4, "empty range"),
        ("", 4, "empty range"),
        ("10-1", 4, "empty range"),
        (" 1 10", 4, "1 10"),
        ("1-2-3", 4, "1-2-3"),
        ("a-b", 4, "a-b"),
        ("1,", 4, "invalid range"),
        ("-5", 4, "invalid range"),
        ("1.5", 4, "invalid range"),
        ("1-10", 0, "invalid chunk size"),
        ("1-10", -3, "invalid chunk size"),
        ("1-10", None, "invalid chunk size"),
    ],
)
def test_frame_chunker_invalid_input_throws(
    evaluate: Evaluate, frames: str, chunk_size: object, message: str
) -> None:
    with pytest.raises(job_compilers.JobCompileError) as caught:
        chunker(evaluate, frames, chunk_size)
    assert message in caught.value.script_message


@pytest.mark.parametrize(
    ("frames", "expected"),
    [
        ("1-10", 10),
        ("1..10,5-15", 15),
        ("47", 1),
        ("1,1,1", 1),
        (" 3 .. 5 , 9", 4),
        ("10-1", 0),
        # Ranges are intervals, not lists of frames: a long one costs nothing.
        ("1-1000000000", 1_000_000_000),
    ],
)
def test_frame_count_counts_distinct_frames(evaluate: Evaluate, frames: str, expected: int) -> None:
    assert evaluate(f"frameCount({json.dumps(frames)})") == expected


@pytest.mark.parametrize("frames", ["", "x", "1-", "1..2..3"])
def test_frame_count_invalid_range_throws(evaluate: Evaluate, frames: str) -> None:
    with pytest.raises(job_compilers.JobCompileError, match="invalid range"):
        evaluate(f"frameCount({json.dumps(frames)})")


def test_frame_chunker_ten_thousand_single_frames(evaluate: Evaluate) -> None:
    chunks = chunker(evaluate, "1-10000", 1)
    assert chunks == [str(frame) for frame in range(1, 10001)]


def test_frame_chunker_chunks_count_the_same_frames_as_frame_count(evaluate: Evaluate) -> None:
    frames = "1-7, 9, 11..20, 30-31, 40"
    counts = evaluate(f"frameChunker({json.dumps(frames)}, 3).map((chunk) => frameCount(chunk))")
    assert counts[:-1] == [3] * (len(counts) - 1)
    assert sum(counts) == evaluate(f"frameCount({json.dumps(frames)})") == 21
