"""The add-on inside real Blender 3.4 and 4.5: install the Manager's zip, submit, and render."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import textwrap
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from support.blender_runner import BlenderRunner
from support.manager_process import ManagerProcess, WorkerProcess, free_port

# Every test here runs once per Blender: see the blender_runner fixture.
pytestmark = pytest.mark.slow

DRIVER = Path(__file__).parent / "blender_scripts" / "submit_job.py"

# A job type with every kind of setting, loaded by the Manager from its scripts folder.
ALL_SETTINGS_JOB_TYPE = textwrap.dedent(
    """
    const JOB_TYPE = {
      label: "All Settings",
      settings: [
        { key: "quality", type: "string", choices: ["draft", "final"], default: "final",
          description: "How good it looks" },
        { key: "samples", type: "int32", default: 16, propargs: { min: 1, max: 4096 },
          visible: "submission" },
        { key: "exposure", type: "float", default: 1, propargs: { min: -10, max: 10 } },
        { key: "denoise", type: "bool", default: true, label: "Use Denoiser" },
        { key: "output_dir", type: "string", subtype: "dir_path", default: "//render/" },
        { key: "frames_pattern", type: "string", subtype: "hashed_file_path" },
        { key: "web_only", type: "string", visible: "web", default: "w" },
        { key: "hidden_eval", type: "string", visible: "hidden",
          eval: "jobname + '@' + C.scene.name" },
        { key: "computed", type: "string", editable: false, eval: "str(last_n_dir_parts(1))" },
        { key: "linked", type: "int32", eval: "C.scene.frame_end",
          evalInfo: { showLinkButton: true, description: "Scene end" } },
      ],
    };
    function compileJob(job) {}
    """
)


async def download_addon(base_url: str, target: Path) -> Path:
    async with (
        aiohttp.ClientSession() as session,
        session.get(base_url + "/flamenco-addon.zip") as response,
    ):
        assert response.status == 200
        target.write_bytes(await response.read())
    return target


# A job type that stands for a chain of two jobs (job graph extension); its own
# settings are those the chain's jobs take from the artist.
SHOT_PIPELINE_JOB_TYPE = textwrap.dedent(
    """
    const JOB_TYPE = {
      label: "Shot Pipeline",
      settings: [
        {
          key: "frames", type: "string", required: true,
          eval: "f'{C.scene.frame_start}-{C.scene.frame_end}'",
        },
        { key: "render_output_root", type: "string", subtype: "dir_path", required: true },
        { key: "add_path_components", type: "int32", default: 0 },
        { key: "message", type: "string", default: "baking", visible: "hidden" },
      ],
      chain: [
        { type: "echo-sleep-test", name: "bake" },
        { type: "simple-blender-render", name: "render" },
      ],
    };
    function compileJob(job) {
      throw "submit this job type with the Flamenco add-on, which submits its chain";
    }
    """
)


def run_blender_driver(
    runner: BlenderRunner, tmp_path: Path, config: dict[str, Any]
) -> dict[str, Any]:
    """Run the driver in a fresh Blender whose user folders live in tmp_path."""
    config_path = tmp_path / "driver.json"
    result_path = tmp_path / "driver-result.json"
    config_path.write_text(json.dumps({**config, "result": str(result_path)}), encoding="utf-8")
    completed = runner.run(DRIVER, [str(config_path)], home=tmp_path / "home", timeout=180)
    output = completed.stdout[-6000:] + completed.stderr[-3000:]
    assert result_path.exists(), output
    result: dict[str, Any] = json.loads(result_path.read_text(encoding="utf-8"))
    assert result["ok"], result.get("traceback", "") + output
    # Blender must also exit cleanly: scripted submissions run in pipelines.
    assert completed.returncode == 0, output
    assert result["blender_version"].startswith(runner.version_prefix), result["blender_version"]
    result["output"] = output
    return result


def renders_here(runner: BlenderRunner) -> bool:
    """Whether the test goes on to render what it submitted.

    Renders stay with Debian's blender binary, the one the Worker runs: a blend
    file saved by Blender 4.5 is not for Blender 3.4 to render, so the bpy runs
    stop once the Manager has the job and its files.
    """
    if runner.as_module:
        return False
    if shutil.which("ffmpeg") is None:
        pytest.skip("needs ffmpeg on the PATH to render")
    return True


async def create_worker_tag(base_url: str, name: str) -> str:
    async with aiohttp.ClientSession() as session:
        async with session.post(
            base_url + "/api/v3/worker-mgt/tags", json={"name": name}
        ) as response:
            assert response.status < 300
        async with session.get(base_url + "/api/v3/worker-mgt/tags") as response:
            tags = (await response.json())["tags"]
    return str(next(tag["id"] for tag in tags if tag["name"] == name))


async def jobs_by_name(base_url: str) -> dict[str, dict[str, Any]]:
    async with aiohttp.ClientSession() as session:
        async with session.get(base_url + "/api/v3/jobs") as response:
            jobs = (await response.json())["jobs"]
        detailed = {}
        for job in jobs:
            async with session.get(base_url + f"/api/v3/jobs/{job['id']}") as response:
                detailed[job["name"]] = await response.json()
    return detailed


async def wait_for_status(
    base_url: str, job_id: str, status: str, worker: WorkerProcess, timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while True:
            async with session.get(base_url + f"/api/v3/jobs/{job_id}") as response:
                job = await response.json()
            if job["status"] == status:
                return
            if time.monotonic() > deadline or job["status"] == "failed":
                raise AssertionError(
                    f"job is {job['status']}, not {status}\n--- worker log:\n{worker.log()[-6000:]}"
                )
            await asyncio.sleep(0.25)


def assert_rendered(output_root: Path, job_name: str) -> None:
    frames = sorted(output_root.glob(f"{job_name}/*/*.png"))
    assert [frame.name for frame in frames] == ["000001.png", "000002.png"]
    videos = list(output_root.glob(f"{job_name}/*/scene-1-2.mp4"))
    assert len(videos) == 1
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
         "-show_entries", "stream=codec_name,width,height,nb_read_frames", "-of", "csv=p=0",
         str(videos[0])],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    assert probe.stdout.strip() == "h264,64,36,2"


async def render_with_a_worker(base_url: str, job_id: str, tmp_path: Path) -> None:
    worker = WorkerProcess(tmp_path / "worker", base_url)
    worker.start()
    try:
        await wait_for_status(base_url, job_id, "completed", worker, timeout=150)
    finally:
        await worker.stop()


@pytest.mark.timeout(300)
async def test_submit_through_shared_storage_in_place_and_from_cache(
    blender_runner: BlenderRunner, tmp_path: Path
) -> None:
    shared = tmp_path / "shared"
    manager = ManagerProcess(tmp_path / "manager", shared)
    scripts = manager.directory / "scripts"
    scripts.mkdir()
    (scripts / "all_settings.js").write_text(ALL_SETTINGS_JOB_TYPE, encoding="utf-8")
    (scripts / "shot_pipeline.js").write_text(SHOT_PIPELINE_JOB_TYPE, encoding="utf-8")
    await manager.start()
    try:
        tag_id = await create_worker_tag(manager.base_url, "Night Shift")
        addon = await download_addon(manager.base_url, tmp_path / "flamenco-addon.zip")
        output_root = tmp_path / "render"
        result = run_blender_driver(
            blender_runner,
            tmp_path,
            {
                "zip": str(addon),
                "manager_url": manager.base_url + "/",
                "workdir": str(tmp_path / "artist"),
                "output_root": str(output_root),
                "check_custom_job_type": str(scripts / "all_settings.js"),
                "check_cache": True,
                "check_version_and_abort": True,
                "check_chain": True,
                "dead_manager_url": f"http://127.0.0.1:{free_port()}/",
                "submissions": [
                    {"job_name": "shared storage", "place": "project", "priority": 60},
                    {
                        "job_name": "in place",
                        "place": "job_storage",
                        "job_storage": str(shared),
                        "paused": True,
                        "worker_tag": tag_id,
                    },
                ],
            },
        )
        check_blender_side(result, shared)
        jobs = await jobs_by_name(manager.base_url)
        check_shared_storage_job(jobs["shared storage"], shared, output_root)
        assert jobs["shared storage"]["metadata"]["blender.version"] == result["blender_version"]
        assert jobs["shared storage"]["metadata"]["user.email"] == "artist@studio.test"
        assert "version mismatch" not in jobs
        assert jobs["forced submission"]["status"] == "paused"
        in_place = jobs["in place"]
        assert in_place["status"] == "paused"
        assert (
            in_place["settings"]["blendfile"] == (shared / "in-place" / "in_place.blend").as_posix()
        )
        assert "storage" not in in_place
        assert in_place["worker_tag"] == tag_id
        assert "worker_tag" not in jobs["shared storage"]
        check_chain(result, jobs)

        if renders_here(blender_runner):
            await render_with_a_worker(manager.base_url, jobs["shared storage"]["id"], tmp_path)
            assert_rendered(output_root, "shared storage")
    finally:
        await manager.stop()


def check_blender_side(result: dict[str, Any], shared: Path) -> None:
    assert result["default_job_name"] == "scene"  # from the blend file's name
    assert all(result["scene_properties"].values()), result["scene_properties"]
    assert result["ping"].startswith("End-to-end Farm version ")
    assert result["job_storage_pref"] == str(shared)
    # all-settings was removed from the Manager by then; see below.
    assert {
        "-",
        "simple-blender-render",
        "echo-sleep-test",
        "preview-then-final",
        "shot-pipeline",
    } == set(result["job_type_items"])

    custom = result["custom_settings"]
    assert custom["quality"]["type"] == "ENUM"
    assert custom["quality"]["items"] == ["draft", "final"]
    assert custom["quality"]["value"] == "final"
    assert custom["quality"]["description"] == "How good it looks"
    assert (custom["samples"]["type"], custom["samples"]["min"], custom["samples"]["max"]) == (
        "INT",
        1,
        4096,
    )
    assert custom["exposure"]["type"] == "FLOAT" and custom["exposure"]["value"] == 1.0
    assert custom["denoise"]["type"] == "BOOLEAN" and custom["denoise"]["label"] == "Use Denoiser"
    assert custom["output_dir"]["subtype"] == "DIR_PATH"
    assert custom["frames_pattern"]["subtype"] == "FILE_PATH"
    assert custom["computed"]["read_only"] and custom["computed"]["value"] == "shots"
    assert custom["autoeval_linked"]["type"] == "BOOLEAN" and custom["autoeval_linked"]["value"]
    assert custom["linked"]["value"] == 2  # visible eval settings are filled in on selection
    values = result["custom_submission_values"]
    assert values["hidden_eval"] == "scene@Scene"
    assert values["web_only"] == "w"
    assert values["linked"] == 2
    assert result["ping_after_removal"] == (
        "Job type 'all-settings' is no longer available, choose another one"
    )
    assert result["job_type_after_removal"] in {"", "-"}
    assert result["settings_after_removal"] is False

    assert result["draw_problems"] == []  # the panels use only what this Blender has
    drawn = set(result["drawn"])
    assert {
        "flamenco_job_name",
        "flamenco_job_priority",
        "flamenco_job_submit_as_paused",
        "flamenco_worker_tag",
        "flamenco_job_type",
        "chunk_size",
        "render_output_root",
        "render_output_path",
        "autoeval_frames",  # the link toggle
        "flamenco.ping_manager",
        "flamenco.submit_job",
        "flamenco3.explore_file_path",
        "manager_url",
        "job_storage_for_gui",
        "project_finder",
        "user_email",
    } <= drawn, drawn
    assert "Follows the scene's frame range" in drawn  # shown instead of the frames field
    assert not {"blendfile", "fps", "format", "scene"} & drawn  # hidden or web-only

    settings = result["settings"]
    assert settings["render_output_path"]["read_only"]
    assert settings["frames"]["value"] == "1-2"
    for record in result["submissions"]:
        assert record["outcome"] == ["FINISHED"], record
        assert record["status"] == "DONE"
    assert "missing: " in result["output"] and "does-not-exist.png" in result["output"]

    assert "Force Submit" in result["version_mismatch_error"]
    assert result["version_mismatch_flag"] is True
    assert result["forced_outcome"] == ["FINISHED"]
    assert result["version_mismatch_flag_after"] is False  # each forced submission asks again
    assert result["abort_messages"][-1] == "Aborted"
    assert not result["aborted_pack_exists"]

    # A restarted Blender without a Manager still knows the job types from its cache.
    assert "simple-blender-render" in result["cached_job_type_items"]
    assert "nothing is listening there" in result["ping_without_manager"]
    assert "frames" in result["cached_settings_keys"]
    assert "Cannot reach the Manager" in result["submit_without_manager"]


def check_chain(result: dict[str, Any], jobs: dict[str, dict[str, Any]]) -> None:
    """The chain job type became two jobs, the second waiting for the first; a script
    chained a third one onto it with `depends_on`."""
    assert result["chain_outcome"] == ["FINISHED"], result.get("chain_error")
    assert result["chain_status_text"] == "Chain of 2 jobs submitted"
    bake, render = jobs["chained - bake"], jobs["chained - render"]
    assert bake["type"] == "echo-sleep-test" and bake["settings"]["message"] == "baking"
    assert "depends_on" not in bake
    assert render["type"] == "simple-blender-render"
    assert render["depends_on"] == [bake["id"]]
    assert render["settings"]["frames"] == "1-2"
    assert render["settings"]["blendfile"].endswith(".blend")  # set on every job of the chain
    assert result["chain_last_job_id"] == render["id"]
    assert jobs["after the chain"]["depends_on"] == [render["id"]]
    assert "shot-pipeline" not in {job["type"] for job in jobs.values()}


def check_shared_storage_job(job: dict[str, Any], shared: Path, output_root: Path) -> None:
    assert job["type"] == "simple-blender-render"
    assert job["priority"] == 60
    assert job["status"] == "queued"
    settings = job["settings"]
    blendfile = Path(settings["blendfile"])
    # Packed into a new folder in the shared storage, keeping the project layout.
    assert blendfile.is_relative_to(shared) and blendfile.name == "scene.blend"
    assert blendfile.parent.name == "shots" and blendfile.parent.parent.name.endswith(
        "-shared storage"
    )
    assert blendfile.is_file()
    assert (blendfile.parent.parent / "textures" / "checker.png").is_file()
    assert settings["frames"] == "1-2"
    assert settings["chunk_size"] == 2
    assert settings["render_output_root"] == str(output_root)
    assert settings["render_output_path"].startswith(str(output_root / "shared storage") + "/")
    assert "{timestamp}" not in settings["render_output_path"]
    assert (settings["fps"], settings["format"], settings["image_file_extension"]) == (
        24.0,
        "PNG",
        ".png",
    )
    assert settings["has_previews"] is False
    assert settings["scene"] == "Scene"
    assert settings["add_path_components"] == 0


@pytest.mark.timeout(300)
async def test_submit_through_shaman(blender_runner: BlenderRunner, tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    manager = ManagerProcess(tmp_path / "manager", shared)
    manager.config_path.write_text(
        manager.config_path.read_text(encoding="utf-8").replace(
            "shaman:\n  enabled: false", "shaman:\n  enabled: true"
        ),
        encoding="utf-8",
    )
    await manager.start()
    try:
        await require_shaman(manager.base_url)
        addon = await download_addon(manager.base_url, tmp_path / "flamenco-addon.zip")
        output_root = tmp_path / "render"
        result = run_blender_driver(
            blender_runner,
            tmp_path,
            {
                "zip": str(addon),
                "manager_url": manager.base_url,
                "workdir": str(tmp_path / "artist"),
                "output_root": str(output_root),
                "submissions": [{"job_name": "through shaman", "place": "project"}],
            },
        )
        assert result["job_storage_pref"] == str(shared / "jobs")
        assert result["submissions"][0]["outcome"] == ["FINISHED"], result["submissions"]

        job = (await jobs_by_name(manager.base_url))["through shaman"]
        checkout = job["storage"]["shaman_checkout_id"]
        assert checkout == "through shaman"
        assert job["settings"]["blendfile"] == "{jobs}/through shaman/shots/scene.blend"
        # The checkout is where the blendfile setting says, made of links into the file store.
        packed = shared / "jobs" / checkout / "shots" / "scene.blend"
        assert packed.is_symlink() and packed.is_file()
        assert packed.read_bytes() == (tmp_path / "artist/project/shots/scene.blend").read_bytes()
        assert (shared / "jobs" / checkout / "textures" / "checker.png").is_file()

        if renders_here(blender_runner):
            await render_with_a_worker(manager.base_url, job["id"], tmp_path)
            assert_rendered(output_root, "through shaman")
    finally:
        await manager.stop()


async def require_shaman(base_url: str) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            base_url + "/api/v3/shaman/checkout/requirements", json={"files": []}
        ) as response,
    ):
        if response.status in {501, 503}:
            pytest.skip(f"Shaman is missing on the Manager: {await response.text()}")
