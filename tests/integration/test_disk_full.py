"""A full disk answers 507 naming what is full, raises one farm alarm, and passes by itself."""

from __future__ import annotations

import errno
import hashlib
import io
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from PIL import Image

from conftest import ConfigMaker
from flamenco.manager import app as app_module
from flamenco.manager import keys
from flamenco.manager.api.errors import error_middleware
from flamenco.manager.errors import DiskFull
from flamenco.manager.eventbus.broker import Event, EventKind
from flamenco.manager.persistence import Connection
from flamenco.manager.services import disk_space
from support.jobs import submit_echo_sleep
from support.manager import RunningManager, run_manager
from support.manager_process import ManagerProcess
from support.spec_client import SpecCheckedClient, basic_auth_header
from support.tmpfs import fill, mounted_tmpfs
from support.waiting import farm_status_when, until
from support.worker_session import WorkerSession

# SQLite answers "database or disk is full" (SQLITE_FULL) once the file would grow
# beyond this many pages: a full disk without a disk to fill.
FULL_AT_CURRENT_SIZE = "PRAGMA max_page_count = {pages}"
NO_PAGE_LIMIT = "PRAGMA max_page_count = 4294967294"
# PostgreSQL's disk_full (SQLSTATE 53100), raised by the server as when it cannot extend a file.
POSTGRESQL_DISK_FULL = (
    "DO $$ BEGIN RAISE EXCEPTION 'could not extend file: No space left on device' "
    "USING ERRCODE = 'disk_full'; END $$"
)


def _raw(conn: Connection) -> Any:
    return conn.raw  # type: ignore[attr-defined]


def _limit_sqlite_to_its_size(conn: Connection) -> None:
    pages = int(_raw(conn).execute("PRAGMA page_count").fetchone()[0])
    _raw(conn).execute(FULL_AT_CURRENT_SIZE.format(pages=pages))


def _overfill_sqlite(conn: Connection) -> None:
    _limit_sqlite_to_its_size(conn)
    try:
        _raw(conn).execute(
            "INSERT INTO worker_tags (created_at, uuid, name, description) "
            "VALUES ('2026-01-01', 'x', 'x', zeroblob(1000000))"
        )
    finally:
        _raw(conn).execute(NO_PAGE_LIMIT)


def _overfill_postgresql(conn: Connection) -> None:
    _raw(conn).execute(POSTGRESQL_DISK_FULL)


async def test_a_full_database_is_disk_full_naming_it(
    manager: RunningManager, database: str
) -> None:
    db = manager.app[keys.DATABASE]
    with pytest.raises(DiskFull) as raised:
        await db.write(_overfill_sqlite if database == "sqlite" else _overfill_postgresql)
    assert raised.value.status == 507
    assert raised.value.where.startswith("the database ")
    assert "disk is full" in raised.value.message
    if database == "sqlite":
        assert str(manager.app[keys.CONFIG].database_path) in raised.value.where
    else:
        assert "postgresql://" in raised.value.where
    # The connection stays usable: nothing to reconnect once space is back.
    await submit_echo_sleep(manager.client)


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
async def test_full_database_answers_507_with_an_alarm_until_there_is_room(
    manager: RunningManager,
) -> None:
    db = manager.app[keys.DATABASE]
    await db.write(_limit_sqlite_to_its_size)
    for _ in range(3):
        reply = await manager.client.post("/api/v3/jobs", json_body=_echo_job(), expect=507)
        assert "the disk is full: cannot write to the database" in reply.json()["message"]
    report = (await manager.client.get("/api/v3/status", expect=200)).json()
    [alarm] = report["alarms"]
    assert alarm["kind"] == "disk-full"
    assert str(manager.app[keys.CONFIG].database_path) in alarm["message"]

    await db.write(lambda conn: _raw(conn).execute(NO_PAGE_LIMIT))
    await farm_status_when(manager.client, lambda r: "alarms" not in r)
    await submit_echo_sleep(manager.client)


def _echo_job() -> dict[str, Any]:
    return {
        "name": "refused",
        "type": "echo-sleep-test",
        "priority": 50,
        "submitter_platform": "linux",
        # Larger than the room left in the pages the database has: it needs new ones.
        "settings": {"message": "x" * 100_000, "sleep_duration_seconds": 1, "sleep_repeats": 1},
        "metadata": {},
    }


