"""Property-based fuzzing of the running Manager from our spec and upstream's (schemathesis)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from support.manager_process import ManagerProcess

REPOSITORY = Path(__file__).resolve().parents[2]
OUR_SPEC = REPOSITORY / "src" / "flamenco" / "api" / "flamenco-openapi.yaml"
# CI checks out ../shared beside the repository; so does every development setup.
UPSTREAM_SPEC = REPOSITORY.parent / "shared" / "reference" / "flamenco-3-openapi.yaml"
HOOKS = Path(__file__).with_name("schemathesis_hooks.py")
ACCESS_HOOKS = Path(__file__).with_name("schemathesis_access_hooks.py")

# Operations that restart the Manager or rewrite its configuration file. The general
# runs leave them out: a restart cuts the fuzzer's connections mid-run, and a rewritten
# file could move the Manager to another port or database at its next restart.
# test_configuration_operations_keep_the_manager_startable runs them on their own.
CONFIGURATION_OPERATIONS = ("saveSetupAssistantConfig", "updateConfigurationFile")

# Time budget of each general run, in seconds; `tox -e fuzz` raises it for a long run.
FUZZ_SECONDS = int(os.environ.get("FLAMENCO_FUZZ_SECONDS", "45"))
CONFIGURATION_FUZZ_SECONDS = max(15, FUZZ_SECONDS // 3)
ACCESS_FUZZ_SECONDS = max(15, FUZZ_SECONDS // 3)

# Every check schemathesis has, less three. missing_required_header wants 401 without
# credentials, where upstream (and so the Workers, which re-register on it) use 403.
# positive_data_acceptance wants every schema-valid body accepted, where the Manager
# also checks what a schema cannot say (a job type's required settings, SHA-256
# checksums, days of the week). use_after_free wants a 404 right after a DELETE, where
# deleting a job only asks for it: the job deleter removes it in the background, as
# upstream's does.
OUR_CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
    "ignored_auth",
    # 405 with an Allow header that lists the path's own methods.
    "unsupported_method",
    "allow_header_conformance",
    # Stateful: a created resource can be fetched, and one client's resources are not
    # another's.
    "ensure_resource_availability",
    "object_level_authorization",
)
# Upstream's spec leaves out the 4xx answers of many operations that upstream's own
# Manager gives (getJobType has only 200, yet an unknown type is a 404), so status
# codes are only held to our spec; bodies must still match upstream's schemas.
UPSTREAM_CHECKS = tuple(check for check in OUR_CHECKS if check != "status_code_conformance")


@dataclass(frozen=True)
class FuzzRun:
    """What one schemathesis run did, from its JSON report."""

    generated: int
    operations_tested: int
    operations_selected: int
    failures: list[dict[str, Any]]
    errors: list[dict[str, Any]]
    report: dict[str, Any]
    # Only the console output tells how far stateful testing got.
    scenarios: int
    links_covered: int
    links_total: int

    def summary(self, label: str) -> str:
        phases = ", ".join(f"{name} {i['status']}" for name, i in self.report["phases"].items())
        return (
            f"fuzz {label}: {self.generated} cases, {self.operations_tested}/"
            f"{self.operations_selected} operations, {self.scenarios} stateful scenarios over "
            f"{self.links_covered}/{self.links_total} links, {len(self.failures)} kinds of "
            f"failure, {len(self.errors)} errors ({phases})"
        )


def _count(pattern: str, text: str, group: int = 1) -> int:
    found = re.search(pattern, text)
    return int(found.group(group)) if found else 0


def fuzzing_manager(tmp_path: Path, **settings: object) -> ManagerProcess:
    manager = ManagerProcess(tmp_path / "manager", tmp_path / "shared", **settings)
    # Shaman on, so that its uploads and checkouts are fuzzed too.
    settings = yaml.safe_load(manager.config_path.read_text(encoding="utf-8"))
    settings["shaman"]["enabled"] = True
    manager.config_path.write_text(yaml.safe_dump(settings), encoding="utf-8")
    return manager


async def seed(base_url: str) -> None:
    """A job and a worker tag, so that operations on existing ones get past 404."""
    job = {
        "name": "fuzz seed",
        "type": "echo-sleep-test",
        "priority": 50,
        "submitter_platform": "linux",
        "settings": {"message": "hi", "sleep_duration_seconds": 1, "sleep_repeats": 1},
        "metadata": {"project": "fuzz"},
    }
    async with aiohttp.ClientSession(base_url) as session:
        for _ in range(2):
            async with session.post("/api/v3/jobs", json=job) as response:
                assert response.status == 200, await response.text()
        async with session.post("/api/v3/worker-mgt/tags", json={"name": "fuzz tag"}) as response:
            assert response.status == 200, await response.text()


async def run_schemathesis(
    manager: ManagerProcess,
    label: str,
    spec: Path,
    checks: tuple[str, ...],
    seconds: int,
    *options: str,
    hooks: Path = HOOKS,
) -> FuzzRun:
    schemathesis = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    assert schemathesis, "schemathesis is a test dependency"
    report_dir = manager.directory.parent / f"schemathesis-{label}"
    command = [
        schemathesis,
        "run",
        str(spec),
        "--url",
        manager.base_url,
        "--checks",
        ",".join(checks),
        "--max-time",
        str(seconds),
        # One worker: two threads parsing lambdas at once trip a CPython 3.11 bug
        # ("AST constructor recursion depth mismatch") inside Hypothesis, and on two
        # cores a second worker adds few requests.
        "--workers",
        "1",
        "--seed",
        "3",
        "--report",
        "json",
        "--report-dir",
        str(report_dir),
        "--no-color",
        *options,
    ]
    environment = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": str(hooks),
        "FUZZ_MANAGER_URL": manager.base_url,
        "FUZZ_MANAGER_CONFIG": str(manager.config_path),
        "FUZZ_SHARED_STORAGE": str(manager.directory.parent / "shared"),
    }
    result = await asyncio.to_thread(
        subprocess.run,
        command,
        capture_output=True,
        text=True,
        cwd=manager.directory.parent,
        env=environment,
        check=False,
    )
    reports = sorted(report_dir.glob("*.json"))
    assert reports, result.stdout[-6000:] + result.stderr[-2000:]
    report = json.loads(reports[-1].read_text(encoding="utf-8"))
    run = FuzzRun(
        generated=report["test_cases"]["generated"],
        operations_tested=report["operations"]["tested"],
        operations_selected=report["operations"]["selected"],
        failures=report["failures"],
        errors=report["errors"],
        report=report,
        scenarios=_count(r"Scenarios:\s+(\d+)", result.stdout),
        links_covered=_count(r"API Links:\s+(\d+) covered / (\d+) selected", result.stdout),
        links_total=_count(r"API Links:\s+(\d+) covered / (\d+) selected", result.stdout, 2),
    )
    print(run.summary(label), file=sys.stderr)
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-2000:]
    return run


async def stop_and_check(manager: ManagerProcess) -> None:
    """The Manager stops cleanly, logged no error of its own and kept a sound database."""
    code = await manager.stop()
    assert code == 0, manager.log()[-3000:]
    # aiohttp logs malformed requests it refused itself (null bytes in headers) with a
    # traceback; what matters is that none of our own code logged an error.
    own_errors = [
        line
        for line in manager.log().splitlines()
        if " flamenco." in line and (" ERROR " in line or " CRITICAL " in line)
    ]
    assert own_errors == [], own_errors[:20]
    database = sqlite3.connect(manager.directory / "flamenco-manager.sqlite")
    try:
        assert database.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert database.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        database.close()


def spec_path(name: str) -> Path:
    if name == "ours":
        return OUR_SPEC
    if not UPSTREAM_SPEC.is_file():
        # In CI a skip fails the run (tests/conftest.py), which is what is wanted.
        pytest.skip(f"upstream's reference spec is not at {UPSTREAM_SPEC} (../shared missing?)")
    return UPSTREAM_SPEC


@pytest.mark.fuzz
@pytest.mark.slow
@pytest.mark.timeout(FUZZ_SECONDS + 120)
@pytest.mark.parametrize("spec_name", ["ours", "upstream"])
async def test_fuzzing_finds_no_server_errors_and_no_spec_violations(
    tmp_path: Path, spec_name: str
) -> None:
    spec = spec_path(spec_name)
    checks = OUR_CHECKS if spec_name == "ours" else UPSTREAM_CHECKS
    manager = fuzzing_manager(tmp_path)
    await manager.start()
    try:
        await seed(manager.base_url)
        options: list[str] = []
        for operation_id in CONFIGURATION_OPERATIONS:
            options += ["--exclude-operation-id", operation_id]
        run = await run_schemathesis(
            manager, f"{spec_name} spec", spec, checks, FUZZ_SECONDS, *options
        )
    finally:
        await stop_and_check(manager)
    assert run.operations_tested == run.operations_selected
    # Stateful testing ran (it is skipped when no links between operations are found).
    assert run.report["phases"]["stateful"]["status"] == "success", run.report["phases"]


@pytest.mark.fuzz
@pytest.mark.slow
@pytest.mark.timeout(CONFIGURATION_FUZZ_SECONDS + 150)
async def test_configuration_operations_keep_the_manager_startable(tmp_path: Path) -> None:
    """Setup assistant saves (each a restart) and configuration file writes, fuzzed on their own.

    The hooks make every third setup assistant call name usable storage, so that it
    restarts the Manager, and check after every accepted write that the file loads.
    """
    manager = fuzzing_manager(tmp_path)
    original = manager.config_path.read_text(encoding="utf-8")
    await manager.start()
    try:
        # The setup assistant alone: it restarts the Manager on the file it wrote.
        setup = await run_schemathesis(
            manager,
            "setup assistant",
            OUR_SPEC,
            (*OUR_CHECKS, "configuration_stays_loadable"),
            CONFIGURATION_FUZZ_SECONDS,
            "--include-operation-id",
            "saveSetupAssistantConfig",
        )
        # Whole files next, read and written back; the Manager only reads them at its
        # next start, so no restart follows and it keeps its port and database.
        manager.config_path.write_text(original, encoding="utf-8")
        files = await run_schemathesis(
            manager,
            "configuration file",
            OUR_SPEC,
            (*OUR_CHECKS, "configuration_stays_loadable"),
            CONFIGURATION_FUZZ_SECONDS,
            "--include-operation-id",
            "updateConfigurationFile",
            "--include-operation-id",
            "getConfigurationFile",
        )
    finally:
        await stop_and_check(manager)
    restarts = manager.log().count("restarting with the new configuration")
    print(f"fuzz setup assistant: the Manager restarted {restarts} times", file=sys.stderr)
    assert restarts >= 1, "no fuzzed setup assistant call restarted the Manager"
    assert setup.generated > 0 and files.generated > 0


@pytest.mark.fuzz
@pytest.mark.slow
@pytest.mark.timeout(ACCESS_FUZZ_SECONDS + 120)
async def test_fuzzing_reaches_nothing_without_credentials_under_access_control(
    tmp_path: Path,
) -> None:
    """With access control on, every operation of our spec answers 401 to whatever comes
    without credentials (docs/access-control.md); the configuration operations too."""
    manager = fuzzing_manager(tmp_path, access_control="true")
    await manager.start()
    try:
        run = await run_schemathesis(
            manager,
            "access control",
            OUR_SPEC,
            ("not_a_server_error", "nothing_without_credentials"),
            ACCESS_FUZZ_SECONDS,
            hooks=ACCESS_HOOKS,
        )
    finally:
        await stop_and_check(manager)
    assert run.operations_tested == run.operations_selected
    assert run.failures == [], run.failures[:5]
