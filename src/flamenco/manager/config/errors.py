"""The one error the configuration raises: what is wrong, with key, line and file."""

from __future__ import annotations


class ConfigError(Exception):
    """The configuration is malformed; the message says where and what was expected.

    `key` is the dotted path of the offending setting (`shaman.garbageCollect.period`)
    and `line` its 1-based line in the YAML file; either may be None when unknown
    (JSON bodies have no lines; YAML syntax errors have no key).
    """

    def __init__(
        self,
        problem: str,
        *,
        key: str | None = None,
        line: int | None = None,
        filename: str | None = None,
    ) -> None:
        self.problem = problem
        self.key = key
        self.line = line
        self.filename = filename
        super().__init__(self._message())

    def _message(self) -> str:
        location = " ".join(
            part
            for part in (
                self.filename,
                f"line {self.line}" if self.line is not None else None,
            )
            if part
        )
        prefix = f"{location}: " if location else ""
        key = f"{self.key}: " if self.key else ""
        return f"{prefix}{key}{self.problem}"
