"""Helpers for the web interface tests: API calls to set up and check, screenshots."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp

REPO = Path(__file__).resolve().parents[2]
STATIC = REPO / "static"
ARTIFACTS = REPO / "test-artifacts" / "webui"


class ApiClient:
    """Plain JSON calls to the Manager, for setting up and checking what the browser did."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str) -> None:
        self.session = session
        self.base_url = base_url

    async def call(self, method: str, path: str, body: Any = None) -> Any:
        async with self.session.request(method, self.base_url + path, json=body) as response:
            assert response.status < 400, await response.text()
            if response.status == 204:
                return None
            return await response.json()

    async def submit_echo_job(
        self, name: str, *, sleep_seconds: int = 1, repeats: int = 1, priority: int = 50
    ) -> dict[str, Any]:
        job: dict[str, Any] = await self.call(
            "POST",
            "/api/v3/jobs",
            {
                "name": name,
                "type": "echo-sleep-test",
                "priority": priority,
                "submitter_platform": "linux",
                "settings": {
                    "message": f"hello from {name}",
                    "sleep_duration_seconds": sleep_seconds,
                    "sleep_repeats": repeats,
                },
                "metadata": {"project": "web tests"},
            },
        )
        return job


async def screenshot(page: Any, name: str) -> None:
    """Keeps a picture of the page as a test artifact."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"))
