"""Shaman uploads over real HTTP: statuses, mismatches, concurrent and interrupted uploads."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from flamenco.manager import config
from shaman.helpers import (
    FILES_URL,
    REQUIREMENTS_URL,
    StartManager,
    content,
    file_url,
    files_below,
    post_stream,
    sha256,
    shaman_of,
    spec_of,
    stored_path,
    upload,
)
from support.manager import RunningManager, run_manager

MIB = 1 << 20


async def wait_for(condition: object, timeout: float = 10.0) -> None:
    assert callable(condition)
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


def uploading_files(shared: Path) -> list[Path]:
    return files_below(shared / "file-store" / "uploading")


def stored_files(shared: Path) -> list[Path]:
    return files_below(shared / "file-store" / "stored")


async def gated_body(data: bytes, split: int, gate: asyncio.Event) -> AsyncIterator[bytes]:
    """The first `split` bytes at once, the rest once `gate` is set."""
    yield data[:split]
    await gate.wait()
    for start in range(split, len(data), 256 * 1024):
        yield data[start : start + 256 * 1024]


async def test_upload_stores_file_where_upstream_does(
    shaman_manager: RunningManager, shared_storage: Path
) -> None:
    client = shaman_manager.client
    data = content(700_000)
    reply = await client.get(file_url(data), expect=200)
    assert reply.json() == {"status": "unknown"}

    reply = await upload(client, data, expect=204)
    assert reply.body == b""

    reply = await client.get(file_url(data), expect=200)
    assert reply.json() == {"status": "stored"}
    sha = sha256(data)
    blob = shared_storage / "file-store" / "stored" / sha[:2] / sha[2:] / "700000.blob"
    assert blob.read_bytes() == data
    assert stored_files(shared_storage) == [blob]
    assert uploading_files(shared_storage) == []


async def test_upload_of_stored_file_answers_208_and_touches_it(
    shaman_manager: RunningManager, shared_storage: Path
) -> None:
    client = shaman_manager.client
    data = content(1000)
    await upload(client, data, expect=204)
    blob = stored_path(shared_storage, data)
    os.utime(blob, (1_000_000, 1_000_000))

    reply = await upload(client, data, expect=208)

    assert reply.body == b""
    assert blob.stat().st_mtime > time.time() - 60
    assert uploading_files(shared_storage) == []


async def test_empty_file_can_be_stored(
    shaman_manager: RunningManager, shared_storage: Path
) -> None:
    await upload(shaman_manager.client, b"", expect=204)
    assert stored_path(shared_storage, b"").read_bytes() == b""


async def test_streamed_multi_batch_upload_is_stored_intact(
    shaman_manager: RunningManager, shared_storage: Path
) -> None:
    data = content(5 * MIB + 123, seed=7)

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(data), 100_000):
            yield data[start : start + 100_000]

    reply = await post_stream(shaman_manager.client, file_url(data), chunks())

    assert reply.status == 204
    assert stored_path(shared_storage, data).read_bytes() == data


@pytest.mark.parametrize(
    ("body_size", "declared_size"),
    [(999, 1000), (1001, 1000), (1000, 0), (3 * MIB, 10)],
    ids=["short", "long", "empty-declared", "far-too-long"],
)
async def test_size_mismatch_is_417_with_upstream_message_and_leaves_nothing(
    shaman_manager: RunningManager, shared_storage: Path, body_size: int, declared_size: int
) -> None:
    data = content(body_size)

    async def body() -> AsyncIterator[bytes]:
        yield data

    url = f"{FILES_URL}/{sha256(data)}/{declared_size}"
    reply = await post_stream(shaman_manager.client, url, body())

    assert reply.status == 417
    assert reply.json() == {
        "code": 417,
        "message": f"file size mismatched, declared {declared_size} but received {body_size} bytes",
    }
    assert uploading_files(shared_storage) == []
    assert stored_files(shared_storage) == []


async def test_checksum_mismatch_is_417_with_upstream_message_and_leaves_nothing(
    shaman_manager: RunningManager, shared_storage: Path
) -> None:
    data = content(5000)
    declared = sha256(b"something else")

    reply = await upload(shaman_manager.client, data, sha=declared, expect=417)

    assert reply.json()["message"] == (
        f"file SHA256 mismatched, declared {declared} but received {sha256(data)}"
    )
    assert uploading_files(shared_storage) == []
    assert stored_files(shared_storage) == []
    status = await shaman_manager.client.get(f"{FILES_URL}/{declared}/5000", expect=200)
    assert status.json() == {"status": "unknown"}


async def test_upper_case_checksum_is_the_same_file(
    shaman_manager: RunningManager, shared_storage: Path
) -> None:
    data = content(100)
    await upload(shaman_manager.client, data, sha=sha256(data).upper(), expect=204)
    assert stored_path(shared_storage, data).exists()


@pytest.mark.parametrize(
    "checksum",
    ["abc", "g" * 64, "a" * 65, "..%2F..%2F..%2Fetc%2Fpasswd" + "a" * 40, "%2E%2E" + "a" * 62],
)
async def test_checksum_that_cannot_name_a_file_is_400(
    shaman_manager: RunningManager, shared_storage: Path, checksum: str
) -> None:
    client = shaman_manager.client
    await client.get(f"{FILES_URL}/{checksum}/10", expect=(400, 404))
    reply = await client.post(
        f"{FILES_URL}/{checksum}/10",
        data=b"0123456789",
        headers={"Content-Type": "application/octet-stream"},
        expect=(400, 404),
    )
    if reply.status == 400:
        assert "checksum" in reply.json()["message"]
    assert uploading_files(shared_storage) == []
    assert stored_files(shared_storage) == []


async def test_negative_or_non_numeric_size_is_400(shaman_manager: RunningManager) -> None:
    client = shaman_manager.client
    sha = sha256(b"")
    reply = await client.get(f"{FILES_URL}/{sha}/-1", expect=400)
    assert "size" in reply.json()["message"]
    await client.get(f"{FILES_URL}/{sha}/ten", expect=400)


async def test_original_filename_is_decoded_from_rfc2047_for_the_log(
    shaman_manager: RunningManager, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="flamenco.shaman")
    name = "много ликова/ránið.blend"
    encoded = "=?utf-8?b?" + base64.b64encode(name.encode()).decode() + "?="
    data = content(10)

    await upload(
        shaman_manager.client, data, headers={"X-Shaman-Original-Filename": encoded}, expect=204
    )
    await upload(
        shaman_manager.client,
        content(11),
        headers={"X-Shaman-Original-Filename": "plain/ascii name.png"},
        expect=204,
    )

    logged = {
        getattr(record, "original_filename", None)
        for record in caplog.records
        if record.getMessage() == "shaman: receiving file"
    }
    assert logged == {name, "plain/ascii name.png"}


@pytest.mark.parametrize(
    "header", ["=?utf-8?b?!!not base64!!?=", "=?no-such-charset?q?abc?=", "=?utf-8?q?bad=ZZ?="]
)
async def test_undecodable_original_filename_is_400(
    shaman_manager: RunningManager, shared_storage: Path, header: str
) -> None:
    reply = await upload(
        shaman_manager.client,
        content(10),
        headers={"X-Shaman-Original-Filename": header},
        expect=400,
    )
    assert "X-Shaman-Original-Filename" in reply.json()["message"]
    assert stored_files(shared_storage) == []


async def test_can_defer_header_must_be_a_boolean(shaman_manager: RunningManager) -> None:
    reply = await upload(
        shaman_manager.client,
        content(10),
        headers={"X-Shaman-Can-Defer-Upload": "perhaps"},
        expect=400,
    )
    assert "X-Shaman-Can-Defer-Upload" in reply.json()["message"]


async def test_concurrent_identical_uploads_store_the_file_once(
    shaman_manager: RunningManager, shared_storage: Path
) -> None:
    client = shaman_manager.client
    data = content(3 * MIB, seed=3)
    first_gate, second_gate = asyncio.Event(), asyncio.Event()
    first = asyncio.create_task(
        post_stream(client, file_url(data), gated_body(data, MIB, first_gate))
    )
    await wait_for(lambda: len(uploading_files(shared_storage)) == 1)
    status = await client.get(file_url(data), expect=200)
    assert status.json() == {"status": "uploading"}

    # A client that may defer is told to come back later...
    deferred = await upload(
        client,
        b"not read",
        sha=sha256(data),
        size=len(data),
        headers={"X-Shaman-Can-Defer-Upload": "true"},
        expect=425,
    )
    assert deferred.json()["code"] == 425
    requirements = await client.post(
        REQUIREMENTS_URL, json_body={"files": [spec_of(data, "big.blend")]}, expect=200
    )
    assert requirements.json() == {"files": [{**spec_of(data, "big.blend"), "status": "uploading"}]}

    # ... one that may not uploads alongside.
    second = asyncio.create_task(
        post_stream(
            client,
            file_url(data),
            gated_body(data, MIB, second_gate),
            headers={"X-Shaman-Can-Defer-Upload": "false"},
        )
    )
    await wait_for(lambda: len(uploading_files(shared_storage)) == 2)

    first_gate.set()
    assert (await first).status == 204
    second_gate.set()
    assert (await second).status == 208

    assert stored_files(shared_storage) == [stored_path(shared_storage, data)]
    assert stored_path(shared_storage, data).read_bytes() == data
    assert uploading_files(shared_storage) == []
    assert shaman_of(shaman_manager).uploads.temp_paths() == frozenset()


async def test_identical_uploads_finishing_together_answer_204_and_208(
    shaman_manager: RunningManager, shared_storage: Path
) -> None:
    client = shaman_manager.client
    data = content(2 * MIB, seed=4)
    gate = asyncio.Event()
    uploads = [
        asyncio.create_task(post_stream(client, file_url(data), gated_body(data, MIB, gate)))
        for _ in range(3)
    ]
    await wait_for(lambda: len(uploading_files(shared_storage)) == 3)
    gate.set()

    statuses = sorted(reply.status for reply in await asyncio.gather(*uploads))

    assert statuses == [204, 208, 208]
    assert stored_path(shared_storage, data).read_bytes() == data
    assert uploading_files(shared_storage) == []


async def test_upload_cut_off_mid_body_leaves_no_file(
    shaman_manager: RunningManager, shared_storage: Path
) -> None:
    data = content(4 * MIB, seed=5)
    _reader, writer = await asyncio.open_connection(
        shaman_manager.server.host, shaman_manager.server.port
    )
    head = (
        f"POST {file_url(data)} HTTP/1.1\r\nHost: farm\r\n"
        f"Content-Type: application/octet-stream\r\nContent-Length: {len(data)}\r\n\r\n"
    ).encode()
    writer.write(head + data[: 2 * MIB])
    await writer.drain()
    await wait_for(lambda: len(uploading_files(shared_storage)) == 1)

    writer.close()
    await writer.wait_closed()

    await wait_for(lambda: uploading_files(shared_storage) == [])
    assert stored_files(shared_storage) == []
    await wait_for(lambda: not shaman_of(shaman_manager).uploads.temp_paths())
    status = await shaman_manager.client.get(file_url(data), expect=200)
    assert status.json() == {"status": "unknown"}
    # The next attempt goes through as if nothing happened.
    reply = await post_stream(shaman_manager.client, file_url(data), gated_body(data, MIB, _set()))
    assert reply.status == 204


def _set() -> asyncio.Event:
    event = asyncio.Event()
    event.set()
    return event


async def test_stale_upload_files_are_removed_at_start(
    start_shaman_manager: StartManager, shared_storage: Path
) -> None:
    stale = shared_storage / "file-store" / "uploading" / "ab" / ("c" * 62) / "10-123456789.tmp"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"half")
    old = time.time() - 10
    os.utime(stale, (old, old))

    await start_shaman_manager()

    await wait_for(lambda: not stale.exists())
    assert not stale.parent.exists()


async def test_disabled_shaman_answers_503_everywhere(manager: RunningManager) -> None:
    client = manager.client
    sha = sha256(b"x")
    replies = [
        await client.get(f"{FILES_URL}/{sha}/1"),
        await upload(client, b"x"),
        await client.post(REQUIREMENTS_URL, json_body={"files": []}),
        await client.post(
            "/api/v3/shaman/checkout/create", json_body={"files": [], "checkoutPath": "x"}
        ),
    ]
    for reply in replies:
        assert reply.status == 503
        assert reply.json()["message"].startswith("shaman server not active")
        assert "disabled" in reply.json()["message"]


async def test_first_run_answers_503_saying_why(tmp_path: Path) -> None:
    config_path = tmp_path / "flamenco-manager.yaml"
    config_path.write_text(
        "_meta:\n  version: 3\nlisten: 127.0.0.1:0\nshared_storage_path: ''\n"
        "shaman:\n  enabled: true\n",
        encoding="utf-8",
    )
    async with contextlib.asynccontextmanager(run_manager)(config.load_config(config_path)) as m:
        reply = await m.client.get(f"{FILES_URL}/{sha256(b'')}/0", expect=503)
    assert reply.json()["message"].startswith("shaman server not active")
    assert "first run" in reply.json()["message"]
