"""Logging for the Manager and the Worker: one line per event, with its details as key=value."""

from __future__ import annotations

import logging
import logging.config
from typing import Any

# Attributes every LogRecord has; anything else was passed in `extra`.
_STANDARD_ATTRIBUTES = frozenset(
    logging.LogRecord("", 0, "", 0, "", (), None).__dict__.keys() | {"message", "asctime"}
)


class KeyValueFormatter(logging.Formatter):
    """Appends the record's `extra` fields to the message, as key=value pairs."""

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        details = [
            f"{key}={value!r}" if isinstance(value, str) and " " in value else f"{key}={value}"
            for key, value in record.__dict__.items()
            if key not in _STANDARD_ATTRIBUTES and not key.startswith("_")
        ]
        if not details:
            return line
        first, newline, rest = line.partition("\n")
        return f"{first} {' '.join(details)}{newline}{rest}"


def configure(*, debug: bool = False, quiet: bool = False) -> None:
    level = "DEBUG" if debug else "WARNING" if quiet else "INFO"
    config: dict[str, Any] = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "default": {
                "()": KeyValueFormatter,
                "format": "%(asctime)s %(levelname)-7s %(name)s: %(message)s",
            }
        },
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "default"}},
        "root": {"level": level, "handlers": ["stderr"]},
        "loggers": {
            # One line per HTTP request is too much at INFO on a busy farm.
            "aiohttp.access": {"level": "DEBUG" if debug else "WARNING"},
        },
    }
    logging.config.dictConfig(config)
