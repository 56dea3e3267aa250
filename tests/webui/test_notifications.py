"""The Notifications page shows each delivery's status, attempts and last error, and retries one."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from support.manager_process import ManagerProcess
from support.notifications import run_whole_job
from support.spec_client import SpecCheckedClient
from support.webhook_receiver import WebhookReceiver, running_receiver
from webui.helpers import screenshot


@pytest.fixture
def database() -> str:
    """The page shows what the API says, and the API is tested on both databases."""
    return "sqlite"


pytestmark = pytest.mark.slow
expect = pytest.importorskip("playwright.async_api", reason="pip install playwright").expect


class _Running:
    """Enough of support.manager.RunningManager for run_whole_job: a spec-checked client."""

    def __init__(self, client: SpecCheckedClient) -> None:
        self.client = client


@pytest.fixture
async def receivers() -> AsyncIterator[tuple[WebhookReceiver, WebhookReceiver]]:
    async with (
        running_receiver() as accepting,
        running_receiver(WebhookReceiver(failures=1000)) as refusing,
    ):
        yield accepting, refusing


async def test_deliveries_show_and_a_failed_one_is_retried(
    tmp_path: Path, browser: Any, receivers: tuple[WebhookReceiver, WebhookReceiver]
) -> None:
    accepting, refusing = receivers
    settings = {
        "webhooks": [
            {"name": "pipeline", "url": accepting.url},
            {"name": "chat", "url": refusing.url, "format": "slack", "events": ["job-completed"]},
        ],
        "retry_delay": "50ms",
        "max_attempts": 2,
        "poll_interval": "100ms",
    }
    manager = ManagerProcess(
        tmp_path / "manager", tmp_path / "shared", notifications=json.dumps(settings)
    )
    await manager.start()
    try:
        async with aiohttp.ClientSession() as session:
            client = SpecCheckedClient(session, manager.base_url)
            await run_whole_job(_Running(client), name="Shot 010")  # type: ignore[arg-type]

        page = browser.pages[0] if browser.pages else await browser.new_page()
        await page.goto(manager.base_url + "/app/jobs")
        await page.get_by_role("link", name="Notifications").click()
        view = page.get_by_test_id("notifications-view")
        await expect(view.locator("[data-destination=chat]")).to_contain_text("job-completed")
        delivered = view.locator("tr[data-status=delivered]")
        failed = view.locator("tr[data-status=failed]")
        await expect(delivered).to_have_count(1, timeout=15_000)
        await expect(failed).to_have_count(1, timeout=15_000)
        await expect(delivered).to_contain_text('Job "Shot 010" completed')
        await expect(delivered).to_contain_text("pipeline")
        await expect(failed.locator(".delivery-attempts")).to_have_text("2")
        await expect(failed.locator(".delivery-error")).to_have_text(
            "HTTP 503: receiver is down for maintenance"
        )
        await screenshot(page, "notifications")

        refusing.failures = 0
        await failed.get_by_role("button", name="Retry").click()
        await expect(view.locator("tr[data-status=delivered]")).to_have_count(2, timeout=15_000)
        await expect(view.locator("tr[data-status=failed]")).to_have_count(0)
        assert len(refusing.accepted) == 1

        # The mail settings have a tab of their own on the Settings page.
        await page.get_by_role("link", name="Settings").click()
        await page.get_by_role("tab", name="Notifications").click()
        await expect(page.get_by_label("SMTP server")).to_be_visible()
        await expect(page.get_by_label("Attempts")).to_have_value("2")
    finally:
        await manager.stop()
