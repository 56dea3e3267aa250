"""Schemathesis hooks for tests/fuzz: a Worker that outlives deletion, restarts, config checks."""

from __future__ import annotations

import base64
import json
import os
import secrets
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import schemathesis

# Set by tests/fuzz/test_schemathesis.py; this file runs inside the schemathesis process.
MANAGER_URL = os.environ["FUZZ_MANAGER_URL"]
CONFIG_PATH = Path(os.environ["FUZZ_MANAGER_CONFIG"])
SHARED_STORAGE = os.environ["FUZZ_SHARED_STORAGE"]

SETUP_ASSISTANT_PATH = "/api/v3/configuration/setup-assistant"
CONFIG_FILE_PATH = "/api/v3/configuration/file"
# One setup assistant call in this many names the real shared storage, so that the restart
# it causes happens: a generated path practically never names an existing directory.
USABLE_STORAGE_EVERY = 3
# One job submission (or check) in this many gets a job type and settings that compile.
VALID_JOB_EVERY = 3


def _request(method: str, path: str, body: object = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        MANAGER_URL + path, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            payload = response.read()
            return response.status, json.loads(payload) if payload else None
    except urllib.error.HTTPError as error:
        return error.code, None


@schemathesis.auth(refresh_interval=2)
class FuzzWorker:
    """Basic auth of a Worker registered for the run, registered again once fuzzing deleted it.

    deleteWorker gets this Worker's id from fetchWorkers through a link; without a new
    registration every Worker operation would only see 403 for the rest of the run.
    """

    def __init__(self) -> None:
        self.credentials: tuple[str, str] | None = None
        self.lock = threading.Lock()

    def get(self, case: Any, context: Any) -> tuple[str, str]:
        with self.lock:
            if self.credentials is None or not self._still_known(self.credentials[0]):
                self.credentials = self._register()
            return self.credentials

    def set(self, case: Any, data: tuple[str, str], context: Any) -> None:
        token = base64.b64encode(f"{data[0]}:{data[1]}".encode()).decode()
        case.headers = {**(case.headers or {}), "Authorization": f"Basic {token}"}

    @staticmethod
    def _still_known(worker_id: str) -> bool:
        status, _ = _request("GET", f"/api/v3/worker-mgt/workers/{worker_id}")
        return status != 404

    @staticmethod
    def _register() -> tuple[str, str]:
        secret = secrets.token_hex(16)
        body = {
            "name": "fuzz-worker",
            "platform": "linux",
            "secret": secret,
            "supported_task_types": ["misc", "blender", "ffmpeg", "file-management"],
        }
        status, answer = _request("POST", "/api/v3/worker/register-worker", body)
        assert status == 200, f"registering the fuzzing Worker answered {status}"
        return str(answer["uuid"]), secret


JOB_PATHS = ("/api/v3/jobs", "/api/v3/jobs/check")
# Settings a generated job almost never gets right: each job type requires its own.
ECHO_SETTINGS = {"message": "fuzz", "sleep_duration_seconds": 1, "sleep_repeats": 1}

_calls: dict[str, int] = {}
_calls_lock = threading.Lock()


def _every(path: str, interval: int) -> bool:
    """True for every `interval`th call on `path`."""
    with _calls_lock:
        _calls[path] = _calls.get(path, 0) + 1
        return _calls[path] % interval == 0


@schemathesis.hook
def map_case(context: Any, case: Any) -> Any:
    """Make some valid bodies acceptable where the schema cannot tell how.

    Setup assistant calls name usable storage, so that the Manager restarts; job
    submissions become echo-sleep-test jobs with the rest of the body as generated, so
    that jobs and tasks exist for the operations that stateful testing links to them.
    Negative cases are left alone: repaired, they would be accepted, which is a failure.
    """
    meta = case.meta
    if meta is not None and meta.generation.mode.is_negative:
        return case
    body = case.body
    if case.method.upper() != "POST" or not isinstance(body, dict):
        return case
    path = case.operation.path
    if path == SETUP_ASSISTANT_PATH and isinstance(body.get("storageLocation"), str):
        # An administrator would switch access control on, and every later request of
        # the run would only get 401 (tests/access covers that).
        body = {key: value for key, value in body.items() if key != "administrator"}
        case.body = body
        if _every(path, USABLE_STORAGE_EVERY):
            case.body = {**body, "storageLocation": SHARED_STORAGE}
    elif path in JOB_PATHS and _every(path, VALID_JOB_EVERY):
        job = {**body, "type": "echo-sleep-test", "settings": ECHO_SETTINGS}
        # An etag of another job type, a tag that does not exist or a status a new job
        # cannot start in would still stop it at the door.
        job.pop("type_etag", None)
        job.pop("worker_tag", None)
        if job.get("initial_status") not in ("queued", "paused"):
            job.pop("initial_status", None)
        case.body = job
    return case


def _wait_for(predicate: Any, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def _answers() -> bool:
    try:
        return _request("GET", "/api/v3/version")[0] == 200
    except OSError:
        return False


@schemathesis.hook
def after_call(context: Any, case: Any, response: Any) -> None:
    """After an accepted setup assistant call, wait until the Manager has restarted."""
    if case.operation.path != SETUP_ASSISTANT_PATH or response.status_code != 204:
        return
    # The restart begins half a second after the answer; a fast one may be missed going down.
    _wait_for(lambda: not _answers(), 3.0)
    if not _wait_for(_answers, 30.0):
        raise AssertionError("the Manager did not come back within 30 s of its restart")


@schemathesis.check
def configuration_stays_loadable(ctx: Any, response: Any, case: Any) -> bool | None:
    """A configuration the API accepted is one the Manager can start with."""
    if case.operation.path not in (SETUP_ASSISTANT_PATH, CONFIG_FILE_PATH):
        return None
    if case.method.upper() not in ("PUT", "POST") or response.status_code != 204:
        return None
    from flamenco.manager.config import load_config

    try:
        load_config(CONFIG_PATH)
    except Exception as error:  # any reason at all is a failure here
        raise AssertionError(
            f"the configuration file written for this request does not load: {error!r}"
        ) from error
    return True
