"""The submitted job's fields and the decision how its files reach the farm, without Blender."""

from __future__ import annotations

import datetime
import os
from pathlib import Path, PurePosixPath

import pytest
from flamenco_addon import projects, submission

RENDER_TYPE = {
    "name": "simple-blender-render",
    "etag": "abc123",
    "settings": [{"key": "blendfile", "type": "string"}, {"key": "frames", "type": "string"}],
}


def test_the_job_has_upstreams_fields() -> None:
    job = submission.build_job(
        name="shot 1",
        job_type=RENDER_TYPE,
        priority=70,
        settings={"frames": "1-10"},
        submit_as_paused=False,
        worker_tag="-",
        submitter_platform="linux",
        metadata={"user.name": "ana"},
    )
    assert job == {
        "name": "shot 1",
        "type": "simple-blender-render",
        "priority": 70,
        "settings": {"frames": "1-10"},
        "metadata": {"user.name": "ana"},
        "submitter_platform": "linux",
        "initial_status": "queued",
        "type_etag": "abc123",
    }


def test_paused_submission_and_worker_tag() -> None:
    job = submission.build_job(
        name="j",
        job_type=RENDER_TYPE,
        priority=50,
        settings={},
        submit_as_paused=True,
        worker_tag="5f2a-tag",
        submitter_platform="windows",
    )
    assert job["initial_status"] == "paused"
    assert job["worker_tag"] == "5f2a-tag"
    assert job["metadata"] == {}


def test_blendfile_is_set_only_when_the_job_type_has_that_setting() -> None:
    job = submission.build_job(
        name="j",
        job_type=RENDER_TYPE,
        priority=50,
        settings={},
        submit_as_paused=False,
        worker_tag="",
        submitter_platform="linux",
    )
    submission.set_blendfile(job, RENDER_TYPE, submission.CHECK_BLENDFILE)
    assert job["settings"]["blendfile"] == "dummy-for-job-check.blend"
    other = {"name": "echo", "settings": [{"key": "message", "type": "string"}]}
    submission.set_blendfile(job := dict(job, settings={}), other, "/x.blend")
    assert "blendfile" not in job["settings"]
    submission.set_shaman_checkout(job, "shot 1")
    assert job["storage"] == {"shaman_checkout_id": "shot 1"}


def test_metadata_tells_who_and_what() -> None:
    metadata = submission.default_metadata(blender_version="3.4.1", project=Path("/p/sprite"))
    assert metadata["blender.version"] == "3.4.1"
    assert metadata["project"] == "sprite"
    assert all(isinstance(value, str) for value in metadata.values())
    assert "user.email" not in metadata


def test_metadata_carries_the_artists_email_when_given() -> None:
    metadata = submission.default_metadata(blender_version="4.2", user_email=" ana@studio.test ")
    assert metadata["user.email"] == "ana@studio.test"
    assert "user.email" not in submission.default_metadata(blender_version="4.2", user_email=" ")


@pytest.mark.parametrize(
    ("blendfile", "storage", "shaman", "method"),
    [
        ("/shared/jobs/shot/a.blend", "/shared/jobs", True, submission.IN_PLACE),
        ("/shared/jobs/shot/a.blend", "/shared/jobs/", False, submission.IN_PLACE),
        ("/shared/jobs/../projects/a.blend", "/shared/jobs", False, submission.COPY),
        ("/shared/jobs2/a.blend", "/shared/jobs", False, submission.COPY),  # not a prefix test
        ("/home/ana/a.blend", "/shared/jobs", True, submission.SHAMAN),
        ("/home/ana/a.blend", "/shared/jobs", False, submission.COPY),
        ("/home/ana/a.blend", "", False, submission.COPY),
    ],
)
def test_transfer_method(blendfile: str, storage: str, shaman: bool, method: str) -> None:
    assert submission.transfer_method(Path(blendfile), storage, shaman) == method


def test_a_file_reached_through_a_symlink_into_the_storage_counts_as_outside(
    tmp_path: Path,
) -> None:
    """Paths compare as the artist sees them: the Workers may not share the link."""
    storage = tmp_path / "storage"
    (storage / "shot").mkdir(parents=True)
    (tmp_path / "link").symlink_to(storage / "shot")
    assert submission.transfer_method(tmp_path / "link" / "a.blend", str(storage), False) == "copy"
    assert submission.transfer_method(storage / "shot" / "a.blend", str(storage), False) == (
        "in-place"
    )


def test_pack_directory_name_is_upstreams() -> None:
    moment = datetime.datetime(2024, 5, 1, 12, 34, 56, 789012)
    assert submission.pack_directory_name("shot 1", moment) == "2024-05-01-123456.789012-shot 1"
    assert submission.pack_directory_name("a/b:c", moment).endswith("-a_b_c")


@pytest.mark.parametrize(
    ("job_name", "checkout"),
    [
        ("shot 1", "shot 1"),
        ("Шот ñ", "Шот ñ"),
        ("shot: take 2?", "shot_ take 2_"),
        ("../../etc", "etc"),
        ("/absolute/name", "absolute/name"),
        ("{jobs}", "_jobs_"),
        ("", "job"),
    ],
)
def test_shaman_checkout_path_is_acceptable_to_the_manager(job_name: str, checkout: str) -> None:
    assert submission.shaman_checkout_path(job_name) == checkout


def test_shaman_blendfile_path_uses_the_jobs_variable() -> None:
    assert (
        submission.shaman_blendfile_path("shot 1", PurePosixPath("shots/a.blend"))
        == "{jobs}/shot 1/shots/a.blend"
    )


def test_farm_paths_have_forward_slashes(tmp_path: Path) -> None:
    assert (
        submission.farm_path(tmp_path / "x" / ".." / "a.blend") == (tmp_path / "a.blend").as_posix()
    )


def test_job_refusals_are_explained() -> None:
    assert "press Refresh" in submission.job_error_message(412, "etag mismatch")
    assert submission.job_error_message(400, "frames: invalid") == (
        "The Manager did not accept the job: frames: invalid"
    )
    assert submission.job_error_message(None, "Cannot reach") == "Cannot reach"


def test_project_finders(tmp_path: Path) -> None:
    blendfile = tmp_path / "film" / "seq" / "shot" / "a.blend"
    blendfile.parent.mkdir(parents=True)
    assert projects.project_root(blendfile, "GIT") == blendfile.parent  # no marker: its folder
    (tmp_path / "film" / ".git").mkdir()
    (tmp_path / "film" / "seq" / ".blender_project").mkdir()
    (tmp_path / ".svn").mkdir()
    assert projects.project_root(blendfile, "GIT") == tmp_path / "film"
    assert projects.project_root(blendfile, "BLENDER_PROJECT") == tmp_path / "film" / "seq"
    assert projects.project_root(blendfile, "SUBVERSION") == tmp_path
    relative = Path(os.path.relpath(blendfile))
    assert projects.project_root(relative, "GIT") == tmp_path / "film"
    with pytest.raises(ValueError, match="unknown project finder"):
        projects.project_root(blendfile, "CVS")
    assert set(projects.FINDERS) == {"BLENDER_PROJECT", "GIT", "SUBVERSION"}
