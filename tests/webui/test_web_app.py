"""Serving the web interface: files, vendor libraries, app routes, messages when missing."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from flamenco.manager.web.app_files import setup_web_app_routes


def make_static(root: Path, *, libraries: bool = True) -> Path:
    root.mkdir()
    (root / "index.html").write_text("<!DOCTYPE html><title>app</title>", encoding="utf-8")
    (root / "js").mkdir()
    (root / "js" / "main.js").write_text("export {};", encoding="utf-8")
    (root / "package.json").write_text(
        json.dumps({"dependencies": {"vue": "^3", "@scope/lib": "^1"}}), encoding="utf-8"
    )
    if libraries:
        for package in ("vue", "@scope/lib", "left-pad"):
            folder = root / "node_modules" / package / "dist"
            folder.mkdir(parents=True)
            (folder / "index.js").write_text("export default 1;", encoding="utf-8")
    (root / ".secret").write_text("no", encoding="utf-8")
    return root


async def serve(static: Path) -> AsyncIterator[tuple[aiohttp.ClientSession, str]]:
    app = web.Application()
    setup_web_app_routes(app, static)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as session:
            yield session, str(server.make_url("")).rstrip("/")
    finally:
        await server.close()


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[tuple[aiohttp.ClientSession, str]]:
    async for pair in serve(make_static(tmp_path / "static")):
        yield pair


async def status_and_text(session: aiohttp.ClientSession, url: str) -> tuple[int, str, str]:
    async with session.get(url, allow_redirects=False) as response:
        return response.status, response.headers.get("Content-Type", ""), await response.text()


async def test_files_and_app_routes(site: tuple[aiohttp.ClientSession, str]) -> None:
    session, base = site
    status, content_type, text = await status_and_text(session, base + "/app/js/main.js")
    assert (status, content_type) == (200, "text/javascript; charset=utf-8")
    for route in ("/app/", "/app/jobs", "/app/jobs/1234/5678", "/app/workers/abc"):
        status, content_type, text = await status_and_text(session, base + route)
        assert status == 200 and "<title>app</title>" in text, route
    async with session.get(base + "/app/js/main.js") as response:
        assert response.headers["Cache-Control"] == "no-cache"
        assert "ETag" in response.headers or "Last-Modified" in response.headers


async def test_missing_files_are_not_answered_with_the_app(
    site: tuple[aiohttp.ClientSession, str],
) -> None:
    session, base = site
    for path in ("/app/js/missing.js", "/app/.secret", "/app/node_modules/vue/dist/index.js"):
        status, _, _ = await status_and_text(session, base + path)
        assert status == 404, path
    status, _, _ = await status_and_text(session, base + "/app/%2e%2e/%2e%2e/etc/passwd")
    assert status == 404


async def test_only_declared_libraries_are_served(site: tuple[aiohttp.ClientSession, str]) -> None:
    session, base = site
    assert (await status_and_text(session, base + "/app/vendor/vue/dist/index.js"))[0] == 200
    assert (await status_and_text(session, base + "/app/vendor/@scope/lib/dist/index.js"))[0] == 200
    assert (await status_and_text(session, base + "/app/vendor/left-pad/dist/index.js"))[0] == 404
    assert (await status_and_text(session, base + "/app/vendor/vue/../left-pad/x.js"))[0] == 404


async def test_missing_libraries_are_explained(tmp_path: Path) -> None:
    async for session, base in serve(make_static(tmp_path / "static", libraries=False)):
        status, _, text = await status_and_text(session, base + "/app/jobs")
        assert status == 503
        assert "npm ci" in text


async def test_missing_static_folder_is_explained(tmp_path: Path) -> None:
    async for session, base in serve(tmp_path / "nowhere"):
        status, _, text = await status_and_text(session, base + "/app/")
        assert status == 503
        assert "FLAMENCO_WEB_DIR" in text
        assert "/api/v3/swagger-ui/" in text
        status, _, _ = await status_and_text(session, base + "/")
        assert status == 307


async def test_the_real_web_interface_is_complete() -> None:
    """Every module that index.html and the modules import exists."""
    static = Path(__file__).resolve().parents[2] / "static"

    pending = [static / "js" / "main.js"]
    seen: set[Path] = set()
    while pending:
        module = pending.pop()
        if module in seen:
            continue
        seen.add(module)
        assert module.is_file(), f"missing module {module}"
        source = module.read_text(encoding="utf-8")
        for target in re.findall(r"""from\s+'(\.{1,2}/[^']+)'""", source):
            pending.append((module.parent / target).resolve())
    assert len(seen) > 20
    index = (static / "index.html").read_text(encoding="utf-8")
    manifest = json.loads((static / "package.json").read_text(encoding="utf-8"))
    for name in manifest["dependencies"]:
        assert f"/app/vendor/{name}/" in index
