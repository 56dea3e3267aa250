"""A job's frames as the Manager sees them: checked on disk, re-rendered when missing, thumbnailed.

The frames a task renders follow from its `blender-render` commands (see
flamenco.frame_checks.expected), with the Manager's own variables, so this sees
the output where the Manager has it mounted. Files are checked in a thread, and
a file that has not changed since the last scan (same size and time) is not
read again, so scanning a big job repeatedly stays cheap.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import shutil
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flamenco.api.enums import JobStatus, TaskStatus
from flamenco.clock import Clock
from flamenco.frame_checks import expected, files, looks
from flamenco.manager.config.variables import Variables
from flamenco.manager.errors import RequestRefused
from flamenco.manager.eventbus import events
from flamenco.manager.eventbus.broker import Broker
from flamenco.manager.persistence import Database, failures, jobs
from flamenco.manager.persistence.connection import Connection
from flamenco.manager.persistence.models import Job
from flamenco.manager.services import thumbnails
from flamenco.manager.services.local_storage import LocalStorage
from flamenco.manager.state_machine import rerender
from flamenco.manager.state_machine.changes import Changes
from flamenco.manager.state_machine.service import StateMachine

logger = logging.getLogger(__name__)

# Remembered file checks; each is a few hundred bytes.
CHECKS_REMEMBERED = 200_000
# Remembered black/identical verdicts, by file version.
LOOKS_REMEMBERED = 50_000
# How many files a scan checks before it lets other threads run.
FILES_BETWEEN_PAUSES = 32
# Jobs whose expected frames are remembered (they never change once compiled).
JOBS_REMEMBERED = 32
# Thumbnails made at once; the rest wait, so a mouse sweeping over a strip of frames
# does not start a process per frame.
THUMBNAILS_AT_ONCE = 2
# Frames larger than this get no thumbnail: the file is read into memory first.
MAX_THUMBNAIL_SOURCE_BYTES = 64 * 1024 * 1024
THUMBNAIL_FOLDER = "frame-thumbnails"


class OutputNotVisible(RequestRefused):
    """The Manager cannot see the folder the job renders to."""

    status = 409


class NoSuchFrame(RequestRefused):
    status = 404


@dataclass(frozen=True, slots=True)
class ExpectedFrame:
    task_id: int
    frame: int
    path: str
    # What to warn about (see flamenco.frame_checks.looks); usually nothing.
    warn_about: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class FrameInfo:
    """One frame: where it should be, what is there, and how the web interface shows it."""

    frame: int
    path: str
    task_uuid: str
    task_name: str
    state: str
    problem: str
    warning: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class JobFrames:
    job: Job
    frames: list[FrameInfo]


@dataclass(frozen=True, slots=True, kw_only=True)
class RequeuedTask:
    uuid: str
    name: str
    reason: str  # "frames": its own frames; "dependent": it depends on such a task


@dataclass(frozen=True, slots=True, kw_only=True)
class RerenderResult:
    checked_frames: int
    frames: list[FrameInfo]
    tasks: list[RequeuedTask]


class JobOutput:
    def __init__(
        self,
        *,
        db: Database,
        variables: Variables,
        state_machine: StateMachine,
        broker: Broker,
        storage: LocalStorage,
        clock: Clock,
    ) -> None:
        self._db = db
        self._variables = variables
        self._state_machine = state_machine
        self._broker = broker
        self._storage = storage
        self._clock = clock
        self._checks: dict[str, files.FileCheck] = {}
        self._looks: dict[tuple[str, int, int], looks.Look | None] = {}
        self._expected: OrderedDict[str, list[ExpectedFrame]] = OrderedDict()
        self._thumbnail_slots = asyncio.Semaphore(THUMBNAILS_AT_ONCE)

    # --- scanning

    async def frames(self, job_uuid: str) -> JobFrames:
        """Every frame the job's tasks render, checked on disk, in frame order."""
        job, statuses, expected_frames = await self._load(job_uuid)
        checks = await asyncio.to_thread(self._check_paths, [e.path for e in expected_frames])
        warnings: dict[str, str] = {}
        if any(wanted.warn_about for wanted in expected_frames):
            warnings = await asyncio.to_thread(self._look_warnings, expected_frames, checks)
        frames = []
        for wanted, check in zip(expected_frames, checks, strict=True):
            task = statuses[wanted.task_id]
            frames.append(
                FrameInfo(
                    frame=wanted.frame,
                    path=wanted.path,
                    task_uuid=task.uuid,
                    task_name=task.name,
                    state=rerender.frame_state(check.state, task.status),
                    problem=check.problem,
                    warning=warnings.get(wanted.path, ""),
                )
            )
        frames.sort(key=lambda info: info.frame)
        return JobFrames(job=job, frames=frames)

    async def _load(
        self, job_uuid: str
    ) -> tuple[Job, dict[int, jobs.TaskStatusRow], list[ExpectedFrame]]:
        known = self._expected.get(job_uuid)

        def transaction(
            conn: Connection,
        ) -> tuple[Job, list[jobs.TaskStatusRow], list[tuple[int, list[Any]]] | None]:
            job = jobs.fetch_job(conn, job_uuid)
            rows = jobs.fetch_task_statuses_of_job(conn, job.id)
            tasks = jobs.fetch_task_commands_of_job(conn, job.id) if known is None else None
            return job, rows, tasks

        job, rows, tasks = await self._db.read(transaction)
        if known is None:
            assert tasks is not None
            known = await asyncio.to_thread(self._expected_frames, tasks)
            self._expected[job_uuid] = known
            while len(self._expected) > JOBS_REMEMBERED:
                self._expected.popitem(last=False)
        else:
            self._expected.move_to_end(job_uuid)
        return job, {row.id: row for row in rows}, known

    def _expected_frames(self, tasks: list[tuple[int, list[Any]]]) -> list[ExpectedFrame]:
        """The frames of the tasks' `blender-render` commands, as the Manager sees them.

        The command lines are read as stored; only the output path is expanded with
        the Manager's variables, once per distinct path: a 10,000-task job has one.
        """
        platform = self._variables.manager_platform
        expanded: dict[str, str] = {}
        found: list[ExpectedFrame] = []
        for task_id, commands in tasks:
            for command in commands:
                if not isinstance(command, dict) or command.get("name") != "blender-render":
                    continue
                warn_about = tuple(
                    str(kind)
                    for kind in (command.get("parameters") or {}).get("frameWarnings") or ()
                    if kind in looks.KINDS
                )
                for output in expected.blender_render_outputs([command]):
                    pattern = expanded.get(output.pattern)
                    if pattern is None:
                        pattern = self._variables.expand(output.pattern, platform)
                        expanded[output.pattern] = pattern
                    output = dataclasses.replace(output, pattern=pattern)
                    found.extend(
                        ExpectedFrame(task_id, frame, path, warn_about)
                        for frame, path in output.paths()
                    )
        return found

    def _check_paths(self, paths: list[str]) -> list[files.FileCheck]:
        """Check the files, reading only those changed since the last scan (in a thread)."""
        checks = []
        remembered = self._checks
        for number, path in enumerate(paths):
            check = files.check_file(path, remembered.get(path))
            checks.append(check)
            remembered[path] = check
            if number % FILES_BETWEEN_PAUSES == FILES_BETWEEN_PAUSES - 1:
                # Lets the event loop's thread have the GIL now, rather than after
                # the interpreter's switch interval: Workers waiting for an answer
                # should not notice a scan.
                time.sleep(0)
        if len(remembered) > CHECKS_REMEMBERED:
            # Forget the oldest half; dicts keep their insertion order.
            for path in list(remembered)[: len(remembered) // 2]:
                remembered.pop(path, None)
        return checks

    def _look_warnings(
        self, expected_frames: list[ExpectedFrame], checks: list[files.FileCheck]
    ) -> dict[str, str]:
        """Black and identical frames among the rendered ones (in a thread; decodes pixels)."""
        found: dict[str, str] = {}
        previous: tuple[ExpectedFrame, looks.Look] | None = None
        pairs = sorted(zip(expected_frames, checks, strict=True), key=lambda pair: pair[0].frame)
        for wanted, check in pairs:
            current = self._look(check) if wanted.warn_about and check.ok else None
            if current is None:
                previous = None
                continue
            if looks.BLACK in wanted.warn_about and current.black:
                found[wanted.path] = "every pixel is black"
            elif (
                looks.IDENTICAL in wanted.warn_about
                and previous is not None
                and previous[0].frame == wanted.frame - 1
                and previous[1].digest == current.digest
            ):
                found[wanted.path] = f"identical to frame {previous[0].frame}"
            previous = (wanted, current)
        return found

    def _look(self, check: files.FileCheck) -> looks.Look | None:
        key = (check.path, check.size, check.modified_ns)
        if key not in self._looks:
            if len(self._looks) > LOOKS_REMEMBERED:
                self._looks.clear()
            self._looks[key] = looks.look(check.path)
        return self._looks[key]

    # --- re-rendering

    async def rerender_missing(self, job_uuid: str, reason: str) -> RerenderResult:
        """Requeue the finished tasks whose frames are missing or broken, and their dependents.

        Broken frames are set aside first (renamed to `*.broken`), so that a render
        that keeps existing files renders them again.
        """
        scanned = await self.frames(job_uuid)
        problem = rerender.job_status_problem(scanned.job.status)
        if problem is not None:
            raise RequestRefused(problem, status=409)
        bad = [info for info in scanned.frames if info.state in ("missing", "broken")]
        if bad:
            await self._refuse_if_output_invisible(scanned.frames)
        _, statuses, expected_frames = await self._load(job_uuid)
        task_id_by_uuid = {row.uuid: row.id for row in statuses.values()}
        bad_tasks = {task_id_by_uuid[info.task_uuid] for info in bad}
        # Before the tasks are queued, so that no Worker finds a broken file it keeps.
        broken = [info.path for info in bad if info.state == "broken"]
        if broken:
            await asyncio.to_thread(_set_aside_all, broken)

        def transaction(conn: Connection) -> tuple[rerender.RerenderPlan, Changes, Job]:
            return self._requeue(conn, scanned.job, bad_tasks, reason)

        plan, changes, job = await self._db.write(transaction)
        self._state_machine.publish(changes)
        requeued_frame_tasks = {statuses[task_id].uuid for task_id in plan.frame_tasks}
        frames = [info for info in bad if info.task_uuid in requeued_frame_tasks]
        tasks = [
            RequeuedTask(uuid=statuses[task_id].uuid, name=statuses[task_id].name, reason=kind)
            for kind, ids in (("frames", plan.frame_tasks), ("dependent", plan.dependent_tasks))
            for task_id in ids
        ]
        if tasks:
            logger.info(
                "re-rendering missing frames",
                extra={"job": job.uuid, "frames": len(frames), "tasks": len(tasks)},
            )
        return RerenderResult(checked_frames=len(expected_frames), frames=frames, tasks=tasks)

    def _requeue(
        self, conn: Connection, job: Job, bad_tasks: set[int], reason: str
    ) -> tuple[rerender.RerenderPlan, Changes, Job]:
        now = self._clock.now()
        changes = Changes()
        # Decided again inside the transaction, from the statuses as they are now.
        statuses = {row.id: row.status for row in jobs.fetch_task_statuses_of_job(conn, job.id)}
        plan = rerender.plan(statuses, bad_tasks, jobs.fetch_task_dependencies_of_job(conn, job.id))
        if not plan.all_tasks:
            return plan, changes, job
        # Tasks first, then the job: the lock order of every transaction.
        for task_id in plan.all_tasks:
            task = jobs.fetch_task_by_id(conn, task_id)
            why = (
                "its frames are missing or broken"
                if task_id in plan.frame_tasks
                else ("a task it depends on renders frames again")
            )
            activity = f"Queued to render again: {why} ({reason})"
            _, updated = jobs.save_task_status(conn, task, TaskStatus.QUEUED, now)
            jobs.save_task_activity(conn, task.id, activity, now)
            failures.clear_task_failures(conn, task.id)
            changes.log(job.uuid, task.uuid, activity)
            changes.log(job.uuid, task.uuid, f"task changed status {task.status} -> queued")
            changes.event(events.task_updated(updated, previous_status=task.status))
        locked = jobs.fetch_job_for_update(conn, job.id)
        jobs.recount_job_tasks(conn, job.id)
        jobs.recompute_job_steps(conn, job.id)
        if locked.status in rerender.JOB_STATUSES_TO_QUEUE:
            if locked.status == JobStatus.FAILED:
                failures.clear_job_blocklist(conn, job.id)
            jobs.save_job_status(
                conn, job.id, JobStatus.QUEUED, f"Queued to render missing frames ({reason})", now
            )
        updated_job = jobs.fetch_job_by_id(conn, job.id)
        changes.event(events.job_updated(updated_job, previous_status=locked.status))
        return plan, changes, updated_job

    async def _refuse_if_output_invisible(self, frames: list[FrameInfo]) -> None:
        folders = sorted({os.path.dirname(info.path) for info in frames})

        def any_visible() -> bool:
            return any(os.path.isdir(folder) for folder in folders)

        if folders and not await asyncio.to_thread(any_visible):
            raise OutputNotVisible(
                f"the Manager cannot see the job's output folder {folders[0]}; "
                "is the shared storage mounted here?"
            )

    # --- thumbnails

    async def thumbnail(self, job_uuid: str, frame: int) -> Path:
        """A small JPEG of a rendered frame, made once per version of the file."""
        _, _, expected_frames = await self._load(job_uuid)
        wanted = next((e for e in expected_frames if e.frame == frame), None)
        if wanted is None:
            raise NoSuchFrame(f"the job renders no frame {frame}")
        check = await asyncio.to_thread(self._check_paths, [wanted.path])
        if not check[0].ok:
            raise NoSuchFrame(f"frame {frame} is {check[0].state}: {check[0].problem}")
        folder = self._storage.job_dir(job_uuid) / THUMBNAIL_FOLDER
        target = folder / f"{frame}-{check[0].size}-{check[0].modified_ns}.jpg"
        if await asyncio.to_thread(target.exists):
            return target
        async with self._thumbnail_slots:
            if not await asyncio.to_thread(target.exists):
                await self._make_thumbnail(wanted.path, check[0].size, folder, target, frame)
        return target

    async def _make_thumbnail(
        self, source: str, size: int, folder: Path, target: Path, frame: int
    ) -> None:
        if size > MAX_THUMBNAIL_SOURCE_BYTES:
            raise NoSuchFrame(f"frame {frame} is too large for a thumbnail", status=415)
        data = await asyncio.to_thread(Path(source).read_bytes)
        try:
            await asyncio.to_thread(thumbnails.check_header, data)
        except thumbnails.ImageRefused as refused:
            message = f"no thumbnail of frame {frame}: {refused.message}"
            raise NoSuchFrame(message, status=415) from None
        work = folder / f".{frame}~"
        try:
            await thumbnails.make_thumbnails(data, work)
            await asyncio.to_thread(_replace_thumbnail, work, target, frame)
        except thumbnails.ThumbnailsFailed as failed:
            raise NoSuchFrame(f"no thumbnail of frame {frame}: {failed}", status=415) from None
        finally:
            await asyncio.to_thread(shutil.rmtree, work, True)


def _replace_thumbnail(work: Path, target: Path, frame: int) -> None:
    for old in target.parent.glob(f"{frame}-*.jpg"):
        with contextlib.suppress(OSError):
            old.unlink()
    os.replace(work / thumbnails.TINY_IMAGE_NAME, target)


def _set_aside_all(paths: list[str]) -> None:
    for path in paths:
        # Checked again: the file may have been replaced since the scan.
        if files.check_file(path).state == files.FrameState.BROKEN:
            with contextlib.suppress(OSError):
                files.set_aside(path)
