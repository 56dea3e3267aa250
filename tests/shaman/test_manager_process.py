"""Shaman in a Manager process as started from the command line: cut-off uploads and crashes."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from shaman.helpers import SHAMAN_YAML, content, file_url, files_below
from support.manager_process import ManagerProcess

MIB = 1 << 20

pytestmark = pytest.mark.slow


def shaman_manager_process(tmp_path: Path, shared: Path) -> ManagerProcess:
    process = ManagerProcess(tmp_path / "manager", shared)
    process.config_path.write_text(
        SHAMAN_YAML.format(
            shared=shared, link_mode="auto", period="24h0m0s", max_age="744h0m0s"
        ).replace("listen: 127.0.0.1:0", f"listen: 127.0.0.1:{process.port}"),
        encoding="utf-8",
    )
    return process


def uploading(shared: Path) -> list[Path]:
    return files_below(shared / "file-store" / "uploading")


async def wait_for(condition: object, timeout: float = 15.0) -> None:
    assert callable(condition)
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)


async def start_upload(process: ManagerProcess, data: bytes, sent: int) -> asyncio.StreamWriter:
    """Send the request head and the first `sent` bytes of the body, and keep the socket."""
    _, writer = await asyncio.open_connection("127.0.0.1", process.port)
    head = (
        f"POST {file_url(data)} HTTP/1.1\r\nHost: farm\r\n"
        f"Content-Type: application/octet-stream\r\nContent-Length: {len(data)}\r\n\r\n"
    ).encode()
    writer.write(head + data[:sent])
    await writer.drain()
    return writer


async def test_client_disconnect_mid_upload_leaves_nothing(
    tmp_path: Path, shared_storage: Path
) -> None:
    process = shaman_manager_process(tmp_path, shared_storage)
    await process.start()
    try:
        data = content(8 * MIB, seed=21)
        writer = await start_upload(process, data, 3 * MIB)
        await wait_for(lambda: len(uploading(shared_storage)) == 1)

        writer.close()
        await writer.wait_closed()

        await wait_for(lambda: uploading(shared_storage) == [])
        assert files_below(shared_storage / "file-store" / "stored") == []
        await wait_for(lambda: "shaman: upload interrupted" in process.log())
    finally:
        assert await process.stop() == 0


async def test_upload_of_a_killed_manager_is_cleaned_at_restart(
    tmp_path: Path, shared_storage: Path
) -> None:
    process = shaman_manager_process(tmp_path, shared_storage)
    await process.start()
    data = content(8 * MIB, seed=22)
    writer = await start_upload(process, data, 3 * MIB)
    await wait_for(lambda: len(uploading(shared_storage)) == 1)

    await process.kill()
    writer.close()
    assert len(uploading(shared_storage)) == 1  # What a crash leaves behind...

    await process.start()
    try:
        await wait_for(lambda: uploading(shared_storage) == [])  # ...goes at the next start.
        assert files_below(shared_storage / "file-store" / "stored") == []
    finally:
        assert await process.stop() == 0
