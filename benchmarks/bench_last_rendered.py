"""Benchmark of the Manager's memory while it makes last-rendered thumbnails of large images.

Run with `python benchmarks/bench_last_rendered.py` (about half a minute; Linux
only, as it reads /proc). It starts a real Manager in its own process, and as a
Worker uploads images of growing size as the output of a task: PNGs of one
colour written without ever holding their pixels (13,000 x 13,000 pixels is
500 KB), and JPEGs. For each it prints the answer and the Manager process's
resident memory before, at its peak (the kernel's high-water mark, reset before
each upload) and a second after the thumbnails were made; and the peak of any
child process of the Manager meanwhile (sampled every 10 ms).

Target: no image grows the Manager by more than 100 MB, at its peak or after.
"""

from __future__ import annotations

import asyncio
import io
import sys
import time
from pathlib import Path

import aiohttp
from PIL import Image

from loadgen import manager_process, register, render_job, schedule

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from support.images import huge_png


def jpeg(width: int, height: int, colour: tuple[int, int, int], **options: object) -> bytes:
    output = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(output, "JPEG", quality=85, **options)
    return output.getvalue()


def status_kilobytes(pid: int, field: str) -> int:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in text.splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def children(pid: int) -> list[int]:
    try:
        tasks = Path(f"/proc/{pid}/task").iterdir()
        return [int(child) for task in tasks for child in (task / "children").read_text().split()]
    except OSError:
        return []


async def measure(
    session: aiohttp.ClientSession,
    base_url: str,
    pid: int,
    auth: str,
    task_id: str,
    job_id: str,
    image: bytes,
    content_type: str,
) -> str:
    tiny_url = None
    async with session.get(f"{base_url}/api/v3/jobs/{job_id}/last-rendered") as response:
        if response.status == 200:
            info = await response.json()
            tiny_url = f"{base_url}{info['base']}/last-rendered-tiny.jpg"
    previous = b""
    if tiny_url:
        async with session.get(tiny_url) as response:
            previous = await response.read()

    Path(f"/proc/{pid}/clear_refs").write_text("5")  # Resets the high-water mark.
    before = status_kilobytes(pid, "VmRSS")
    async with session.post(
        f"{base_url}/api/v3/worker/task/{task_id}/output-produced",
        data=image,
        headers={"Authorization": auth, "Content-Type": content_type},
    ) as response:
        status = response.status
        answer = (await response.text())[:90]
    child_peak = 0
    started = time.monotonic()
    if status == 202:
        while time.monotonic() - started < 120:
            for child in children(pid):
                child_peak = max(child_peak, status_kilobytes(child, "VmHWM"))
            info_url = f"{base_url}/api/v3/jobs/{job_id}/last-rendered"
            async with session.get(info_url) as response:
                if response.status == 200:
                    info = await response.json()
                    tiny_url = f"{base_url}{info['base']}/last-rendered-tiny.jpg"
                    async with session.get(tiny_url) as tiny:
                        if (await tiny.read()) != previous:
                            break
            await asyncio.sleep(0.01)
    took = time.monotonic() - started
    await asyncio.sleep(1)
    peak = status_kilobytes(pid, "VmHWM")
    after = status_kilobytes(pid, "VmRSS")
    return (
        f"{status} in {took:5.2f} s | Manager RSS {before / 1024:6.1f} MB, "
        f"peak +{(peak - before) / 1024:6.1f} MB, after +{(after - before) / 1024:6.1f} MB"
        f" | child peak {child_peak / 1024:6.1f} MB" + (f" | {answer}" if status >= 400 else "")
    )


async def main() -> None:
    images = [
        ("PNG 3840 x 2160", huge_png(3840, 2160, (200, 40, 90)), "image/png"),
        ("JPEG 3840 x 2160", jpeg(3840, 2160, (40, 200, 90)), "image/jpeg"),
        ("JPEG 7680 x 4320", jpeg(7680, 4320, (90, 40, 200)), "image/jpeg"),
        (
            "JPEG 7680 x 4320 progressive",
            jpeg(7680, 4320, (30, 30, 200), progressive=True),
            "image/jpeg",
        ),
        ("PNG 8192 x 8192", huge_png(8192, 8192, (10, 250, 10)), "image/png"),
        ("PNG 13000 x 13000", huge_png(13000, 13000, (250, 10, 10)), "image/png"),
        ("PNG 13000 x 13000 again", huge_png(13000, 13000, (10, 10, 250)), "image/png"),
    ]
    async with manager_process() as manager, aiohttp.ClientSession() as session:
        auth = await register(session, manager.base_url, "bench-worker")
        async with session.post(manager.base_url + "/api/v3/jobs", json=render_job("lr", 1)) as r:
            job_id = (await r.json())["id"]
        _, task = await schedule(session, manager.base_url, auth)
        for name, image, content_type in images:
            line = await measure(
                session,
                manager.base_url,
                manager.pid,
                auth,
                task["uuid"],
                job_id,
                image,
                content_type,
            )
            print(f"{name:30} {len(image) / 1024:7.0f} KB: {line}", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
