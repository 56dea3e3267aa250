"""The one base for requests the Manager understands but refuses, with the HTTP status to answer."""

from __future__ import annotations


class RequestRefused(Exception):
    """A request that cannot be carried out; `status` is the HTTP status that says why."""

    status = 400

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
