"""Jobs and their tasks: storing, fetching, status and step bookkeeping."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from flamenco.api.enums import JobStatus, TaskStatus
from flamenco.manager.persistence import errors, render_statistics, workers
from flamenco.manager.persistence.connection import Connection, Dialect, Row
from flamenco.manager.persistence.models import (
    Job,
    Task,
    TaskRef,
    from_db_time,
    optional_time,
    status_since,
    to_db_time,
)
from flamenco.manager.persistence.queries import fetch_one

# A job this big changes the tasks table enough that the database's query planner
# should look at it again, soon after it is stored.
TASKS_NEEDING_FRESH_STATISTICS = 500


@dataclass(frozen=True, slots=True, kw_only=True)
class NewTask:
    uuid: str
    name: str
    task_type: str
    priority: int
    commands: list[dict[str, Any]]
    dependencies: list[str]

    @property
    def steps_total(self) -> int:
        # A command without steps of its own still counts as one step when it finishes.
        return sum(max(1, int(command.get("total_step_count") or 0)) for command in self.commands)


@dataclass(frozen=True, slots=True, kw_only=True)
class NewJob:
    uuid: str
    name: str
    job_type: str
    priority: int
    status: JobStatus
    task_status: TaskStatus
    created_at: dt.datetime
    settings: dict[str, Any]
    metadata: dict[str, str]
    submitter_platform: str
    shaman_checkout_id: str
    worker_tag_id: int | None
    tasks: list[NewTask]
    max_workers: int | None = None
    # Task type -> the named resource limits its tasks take (from the job type).
    resource_limits: Mapping[str, Sequence[str]] = dataclasses.field(default_factory=dict)


def insert_job(conn: Connection, job: NewJob) -> int:
    """Store a job with its tasks and their dependencies."""
    now = to_db_time(job.created_at)
    cursor = conn.execute(
        "insert_job",
        {
            "now": now,
            "uuid": job.uuid,
            "name": job.name,
            "job_type": job.job_type,
            "priority": job.priority,
            "status": job.status,
            "settings": json.dumps(job.settings),
            "metadata": json.dumps(job.metadata),
            "submitter_platform": job.submitter_platform,
            "shaman_checkout_id": job.shaman_checkout_id,
            "worker_tag_id": job.worker_tag_id,
            "steps_total": sum(task.steps_total for task in job.tasks),
            "max_workers": job.max_workers,
        },
    )
    job_id = int(cursor.fetchone()[0])
    # Every task type gets rows once the job type declares any limits ('' for none): the
    # scheduler tells from them when a job has nothing left that it may start.
    task_types = sorted({task.task_type for task in job.tasks}) if job.resource_limits else []
    conn.executemany(
        "insert_job_resource_limit",
        (
            {"job_id": job_id, "task_type": task_type, "limit_name": limit_name}
            for task_type in task_types
            for limit_name in sorted(set(job.resource_limits.get(task_type) or [""]))
        ),
    )
    conn.executemany(
        "insert_task",
        (
            {
                "now": now,
                "uuid": task.uuid,
                "name": task.name,
                "type": task.task_type,
                "job_id": job_id,
                "job_priority": job.priority,
                "index_in_job": index,
                "priority": task.priority,
                "status": job.task_status,
                "commands": json.dumps(task.commands),
                "steps_total": task.steps_total,
            }
            for index, task in enumerate(job.tasks, start=1)
        ),
    )
    conn.executemany(
        "insert_task_dependency_by_uuid",
        (
            {"task_uuid": task.uuid, "dependency_uuid": dependency}
            for task in job.tasks
            for dependency in task.dependencies
        ),
    )
    if job.tasks:
        conn.execute(
            "set_job_task_count",
            {"job_id": job_id, "status": job.task_status, "num_tasks": len(job.tasks)},
        )
    return job_id


def refresh_task_statistics(conn: Connection) -> None:
    """Bring the query planner's statistics up to date after a big job was stored."""
    conn.execute("refresh_task_statistics")


def fetch_job(conn: Connection, uuid: str) -> Job:
    return fetch_one(
        conn, "fetch_job", {"uuid": uuid}, Job.from_row, errors.JobNotFound(f"job {uuid} not found")
    )


