"""Checks every event a test Manager publishes against the spec's Event* schema for its kind."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from jsonschema_path import SchemaPath
from openapi_core.validation.schemas import oas30_read_schema_validators_factory
from openapi_core.validation.schemas.exceptions import InvalidSchemaValue
from openapi_core.validation.schemas.validators import SchemaValidator

from flamenco.api import SPEC_PATH
from flamenco.manager.eventbus.broker import Event, EventKind

SCHEMA_OF_KIND: dict[EventKind, str] = {
    EventKind.LIFECYCLE: "EventLifeCycle",
    EventKind.FARM_STATUS: "EventFarmStatus",
    EventKind.JOB_UPDATE: "EventJobUpdate",
    EventKind.TASK_UPDATE: "EventTaskUpdate",
    EventKind.TASK_LOG_UPDATE: "EventTaskLogUpdate",
    EventKind.LAST_RENDERED_UPDATE: "EventLastRenderedUpdate",
    EventKind.WORKER_UPDATE: "EventWorkerUpdate",
    EventKind.WORKER_TAG_UPDATE: "EventWorkerTagUpdate",
}


# Events that never leave the Manager, so the spec does not describe them.
INTERNAL_KINDS = frozenset({EventKind.WORK_AVAILABLE})


@functools.cache
def _spec() -> SchemaPath:
    return SchemaPath.from_file_path(str(SPEC_PATH))


@functools.cache
def validator_for(kind: EventKind) -> SchemaValidator:
    spec = _spec()
    schema = spec / "components" / "schemas" / SCHEMA_OF_KIND[kind]
    return oas30_read_schema_validators_factory.create(spec, schema)


@dataclass
class EventChecker:
    """A broker subscriber that validates each event and remembers what it saw."""

    seen: dict[EventKind, int] = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)

    def __call__(self, event: Event) -> None:
        if event.kind in INTERNAL_KINDS:
            return
        self.seen[event.kind] = self.seen.get(event.kind, 0) + 1
        try:
            validator_for(event.kind).validate(event.payload)
        except InvalidSchemaValue as error:
            details = "; ".join(str(problem.message) for problem in error.schema_errors)
            self.violations.append(f"{event.kind} {event.payload!r}: {details}")

    def assert_valid(self) -> None:
        assert not self.violations, "events that break the spec:\n" + "\n".join(self.violations)
