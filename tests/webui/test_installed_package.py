"""The Manager as a studio installs it: a wheel built from this checkout, installed with pipx
into a fresh virtual environment and run outside the checkout, serves everything."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import tarfile
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from support.manager_process import free_port, manager_yaml

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]
expect = pytest.importorskip("playwright.async_api", reason="pip install playwright").expect

REPO = Path(__file__).resolve().parents[2]
WEB_PACKAGE = "flamenco/manager/web"
LIBRARIES = {"vue", "socket.io-client", "uplot"}
VUE_MODULE = "vue/dist/vue.esm-browser.prod.js"
SOCKET_IO_MODULE = "socket.io-client/dist/socket.io.esm.min.js"
UPLOT_MODULE = "uplot/dist/uPlot.esm.js"
UPLOT_STYLESHEET = "uplot/dist/uPlot.min.css"


@dataclass(frozen=True)
class Built:
    wheel: Path
    sdist: Path


@dataclass(frozen=True)
class Installed:
    home: Path
    bin_dir: Path

    @property
    def python(self) -> Path:
        return self.home / "venvs" / "flamenco-py" / "bin" / "python"


def outside_env(**extra: str) -> dict[str, str]:
    """This environment without anything that would lead an installed program to the checkout."""
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "FLAMENCO_WEB_DIR"}
        and not name.startswith("PIPX_")
    }
    return env | extra


def run(command: list[str], **kwargs: Any) -> str:
    result = subprocess.run(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        timeout=600,
        check=False,
        **kwargs,
    )
    assert result.returncode == 0, (
        f"{' '.join(command)} exited {result.returncode}:\n{result.stdout}"
    )
    return result.stdout


def checkout_files(root: Path, *, skip: frozenset[str] = frozenset()) -> set[str]:
    """Files under root as the package carries them: no caches, dot files or skipped folders."""
    files = set()
    for path in root.rglob("*"):
        relative = path.relative_to(root)
        if any(
            part == "__pycache__" or part.startswith(".") or part in skip for part in relative.parts
        ):
            continue
        if path.is_file() and path.suffix not in {".pyc", ".pyo"}:
            files.add(relative.as_posix())
    return files


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """`python -m build`: the sdist, then the wheel built from that sdist, as a release is made."""
    out = tmp_path_factory.mktemp("dist")
    run([sys.executable, "-m", "build", "--outdir", str(out), str(REPO)])
    (wheel,) = out.glob("*.whl")
    (sdist,) = out.glob("*.tar.gz")
    return Built(wheel, sdist)


@pytest.fixture(scope="module")
def installed(built: Built, tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """`pipx install <wheel>`: a virtual environment of its own, its dependencies from the index."""
    root = tmp_path_factory.mktemp("pipx")
    assert not root.is_relative_to(REPO)
    installed = Installed(home=root / "home", bin_dir=root / "bin")
    env = outside_env(
        PIPX_HOME=str(installed.home),
        PIPX_BIN_DIR=str(installed.bin_dir),
        PIPX_MAN_DIR=str(root / "man"),
    )
    run([sys.executable, "-m", "pipx", "install", str(built.wheel)], env=env, cwd=root)
    return installed


@pytest.fixture(scope="module")
def installed_manager(
    installed: Installed, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The installed `flamenco-manager`, started in a directory outside the checkout."""
    directory = tmp_path_factory.mktemp("farm")
    port = free_port()
    shared = directory / "shared"
    shared.mkdir()
    config = directory / "flamenco-manager.yaml"
    config.write_text(manager_yaml(port, shared), encoding="utf-8")
    base_url = f"http://127.0.0.1:{port}"
    log_path = directory / "manager.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(installed.bin_dir / "flamenco-manager"), "--config", str(config)],
            cwd=directory,
            env=outside_env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(base_url + "/api/v3/version", timeout=5) as response:
                    if response.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            exited = process.poll()
            if exited is not None or time.monotonic() > deadline:
                log = log_path.read_text(encoding="utf-8", errors="replace")
                pytest.fail(f"the installed Manager did not start (exit {exited}):\n{log}")
            time.sleep(0.2)
        yield base_url
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_the_wheel_and_sdist_hold_everything_the_manager_serves(built: Built) -> None:
    with zipfile.ZipFile(built.wheel) as wheel:
        names = set(wheel.namelist())
    package = {f"flamenco/{name}" for name in checkout_files(REPO / "src" / "flamenco")}
    assert not package - names, "the package's own files (spec, SQL, job types) are in the wheel"
    static = {
        f"{WEB_PACKAGE}/static/{name}"
        for name in checkout_files(REPO / "static", skip=frozenset({"node_modules"}))
        - {"package-lock.json"}
    }
    assert f"{WEB_PACKAGE}/static/index.html" in static
    assert not static - names, "the web interface is in the wheel"
    addon = {
        f"{WEB_PACKAGE}/addon/flamenco/{name}"
        for name in checkout_files(REPO / "addon" / "flamenco")
    }
    assert f"{WEB_PACKAGE}/addon/flamenco/__init__.py" in addon
    assert not addon - names, "the add-on is in the wheel"

    modules = f"{WEB_PACKAGE}/static/node_modules/"
    vendored = {name.removeprefix(modules) for name in names if name.startswith(modules)}
    assert {VUE_MODULE, SOCKET_IO_MODULE, "vue/LICENSE", "socket.io-client/LICENSE"} <= vendored
    assert {UPLOT_MODULE, UPLOT_STYLESHEET, "uplot/LICENSE"} <= vendored
    # Only what the page loads: not the compiler, the CommonJS builds or other packages.
    assert {name.split("/")[0] for name in vendored} == LIBRARIES
    assert not any("compiler" in name or name.endswith(".cjs.js") for name in vendored)

    with tarfile.open(built.sdist) as sdist:
        top = sdist.getnames()[0].split("/")[0]
        in_sdist = {name.removeprefix(top + "/") for name in sdist.getnames()}
    assert {
        f"static/node_modules/{VUE_MODULE}",
        "static/package-lock.json",
        "static/index.html",
        "addon/flamenco/__init__.py",
        "setup.py",
        "MANIFEST.in",
    } <= in_sdist


