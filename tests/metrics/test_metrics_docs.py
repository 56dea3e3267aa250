"""docs/metrics.md and the Grafana dashboard name only metrics that the Manager serves."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from support.jobs import submit_echo_sleep
from support.manager import RunningManager
from support.metrics import dashboard_expressions, scrape
from support.worker_session import WorkerSession

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "metrics.md"
SERIES_SUFFIXES = ("_bucket", "_count", "_sum")


def documented() -> dict[str, str]:
    """Metric name -> type, from the tables of docs/metrics.md."""
    rows = re.findall(r"^\| `(flamenco_\w+)` \| (\w+) \|", DOCS.read_text(encoding="utf-8"), re.M)
    return dict(rows)


def family(series: str) -> str:
    for suffix in SERIES_SUFFIXES:
        if series.endswith(suffix):
            return series.removesuffix(suffix)
    return series


def test_dashboard_uses_documented_metrics() -> None:
    names = documented()
    used = {
        family(name)
        for expression in dashboard_expressions()
        for name in re.findall(r"flamenco_\w+", expression)
    }
    assert used, "the dashboard queries no metric"
    assert used <= set(names), used - set(names)
    # Every metric of ours is on the dashboard somewhere.
    assert set(names) <= used, set(names) - used


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
async def test_documented_metrics_are_what_the_manager_serves(manager: RunningManager) -> None:
    client = manager.client
    worker = WorkerSession(client)
    await worker.start()
    await submit_echo_sleep(client, repeats=1)
    await worker.complete(await worker.next_task())
    metrics = await scrape(client)
    served = {
        (name + "_total" if kind == "counter" else name): kind
        for name, kind in metrics.types.items()
    }
    assert served == documented()
