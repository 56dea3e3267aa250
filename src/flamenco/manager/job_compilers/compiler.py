"""JobCompilers: the async facade that lists job types and compiles submitted jobs into tasks.

Every call reads the scripts again (custom ones may have been edited) and runs
them in a fresh V8 context on a worker thread, so the event loop never waits on
JavaScript. A custom script that fails to load is reported and, if a built-in
job type has the same name, the built-in one serves in its place.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime
import logging
import math
import os
import pathlib
import uuid
from collections.abc import Mapping
from typing import Any

from flamenco.manager.job_compilers import engine, loader, validation
from flamenco.manager.job_compilers.errors import (
    JobCompileError,
    JobPriorityInvalid,
    JobScriptBroken,
    JobScriptLimitExceeded,
    JobTypeEtagMismatch,
    JobTypeUnknown,
)
from flamenco.manager.job_compilers.models import (
    AuthoredCommand,
    AuthoredJob,
    AuthoredTask,
    BrokenJobType,
    JobTypeListing,
)

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT_SECONDS = 5.0
DEFAULT_MAX_MEMORY_BYTES = 256 * 2**20
DEFAULT_JOB_PRIORITY = 50


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class _Loaded:
    """A script whose top level ran and which declares a usable job type."""

    script: loader.ScriptFile
    declaration: engine.ScriptDeclaration
    listing: dict[str, Any]


class JobCompilers:
    """Job types from the built-in scripts and from `scripts_dir`, and compilation of jobs."""

    def __init__(
        self,
        *,
        scripts_dir: pathlib.Path | None,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        max_memory_bytes: int = DEFAULT_MAX_MEMORY_BYTES,
    ) -> None:
        self.scripts_dir = scripts_dir
        self._engine = engine.Engine(
            runtime_source=loader.read_runtime_source(),
            timeout_seconds=timeout_seconds,
            max_memory_bytes=max_memory_bytes,
        )
        self._platform = engine.go_platform()

    async def list_job_types(self) -> JobTypeListing:
        """All usable job types, sorted by name, and the script files that failed to load."""
        return await asyncio.to_thread(self.list_job_types_blocking)

    async def get_job_type(self, name: str) -> dict[str, Any]:
        """The AvailableJobType JSON of one job type; raises JobTypeUnknown or JobScriptBroken."""
        return await asyncio.to_thread(self.get_job_type_blocking, name)

    async def compile(
        self,
        submitted: Mapping[str, Any],
        *,
        created: datetime.datetime,
        job_id: str | None = None,
    ) -> AuthoredJob:
        """Compile a SubmittedJob JSON dict (already schema-validated) into an AuthoredJob.

        Checks the type etag and the settings before running the script's
        compileJob(). `created` must be timezone-aware; it becomes `job.created`.
        """
        if created.tzinfo is None:
            raise ValueError("created must be a timezone-aware datetime")
        return await asyncio.to_thread(self.compile_blocking, submitted, created, job_id)

    # The *_blocking methods run JavaScript; call them from a worker thread only.

    def list_job_types_blocking(self) -> JobTypeListing:
        catalogue = loader.load_catalogue(self.scripts_dir)
        broken = [_unreadable_to_broken(unreadable) for unreadable in catalogue.unreadable]
        modules = _LazyModules(self.scripts_dir)
        job_types: list[dict[str, Any]] = []
        for name in sorted(catalogue.candidates):
            loaded = self._first_usable(catalogue.candidates[name], modules, broken)
            if loaded is not None:
                job_types.append(loaded.listing)
        return JobTypeListing(job_types=job_types, broken=broken)

    def get_job_type_blocking(self, name: str) -> dict[str, Any]:
        catalogue = loader.load_catalogue(self.scripts_dir, only=name)
        broken = [_unreadable_to_broken(unreadable) for unreadable in catalogue.unreadable]
        loaded = self._first_usable(
            catalogue.candidates.get(name, []), _LazyModules(self.scripts_dir), broken
        )
        if loaded is not None:
            return loaded.listing
        raise _unknown_or_broken(name, broken)

    def compile_blocking(
        self,
        submitted: Mapping[str, Any],
        created: datetime.datetime,
        job_id: str | None,
    ) -> AuthoredJob:
        type_name = str(submitted["type"])
        catalogue = loader.load_catalogue(self.scripts_dir, only=type_name)
        broken = [_unreadable_to_broken(unreadable) for unreadable in catalogue.unreadable]
        modules = _LazyModules(self.scripts_dir)
        for script in catalogue.candidates.get(type_name, []):
            if _is_helper_module(script):
                continue
            with self._session(script, modules) as session:
                loaded = self._load(session, script, broken)
                if loaded is None:
                    continue
                if broken:
                    logger.warning(
                        "compiling job with %s, because %s is broken",
                        script.location,
                        broken[-1].file,
                    )
                return self._compile_loaded(session, loaded, submitted, created, job_id)
        raise _unknown_or_broken(type_name, broken)

    # ------------------------------------------------------------ internals

    def _session(
        self, script: loader.ScriptFile, modules: _LazyModules
    ) -> contextlib.AbstractContextManager[engine.Session]:
        return self._engine.session(
            cwd=os.getcwd(),
            platform=self._platform,
            # Modules are only reachable through require(), so skip reading them otherwise.
            modules=modules.get() if "require" in script.source else {},
            label=f"job type script {script.file_name}",
        )

    def _first_usable(
        self,
        scripts: list[loader.ScriptFile],
        modules: _LazyModules,
        broken: list[BrokenJobType],
    ) -> _Loaded | None:
        for script in scripts:
            if _is_helper_module(script):
                continue
            with self._session(script, modules) as session:
                loaded = self._load(session, script, broken)
            if loaded is not None:
                return loaded
        return None

    def _load(
        self,
        session: engine.Session,
        script: loader.ScriptFile,
        broken: list[BrokenJobType],
    ) -> _Loaded | None:
        """The script's job type; None for a helper module or a broken script (see `broken`)."""
        try:
            declaration = session.load(script)
        except engine.ScriptFailure as failure:
            problem = failure.message
            if failure.line is not None:
                problem = f"line {failure.line}: {problem}"
            _report_broken(script, problem, broken)
            return None
        except engine.ScriptLimitHit as limit:
            _report_broken(script, limit.message, broken)
            return None
        if not declaration.has_job_type and not declaration.has_compile_job:
            logger.debug("%s defines no job type, treating it as a helper module", script.location)
            return None
        declared_problem = _declaration_problem(declaration)
        if declared_problem is not None:
            _report_broken(script, declared_problem, broken)
            return None
        if declaration.info is None or declaration.etag is None:
            _report_broken(script, "does not define a JOB_TYPE object", broken)
            return None
        return _Loaded(
            script=script,
            declaration=declaration,
            listing=_listing(declaration.info, declaration.etag),
        )

    def _compile_loaded(
        self,
        session: engine.Session,
        loaded: _Loaded,
        submitted: Mapping[str, Any],
        created: datetime.datetime,
        job_id: str | None,
    ) -> AuthoredJob:
        script = loaded.script
        etag = loaded.listing["etag"]
        submitted_etag = submitted.get("type_etag")
        if submitted_etag:
            if submitted_etag != etag:
                raise JobTypeEtagMismatch(script.job_type, etag, str(submitted_etag))
        else:
            logger.warning(
                "job %r submitted without a job type etag; not checking that its settings are "
                "up to date with job type %r",
                submitted.get("name"),
                script.job_type,
            )

        priority = submitted.get("priority", DEFAULT_JOB_PRIORITY)
        if not validation.is_int32(priority):
            # Beyond this the INTEGER column refuses it (PostgreSQL's is 32 bits) and, past
            # 2**53, JavaScript rounds it: a 500 either way, found by fuzzing.
            raise JobPriorityInvalid(
                f"priority must be a whole number from {validation.INT32_MIN} to "
                f"{validation.INT32_MAX}, not {priority}"
            )
        settings = validation.prepare_settings(
            loaded.listing["settings"], submitted.get("settings") or {}
        )
        created_utc = created.astimezone(datetime.UTC)
        job_id = job_id or str(uuid.uuid4())
        storage = submitted.get("storage") or {}
        job_input = {
            "jobID": job_id,
            "name": submitted["name"],
            "jobType": script.job_type,
            "priority": priority,
            # JS dates have millisecond precision.
            "created": math.floor(created_utc.timestamp() * 1000),
            "settings": settings,
            "metadata": dict(submitted.get("metadata") or {}),
            "workerTagUUID": submitted.get("worker_tag") or "",
            "shamanCheckoutID": storage.get("shaman_checkout_id") or "",
        }
        try:
            result = session.compile_job(script, job_input)
        except engine.ScriptFailure as failure:
            raise JobCompileError(failure.message, file=failure.file, line=failure.line) from None
        except engine.ScriptLimitHit as limit:
            raise JobScriptLimitExceeded(limit.message, limit=limit.limit) from None

        authored = _authored_job(
            result,
            script=script,
            job_id=job_id,
            created=created_utc,
        )
        task_types = {task.task_type for task in authored.tasks}
        authored = dataclasses.replace(
            authored,
            resource_limits={
                task_type: names
                for task_type, names in loaded.declaration.resource_limits.items()
                if task_type in task_types
            },
        )
        logger.info(
            "job compiled",
            extra={
                "action": "job_compiled",
                "job": job_id,
                "job_type": script.job_type,
                "num_tasks": len(authored.tasks),
            },
        )
        return authored


