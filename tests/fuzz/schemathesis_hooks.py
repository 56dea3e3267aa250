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
# One accepted setup assistant call in this many uses the real shared storage, so that the
# restart it causes happens: a generated path practically never names an existing directory.
USABLE_STORAGE_EVERY = 3


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


_setup_calls = 0
_setup_lock = threading.Lock()


@schemathesis.hook
def map_body(context: Any, body: Any) -> Any:
    """Point some setup assistant calls at usable storage, so that the Manager restarts."""
    global _setup_calls
    operation = context.operation
    if operation is None or operation.path != SETUP_ASSISTANT_PATH or not isinstance(body, dict):
        return body
    with _setup_lock:
        _setup_calls += 1
        use_real_storage = _setup_calls % USABLE_STORAGE_EVERY == 0
    if use_real_storage and isinstance(body.get("storageLocation"), str):
        return {**body, "storageLocation": SHARED_STORAGE}
    return body


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
