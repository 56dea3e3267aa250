"""The add-on's stdlib HTTP client and its Manager info cache, against a real Manager."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flamenco_addon import manager_info
from flamenco_addon.manager_client import ManagerClient, ManagerError, normalise_url

from support.manager import RunningManager
from support.manager_process import free_port


async def fetch_info(manager: RunningManager) -> manager_info.ManagerInfo:
    return await asyncio.to_thread(manager_info.fetch, ManagerClient(manager.base_url))


async def test_refresh_fetches_what_the_addon_caches(
    manager: RunningManager, shared_storage: Path
) -> None:
    await manager.client.request(
        "POST", "/api/v3/worker-mgt/tags", json_body={"name": "GPU"}, expect=(200, 204)
    )
    info = await fetch_info(manager)
    assert info.manager_name == "Test Farm"
    assert manager_info.versions_match(manager_info.ADDON_VERSION, info.short_version)
    assert info.job_storage == str(shared_storage)
    assert info.shaman_enabled is False
    assert {"simple-blender-render", "echo-sleep-test"} <= {t["name"] for t in info.job_types}
    assert info.job_type("simple-blender-render")["etag"]
    assert [tag["name"] for tag in info.worker_tags] == ["GPU"]
    assert info.worker_tag(info.worker_tags[0]["id"]) is not None


async def test_the_cache_round_trips(manager: RunningManager, tmp_path: Path) -> None:
    info = await fetch_info(manager)
    path = tmp_path / "config" / manager_info.CACHE_FILENAME
    manager_info.save(info, path)
    assert manager_info.load(path) == info
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary files left


def test_a_missing_cache_is_none_and_a_broken_one_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / manager_info.CACHE_FILENAME
    assert manager_info.load(path) is None
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(manager_info.LoadError, match="not valid JSON"):
        manager_info.load(path)
    # Upstream's add-on writes the same file name in another layout.
    path.write_text(json.dumps({"flamenco_version": {}, "job_types": {}}), encoding="utf-8")
    with pytest.raises(manager_info.LoadError, match="another version"):
        manager_info.load(path)


@pytest.mark.parametrize(
    ("addon", "manager", "match"),
    [
        ("3.9", "3.9", True),
        ("3.9", "3.9-beta1", True),
        ("3.9", "3.9.2", True),
        ("3.9", "3.8", False),
        ("3.9", "4.0-alpha0", False),
        ("3.9", "", False),
    ],
)
def test_versions_match_on_major_and_minor(addon: str, manager: str, match: bool) -> None:
    assert manager_info.versions_match(addon, manager) is match


async def test_submit_check_and_submit(manager: RunningManager, tmp_path: Path) -> None:
    info = await fetch_info(manager)
    job_type = info.job_type("echo-sleep-test")
    assert job_type is not None
    client = ManagerClient(manager.base_url)
    job = {
        "name": "from the add-on client",
        "type": "echo-sleep-test",
        "type_etag": job_type["etag"],
        "priority": 50,
        "submitter_platform": "linux",
        "settings": {"message": "hi", "sleep_duration_seconds": 1, "sleep_repeats": 1},
        "metadata": {},
    }
    await asyncio.to_thread(client.submit_job_check, job)
    submitted = await asyncio.to_thread(client.submit_job, job)
    assert submitted["name"] == "from the add-on client"

    stale = dict(job, type_etag="not-the-etag")
    with pytest.raises(ManagerError) as caught:
        await asyncio.to_thread(client.submit_job_check, stale)
    assert caught.value.status == 412


async def test_a_refused_job_carries_the_managers_own_words(manager: RunningManager) -> None:
    client = ManagerClient(manager.base_url)
    with pytest.raises(ManagerError) as caught:
        await asyncio.to_thread(
            client.submit_job_check,
            {"name": "x", "type": "no-such-type", "priority": 50, "submitter_platform": "linux"},
        )
    assert caught.value.status is not None and 400 <= caught.value.status < 500
    assert caught.value.detail and caught.value.detail in caught.value.message
    assert caught.value.message.startswith(f"Manager error {caught.value.status}: ")


def test_nothing_listening_is_said_plainly() -> None:
    client = ManagerClient(f"http://127.0.0.1:{free_port()}/")
    with pytest.raises(ManagerError, match="nothing is listening there"):
        client.get_version()


def test_an_unknown_host_is_said_plainly() -> None:
    client = ManagerClient("http://no-such-host.invalid:8080/", timeout=5)
    with pytest.raises(ManagerError, match="Cannot reach the Manager"):
        client.get_version()


@pytest.fixture
def silent_server() -> Iterator[str]:
    """Accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join()
        for connection in accepted:
            connection.close()
        listener.close()


def test_a_silent_manager_times_out(silent_server: str) -> None:
    client = ManagerClient(silent_server, timeout=0.3)
    with pytest.raises(ManagerError, match=r"did not answer within|no answer within"):
        client.get_version()


async def test_something_that_is_not_a_manager(manager: RunningManager) -> None:
    client = ManagerClient(manager.base_url + "/app/")
    with pytest.raises(ManagerError) as caught:
        await asyncio.to_thread(client.get_version)
    assert "Manager" in caught.value.message


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://farm:8080/", "http://farm:8080"),
        ("farm:8080", "http://farm:8080"),
        ("  https://farm.example.com/  ", "https://farm.example.com"),
    ],
)
def test_urls_are_normalised(url: str, expected: str) -> None:
    assert normalise_url(url) == expected


@pytest.mark.parametrize("url", ["", "ftp://farm/", "http://", "http://farm:port/"])
def test_bad_urls_are_explained(url: str) -> None:
    with pytest.raises(ManagerError, match="Manager URL"):
        normalise_url(url)


def test_proxy_variables_are_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    """A proxy meant for the internet must not sit between the add-on and the farm."""
    monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("no_proxy", "")
    client = ManagerClient(f"http://127.0.0.1:{free_port()}")
    with pytest.raises(ManagerError, match="nothing is listening there"):
        client.get_version()
