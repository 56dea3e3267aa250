"""A job type whose tasks take a resource limit, and helpers for capacity tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from support.spec_client import SpecCheckedClient

LICENSED_COMP_JS = """\
// Test job type: `tasks` independent comp tasks, each taking a nuke-licence, then
// `misc_tasks` misc tasks that take none.
const JOB_TYPE = {
  label: "Licensed Comp",
  settings: [
    { key: "tasks", type: "int32", default: 4 },
    { key: "misc_tasks", type: "int32", default: 0 },
  ],
  resourceLimits: { comp: ["nuke-licence"] },
};

function compileJob(job) {
  for (let index = 0; index < job.settings.tasks; index++) {
    const task = author.Task(`comp-${index}`, "comp");
    task.addCommand(author.Command("echo", { message: `comp ${index}` }));
    job.addTask(task);
  }
  for (let index = 0; index < job.settings.misc_tasks; index++) {
    const task = author.Task(`misc-${index}`, "misc");
    task.addCommand(author.Command("echo", { message: `misc ${index}` }));
    job.addTask(task);
  }
}
"""

# Comp Workers run the licensed tasks; the usual test types too.
COMP_TASK_TYPES = ("comp", "misc")


def write_licensed_comp_job_type(scripts_dir: Path) -> None:
    scripts_dir.mkdir(parents=True, exist_ok=True)
    (scripts_dir / "licensed_comp.js").write_text(LICENSED_COMP_JS, encoding="utf-8")


def licensed_comp_job(
    *, name: str = "comp job", tasks: int = 4, misc_tasks: int = 0, **extra: Any
) -> dict[str, Any]:
    job: dict[str, Any] = {
        "name": name,
        "type": "licensed-comp",
        "priority": 50,
        "submitter_platform": "linux",
        "settings": {"tasks": tasks, "misc_tasks": misc_tasks},
        "metadata": {},
    }
    job.update(extra)
    return job


async def submit(client: SpecCheckedClient, job: dict[str, Any]) -> dict[str, Any]:
    reply = await client.post("/api/v3/jobs", json_body=job, expect=200)
    submitted: dict[str, Any] = reply.json()
    return submitted


async def limit_use(client: SpecCheckedClient) -> dict[str, tuple[int, int]]:
    """Each limit's (in use, capacity), from the API."""
    reply = await client.get("/api/v3/resource-limits", expect=200)
    return {limit["name"]: (limit["in_use"], limit["capacity"]) for limit in reply.json()["limits"]}