def fetch_job_by_id(conn: Connection, job_id: int) -> Job:
    return fetch_one(
        conn,
        "fetch_job_by_id",
        {"id": job_id},
        Job.from_row,
        errors.JobNotFound(f"job {job_id} not found"),
    )


def fetch_job_for_update(conn: Connection, job_id: int) -> Job:
    """The job, which no other transaction may change until this one ends.

    Changes to a job's tasks take this before deciding about the job, so that
    concurrent ones are decided one after the other.
    """
    return fetch_one(
        conn,
        "fetch_job_for_update",
        {"id": job_id},
        Job.from_row,
        errors.JobNotFound(f"job {job_id} not found"),
    )


def fetch_jobs(conn: Connection) -> list[Job]:
    return [Job.from_row(row) for row in conn.execute("fetch_jobs")]


def fetch_jobs_in_status(conn: Connection, statuses: Iterable[JobStatus]) -> list[Job]:
    rows = conn.execute("fetch_jobs_in_status", {"statuses": json.dumps(list(statuses))})
    return [Job.from_row(row) for row in rows]


def save_job_status(
    conn: Connection, job_id: int, status: JobStatus, activity: str, now: dt.datetime
) -> None:
    conn.execute(
        "save_job_status",
        {"id": job_id, "status": status, "activity": activity, "now": to_db_time(now)},
    )


def save_job_priority(conn: Connection, job_id: int, priority: int, now: dt.datetime) -> None:
    conn.execute("save_job_priority", {"id": job_id, "priority": priority, "now": to_db_time(now)})
    conn.execute("save_tasks_job_priority", {"job_id": job_id, "priority": priority})


def save_job_max_workers(
    conn: Connection, job_id: int, max_workers: int | None, now: dt.datetime
) -> None:
    conn.execute(
        "save_job_max_workers",
        {"id": job_id, "max_workers": max_workers, "now": to_db_time(now)},
    )


def save_job_tag(
    conn: Connection, job_id: int, worker_tag_id: int | None, now: dt.datetime
) -> None:
    conn.execute(
        "save_job_tag",
        {"id": job_id, "worker_tag_id": worker_tag_id, "now": to_db_time(now)},
    )


def request_job_deletion(conn: Connection, job_id: int, now: dt.datetime) -> None:
    conn.execute("request_job_deletion", {"id": job_id, "now": to_db_time(now)})


def fetch_jobs_to_delete(conn: Connection) -> list[Job]:
    return [Job.from_row(row) for row in conn.execute("fetch_jobs_to_delete")]


def fetch_job_ids_updated_before(conn: Connection, moment: dt.datetime) -> list[int]:
    rows = conn.execute("fetch_job_ids_updated_before", {"moment": to_db_time(moment)})
    return [row[0] for row in rows]


def delete_job(conn: Connection, job_id: int) -> None:
    conn.execute("delete_job", {"id": job_id})


def delete_tasks_of_job(conn: Connection, job_id: int, limit: int) -> int:
    """Delete up to `limit` of the job's tasks, newest first; return how many went."""
    return conn.execute("delete_tasks_of_job", {"job_id": job_id, "limit": limit}).rowcount


def count_tasks_by_status(conn: Connection, job_id: int) -> dict[TaskStatus, int]:
    """How many of the job's tasks are in each status (kept in job_task_counts)."""
    rows = conn.execute("count_tasks_of_job_by_status", {"job_id": job_id})
    counts: dict[TaskStatus, int] = {}
    for row in rows:
        try:
            counts[TaskStatus(row["status"])] = row["num_tasks"]
        except ValueError:
            continue
    return counts


def recompute_job_steps(conn: Connection, job_id: int) -> None:
    conn.execute("recompute_job_steps", {"id": job_id})


def add_job_steps_completed(conn: Connection, job_id: int, delta: int, now: dt.datetime) -> None:
    if delta:
        conn.execute(
            "add_job_steps_completed", {"id": job_id, "delta": delta, "now": to_db_time(now)}
        )


