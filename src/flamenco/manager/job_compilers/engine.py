"""Running job-type scripts in V8 (mini-racer): a fresh context per request, with limits.

A session is one V8 isolate with the runtime prelude (`runtime.js`) installed.
It loads one script, describes its JOB_TYPE and, when asked, runs its
`compileJob()`; the results cross from JavaScript to Python as one JSON string
each. The isolate is thrown away when the session ends, so nothing one script
does can leak into the next request, and a script stopped by a limit takes its
context with it.

Sessions block while JavaScript runs: use them from a worker thread
(`asyncio.to_thread`), never on the event loop. mini-racer runs each isolate on
its own native thread and lets any Python thread drive it; sessions share no
state, so several may run at once, up to a small bound that caps the memory
all running scripts can take together.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import json
import logging
import re
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from typing import Any

import py_mini_racer

from flamenco.manager.job_compilers import loader

logger = logging.getLogger(__name__)

# Each running session may use up to `max_memory_bytes`; this bounds the sum.
MAX_CONCURRENT_SESSIONS = 4

RUNTIME_SOURCE_NAME = "flamenco-runtime.js"
# How long to wait for V8 to wind down a script stopped by the time limit.
SETTLE_SECONDS = 2.0
# Scripts and modules start with a `//# sourceURL=` line so that V8 names them
# in messages, even for syntax errors; their reported lines are one too high.
SCRIPT_LINE_OFFSET = 1

# mini-racer reports an uncaught exception as "<script>:<line>: <message>",
# then the source line and a caret line, then (for Error objects) the stack.
_CARET_LINE = re.compile(r"^\s*\^+\s*$")
_STACK_FRAME = re.compile(
    r"^\s+at (?:.*?\()?(?P<name>[^()\s]+):(?P<line>\d+):(?P<column>\d+)\)?\s*$"
)
_LOCATION_PREFIX = re.compile(r"(?P<line>\d+): ")
_UNNAMED_LOCATION = re.compile(r"^(?:<anonymous>|undefined):\d+: ")
_UNSAFE_IN_SOURCE_NAME = re.compile(r"[\s\"'%]")


class ScriptFailure(Exception):
    """The script threw (or failed to parse); `file` and `line` point into the script when known."""

    def __init__(self, message: str, *, file: str | None, line: int | None) -> None:
        super().__init__(message)
        self.message = message
        self.file = file
        self.line = line


class ScriptLimitHit(Exception):
    """The script was stopped for running too long ("time") or using too much memory ("memory")."""

    def __init__(self, message: str, *, limit: str) -> None:
        super().__init__(message)
        self.message = message
        self.limit = limit


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ScriptDeclaration:
    """What a loaded script declares.

    `info` is the AvailableJobType JSON without etag, `etag` its upstream-compatible
    hash; both are None when the script has no usable JOB_TYPE, in which case
    `problem` may say why.
    """

    has_job_type: bool
    has_compile_job: bool
    info: dict[str, Any] | None
    etag: str | None
    problem: str | None
    # Our extension: task type -> names of the resource limits its tasks take.
    resource_limits: dict[str, list[str]] = dataclasses.field(default_factory=dict)


def go_platform() -> str:
    """This machine's platform in Go's GOOS naming, as upstream's `process.platform` reports it."""
    platform = sys.platform
    if platform.startswith("linux"):
        return "linux"
    if platform in ("win32", "cygwin", "msys"):
        return "windows"
    if platform == "sunos5":
        return "solaris"
    return re.sub(r"\d+$", "", platform)


def source_name(file_name: str) -> str:
    """The name V8 gives a script in messages; whitespace and quotes escaped as in runtime.js."""
    return _UNSAFE_IN_SOURCE_NAME.sub(lambda match: f"%{ord(match.group()):02X}", file_name)


# Process-wide, like V8 itself: guards its one-time set-up (see Engine.__init__).
_V8_SETUP = threading.Lock()


