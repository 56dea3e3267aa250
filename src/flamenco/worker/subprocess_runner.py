"""Running a command's subprocess: merged output by line, group termination, always reaped."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence

from flamenco.worker.error_lines import ErrorLines
from flamenco.worker.errors import CommandError

logger = logging.getLogger(__name__)

# Upstream reads output with a 40 KiB buffer; longer lines are split into pieces of that size.
MAX_LINE_BYTES = 40 * 1024
READ_SIZE = 64 * 1024
# After a short read the reader pauses this long, so that a chatty process's
# output arrives in a few big pieces instead of thousands of small ones.
COALESCE_SECONDS = 0.02
# How long a process group gets between SIGTERM and SIGKILL.
TERMINATE_GRACE = 5.0

LinesCallback = Callable[[list[str]], None]


def split_at_character_boundary(data: bytes) -> tuple[bytes, bytes]:
    """Split so that the head does not end inside a UTF-8 sequence; the tail has the rest."""
    # A UTF-8 sequence is at most 4 bytes, so only the last 3 bytes can be an incomplete one.
    for back in range(1, min(4, len(data)) + 1):
        byte = data[-back]
        if byte & 0b1100_0000 == 0b1000_0000:
            continue  # continuation byte: keep looking for the lead byte
        if byte & 0b1000_0000 == 0:
            return data, b""  # ASCII: the data ends on a boundary
        if byte >= 0b1111_0000:
            needed = 4
        elif byte >= 0b1110_0000:
            needed = 3
        elif byte >= 0b1100_0000:
            needed = 2
        else:
            return data, b""
        if back < needed:
            return data[:-back], data[-back:]
        return data, b""
    return data, b""


def split_long_line(line: bytes, limit: int = MAX_LINE_BYTES) -> list[bytes]:
    """Pieces of at most `limit` bytes, never cutting a UTF-8 character in two."""
    pieces = []
    while len(line) > limit:
        head, tail = split_at_character_boundary(line[:limit])
        if not head:  # not UTF-8 at all: cut anywhere
            head, tail = line[:limit], b""
        pieces.append(head)
        line = tail + line[limit:]
    pieces.append(line)
    return pieces


class LineSplitter:
    """Turns arbitrary pieces of output into complete lines."""

    def __init__(self, limit: int = MAX_LINE_BYTES) -> None:
        self._limit = limit
        self._leftover = b""

    def feed(self, data: bytes) -> list[str]:
        data = self._leftover + data
        end = data.rfind(b"\n")
        if end < 0:
            complete, self._leftover = b"", data
        else:
            complete, self._leftover = data[:end], data[end + 1 :]
        raw_lines = complete.split(b"\n") if end >= 0 else []
        if len(complete) > self._limit:
            raw_lines = [piece for raw in raw_lines for piece in self._split(raw)]
        if len(self._leftover) > self._limit:
            pieces = self._split(self._leftover)
            raw_lines.extend(pieces[:-1])
            self._leftover = pieces[-1]
        return _decode(raw_lines)

    def finish(self) -> list[str]:
        leftover, self._leftover = self._leftover, b""
        return _decode([leftover]) if leftover else []

    def _split(self, raw: bytes) -> list[bytes]:
        if len(raw) <= self._limit:
            return [raw]
        logger.warning(
            "unexpectedly long line read, will be split up",
            extra={"line": raw[:256].decode("utf-8", errors="replace") + "...", "bytes": len(raw)},
        )
        return split_long_line(raw, self._limit)


def _decode(raw_lines: list[bytes]) -> list[str]:
    if not raw_lines:
        return []
    text = b"\n".join(raw_lines).decode("utf-8", errors="replace")
    if "\r" in text:
        text = text.replace("\r\n", "\n").removesuffix("\r")
    return text.split("\n")


def _read_pipe(pipe: int, deliver: Callable[[bytes], None]) -> None:
    """Blocking reads in a thread; the event loop only hears about a few big pieces."""
    try:
        while True:
            try:
                data = os.read(pipe, READ_SIZE)
            except OSError:
                data = b""
            deliver(data)
            if not data:
                return
            if len(data) < READ_SIZE:
                time.sleep(COALESCE_SECONDS)
    finally:
        os.close(pipe)


@contextlib.contextmanager
def _oom_score_adjusted(adjustment: int | None) -> Iterator[None]:
    """Children inherit the OOM score, so it is set on this process around the start."""
    if adjustment is None or not sys.platform.startswith("linux"):
        yield
        return
    path = "/proc/self/oom_score_adj"
    try:
        with open(path, encoding="ascii") as file:
            previous = file.read().strip()
        with open(path, "w", encoding="ascii") as file:
            file.write(str(adjustment))
    except OSError as error:
        logger.warning("cannot adjust OOM score", extra={"error": str(error)})
        yield
        return
    try:
        yield
    finally:
        try:
            with open(path, "w", encoding="ascii") as file:
                file.write(previous)
        except OSError as error:
            # Lowering the score back needs privileges that raising it did not.
            logger.debug("cannot restore OOM score", extra={"error": str(error)})


def _signal_group(process: subprocess.Popen[bytes], signum: int) -> None:
    try:
        if sys.platform == "win32":
            process.send_signal(signum)
        else:
            os.killpg(process.pid, signum)
    except (ProcessLookupError, PermissionError):
        pass


async def _stop(process: subprocess.Popen[bytes], grace: float) -> None:
    """SIGTERM to the whole process group, SIGKILL after the grace period; always reaps."""
    if process.poll() is None:
        logger.info("terminating subprocess", extra={"pid": process.pid})
    _signal_group(process, signal.SIGTERM)
    try:
        await asyncio.wait_for(asyncio.to_thread(process.wait), grace)
    except TimeoutError:
        logger.warning("subprocess did not stop, killing it", extra={"pid": process.pid})
    # Whatever the main process did, nothing of its group may outlive the command.
    _signal_group(process, signal.SIGKILL)
    await asyncio.to_thread(process.wait)


def failure_message(return_code: int, said: str) -> str:
    """Upstream's "exited abnormally" message, with what the program itself said went wrong."""
    message = f"command exited abnormally with code {return_code}"
    if return_code < 0:
        with contextlib.suppress(ValueError):
            message += f" ({signal.Signals(-return_code).name})"
    return f"{message}: {said}" if said else message


