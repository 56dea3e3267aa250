"""Scripts that throw, loop forever, eat memory or author impossible jobs; the Manager lives on."""

from __future__ import annotations

import asyncio
import pathlib
import time

import pytest

from flamenco.manager import job_compilers

from .conftest import CREATED, submitted_job

SCRIPTS = {
    "throws_error.js": """\
const JOB_TYPE = { label: "Throws", settings: [] };

function compileJob(job) {
  const task = author.Task("a", "misc");
  throw new Error(`cannot render ${job.name}`);
}
""",
    "throws_string.js": """\
const JOB_TYPE = { label: "Throws a string", settings: [] };
function compileJob(job) {
  throw "this job type\\nsays no";
}
""",
    "bad_range.js": """\
const JOB_TYPE = { label: "Bad range", settings: [] };
function compileJob(job) {
  const chunks = frameChunker("1-10", 2);
  return frameChunker("ten to twenty", 2);
}
""",
    "endless.js": """\
const JOB_TYPE = { label: "Endless", settings: [] };
function compileJob(job) {
  for (;;) {}
}
""",
    "memory_hog.js": """\
const JOB_TYPE = { label: "Memory hog", settings: [] };
function compileJob(job) {
  const hoard = [];
  for (;;) hoard.push({ index: hoard.length, text: "frame " + hoard.length });
}
""",
    "twice_added.js": """\
const JOB_TYPE = { label: "Twice", settings: [] };
function compileJob(job) {
  const task = author.Task("again", "misc");
  job.addTask(task);
  job.addTask(task);
}
""",
    "orphan_dependency.js": """\
const JOB_TYPE = { label: "Orphan", settings: [] };
function compileJob(job) {
  const ghost = author.Task("ghost", "misc");
  const task = author.Task("real", "misc");
  task.addDependency(ghost);
  job.addTask(task);
}
""",
    "cycle.js": """\
const JOB_TYPE = { label: "Cycle", settings: [] };
function compileJob(job) {
  const a = author.Task("a", "misc");
  const b = author.Task("b", "misc");
  a.addDependency(b);
  b.addDependency(a);
  const c = author.Task("c", "misc");
  c.addDependency(c);
  job.addTask(a);
  job.addTask(b);
  job.addTask(c);
}
""",
    "forward_dependency.js": """\
const JOB_TYPE = { label: "Forward", settings: [] };
function compileJob(job) {
  const merge = author.Task("merge", "misc");
  const parts = [author.Task("part-1", "misc"), author.Task("part-2", "misc")];
  parts.forEach((part) => merge.addDependency(part));
  merge.addDependency(parts[0]);
  job.addTask(merge);
  parts.forEach((part) => job.addTask(part));
}
""",
    "not_a_task.js": """\
const JOB_TYPE = { label: "Not a task", settings: [] };
function compileJob(job) {
  job.addTask({ name: "fake", type: "misc" });
}
""",
    "bad_settings_object.js": """\
const JOB_TYPE = { label: "Settings gone", settings: [] };
function compileJob(job) {
  job.settings = "nothing";
}
""",
}


