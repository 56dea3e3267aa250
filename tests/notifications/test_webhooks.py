"""Webhooks against a real receiver on loopback: signed JSON, chat formats, retries, giving up."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from conftest import ConfigMaker
from flamenco.manager import keys
from support.fakes import FakeClock
from support.jobs import job_status, submit_echo_sleep
from support.manager import RunningManager, run_manager
from support.manager_process import free_port
from support.notifications import deliveries, run_whole_job
from support.waiting import until
from support.webhook_receiver import WebhookReceiver, running_receiver
from support.worker_session import WorkerSession

SECRET = "correct horse battery staple"


def notifications(*webhooks: dict[str, Any], **settings: Any) -> dict[str, Any]:
    """The `notifications` section, with delays short enough for a test."""
    return {
        "webhooks": list(webhooks),
        "retry_delay": "50ms",
        "retry_max_delay": "200ms",
        "poll_interval": "100ms",
        "request_timeout": "5s",
        **settings,
    }


@asynccontextmanager
async def farm(
    make_manager_config: ConfigMaker, clock: FakeClock | None = None, **settings: Any
) -> AsyncIterator[RunningManager]:
    options = {"clock": clock} if clock else {}
    async for running in run_manager(make_manager_config(**settings), **options):
        yield running


async def test_completed_job_is_posted_as_signed_json(make_manager_config: ConfigMaker) -> None:
    async with running_receiver() as receiver:
        hook = {"name": "pipeline", "url": receiver.url, "secret": SECRET}
        async with farm(make_manager_config, notifications=notifications(hook)) as running:
            job = await run_whole_job(
                running, metadata={"user.name": "ana", "user.email": "ana@studio.test"}
            )
            await until(lambda: len(receiver.accepted) == 1, timeout=10)
            [request] = receiver.accepted
            payload = request.json()
            assert request.headers["X-Flamenco-Event"] == "job-completed"
            assert payload["event"] == "job-completed"
            assert payload["job"]["id"] == job["id"]
            assert payload["job"]["status"] == "completed"
            assert payload["job"]["submitter"] == {"name": "ana", "email": "ana@studio.test"}
            assert payload["manager"]["name"] == "Test Farm"
            assert payload["detail"].startswith('Changed to status "completed"')

            # Verified the way docs/notifications.md tells receivers to.
            timestamp = request.headers["X-Flamenco-Timestamp"]
            expected = hmac.new(
                SECRET.encode(), timestamp.encode() + b"." + request.body, hashlib.sha256
            ).hexdigest()
            assert request.headers["X-Flamenco-Signature"] == f"sha256={expected}"
            forged = hmac.new(b"wrong secret", request.body, hashlib.sha256).hexdigest()
            assert request.headers["X-Flamenco-Signature"] != f"sha256={forged}"

            async def shows_delivered() -> bool:
                return [d["status"] for d in await deliveries(running)] == ["delivered"]

            await until(shows_delivered, timeout=5)
            [shown] = await deliveries(running)
            assert shown["attempts"] == 1
            assert shown["destination"] == "pipeline"
            assert shown["job_id"] == job["id"]
            assert str(shown["id"]) == request.headers["X-Flamenco-Delivery"]
            listed = (
                await running.client.get("/api/v3/notifications/deliveries", expect=200)
            ).json()
            # Chat webhook URLs are secrets: the listing names destinations only.
            assert listed["destinations"] == [
                {"name": "pipeline", "kind": "webhook", "format": "json", "events": []}
            ]


async def test_receiver_that_fails_twice_gets_it_on_the_third_attempt(
    make_manager_config: ConfigMaker,
) -> None:
    async with running_receiver(WebhookReceiver(failures=2)) as receiver:
        hook = {"name": "flaky", "url": receiver.url, "secret": SECRET}
        async with farm(make_manager_config, notifications=notifications(hook)) as running:
            await run_whole_job(running)
            await until(lambda: len(receiver.accepted) == 1, timeout=10)
            assert len(receiver.refused) == 2
            # The same delivery each time, so that a receiver can tell repeats apart.
            ids = {
                r.headers["X-Flamenco-Delivery"] for r in [*receiver.refused, *receiver.accepted]
            }
            assert len(ids) == 1

            async def shows_delivered() -> bool:
                return [d["status"] for d in await deliveries(running)] == ["delivered"]

            await until(shows_delivered, timeout=5)
            [shown] = await deliveries(running)
            assert shown["attempts"] == 3
            assert shown["last_error"] == ""


async def test_gives_up_after_max_attempts_and_retries_on_request(
    make_manager_config: ConfigMaker,
) -> None:
    async with running_receiver(WebhookReceiver(failures=100)) as receiver:
        hook = {"name": "down", "url": receiver.url}
        settings = notifications(hook, max_attempts=2)
        async with farm(make_manager_config, notifications=settings) as running:
            await run_whole_job(running)

            async def has_failed() -> bool:
                return [d["status"] for d in await deliveries(running)] == ["failed"]

            await until(has_failed, timeout=10)
            [shown] = await deliveries(running)
            assert shown["attempts"] == 2
            assert shown["last_error"] == "HTTP 503: receiver is down for maintenance"
            assert shown["next_attempt"] is None
            assert len(receiver.refused) == 2
            assert await deliveries(running, status="pending") == []

            receiver.failures = 0
            retried = await running.client.post(
                f"/api/v3/notifications/deliveries/{shown['id']}/retry", expect=200
            )
            assert retried.json()["status"] == "pending"
            await until(lambda: len(receiver.accepted) == 1, timeout=10)
            await until(lambda: deliveries_status(running, "delivered"), timeout=5)
            again = await running.client.post(
                f"/api/v3/notifications/deliveries/{shown['id']}/retry", expect=409
            )
            assert "only failed ones are retried" in again.json()["message"]
            await running.client.post("/api/v3/notifications/deliveries/999999/retry", expect=404)


async def deliveries_status(running: RunningManager, status: str) -> bool:
    return [d["status"] for d in await deliveries(running)] == [status]


async def test_events_are_filtered_and_chat_formats_are_used(
    make_manager_config: ConfigMaker,
) -> None:
    async with running_receiver() as slack, running_receiver() as discord:
        hooks = (
            {"name": "slack", "url": slack.url, "format": "slack", "events": ["job-failed"]},
            {"name": "discord", "url": discord.url, "format": "discord"},
        )
        async with farm(
            make_manager_config,
            notifications=notifications(*hooks),
            task_fail_after_softfail_count=1,
        ) as running:
            await run_whole_job(running, name="fine job")
            worker = WorkerSession(running.client)
            await worker.start()
            doomed = await submit_echo_sleep(running.client, name="doomed job", repeats=1)
            task = await worker.next_task()
            await worker.update(task["uuid"], taskStatus="failed", activity="Blender crashed")
            assert await job_status(running.client, doomed["id"]) == "failed"

            await until(lambda: len(discord.accepted) == 2 and len(slack.accepted) == 1)
            [failed] = slack.accepted
            assert failed.headers["X-Flamenco-Event"] == "job-failed"
            text = failed.json()["text"]
            assert 'Job "doomed job" failed' in text and doomed["id"] in text
            # No secret configured: no signature.
            assert "X-Flamenco-Signature" not in failed.headers
            bodies = sorted(
                (r.json() for r in discord.accepted), key=lambda b: b["embeds"][0]["title"]
            )
            assert [b["embeds"][0]["title"] for b in bodies] == [
                'Job "doomed job" failed',
                'Job "fine job" completed',
            ]
            assert bodies[0]["username"] == "Test Farm"


async def test_worker_that_times_out_is_reported(
    make_manager_config: ConfigMaker, clock: FakeClock
) -> None:
    async with running_receiver() as receiver:
        hook = {"name": "ops", "url": receiver.url, "events": ["worker-error"]}
        async with farm(
            make_manager_config,
            clock,
            notifications=notifications(hook),
            worker_timeout="1m0s",
            task_timeout="0s",
        ) as running:
            worker = WorkerSession(running.client)
            await worker.start()
            clock.advance(dt.timedelta(seconds=61))
            await running.app[keys.TIMEOUT_CHECKER].check()
            await until(lambda: len(receiver.accepted) == 1, timeout=10)
            payload = receiver.accepted[0].json()
            assert payload["event"] == "worker-error"
            assert payload["worker"]["id"] == worker.uuid
            assert payload["worker"]["status"] == "error"
            assert payload["worker"]["previous_status"] == "awake"
            assert payload["detail"] == "worker timed out"
            # A second check finds the Worker in error already: nothing new to tell.
            clock.advance(dt.timedelta(seconds=61))
            await running.app[keys.TIMEOUT_CHECKER].check()
            assert len(await deliveries(running)) == 1


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
async def test_without_destinations_nothing_is_recorded(make_manager_config: ConfigMaker) -> None:
    async with farm(make_manager_config) as running:
        await run_whole_job(running)
        listed = (await running.client.get("/api/v3/notifications/deliveries", expect=200)).json()
        assert listed == {"deliveries": [], "destinations": []}


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
async def test_deliveries_to_a_removed_webhook_fail_visibly(
    make_manager_config: ConfigMaker,
) -> None:
    unreachable = {"name": "gone", "url": f"http://127.0.0.1:{free_port()}/hook"}
    settings = notifications(unreachable, retry_delay="1h0m0s")
    async with farm(make_manager_config, notifications=settings) as running:
        await run_whole_job(running)

        async def attempted() -> bool:
            return [d["attempts"] for d in await deliveries(running)] == [1]

        await until(attempted, timeout=10)
        [pending] = await deliveries(running)
        assert pending["status"] == "pending"
        assert pending["last_error"].startswith("ClientConnectorError")
    async with farm(make_manager_config, notifications=notifications()) as running:

        async def failed() -> bool:
            return [d["status"] for d in await deliveries(running)] == ["failed"]

        await until(failed, timeout=10)
        [shown] = await deliveries(running)
        assert shown["last_error"] == "unknown destination: 'gone' is no longer configured"


def install_job_type(running: RunningManager, filename: str, script: str) -> None:
    """A custom job type in the running Manager's scripts folder."""
    scripts = running.app[keys.CONFIG].job_scripts_path
    scripts.mkdir(parents=True, exist_ok=True)
    (scripts / filename).write_text(script, encoding="utf-8")