class _LazyModules:
    """The module map for require(), read at most once per request and only when needed."""

    def __init__(self, scripts_dir: pathlib.Path | None) -> None:
        self._scripts_dir = scripts_dir
        self._modules: dict[str, str] | None = None

    def get(self) -> dict[str, str]:
        if self._modules is None:
            self._modules = loader.load_modules(self._scripts_dir)
        return self._modules


def _is_helper_module(script: loader.ScriptFile) -> bool:
    # A file that never mentions either name cannot define a job type. Deciding
    # this without running it matters: a CommonJS module assigns to
    # `module.exports` at top level, which throws when run as a script.
    return "JOB_TYPE" not in script.source and "compileJob" not in script.source


def _declaration_problem(declaration: engine.ScriptDeclaration) -> str | None:
    if declaration.problem is not None:
        return declaration.problem
    if not declaration.has_compile_job:
        return "does not define a compileJob(job) function"
    if not declaration.has_job_type:
        return "does not define a JOB_TYPE object"
    return None


def _report_broken(script: loader.ScriptFile, problem: str, broken: list[BrokenJobType]) -> None:
    logger.error(
        "job type script %s is broken: %s",
        script.location,
        problem,
        extra={"action": "job_type_broken", "job_type": script.job_type, "script": script.location},
    )
    broken.append(BrokenJobType(name=script.job_type, file=script.location, message=problem))