def fetch_task(conn: Connection, uuid: str) -> Task:
    return fetch_one(
        conn,
        "fetch_task",
        {"uuid": uuid},
        Task.from_row,
        errors.TaskNotFound(f"task {uuid} not found"),
    )


def fetch_task_ref(conn: Connection, uuid: str) -> TaskRef:
    return fetch_one(
        conn,
        "fetch_task_ref",
        {"uuid": uuid},
        TaskRef.from_row,
        errors.TaskNotFound(f"task {uuid} not found"),
    )


def fetch_task_ref_for_worker(
    conn: Connection, task_uuid: str, worker_uuid: str
) -> tuple[TaskRef, int]:
    """The task a Worker reports on, and that Worker's database ID, in one query.

    Raises WorkerNotFound when the Worker is unknown or deleted, else TaskNotFound:
    the same errors, in the same order, as fetching the Worker and then the task.
    """
    row = conn.execute(
        "fetch_task_ref_and_sender", {"uuid": task_uuid, "worker_uuid": worker_uuid}
    ).fetchone()
    return _task_ref_and_sender(conn, row, task_uuid, worker_uuid)


@dataclass(frozen=True, slots=True, kw_only=True)
class ProgressReport:
    """What record_progress() takes, for one report among several saved at once."""

    task_uuid: str
    worker_uuid: str
    activity: str | None
    now: dt.datetime
    progressed: bool


# What record_progress() returns for a report, or the error it raises.
ProgressOutcome = tuple[TaskRef, int] | errors.NotFound


def record_progress(
    conn: Connection,
    task_uuid: str,
    worker_uuid: str,
    activity: str | None,
    now: dt.datetime,
    *,
    progressed: bool,
) -> tuple[TaskRef, int]:
    """A Worker's report: it is seen and its task touched, if the task is that Worker's.

    Returns what fetch_task_ref_for_worker() does, with the same errors; when the
    task is not the Worker's, nothing changed, and the caller refuses the report.
    On PostgreSQL this is one statement (see Database.write's `one_statement`).
    """
    report = ProgressReport(
        task_uuid=task_uuid,
        worker_uuid=worker_uuid,
        activity=activity,
        now=now,
        progressed=progressed,
    )
    [outcome] = record_progress_many(conn, [report])
    if isinstance(outcome, errors.NotFound):
        raise outcome
    return outcome


def record_progress_many(
    conn: Connection, reports: Sequence[ProgressReport]
) -> list[ProgressOutcome]:
    """record_progress() for each report, each on another task from another Worker.

    One statement for all of them on PostgreSQL, three on SQLite; an unknown task or
    Worker fails only its own report.
    """
    if conn.dialect is Dialect.POSTGRESQL:
        rows = conn.execute(
            "record_progress_many",
            {
                "uuids": [report.task_uuid for report in reports],
                "worker_uuids": [report.worker_uuid for report in reports],
                "activities": [report.activity for report in reports],
                "nows": [to_db_time(report.now) for report in reports],
                "progressed": [report.progressed for report in reports],
            },
        ).fetchall()
    else:
        rows = _record_progress_on_sqlite(conn, reports)
    outcomes: list[ProgressOutcome] = []
    for report, row in zip(reports, rows, strict=True):
        try:
            found = row if row["id"] is not None else None
            outcomes.append(_task_ref_and_sender(conn, found, report.task_uuid, report.worker_uuid))
        except errors.NotFound as error:
            outcomes.append(error)
    return outcomes


def _record_progress_on_sqlite(conn: Connection, reports: Sequence[ProgressReport]) -> list[Row]:
    """PostgreSQL's record_progress_many statement, as three for the whole batch.

    SQLite has no data-modifying WITH. Each statement takes the batch as JSON: one
    statement per report made a busy writer thread hand the GIL back and forth with
    the event loop for every one of them.
    """
    pairs = json.dumps([[report.task_uuid, report.worker_uuid] for report in reports])
    rows: list[Row] = conn.execute("fetch_progress_targets", {"reports": pairs}).fetchall()
    seen: list[list[object]] = []
    touched: list[list[object]] = []
    for report, row in zip(reports, rows, strict=True):
        if row["sender_id"] is not None and row["worker_id"] == row["sender_id"]:
            now = to_db_time(report.now)
            seen.append([row["sender_id"], now])
            touched.append([row["id"], now, report.activity, report.progressed])
    if seen:
        conn.execute("mark_workers_seen", {"seen": json.dumps(seen)})
        conn.execute("touch_tasks_with_activity", {"touched": json.dumps(touched)})
    return rows


