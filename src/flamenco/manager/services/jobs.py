"""Jobs as users see them: submission, queries, and status, priority, tag and deletion requests."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flamenco.api.enums import JobStatus, TaskStatus
from flamenco.clock import Clock
from flamenco.manager import job_compilers
from flamenco.manager.config.variables import Variables
from flamenco.manager.errors import RequestRefused
from flamenco.manager.eventbus import events
from flamenco.manager.eventbus.broker import Broker
from flamenco.manager.persistence import (
    Database,
    errors,
    failures,
    job_dependencies,
    jobs,
    workers,
)
from flamenco.manager.persistence.connection import Connection
from flamenco.manager.persistence.models import (
    BlocklistEntry,
    Job,
    Task,
    TaskRef,
    TaskWorkerRef,
)
from flamenco.manager.services import approvals
from flamenco.manager.state_machine import job_graph_rules, transitions
from flamenco.manager.state_machine.changes import Changes
from flamenco.manager.state_machine.service import StateMachine

logger = logging.getLogger(__name__)

# Statuses a job may be submitted in. Upstream stores whatever is sent, which can
# create jobs that nothing will ever run or finish.
SUBMITTABLE_STATUSES = (JobStatus.QUEUED, JobStatus.PAUSED)


class StatusChangeNotAllowed(RequestRefused):
    """The requested status change makes no sense from the current status."""

    status = 422


class JobSubmissionError(RequestRefused):
    """The submitted job cannot be accepted."""

    status = 400


class JobHasDependents(RequestRefused):
    """Deleting the job would leave jobs waiting for a job that is gone."""

    status = 409


@dataclass(frozen=True, slots=True, kw_only=True)
class JobGraph:
    """A job's place among its dependencies and dependents, and why it waits."""

    depends_on: list[job_graph_rules.JobRef]
    dependents: list[job_graph_rules.JobRef]
    waiting_reason: str
    awaiting_approval: list[Task]


def _depends_on(submitted: Mapping[str, Any]) -> list[str]:
    """The submitted `depends_on` IDs, each once, in the order given."""
    return list(dict.fromkeys(str(uuid) for uuid in submitted.get("depends_on") or ()))


def _fetch_dependencies(
    conn: Connection, uuids: list[str], *, lock: bool = True
) -> list[job_graph_rules.JobRef]:
    """The jobs a new job is to depend on; a 400 naming any that is unknown or going."""
    found = []
    for uuid in uuids:
        try:
            dependency = job_dependencies.fetch_job_as_dependency(conn, uuid, lock=lock)
        except errors.JobNotFound:
            raise JobSubmissionError(f"depends_on: job {uuid} does not exist") from None
        if dependency.being_deleted:
            raise JobSubmissionError(
                f'depends_on: job {uuid} ("{dependency.name}") is being deleted'
            )
        found.append(dependency)
    return found


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskDetails:
    task: Task
    failed_by_workers: list[TaskWorkerRef]