# A job type with an approval gate between a preview and the final task.
GATED_JOB_TYPE = """\
const JOB_TYPE = { label: "Gated Echo", settings: [] };

function compileJob(job) {
  const before = author.Task("preview", "misc");
  before.addCommand(author.Command("echo", { message: "preview" }));
  job.addTask(before);
  const approval = author.Task("approve lighting", "approval");
  approval.addDependency(before);
  job.addTask(approval);
  const after = author.Task("final", "misc");
  after.addCommand(author.Command("echo", { message: "final" }));
  after.addDependency(approval);
  job.addTask(after);
}
"""


async def test_a_job_reaching_its_approval_gate_is_reported_once(
    make_manager_config: ConfigMaker,
) -> None:
    async with running_receiver() as receiver:
        hook = {"url": receiver.url, "events": ["job-waiting-for-approval"]}
        async with farm(make_manager_config, notifications=notifications(hook)) as running:
            install_job_type(running, "gated_echo.js", GATED_JOB_TYPE)
            job = (
                await running.client.post(
                    "/api/v3/jobs",
                    json_body={
                        "name": "Shot 020",
                        "type": "gated-echo",
                        "priority": 50,
                        "submitter_platform": "linux",
                        "settings": {},
                        "metadata": {"user.email": "ana@studio.test"},
                    },
                    expect=200,
                )
            ).json()
            worker = WorkerSession(running.client)
            await worker.start()
            await worker.complete(await worker.next_task())  # the preview

            await until(lambda: len(receiver.accepted) == 1, timeout=10)
            payload = receiver.accepted[0].json()
            assert payload["event"] == "job-waiting-for-approval"
            assert payload["summary"] == 'Job "Shot 020" is waiting for approval'
            assert payload["detail"] == 'awaiting approval of "approve lighting"'
            assert payload["job"]["id"] == job["id"]
            assert payload["job"]["submitter"]["email"] == "ana@studio.test"

            tasks = (await running.client.get(f"/api/v3/jobs/{job['id']}/tasks", expect=200)).json()
            [approval] = [t for t in tasks["tasks"] if t["name"] == "approve lighting"]
            await running.client.post(
                f"/api/v3/tasks/{approval['id']}/approve", json_body={}, expect=204
            )
            await worker.complete(await worker.next_task())  # the final task
            assert await job_status(running.client, job["id"]) == "completed"
            assert len(await deliveries(running)) == 1


