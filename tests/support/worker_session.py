"""A test acting as a Flamenco Worker over HTTP, one API call per method."""

from __future__ import annotations

import secrets
from typing import Any

from support.spec_client import Reply, SpecCheckedClient

DEFAULT_TASK_TYPES = ("blender", "ffmpeg", "file-management", "misc")


class WorkerSession:
    def __init__(
        self,
        client: SpecCheckedClient,
        *,
        name: str = "test-worker",
        platform: str = "linux",
        task_types: tuple[str, ...] = DEFAULT_TASK_TYPES,
    ) -> None:
        self.client = client
        self.name = name
        self.platform = platform
        self.task_types = task_types
        self.secret = secrets.token_hex(16)
        self.uuid = ""

    @property
    def auth(self) -> tuple[str, str]:
        return (self.uuid, self.secret)

    async def register(self, *, headers: dict[str, str] | None = None) -> dict[str, Any]:
        reply = await self.client.post(
            "/api/v3/worker/register-worker",
            json_body={
                "name": self.name,
                "platform": self.platform,
                "secret": self.secret,
                "supported_task_types": list(self.task_types),
            },
            headers=headers,
            expect=200,
        )
        registered: dict[str, Any] = reply.json()
        self.uuid = registered["uuid"]
        return registered

    async def sign_on(self, *, can_restart: bool = False) -> str:
        reply = await self.client.post(
            "/api/v3/worker/sign-on",
            json_body={
                "name": self.name,
                "supported_task_types": list(self.task_types),
                "software_version": "3.9-test",
                "can_restart": can_restart,
            },
            auth=self.auth,
            expect=200,
        )
        return str(reply.json()["status_requested"])

    async def start(self) -> None:
        """Register, sign on and acknowledge the requested status, as a real Worker does."""
        await self.register()
        status = await self.sign_on()
        await self.state_changed(status)

    async def state_changed(self, status: str) -> None:
        await self.client.post(
            "/api/v3/worker/state-changed",
            json_body={"status": status},
            auth=self.auth,
            expect=204,
        )

    async def state(self) -> Reply:
        return await self.client.get("/api/v3/worker/state", auth=self.auth)

    async def schedule(self, **kwargs: Any) -> Reply:
        return await self.client.post("/api/v3/worker/task", auth=self.auth, **kwargs)

    async def next_task(self) -> dict[str, Any]:
        reply = await self.schedule(expect=200)
        task: dict[str, Any] = reply.json()
        return task

    async def update(self, task_id: str, expect: int | None = 204, **fields: Any) -> Reply:
        return await self.client.post(
            f"/api/v3/worker/task/{task_id}", json_body=fields, auth=self.auth, expect=expect
        )

    async def may_i_run(self, task_id: str) -> dict[str, Any]:
        reply = await self.client.get(
            f"/api/v3/worker/task/{task_id}/may-i-run", auth=self.auth, expect=200
        )
        answer: dict[str, Any] = reply.json()
        return answer

    async def sign_off(self) -> None:
        await self.client.post("/api/v3/worker/sign-off", auth=self.auth, expect=204)

    async def complete(self, task: dict[str, Any]) -> None:
        """Run a task the way a Worker reports it: started, progress, completed."""
        await self.update(task["uuid"], taskStatus="active", activity="Started")
        await self.update(task["uuid"], log="doing the work\n", steps_completed=task["steps_total"])
        await self.update(task["uuid"], taskStatus="completed", activity="Completed")
