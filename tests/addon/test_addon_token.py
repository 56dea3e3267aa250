"""The add-on inside real Blender submits to a Manager with access control, with an API token."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from addon.test_blender_end_to_end import download_addon, run_blender_driver
from support.blender_runner import BlenderRunner
from support.manager_process import ManagerProcess


def _create_token(manager: ManagerProcess, name: str, role: str) -> str:
    made = subprocess.run(
        [sys.executable, "-m", "flamenco.manager", "--config", str(manager.config_path),
         "--create-token", name, "--role", role],
        env=dict(os.environ),
        cwd=manager.directory,
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )  # fmt: skip
    return made.stdout.strip().splitlines()[-1]


@pytest.mark.timeout(300)
async def test_submit_through_shaman_with_a_token(
    blender_runner: BlenderRunner, tmp_path: Path
) -> None:
    shared = tmp_path / "shared"
    manager = ManagerProcess(tmp_path / "manager", shared, access_control="true")
    manager.config_path.write_text(
        manager.config_path.read_text(encoding="utf-8").replace(
            "shaman:\n  enabled: false", "shaman:\n  enabled: true"
        ),
        encoding="utf-8",
    )
    token = _create_token(manager, "ana", "artist")
    await manager.start()
    try:
        addon = await download_addon(manager.base_url, tmp_path / "flamenco-addon.zip")
        result = run_blender_driver(
            blender_runner,
            tmp_path,
            {
                "zip": str(addon),
                "manager_url": manager.base_url,
                "api_token": token,
                "workdir": str(tmp_path / "artist"),
                "output_root": str(tmp_path / "render"),
                "submissions": [{"job_name": "with a token", "place": "project"}],
            },
        )
        assert result["job_storage_pref"] == str(shared / "jobs")
        assert result["submissions"][0]["outcome"] == ["FINISHED"], result["submissions"]

        headers = {"Authorization": f"Bearer {token}"}
        async with aiohttp.ClientSession(headers=headers) as session:
            async with session.get(manager.base_url + "/api/v3/jobs") as response:
                jobs = {job["name"]: job for job in (await response.json())["jobs"]}
            job = jobs["with a token"]
            # The job is Ana's: her token may change it.
            async with session.post(
                manager.base_url + f"/api/v3/jobs/{job['id']}/setpriority", json={"priority": 5}
            ) as response:
                assert response.status == 204
        async with (
            aiohttp.ClientSession() as session,
            session.get(manager.base_url + "/api/v3/jobs") as response,
        ):
            assert response.status == 401
    finally:
        await manager.stop()
