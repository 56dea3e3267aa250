"""Garbage collection on a real directory tree, including races with checkouts."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from flamenco.shaman import gc
from flamenco.shaman.filestore import FileKey, FileStore

OLD = time.time() - 100 * 86400
MAX_AGE = 31 * 86400.0


def stored(store: FileStore, name: str, *, old: bool = True) -> Path:
    key = FileKey(name * 64, len(name))
    path = store.stored_path(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(name.encode())
    if old:
        os.utime(path, (OLD, OLD))
    return path


@pytest.fixture
def store(tmp_path: Path) -> FileStore:
    store = FileStore(tmp_path / "file-store")
    store.create_directories_blocking()
    (tmp_path / "jobs").mkdir()
    return store


def collect(store: FileStore, *, dry_run: bool = False) -> gc.GarbageReport:
    return gc.collect_garbage_blocking(
        store, store.root.parent / "jobs", max_age_seconds=MAX_AGE, now=time.time(), dry_run=dry_run
    )


def test_links_of_every_spelling_keep_files(store: FileStore, tmp_path: Path) -> None:
    relative = stored(store, "a")
    absolute = stored(store, "b")
    hard = stored(store, "c")
    unused = stored(store, "d")
    recent = stored(store, "e", old=False)
    job = tmp_path / "jobs" / "job"
    job.mkdir()
    (job / "relative").symlink_to(os.path.relpath(relative, job))
    # A roundabout absolute spelling still points at the same file.
    (job / "absolute").symlink_to(
        str(tmp_path / "jobs" / ".." / "file-store" / absolute.relative_to(store.root))
    )
    os.link(hard, job / "hard")
    (job / "dangling").symlink_to("../nowhere")

    report = collect(store)

    assert report.deleted == [unused]
    assert (report.old_files, report.still_used_old_files, report.unused_old_files) == (4, 3, 1)
    assert report.symlinks_checked == 3
    assert all(path.exists() for path in (relative, absolute, hard, recent))


def test_dry_run_deletes_nothing(store: FileStore) -> None:
    unused = stored(store, "a")
    report = collect(store, dry_run=True)
    assert report.deleted == [unused] and report.files_deleted == 1
    assert unused.exists()


def test_file_touched_during_the_run_is_kept(store: FileStore) -> None:
    racing = stored(store, "a")
    other = stored(store, "b")

    class CheckoutDuringRun(FileStore):
        def remove_unused_blocking(
            self, path: Path, seen_mtime_ns: int, *, dry_run: bool
        ) -> int | None:
            if path == racing:
                # A checkout starts using the file between the scan and its deletion.
                self.touch_stored_blocking([FileKey("a" * 64, 1)])
            return super().remove_unused_blocking(path, seen_mtime_ns, dry_run=dry_run)

    report = collect(CheckoutDuringRun(store.root))

    assert racing.exists()
    assert report.deleted == [other]


def test_stop_interrupts_a_run(store: FileStore) -> None:
    stored(store, "a")
    stop = threading.Event()
    stop.set()
    with pytest.raises(gc.Stopped):
        gc.collect_garbage_blocking(
            store,
            store.root.parent / "jobs",
            max_age_seconds=MAX_AGE,
            now=time.time(),
            dry_run=False,
            stop=stop,
        )


def test_abandoned_uploads_go_but_in_flight_ones_stay(store: FileStore) -> None:
    directory = store.uploading_root / "ab" / ("c" * 62)
    directory.mkdir(parents=True)
    abandoned, in_flight, fresh = (directory / f"1-00000000{n}.tmp" for n in range(3))
    for path in (abandoned, in_flight, fresh):
        path.write_bytes(b"x")
    for path in (abandoned, in_flight):
        os.utime(path, (OLD, OLD))

    report = gc.collect_garbage_blocking(
        store,
        store.root.parent / "jobs",
        max_age_seconds=MAX_AGE,
        now=time.time(),
        dry_run=False,
        in_flight=frozenset({in_flight}),
    )

    assert report.temp_files_deleted == 1
    assert not abandoned.exists()
    assert in_flight.exists() and fresh.exists()
