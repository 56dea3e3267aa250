"""Fixtures for the job compiler tests: compilers with and without custom scripts, a JS probe."""

from __future__ import annotations

import datetime
import pathlib
from collections.abc import Callable
from typing import Any

import pytest

from flamenco.manager import job_compilers

CORPUS_DIR = pathlib.Path(__file__).parent / "corpus"

# A job type that evaluates a JavaScript expression with all the runtime's
# globals in scope and keeps the value in the job's settings, which persist.
PROBE_SCRIPT = """\
const JOB_TYPE = {
  label: "Probe",
  settings: [{ key: "expression", type: "string", required: true }],
};

function compileJob(job) {
  job.settings.result = (0, eval)(job.settings.expression);
}
"""

# A fixed, timezone-aware creation time (upstream's test clock reads 2006-01-02 15:04:05).
CREATED = datetime.datetime(2006, 1, 2, 15, 4, 5, tzinfo=datetime.UTC)


def submitted_job(
    job_type: str, settings: dict[str, Any] | None = None, **fields: Any
) -> dict[str, Any]:
    """A SubmittedJob JSON dict as the API hands it over."""
    job: dict[str, Any] = {
        "name": "test job",
        "type": job_type,
        "priority": 50,
        "submitter_platform": "linux",
        "settings": settings if settings is not None else {},
        "metadata": {},
    }
    job.update(fields)
    return job


@pytest.fixture(scope="session")
def built_in_compilers() -> job_compilers.JobCompilers:
    """Only the built-in job types."""
    return job_compilers.JobCompilers(scripts_dir=None)


@pytest.fixture(scope="session")
def probe_dir(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    scripts = tmp_path_factory.mktemp("probe-scripts")
    (scripts / "probe.js").write_text(PROBE_SCRIPT)
    return scripts


@pytest.fixture(scope="session")
def evaluate(probe_dir: pathlib.Path) -> Callable[[str], Any]:
    """Evaluate a JS expression in a fresh job compiler context; JobCompileError if it throws."""
    compilers = job_compilers.JobCompilers(scripts_dir=probe_dir)

    def run(expression: str) -> Any:
        job = compilers.compile_blocking(
            submitted_job("probe", {"expression": expression}), CREATED, None
        )
        return job.settings.get("result")

    return run


@pytest.fixture
def scripts_dir(tmp_path: pathlib.Path) -> pathlib.Path:
    """An empty custom scripts folder."""
    folder = tmp_path / "scripts"
    folder.mkdir()
    return folder
