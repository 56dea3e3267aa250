"""The explainer and the scheduler agree, Worker by Worker, on random farms of one job.

The explainer's rules (scheduling_rules.py) say a Worker may get one of the job's
tasks exactly when the scheduler's own code (pick_task, find_runnable_task's SQL)
hands it one: so the rules the SQL checks for speed and the rules that explain are
one set, on both databases.
"""

from __future__ import annotations

import random
import uuid

import pytest

from flamenco.api.enums import JobStatus, TaskStatus, WorkerStatus
from flamenco.manager import scheduling_rules as rules
from flamenco.manager.persistence import (
    Connection,
    Database,
    failures,
    job_dependencies,
    jobs,
    workers,
)
from flamenco.manager.persistence.models import Worker
from flamenco.manager.services.scheduling import load_snapshot, pick_task
from support.factories import T0, new_job, new_task

TASK_TYPES = ("misc", "comp")


class RolledBack(Exception):
    """Undoes a scenario's transaction, keeping the database empty for the next."""


def build_farm(conn: Connection, chance: random.Random) -> tuple[str, dict[str, int]]:
    """A random farm around one job; its UUID and the limits' capacities."""
    capacities = {"licence": chance.randint(0, 2)} if chance.random() < 0.6 else {}
    tag = workers.insert_tag(conn, uuid=str(uuid.uuid4()), name="gpu", description="", now=T0)
    farm = add_workers(conn, chance, tag.uuid)
    job_id = add_job(conn, chance, tag.id)
    for task in jobs.fetch_tasks_of_job(conn, job_id):
        roll = chance.random()
        if roll < 0.2:
            runner = chance.choice(farm)
            jobs.assign_task(conn, task.id, runner.id, T0)
            jobs.save_task_status(conn, task, TaskStatus.ACTIVE, T0)
        elif roll < 0.35:
            jobs.save_task_status(conn, task, TaskStatus.COMPLETED, T0)
        elif roll < 0.45:
            jobs.save_task_status(conn, task, TaskStatus.SOFT_FAILED, T0)
        for worker in farm:
            if chance.random() < 0.15:
                failures.add_task_failure(conn, task.id, worker.id, T0)
    for worker in farm:
        for task_type in TASK_TYPES:
            if chance.random() < 0.15:
                failures.add_job_block(conn, job_id, worker.id, task_type, T0)
    jobs.recount_job_tasks(conn, job_id)
    return jobs.fetch_job_by_id(conn, job_id).uuid, capacities


def add_workers(conn: Connection, chance: random.Random, tag_uuid: str) -> list[Worker]:
    farm = []
    for number in range(chance.randint(1, 4)):
        worker = workers.insert_worker(
            conn,
            uuid=str(uuid.uuid4()),
            secret_hash="x",
            name=f"worker-{number}",
            address="127.0.0.1",
            platform="linux",
            # A Worker claiming to do approvals still never gets one.
            supported_task_types=tuple(
                task_type for task_type in (*TASK_TYPES, "approval") if chance.random() < 0.7
            ),
            now=T0,
        )
        status = chance.choice([WorkerStatus.AWAKE] * 3 + [WorkerStatus.ASLEEP])
        workers.save_status(conn, worker.id, status, T0)
        if chance.random() < 0.15:
            workers.save_status_request(conn, worker.id, WorkerStatus.ASLEEP, True, T0)
        if chance.random() < 0.5:
            workers.set_tags_of_worker(conn, worker.id, [tag_uuid])
        farm.append(worker)
    return farm


def add_job(conn: Connection, chance: random.Random, tag_id: int) -> int:
    tasks = []
    for number in range(chance.randint(1, 5)):
        dependencies = [tasks[-1].uuid] if tasks and chance.random() < 0.3 else []
        tasks.append(
            new_task(
                f"task-{number}",
                task_type="approval" if chance.random() < 0.15 else chance.choice(TASK_TYPES),
                priority=chance.randint(40, 60),
                dependencies=dependencies,
            )
        )
    status = chance.choice([JobStatus.QUEUED] * 4 + [JobStatus.ACTIVE, JobStatus.PAUSED])
    job_id = jobs.insert_job(
        conn,
        new_job(
            tasks,
            status=status,
            max_workers=chance.choice([None, None, 1, 2]),
            worker_tag_id=tag_id if chance.random() < 0.3 else None,
            resource_limits={"comp": ["licence"]} if chance.random() < 0.6 else {},
        ),
    )
    if chance.random() < 0.3:
        # A job it waits for, without tasks of its own (so no Worker gets one of those).
        status = chance.choice([JobStatus.COMPLETED, JobStatus.QUEUED, JobStatus.PAUSED])
        dependency = jobs.insert_job(conn, new_job([], name="bake", status=status))
        job_dependencies.insert_dependencies(conn, job_id, [dependency])
        job_dependencies.set_job_waiting(conn, job_id, status != JobStatus.COMPLETED)
    return job_id


async def run(db: Database, seed: int) -> list[tuple[str, list[rules.Reason], bool]]:
    outcome: list[tuple[str, list[rules.Reason], bool]] = []

    def transaction(conn: Connection) -> None:
        chance = random.Random(seed)
        job_uuid, capacities = build_farm(conn, chance)
        job = jobs.fetch_job(conn, job_uuid)
        for worker in workers.fetch_workers(conn):
            if jobs.fetch_tasks_of_worker(conn, worker.id, TaskStatus.ACTIVE):
                continue
            snapshot, view = load_snapshot(conn, job_uuid, capacities, worker_uuid=worker.uuid)
            assert view is not None
            reasons = rules.explain(snapshot, view)
            may_ask = worker.status == WorkerStatus.AWAKE and worker.status_requested is None
            picked = pick_task(conn, worker, capacities) if may_ask else None
            if picked is not None:
                assert getattr(picked, "job_id", None) == job.id, picked
            outcome.append((worker.name, reasons, picked is not None))
        raise RolledBack

    with pytest.raises(RolledBack):
        await db.write(transaction)
    return outcome


@pytest.mark.parametrize("seeds", [range(0, 200)])
async def test_explainer_agrees_with_the_scheduler(db: Database, seeds: range) -> None:
    seen: set[rules.ReasonCode] = set()
    agreed_to_run = 0
    for seed in seeds:
        for name, reasons, gets_one in await run(db, seed):
            assert (reasons == []) == gets_one, (seed, name, reasons, gets_one)
            seen.update(reason.code for reason in reasons)
            agreed_to_run += gets_one
    # The farms are varied enough to reach every rule the scheduler applies.
    assert agreed_to_run > 0
    assert seen == set(rules.ReasonCode) - {
        rules.ReasonCode.JOB_NOT_QUEUED,
        rules.ReasonCode.JOB_DELETION_REQUESTED,
    }
