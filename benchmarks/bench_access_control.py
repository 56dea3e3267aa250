"""Benchmark of what access control costs per API request, against the same Manager without it.

Run with `python benchmarks/bench_access_control.py` (about half a minute; add
`--database postgresql://...` for PostgreSQL). One Manager per variant runs in
this process on SQLite in a temporary folder; a client sends GET
/api/v3/status (a cheap operation, so that the check's cost shows) from 20
concurrent tasks. Printed: requests per second of each variant, in rounds that
alternate the variants, and each variant's figure as a ratio of the run
without access control from the same round. An API token costs one indexed
database read per request; target: at least 0.5x the figure without.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
from aiohttp.test_utils import TestServer

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from flamenco.manager import config, keys
from flamenco.manager.access.roles import Role
from flamenco.manager.access.service import TokenKind
from flamenco.manager.app import create_app

REQUESTS = 2_000
CONCURRENCY = 20
ROUNDS = 3


async def _rate(url: str, headers: dict[str, str]) -> float:
    async with aiohttp.ClientSession(headers=headers) as session:
        remaining = REQUESTS

        async def client() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                async with session.get(url + "/api/v3/status") as response:
                    assert response.status == 200, response.status
                    await response.read()

        started = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(CONCURRENCY)))
        return REQUESTS / (time.perf_counter() - started)


async def _manager(folder: Path, database: str, *, access_control: bool) -> TestServer:
    folder.mkdir()
    (folder / "flamenco-manager.yaml").write_text(
        f"_meta: {{version: 3}}\nshared_storage_path: {folder}\ndatabase: {database}\n"
        f"access_control: {str(access_control).lower()}\nautodiscoverable: false\n",
        encoding="utf-8",
    )
    app = await create_app(config.load_config(folder / "flamenco-manager.yaml"))
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    return server


async def main(database: str) -> None:
    with tempfile.TemporaryDirectory() as temporary:
        open_server = await _manager(Path(temporary) / "open", database, access_control=False)
        guarded = await _manager(Path(temporary) / "guarded", database, access_control=True)
        created = await guarded.app[keys.ACCESS].create_token(
            kind=TokenKind.API, principal="bench", role=Role.VIEWER
        )
        variants = {
            "access control off": (open_server, {}),
            "on, API token": (guarded, {"Authorization": f"Bearer {created.token}"}),
        }
        ratios: dict[str, list[float]] = {name: [] for name in variants}
        try:
            for round_number in range(1, ROUNDS + 1):
                rates = {
                    name: await _rate(str(server.make_url("")).rstrip("/"), headers)
                    for name, (server, headers) in variants.items()
                }
                baseline = rates["access control off"]
                for name, rate in rates.items():
                    ratios[name].append(rate / baseline)
                    print(f"round {round_number}: {name}: {rate:,.0f} requests/s "
                          f"({rate / baseline:.2f}x)")  # fmt: skip
        finally:
            await open_server.close()
            await guarded.close()
        for name, values in ratios.items():
            print(f"{name}: median {statistics.median(values):.2f}x of access control off")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database", default="flamenco-manager.sqlite")
    asyncio.run(main(parser.parse_args().database))
