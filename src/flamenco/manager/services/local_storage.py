"""The Manager's own storage folder: per-job directories for task logs and last-rendered images."""

from __future__ import annotations

import contextlib
import logging
import shutil
from pathlib import Path

logger = logging.getLogger(__name__)

# Served read-only over HTTP from the local storage root.
JOB_FILES_URL_PREFIX = "/job-files"


class LocalStorage:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def job_dir_relative(self, job_uuid: str) -> str:
        """Job directory relative to the root; UUID prefixes spread jobs over folders."""
        if not job_uuid:
            return "jobless"
        return f"job-{job_uuid[:4]}/{job_uuid}"

    def job_dir(self, job_uuid: str) -> Path:
        return self.root / self.job_dir_relative(job_uuid)

    def url_for(self, relative_path: str) -> str:
        return f"{JOB_FILES_URL_PREFIX}/{relative_path}"

    def remove_job_dir_blocking(self, job_uuid: str) -> None:
        """Erase a job's directory, and its parent when that became empty."""
        if not job_uuid:
            raise ValueError("refusing to remove the storage of a job without UUID")
        path = self.job_dir(job_uuid)
        if path == self.root or path == Path.home() or path == Path(path.anchor):
            raise ValueError(f"refusing to remove {path}")
        shutil.rmtree(path, ignore_errors=True)
        with contextlib.suppress(OSError):  # Not empty: other jobs share the parent folder.
            path.parent.rmdir()