# A job type whose approval gate waits for nothing but a person, ahead of the render.
GATE_FIRST_JOB_TYPE = """\
const JOB_TYPE = { label: "Approve First", settings: [] };

function compileJob(job) {
  const approval = author.Task("approve budget", "approval");
  job.addTask(approval);
  const after = author.Task("final", "misc");
  after.addCommand(author.Command("echo", { message: "final" }));
  after.addDependency(approval);
  job.addTask(after);
}
"""


def _gate_first_job(name: str, depends_on: list[str] | None = None) -> dict[str, Any]:
    job: dict[str, Any] = {
        "name": name,
        "type": "approve-first",
        "priority": 50,
        "submitter_platform": "linux",
        "settings": {},
    }
    if depends_on:
        job["depends_on"] = depends_on
    return job


async def test_a_gate_open_from_submission_is_reported_when_the_job_may_run(
    make_manager_config: ConfigMaker,
) -> None:
    async with running_receiver() as receiver:
        hook = {"url": receiver.url, "events": ["job-waiting-for-approval"]}
        async with farm(make_manager_config, notifications=notifications(hook)) as running:
            install_job_type(running, "approve_first.js", GATE_FIRST_JOB_TYPE)
            client = running.client

            first = (
                await client.post("/api/v3/jobs", json_body=_gate_first_job("Budget"), expect=200)
            ).json()
            await until(lambda: len(receiver.accepted) == 1, timeout=10)
            assert receiver.accepted[0].json()["job"]["id"] == first["id"]
            assert receiver.accepted[0].json()["detail"] == 'awaiting approval of "approve budget"'

            # A gated job behind another job: reported once that job completes, not before.
            blocker = await submit_echo_sleep(client, repeats=1)
            second = (
                await client.post(
                    "/api/v3/jobs",
                    json_body=_gate_first_job("Behind", depends_on=[blocker["id"]]),
                    expect=200,
                )
            ).json()
            worker = WorkerSession(client)
            await worker.start()
            for _ in range(2):  # The echo and sleep tasks of the blocking job.
                await worker.complete(await worker.next_task())
            assert await job_status(client, blocker["id"]) == "completed"
            await until(lambda: len(receiver.accepted) == 2, timeout=10)
            assert receiver.accepted[1].json()["job"]["id"] == second["id"]
            assert len(await deliveries(running)) == 2