def _task_ref_and_sender(
    conn: Connection, row: Row | None, task_uuid: str, worker_uuid: str
) -> tuple[TaskRef, int]:
    if row is None or row["sender_id"] is None:
        workers.fetch_worker_id(conn, worker_uuid)  # Raises WorkerNotFound.
    if row is None:
        raise errors.TaskNotFound(f"task {task_uuid} not found")
    return TaskRef.from_row(row), int(row["sender_id"])


def fetch_task_by_id(conn: Connection, task_id: int) -> Task:
    return fetch_one(
        conn,
        "fetch_task_by_id",
        {"id": task_id},
        Task.from_row,
        errors.TaskNotFound(f"task {task_id} not found"),
    )


def fetch_tasks_of_job(conn: Connection, job_id: int) -> list[Task]:
    return [Task.from_row(row) for row in conn.execute("fetch_tasks_of_job", {"job_id": job_id})]


def fetch_tasks_of_worker(
    conn: Connection, worker_id: int, status: TaskStatus, *, job_id: int | None = None
) -> list[Task]:
    if job_id is None:
        rows = conn.execute(
            "fetch_tasks_of_worker_in_status", {"worker_id": worker_id, "status": status}
        )
    else:
        rows = conn.execute(
            "fetch_tasks_of_worker_in_job_in_status",
            {"worker_id": worker_id, "job_id": job_id, "status": status},
        )
    return [Task.from_row(row) for row in rows]


def move_task_between_counts(
    conn: Connection, job_id: int, old_status: TaskStatus, new_status: TaskStatus
) -> None:
    """Keep the job's task counts right after one task went from `old_status` to `new_status`.

    Call it after fetch_job_for_update(), so that every transaction locks the
    job's row before its counts.
    """
    if old_status != new_status:
        conn.execute(
            "move_task_between_counts",
            {"job_id": job_id, "old_status": old_status, "new_status": new_status},
        )


def recount_job_tasks(conn: Connection, job_id: int) -> None:
    """Count the job's tasks per status again, after a mass update."""
    conn.execute("clear_job_task_counts", {"job_id": job_id})
    conn.execute("recount_job_tasks", {"job_id": job_id})


def save_task_status(
    conn: Connection,
    task: Task | TaskRef,
    status: TaskStatus,
    now: dt.datetime,
    *,
    assign_to: int | None = None,
) -> tuple[int, Task]:
    """Store a task's new status; return the change in its completed steps, and the task.

    With `assign_to`, the task is also assigned to that Worker (see assign_task).
    """
    steps_completed = _steps_completed_in(task, status)
    saved = fetch_one(
        conn,
        "save_task_status",
        _task_status_parameters(task, status, steps_completed, now, assign_to),
        Task.from_row,
        errors.TaskNotFound(f"task {task.uuid} not found"),
    )
    return steps_completed - task.steps_completed, saved


@dataclass(frozen=True, slots=True)
class TaskStatusChanged:
    """What change_task_status() saved: the task, its locked job, the steps it added."""

    task: Task
    job: Job
    steps_delta: int


