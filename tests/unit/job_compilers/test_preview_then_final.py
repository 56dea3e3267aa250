"""The built-in "preview then final" job type: preview frames, an approval, then all frames."""

from __future__ import annotations

from typing import Any

import pytest

from flamenco.manager import job_compilers

from .conftest import CREATED, submitted_job

SETTINGS: dict[str, Any] = {
    "blendfile": "/render/jobs/shot.blend",
    "chunk_size": 2,
    "frames": "1-10",
    "preview_every_nth": 4,
    "preview_resolution_percentage": 20,
    "render_output_root": "/render/out",
    "add_path_components": 0,
    "render_output_path": "/render/out/shot/{timestamp}/######",
    "fps": 24.0,
    "format": "PNG",
    "image_file_extension": ".png",
    "scene": "Scene",
}


async def _compile(**settings: Any) -> job_compilers.AuthoredJob:
    compilers = job_compilers.JobCompilers(scripts_dir=None)
    job = submitted_job("preview-then-final", {**SETTINGS, **settings})
    return await compilers.compile(job, created=CREATED)


async def test_preview_tasks_then_approval_then_full_range() -> None:
    job = await _compile()
    names = [task.name for task in job.tasks]
    # Every 4th frame of 1-10 is 1, 5, 9; in chunks of two.
    assert names == [
        "preview-1,5",
        "preview-9",
        "approve-preview",
        "render-1,2",
        "render-3,4",
        "render-5,6",
        "render-7,8",
        "render-9,10",
    ]
    by_name = {task.name: task for task in job.tasks}
    approval = by_name["approve-preview"]
    assert approval.task_type == "approval"
    assert approval.commands == []
    assert approval.dependencies == [by_name["preview-1,5"].uuid, by_name["preview-9"].uuid]
    for task in job.tasks[3:]:
        assert task.dependencies == [approval.uuid]

    preview_args = by_name["preview-1,5"].commands[0].parameters["args"]
    assert "r.resolution_percentage = 20" in preview_args[preview_args.index("--python-expr") + 1]
    assert preview_args[preview_args.index("--render-frame") + 1] == "1,5"
    assert "/preview/" in preview_args[preview_args.index("--render-output") + 1]
    final_args = by_name["render-1,2"].commands[0].parameters["args"]
    assert "resolution_percentage" not in final_args[final_args.index("--python-expr") + 1]
    assert final_args[final_args.index("--render-frame") + 1] == "1,2"
    assert "/preview/" not in final_args[final_args.index("--render-output") + 1]


@pytest.mark.parametrize("settings", [{"preview_every_nth": 0}, {"format": "FFMPEG"}])
async def test_nonsense_settings_are_refused(settings: dict[str, Any]) -> None:
    with pytest.raises(job_compilers.JobCompilerError):
        await _compile(**settings)
