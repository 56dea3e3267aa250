"""Webhook bodies and mail text made from a payload: ours, Slack's, Discord's, Matrix's (pure)."""

from __future__ import annotations

import json
from typing import Any

from flamenco.manager.config.schema import WebhookFormat

# Discord refuses message content over 2000 characters.
DISCORD_CONTENT_LIMIT = 2000

_COLOURS = {"job-completed": 0x2E7D32, "job-failed": 0xC62828, "worker-error": 0xEF6C00}
_EMOJI = {
    "job-completed": "\u2705",
    "job-failed": "\u274c",
    "job-waiting-for-approval": "\u23f3",
    "worker-error": "\u26a0\ufe0f",
}


def webhook_body(format: WebhookFormat, payload: dict[str, Any]) -> bytes:
    """The request body for a webhook of this format, as UTF-8 JSON."""
    body: dict[str, Any]
    match format:
        case WebhookFormat.JSON:
            body = payload
        case WebhookFormat.SLACK:
            body = {"text": f"{_headline(payload)}{_detail_suffix(payload)}"}
        case WebhookFormat.DISCORD:
            body = {
                "username": payload["manager"]["name"],
                "content": _headline(payload)[:DISCORD_CONTENT_LIMIT],
                "embeds": [
                    {
                        "title": payload["summary"],
                        "description": "\n".join(_facts(payload)),
                        "color": _COLOURS.get(payload["event"], 0x546E7A),
                        "timestamp": payload["occurred_at"],
                    }
                ],
            }
        case WebhookFormat.MATRIX:
            # The shape of matrix-hookshot's generic webhooks (and compatible bridges).
            lines = _facts(payload)
            body = {
                "username": payload["manager"]["name"],
                "text": "\n".join([_headline(payload), *lines]),
                "html": "<br>".join(
                    [f"<b>{_escape(_headline(payload))}</b>", *(_escape(line) for line in lines)]
                ),
            }
    return json.dumps(body, ensure_ascii=False).encode()


def mail_subject(payload: dict[str, Any]) -> str:
    return f"[{payload['manager']['name']}] {payload['summary']}"


def mail_text(payload: dict[str, Any]) -> str:
    lines = [payload["summary"] + ".", "", *_facts(payload), "", f"Event: {payload['event']}"]
    return "\n".join(lines) + "\n"


def _headline(payload: dict[str, Any]) -> str:
    emoji = _EMOJI.get(payload["event"], "")
    prefix = f"{emoji} " if emoji else ""
    return f"{prefix}{payload['summary']} ({payload['manager']['name']})"


def _detail_suffix(payload: dict[str, Any]) -> str:
    facts = _facts(payload)
    return "\n" + "\n".join(facts) if facts else ""


def _facts(payload: dict[str, Any]) -> list[str]:
    facts: list[str] = []
    if job := payload.get("job"):
        facts.append(f"Job: {job['name']} ({job['id']}), type {job['type']}")
        submitter = job.get("submitter") or {}
        if submitter.get("name") or submitter.get("email"):
            who = " ".join(
                part
                for part in (submitter.get("name"), f"<{submitter['email']}>")
                if part and part != "<>"
            )
            facts.append(f"Submitted by: {who}")
    if worker := payload.get("worker"):
        facts.append(f"Worker: {worker['name']} ({worker['id']}), at {worker['address']}")
    if payload.get("detail"):
        facts.append(f"Detail: {payload['detail']}")
    facts.append(f"When: {payload['occurred_at']}")
    return facts


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
