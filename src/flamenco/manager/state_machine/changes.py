"""What a transaction decided to tell the world: events and task log lines, sent after commit."""

from __future__ import annotations

from dataclasses import dataclass, field

from flamenco.manager.eventbus.broker import Event
from flamenco.manager.metrics.recorder import TaskTransition


@dataclass(frozen=True, slots=True)
class LogLine:
    job_uuid: str
    task_uuid: str
    text: str


@dataclass(slots=True)
class Changes:
    events: list[Event] = field(default_factory=list)
    log_lines: list[LogLine] = field(default_factory=list)
    # Only gathered while metrics are enabled.
    task_transitions: list[TaskTransition] = field(default_factory=list)

    def event(self, event: Event) -> None:
        self.events.append(event)

    def log(self, job_uuid: str, task_uuid: str, text: str) -> None:
        self.log_lines.append(LogLine(job_uuid, task_uuid, text))
