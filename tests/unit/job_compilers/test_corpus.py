"""Custom job types written in upstream's style (corpus/), compiled end to end."""

from __future__ import annotations

import pytest

from flamenco.manager import job_compilers

from .conftest import CORPUS_DIR, CREATED, submitted_job


@pytest.fixture(scope="module")
def corpus() -> job_compilers.JobCompilers:
    return job_compilers.JobCompilers(scripts_dir=CORPUS_DIR)


async def test_corpus_listing_has_every_type_and_no_broken_ones(
    corpus: job_compilers.JobCompilers,
) -> None:
    listing = await corpus.list_job_types()
    assert [job_type["name"] for job_type in listing.job_types] == [
        "bake-then-render",
        "echo-sleep-test",
        "preview-then-final",
        "shot-render",
        "simple-blender-render",
        "single-frame-render",
    ]
    # render_helpers.js is a module for require(), not a broken job type.
    assert listing.broken == []
    single = next(t for t in listing.job_types if t["name"] == "single-frame-render")
    assert single["settings"][3] == {
        "choices": ["PNG", "OPEN_EXR", "JPEG"],
        "default": "PNG",
        "key": "format",
        "type": "string",
    }
    shot = next(t for t in listing.job_types if t["name"] == "shot-render")
    assert shot["settings"][2]["default"] == 4  # read from shot_defaults.json


async def test_single_frame_render(corpus: job_compilers.JobCompilers) -> None:
    submitted = submitted_job(
        "single-frame-render",
        {
            "frame": 42,
            "blendfile": "/shots/lookdev.blend",
            "scene": "Lookdev",
            "render_output_path": "/renders/{timestamp}/still-####",
            "samples": 256,
        },
    )
    job = await corpus.compile(submitted, created=CREATED)
    stamp = CREATED.astimezone().strftime("%Y-%m-%d_%H%M%S")
    assert job.settings["render_output_path"] == f"/renders/{stamp}/still-####"
    assert job.settings["format"] == "PNG"  # its default
    (task,) = job.tasks
    assert (task.name, task.task_type, task.priority, task.dependencies) == (
        "render-frame-42",
        "blender",
        60,
        [],
    )
    assert task.commands == [
        job_compilers.AuthoredCommand(
            name="blender-render",
            parameters={
                "exe": "{blender}",
                "exeArgs": "{blenderArgs}",
                "argsBefore": [],
                "blendfile": "/shots/lookdev.blend",
                "args": [
                    "--scene", "Lookdev",
                    "--python-expr", "import bpy; bpy.context.scene.cycles.samples = 256",
                    "--render-output", f"/renders/{stamp}/still-####",
                    "--render-format", "PNG",
                    "--render-frame", "42",
                ],
            },
            total_step_count=1,
        )
    ]  # fmt: skip


async def test_single_frame_render_refuses_a_format_outside_its_choices(
    corpus: job_compilers.JobCompilers,
) -> None:
    submitted = submitted_job(
        "single-frame-render",
        {"frame": 1, "blendfile": "/a.blend", "render_output_path": "/r/x", "format": "TIFF"},
    )
    with pytest.raises(job_compilers.JobSettingsInvalid) as caught:
        await corpus.compile(submitted, created=CREATED)
    assert caught.value.key == "format"


async def test_bake_then_render(corpus: job_compilers.JobCompilers) -> None:
    submitted = submitted_job(
        "bake-then-render",
        {
            "frames": "1-12",
            "blendfile": "/shots/010/fluid.blend",
            "render_output_path": "/renders/010/######",
            "format": "OPEN_EXR",
        },
    )
    job = await corpus.compile(submitted, created=CREATED)
    names = [task.name for task in job.tasks]
    assert names == [
        "bake-simulations",
        "render-1-5",
        "render-6-10",
        "render-11,12",
        "remove-baked-file",
    ]
    bake, *renders, cleanup = job.tasks

    baked_file = "/shots/010/fluid-baked.blend"
    assert bake.priority == 80
    assert bake.commands[0].parameters["args"] == [
        "--python-expr",
        "import bpy; bpy.ops.ptcache.bake_all(bake=True); "
        f'bpy.ops.wm.save_as_mainfile(filepath="{baked_file}")',
    ]
    assert bake.commands[0].total_step_count == 12

    for render, frames, steps in zip(renders, ["1..5", "6..10", "11,12"], [5, 5, 2], strict=True):
        assert render.dependencies == [bake.uuid]
        (command,) = render.commands
        assert command.parameters["blendfile"] == baked_file
        assert command.parameters["args"] == [
            "--render-output", "/renders/010/######",
            "--render-format", "OPEN_EXR",
            "--render-frame", frames,
        ]  # fmt: skip
        assert command.total_step_count == steps

    assert cleanup.task_type == "file-management"
    assert cleanup.dependencies == [render.uuid for render in renders]
    assert cleanup.commands[0].parameters == {"src": baked_file, "dest": f"{baked_file}.done"}


async def test_shot_render_uses_a_helper_module_and_json(
    corpus: job_compilers.JobCompilers,
) -> None:
    submitted = submitted_job(
        "shot-render",
        {
            "shot": "sh020",
            "frames": "1-6",
            "blendfile": "/shots/020.blend",
            "output_root": "/renders",
            "extra_args": "--engine CYCLES --python-expr 'import bpy; print(1)'",
        },
    )
    job = await corpus.compile(submitted, created=CREATED)
    assert [task.name for task in job.tasks] == ["sh020-1-4", "sh020-5,6"]
    command = job.tasks[1].commands[0]
    assert command.name == "blender-render"
    assert command.parameters == {
        "exe": "{blender}",
        "exeArgs": "{blenderArgs}",
        "argsBefore": [],
        "blendfile": "/shots/020.blend",
        "args": [
            "--engine", "CYCLES",
            "--python-expr", "import bpy; print(1)",
            "--render-output", "/renders/sh020/######",
            "--render-frame", "5,6",
        ],
    }  # fmt: skip
    assert command.total_step_count == 2
