"""The built-in job types compile to upstream's tasks; cases modelled on job_compilers_test.go."""

from __future__ import annotations

import copy
import logging
import uuid
from typing import Any

import pytest

from flamenco.manager import job_compilers

from .conftest import CREATED, submitted_job

RENDER_SETTINGS_PYTHON = (
    "import bpy; r = bpy.context.scene.render; r.use_file_extension = True; "
    "r.use_overwrite = False; r.use_placeholder = False"
)
FRAMES_TO_VIDEO_ARGS = [
    "-c:v", "h264",
    "-crf", "20",
    "-g", "18",
    "-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2",
    "-pix_fmt", "yuv420p",
    "-r", 24,
    "-y",
]  # fmt: skip
OUTPUT_DIR = "/render/sprites/farm_output/promo/square_ellie/square_ellie.lighting_light_breakdown2"
# Upstream's test job, plus the `scene` setting that its job type requires.
EXAMPLE_SETTINGS: dict[str, Any] = {
    "blender_cmd": "{blender}",
    "blendfile": "/render/sf/jobs/scene123.blend",
    "chunk_size": 3,
    "extract_audio": True,
    "format": "PNG",
    "fps": 24.0,
    "frames": "1-10",
    "images_or_video": "images",
    "image_file_extension": ".png",
    "video_container_format": "",
    "render_output_root": "/render/sprites/farm_output/promo/square_ellie",
    "add_path_components": 1,
    "render_output_path": f"{OUTPUT_DIR}/######",
    "scene": "Scene",
}
EXAMPLE_METADATA = {
    "project": "Sprite Fright",
    "user.email": "sybren@blender.org",
    "user.name": "Sybren Stüvel",
}


def example_job(**settings: Any) -> dict[str, Any]:
    merged = copy.deepcopy(EXAMPLE_SETTINGS)
    merged.update(settings)
    return submitted_job(
        "simple-blender-render",
        merged,
        name="3Д рендеринг",
        metadata=dict(EXAMPLE_METADATA),
        worker_tag="acce9983-e663-4210-b3cc-f7bfa629cb21",
    )


def render_args(
    frames: str, *, output: str = f"{OUTPUT_DIR}/######", scene: str | None = "Scene"
) -> list[Any]:
    scene_args = ["--scene", scene] if scene else []
    return [
        *scene_args,
        "--python-expr", RENDER_SETTINGS_PYTHON,
        "--render-output", output,
        "--render-format", "PNG",
        "--render-frame", frames,
    ]  # fmt: skip


def render_parameters(frames: str, **kwargs: Any) -> dict[str, Any]:
    return {
        "exe": "{blender}",
        "exeArgs": "{blenderArgs}",
        "argsBefore": [],
        "blendfile": "/render/sf/jobs/scene123.blend",
        "args": render_args(frames, **kwargs),
    }


def compile_example(
    compilers: job_compilers.JobCompilers, **settings: Any
) -> job_compilers.AuthoredJob:
    return compilers.compile_blocking(example_job(**settings), CREATED, None)


# ------------------------------------------------------ simple-blender-render


def test_simple_blender_render_example_job_compiles_to_upstreams_tasks(
    built_in_compilers: job_compilers.JobCompilers,
) -> None:
    submitted = example_job()
    job = built_in_compilers.compile_blocking(submitted, CREATED, None)

    assert job.name == "3Д рендеринг"
    assert job.job_type == "simple-blender-render"
    assert job.priority == 50
    assert job.settings == submitted["settings"]
    assert job.metadata == EXAMPLE_METADATA

    assert [(task.name, task.task_type, task.priority) for task in job.tasks] == [
        ("render-1-3", "blender", 50),
        ("render-4-6", "blender", 50),
        ("render-7-9", "blender", 50),
        ("render-10", "blender", 50),
        ("preview-video", "ffmpeg", 50),
    ]
    for task, frames, steps in zip(
        job.tasks, ["1..3", "4..6", "7..9", "10"], [3, 3, 3, 1], strict=False
    ):
        assert task.commands == [
            job_compilers.AuthoredCommand(
                name="blender-render",
                parameters=render_parameters(frames),
                total_step_count=steps,
            )
        ]
        assert task.dependencies == []

    video = job.tasks[4]
    assert video.commands == [
        job_compilers.AuthoredCommand(
            name="frames-to-video",
            parameters={
                "exe": "ffmpeg",
                "fps": 24,
                "inputGlob": f"{OUTPUT_DIR}/*.png",
                "outputFile": f"{OUTPUT_DIR}/scene123-1-10.mp4",
                "args": FRAMES_TO_VIDEO_ARGS,
            },
            total_step_count=0,
        )
    ]
    assert video.dependencies == [task.uuid for task in job.tasks[:4]]
    assert len({task.uuid for task in job.tasks}) == 5


