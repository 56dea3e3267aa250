"""Meta operations: version, configuration, variables, storage, farm status, docs."""

from __future__ import annotations

from pathlib import Path

import yaml

from flamenco import FLAMENCO_API_VERSION, __version__
from support.manager import RunningManager


async def test_version_reports_api_version_and_ours(manager: RunningManager) -> None:
    reply = await manager.client.get("/api/v3/version", expect=200)
    body = reply.json()
    assert body["shortversion"] == FLAMENCO_API_VERSION == "3.9"
    assert __version__ in body["version"]
    assert body["name"] == "Test Farm"


async def test_configuration_reports_storage(manager: RunningManager, shared_storage: Path) -> None:
    body = (await manager.client.get("/api/v3/configuration", expect=200)).json()
    assert body == {
        "storageLocation": str(shared_storage),
        "shamanEnabled": False,
        "isFirstRun": False,
    }


async def test_configuration_file_round_trip(manager: RunningManager, manager_yaml: Path) -> None:
    current = (await manager.client.get("/api/v3/configuration/file", expect=200)).json()
    assert current["manager_name"] == "Test Farm"
    assert current["task_timeout"] == "10m0s"
    current["manager_name"] = "Renamed Farm"
    await manager.client.put("/api/v3/configuration/file", json_body=current, expect=204)
    written = yaml.safe_load(manager_yaml.read_text(encoding="utf-8"))
    assert written["manager_name"] == "Renamed Farm"


async def test_configuration_file_rejects_bad_values(
    manager: RunningManager, manager_yaml: Path
) -> None:
    before = manager_yaml.read_text(encoding="utf-8")
    current = (await manager.client.get("/api/v3/configuration/file", expect=200)).json()
    current["task_timeout"] = "ten minutes"
    reply = await manager.client.put("/api/v3/configuration/file", json_body=current, expect=400)
    assert "task_timeout" in reply.json()["message"]
    assert manager_yaml.read_text(encoding="utf-8") == before


async def test_variables_for_workers(manager: RunningManager, shared_storage: Path) -> None:
    body = (
        await manager.client.get("/api/v3/configuration/variables/workers/linux", expect=200)
    ).json()
    assert body["blender"] == {"name": "blender", "value": "blender", "is_twoway": False}
    assert body["jobs"]["value"] == str(shared_storage)


async def test_variables_unknown_audience_is_rejected(manager: RunningManager) -> None:
    await manager.client.get("/api/v3/configuration/variables/robots/linux", expect=400)


async def test_shared_storage_for_users(manager: RunningManager, shared_storage: Path) -> None:
    body = (
        await manager.client.get("/api/v3/configuration/shared-storage/users/linux", expect=200)
    ).json()
    assert body == {
        "location": str(shared_storage),
        "audience": "users",
        "platform": "linux",
        "shamanEnabled": False,
    }


async def test_farm_status_is_reported(manager: RunningManager) -> None:
    body = (await manager.client.get("/api/v3/status", expect=200)).json()
    assert body["status"] in {"starting", "inoperative"}


async def test_shared_storage_check(manager: RunningManager, shared_storage: Path) -> None:
    tmp_path = shared_storage
    usable = (
        await manager.client.post(
            "/api/v3/configuration/check/shared-storage",
            json_body={"path": str(tmp_path)},
            expect=200,
        )
    ).json()
    assert usable["is_usable"] is True
    missing = (
        await manager.client.post(
            "/api/v3/configuration/check/shared-storage",
            json_body={"path": str(tmp_path / "nope")},
            expect=200,
        )
    ).json()
    assert missing["is_usable"] is False
    assert "not exist" in missing["cause"]


async def test_spec_and_swagger_ui_are_served(manager: RunningManager) -> None:
    spec = (await manager.client.get("/api/v3/openapi3.json", expect=200)).json()
    assert spec["paths"]["/api/v3/version"]["get"]["operationId"] == "getVersion"
    page = await manager.client.get("/api/v3/swagger-ui/", expect=200)
    assert "/api/v3/openapi3.json" in page.text
    assert "swagger-ui-bundle.js" in page.text
    script = await manager.client.get("/api/v3/swagger-ui/swagger-ui-bundle.js", expect=200)
    assert len(script.body) > 100_000


async def test_root_redirects_to_web_app(manager: RunningManager) -> None:
    async with manager.client.session.get(
        manager.base_url + "/", allow_redirects=False
    ) as response:
        assert response.status == 307
        assert response.headers["Location"] == "/app/"
