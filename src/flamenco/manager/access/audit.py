"""What goes into the audit log: which requests, and which of their details; pure rules."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, Final

from flamenco.manager.access.roles import Requirement

# Requests that change nothing lasting, or that are part of submitting (the
# submission itself is logged), or that happen thousands of times a day.
NOT_AUDITED: Final = frozenset(
    {
        "submitJobCheck",
        "shamanCheckoutRequirements",
        "shamanFileStore",
        "shamanCheckout",
        "logOut",
        "checkSharedStoragePath",
        "checkBlenderExePath",
        "findBlenderExePath",
    }
)
# Body fields worth keeping; never passwords, secrets or whole configurations.
KEPT_FIELDS: Final = (
    "status",
    "is_lazy",
    "reason",
    "priority",
    "worker_tag",
    "tag_ids",
    "name",
    "role",
    "kind",
    "type",
    "last_updated_max",
    "is_active",
    "days_of_week",
    "start_time",
    "end_time",
    "single_use",
    "valid_for_seconds",
)
# Path parameters that name what was changed, in order of preference.
SUBJECT_PARAMETERS: Final = ("job_id", "task_id", "worker_id", "tag_id", "token_id", "user_name")
CHANGING_METHODS: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclasses.dataclass(frozen=True, slots=True)
class AuditRecord:
    subject: str
    detail: dict[str, Any]


def is_audited(operation_id: str, method: str, requirement: Requirement) -> bool:
    """Changes made by people and scripts; Workers' own reports are the task logs' business."""
    if method.upper() not in CHANGING_METHODS or operation_id in NOT_AUDITED:
        return False
    return requirement.role is not None and not requirement.consumes_enrolment


def record(
    operation_id: str, path: Mapping[str, Any], body: Any, answer: Mapping[str, Any] | None
) -> AuditRecord:
    """The subject and details of an audited request; `answer` is its JSON answer, if any."""
    subject = next((str(path[name]) for name in SUBJECT_PARAMETERS if name in path), "")
    detail: dict[str, Any] = {}
    if isinstance(body, Mapping):
        detail = {key: body[key] for key in KEPT_FIELDS if key in body}
    if operation_id == "updateConfigurationFile":
        detail = {"configuration": "replaced"}
    if not subject and answer is not None and isinstance(answer.get("id"), str | int):
        # A new job: its ID comes from the answer.
        subject = str(answer["id"])
    return AuditRecord(subject, detail)