@pytest.mark.slow
async def test_full_disks_answer_507_raise_an_alarm_and_recover(tmp_path: Path) -> None:
    """A real Manager with its database on one small tmpfs, task logs and Shaman on another."""
    with (
        mounted_tmpfs(tmp_path / "database-disk") as database_disk,
        mounted_tmpfs(tmp_path / "file-disk") as file_disk,
    ):
        database_path = database_disk / "flamenco-manager.sqlite"
        storage = file_disk / "storage"
        process = ManagerProcess(
            tmp_path / "manager",
            file_disk / "shared",
            database=str(database_path),
            local_manager_storage_path=str(storage),
            shaman="\n  enabled: true",
        )
        await process.start()
        try:
            async with aiohttp.ClientSession() as session:
                client = SpecCheckedClient(session, process.base_url)
                await _fill_and_free(client, database_disk, file_disk, process.log)
            assert await process.stop() == 0
        finally:
            if process.process is not None:
                await process.kill()
        log = process.log()
    full_places = {
        f"the database {database_path}",
        f"the task logs in {storage}",
        f"the Shaman storage {file_disk / 'shared'}",
        f"the last-rendered images in {storage}",
    }
    for where in full_places:
        assert log.count(f"DISK FULL: cannot write to {where};") == 1, "once per episode"
        assert log.count(f"disk space is back: {where} can be written again") == 1
    assert "internal error" not in log
    assert "cannot write task log" not in log
    assert "cannot process last-rendered image" not in log


async def _fill_and_free(
    client: SpecCheckedClient, database_disk: Path, file_disk: Path, log: Callable[[], str]
) -> None:
    worker = WorkerSession(client)
    await worker.start()
    job = await submit_echo_sleep(client)
    task = await worker.next_task()
    await worker.update(task["uuid"], taskStatus="active", activity="Started")
    upload = os.urandom(100_000)
    upload_path = f"/api/v3/shaman/files/{hashlib.sha256(upload).hexdigest()}/{len(upload)}"

    # The files' disk fills: logs and uploads are refused, jobs still go into the database.
    file_filler = fill(file_disk)
    for _ in range(3):
        # More than fits in the room left in the log file's last page.
        refused = await worker.update(task["uuid"], log="rendering\n" * 1000, expect=507)
        assert (
            f"the disk is full: cannot write to the task logs in {file_disk}"
            in (refused.json()["message"])
        )
    frame = await _stream_log_chunk(client, worker, task["uuid"], "streamed\n" * 1000)
    assert frame["error"]["code"] == 507
    assert "cannot write to the task logs" in frame["error"]["message"]
    refused = await client.post(upload_path, data=upload, expect=507)
    assert "the disk is full: cannot write to the Shaman storage" in refused.json()["message"]
    # Thumbnails are made after the answer: the image is dropped, and said once.
    await _output_produced(client, worker, task["uuid"])
    await _output_produced(client, worker, task["uuid"])
    await until(lambda: "cannot write to the last-rendered images" in log())
    await submit_echo_sleep(client)

    # Then the database's disk.
    database_filler = fill(database_disk)
    for _ in range(3):
        refused = await client.post("/api/v3/jobs", json_body=_echo_job(), expect=507)
        assert (
            f"the disk is full: cannot write to the database {database_disk}"
            in (refused.json()["message"])
        )
    report = await farm_status_when(client, lambda r: r.get("alarms"))
    [alarm] = report["alarms"]
    assert alarm["kind"] == "disk-full"
    for place in ("the database", "the task logs", "the Shaman storage"):
        assert place in alarm["message"]

    # Space is freed: the alarm goes by itself, and everything is accepted again.
    database_filler.unlink()
    file_filler.unlink()
    await farm_status_when(client, lambda r: "alarms" not in r)
    await submit_echo_sleep(client)
    await worker.update(task["uuid"], log="rendering again\n")
    await client.post(upload_path, data=upload, expect=204)
    assert await _stream_log_chunk(client, worker, task["uuid"], "streamed again\n") == {"ack": 1}
    log_tail = await client.get(f"/api/v3/tasks/{task['uuid']}/logtail", expect=200)
    assert "rendering again" in log_tail.text
    await _output_produced(client, worker, task["uuid"])
    last_rendered = f"/api/v3/jobs/{job['id']}/last-rendered"
    await until(lambda: _answers_200(client, last_rendered))


async def _stream_log_chunk(
    client: SpecCheckedClient, worker: WorkerSession, task_uuid: str, text: str
) -> dict[str, Any]:
    """Send one chunk on the log streaming extension; the frame that answers it."""
    async with client.session.ws_connect(
        client.base_url + "/api/v3/worker/task-log-stream",
        headers={"Authorization": basic_auth_header(*worker.auth)},
    ) as stream:
        await stream.send_json({"seq": 1, "task_id": task_uuid, "log": text})
        frame: dict[str, Any] = await stream.receive_json()
        return frame