class Engine:
    """Opens script sessions with the configured limits."""

    def __init__(
        self,
        *,
        runtime_source: str,
        timeout_seconds: float,
        max_memory_bytes: int,
        max_concurrent_sessions: int = MAX_CONCURRENT_SESSIONS,
    ) -> None:
        if timeout_seconds <= 0:
            raise ValueError("timeout_seconds must be positive")
        if max_memory_bytes <= 0:
            raise ValueError("max_memory_bytes must be positive")
        self.timeout_seconds = timeout_seconds
        self.max_memory_bytes = max_memory_bytes
        self._runtime_source = f"//# sourceURL={RUNTIME_SOURCE_NAME}\n{runtime_source}"
        self._slots = threading.BoundedSemaphore(max_concurrent_sessions)
        # V8 sets itself up when the first context is made, and two threads doing
        # that at once crash the process (seen: SIGTRAP in 6 of 15 tries). Make
        # that first context here, before compilations run in parallel threads.
        with _V8_SETUP:
            py_mini_racer.MiniRacer().close()

    @contextlib.contextmanager
    def session(
        self, *, cwd: str, platform: str, modules: Mapping[str, str], label: str
    ) -> Iterator[Session]:
        """A fresh V8 context with the runtime installed; `label` names it in the log.

        The time limit covers everything the session runs, from installing the
        runtime to the end of compileJob().
        """
        _refuse_event_loop_thread()
        with self._slots:
            racer = py_mini_racer.MiniRacer()
            try:
                racer.set_hard_memory_limit(self.max_memory_bytes)
                session = Session(
                    racer,
                    deadline=time.monotonic() + self.timeout_seconds,
                    timeout_seconds=self.timeout_seconds,
                    max_memory_bytes=self.max_memory_bytes,
                    modules=modules,
                    label=label,
                )
                session.install(self._runtime_source, cwd=cwd, platform=platform)
                yield session
            finally:
                # Always close explicitly: mini-racer's own cleanup at interpreter
                # exit can wait forever on its event-loop thread.
                racer.close()