def _unreadable_to_broken(unreadable: loader.UnreadableScript) -> BrokenJobType:
    return BrokenJobType(
        name=unreadable.job_type, file=unreadable.location, message=unreadable.message
    )


def _unknown_or_broken(name: str, broken: list[BrokenJobType]) -> JobTypeUnknown | JobScriptBroken:
    if broken:
        first = broken[0]
        return JobScriptBroken(name, first.file, first.message)
    return JobTypeUnknown(name)


def _listing(info: Mapping[str, Any], etag: str) -> dict[str, Any]:
    listing: dict[str, Any] = {"name": info["name"], "label": info["label"]}
    if "description" in info:
        listing["description"] = info["description"]
    listing["settings"] = info["settings"] if info["settings"] is not None else []
    listing["etag"] = etag
    if "chain" in info:
        listing["chain"] = info["chain"]
    return listing


def _authored_job(
    result: Any,
    *,
    script: loader.ScriptFile,
    job_id: str,
    created: datetime.datetime,
) -> AuthoredJob:
    """Turn the runtime's JSON into records; anything malformed is the script's fault."""
    try:
        raw_tasks = result["tasks"]
        uuids = _random_uuids(len(raw_tasks))
        tasks = [
            _authored_task(raw, own_uuid=own_uuid, uuids=uuids)
            for raw, own_uuid in zip(raw_tasks, uuids, strict=True)
        ]
        settings = _object(result["settings"])
        metadata = _object(result["metadata"])
        name = _text(result["name"])
        priority = _integer(result["priority"])
        if not validation.is_int32(priority):
            raise ValueError(f"priority {priority} does not fit in 32 bits")
    except (KeyError, TypeError, IndexError, ValueError) as error:
        raise JobCompileError(
            f"the script produced a malformed job: {error}", file=script.file_name, line=None
        ) from None
    _refuse_cycles(tasks, script)
    return AuthoredJob(
        job_id=job_id,
        name=name,
        job_type=script.job_type,
        priority=priority,
        created=created,
        settings=settings,
        metadata={str(key): str(value) for key, value in metadata.items()},
        tasks=tasks,
    )


