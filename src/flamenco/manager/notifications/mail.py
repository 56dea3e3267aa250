"""Sending a notification as mail through the configured SMTP server (aiosmtplib)."""

from __future__ import annotations

import email.message
import email.utils
from typing import Any

import aiosmtplib

from flamenco.manager.config.schema import EmailConfig, SMTPSecurity
from flamenco.manager.notifications import formats, messages


class MailFailed(Exception):
    """The SMTP server could not be reached or refused the message."""


def recipients(settings: EmailConfig, payload: dict[str, Any]) -> list[str]:
    """The configured recipients, plus the submitting artist when wanted; each once."""
    addresses = list(settings.recipients)
    if settings.notify_submitter and (artist := messages.submitter_email(payload)):
        addresses.append(artist)
    return list(dict.fromkeys(addresses))


def compose(
    settings: EmailConfig, payload: dict[str, Any], to: list[str]
) -> email.message.EmailMessage:
    message = email.message.EmailMessage()
    message["From"] = settings.from_address
    message["To"] = ", ".join(to)
    message["Subject"] = formats.mail_subject(payload)
    message["Date"] = email.utils.formatdate(localtime=False)
    message["Message-ID"] = email.utils.make_msgid(domain="flamenco.local")
    message["X-Flamenco-Event"] = payload["event"]
    message.set_content(formats.mail_text(payload))
    return message


async def send(settings: EmailConfig, payload: dict[str, Any], *, timeout: float) -> None:
    """Mail `payload` to its recipients; MailFailed says why it did not go."""
    to = recipients(settings, payload)
    if not to:
        return  # Nobody to tell: the recipients were removed since it was recorded.
    message = compose(settings, payload, to)
    try:
        await aiosmtplib.send(
            message,
            recipients=to,
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username or None,
            password=settings.smtp_password or None,
            use_tls=settings.smtp_security == SMTPSecurity.TLS,
            start_tls=settings.smtp_security == SMTPSecurity.STARTTLS,
            timeout=timeout,
        )
    except (aiosmtplib.SMTPException, OSError) as error:
        raise MailFailed(f"{type(error).__name__}: {error}") from error
