"""The add-on's Shaman upload flow: a scripted fake for the rare paths, and a real Manager."""

from __future__ import annotations

import asyncio
import email.header
import hashlib
import json
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from flamenco_addon import shaman
from flamenco_addon.manager_client import ManagerClient

from flamenco.manager import config
from support.manager import RunningManager, run_manager


@dataclass
class FakeShaman:
    """Just enough Shaman to script deferrals, mismatches and failures."""

    stored: dict[tuple[str, int], bytes] = field(default_factory=dict)
    # Files "another client" is uploading; they become stored after one 425.
    uploading_elsewhere: set[str] = field(default_factory=set)
    never_finishes: set[str] = field(default_factory=set)
    mismatch_once: set[str] = field(default_factory=set)
    always_fails: set[str] = field(default_factory=set)
    existing_checkouts: set[str] = field(default_factory=set)
    uploads: list[dict[str, Any]] = field(default_factory=list)
    requirement_rounds: int = 0
    checkouts: list[dict[str, Any]] = field(default_factory=list)

    def store(self, sha: str, size: int, body: bytes, can_defer: bool) -> tuple[int, str]:
        if (sha, size) in self.stored:
            return 208, ""
        if sha in self.always_fails:
            return 500, "disk on fire"
        if sha in self.uploading_elsewhere and can_defer:
            # The other client finishes while we wait.
            self.uploading_elsewhere.discard(sha)
            self.stored[(sha, size)] = b"by someone else"
            return 425, "defer"
        if sha in self.never_finishes and can_defer:
            return 425, "defer"
        if sha in self.mismatch_once:
            self.mismatch_once.discard(sha)
            return 417, "file SHA256 mismatched"
        if hashlib.sha256(body).hexdigest() != sha or len(body) != size:
            return 417, "file SHA256 mismatched"
        self.stored[(sha, size)] = body
        return 200, ""

    def status(self, sha: str, size: int) -> str:
        if (sha, size) in self.stored:
            return "stored"
        if sha in self.uploading_elsewhere or sha in self.never_finishes:
            return "uploading"
        return "unknown"


def make_handler(fake: FakeShaman) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def reply(self, status: int, body: Any = None) -> None:
            data = json.dumps(body).encode() if body is not None else b""
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            _, sha, size = self.path.rsplit("/", 2)
            self.reply(200, {"status": fake.status(sha, int(size))})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            if self.path.endswith("/checkout/requirements"):
                fake.requirement_rounds += 1
                files = json.loads(body)["files"]
                needed = [
                    dict(spec, status=fake.status(spec["sha"], spec["size"]))
                    for spec in files
                    if fake.status(spec["sha"], spec["size"]) != "stored"
                ]
                self.reply(200, {"files": needed})
            elif self.path.endswith("/checkout/create"):
                request = json.loads(body)
                fake.checkouts.append(request)
                path = request["checkoutPath"]
                if path in fake.existing_checkouts:
                    path += "-x7k2"
                self.reply(200, {"checkoutPath": path})
            else:
                self.store(body)

        def store(self, body: bytes) -> None:
            _, sha, size = self.path.rsplit("/", 2)
            can_defer = self.headers.get("X-Shaman-Can-Defer-Upload") == "true"
            fake.uploads.append(
                {
                    "sha": sha,
                    "can_defer": can_defer,
                    "filename": self.headers.get("X-Shaman-Original-Filename"),
                }
            )
            status, message = fake.store(sha, int(size), body, can_defer)
            self.reply(status, {"code": status, "message": message} if message else None)

    return Handler


@pytest.fixture
def fake_shaman() -> Iterator[tuple[FakeShaman, str]]:
    fake = FakeShaman()
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(fake))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield fake, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        thread.join()
        server.server_close()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def pack(tmp_path: Path, contents: dict[str, bytes]) -> list[shaman.PackedFile]:
    files = []
    for relpath, data in contents.items():
        source = tmp_path / "src" / relpath
        source.parent.mkdir(parents=True, exist_ok=True)
        source.write_bytes(data)
        files.append(shaman.PackedFile(source=source, relpath=relpath))
    return files


def uploader(url: str, files: list[shaman.PackedFile], **options: Any) -> shaman.ShamanUploader:
    return shaman.ShamanUploader(
        ManagerClient(url), files, "shot 1", pause_between_rounds=0, **options
    )


def test_only_missing_files_are_sent_and_the_checkout_lists_all(
    fake_shaman: tuple[FakeShaman, str], tmp_path: Path
) -> None:
    fake, url = fake_shaman
    files = pack(tmp_path, {"a.blend": b"blend", "tex/b.png": b"png", "tex/c.png": b"already"})
    fake.stored[(sha(b"already"), 7)] = b"already"
    assert uploader(url, files).run() == "shot 1"
    assert sorted(upload["filename"] for upload in fake.uploads) == ["a.blend", "tex/b.png"]
    checkout = fake.checkouts[0]
    assert checkout["checkoutPath"] == "shot 1"
    assert sorted(spec["path"] for spec in checkout["files"]) == [
        "a.blend",
        "tex/b.png",
        "tex/c.png",
    ]
    assert {spec["sha"] for spec in checkout["files"]} == {
        sha(b"blend"),
        sha(b"png"),
        sha(b"already"),
    }


def test_a_file_someone_else_is_uploading_is_deferred_then_skipped(
    fake_shaman: tuple[FakeShaman, str], tmp_path: Path
) -> None:
    fake, url = fake_shaman
    files = pack(tmp_path, {"a.blend": b"blend", "big.vdb": b"volume", "c.png": b"c"})
    fake.uploading_elsewhere.add(sha(b"volume"))
    result = uploader(url, files)
    result.run()
    deferred = [upload for upload in fake.uploads if upload["sha"] == sha(b"volume")]
    assert deferred == [{"sha": sha(b"volume"), "can_defer": True, "filename": "big.vdb"}]
    assert fake.requirement_rounds == 2  # the second round no longer needs it
    assert result.uploaded_files == 2


