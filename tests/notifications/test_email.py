"""Mail through a real SMTP server (aiosmtpd on loopback): wranglers and the submitting artist."""

from __future__ import annotations

import email
import email.policy
import functools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from conftest import ConfigMaker
from support.manager import RunningManager, run_manager
from support.manager_process import free_port
from support.notifications import deliveries, run_whole_job
from support.waiting import until

pytestmark = pytest.mark.parametrize("database", ["sqlite"], indirect=True)


@dataclass
class Mailbox:
    """An aiosmtpd handler that keeps every message it is given."""

    messages: list[tuple[list[str], email.message.EmailMessage]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((list(envelope.rcpt_tos), parsed))  # type: ignore[arg-type]
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server() -> Iterator[tuple[Mailbox, int]]:
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()


def email_settings(port: int, **overrides: Any) -> dict[str, Any]:
    return {
        "email": {
            "enabled": True,
            "smtp_host": "127.0.0.1",
            "smtp_port": port,
            "smtp_security": "none",
            "from_address": "farm@studio.test",
            "recipients": ["wrangler@studio.test"],
            **overrides,
        },
        "retry_delay": "50ms",
        "poll_interval": "100ms",
    }


async def test_completed_job_is_mailed_to_wranglers_and_the_artist(
    make_manager_config: ConfigMaker, smtp_server: tuple[Mailbox, int]
) -> None:
    mailbox, port = smtp_server
    loaded = make_manager_config(notifications=email_settings(port))
    async for running in run_manager(loaded):
        job = await run_whole_job(
            running,
            name="Shot 010",
            metadata={"user.name": "Ana", "user.email": "ana@studio.test"},
        )
        await until(lambda: len(mailbox.messages) == 1, timeout=10)
        [(recipients, message)] = mailbox.messages
        assert sorted(recipients) == ["ana@studio.test", "wrangler@studio.test"]
        assert message["From"] == "farm@studio.test"
        assert message["Subject"] == '[Test Farm] Job "Shot 010" completed'
        body = message.get_content()
        assert job["id"] in body
        assert "Submitted by: Ana <ana@studio.test>" in body


async def test_an_upstream_add_on_job_mails_only_the_configured_recipients(
    make_manager_config: ConfigMaker, smtp_server: tuple[Mailbox, int]
) -> None:
    mailbox, port = smtp_server
    loaded = make_manager_config(notifications=email_settings(port))
    async for running in run_manager(loaded):
        await run_whole_job(running, metadata={})
        await until(lambda: len(mailbox.messages) == 1, timeout=10)
        assert mailbox.messages[0][0] == ["wrangler@studio.test"]


async def attempted_twice(running: RunningManager) -> bool:
    [delivery] = await deliveries(running)
    return bool(delivery["attempts"] >= 2 and delivery["status"] == "pending")


async def test_mail_waits_for_the_smtp_server_to_come_back(
    make_manager_config: ConfigMaker,
) -> None:
    mailbox = Mailbox()
    port = free_port()
    loaded = make_manager_config(notifications=email_settings(port))
    async for running in run_manager(loaded):
        await run_whole_job(running)

        await until(functools.partial(attempted_twice, running), timeout=10)
        controller = Controller(mailbox, hostname="127.0.0.1", port=port)
        controller.start()
        try:
            await until(lambda: len(mailbox.messages) == 1, timeout=10)
        finally:
            controller.stop()
