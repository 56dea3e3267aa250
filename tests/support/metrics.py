"""Reading a Manager's GET /metrics in tests, with prometheus-client's own parser."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from support.spec_client import SpecCheckedClient

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "flamenco-dashboard.json"


@dataclass(frozen=True)
class Scrape:
    """One answer of GET /metrics: its families by name (as the parser names them)."""

    text: str
    types: dict[str, str]
    samples: list[Sample]

    def value(self, name: str, **labels: str) -> float:
        """The value of the one sample with this name and these labels (exactly)."""
        found = [s.value for s in self.samples if s.name == name and s.labels == labels]
        assert len(found) == 1, f"{len(found)} samples {name}{labels} in:\n{self.text}"
        return found[0]

    def total(self, name: str, **labels: str) -> float:
        """The sum over the samples with this name that have at least these labels."""
        return sum(
            s.value
            for s in self.samples
            if s.name == name and all(s.labels.get(key) == value for key, value in labels.items())
        )


def parse_scrape(text: str) -> Scrape:
    families = list(text_string_to_metric_families(text))
    return Scrape(
        text=text,
        types={family.name: family.type for family in families},
        samples=[sample for family in families for sample in family.samples],
    )


async def scrape(client: SpecCheckedClient) -> Scrape:
    reply = await client.get("/metrics", expect=200)
    assert reply.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return parse_scrape(reply.text)


def dashboard_expressions() -> list[str]:
    """The PromQL of every panel of the Grafana dashboard in deploy/."""
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    panels: list[dict[str, Any]] = dashboard["panels"]
    return [target["expr"] for panel in panels for target in panel.get("targets", [])]