def change_task_status(
    conn: Connection,
    task: Task | TaskRef,
    status: TaskStatus,
    now: dt.datetime,
    *,
    assign_to: int | None = None,
    record_run: bool = False,
) -> TaskStatusChanged:
    """save_task_status(), then the task's render-statistics run (with `record_run`),
    then the job locked, with the task moved between its counts and the steps it
    completed (or gave back) added to the job's; the job comes back as it is then.

    Task first, then job: every transaction takes its locks in this order. A run
    starts when the task becomes active and ends when it stops being active. On
    PostgreSQL a status change is one statement instead of three to five (a round
    trip each). Raises TaskNotFound.
    """
    old_status = task.status
    steps_completed = _steps_completed_in(task, status)
    if conn.dialect is Dialect.POSTGRESQL and old_status != status:
        parameters = _task_status_parameters(task, status, steps_completed, now, assign_to)
        row = conn.execute(
            "change_task_status_locking_job",
            {
                **parameters,
                "steps_delta": steps_completed - task.steps_completed,
                "old_status": old_status,
                "start_run": record_run and status == TaskStatus.ACTIVE,
                "finish_run": record_run and old_status == TaskStatus.ACTIVE,
                "queued_at": None if task.updated_at is None else to_db_time(task.updated_at),
            },
        ).fetchone()
        if row is None:
            raise errors.TaskNotFound(f"task {task.uuid} not found")
        saved, job = Task.from_row(row), Job.from_row(row, prefix="job.")
        return TaskStatusChanged(saved, job, steps_completed - task.steps_completed)
    steps_delta, saved = save_task_status(conn, task, status, now, assign_to=assign_to)
    if record_run and old_status != status:
        if status == TaskStatus.ACTIVE:
            # A waiting task changes only when its status or activity does, so its last
            # change is when it joined the queue.
            render_statistics.start_task_run(conn, saved, task.updated_at, now)
        elif old_status == TaskStatus.ACTIVE:
            render_statistics.finish_task_run(conn, task.id, status, now)
    add_job_steps_completed(conn, task.job_id, steps_delta, now)
    job = fetch_job_for_update(conn, task.job_id)
    move_task_between_counts(conn, task.job_id, old_status, status)
    return TaskStatusChanged(saved, job, steps_delta)


def _steps_completed_in(task: Task | TaskRef, status: TaskStatus) -> int:
    if status == TaskStatus.COMPLETED:
        return task.steps_total
    if status == TaskStatus.QUEUED:
        return 0
    return task.steps_completed


def _task_status_parameters(
    task: Task | TaskRef,
    status: TaskStatus,
    steps_completed: int,
    now: dt.datetime,
    assign_to: int | None,
) -> dict[str, Any]:
    return {
        "id": task.id,
        "status": status,
        "steps_completed": steps_completed,
        "now": to_db_time(now),
        "assign_to": assign_to,
    }


def fetch_task_status_since(conn: Connection, task: Task | TaskRef) -> dt.datetime | None:
    """When the task got its current status, if known (see models.status_since).

    Asks the database only when the task was loaded without it.
    """
    if isinstance(task, Task):
        return status_since(task.status, task.status_changed_at, task.created_at)
    if task.status_since is not None:
        return task.status_since
    row = conn.execute("fetch_task_status_since", {"id": task.id}).fetchone()
    if row is None:
        return None
    return status_since(
        task.status, optional_time(row["status_changed_at"]), from_db_time(row["created_at"])
    )


def save_task_activity(conn: Connection, task_id: int, activity: str, now: dt.datetime) -> None:
    conn.execute(
        "save_task_activity", {"id": task_id, "activity": activity, "now": to_db_time(now)}
    )


def save_task_steps_completed(
    conn: Connection, task_id: int, steps_completed: int, now: dt.datetime
) -> None:
    conn.execute(
        "save_task_steps_completed",
        {"id": task_id, "steps_completed": steps_completed, "now": to_db_time(now)},
    )


def touch_task(conn: Connection, task_id: int, now: dt.datetime) -> None:
    conn.execute("touch_task", {"id": task_id, "now": to_db_time(now)})


def assign_task(conn: Connection, task_id: int, worker_id: int, now: dt.datetime) -> None:
    conn.execute("assign_task", {"id": task_id, "worker_id": worker_id, "now": to_db_time(now)})


# SQLite's largest rowid: "up to the last task" when updating a whole job at once.
_MAX_ROW_ID = 2**63 - 1


