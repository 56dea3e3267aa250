"""Roles, and the one table of what each operation of the API needs; pure rules, no I/O.

Classifying a new operation is one line in REQUIREMENTS. An operation missing from
it needs an administrator (the Manager fails closed) and fails
tests/access/test_role_table.py, so that whoever adds it decides.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final


class Role(enum.StrEnum):
    """What a person or script may do, each role including the ones before it."""

    VIEWER = "viewer"  # Read only.
    ARTIST = "artist"  # Submit jobs; change and delete their own.
    WRANGLER = "wrangler"  # Every job and every Worker.
    ADMIN = "admin"  # Settings, users and tokens.

    @property
    def rank(self) -> int:
        return _RANKS[self]

    def includes(self, other: Role) -> bool:
        return self.rank >= other.rank


_RANKS: Final = {role: rank for rank, role in enumerate(Role)}


class Credential(enum.StrEnum):
    """How a request proved who sent it."""

    TOKEN = "token"  # Authorization: Bearer <API token>, a person's or a script's.
    SESSION = "session"  # The web interface's session cookie, after logging in.
    PROXY = "proxy"  # A trusted reverse proxy's header naming the person it logged in.
    WORKER = "worker"  # HTTP Basic with a registered Worker's ID and secret.
    ENROLMENT = "enrolment"  # Bearer <worker_enrolment_secret or enrolment token>.
    OPEN = "open"  # Access control is off: everyone may do everything, as upstream.


@dataclasses.dataclass(frozen=True, slots=True)
class Principal:
    """Who sent a request: a named person or script with a role, a Worker, or an enrolling one."""

    name: str
    credential: Credential
    role: Role | None = None

    def has_role(self, needed: Role) -> bool:
        return self.role is not None and self.role.includes(needed)


class Ownership(enum.Enum):
    """Which job an artist must have submitted to be let through."""

    NONE = "none"
    JOB = "job_id"  # The job named by the `job_id` path parameter.
    TASK = "task_id"  # The job of the task named by the `task_id` path parameter.


@dataclasses.dataclass(frozen=True, slots=True)
class Requirement:
    """What a request needs: a role (optionally with ownership), or Worker credentials."""

    role: Role | None = None
    # Anyone may call it, as logging in (it hands out nothing without a password).
    public: bool = False
    # Artists pass only for their own jobs; wranglers and administrators for all.
    own: Ownership = Ownership.NONE
    workers: bool = False  # Registered Workers' credentials pass.
    enrolment: bool = False  # The enrolment secret or an enrolment token passes.
    # Registering a Worker uses up a single-use enrolment token.
    consumes_enrolment: bool = False

    def describe(self) -> str:
        if self.public:
            return "nothing"
        allowed = []
        if self.role is not None:
            allowed.append(
                f"role {self.role}" + (" (own jobs)" if self.own != Ownership.NONE else "")
            )
        if self.workers:
            allowed.append("Worker credentials")
        if self.enrolment:
            allowed.append("the Worker enrolment secret")
        return " or ".join(allowed)


PUBLIC: Final = Requirement(public=True)
VIEWER: Final = Requirement(Role.VIEWER)
ARTIST: Final = Requirement(Role.ARTIST)
OWN_JOB: Final = Requirement(Role.ARTIST, own=Ownership.JOB)
OWN_TASK: Final = Requirement(Role.ARTIST, own=Ownership.TASK)
WRANGLER: Final = Requirement(Role.WRANGLER)
ADMIN: Final = Requirement(Role.ADMIN)
WORKER: Final = Requirement(workers=True)
# Registering: the enrolment secret, or a wrangler who adds a Worker by hand.
ENROLMENT: Final = Requirement(Role.WRANGLER, enrolment=True, consumes_enrolment=True)
# Workers and enrolling Workers ask for the version before anything else.
VERSION: Final = Requirement(Role.VIEWER, workers=True, enrolment=True)

# Every operation of the spec, by operationId. One line per operation.
REQUIREMENTS: Final[Mapping[str, Requirement]] = MappingProxyType(
    {
        # meta
        "getVersion": VERSION,
        "getConfiguration": VIEWER,
        "checkSharedStoragePath": ADMIN,
        "findBlenderExePath": ADMIN,
        "checkBlenderExePath": ADMIN,
        "saveSetupAssistantConfig": ADMIN,
        "getConfigurationFile": ADMIN,
        "updateConfigurationFile": ADMIN,
        "getVariables": VIEWER,
        "getSharedStorage": VIEWER,
        "getFarmStatus": VIEWER,
        # worker
        "registerWorker": ENROLMENT,
        "signOn": WORKER,
        "signOff": WORKER,
        "workerState": WORKER,
        "workerStateChanged": WORKER,
        "scheduleTask": WORKER,
        "taskUpdate": WORKER,
        "mayWorkerRun": WORKER,
        "taskOutputProduced": WORKER,
        "streamTaskLogs": WORKER,
        "streamWorkNotices": WORKER,
        # worker-mgt
        "fetchWorkers": VIEWER,
        "fetchWorker": VIEWER,
        "deleteWorker": WRANGLER,
        "requestWorkerStatusChange": WRANGLER,
        "setWorkerTags": WRANGLER,
        "fetchWorkerSleepSchedule": VIEWER,
        "setWorkerSleepSchedule": WRANGLER,
        "fetchWorkerTags": VIEWER,
        "createWorkerTag": WRANGLER,
        "fetchWorkerTag": VIEWER,
        "updateWorkerTag": WRANGLER,
        "deleteWorkerTag": WRANGLER,
        # jobs
        "getJobTypes": VIEWER,
        "getJobType": VIEWER,
        "fetchJobs": VIEWER,
        "submitJob": ARTIST,
        "deleteJobMass": WRANGLER,
        "submitJobCheck": ARTIST,
        "fetchJob": VIEWER,
        "deleteJob": OWN_JOB,
        "deleteJobWhatWouldItDo": VIEWER,
        "fetchJobLastRenderedInfo": VIEWER,
        "fetchGlobalLastRenderedInfo": VIEWER,
        "setJobStatus": OWN_JOB,
        "setJobPriority": OWN_JOB,
        "setJobTag": OWN_JOB,
        "fetchJobTasks": VIEWER,
        "fetchJobBlocklist": VIEWER,
        "removeJobBlocklist": OWN_JOB,
        "fetchTask": VIEWER,
        "fetchTaskLogTail": VIEWER,
        "fetchTaskLogInfo": VIEWER,
        "setTaskStatus": OWN_TASK,
        # shaman: uploading job files is part of submitting.
        "shamanCheckoutRequirements": ARTIST,
        "shamanCheckout": ARTIST,
        "shamanFileStoreCheck": ARTIST,
        "shamanFileStore": ARTIST,
        # job graph (our extension): approving is a supervisor's call.
        "fetchJobDependencies": VIEWER,
        "approveTask": WRANGLER,
        "rejectTask": WRANGLER,
        # resource limits and the scheduling explainer (our extension)
        "explainJob": VIEWER,
        "fetchResourceLimits": VIEWER,
        "setJobMaxWorkers": OWN_JOB,
        # output checks (our extension)
        "fetchJobFrames": VIEWER,
        "fetchJobFrameThumbnail": VIEWER,
        "rerenderMissingFrames": OWN_JOB,
        # render statistics (our extension)
        "fetchJobRenderStatistics": VIEWER,
        "fetchJobTaskRuns": VIEWER,
        "fetchWorkerUtilisation": VIEWER,
        "fetchFarmUtilisation": VIEWER,
        # notifications (our extension): the page shows destinations without URLs or secrets.
        "fetchNotificationDeliveries": VIEWER,
        "retryNotificationDelivery": WRANGLER,
        # access control (our extension)
        "fetchCurrentPrincipal": VIEWER,
        "fetchAccessTokens": ADMIN,
        "createAccessToken": ADMIN,
        "revokeAccessToken": ADMIN,
        "logIn": PUBLIC,
        "logOut": PUBLIC,
        # single sign-on (our extension): the login page and the provider's redirects.
        "fetchLoginMethods": PUBLIC,
        "startSingleSignOn": PUBLIC,
        "finishSingleSignOn": PUBLIC,
        "fetchUsers": ADMIN,
        "saveUser": ADMIN,
        "deleteUser": ADMIN,
        "fetchAuditLog": ADMIN,
    }
)

# Connecting to Socket.IO (/socket.io/) for the web interface's live updates.
SOCKET_IO_CONNECT: Final = VIEWER

# Unclassified operations fail closed.
UNCLASSIFIED: Final = ADMIN

# What is served outside the API, by path prefix; the first match counts. (Socket.IO
# checks its clients as they connect: SOCKET_IO_CONNECT.)
# Everything else (the web interface's files, the add-on, the spec and its
# explorer) holds no farm data and is open, so that a browser can load the login page.
PATH_REQUIREMENTS: Final[tuple[tuple[str, Requirement], ...]] = (
    ("/job-files/", VIEWER),
    ("/metrics", VIEWER),
)


def requirement_for_operation(operation_id: str) -> Requirement:
    return REQUIREMENTS.get(operation_id, UNCLASSIFIED)


def requirement_for_path(path: str) -> Requirement | None:
    """What a request outside the API needs, or None when it is open."""
    for prefix, requirement in PATH_REQUIREMENTS:
        if path == prefix.rstrip("/") or path.startswith(prefix):
            return requirement
    return None


class Decision(enum.Enum):
    ALLOW = "allow"
    # Allowed if the principal submitted the job in question (checked against the database).
    IF_OWNER = "if-owner"
    DENY = "deny"


def decide(principal: Principal, requirement: Requirement) -> Decision:
    """Whether the principal may do what needs `requirement`, before looking at ownership."""
    if principal.credential == Credential.OPEN or requirement.public:
        return Decision.ALLOW
    if principal.credential == Credential.WORKER:
        return Decision.ALLOW if requirement.workers else Decision.DENY
    if principal.credential == Credential.ENROLMENT:
        return Decision.ALLOW if requirement.enrolment else Decision.DENY
    if requirement.role is None or not principal.has_role(requirement.role):
        return Decision.DENY
    if requirement.own != Ownership.NONE and not principal.has_role(Role.WRANGLER):
        return Decision.IF_OWNER
    return Decision.ALLOW