def test_pipx_installs_both_commands(installed: Installed) -> None:
    cwd = installed.home.parent
    assert "Flamenco Manager" in run(
        [str(installed.bin_dir / "flamenco-manager"), "--version"], cwd=cwd
    )
    assert "Flamenco Worker" in run(
        [str(installed.bin_dir / "flamenco-worker"), "--version"], cwd=cwd
    )
    where = run(
        [str(installed.python), "-c", "import flamenco; print(flamenco.__file__)"],
        cwd=cwd,
        env=outside_env(),
    ).strip()
    assert Path(where).is_relative_to(installed.home), where


async def test_the_web_interface_and_its_libraries_are_served(installed_manager: str) -> None:
    async with aiohttp.ClientSession() as session:
        for route in ("/app/", "/app/jobs"):
            async with session.get(installed_manager + route) as response:
                text = await response.text()
                assert response.status == 200, text
                assert response.content_type == "text/html"
                assert '<script type="importmap">' in text
        for module, marker in (
            (VUE_MODULE, "createApp"),
            (SOCKET_IO_MODULE, "/socket.io"),
            (UPLOT_MODULE, "uPlot"),
        ):
            async with session.get(f"{installed_manager}/app/vendor/{module}") as response:
                assert response.status == 200, module
                assert response.content_type == "text/javascript"
                assert marker in await response.text()
        async with session.get(f"{installed_manager}/app/vendor/{UPLOT_STYLESHEET}") as response:
            assert response.status == 200
            assert response.content_type == "text/css"
        async with session.get(installed_manager + "/app/js/main.js") as response:
            assert response.status == 200
            assert response.content_type == "text/javascript"


async def test_the_addon_zip_is_served(installed_manager: str) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.get(installed_manager + "/flamenco-addon.zip") as response,
    ):
        assert response.status == 200, await response.text()
        assert response.content_type == "application/zip"
        data = await response.read()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        names = archive.namelist()
    assert {name.split("/")[0] for name in names} == {"flamenco"}
    assert "flamenco/__init__.py" in names
    assert "flamenco/vendor/blender_asset_tracer/__init__.py" in names
    assert not [name for name in names if "__pycache__" in name or name.endswith(".pyc")]


async def test_the_api_explorer_is_served(installed_manager: str) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.get(installed_manager + "/api/v3/swagger-ui/") as response:
            assert response.status == 200
            assert "swagger-ui-bundle.js" in await response.text()
        async with session.get(
            installed_manager + "/api/v3/swagger-ui/swagger-ui-bundle.js"
        ) as response:
            assert response.status == 200
        async with session.get(installed_manager + "/api/v3/openapi3.json") as response:
            assert response.status == 200
            assert "/api/v3/jobs" in (await response.json())["paths"]


async def test_the_jobs_page_renders(installed_manager: str, browser: Any) -> None:
    page = browser.pages[0] if browser.pages else await browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto(installed_manager + "/app/")
    await expect(page.get_by_role("heading", name="No jobs yet")).to_be_visible()
    link = page.get_by_role("link", name="Download the add-on")
    await expect(link).to_have_attribute("href", "/flamenco-addon.zip")
    await expect(page.get_by_test_id("farm-status")).to_contain_text("inoperative")
    assert not errors, f"JavaScript errors on the page: {errors}"
