"""Benchmark of Shaman in a real Manager process: a 1 GiB upload, memory, a 10,000-file checkout.

Run with `python benchmarks/bench_shaman.py` (about half a minute, 2 GiB of
free disk space). It writes a 1 GiB file of random bytes, times `sha256sum` on
it as this machine's baseline, starts a Manager with Shaman in its own process,
and prints each figure with its target:

- uploading the file over loopback: at least half the throughput of `sha256sum`
  on the same file, measured in the same run;
- Manager memory growth during that upload: under 50 MB;
- a checkout of 10,000 files: under 2 s.

The upload is sent with sendfile() from a thread, so the client costs next to
no CPU and the figure is the Manager's. The 10,000 stored files for the
checkout are written straight into the store's layout, which is what uploading
them would leave behind.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from loadgen import free_port, manager_yaml

MIB = 1 << 20
CHECKOUT_FILES = 10_000


def wait_until_up(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url + "/api/v3/version", timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def rss_megabytes(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def write_random_file(path: Path, size: int) -> str:
    digest = hashlib.sha256()
    with path.open("wb") as output:
        for _ in range(size // (16 * MIB)):
            block = os.urandom(16 * MIB)
            digest.update(block)
            output.write(block)
    return digest.hexdigest()


def time_sha256sum(path: Path) -> float:
    if shutil.which("sha256sum") is None:
        raise SystemExit("sha256sum is needed as the baseline (GNU coreutils)")
    subprocess.run(["sha256sum", str(path)], check=True, capture_output=True)  # Warm the cache.
    started = time.perf_counter()
    subprocess.run(["sha256sum", str(path)], check=True, capture_output=True)
    return time.perf_counter() - started


def upload_with_sendfile(port: int, path: Path, sha: str, size: int) -> tuple[int, float]:
    """POST the file as the add-on would, but with zero-copy sending; returns status, seconds."""
    with socket.create_connection(("127.0.0.1", port)) as connection, path.open("rb") as body:
        head = (
            f"POST /api/v3/shaman/files/{sha}/{size} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Content-Type: application/octet-stream\r\nContent-Length: {size}\r\n"
            f"X-Shaman-Original-Filename: benchmark.bin\r\nConnection: close\r\n\r\n"
        ).encode()
        started = time.perf_counter()
        connection.sendall(head)
        connection.sendfile(body)
        answer = b""
        while b"\r\n" not in answer:
            chunk = connection.recv(4096)
            if not chunk:
                break
            answer += chunk
        seconds = time.perf_counter() - started
    return int(answer.split()[1]), seconds


def time_plain_symlinks(directory: Path, count: int) -> float:
    """This file system's own speed: making `count` links as a checkout would, in a bare loop."""
    target = os.path.join(*[os.pardir] * 4, "file-store", "stored", "ab", "c" * 62, "12.blob")
    for folder in range(count // 100 + 1):
        (directory / f"{folder:03d}").mkdir(parents=True)
    started = time.perf_counter()
    for number in range(count):
        os.symlink(target, directory / f"{number // 100:03d}" / f"{number:05d}.png")
    seconds = time.perf_counter() - started
    shutil.rmtree(directory)
    return seconds


def post_json(url: str, body: Any) -> tuple[int, Any]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        return response.status, json.loads(response.read())


def store_files_directly(shared: Path, count: int) -> list[dict[str, Any]]:
    """Put `count` small files in the store's layout; returns their checkout file specs."""
    specs = []
    for number in range(count):
        data = f"file number {number}\n".encode()
        sha = hashlib.sha256(data).hexdigest()
        blob = shared / "file-store" / "stored" / sha[:2] / sha[2:] / f"{len(data)}.blob"
        blob.parent.mkdir(parents=True, exist_ok=True)
        blob.write_bytes(data)
        # Spread over directories as a real project is: 100 folders of 100 files.
        path = f"assets/folder-{number // 100:03d}/texture-{number:05d}.png"
        specs.append({"sha": sha, "size": len(data), "path": path})
    return specs


def run(size: int) -> bool:
    with tempfile.TemporaryDirectory(prefix="bench-shaman-") as temp:
        root = Path(temp)
        shared = root / "shared"
        shared.mkdir()
        source = root / "upload.bin"
        print(f"writing a {size // MIB} MiB file of random bytes ...", flush=True)
        sha = write_random_file(source, size)

        sha256sum_seconds = time_sha256sum(source)
        sha256sum_rate = size / sha256sum_seconds / MIB
        print(f"  sha256sum: {sha256sum_seconds:.2f} s, {sha256sum_rate:,.0f} MiB/s")

        port = free_port()
        (root / "flamenco-manager.yaml").write_text(
            manager_yaml(port, shared, shaman=True), encoding="utf-8"
        )
        manager = subprocess.Popen(
            [sys.executable, "-m", "flamenco.manager", "--quiet"],
            cwd=root,
            stdin=subprocess.DEVNULL,
        )
        try:
            base_url = f"http://127.0.0.1:{port}"
            wait_until_up(base_url)
            return measure(manager.pid, port, base_url, shared, source, sha, size, sha256sum_rate)
        finally:
            manager.terminate()
            manager.wait(timeout=30)


def measure(
    pid: int,
    port: int,
    base_url: str,
    shared: Path,
    source: Path,
    sha: str,
    size: int,
    sha256sum_rate: float,
) -> bool:
    print(f"uploading {size // MIB} MiB to Shaman over loopback ...", flush=True)
    rss_before = rss_megabytes(pid)
    peak = rss_before
    result: list[tuple[int, float]] = []
    uploader = threading.Thread(
        target=lambda: result.append(upload_with_sendfile(port, source, sha, size))
    )
    uploader.start()
    while uploader.is_alive():
        peak = max(peak, rss_megabytes(pid))
        uploader.join(0.02)
    status, seconds = result[0]
    if status != 204:
        raise SystemExit(f"upload answered {status}, not 204")
    rate = size / seconds / MIB
    growth = peak - rss_before
    upload_ok = rate >= sha256sum_rate / 2
    memory_ok = growth < 50
    print(
        f"  upload: {seconds:.2f} s, {rate:,.0f} MiB/s = {rate / sha256sum_rate:.2f} x sha256sum "
        f"(target >= 0.50 x) {'ok' if upload_ok else 'MISSED'}"
    )
    print(
        f"  Manager memory: {rss_before:.0f} MB before, {peak:.0f} MB peak, "
        f"growth {growth:.1f} MB (target < 50 MB) {'ok' if memory_ok else 'MISSED'}"
    )

    print(f"storing {CHECKOUT_FILES:,} small files ...", flush=True)
    specs = store_files_directly(shared, CHECKOUT_FILES)
    # Let the kernel write back the gigabyte and the small files first: this is
    # about the checkout, not about the disk catching up with the previous steps.
    os.sync()
    started = time.perf_counter()
    status, body = post_json(f"{base_url}/api/v3/shaman/checkout/requirements", {"files": specs})
    requirements_seconds = time.perf_counter() - started
    if status != 200 or body["files"]:
        raise SystemExit(f"requirements answered {status} with {len(body['files'])} missing files")
    print(f"  requirements check of {CHECKOUT_FILES:,} stored files: {requirements_seconds:.2f} s")

    started = time.perf_counter()
    status, body = post_json(
        f"{base_url}/api/v3/shaman/checkout/create",
        {"checkoutPath": "benchmark/job", "files": specs},
    )
    checkout_seconds = time.perf_counter() - started
    # The same request with a checkout path Shaman refuses at once: what reading
    # and validating the 1.5 MB request costs before Shaman starts.
    started = time.perf_counter()
    try:
        post_json(
            f"{base_url}/api/v3/shaman/checkout/create", {"checkoutPath": "/", "files": specs}
        )
    except urllib.error.HTTPError as refused:
        if refused.code != 400:
            raise
    request_seconds = time.perf_counter() - started
    symlink_seconds = time_plain_symlinks(shared / "symlink-baseline", CHECKOUT_FILES)
    if status != 200:
        raise SystemExit(f"checkout answered {status}")
    links = sum(len(files) for _, _, files in os.walk(shared / "jobs" / body["checkoutPath"]))
    if links != CHECKOUT_FILES:
        raise SystemExit(f"checkout has {links} files, not {CHECKOUT_FILES}")
    checkout_ok = checkout_seconds < 2.0
    print(
        f"  checkout of {CHECKOUT_FILES:,} files: {checkout_seconds:.2f} s "
        f"(target < 2 s) {'ok' if checkout_ok else 'MISSED'}"
    )
    print(f"    of which reading and validating the request: {request_seconds:.2f} s")
    print(
        f"    for comparison, {CHECKOUT_FILES:,} os.symlink() calls in a plain loop "
        f"on this file system: {symlink_seconds:.2f} s"
    )
    return upload_ok and memory_ok and checkout_ok


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--size-mib", type=int, default=1024, help="size of the uploaded file (default 1024)"
    )
    args = parser.parse_args()
    all_met = run(args.size_mib * MIB)
    print("all targets met" if all_met else "some targets MISSED")
    sys.exit(0 if all_met else 1)


if __name__ == "__main__":
    main()
