"""The Manager's /flamenco-addon.zip: what is inside it and how it is served."""

from __future__ import annotations

import ast
import io
import zipfile
from pathlib import Path

import pytest

from flamenco.manager.web import addon_zip
from support.manager import RunningManager

ADDON_DIR = Path(__file__).resolve().parents[2] / "addon" / "flamenco"

# Modules the unit tests load without Blender; they must never import bpy.
BLENDER_FREE_MODULES = [
    "bat_loader",
    "job_settings",
    "manager_client",
    "manager_info",
    "packing",
    "projects",
    "shaman",
    "submission",
]


async def download(manager: RunningManager) -> zipfile.ZipFile:
    reply = await manager.client.request("GET", "/flamenco-addon.zip", expect=200)
    assert reply.headers["Content-Type"] == "application/zip"
    assert "flamenco-addon.zip" in reply.headers["Content-Disposition"]
    return zipfile.ZipFile(io.BytesIO(reply.body))


async def test_the_zip_holds_the_addon_and_blender_asset_tracer(manager: RunningManager) -> None:
    archive = await download(manager)
    names = archive.namelist()
    assert {name.split("/")[0] for name in names} == {"flamenco"}
    assert "flamenco/__init__.py" in names
    assert "flamenco/operators.py" in names
    assert "flamenco/vendor/blender_asset_tracer/__init__.py" in names
    assert "flamenco/vendor/blender_asset_tracer/pack/__init__.py" in names
    assert "flamenco/vendor/LICENSE-blender-asset-tracer.txt" in names
    assert not [name for name in names if "__pycache__" in name or name.endswith(".pyc")]
    assert archive.testzip() is None


async def test_the_old_name_redirects(manager: RunningManager) -> None:
    async with manager.client.session.get(
        manager.base_url + "/flamenco3-addon.zip", allow_redirects=False
    ) as response:
        assert response.status == 308
        assert response.headers["Location"] == "/flamenco-addon.zip"


async def test_the_zip_is_built_once_and_revalidates(manager: RunningManager) -> None:
    first = await manager.client.request("GET", "/flamenco-addon.zip", expect=200)
    second = await manager.client.request("GET", "/flamenco-addon.zip", expect=200)
    assert first.body == second.body
    etag = {name.lower(): value for name, value in first.headers.items()}["etag"]
    await manager.client.request(
        "GET", "/flamenco-addon.zip", headers={"If-None-Match": etag}, expect=304
    )


async def test_without_the_addon_sources_the_zip_is_a_clear_404(
    manager: RunningManager, monkeypatch: pytest.MonkeyPatch
) -> None:
    def missing() -> Path:
        raise addon_zip.AddonNotAvailable("the Blender add-on is not part of this installation")

    monkeypatch.setattr(addon_zip, "addon_source", missing)
    reply = await manager.client.request("GET", "/flamenco-addon.zip", expect=404)
    assert "not part of this installation" in reply.json()["message"]


def test_every_python_file_in_the_zip_parses_as_python_3_10() -> None:
    """Blender 3.4's Python is 3.10; the add-on and its BAT must not need newer syntax."""
    archive = zipfile.ZipFile(io.BytesIO(addon_zip.build_addon_zip().data))
    python_files = [name for name in archive.namelist() if name.endswith(".py")]
    assert len(python_files) > 20
    for name in python_files:
        ast.parse(archive.read(name), filename=name, feature_version=(3, 10))


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("module", BLENDER_FREE_MODULES)
def test_pure_modules_use_only_the_standard_library(module: str) -> None:
    """No bpy (so they test without Blender) and no requests or urllib3 (Blender lacks them)."""
    imported = imported_modules(ADDON_DIR / f"{module}.py")
    assert not imported & {"bpy", "requests", "urllib3", "flamenco"}, imported


def test_the_addon_module_and_bl_info() -> None:
    tree = ast.parse((ADDON_DIR / "__init__.py").read_text(encoding="utf-8"))
    bl_info = next(
        ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign)
        and any(isinstance(target, ast.Name) and target.id == "bl_info" for target in node.targets)
    )
    assert bl_info["name"] == "Flamenco"
    assert bl_info["version"] == (3, 9)
    assert bl_info["blender"] <= (3, 4, 0)