async def test_a_background_service_waits_out_a_full_disk(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Instead of stopping the Manager, as a service that fails otherwise does."""
    monkeypatch.setattr(app_module, "OUTAGE_RETRY_SECONDS", 0)
    reported: list[DiskFull] = []
    runs = 0

    async def duty() -> None:
        nonlocal runs
        runs += 1
        if runs == 1:
            raise DiskFull("the database farm.sqlite", directory=None)

    await app_module._retrying_through_outages("duty", duty, reported.append)()
    assert runs == 2
    assert [error.where for error in reported] == ["the database farm.sqlite"]


async def _output_produced(
    client: SpecCheckedClient, worker: WorkerSession, task_uuid: str
) -> None:
    """A rendered frame of noise, whose thumbnails need more than a page or two."""
    image = Image.frombytes("RGB", (500, 400), os.urandom(500 * 400 * 3))
    encoded = io.BytesIO()
    image.save(encoded, "PNG")
    await client.post(
        f"/api/v3/worker/task/{task_uuid}/output-produced",
        data=encoded.getvalue(),
        headers={"Content-Type": "image/png"},
        auth=worker.auth,
        expect=202,
    )


async def _answers_200(client: SpecCheckedClient, path: str) -> bool:
    return (await client.get(path)).status == 200


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
async def test_any_other_file_on_a_full_disk_is_507_naming_its_folder(
    manager: RunningManager,
) -> None:
    """Whatever else the Manager writes (its configuration, say): never a 500."""

    async def handler(request: web.Request) -> web.StreamResponse:
        raise OSError(errno.ENOSPC, "No space left on device", "/srv/farm/flamenco-manager.yaml")

    request = make_mocked_request("PUT", "/api/v3/configuration", app=manager.app)
    response = await error_middleware(request, handler)
    assert isinstance(response, web.Response) and response.text is not None
    assert response.status == 507
    assert "the disk is full: cannot write to the folder /srv/farm" in response.text
    assert manager.app[keys.DISK_SPACE].full_places == ["the folder /srv/farm"]


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
async def test_an_episode_is_said_once_and_ends_by_itself(
    manager: RunningManager,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Where the Manager can look, a probe write ends it; where not (PostgreSQL's server),
    a quiet spell without failures there."""
    monkeypatch.setattr(disk_space, "QUIET_SECONDS", 0.5)
    monitor = manager.app[keys.DISK_SPACE]
    folder = tmp_path / "room"
    folder.mkdir()
    for _ in range(3):
        monitor.report(DiskFull("the folder with room", directory=folder))
        monitor.report(DiskFull("the database postgresql://farm"))
    assert monitor.full_places == ["the folder with room", "the database postgresql://farm"]
    report = (await manager.client.get("/api/v3/status", expect=200)).json()
    assert "the folder with room; the database postgresql://farm" in report["alarms"][0]["message"]

    await farm_status_when(manager.client, lambda r: "alarms" not in r)
    said = [record.getMessage() for record in caplog.records if record.name == disk_space.__name__]
    assert said == [
        "DISK FULL: cannot write to the folder with room; writes there are refused (HTTP 507) "
        "until space is freed, then the Manager carries on by itself",
        "DISK FULL: cannot write to the database postgresql://farm; writes there are refused "
        "(HTTP 507) until space is freed, then the Manager carries on by itself",
        "disk space is back: the folder with room can be written again",
        "disk space is back: the database postgresql://farm can be written again",
    ]
    assert not list(folder.iterdir()), "the probe file is gone"


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
async def test_a_task_update_whose_log_does_not_fit_is_still_announced(
    make_manager_config: ConfigMaker, tmp_path: Path
) -> None:
    """Its status is saved before its log is written, so clients must hear of the status."""
    with mounted_tmpfs(tmp_path / "disk") as disk:
        loaded = make_manager_config(local_manager_storage_path=str(disk / "storage"))
        async for running in run_manager(loaded):
            worker = WorkerSession(running.client)
            await worker.start()
            await submit_echo_sleep(running.client)
            task = await worker.next_task()
            published: list[Event] = []
            running.app[keys.BROKER].subscribe(published.append)
            filler = fill(disk)
            await worker.update(task["uuid"], taskStatus="completed", log="x\n" * 4000, expect=507)
            filler.unlink()
            assert [
                event.payload["status"]
                for event in published
                if event.kind is EventKind.TASK_UPDATE and event.payload["id"] == task["uuid"]
            ] == ["completed"]