class Session:
    """One V8 context: load a script, describe it, compile a job. One per request, one thread."""

    def __init__(
        self,
        racer: py_mini_racer.MiniRacer,
        *,
        deadline: float,
        timeout_seconds: float,
        max_memory_bytes: int,
        modules: Mapping[str, str],
        label: str,
    ) -> None:
        self._racer = racer
        self._deadline = deadline
        self._timeout_seconds = timeout_seconds
        self._max_memory_bytes = max_memory_bytes
        self._modules = modules
        self._label = label
        # Script names as V8 reports them -> names for messages, for code a script author wrote.
        self._user_code: dict[str, str] = {source_name(module): module for module in modules}

    def install(self, runtime_source: str, *, cwd: str, platform: str) -> None:
        self._eval(runtime_source)
        host = {"cwd": cwd, "platform": platform, "modules": dict(self._modules)}
        self._eval(f"__flamencoBridge.configure({json.dumps(host)})")

    def load(self, script: loader.ScriptFile) -> ScriptDeclaration:
        """Run the script's top level and report what it declares."""
        name = source_name(script.file_name)
        self._user_code[name] = script.file_name
        # Upstream compiles job-type scripts in strict mode. The directive shares
        # line 1 with the script; the sourceURL comment must come first (see
        # SCRIPT_LINE_OFFSET).
        code = f'//# sourceURL={name}\n"use strict";{script.source}'
        try:
            self._eval(code)
            described = json.loads(
                self._eval_string(f"__flamencoBridge.describe({json.dumps(script.job_type)})")
            )
        finally:
            self._log_output(script)
        info = described["info"]
        etag_source = described["etagSource"]
        etag = hashlib.sha1(etag_source.encode("utf-8")).hexdigest() if etag_source else None
        return ScriptDeclaration(
            has_job_type=bool(described["hasJobType"]),
            has_compile_job=bool(described["hasCompileJob"]),
            info=info if isinstance(info, dict) else None,
            etag=etag,
            problem=described["problem"],
            resource_limits=dict(described.get("resourceLimits") or {}),
        )

    def compile_job(self, script: loader.ScriptFile, job: Mapping[str, Any]) -> Any:
        """Call the loaded script's compileJob() and return the collected job as parsed JSON."""
        try:
            return json.loads(self._eval_string(f"__flamencoBridge.compile({json.dumps(job)})"))
        finally:
            self._log_output(script)

    def _eval_string(self, code: str) -> str:
        result = self._eval(code)
        if not isinstance(result, str):
            raise ScriptFailure(
                f"the job compiler runtime returned {type(result).__name__}, not JSON text",
                file=None,
                line=None,
            )
        return result

    def _eval(self, code: str) -> object:
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise self._time_limit_hit()
        try:
            return self._racer.eval(code, timeout_sec=remaining)
        except py_mini_racer.JSTimeoutException:
            self._settle_after_timeout()
            raise self._time_limit_hit() from None
        except py_mini_racer.JSOOMException:
            raise self._memory_limit_hit() from None
        except py_mini_racer.JSEvalException as error:
            if self._racer.was_hard_memory_limit_reached():
                raise self._memory_limit_hit() from None
            message, file, line = self._locate(str(error))
            raise ScriptFailure(message, file=file, line=line) from None

    def _settle_after_timeout(self) -> None:
        """Wait until V8 has stopped the script that ran out of time.

        mini-racer stops it asynchronously and reports back through the
        context's event loop; closing the context first would make that late
        report fail on a closed loop. V8 works through requests in order, so
        once a trivial one answers, the stopped script is gone.
        """
        try:
            self._racer.eval("0", timeout_sec=SETTLE_SECONDS)
        except py_mini_racer.JSEvalException:
            logger.warning("%s: V8 did not stop the script promptly", self._label)

    def _time_limit_hit(self) -> ScriptLimitHit:
        return ScriptLimitHit(
            f"{self._label} ran longer than {self._timeout_seconds:g} seconds and was stopped",
            limit="time",
        )

    def _memory_limit_hit(self) -> ScriptLimitHit:
        mebibytes = self._max_memory_bytes / 2**20
        return ScriptLimitHit(
            f"{self._label} used more than {mebibytes:g} MiB of memory and was stopped",
            limit="memory",
        )

    def _locate(self, report: str) -> tuple[str, str | None, int | None]:
        """Split mini-racer's exception report into the message and the script location."""
        lines = report.split("\n")
        first = lines[0]
        thrower: str | None = None
        throw_line: int | None = None
        known_names = sorted([*self._user_code, RUNTIME_SOURCE_NAME], key=len, reverse=True)
        for name in known_names:
            if first.startswith(f"{name}:"):
                location = _LOCATION_PREFIX.match(first, len(name) + 1)
                if location is not None:
                    thrower = name
                    throw_line = int(location.group("line"))
                    first = first[location.end() :]
                    break
        else:
            # Code without a name (say, a string passed to eval()): drop the prefix.
            first = _UNNAMED_LOCATION.sub("", first, count=1)
        # The message runs until the quoted source line, which the caret line follows.
        message_lines = [first]
        rest_start = 1
        for index in range(1, len(lines) - 1):
            if _CARET_LINE.match(lines[index + 1]):
                message_lines = [first, *lines[1:index]]
                rest_start = index + 2
                break
        message = "\n".join(message_lines).strip()
        if thrower in self._user_code and throw_line is not None:
            return message, self._user_code[thrower], _script_line(throw_line)
        # Thrown inside the runtime (say, by frameChunker): blame the script's call.
        for frame_text in lines[rest_start:]:
            frame = _STACK_FRAME.match(frame_text)
            if frame is not None and frame.group("name") in self._user_code:
                file = self._user_code[frame.group("name")]
                return message, file, _script_line(int(frame.group("line")))
        return message, None, None

    def _log_output(self, script: loader.ScriptFile) -> None:
        """Send what the script printed to the log; best effort, it must not mask the real error."""
        try:
            taken = json.loads(self._eval_string("__flamencoBridge.takeOutput()"))
        except (ScriptFailure, ScriptLimitHit, ValueError):
            return
        extra = {
            "action": "job_script_output",
            "job_type": script.job_type,
            "script": script.location,
        }
        for level, text in taken["lines"]:
            if level == "warning":
                logger.warning("%s: %s", script.file_name, text, extra=extra)
            else:
                logger.info("%s: %s", script.file_name, text, extra=extra)
        if taken["dropped"]:
            logger.warning(
                "%s: %d more lines of script output were dropped",
                script.file_name,
                taken["dropped"],
                extra=extra,
            )


def _script_line(reported: int) -> int:
    return max(reported - SCRIPT_LINE_OFFSET, 1)


def _refuse_event_loop_thread() -> None:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    # mini-racer would run the script on this thread's loop, blocking it, and
    # could not enforce the time limit there.
    raise RuntimeError("job-type scripts must run off the event loop; use asyncio.to_thread()")