def update_job_tasks(
    conn: Connection,
    job_id: int,
    new_status: TaskStatus,
    activity: str,
    now: dt.datetime,
    *,
    only_statuses: Sequence[TaskStatus] | None = None,
    first_id: int = 0,
    last_id: int = _MAX_ROW_ID,
) -> None:
    """Give many tasks of a job (those with IDs first_id..last_id) a new status at once."""
    conn.execute(
        "update_job_tasks",
        {
            "job_id": job_id,
            "first": first_id,
            "last": last_id,
            "new_status": new_status,
            "activity": activity,
            "now": to_db_time(now),
            "statuses": None if only_statuses is None else json.dumps(list(only_statuses)),
        },
    )
    recount_job_tasks(conn, job_id)


def update_job_tasks_batch(
    conn: Connection,
    job_id: int,
    new_status: TaskStatus,
    activity: str,
    now: dt.datetime,
    *,
    only_statuses: Sequence[TaskStatus] | None,
    after_id: int,
    limit: int,
) -> int | None:
    """update_job_tasks() for the next `limit` tasks after `after_id`.

    Returns the last task ID handled, to continue after; None when none were left.
    """
    rows = conn.execute(
        "fetch_job_task_ids_after", {"job_id": job_id, "after": after_id, "limit": limit}
    ).fetchall()
    if not rows:
        return None
    update_job_tasks(
        conn,
        job_id,
        new_status,
        activity,
        now,
        only_statuses=only_statuses,
        first_id=rows[0][0],
        last_id=rows[-1][0],
    )
    return int(rows[-1][0])


def fetch_active_tasks_untouched_since(conn: Connection, before: dt.datetime) -> list[Task]:
    rows = conn.execute("fetch_active_tasks_timed_out", {"before": to_db_time(before)})
    return [Task.from_row(row) for row in rows]


def fetch_active_tasks_without_progress_since(conn: Connection, before: dt.datetime) -> list[Task]:
    rows = conn.execute("fetch_active_tasks_without_progress", {"before": to_db_time(before)})
    return [Task.from_row(row) for row in rows]


def save_activity_if_untouched_since(
    conn: Connection, task_id: int, activity: str, before: dt.datetime, now: dt.datetime
) -> bool:
    """save_task_activity() if the task is still active and untouched since `before`.

    Locks the task first: whether it holds is decided after any report that came first.
    """
    return _saved_if(conn, "save_activity_of_task_timed_out", task_id, activity, before, now)


def save_activity_if_no_progress_since(
    conn: Connection, task_id: int, activity: str, before: dt.datetime, now: dt.datetime
) -> bool:
    """save_task_activity() if the task is still active without progress since `before`."""
    return _saved_if(conn, "save_activity_of_task_without_progress", task_id, activity, before, now)


def _saved_if(
    conn: Connection, query: str, task_id: int, activity: str, before: dt.datetime, now: dt.datetime
) -> bool:
    params = {
        "id": task_id,
        "activity": activity,
        "before": to_db_time(before),
        "now": to_db_time(now),
    }
    return conn.execute(query, params).rowcount == 1


def fetch_task_dependencies_of_job(conn: Connection, job_id: int) -> list[tuple[int, int]]:
    """(task ID, ID of the task it depends on) for every dependency within the job."""
    return [
        (int(row[0]), int(row[1]))
        for row in conn.execute("fetch_task_dependencies_of_job", {"job_id": job_id})
    ]


@dataclass(frozen=True, slots=True)
class TaskStatusRow:
    id: int
    uuid: str
    name: str
    status: TaskStatus


def fetch_task_statuses_of_job(conn: Connection, job_id: int) -> list[TaskStatusRow]:
    """Every task of the job, in brief: cheaper than fetch_tasks_of_job() for a big job."""
    return [
        TaskStatusRow(int(row[0]), str(row[1]), str(row[2]), TaskStatus(row[3]))
        for row in conn.execute("fetch_task_statuses_of_job", {"job_id": job_id})
    ]


def fetch_task_commands_of_job(conn: Connection, job_id: int) -> list[tuple[int, list[Any]]]:
    """(task ID, its commands) of every task of the job; cheaper than fetch_tasks_of_job()."""
    return [
        (int(row[0]), json.loads(row[1]))
        for row in conn.execute("fetch_task_commands_of_job", {"job_id": job_id})
    ]