def _random_uuids(count: int) -> list[str]:
    """`count` random (version 4) UUIDs as strings.

    Equivalent to `str(uuid.uuid4())` per task, but drawing the randomness in
    one call and formatting it directly is four times faster, which matters
    for jobs with tens of thousands of tasks.
    """
    digits = os.urandom(16 * count).hex()
    uuids = []
    for start in range(0, 32 * count, 32):
        hexed = digits[start : start + 32]
        variant = "89ab"[int(hexed[16], 16) & 3]  # RFC 4122 variant bits 10xx
        uuids.append(
            f"{hexed[:8]}-{hexed[8:12]}-4{hexed[13:16]}-{variant}{hexed[17:20]}-{hexed[20:]}"
        )
    return uuids


def _authored_task(raw: Mapping[str, Any], *, own_uuid: str, uuids: list[str]) -> AuthoredTask:
    dependencies = raw["dependencies"]
    if not isinstance(dependencies, list) or not all(
        type(index) is int and 0 <= index < len(uuids) for index in dependencies
    ):
        raise ValueError(f"task {raw['name']!r} has an invalid dependency list")
    return AuthoredTask(
        uuid=own_uuid,
        name=_text(raw["name"]),
        task_type=_text(raw["type"]),
        priority=_integer(raw["priority"]),
        commands=[
            AuthoredCommand(
                name=_text(command["name"]),
                parameters=_object(command["parameters"]),
                total_step_count=_integer(command["totalStepCount"]),
            )
            for command in raw["commands"]
        ],
        dependencies=[uuids[index] for index in dependencies],
    )


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return value


def _integer(value: object) -> int:
    if type(value) is not int:
        raise TypeError(f"expected an integer, got {type(value).__name__}")
    return value


def _object(value: object) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise TypeError(f"expected an object, got {type(value).__name__}")
    return value


def _refuse_cycles(tasks: list[AuthoredTask], script: loader.ScriptFile) -> None:
    """Tasks in a dependency cycle could never run; refuse the job instead of storing it stuck."""
    waiting_on = {task.uuid: len(task.dependencies) for task in tasks}
    dependants: dict[str, list[str]] = {task.uuid: [] for task in tasks}
    for task in tasks:
        for dependency in task.dependencies:
            dependants[dependency].append(task.uuid)
    ready = [task_uuid for task_uuid, count in waiting_on.items() if count == 0]
    while ready:
        done = ready.pop()
        for dependant in dependants[done]:
            waiting_on[dependant] -= 1
            if waiting_on[dependant] == 0:
                ready.append(dependant)
    stuck = [task.name for task in tasks if waiting_on[task.uuid] > 0]
    if stuck:
        shown = ", ".join(repr(name) for name in stuck[:5])
        more = f" and {len(stuck) - 5} more" if len(stuck) > 5 else ""
        raise JobCompileError(
            f"task dependencies form a cycle; these tasks could never run: {shown}{more}",
            file=script.file_name,
            line=None,
        )
