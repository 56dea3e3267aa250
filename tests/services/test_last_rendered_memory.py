"""A real Manager process grows by under 100 MB while it handles huge last-rendered images."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import aiohttp
import pytest

from support.images import huge_png
from support.jobs import submit_echo_sleep
from support.manager_process import ManagerProcess
from support.spec_client import SpecCheckedClient
from support.worker_session import WorkerSession

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(sys.platform != "linux", reason="reads memory figures from Linux's /proc"),
]

MAX_GROWTH_MB = 100


def memory_mb(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise KeyError(field)


async def test_huge_images_never_grow_the_manager(tmp_path: Path, database_setting: str) -> None:
    manager = ManagerProcess(tmp_path / "manager", tmp_path / "shared", database=database_setting)
    await manager.start()
    assert manager.process is not None
    pid = manager.process.pid
    try:
        async with aiohttp.ClientSession() as session:
            client = SpecCheckedClient(session, manager.base_url)
            worker = WorkerSession(client)
            await worker.start()
            job = await submit_echo_sleep(client, repeats=1)
            task = await worker.next_task()
            upload_url = f"/api/v3/worker/task/{task['uuid']}/output-produced"
            info_url = f"/api/v3/jobs/{job['id']}/last-rendered"

            # The PNG: 500 KB, 13,000 x 13,000 pixels; then 8K UHD, decoded.
            for image, status in ((huge_png(13000, 13000), 413), (huge_png(7680, 4320), 202)):
                Path(f"/proc/{pid}/clear_refs").write_text("5")  # Resets the peak (VmHWM).
                before = memory_mb(pid, "VmRSS")
                await client.post(
                    upload_url,
                    data=image,
                    headers={"Content-Type": "image/png"},
                    auth=worker.auth,
                    expect=status,
                )
                if status == 202:
                    async with asyncio.timeout(30):
                        while (await client.get(info_url)).status != 200:
                            await asyncio.sleep(0.05)
                peak = memory_mb(pid, "VmHWM") - before
                after = memory_mb(pid, "VmRSS") - before
                assert peak < MAX_GROWTH_MB, f"grew by {peak:.0f} MB at its peak"
                assert after < MAX_GROWTH_MB, f"grew by {after:.0f} MB"
    finally:
        await manager.stop()