@pytest.fixture(scope="module")
def unsafe_dir(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    folder = tmp_path_factory.mktemp("unsafe-scripts")
    for file_name, source in SCRIPTS.items():
        (folder / file_name).write_text(source)
    return folder


@pytest.fixture(scope="module")
def compilers(unsafe_dir: pathlib.Path) -> job_compilers.JobCompilers:
    return job_compilers.JobCompilers(scripts_dir=unsafe_dir, timeout_seconds=0.3)


@pytest.fixture(scope="module")
def small_memory_compilers(unsafe_dir: pathlib.Path) -> job_compilers.JobCompilers:
    # A generous time limit, so that the memory limit is what stops the hog.
    return job_compilers.JobCompilers(
        scripts_dir=unsafe_dir, timeout_seconds=30, max_memory_bytes=32 * 2**20
    )


async def compile_type(
    compilers: job_compilers.JobCompilers, job_type: str
) -> job_compilers.AuthoredJob:
    return await compilers.compile(submitted_job(job_type, name="Shot 7"), created=CREATED)


async def test_thrown_error_gives_the_message_and_line(
    compilers: job_compilers.JobCompilers,
) -> None:
    with pytest.raises(job_compilers.JobCompileError) as caught:
        await compile_type(compilers, "throws-error")
    error = caught.value
    assert error.script_message == "Error: cannot render Shot 7"
    assert (error.file, error.line) == ("throws_error.js", 5)
    assert error.message == "Error: cannot render Shot 7 (at throws_error.js line 5)"


async def test_thrown_string_gives_the_message_and_line(
    compilers: job_compilers.JobCompilers,
) -> None:
    with pytest.raises(job_compilers.JobCompileError) as caught:
        await compile_type(compilers, "throws-string")
    assert caught.value.script_message == "this job type\nsays no"
    assert (caught.value.file, caught.value.line) == ("throws_string.js", 3)


async def test_runtime_error_points_at_the_scripts_call(
    compilers: job_compilers.JobCompilers,
) -> None:
    with pytest.raises(job_compilers.JobCompileError) as caught:
        await compile_type(compilers, "bad-range")
    assert 'invalid range "ten to twenty"' in caught.value.script_message
    assert (caught.value.file, caught.value.line) == ("bad_range.js", 4)


async def test_endless_loop_is_stopped_and_the_next_compile_works(
    compilers: job_compilers.JobCompilers,
) -> None:
    started = time.monotonic()
    with pytest.raises(job_compilers.JobScriptLimitExceeded) as caught:
        await compile_type(compilers, "endless")
    assert caught.value.limit == "time"
    assert "endless.js ran longer than 0.3 seconds" in caught.value.message
    assert time.monotonic() - started < 5
    job = await compilers.compile(
        submitted_job("echo-sleep-test", {"message": "still here"}), created=CREATED
    )
    assert [task.name for task in job.tasks] == ["echo", "sleep"]


async def test_memory_blow_up_is_stopped_and_the_next_compile_works(
    small_memory_compilers: job_compilers.JobCompilers,
) -> None:
    with pytest.raises(job_compilers.JobScriptLimitExceeded) as caught:
        await compile_type(small_memory_compilers, "memory-hog")
    assert caught.value.limit == "memory"
    assert "memory_hog.js used more than 32 MiB of memory" in caught.value.message
    job = await small_memory_compilers.compile(
        submitted_job("echo-sleep-test", {"message": "still here"}), created=CREATED
    )
    assert len(job.tasks) == 2


async def test_event_loop_keeps_running_while_a_script_loops(
    compilers: job_compilers.JobCompilers,
) -> None:
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticking = asyncio.create_task(ticker())
    try:
        with pytest.raises(job_compilers.JobScriptLimitExceeded):
            await compile_type(compilers, "endless")
    finally:
        ticking.cancel()
    # 0.3 s of JavaScript; a blocked loop would not have ticked at all.
    assert ticks >= 5


async def test_concurrent_compiles_do_not_interfere(
    compilers: job_compilers.JobCompilers,
) -> None:
    async def echo(index: int) -> job_compilers.AuthoredJob:
        return await compilers.compile(
            submitted_job("echo-sleep-test", {"message": f"job {index}", "sleep_repeats": index}),
            created=CREATED,
        )

    jobs = await asyncio.gather(*(echo(index) for index in range(1, 9)))
    for index, job in enumerate(jobs, start=1):
        assert job.tasks[0].commands[0].parameters == {"message": f"job {index}"}
        assert len(job.tasks) == index + 1


async def test_a_limit_in_one_compile_does_not_break_concurrent_ones(
    compilers: job_compilers.JobCompilers,
    small_memory_compilers: job_compilers.JobCompilers,
) -> None:
    results = await asyncio.gather(
        compile_type(compilers, "endless"),
        compilers.compile(submitted_job("echo-sleep-test", {"message": "a"}), created=CREATED),
        compile_type(small_memory_compilers, "memory-hog"),
        compilers.compile(submitted_job("echo-sleep-test", {"message": "b"}), created=CREATED),
        return_exceptions=True,
    )
    assert isinstance(results[0], job_compilers.JobScriptLimitExceeded)
    assert isinstance(results[1], job_compilers.AuthoredJob)
    assert isinstance(results[2], job_compilers.JobScriptLimitExceeded)
    assert isinstance(results[3], job_compilers.AuthoredJob)


async def test_blocking_calls_refuse_to_run_on_the_event_loop(
    compilers: job_compilers.JobCompilers,
) -> None:
    with pytest.raises(RuntimeError, match="off the event loop"):
        compilers.list_job_types_blocking()


@pytest.mark.parametrize(
    ("job_type", "message"),
    [
        ("twice-added", 'task "again" was added to the job more than once'),
        ("orphan-dependency", 'task "real" depends on task "ghost", which was not added'),
        ("not-a-task", "job.addTask(task): expected a task made by author.Task()"),
        ("bad-settings-object", "job.settings must be an object"),
        ("cycle", "task dependencies form a cycle; these tasks could never run: 'a', 'b', 'c'"),
    ],
)
async def test_impossible_jobs_are_refused(
    compilers: job_compilers.JobCompilers, job_type: str, message: str
) -> None:
    with pytest.raises(job_compilers.JobCompileError) as caught:
        await compile_type(compilers, job_type)
    assert message in caught.value.message


async def test_dependency_on_a_task_added_later_is_allowed_as_upstream(
    compilers: job_compilers.JobCompilers,
) -> None:
    job = await compile_type(compilers, "forward-dependency")
    merge, first, second = job.tasks
    assert merge.name == "merge"
    # Duplicates collapse; the order is the order of addDependency().
    assert merge.dependencies == [first.uuid, second.uuid]


async def test_limits_are_validated() -> None:
    with pytest.raises(ValueError, match="timeout_seconds"):
        job_compilers.JobCompilers(scripts_dir=None, timeout_seconds=0)
    with pytest.raises(ValueError, match="max_memory_bytes"):
        job_compilers.JobCompilers(scripts_dir=None, max_memory_bytes=0)
