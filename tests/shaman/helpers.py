"""Shared pieces of the Shaman tests: a Manager with Shaman on, and uploads the add-on's way."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from flamenco.manager import config
from flamenco.manager.keys import SHAMAN
from flamenco.shaman import Shaman
from support.manager import RunningManager
from support.spec_client import Reply, SpecCheckedClient

StartManager = Callable[..., Awaitable[RunningManager]]

SHAMAN_YAML = """\
_meta:
  version: 3
manager_name: Shaman Test Farm
database: flamenco-manager.sqlite
listen: 127.0.0.1:0
autodiscoverable: false
local_manager_storage_path: ./storage
shared_storage_path: {shared}
shaman:
  enabled: true
  garbageCollect:
    period: {period}
    maxAge: {max_age}
  link_mode: {link_mode}
variables:
  blender:
    values:
      - platform: all
        value: blender
"""

FILES_URL = "/api/v3/shaman/files"
REQUIREMENTS_URL = "/api/v3/shaman/checkout/requirements"
CHECKOUT_URL = "/api/v3/shaman/checkout/create"


def write_config(
    directory: Path,
    shared: Path,
    *,
    link_mode: str = "auto",
    period: str = "24h0m0s",
    max_age: str = "744h0m0s",
) -> config.LoadedConfig:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "flamenco-manager.yaml"
    path.write_text(
        SHAMAN_YAML.format(shared=shared, link_mode=link_mode, period=period, max_age=max_age),
        encoding="utf-8",
    )
    return config.load_config(path)


def shaman_of(manager: RunningManager) -> Shaman:
    shaman = manager.app[SHAMAN]
    assert shaman is not None
    return shaman


def content(size: int, seed: int = 0) -> bytes:
    """Deterministic bytes that differ per seed."""
    block = hashlib.sha256(f"seed {seed}".encode()).digest() * 2048
    return (block * (size // len(block) + 1))[:size]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def spec_of(data: bytes, path: str) -> dict[str, Any]:
    return {"sha": sha256(data), "size": len(data), "path": path}


async def upload(
    client: SpecCheckedClient,
    data: bytes,
    *,
    sha: str | None = None,
    size: int | None = None,
    headers: dict[str, str] | None = None,
    expect: int | tuple[int, ...] | None = None,
) -> Reply:
    url = f"{FILES_URL}/{sha or sha256(data)}/{len(data) if size is None else size}"
    all_headers = {"Content-Type": "application/octet-stream", **(headers or {})}
    return await client.post(url, data=data, headers=all_headers, expect=expect)


def files_below(root: Path) -> list[Path]:
    """Every file and link below `root`, directories left out."""
    found = []
    for directory, _, names in os.walk(root):
        found.extend(Path(directory, name) for name in names)
    return sorted(found)


def stored_path(shared: Path, data: bytes) -> Path:
    sha = sha256(data)
    return shared / "file-store" / "stored" / sha[:2] / sha[2:] / f"{len(data)}.blob"


def make_old(path: Path, days: float = 100) -> None:
    """Set a file's times into the past, as if nobody used it for `days`."""
    when = time.time() - days * 86400
    os.utime(path, (when, when), follow_symlinks=False)


async def post_stream(
    client: SpecCheckedClient,
    path: str,
    body: AsyncIterator[bytes],
    *,
    headers: dict[str, str] | None = None,
) -> Reply:
    """POST a streamed (chunked) body; the answer is checked against the spec as usual."""
    all_headers = {"Content-Type": "application/octet-stream", **(headers or {})}
    async with client.session.post(
        client.base_url + path, data=body, headers=all_headers
    ) as response:
        reply = Reply(response.status, dict(response.headers), await response.read())
    client.check("POST", path, None, all_headers, reply)
    return reply


def file_url(data: bytes) -> str:
    return f"{FILES_URL}/{sha256(data)}/{len(data)}"
