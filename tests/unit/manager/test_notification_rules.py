"""Notifications' pure parts: signatures, backoff, body formats, and their configuration keys."""

from __future__ import annotations

import datetime as dt
import json
import textwrap
from pathlib import Path

import pytest

from flamenco.manager import config
from flamenco.manager.config import ConfigError
from flamenco.manager.config.schema import NotificationEvent, NotificationsConfig, WebhookFormat
from flamenco.manager.notifications import formats, mail, retries, signing
from flamenco.manager.notifications.outbox import destinations_for

PAYLOAD = {
    "event": "job-completed",
    "event_id": "3f0c",
    "occurred_at": "2026-12-05T00:00:00.000000Z",
    "manager": {"name": "Farm"},
    "summary": 'Job "Shot <010>" completed',
    "detail": "",
    "job": {
        "id": "4b1e",
        "name": "Shot <010>",
        "type": "simple-blender-render",
        "priority": 50,
        "status": "completed",
        "previous_status": "active",
        "submitter": {"name": "Ana", "email": "ana@studio.test"},
    },
}


def test_signature_verifies_only_with_the_same_secret_timestamp_and_body() -> None:
    header = signing.signature("key", "1700000000", b'{"a":1}')
    assert header.startswith("sha256=") and len(header) == len("sha256=") + 64
    assert signing.verify("key", "1700000000", b'{"a":1}', header)
    assert not signing.verify("other key", "1700000000", b'{"a":1}', header)
    assert not signing.verify("key", "1700000001", b'{"a":1}', header)
    assert not signing.verify("key", "1700000000", b'{"a":2}', header)


def test_backoff_doubles_up_to_its_ceiling() -> None:
    first, ceiling = dt.timedelta(seconds=10), dt.timedelta(minutes=1)
    delays = [
        retries.next_delay(attempts, first, ceiling).total_seconds() for attempts in range(1, 7)
    ]
    assert delays == [10, 20, 40, 60, 60, 60]
    # Years of failures neither overflow nor exceed the ceiling.
    assert retries.next_delay(10_000, dt.timedelta(hours=1), dt.timedelta(days=1)) == dt.timedelta(
        days=1
    )
    assert not retries.gives_up(2, 3) and retries.gives_up(3, 3)


def test_json_format_is_the_payload_itself() -> None:
    assert json.loads(formats.webhook_body(WebhookFormat.JSON, PAYLOAD)) == PAYLOAD


def test_chat_formats() -> None:
    slack = json.loads(formats.webhook_body(WebhookFormat.SLACK, PAYLOAD))
    assert set(slack) == {"text"} and 'Job "Shot <010>" completed (Farm)' in slack["text"]
    discord = json.loads(formats.webhook_body(WebhookFormat.DISCORD, PAYLOAD))
    assert discord["embeds"][0]["title"] == PAYLOAD["summary"]
    assert len(discord["content"]) <= formats.DISCORD_CONTENT_LIMIT
    matrix = json.loads(formats.webhook_body(WebhookFormat.MATRIX, PAYLOAD))
    assert "Shot &lt;010&gt;" in matrix["html"] and "<010>" not in matrix["html"]
    assert "Submitted by: Ana <ana@studio.test>" in matrix["text"]


def test_mail_goes_to_recipients_and_the_artist_once() -> None:
    settings = config.schema.EmailConfig(
        enabled=True,
        smtp_host="mail",
        from_address="farm@studio.test",
        recipients=("wrangler@studio.test", "ana@studio.test"),
    )
    assert mail.recipients(settings, PAYLOAD) == ["wrangler@studio.test", "ana@studio.test"]
    quiet = config.schema.EmailConfig(enabled=True, recipients=("w@x",), notify_submitter=False)
    assert mail.recipients(quiet, PAYLOAD) == ["w@x"]
    message = mail.compose(settings, PAYLOAD, ["w@x"])
    assert message["Subject"] == '[Farm] Job "Shot <010>" completed'


def test_destinations_follow_event_subscriptions() -> None:
    settings = NotificationsConfig(
        webhooks=(
            config.schema.WebhookConfig(url="https://a.test/hook"),
            config.schema.WebhookConfig(name="ops", url="https://b.test", events=("worker-error",)),
        ),
        email=config.schema.EmailConfig(enabled=True, events=("job-failed",)),
    )
    assert destinations_for(settings, NotificationEvent.JOB_COMPLETED) == ["https://a.test/hook"]
    assert destinations_for(settings, NotificationEvent.WORKER_ERROR) == [
        "https://a.test/hook",
        "ops",
    ]
    assert destinations_for(settings, NotificationEvent.JOB_FAILED) == [
        "https://a.test/hook",
        "email",
    ]


def load(tmp_path: Path, notifications: str) -> config.LoadedConfig:
    path = tmp_path / "flamenco-manager.yaml"
    text = "_meta:\n  version: 3\nnotifications:\n" + textwrap.indent(
        textwrap.dedent(notifications), "  "
    )
    path.write_text(text, encoding="utf-8")
    return config.load_config(path, platform="linux")


def test_notification_settings_are_read_and_written_back(tmp_path: Path) -> None:
    loaded = load(
        tmp_path,
        """\
        webhooks:
          - name: renders
            url: https://hooks.slack.test/T0/B0/x
            events: [job-completed, job-waiting-for-approval]
            format: slack
            secret: s3cret
        email:
          enabled: true
          smtp_host: mail.studio.test
          smtp_port: 465
          smtp_security: tls
          from_address: farm@studio.test
          recipients: [wrangler@studio.test]
        retry_delay: 30s
        max_attempts: 5
        """,
    )
    settings = loaded.config.notifications
    [webhook] = settings.webhooks
    assert webhook.format == WebhookFormat.SLACK
    assert webhook.events == ("job-completed", "job-waiting-for-approval")
    assert settings.email.smtp_security == config.schema.SMTPSecurity.TLS
    assert settings.retry_delay == dt.timedelta(seconds=30)
    assert settings.max_attempts == 5
    written = config.config_to_json(loaded.config)
    assert config.config_from_json(written).notifications == settings
    assert "notifications:" in config.config_to_yaml(loaded.config)


@pytest.mark.parametrize(
    ("section", "message"),
    [
        (
            "webhooks:\n  - url: https://a.test\n    events: [job-exploded]\n",
            "notifications.webhooks[0].events: unknown event 'job-exploded'",
        ),
        ("webhooks:\n  - url: ftp://a.test\n", "notifications.webhooks[0].url: must be an http"),
        ("webhooks:\n  - name: x\n", "notifications.webhooks: each webhook needs a url"),
        (
            "webhooks:\n  - url: https://a.test\n  - url: https://a.test\n",
            "notifications.webhooks: webhook 'https://a.test' is listed twice",
        ),
        ("webhooks:\n  - url: https://a.test\n    format: teams\n", "is not one of json, slack"),
        ("email:\n  enabled: true\n", "notifications.email: needs smtp_host and from_address"),
        ("max_attempts: 0\n", "notifications.max_attempts: must be at least 1"),
        ("webhooks: https://a.test\n", "notifications.webhooks: expected a list"),
    ],
)
def test_bad_notification_settings_are_refused(tmp_path: Path, section: str, message: str) -> None:
    with pytest.raises(ConfigError, match=None) as raised:
        load(tmp_path, section)
    assert message in str(raised.value)
