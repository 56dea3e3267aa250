"""The file store on disk: layout, permissions, moving uploads in, touching, removing."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from flamenco.shaman.filestore import FileKey, FileStore
from flamenco.shaman.hasher import HashingFile

KEY = FileKey("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", 4)


def write_upload(store: FileStore, data: bytes) -> Path:
    fd, path = store.open_temp_blocking(KEY)
    target = HashingFile(fd, path)
    target.write_blocking([data[:2], data[2:]])
    assert target.finish_blocking() == KEY.sha
    return path


def test_uploads_and_stored_files_use_upstream_layout(tmp_path: Path) -> None:
    store = FileStore(tmp_path / "file-store")
    store.create_directories_blocking()
    temp = write_upload(store, b"test")

    assert temp.parent == tmp_path / "file-store" / "uploading" / "9f" / KEY.sha[2:]
    assert temp.name.startswith("4-") and temp.name.endswith(".tmp")
    assert store.adopt_blocking(temp, KEY) is True

    stored = tmp_path / "file-store" / "stored" / "9f" / KEY.sha[2:] / "4.blob"
    assert stored.read_bytes() == b"test"
    assert not temp.exists()
    assert not temp.parent.exists()  # Empty checksum directories are cleaned up.
    assert store.is_stored_blocking(KEY)


def test_second_identical_upload_does_not_replace_the_stored_file(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    assert store.adopt_blocking(write_upload(store, b"test"), KEY) is True
    inode = store.stored_path(KEY).stat().st_ino
    second = write_upload(store, b"test")

    assert store.adopt_blocking(second, KEY) is False

    assert store.stored_path(KEY).stat().st_ino == inode


@pytest.mark.skipif(sys.platform == "win32", reason="umask is POSIX")
def test_new_files_follow_the_umask_not_0600(tmp_path: Path) -> None:
    # Workers often run as another user: stored files must be readable by them.
    old_umask = os.umask(0o022)
    try:
        store = FileStore(tmp_path)
        store.adopt_blocking(write_upload(store, b"test"), KEY)
    finally:
        os.umask(old_umask)
    assert store.stored_path(KEY).stat().st_mode & 0o777 == 0o644


def test_touch_reports_missing_files_and_touches_the_rest(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    store.adopt_blocking(write_upload(store, b"test"), KEY)
    os.utime(store.stored_path(KEY), (1000, 1000))
    missing_key = FileKey("b" * 64, 10)

    missing = store.touch_stored_blocking([KEY, missing_key])

    assert missing == {missing_key}
    assert store.stored_path(KEY).stat().st_mtime > time.time() - 60


def test_remove_unused_keeps_files_touched_since_they_were_seen(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    store.adopt_blocking(write_upload(store, b"test"), KEY)
    path = store.stored_path(KEY)
    os.utime(path, (1000, 1000))
    seen = path.stat().st_mtime_ns
    store.touch_stored_blocking([KEY])

    assert store.remove_unused_blocking(path, seen, dry_run=False) is None
    assert path.exists()

    assert store.remove_unused_blocking(path, path.stat().st_mtime_ns, dry_run=True) == 4
    assert path.exists()
    assert store.remove_unused_blocking(path, path.stat().st_mtime_ns, dry_run=False) == 4
    assert not path.exists()
    assert not path.parent.exists()
    assert store.stored_root.exists()
