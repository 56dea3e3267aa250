"""The Worker's upstream buffer keeps updates the Manager cannot take now, and sends them later."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from flamenco.worker.client import Answer, ManagerError
from flamenco.worker.upstream_buffer import UpstreamBuffer
from support.fakes import FakeClock

TASK = "90e9d656-e201-4ef0-b6b0-c80684fafa27"


class Manager:
    """Answers each task update with the next status in line, then 204."""

    def __init__(self, *statuses: int) -> None:
        self.statuses = list(statuses)
        self.received: list[dict[str, Any]] = []

    async def task_update(self, task_id: str, update: dict[str, Any]) -> Answer:
        status = self.statuses.pop(0) if self.statuses else 204
        if status == 204:
            self.received.append(update)
        return Answer(status, None if status == 204 else {"code": status, "message": "not now"})


@pytest.mark.parametrize("status", [503, 507])
async def test_try_again_later_answers_keep_the_update(tmp_path: Path, status: int) -> None:
    manager = Manager(status, status)
    buffer = UpstreamBuffer(manager, FakeClock(), tmp_path / "buffer.sqlite")
    await buffer.open()
    try:
        await buffer.send(TASK, {"taskStatus": "completed"})
        # Later updates queue behind it, to keep their order.
        await buffer.send(TASK, {"log": "after"})
        assert buffer.queued == 2
        assert not await buffer.flush()  # The Manager still says "not now".
        assert buffer.queued == 2
        assert await buffer.flush()
        assert manager.received == [{"taskStatus": "completed"}, {"log": "after"}]
    finally:
        await buffer.close()


async def test_a_refusal_is_not_kept(tmp_path: Path) -> None:
    manager = Manager(400)
    buffer = UpstreamBuffer(manager, FakeClock(), tmp_path / "buffer.sqlite")
    await buffer.open()
    try:
        with pytest.raises(ManagerError):
            await buffer.send(TASK, {"taskStatus": "exploded"})
        assert buffer.queued == 0
    finally:
        await buffer.close()
