"""The first-run setup assistant: a Manager without shared storage configures itself."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import aiohttp
import pytest
import yaml

from flamenco.manager.services.setup_assistant import SetupIncomplete, blender_command
from support.manager import RunningManager
from support.manager_process import ManagerProcess, wait_until_up
from support.spec_client import SpecCheckedClient


@pytest.mark.parametrize(
    ("check", "expected"),
    [
        ({"source": "default", "input": "", "path": ""}, "blender"),
        ({"source": "file_association", "input": "", "path": "C:/x/blender.exe"}, "blender"),
        (
            {"source": "path_envvar", "input": "blender-4.2", "path": "/usr/bin/blender-4.2"},
            "blender-4.2",
        ),
        ({"source": "input_path", "input": "/opt/b", "path": "/opt/b/blender"}, "/opt/b/blender"),
        (
            {"source": "input_path", "input": "x", "path": "/opt/blender (4.2)/blender"},
            '"/opt/blender (4.2)/blender"',
        ),
    ],
)
def test_blender_command(check: dict[str, str], expected: str) -> None:
    assert blender_command(check) == expected


def test_blender_command_needs_something() -> None:
    with pytest.raises(SetupIncomplete):
        blender_command({"source": "input_path", "input": "", "path": ""})


@pytest.mark.slow
@pytest.mark.timeout(90)
async def test_first_run_saves_and_restarts_in_process(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    manager = ManagerProcess(tmp_path / "manager", shared)
    settings = yaml.safe_load(manager.config_path.read_text(encoding="utf-8"))
    settings["shared_storage_path"] = ""
    manager.config_path.write_text(yaml.safe_dump(settings), encoding="utf-8")
    await manager.start()
    pid = manager.process.pid if manager.process else None
    try:
        async with aiohttp.ClientSession() as session:
            client = SpecCheckedClient(session, manager.base_url)
            first = (await client.get("/api/v3/configuration", expect=200)).json()
            assert first["isFirstRun"] is True
            blender = (
                await client.post(
                    "/api/v3/configuration/check/blender",
                    json_body={"path": "/usr/bin/blender"},
                    expect=200,
                )
            ).json()
            refused = await client.post(
                "/api/v3/configuration/setup-assistant",
                json_body={
                    "storageLocation": str(tmp_path / "missing"),
                    "blenderExecutable": blender,
                },
                expect=400,
            )
            assert "not usable" in refused.json()["message"]
            await client.post(
                "/api/v3/configuration/setup-assistant",
                json_body={"storageLocation": str(shared), "blenderExecutable": blender},
                expect=204,
            )
            # The Manager restarts in the same process, now fully configured.
            async with asyncio.timeout(20):
                while True:
                    await asyncio.sleep(0.2)
                    try:
                        await wait_until_up(manager.base_url, timeout=5)
                        configured = (await client.get("/api/v3/configuration")).json()
                    except (aiohttp.ClientError, OSError, json.JSONDecodeError, TimeoutError):
                        continue
                    if configured["isFirstRun"] is False:
                        break
            assert configured["storageLocation"] == str(shared)
            assert manager.process is not None and manager.process.pid == pid
        written = yaml.safe_load(manager.config_path.read_text(encoding="utf-8"))
        assert written["shared_storage_path"] == str(shared)
        blender_values = written["variables"]["blender"]["values"]
        assert {value["platform"]: value["value"] for value in blender_values} == {
            "linux": blender["path"],
            "windows": blender["path"],
            "darwin": blender["path"],
        }
    finally:
        assert await manager.stop() == 0, manager.log()[-3000:]


async def test_blender_check_of_a_path_with_a_null_byte(manager: RunningManager) -> None:
    # Found by fuzzing: starting the process raised ValueError, which answered 500.
    reply = await manager.client.post(
        "/api/v3/configuration/check/blender",
        json_body={"path": "/usr/bin/blen\x00der"},
        expect=200,
    )
    assert reply.json()["is_usable"] is False
    assert "null byte" in reply.json()["cause"]