def test_simple_blender_render_without_scene_has_no_scene_argument(
    built_in_compilers: job_compilers.JobCompilers,
) -> None:
    job = compile_example(built_in_compilers, scene="")
    assert job.tasks[0].commands[0].parameters["args"] == render_args("1..3", scene=None)


def test_simple_blender_render_windows_paths(
    built_in_compilers: job_compilers.JobCompilers,
) -> None:
    windows_dir = (
        "R:\\sprites\\farm_output\\promo\\square_ellie\\square_ellie.lighting_light_breakdown2"
    )
    job = compile_example(
        built_in_compilers,
        blendfile="R:\\sf\\jobs\\scene123.blend",
        render_output_path=windows_dir + "\\######",
    )
    slashed_dir = windows_dir.replace("\\", "/")
    first = job.tasks[0].commands[0].parameters
    # The blend file is passed on as-is; the output path is rebuilt with slashes.
    assert first["blendfile"] == "R:\\sf\\jobs\\scene123.blend"
    assert first["args"] == render_args("1..3", output=f"{slashed_dir}/######")
    video = job.tasks[4].commands[0].parameters
    assert video["inputGlob"] == f"{slashed_dir}/*.png"
    assert video["outputFile"] == f"{slashed_dir}/scene123-1-10.mp4"


def test_simple_blender_render_replaces_timestamp_and_stores_it_in_the_settings(
    built_in_compilers: job_compilers.JobCompilers,
) -> None:
    job = compile_example(built_in_compilers, render_output_path="/root/{timestamp}/jobname/######")
    stamp = CREATED.astimezone().strftime("%Y-%m-%d_%H%M%S")
    assert job.settings["render_output_path"] == f"/root/{stamp}/jobname/######"
    assert job.tasks[0].commands[0].parameters["args"] == render_args(
        "1..3", output=f"/root/{stamp}/jobname/######"
    )
    video = job.tasks[4].commands[0].parameters
    assert video["inputGlob"] == f"/root/{stamp}/jobname/*.png"
    assert video["outputFile"] == f"/root/{stamp}/jobname/scene123-1-10.mp4"


def test_simple_blender_render_leaves_other_fields_for_the_workers(
    built_in_compilers: job_compilers.JobCompilers,
) -> None:
    job = compile_example(built_in_compilers, render_output_path="{storage}/{jobname}/######")
    assert job.settings["render_output_path"] == "{storage}/{jobname}/######"


def test_simple_blender_render_complex_frame_range(
    built_in_compilers: job_compilers.JobCompilers,
) -> None:
    job = compile_example(built_in_compilers, frames="0-12,34-56,78-90", chunk_size=20)
    assert [task.name for task in job.tasks] == [
        "render-0-12,34-40",
        "render-41-56,78-81",
        "render-82-90",
        "preview-video",
    ]
    render_frames = [task.commands[0].parameters["args"][-1] for task in job.tasks[:3]]
    assert render_frames == ["0..12,34..40", "41..56,78..81", "82..90"]
    assert [task.commands[0].total_step_count for task in job.tasks[:3]] == [20, 20, 9]
    # A list of ranges names the video after its first and last frame.
    video = job.tasks[3]
    assert video.task_type == "ffmpeg"
    assert video.commands[0].parameters["outputFile"] == f"{OUTPUT_DIR}/scene123-0-90.mp4"


def test_simple_blender_render_blender_style_range_names_video_as_given(
    built_in_compilers: job_compilers.JobCompilers,
) -> None:
    job = compile_example(built_in_compilers, frames="1..4", chunk_size=2)
    assert [task.name for task in job.tasks] == ["render-1,2", "render-3,4", "preview-video"]
    assert job.tasks[0].commands[0].parameters["args"][-1] == "1,2"
    assert job.tasks[2].commands[0].parameters["outputFile"] == f"{OUTPUT_DIR}/scene123-1..4.mp4"


def test_simple_blender_render_strips_flamenco_from_the_video_name(
    built_in_compilers: job_compilers.JobCompilers,
) -> None:
    job = compile_example(built_in_compilers, blendfile="/render/shot.flamenco.blend")
    assert job.tasks[-1].commands[0].parameters["outputFile"] == f"{OUTPUT_DIR}/shot-1-10.mp4"


