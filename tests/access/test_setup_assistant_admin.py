"""The setup assistant can create the first administrator, which switches access control on."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest
import yaml

from support.manager_process import ManagerProcess
from support.spec_client import SpecCheckedClient


@pytest.mark.slow
@pytest.mark.timeout(90)
async def test_the_setup_assistant_creates_the_first_administrator(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    manager = ManagerProcess(tmp_path / "manager", shared)
    settings = yaml.safe_load(manager.config_path.read_text(encoding="utf-8"))
    settings["shared_storage_path"] = ""
    manager.config_path.write_text(yaml.safe_dump(settings), encoding="utf-8")
    await manager.start()
    try:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
            client = SpecCheckedClient(session, manager.base_url)
            assert (await client.get("/api/v3/configuration", expect=200)).json()["isFirstRun"]
            blender = {"input": "", "path": "blender", "source": "default", "is_usable": True,
                       "cause": "assumed"}  # fmt: skip
            answers = {"storageLocation": str(shared), "blenderExecutable": blender}
            for incomplete in ({"name": "root", "password": "short"}, {"name": "root"}):
                await client.post(
                    "/api/v3/configuration/setup-assistant",
                    json_body={**answers, "administrator": incomplete},
                    expect=400,
                )
            await client.post(
                "/api/v3/configuration/setup-assistant",
                json_body={**answers, "administrator": {"name": "root", "password": "s3cret pw"}},
                expect=204,
            )
            # After the restart, nothing without logging in.
            async with asyncio.timeout(30):
                while True:
                    await asyncio.sleep(0.2)
                    try:
                        status = (await client.get("/api/v3/configuration")).status
                    except (aiohttp.ClientError, OSError):
                        continue
                    if status == 401:
                        break
            login = await client.post(
                "/api/v3/access/login",
                json_body={"name": "root", "password": "s3cret pw"},
                expect=200,
            )
            assert login.json()["role"] == "admin"
            configuration = await client.get("/api/v3/configuration", expect=200)
            assert configuration.json()["isFirstRun"] is False
        written = yaml.safe_load(manager.config_path.read_text(encoding="utf-8"))
        assert written["access_control"] is True
    finally:
        assert await manager.stop() == 0, manager.log()[-3000:]