class JobService:
    def __init__(
        self,
        *,
        db: Database,
        compilers: job_compilers.JobCompilers,
        variables: Variables,
        state_machine: StateMachine,
        broker: Broker,
        clock: Clock,
        manager_platform: str,
    ) -> None:
        self._db = db
        self._compilers = compilers
        self._variables = variables
        self._state_machine = state_machine
        self._broker = broker
        self._clock = clock
        self._manager_platform = manager_platform
        self._statistics_refresh: asyncio.Task[None] | None = None
        self._statistics_stale = False

    async def close(self) -> None:
        """Wait for a statistics refresh in progress; the database closes after this."""
        if self._statistics_refresh is not None:
            await self._statistics_refresh

    async def check(self, submitted: Mapping[str, Any]) -> None:
        """Compile the job without storing it; raises what submit() would raise."""
        await self._compile(submitted)
        if depends_on := _depends_on(submitted):
            await self._db.read(lambda conn: _fetch_dependencies(conn, depends_on, lock=False))

    async def submit(self, submitted: Mapping[str, Any]) -> Job:
        """Compile and store a job; it starts out queued, or paused when asked."""
        status = JobStatus(submitted.get("initial_status") or JobStatus.QUEUED)
        if status not in SUBMITTABLE_STATUSES:
            allowed = ", ".join(SUBMITTABLE_STATUSES)
            raise JobSubmissionError(f"initial_status must be one of {allowed}, not {status}")
        authored = await self._compile(submitted)
        tag_uuid = submitted.get("worker_tag") or ""
        storage = submitted.get("storage") or {}
        new_job = jobs.NewJob(
            uuid=authored.job_id,
            name=authored.name,
            job_type=authored.job_type,
            priority=authored.priority,
            status=status,
            task_status=TaskStatus.PAUSED if status == JobStatus.PAUSED else TaskStatus.QUEUED,
            created_at=authored.created,
            settings=authored.settings,
            metadata=authored.metadata,
            submitter_platform=self._submitter_platform(submitted),
            shaman_checkout_id=storage.get("shaman_checkout_id") or "",
            worker_tag_id=None,
            max_workers=submitted.get("max_workers"),
            resource_limits=authored.resource_limits,
            tasks=[
                jobs.NewTask(
                    uuid=task.uuid,
                    name=task.name,
                    task_type=task.task_type,
                    priority=task.priority,
                    commands=[
                        {
                            "name": command.name,
                            "parameters": command.parameters,
                            "total_step_count": command.total_step_count,
                        }
                        for command in task.commands
                    ],
                    dependencies=task.dependencies,
                )
                for task in authored.tasks
            ],
        )

        depends_on = _depends_on(submitted)

        def transaction(conn: Connection) -> Job:
            tag_id = None
            if tag_uuid:
                try:
                    tag_id = workers.fetch_tag(conn, tag_uuid).id
                except errors.WorkerTagNotFound:
                    raise JobSubmissionError(f"worker tag {tag_uuid} does not exist") from None
            dependencies = _fetch_dependencies(conn, depends_on)
            job_id = jobs.insert_job(conn, dataclasses.replace(new_job, worker_tag_id=tag_id))
            if dependencies:
                job_dependencies.insert_dependencies(conn, job_id, (dep.id for dep in dependencies))
                if reason := job_graph_rules.waiting_reason(dependencies):
                    job_dependencies.set_job_waiting(conn, job_id, True)
                    job_dependencies.save_job_activity(conn, job_id, reason, new_job.created_at)
            job = jobs.fetch_job_by_id(conn, job_id)
            self._state_machine.outbox.job_may_run(conn, job, new_job.created_at)
            return dataclasses.replace(job, depends_on=tuple(dep.uuid for dep in dependencies))

        job = await self._db.write(transaction)
        logger.info(
            "job stored",
            extra={"job": job.uuid, "job_type": job.job_type, "tasks": len(new_job.tasks)},
        )
        if len(new_job.tasks) >= jobs.TASKS_NEEDING_FRESH_STATISTICS:
            self._refresh_statistics_soon()
        self._broker.publish(events.job_updated(job))
        return job

    def _refresh_statistics_soon(self) -> None:
        """Refresh the planner's statistics after the answer, not before: on PostgreSQL
        ANALYZE takes 100-150 ms with 100,000 tasks, a tenth of a 10,000-frame
        submission. One refresh at a time; jobs stored meanwhile get one more."""
        if self._statistics_refresh is not None and not self._statistics_refresh.done():
            self._statistics_stale = True
            return
        self._statistics_refresh = asyncio.create_task(self._refresh_statistics())

    async def _refresh_statistics(self) -> None:
        while True:
            self._statistics_stale = False
            try:
                await self._db.write(jobs.refresh_task_statistics, one_statement=True)
            except Exception as error:
                # Only the scheduler's speed depends on it, and autovacuum catches up.
                logger.warning("cannot refresh task statistics", extra={"error": str(error)})
            if not self._statistics_stale:
                return

    async def _compile(self, submitted: Mapping[str, Any]) -> job_compilers.AuthoredJob:
        platform = self._submitter_platform(submitted)
        settings, metadata = self._variables.replace_two_way_values(
            dict(submitted.get("settings") or {}), dict(submitted.get("metadata") or {}), platform
        )
        prepared = {**submitted, "settings": settings, "metadata": metadata}
        return await self._compilers.compile(prepared, created=self._clock.now())

    def _submitter_platform(self, submitted: Mapping[str, Any]) -> str:
        platform = str(submitted.get("submitter_platform") or "")
        return self._manager_platform if platform == "manager" else platform

    async def fetch_jobs(self) -> list[Job]:
        def transaction(conn: Connection) -> list[Job]:
            listed = jobs.fetch_jobs(conn)
            edges = job_dependencies.fetch_all_dependency_uuids(conn)
            if not edges:
                return listed
            return [
                dataclasses.replace(job, depends_on=edges[job.id]) if job.id in edges else job
                for job in listed
            ]

        return await self._db.read(transaction)

    async def fetch_job(self, job_uuid: str) -> Job:
        def transaction(conn: Connection) -> Job:
            job = jobs.fetch_job(conn, job_uuid)
            dependencies = job_dependencies.fetch_dependencies(conn, job.id)
            if not dependencies:
                return job
            return dataclasses.replace(job, depends_on=tuple(dep.uuid for dep in dependencies))

        return await self._db.read(transaction)

    async def fetch_job_graph(self, job_uuid: str) -> JobGraph:
        """The jobs this job depends on, those depending on it, and why it waits."""

        def transaction(conn: Connection) -> JobGraph:
            job = jobs.fetch_job(conn, job_uuid)
            dependencies = job_dependencies.fetch_dependencies(conn, job.id)
            return JobGraph(
                depends_on=dependencies,
                dependents=job_dependencies.fetch_dependents(conn, job.id),
                waiting_reason=job_graph_rules.waiting_reason(dependencies),
                awaiting_approval=[
                    pending.task for pending in approvals.fetch_pending_approvals(conn, job.id)
                ],
            )

        return await self._db.read(transaction)

    async def fetch_job_tasks(self, job_uuid: str) -> list[Task]:
        def transaction(conn: Connection) -> list[Task]:
            return jobs.fetch_tasks_of_job(conn, jobs.fetch_job(conn, job_uuid).id)

        return await self._db.read(transaction)

    async def fetch_task(self, task_uuid: str) -> TaskDetails:
        def transaction(conn: Connection) -> TaskDetails:
            task = jobs.fetch_task(conn, task_uuid)
            return TaskDetails(
                task=task, failed_by_workers=failures.fetch_task_failers(conn, task.id)
            )

        return await self._db.read(transaction)

    async def fetch_task_ref(self, task_uuid: str) -> TaskRef:
        """Just enough of a task to find its files; cheaper than fetch_task()."""
        return await self._db.read(lambda conn: jobs.fetch_task_ref(conn, task_uuid))

    async def set_status(self, job_uuid: str, status: JobStatus, reason: str) -> None:
        """Change the job's status as a user asked; requeueing also forgets earlier failures."""

        def prepare(conn: Connection, job: Job) -> None:
            problem = transitions.job_status_request_problem(job.status, status)
            if problem is not None:
                raise StatusChangeNotAllowed(problem)
            if status == JobStatus.REQUEUEING:
                failures.clear_job_task_failures(conn, job.id)
                failures.clear_job_blocklist(conn, job.id)

        await self._state_machine.change_job_status(job_uuid, status, reason, prepare=prepare)

    async def set_task_status(self, task_uuid: str, status: TaskStatus, reason: str) -> None:
        """Change a task's status as a user asked; the reason becomes its activity."""
        now = self._clock.now()
        changes = Changes()

        def transaction(conn: Connection) -> None:
            task = jobs.fetch_task(conn, task_uuid)
            problem = transitions.task_status_request_problem(task.status, status)
            if problem is not None:
                raise StatusChangeNotAllowed(problem)
            jobs.save_task_activity(conn, task.id, reason, now)
            self._state_machine.apply_task_status(conn, changes, task, status, now)
            if status == TaskStatus.QUEUED:
                failures.clear_task_failures(conn, task.id)

        await self._db.write(transaction)
        self._state_machine.publish(changes)

    async def set_priority(self, job_uuid: str, priority: int) -> None:
        now = self._clock.now()

        def transaction(conn: Connection) -> Job:
            job = jobs.fetch_job(conn, job_uuid)
            jobs.save_job_priority(conn, job.id, priority, now)
            return jobs.fetch_job_by_id(conn, job.id)

        job = await self._db.write(transaction)
        self._broker.publish(events.job_updated(job))

    async def set_max_workers(self, job_uuid: str, max_workers: int | None) -> Job:
        """Cap how many of the job's tasks run at once (None lifts the cap).

        Tasks already running above a lowered cap keep running; no new ones start until
        fewer are active than the cap.
        """
        now = self._clock.now()

        def transaction(conn: Connection) -> Job:
            job = jobs.fetch_job(conn, job_uuid)
            jobs.save_job_max_workers(conn, job.id, max_workers, now)
            return jobs.fetch_job_by_id(conn, job.id)

        job = await self._db.write(transaction)
        self._broker.publish(events.job_updated(job))
        # As fetchJob shows it, with its dependencies.
        return await self.fetch_job(job_uuid)

    async def set_tag(self, job_uuid: str, *, tag_uuid: str = "", tag_name: str = "") -> None:
        """Limit the job to Workers with this tag (given by UUID or name); neither means untag."""
        now = self._clock.now()

        def transaction(conn: Connection) -> Job:
            job = jobs.fetch_job(conn, job_uuid)
            tag_id = None
            if tag_uuid:
                tag_id = workers.fetch_tag(conn, tag_uuid).id
            elif tag_name:
                tag_id = workers.fetch_tag_by_name(conn, tag_name).id
            jobs.save_job_tag(conn, job.id, tag_id, now)
            return jobs.fetch_job_by_id(conn, job.id)

        job = await self._db.write(transaction)
        self._broker.publish(events.job_updated(job))

    async def fetch_blocklist(self, job_uuid: str) -> list[BlocklistEntry]:
        def transaction(conn: Connection) -> list[BlocklistEntry]:
            return failures.fetch_job_blocklist(conn, jobs.fetch_job(conn, job_uuid).id)

        return await self._db.read(transaction)

    async def remove_from_blocklist(self, job_uuid: str, entries: list[BlocklistEntry]) -> None:
        def transaction(conn: Connection) -> None:
            job = jobs.fetch_job(conn, job_uuid)
            for entry in entries:
                failures.remove_job_block(conn, job.id, entry.worker_uuid, entry.task_type)

        await self._db.write(transaction)
        # These Workers may now take the job's tasks that they failed before.
        self._broker.publish(events.work_available(entry.worker_uuid for entry in entries))

    async def request_deletion(self, job_uuid: str, *, with_dependents: bool = False) -> Job:
        """Mark the job for deletion; jobs depending on it go too when `with_dependents`.

        Raises JobHasDependents (409) when other jobs depend on it and would stay.
        """
        now = self._clock.now()

        def transaction(conn: Connection) -> list[Job]:
            job_id = jobs.fetch_job(conn, job_uuid).id
            return self._mark_for_deletion(conn, [job_id], with_dependents, now)

        marked = await self._db.write(transaction)
        for job in marked:
            self._broker.publish(events.job_updated(job))
        return marked[0]

    async def request_mass_deletion(
        self, last_updated_max: dt.datetime, *, with_dependents: bool = False
    ) -> list[Job]:
        """Mark every job last updated at or before the moment; raises JobNotFound when none."""
        now = self._clock.now()

        def transaction(conn: Connection) -> list[Job]:
            job_ids = jobs.fetch_job_ids_updated_before(conn, last_updated_max)
            if not job_ids:
                raise errors.JobNotFound("no jobs modified before timestamp")
            return self._mark_for_deletion(conn, job_ids, with_dependents, now)

        marked = await self._db.write(transaction)
        for job in marked:
            self._broker.publish(events.job_updated(job))
        return marked

    def _mark_for_deletion(
        self, conn: Connection, job_ids: list[int], with_dependents: bool, now: dt.datetime
    ) -> list[Job]:
        """Mark the jobs, and the jobs depending on them when asked; else refuse if any.

        Each job is locked first (on PostgreSQL), so that a job submitted meanwhile to
        depend on it is either refused (it is being deleted) or counted here.
        """
        chosen = set(job_ids)
        left_behind: dict[int, job_graph_rules.JobRef] = {}
        for job_id in job_ids:
            jobs.fetch_job_for_update(conn, job_id)
            for dependent in job_dependencies.fetch_transitive_dependents(conn, job_id):
                if dependent.id not in chosen and not dependent.being_deleted:
                    left_behind[dependent.id] = dependent
        if left_behind and not with_dependents:
            names = ", ".join(f'"{job.name}" ({job.uuid})' for job in left_behind.values())
            raise JobHasDependents(
                f"other jobs depend on this job: {names}; delete them first, or "
                "together with it (with_dependents=true)"
            )
        to_mark = [*job_ids, *left_behind]
        for job_id in to_mark:
            jobs.request_job_deletion(conn, job_id, now)
        return [jobs.fetch_job_by_id(conn, job_id) for job_id in to_mark]