@pytest.mark.parametrize("image_format", ["EXR", "MULTILAYER", "OPEN_EXR", "OPEN_EXR_MULTILAYER"])
def test_simple_blender_render_exr_without_previews_has_no_video(
    built_in_compilers: job_compilers.JobCompilers, image_format: str
) -> None:
    job = compile_example(built_in_compilers, format=image_format, image_file_extension=".exr")
    assert [task.name for task in job.tasks] == [
        "render-1-3",
        "render-4-6",
        "render-7-9",
        "render-10",
    ]


def test_simple_blender_render_exr_with_previews_makes_video_of_jpegs(
    built_in_compilers: job_compilers.JobCompilers,
) -> None:
    job = compile_example(
        built_in_compilers, format="OPEN_EXR", image_file_extension=".exr", has_previews=True
    )
    video = job.tasks[-1]
    assert video.name == "preview-video"
    assert video.commands[0].parameters["inputGlob"] == f"{OUTPUT_DIR}/*.jpg"
    assert video.dependencies == [task.uuid for task in job.tasks[:-1]]


@pytest.mark.parametrize("fps", [None, 0])
def test_simple_blender_render_without_fps_has_no_video(
    built_in_compilers: job_compilers.JobCompilers, fps: float | None
) -> None:
    job = compile_example(built_in_compilers, fps=fps)
    assert job.tasks[-1].name == "render-10"


@pytest.mark.parametrize("movie_format", ["FFMPEG", "AVI_RAW", "AVI_JPEG"])
def test_simple_blender_render_rejects_movie_formats(
    built_in_compilers: job_compilers.JobCompilers, movie_format: str
) -> None:
    with pytest.raises(job_compilers.JobCompileError) as caught:
        compile_example(built_in_compilers, format=movie_format)
    assert movie_format in caught.value.script_message
    assert caught.value.file == "simple_blender_render.js"
    assert caught.value.line is not None
    assert f"simple_blender_render.js line {caught.value.line}" in caught.value.message


def test_simple_blender_render_chunk_size_defaults_to_one(
    built_in_compilers: job_compilers.JobCompilers,
) -> None:
    submitted = example_job(frames="1-3")
    del submitted["settings"]["chunk_size"]
    job = built_in_compilers.compile_blocking(submitted, CREATED, None)
    assert [task.name for task in job.tasks] == [
        "render-1",
        "render-2",
        "render-3",
        "preview-video",
    ]
    assert job.settings["chunk_size"] == 1


# ------------------------------------------------------------ echo-sleep-test


def test_echo_sleep_test_compiles_echo_then_sleeps(
    built_in_compilers: job_compilers.JobCompilers,
) -> None:
    submitted = submitted_job(
        "echo-sleep-test",
        {"message": "prespavati", "sleep_duration_seconds": 3, "sleep_repeats": 3},
        name="pošalji poruku i idi na spavanje",
    )
    job = built_in_compilers.compile_blocking(submitted, CREATED, None)
    echo, *sleeps = job.tasks
    assert (echo.name, echo.task_type, echo.dependencies) == ("echo", "misc", [])
    assert echo.commands == [
        job_compilers.AuthoredCommand(
            name="echo", parameters={"message": "prespavati"}, total_step_count=0
        )
    ]
    assert len(sleeps) == 3
    for sleep in sleeps:
        assert (sleep.name, sleep.task_type, sleep.priority) == ("sleep", "misc", 50)
        assert sleep.commands == [
            job_compilers.AuthoredCommand(
                name="sleep", parameters={"duration_in_seconds": 3}, total_step_count=0
            )
        ]
        assert sleep.dependencies == [echo.uuid]


def test_echo_sleep_test_defaults(built_in_compilers: job_compilers.JobCompilers) -> None:
    job = built_in_compilers.compile_blocking(
        submitted_job("echo-sleep-test", {"message": "hey"}), CREATED, None
    )
    assert [task.name for task in job.tasks] == ["echo", "sleep"]
    assert job.tasks[1].commands[0].parameters == {"duration_in_seconds": 1}
    assert job.settings == {"message": "hey", "sleep_duration_seconds": 1, "sleep_repeats": 1}


# ----------------------------------------------------------- listing and etag

# Upstream's TestEtag pins this value for its echo-sleep-test job type; our
# script declares the same JOB_TYPE, and we hash it the same way.
UPSTREAM_ECHO_SLEEP_TEST_ETAG = "eba586e16d6b55baaa43e32f9e78ae514b457fee"


