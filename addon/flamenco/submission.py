"""Building the submitted job and deciding how its files reach the farm (no bpy)."""

import contextlib
import datetime
import getpass
import os
import re
from pathlib import Path, PurePath, PurePosixPath
from typing import Any, Dict, Mapping, Optional

from .job_settings import BLENDFILE_SETTING_KEY

# The blendfile setting used for the pre-submission check, before the real
# location on the farm is known (the same placeholder as upstream).
CHECK_BLENDFILE = "dummy-for-job-check.blend"

# The Manager's implicit variable for its job storage, used in Shaman paths.
JOBS_VARIABLE = "{jobs}"

# Ways the blend file can reach the farm.
IN_PLACE = "in-place"  # already inside the job storage: submit its own path
SHAMAN = "shaman"  # pack and upload through the Manager's Shaman
COPY = "copy"  # pack into a new folder in the job storage

NO_WORKER_TAG = "-"


def build_job(
    *,
    name: str,
    job_type: Mapping[str, Any],
    priority: int,
    settings: Dict[str, Any],
    submit_as_paused: bool,
    worker_tag: str,
    submitter_platform: str,
    metadata: Optional[Dict[str, str]] = None,
) -> Dict[str, Any]:
    """The `SubmittedJob` body, with upstream's fields."""
    job: Dict[str, Any] = {
        "name": name,
        "type": str(job_type["name"]),
        "priority": int(priority),
        "settings": dict(settings),
        "metadata": dict(metadata or {}),
        "submitter_platform": submitter_platform,
        "initial_status": "paused" if submit_as_paused else "queued",
    }
    etag = job_type.get("etag")
    if etag:
        job["type_etag"] = str(etag)
    if worker_tag and worker_tag != NO_WORKER_TAG:
        job["worker_tag"] = worker_tag
    return job


def has_blendfile_setting(job_type: Mapping[str, Any]) -> bool:
    return any(
        isinstance(setting, dict)
        and setting.get("key") == BLENDFILE_SETTING_KEY
        and setting.get("type", "string") == "string"
        for setting in job_type.get("settings", [])
    )


def set_blendfile(job: Dict[str, Any], job_type: Mapping[str, Any], blendfile: str) -> None:
    """Point the job's `blendfile` setting at the file on the farm, if the job type has one."""
    if has_blendfile_setting(job_type):
        job["settings"][BLENDFILE_SETTING_KEY] = str(blendfile)


def set_shaman_checkout(job: Dict[str, Any], checkout_id: str) -> None:
    job["storage"] = {"shaman_checkout_id": checkout_id}


def default_metadata(
    *, blender_version: str, project: Optional[PurePath] = None, user_email: str = ""
) -> Dict[str, str]:
    """Strings that tell a wrangler who submitted the job and from what.

    `user_email` (from the preferences) lets the Manager mail the artist about the job.
    """
    metadata = {"blender.version": blender_version}
    # Some environments (containers, services) have no user name; leave it out there.
    with contextlib.suppress(KeyError, OSError, ImportError):
        metadata["user.name"] = getpass.getuser()
    if user_email.strip():
        metadata["user.email"] = user_email.strip()
    if project is not None and project.name:
        metadata["project"] = project.name
    return metadata


def absolute(path: PurePath) -> Path:
    """Absolute and normalised, keeping symlinks, so that paths compare as the artist sees them."""
    return Path(os.path.normpath(os.path.abspath(str(path))))


def is_inside(path: PurePath, directory: PurePath) -> bool:
    """Whether `path` lies inside `directory` (both made absolute; no symlinks resolved)."""
    if not str(directory):
        return False
    inner, outer = absolute(path), absolute(directory)
    if os.name == "nt":
        # Windows paths compare without case.
        inner, outer = Path(str(inner).lower()), Path(str(outer).lower())
    try:
        inner.relative_to(outer)
    except ValueError:
        return False
    return True


def transfer_method(blendfile: PurePath, job_storage: str, shaman_enabled: bool) -> str:
    """How the blend file gets to the farm.

    A file already in the job storage is used where it is, even with Shaman:
    the Workers can read it there, and packing would only duplicate it.
    """
    if job_storage and is_inside(blendfile, PurePath(job_storage)):
        return IN_PLACE
    if shaman_enabled:
        return SHAMAN
    return COPY


_UNSAFE_IN_FILENAME = re.compile(r'[\\/:*?"<>|\x00-\x1f]')


def safe_filename(name: str) -> str:
    """`name` usable as one folder name on any platform."""
    cleaned = _UNSAFE_IN_FILENAME.sub("_", name).strip().strip(".")
    return cleaned or "job"


def pack_directory_name(job_name: str, now: Optional[datetime.datetime] = None) -> str:
    """Upstream's unique folder name: `2024-05-01-123456.789012-<job name>`."""
    moment = now or datetime.datetime.now()
    return "%s-%s" % (moment.isoformat("-").replace(":", ""), safe_filename(job_name))


# The Manager refuses checkout paths that match none of this, or contain "../".
_CHECKOUT_FORBIDDEN = re.compile(r"[?*:;{}\\\x00-\x1f]")


def shaman_checkout_path(job_name: str) -> str:
    """The checkout path to ask Shaman for: the job name, made acceptable to the Manager.

    Upstream sends the job name as it is, so a name with `:` or `?` fails; we
    replace such characters and keep every other name unchanged.
    """
    cleaned = _CHECKOUT_FORBIDDEN.sub("_", job_name).strip()
    parts = [part for part in cleaned.split("/") if part not in {"", ".", ".."}]
    return "/".join(parts) or "job"


def shaman_blendfile_path(checkout_path: str, relpath_in_pack: PurePath) -> str:
    """The job's blendfile setting for a Shaman checkout: `{jobs}/<checkout>/<path in pack>`."""
    relative = PurePosixPath(*PurePath(relpath_in_pack).parts)
    return str(PurePosixPath(JOBS_VARIABLE, checkout_path, relative))


def farm_path(path: PurePath) -> str:
    """A path for the job settings, with forward slashes as upstream sends them."""
    return absolute(path).as_posix()


def job_error_message(status: Optional[int], message: str) -> str:
    """What to tell the artist when the Manager refuses a job (or its pre-check)."""
    if status == 412:
        return (
            "The job type changed on the Manager since the last refresh; press Refresh, "
            "check the job settings, and submit again"
        )
    if status is None:
        return message
    return "The Manager did not accept the job: %s" % message
