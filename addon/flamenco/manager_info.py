"""What the add-on knows about the Manager: fetched on refresh, cached as JSON on disk (no bpy)."""

import dataclasses
import json
import os
import platform
import re
import tempfile
from pathlib import Path
from typing import Any, Dict, List, Optional

from .manager_client import ManagerClient, ManagerError

# The Flamenco release this add-on speaks; compared with the Manager's
# `shortversion` before submitting.
ADDON_VERSION = "3.9"

CACHE_FILENAME = "flamenco-manager-info.json"

# Bumped when the layout of the cache file changes; other files are ignored.
_CACHE_FORMAT = 1


class LoadError(RuntimeError):
    """The cache file exists but cannot be used."""


@dataclasses.dataclass
class ManagerInfo:
    """The Manager's answers, kept as the JSON it sent so that the cache is its own schema."""

    manager_url: str
    version: Dict[str, Any]
    shared_storage: Dict[str, Any]
    job_types: List[Dict[str, Any]]
    worker_tags: List[Dict[str, Any]]

    @property
    def manager_name(self) -> str:
        return str(self.version.get("name", "Flamenco Manager"))

    @property
    def manager_version(self) -> str:
        return str(self.version.get("version", "unknown"))

    @property
    def short_version(self) -> str:
        return str(self.version.get("shortversion", ""))

    @property
    def job_storage(self) -> str:
        return str(self.shared_storage.get("location", ""))

    @property
    def shaman_enabled(self) -> bool:
        return bool(self.shared_storage.get("shamanEnabled", False))

    def job_type(self, name: str) -> Optional[Dict[str, Any]]:
        for job_type in self.job_types:
            if job_type.get("name") == name:
                return job_type
        return None

    def worker_tag(self, tag_id: str) -> Optional[Dict[str, Any]]:
        for tag in self.worker_tags:
            if tag.get("id") == tag_id:
                return tag
        return None


def submitter_platform() -> str:
    """The platform name the Manager expects, as Go's runtime.GOOS spells it."""
    return platform.system().lower()


def fetch(client: ManagerClient) -> ManagerInfo:
    """Ask the Manager everything the add-on caches; raises ManagerError."""
    version = client.get_version()
    shared_storage = client.get_shared_storage(submitter_platform())
    job_types = client.get_job_types().get("job_types") or []
    worker_tags = client.get_worker_tags().get("tags") or []
    if not isinstance(job_types, list) or not isinstance(worker_tags, list):
        raise ManagerError("The Manager sent job types or worker tags in an unexpected form")
    return ManagerInfo(
        manager_url=client.base_url,
        version=version,
        shared_storage=shared_storage,
        job_types=[job_type for job_type in job_types if _is_job_type(job_type)],
        worker_tags=[tag for tag in worker_tags if isinstance(tag, dict) and tag.get("id")],
    )


def _is_job_type(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and isinstance(value.get("name"), str)
        and isinstance(value.get("settings", []), list)
    )


def to_json(info: ManagerInfo) -> str:
    document = {"format": _CACHE_FORMAT, **dataclasses.asdict(info)}
    return json.dumps(document, indent=2, sort_keys=True)


def from_json(text: str) -> ManagerInfo:
    try:
        document = json.loads(text)
    except ValueError as error:
        raise LoadError("the file is not valid JSON: %s" % error) from None
    if not isinstance(document, dict) or document.get("format") != _CACHE_FORMAT:
        raise LoadError("the file was written by another version of the add-on")
    try:
        info = ManagerInfo(
            manager_url=str(document["manager_url"]),
            version=dict(document["version"]),
            shared_storage=dict(document["shared_storage"]),
            job_types=list(document["job_types"]),
            worker_tags=list(document["worker_tags"]),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise LoadError("the file misses %s" % error) from None
    info.job_types = [job_type for job_type in info.job_types if _is_job_type(job_type)]
    return info


def save(info: ManagerInfo, path: Path) -> None:
    """Write atomically, so that a crash mid-write never leaves half a cache behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(prefix=".flamenco-", dir=str(path.parent))
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as temp_file:
            temp_file.write(to_json(info))
        os.replace(temp_name, str(path))
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


def load(path: Path) -> Optional[ManagerInfo]:
    """The cached info, None when there is no cache; LoadError when it is unusable."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as error:
        raise LoadError("cannot read %s: %s" % (path, error)) from None
    return from_json(text)


_RELEASE = re.compile(r"^\s*v?(\d+)\.(\d+)")


def versions_match(addon_version: str, manager_short_version: str) -> bool:
    """Whether the add-on and the Manager speak the same Flamenco release.

    Only major.minor count: "3.9" matches "3.9-beta1" and "3.9.1", since the API
    only changes between minor releases.
    """
    ours = _RELEASE.match(addon_version)
    theirs = _RELEASE.match(manager_short_version)
    if not ours or not theirs:
        return addon_version.strip() == manager_short_version.strip()
    return ours.groups() == theirs.groups()
