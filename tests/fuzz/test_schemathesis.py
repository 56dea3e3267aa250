"""Property-based fuzzing of the running Manager from its own OpenAPI spec (schemathesis)."""

from __future__ import annotations

import asyncio
import secrets
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest
import yaml

from support.manager_process import ManagerProcess

# Saving the setup assistant's answers restarts the Manager, which would cut the
# fuzzer's connections; tests/services/test_setup_assistant.py covers it.
RESTARTS_THE_MANAGER = ("saveSetupAssistantConfig",)
FUZZ_SECONDS = 90


async def register_worker(base_url: str) -> tuple[str, str]:
    secret = secrets.token_hex(16)
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            base_url + "/api/v3/worker/register-worker",
            json={
                "name": "fuzz-worker",
                "platform": "linux",
                "secret": secret,
                "supported_task_types": ["misc"],
            },
        ) as response,
    ):
        assert response.status == 200
        worker_id = (await response.json())["uuid"]
    return worker_id, secret


@pytest.mark.fuzz
@pytest.mark.slow
@pytest.mark.timeout(FUZZ_SECONDS + 120)
async def test_fuzzing_finds_no_server_errors_and_no_spec_violations(tmp_path: Path) -> None:
    schemathesis = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    assert schemathesis, "schemathesis is a test dependency"
    manager = ManagerProcess(tmp_path / "manager", tmp_path / "shared")
    # Shaman on, so that its uploads and checkouts are fuzzed too.
    settings = yaml.safe_load(manager.config_path.read_text(encoding="utf-8"))
    settings["shaman"]["enabled"] = True
    manager.config_path.write_text(yaml.safe_dump(settings), encoding="utf-8")
    await manager.start()
    try:
        worker_id, secret = await register_worker(manager.base_url)
        command = [
            schemathesis,
            "run",
            f"{manager.base_url}/api/v3/openapi3.json",
            "--checks",
            "not_a_server_error,response_schema_conformance,status_code_conformance,"
            "content_type_conformance",
            "--max-time",
            str(FUZZ_SECONDS),
            "--workers",
            "2",
            "--auth",
            f"{worker_id}:{secret}",
            "--seed",
            "3",
        ]
        for operation_id in RESTARTS_THE_MANAGER:
            command += ["--exclude-operation-id", operation_id]
        result = await asyncio.to_thread(
            subprocess.run, command, capture_output=True, text=True, cwd=tmp_path, check=False
        )
        assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    finally:
        code = await manager.stop()
    assert code == 0, manager.log()[-3000:]
    # aiohttp logs malformed requests it refused itself (null bytes in headers) with a
    # traceback; what matters is that none of our own code logged an error.
    own_errors = [
        line
        for line in manager.log().splitlines()
        if " flamenco." in line and (" ERROR " in line or " CRITICAL " in line)
    ]
    assert own_errors == [], own_errors[:20]

    database = sqlite3.connect(manager.directory / "flamenco-manager.sqlite")
    assert database.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert database.execute("PRAGMA foreign_key_check").fetchall() == []
