"""Subprocesses: line splitting, merged output, exit codes, and stopping a whole process group."""

from __future__ import annotations

import asyncio
import os
import sys
import textwrap
from pathlib import Path

import pytest

from flamenco.worker import subprocess_runner
from flamenco.worker.errors import CommandError
from flamenco.worker.subprocess_runner import LineSplitter, split_at_character_boundary


def test_split_at_character_boundary() -> None:
    euro = "€".encode()  # three bytes
    assert split_at_character_boundary(b"abc") == (b"abc", b"")
    assert split_at_character_boundary(b"ab" + euro) == (b"ab" + euro, b"")
    assert split_at_character_boundary(b"ab" + euro[:2]) == (b"ab", euro[:2])
    assert split_at_character_boundary(b"ab" + euro[:1]) == (b"ab", euro[:1])
    assert split_at_character_boundary(b"") == (b"", b"")


def test_line_splitter_joins_pieces_and_splits_long_lines() -> None:
    splitter = LineSplitter(limit=10)
    assert splitter.feed(b"hello ") == []
    assert splitter.feed(b"world\r\nsecond\n") == ["hello worl", "d", "second"]
    text = "ééééééé".encode()  # 14 bytes, never cut inside a character
    lines = splitter.feed(text + b"\n")
    assert lines == ["ééééé", "éé"]
    assert splitter.feed(b"no newline at the end") == ["no newline", " at the en"]
    assert splitter.finish() == ["d"]


async def run(script: str, **kwargs: object) -> tuple[list[str], list[str]]:
    task_log: list[str] = []
    raw: list[str] = []
    await subprocess_runner.run_command(
        [sys.executable, "-c", textwrap.dedent(script)],
        task_log=task_log.extend,
        on_lines=raw.extend,
        **kwargs,  # type: ignore[arg-type]
    )
    return task_log, raw


async def test_output_of_stdout_and_stderr_is_merged_in_order() -> None:
    task_log, raw = await run(
        """
        import sys
        print("to stdout", flush=True)
        print("to stderr", file=sys.stderr, flush=True)
        print("ünïcode", flush=True)
        """
    )
    assert raw == ["to stdout", "to stderr", "ünïcode"]
    assert task_log[0] == "going to run:"
    assert task_log[2].startswith("    ") and "-c" in task_log[2]
    assert task_log[4].startswith("pid=") and task_log[4].endswith(" > to stdout")


async def test_non_zero_exit_is_an_error() -> None:
    with pytest.raises(CommandError, match="command exited abnormally with code 3"):
        await run("import sys; sys.exit(3)")


async def test_a_failure_says_what_the_program_said_last() -> None:
    with pytest.raises(CommandError) as failure:
        await run(
            """
            import sys
            print("loading scene.blend", flush=True)
            print("Error: cannot read scene.blend: no such file", file=sys.stderr, flush=True)
            print("shutting down", flush=True)
            sys.exit(1)
            """
        )
    assert str(failure.value) == (
        "command exited abnormally with code 1: Error: cannot read scene.blend: no such file"
    )


async def test_a_program_killed_by_a_signal_says_which() -> None:
    with pytest.raises(CommandError) as failure:
        await run("import os, signal; os.kill(os.getpid(), signal.SIGKILL)")
    assert str(failure.value) == "command exited abnormally with code -9 (SIGKILL)"


async def test_missing_executable_is_an_error() -> None:
    with pytest.raises(CommandError, match="cannot run"):
        await subprocess_runner.run_command(["/nonexistent/blender"], task_log=lambda _: None)


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc")
async def test_cancel_stops_the_process_group(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    script = f"""
        import os, signal, subprocess, sys, time
        # A child that ignores SIGTERM, so only SIGKILL stops it.
        child = subprocess.Popen([sys.executable, "-c",
            "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)"])
        open({str(pids)!r}, "w").write(f"{{os.getpid()}} {{child.pid}}")
        print("started", flush=True)
        time.sleep(60)
    """
    started = asyncio.Event()
    task_log: list[str] = []

    def on_lines(lines: list[str]) -> None:
        if "started" in lines:
            started.set()

    running = asyncio.create_task(
        subprocess_runner.run_command(
            [sys.executable, "-c", textwrap.dedent(script)],
            task_log=task_log.extend,
            on_lines=on_lines,
            terminate_grace=0.5,
        )
    )
    await asyncio.wait_for(started.wait(), 10)
    parent, child = map(int, pids.read_text().split())
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    # The direct child is reaped (no zombie); the grandchild was killed by the group signal.
    assert not alive(parent)
    for _ in range(100):
        if not alive(child):
            break
        await asyncio.sleep(0.02)
    assert not alive(child)
    with pytest.raises(ChildProcessError):
        os.waitpid(parent, os.WNOHANG)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux OOM score")
async def test_oom_score_applies_to_the_subprocess_only() -> None:
    with open("/proc/self/oom_score_adj", encoding="ascii") as own:
        before = own.read().strip()
    _, raw = await run(
        "print(open('/proc/self/oom_score_adj').read().strip())", oom_score_adjust=500
    )
    assert raw == ["500"]
    with open("/proc/self/oom_score_adj", encoding="ascii") as own:
        assert own.read().strip() == before


def test_child_environment_puts_the_command_first_and_drops_our_virtualenv(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    tool_dir = tmp_path / "tools"
    tool_dir.mkdir()
    tool = tool_dir / "render-tool"
    tool.write_text("#!/bin/sh\n", encoding="utf-8")
    tool.chmod(0o755)
    own_bin = os.path.dirname(os.path.abspath(sys.executable))
    monkeypatch.setenv("PATH", os.pathsep.join([own_bin, "/opt/other/bin", str(tool_dir)]))
    monkeypatch.setenv("VIRTUAL_ENV", sys.prefix)
    monkeypatch.setenv("PYTHONPATH", "/studio/pipeline")
    env = subprocess_runner.child_environment("render-tool")
    path = env["PATH"].split(os.pathsep)
    assert path[0] == str(tool_dir)
    assert "/opt/other/bin" in path
    if sys.prefix != sys.base_prefix:
        assert own_bin not in path
        assert "VIRTUAL_ENV" not in env
    # A studio's own Python path is theirs to keep.
    assert env["PYTHONPATH"] == "/studio/pipeline"
