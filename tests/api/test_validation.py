"""Every malformed API request gets a 4xx JSON Error body that names the problem."""

from __future__ import annotations

import uuid

import pytest

from support.manager import RunningManager
from support.worker_session import WorkerSession


async def test_invalid_json_body(manager: RunningManager) -> None:
    reply = await manager.client.post(
        "/api/v3/jobs",
        data=b"{not json",
        headers={"Content-Type": "application/json"},
        expect=400,
    )
    assert "not valid JSON" in reply.json()["message"]


async def test_missing_required_field_is_named(manager: RunningManager) -> None:
    reply = await manager.client.post(
        "/api/v3/jobs",
        json_body={"name": "x", "type": "echo-sleep-test", "priority": 50},
        expect=400,
    )
    assert "submitter_platform" in reply.json()["message"]


async def test_wrong_type_is_named(manager: RunningManager) -> None:
    job_id = str(uuid.uuid4())
    reply = await manager.client.post(
        f"/api/v3/jobs/{job_id}/setpriority", json_body={"priority": "high"}, expect=400
    )
    assert "priority" in reply.json()["message"]


async def test_out_of_range_priority(manager: RunningManager) -> None:
    job_id = str(uuid.uuid4())
    await manager.client.post(
        f"/api/v3/jobs/{job_id}/setpriority", json_body={"priority": 101}, expect=400
    )


async def test_bad_enum_value(manager: RunningManager) -> None:
    job_id = str(uuid.uuid4())
    reply = await manager.client.post(
        f"/api/v3/jobs/{job_id}/setstatus",
        json_body={"status": "exploded", "reason": "test"},
        expect=400,
    )
    assert "exploded" in reply.json()["message"]


async def test_malformed_uuid_in_path(manager: RunningManager) -> None:
    reply = await manager.client.get("/api/v3/jobs/not-a-uuid", expect=400)
    assert "job_id" in reply.json()["message"]


async def test_unknown_uuid_is_404(manager: RunningManager) -> None:
    for path in (
        f"/api/v3/jobs/{uuid.uuid4()}",
        f"/api/v3/tasks/{uuid.uuid4()}",
        f"/api/v3/worker-mgt/workers/{uuid.uuid4()}",
        f"/api/v3/worker-mgt/tag/{uuid.uuid4()}",
    ):
        await manager.client.get(path, expect=404)


async def test_unknown_api_path_is_json_404(manager: RunningManager) -> None:
    reply = await manager.client.get("/api/v3/no-such-thing", expect=404, check_spec=False)
    assert reply.json()["code"] == 404


async def test_wrong_method_is_json_405(manager: RunningManager) -> None:
    reply = await manager.client.request("PATCH", "/api/v3/version", expect=405, check_spec=False)
    assert reply.json()["code"] == 405


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PUT", "/api/v3/jobs/check", "POST"),
        ("GET", "/api/v3/jobs/check", "POST"),
        ("DELETE", "/api/v3/jobs/types", "GET"),
        ("GET", "/api/v3/jobs/mass-delete", "DELETE"),
        ("PUT", "/api/v3/jobs/last-rendered", "GET"),
        ("PUT", "/api/v3/jobs", "GET,POST"),
    ],
)
async def test_405_allows_the_paths_own_methods(
    manager: RunningManager, method: str, path: str, allowed: str
) -> None:
    """A fixed path beside /jobs/{job_id} is not taken for a job ID with another method."""
    reply = await manager.client.request(method, path, expect=405, check_spec=False)
    assert reply.json()["code"] == 405
    assert reply.headers["Allow"] == allowed


async def test_wrong_content_type(manager: RunningManager) -> None:
    await manager.client.post(
        "/api/v3/jobs/check",
        data=b"name=x",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        expect=415,
    )


async def test_worker_endpoints_need_credentials(manager: RunningManager) -> None:
    reply = await manager.client.post("/api/v3/worker/task", expect=403)
    assert "authentication" in reply.json()["message"]


async def test_wrong_worker_secret_is_refused(manager: RunningManager) -> None:
    worker = WorkerSession(manager.client)
    await worker.register()
    await manager.client.post("/api/v3/worker/task", auth=(worker.uuid, "wrong"), expect=403)
    await manager.client.post(
        "/api/v3/worker/task", auth=(str(uuid.uuid4()), worker.secret), expect=403
    )


async def test_submitted_priority_beyond_32_bits_is_refused(manager: RunningManager) -> None:
    # Found by fuzzing: the database refused it (OverflowError) and the Manager answered 500.
    job = {
        "name": "big priority",
        "type": "echo-sleep-test",
        "submitter_platform": "linux",
        "settings": {"message": "hi", "sleep_duration_seconds": 1, "sleep_repeats": 1},
    }
    for priority in (2**31, -(2**31) - 1, 2**63 - 1, -9999999999999999999):
        reply = await manager.client.post(
            "/api/v3/jobs", json_body={**job, "priority": priority}, expect=400
        )
        assert (
            f"priority must be a whole number from {-(2**31)} to {2**31 - 1}"
            in (reply.json()["message"])
        )
    for priority in (2**31 - 1, -(2**31)):
        await manager.client.post("/api/v3/jobs", json_body={**job, "priority": priority})