async def test_listing_offers_both_built_in_types_sorted(
    built_in_compilers: job_compilers.JobCompilers,
) -> None:
    listing = await built_in_compilers.list_job_types()
    assert listing.broken == []
    assert [job_type["name"] for job_type in listing.job_types] == [
        "echo-sleep-test",
        "preview-then-final",
        "simple-blender-render",
    ]
    echo = listing.job_types[0]
    assert echo == {
        "name": "echo-sleep-test",
        "label": "Echo Sleep Test",
        "settings": [
            {"key": "message", "type": "string", "required": True},
            {"key": "sleep_duration_seconds", "type": "int32", "default": 1},
            {"key": "sleep_repeats", "type": "int32", "default": 1},
        ],
        "etag": UPSTREAM_ECHO_SLEEP_TEST_ETAG,
    }


async def test_listing_passes_settings_through_as_declared(
    built_in_compilers: job_compilers.JobCompilers,
) -> None:
    render = await built_in_compilers.get_job_type("simple-blender-render")
    assert render["label"] == "Simple Blender Render"
    assert "description" in render
    settings = {setting["key"]: setting for setting in render["settings"]}
    assert list(settings) == [
        "frames",
        "chunk_size",
        "render_output_root",
        "add_path_components",
        "render_output_path",
        "blendfile",
        "fps",
        "format",
        "image_file_extension",
        "has_previews",
        "scene",
    ]
    frames = settings["frames"]
    assert frames["eval"] == "f'{C.scene.frame_start}-{C.scene.frame_end}'"
    assert frames["evalInfo"]["showLinkButton"] is True
    assert frames["required"] is True
    assert settings["add_path_components"]["propargs"] == {"min": 0, "max": 32}
    assert settings["add_path_components"]["default"] == 0
    assert settings["render_output_path"]["editable"] is False
    assert settings["render_output_path"]["subtype"] == "file_path"
    assert settings["fps"] == {
        "key": "fps",
        "type": "float",
        "eval": "C.scene.render.fps / C.scene.render.fps_base",
        "visible": "hidden",
    }
    assert settings["has_previews"]["required"] is False
    assert settings["scene"]["visible"] == "web"


async def test_get_job_type_unknown_raises(
    built_in_compilers: job_compilers.JobCompilers,
) -> None:
    with pytest.raises(job_compilers.JobTypeUnknown) as caught:
        await built_in_compilers.get_job_type("no-such-type")
    assert "no-such-type" in caught.value.message


async def test_etag_mismatch_refuses_the_job(
    built_in_compilers: job_compilers.JobCompilers,
) -> None:
    submitted = submitted_job("echo-sleep-test", {"message": "hey"}, type_etag="this is not it")
    with pytest.raises(job_compilers.JobTypeEtagMismatch) as caught:
        await built_in_compilers.compile(submitted, created=CREATED)
    assert UPSTREAM_ECHO_SLEEP_TEST_ETAG in caught.value.message


async def test_matching_etag_is_accepted(built_in_compilers: job_compilers.JobCompilers) -> None:
    submitted = submitted_job(
        "echo-sleep-test", {"message": "hey"}, type_etag=UPSTREAM_ECHO_SLEEP_TEST_ETAG
    )
    job = await built_in_compilers.compile(submitted, created=CREATED)
    assert len(job.tasks) == 2


@pytest.mark.parametrize("etag", [None, ""])
async def test_missing_etag_is_accepted_with_a_warning(
    built_in_compilers: job_compilers.JobCompilers,
    caplog: pytest.LogCaptureFixture,
    etag: str | None,
) -> None:
    submitted = submitted_job("echo-sleep-test", {"message": "hey"})
    if etag is not None:
        submitted["type_etag"] = etag
    with caplog.at_level(logging.WARNING, logger="flamenco.manager.job_compilers"):
        job = await built_in_compilers.compile(submitted, created=CREATED)
    assert len(job.tasks) == 2
    assert any("without a job type etag" in record.getMessage() for record in caplog.records)


async def test_compile_unknown_job_type_raises(
    built_in_compilers: job_compilers.JobCompilers,
) -> None:
    with pytest.raises(job_compilers.JobTypeUnknown):
        await built_in_compilers.compile(submitted_job("nope"), created=CREATED)


async def test_compile_refuses_naive_creation_time(
    built_in_compilers: job_compilers.JobCompilers,
) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        await built_in_compilers.compile(
            submitted_job("echo-sleep-test", {"message": "x"}),
            created=CREATED.replace(tzinfo=None),
        )


def test_task_uuids_are_random_version_4_uuids(
    built_in_compilers: job_compilers.JobCompilers,
) -> None:
    job = compile_example(built_in_compilers, frames="1-200", chunk_size=1)
    parsed = [uuid.UUID(task.uuid) for task in job.tasks]
    assert all(value.version == 4 and value.variant == uuid.RFC_4122 for value in parsed)
    assert [str(value) for value in parsed] == [task.uuid for task in job.tasks]
    assert len(set(parsed)) == len(parsed)