def test_a_deferred_file_is_uploaded_in_the_next_round_without_deferral(
    fake_shaman: tuple[FakeShaman, str], tmp_path: Path
) -> None:
    fake, url = fake_shaman
    files = pack(tmp_path, {"a.blend": b"blend", "stuck.exr": b"stuck"})
    fake.never_finishes.add(sha(b"stuck"))
    uploader(url, files).run()
    attempts = [upload["can_defer"] for upload in fake.uploads if upload["sha"] == sha(b"stuck")]
    assert attempts == [True, False]
    assert (sha(b"stuck"), 5) in fake.stored


def test_a_mismatch_is_retried(fake_shaman: tuple[FakeShaman, str], tmp_path: Path) -> None:
    fake, url = fake_shaman
    files = pack(tmp_path, {"a.blend": b"blend"})
    fake.mismatch_once.add(sha(b"blend"))
    uploader(url, files).run()
    assert len(fake.uploads) == 2 and (sha(b"blend"), 5) in fake.stored


def test_a_file_that_keeps_failing_fails_the_upload_with_its_name(
    fake_shaman: tuple[FakeShaman, str], tmp_path: Path
) -> None:
    fake, url = fake_shaman
    files = pack(tmp_path, {"a.blend": b"blend", "tex/bad.png": b"bad"})
    fake.always_fails.add(sha(b"bad"))
    with pytest.raises(shaman.ShamanError, match=r"tex/bad.png.*disk on fire"):
        uploader(url, files).run()
    assert fake.requirement_rounds == shaman.MAX_ATTEMPTS_PER_FILE
    assert not fake.checkouts


def test_the_manager_may_check_out_elsewhere(
    fake_shaman: tuple[FakeShaman, str], tmp_path: Path
) -> None:
    fake, url = fake_shaman
    fake.existing_checkouts.add("shot 1")
    assert uploader(url, pack(tmp_path, {"a.blend": b"x"})).run() == "shot 1-x7k2"


def test_abort_stops_before_the_checkout(
    fake_shaman: tuple[FakeShaman, str], tmp_path: Path
) -> None:
    fake, url = fake_shaman
    files = pack(tmp_path, {"a": b"1", "b": b"2", "c": b"3"})
    with pytest.raises(shaman.Aborted):
        uploader(url, files, should_abort=lambda: len(fake.uploads) >= 1).run()
    assert len(fake.uploads) == 1 and not fake.checkouts


@pytest.mark.parametrize("name", ["plain/ascii name.png", "textures/Шот ñ.png", "日本.blend"])
def test_original_filenames_are_rfc2047_encoded(name: str) -> None:
    encoded = shaman.encode_original_filename(name)
    encoded.encode("ascii")  # a valid HTTP header value
    assert "\n" not in encoded
    decoded = "".join(
        part.decode(charset or "ascii") if isinstance(part, bytes) else part
        for part, charset in email.header.decode_header(encoded)
    )
    assert decoded == name


def test_upload_order_puts_files_uploading_elsewhere_last() -> None:
    specs = [{"path": str(n), "status": "uploading" if n % 2 else "unknown"} for n in range(10)]
    ordered = shaman.upload_order(specs)
    assert [spec["status"] for spec in ordered] == ["unknown"] * 5 + ["uploading"] * 5


# -- against a real Manager --------------------------------------------------


@pytest.fixture
async def shaman_manager(manager_yaml: Path) -> AsyncIterator[RunningManager]:
    manager_yaml.write_text(
        manager_yaml.read_text(encoding="utf-8").replace(
            "shaman:\n  enabled: false", "shaman:\n  enabled: true"
        ),
        encoding="utf-8",
    )
    async for running in run_manager(config.load_config(manager_yaml)):
        yield running


async def require_shaman(manager: RunningManager) -> None:
    reply = await manager.client.request(
        "POST", "/api/v3/shaman/checkout/requirements", json_body={"files": []}, check_spec=False
    )
    if reply.status in {501, 503}:
        pytest.skip(f"Shaman is missing on the Manager: {reply.status} {reply.text}")


async def test_upload_to_a_real_manager(
    shaman_manager: RunningManager, shared_storage: Path, tmp_path: Path
) -> None:
    await require_shaman(shaman_manager)
    contents = {
        "shots/a.blend": b"BLENDER-v304" + b"\0" * 1000,
        "textures/Шот.png": b"\x89PNG" + bytes(range(256)) * 40,
        "textures/copy.png": b"\x89PNG" + bytes(range(256)) * 40,  # same content
    }
    files = pack(tmp_path, contents)
    client = ManagerClient(shaman_manager.base_url)

    first = shaman.ShamanUploader(client, files, "shot 1")
    checkout = await asyncio.to_thread(first.run)
    assert checkout == "shot 1"
    assert first.uploaded_files == 2  # identical contents are sent once
    for relpath, data in contents.items():
        assert (shared_storage / "jobs" / checkout / relpath).read_bytes() == data

    again = shaman.ShamanUploader(client, pack(tmp_path / "again", contents), "shot 1")
    second_checkout = await asyncio.to_thread(again.run)
    assert again.uploaded_files == 0  # everything was stored already
    assert second_checkout != checkout and second_checkout.startswith("shot 1")
    assert (shared_storage / "jobs" / second_checkout / "shots" / "a.blend").exists()