def child_environment(executable: str) -> dict[str, str]:
    """The environment for a command: the Worker's, minus the Worker's own virtualenv.

    Blender's embedded Python finds its home through the first `python3` on
    PATH. With the Worker's virtualenv there, it would adopt that (where
    `flamenco` is the Worker's package, not the Blender add-on); with another
    Python build first, it loads that build's incompatible extension modules.
    So the command's own directory comes first, and the virtualenv goes.
    """
    env = dict(os.environ)
    own_bin = os.path.dirname(os.path.abspath(sys.executable))
    in_virtualenv = sys.prefix != sys.base_prefix
    path = [
        entry
        for entry in env.get("PATH", "").split(os.pathsep)
        if entry and not (in_virtualenv and os.path.abspath(entry) == own_bin)
    ]
    if in_virtualenv and env.get("VIRTUAL_ENV") == sys.prefix:
        del env["VIRTUAL_ENV"]
    found = shutil.which(executable, path=os.pathsep.join(path))
    if found:
        home = os.path.dirname(os.path.realpath(found))
        path = [home, *(entry for entry in path if entry != home)]
    env["PATH"] = os.pathsep.join(path)
    return env


async def run_command(
    args: Sequence[str],
    *,
    task_log: LinesCallback,
    on_lines: LinesCallback | None = None,
    error_lines: ErrorLines | None = None,
    oom_score_adjust: int | None = None,
    terminate_grace: float = TERMINATE_GRACE,
    environment: Mapping[str, str] | None = None,
) -> None:
    """Run `args` to completion, sending its output to `task_log` as `pid=N > line` lines.

    `on_lines` gets the plain output lines too, for commands that parse them.
    Raises CommandError when the process cannot start or exits with a non-zero
    code; then the error says what the output's last error lines said, as
    picked by `error_lines` (by default, lines with the usual words for trouble).
    Cancellation stops the process group before re-raising. `environment` adds to
    (or replaces) the variables the process inherits, such as the GPUs it may see.
    """
    if error_lines is None:
        error_lines = ErrorLines()
    quoted = shlex.join(args)
    logger.info("going to run", extra={"command": quoted})
    task_log(["going to run:", "", f"    {quoted}", ""])

    read_end, write_end = os.pipe()
    try:
        with _oom_score_adjusted(oom_score_adjust):
            process = subprocess.Popen(
                list(args),
                stdin=subprocess.DEVNULL,
                stdout=write_end,
                stderr=write_end,
                start_new_session=True,
                close_fds=True,
                env={**child_environment(args[0]), **(environment or {})},
            )
    except OSError as error:
        os.close(read_end)
        raise CommandError(f"cannot run {args[0]}: {error}") from error
    finally:
        os.close(write_end)

    loop = asyncio.get_running_loop()
    pieces: asyncio.Queue[bytes] = asyncio.Queue()

    def deliver(data: bytes) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is gone after a hard shutdown
            loop.call_soon_threadsafe(pieces.put_nowait, data)

    reader = threading.Thread(
        target=_read_pipe, args=(read_end, deliver), name=f"output-{process.pid}", daemon=True
    )
    reader.start()
    prefix = f"pid={process.pid} > "
    splitter = LineSplitter()
    debug = logger.isEnabledFor(logging.DEBUG)

    def handle(lines: list[str]) -> None:
        if not lines:
            return
        if debug:
            for line in lines:
                logger.debug(line, extra={"pid": process.pid})
        if on_lines is not None:
            on_lines(lines)
        error_lines.feed(lines)
        task_log([prefix + line for line in lines])

    try:
        while True:
            data = await pieces.get()
            if not data:
                handle(splitter.finish())
                break
            handle(splitter.feed(data))
        return_code = await asyncio.to_thread(process.wait)
    except BaseException:
        await asyncio.shield(_stop(process, terminate_grace))
        raise

    if return_code != 0:
        logger.warning("command exited abnormally", extra={"pid": process.pid, "code": return_code})
        raise CommandError(failure_message(return_code, error_lines.summary()))
    logger.info("command exited successfully", extra={"pid": process.pid})
