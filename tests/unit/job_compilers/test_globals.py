"""The globals scripts rely on: author, path, process, print/alert, shellSplit, timestamps."""

from __future__ import annotations

import datetime
import json
import logging
import os
import pathlib
import subprocess
import sys
import zoneinfo
from collections.abc import Callable
from typing import Any

import pytest

from flamenco import crosspath
from flamenco.manager import job_compilers
from flamenco.manager.job_compilers import engine

from .conftest import CREATED, submitted_job

Evaluate = Callable[[str], Any]


# ---------------------------------------------------------------- author


def test_author_task_trims_name_and_type_and_defaults_priority(evaluate: Evaluate) -> None:
    task = evaluate("author.Task('  render-1 ', ' blender\\t')")
    assert task == {
        "name": "render-1",
        "type": "blender",
        "priority": 50,
        "commands": [],
        "dependencies": [],
    }


@pytest.mark.parametrize(
    ("call", "message"),
    [
        ("author.Task('', 'misc')", "author.Task(name, type): name is required"),
        ("author.Task('   ', 'misc')", "author.Task(name, type): name is required"),
        ("author.Task('echo', '')", "author.Task(name, type): type is required"),
        ("author.Task('echo')", "author.Task(name, type): type is required"),
    ],
)
def test_author_task_requires_name_and_type(evaluate: Evaluate, call: str, message: str) -> None:
    with pytest.raises(job_compilers.JobCompileError) as caught:
        evaluate(call)
    assert message in caught.value.script_message


def test_author_command_step_count_defaults_to_zero(evaluate: Evaluate) -> None:
    command = evaluate("author.Command('echo', {message: 'hi'})")
    assert command == {"name": "echo", "parameters": {"message": "hi"}, "totalStepCount": 0}
    assert evaluate("author.Command('render', {}, 12).totalStepCount") == 12


def test_author_command_copies_parameters_when_made(evaluate: Evaluate) -> None:
    # Upstream exports the parameters into a Go map at this call.
    result = evaluate(
        "(() => { const p = {a: 1}; const c = author.Command('x', p); p.a = 2; "
        "return c.parameters.a; })()"
    )
    assert result == 1


def test_author_command_rejects_non_object_parameters(evaluate: Evaluate) -> None:
    with pytest.raises(job_compilers.JobCompileError, match="parameters must be an object"):
        evaluate("author.Command('x', 'not an object')")


# ----------------------------------------------------- job and task objects

JOB_INSPECTOR = """\
const JOB_TYPE = { label: "Inspector", settings: [] };

function compileJob(job) {
  job.settings.seen = {
    name: job.name,
    jobType: job.jobType,
    priority: job.priority,
    jobID: job.jobID,
    status: job.status,
    createdIsDate: job.created instanceof Date,
    createdMs: job.created.getTime(),
    metadata: Object.assign({}, job.metadata),
    workerTagUUID: job.workerTagUUID,
    shamanCheckoutID: job.storage.shamanCheckoutID,
  };
  job.settings.added_by_script = "yes";
  job.metadata["compiled.by"] = "inspector";
  job.name = job.name + " (compiled)";
  job.priority = 70;

  const first = author.Task("first", "misc");
  first.priority = 10;
  first.addCommand(author.Command("echo", { message: "one" }));
  job.addTask(first);

  const second = author.Task("second", "misc");
  second.addDependency(first);
  [author.Command("echo", { message: "a" }), author.Command("sleep", { duration_in_seconds: 1 }, 1)]
    .forEach(second.addCommand);
  job.addTask(second);
}
"""


def test_job_and_task_fields_reach_the_script_and_changes_persist(
    scripts_dir: pathlib.Path,
) -> None:
    (scripts_dir / "inspector.js").write_text(JOB_INSPECTOR)
    compilers = job_compilers.JobCompilers(scripts_dir=scripts_dir)
    submitted = submitted_job(
        "inspector",
        {"given": 1},
        name="Shot 010",
        priority=42,
        metadata={"project": "Sprite Fright"},
        worker_tag="acce9983-e663-4210-b3cc-f7bfa629cb21",
        storage={"shaman_checkout_id": "checkout/010"},
    )
    job = compilers.compile_blocking(submitted, CREATED, "8b6f2a6e-0000-4000-8000-000000000001")

    seen = job.settings["seen"]
    assert seen == {
        "name": "Shot 010",
        "jobType": "inspector",
        "priority": 42,
        "jobID": "8b6f2a6e-0000-4000-8000-000000000001",
        "status": "under-construction",
        "createdIsDate": True,
        "createdMs": 1136214245000,
        "metadata": {"project": "Sprite Fright"},
        "workerTagUUID": "acce9983-e663-4210-b3cc-f7bfa629cb21",
        "shamanCheckoutID": "checkout/010",
    }
    assert job.settings["given"] == 1
    assert job.settings["added_by_script"] == "yes"
    assert job.metadata == {"project": "Sprite Fright", "compiled.by": "inspector"}
    assert job.name == "Shot 010 (compiled)"
    assert job.priority == 70
    assert job.job_id == "8b6f2a6e-0000-4000-8000-000000000001"
    assert job.job_type == "inspector"
    assert job.created == CREATED
    assert job.created.tzinfo is datetime.UTC

    first, second = job.tasks
    assert (first.name, first.task_type, first.priority) == ("first", "misc", 10)
    assert second.priority == 50
    assert second.dependencies == [first.uuid]
    assert [(command.name, command.total_step_count) for command in second.commands] == [
        ("echo", 0),
        ("sleep", 1),
    ]


SNAPSHOTS = """\
const JOB_TYPE = { label: "Snapshots", settings: [] };

function compileJob(job) {
  const task = author.Task("task", "misc");
  const command = author.Command("echo", { message: "before" });
  task.addCommand(command);
  command.totalStepCount = 99;      // after addCommand: not seen, as upstream
  command.parameters.message = "changed through the command";  // shared map: seen
  job.addTask(task);
  task.priority = 1;                // after addTask: not seen, as upstream
  task.addCommand(author.Command("late", {}));
}
"""


def test_tasks_and_commands_are_captured_when_added_as_upstream(
    scripts_dir: pathlib.Path,
) -> None:
    (scripts_dir / "snapshots.js").write_text(SNAPSHOTS)
    compilers = job_compilers.JobCompilers(scripts_dir=scripts_dir)
    job = compilers.compile_blocking(submitted_job("snapshots"), CREATED, None)
    (task,) = job.tasks
    assert task.priority == 50
    assert [command.name for command in task.commands] == ["echo"]
    assert task.commands[0].total_step_count == 0
    assert task.commands[0].parameters == {"message": "changed through the command"}


def test_job_id_is_generated_when_not_given(built_in_compilers: job_compilers.JobCompilers) -> None:
    job = built_in_compilers.compile_blocking(
        submitted_job("echo-sleep-test", {"message": "hi"}), CREATED, None
    )
    assert len(job.job_id) == 36
    assert len({task.uuid for task in job.tasks}) == len(job.tasks)


# --------------------------------------------------------- print and alert


def test_print_and_alert_go_to_the_log(
    evaluate: Evaluate, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="flamenco.manager.job_compilers"):
        evaluate("print('frames:', 12, {a: [1]}), alert('careful', undefined)")
    messages = [(record.levelno, record.getMessage()) for record in caplog.records]
    assert (logging.INFO, 'probe.js: frames: 12 {"a":[1]}') in messages
    assert (logging.WARNING, "probe.js: careful undefined") in messages


def test_print_output_is_capped(evaluate: Evaluate, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="flamenco.manager.job_compilers"):
        evaluate("(() => { for (let i = 0; i < 1500; i++) print('line', i); })()")
    printed = [record for record in caplog.records if "probe.js: line" in record.getMessage()]
    assert len(printed) == 1000
    assert any("500 more lines" in record.getMessage() for record in caplog.records)


# ------------------------------------------------------ formatTimestampLocal


def test_format_timestamp_local_uses_the_managers_local_time(evaluate: Evaluate) -> None:
    expected = CREATED.astimezone().strftime("%Y-%m-%d_%H%M%S")
    assert (
        evaluate(f"formatTimestampLocal(new Date({int(CREATED.timestamp() * 1000)}))") == expected
    )


def test_format_timestamp_local_formats_local_fields(evaluate: Evaluate) -> None:
    assert evaluate("formatTimestampLocal(new Date(2006, 0, 2, 15, 4, 5))") == "2006-01-02_150405"
    assert evaluate("formatTimestampLocal(new Date(987, 11, 31, 1, 2, 3))") == "0987-12-31_010203"


def test_format_timestamp_local_rejects_what_is_not_a_date(evaluate: Evaluate) -> None:
    with pytest.raises(job_compilers.JobCompileError, match="not a date"):
        evaluate("formatTimestampLocal('yesterday')")


# ------------------------------------------------------------- shellSplit


@pytest.mark.parametrize(
    ("command_line", "expected"),
    [
        ("", []),
        ("  -b   -y  ", ["-b", "-y"]),
        (
            # The example of the Go shlex package that upstream uses.
            'one two "three four" "five \\"six\\"" seven#eight # nine # ten\n eleven \'twelve\\\'',
            ["one", "two", "three four", 'five "six"', "seven#eight", "eleven", "twelve\\"],
        ),
        ("--python-expr 'import bpy; print(1)'", ["--python-expr", "import bpy; print(1)"]),
        ("a\\ b c", ["a b", "c"]),
        ('"a\\b"', ["ab"]),
        ("'' \"\"", ["", ""]),
        ("key=value /path/to/file C:\\\\dir", ["key=value", "/path/to/file", "C:\\dir"]),
        ("-o 'it''s'", ["-o", "its"]),
        ("ünïcode 'wörds here'", ["ünïcode", "wörds here"]),
    ],
)
def test_shell_split_splits_like_upstream(
    evaluate: Evaluate, command_line: str, expected: list[str]
) -> None:
    assert evaluate(f"shellSplit({json.dumps(command_line)})") == expected


@pytest.mark.parametrize(
    ("command_line", "message"),
    [
        ("'unbalanced", "EOF found when expecting closing quote"),
        ('say "unbalanced', "EOF found when expecting closing quote"),
        ("trailing\\", "EOF found after escape character"),
    ],
)
def test_shell_split_throws_on_unbalanced_quotes(
    evaluate: Evaluate, command_line: str, message: str
) -> None:
    with pytest.raises(job_compilers.JobCompileError, match=message):
        evaluate(f"shellSplit({json.dumps(command_line)})")


# ------------------------------------------------------------------- path

PATHS = [
    "",
    ".",
    "/",
    "justafile.txt",
    "/Linux path/with spaces.txt",
    "/Mixed path\\with/slash.txt",
    "C:\\ünicode\\is\\awésom.tar.gz",
    "C:\\file-at-root",
    "\\\\SERVER\\ünicode\\is\\awésom.tar.gz",
    "\\\\?\\UNC\\ComputerName\\SharedFolder\\Resource with ext.ension",
    "/render/out/######",
    "trailing/slash/",
    "R:\\sf\\jobs\\scene123.flamenco.blend",
    ".bashrc",
]


@pytest.mark.parametrize("function", ["basename", "dirname", "stem"])
def test_path_functions_match_crosspath(evaluate: Evaluate, function: str) -> None:
    python_functions = {
        "basename": crosspath.base,
        "dirname": crosspath.dir,
        "stem": crosspath.stem,
    }
    results = evaluate(f"{json.dumps(PATHS)}.map((p) => path.{function}(p))")
    assert results == [python_functions[function](item) for item in PATHS]


@pytest.mark.parametrize(
    "elements",
    [
        [],
        [""],
        ["", ""],
        ["", "", "a", "", "b", ""],
        ["/", "file-at-root"],
        ["C:", "file-at-root"],
        ["/Linux path", "with spaces.txt"],
        ["C:\\ünicode", "is\\awésom.tar.gz"],
        ["\\\\SERVER", "mount", "dir", "file.txt"],
        ["\\\\?\\UNC\\ComputerName", "SharedFolder\\Resource"],
        ["/render/out/", "../other/./x"],
        ["a", "..", "..", "b"],
    ],
)
def test_path_join_matches_crosspath(evaluate: Evaluate, elements: list[str]) -> None:
    arguments = ", ".join(json.dumps(element) for element in elements)
    assert evaluate(f"path.join({arguments})") == crosspath.join(*elements)


def test_path_join_examples_from_upstream(evaluate: Evaluate) -> None:
    assert (
        evaluate("path.join('C:\\\\ünicode', 'is\\\\awésom.tar.gz')")
        == "C:/ünicode/is/awésom.tar.gz"
    )
    assert evaluate("path.join('\\\\\\\\SERVER', 'mount', 'file.txt')") == "//SERVER/mount/file.txt"
    assert evaluate("path.dirname('C:\\\\file-at-root')") == "C:"
    assert evaluate("path.stem('/path/to/stem.tar.gz')") == "stem.tar"


# ---------------------------------------------------------------- process


def test_process_reports_cwd_and_go_platform(evaluate: Evaluate) -> None:
    assert evaluate("process.cwd()") == os.getcwd()
    assert evaluate("process.platform") == engine.go_platform()


@pytest.mark.parametrize(
    ("python_platform", "goos"),
    [
        ("linux", "linux"),
        ("win32", "windows"),
        ("darwin", "darwin"),
        ("freebsd14", "freebsd"),
        ("openbsd7", "openbsd"),
    ],
)
def test_go_platform_uses_goos_names(
    monkeypatch: pytest.MonkeyPatch, python_platform: str, goos: str
) -> None:
    monkeypatch.setattr(sys, "platform", python_platform)
    assert engine.go_platform() == goos


# ------------------------------------------------ the script's environment


def test_scripts_run_in_strict_mode_as_upstream(scripts_dir: pathlib.Path) -> None:
    (scripts_dir / "sloppy.js").write_text(
        "const JOB_TYPE = { label: 'Sloppy', settings: [] };\n"
        "function compileJob(job) {\n"
        "  undeclaredVariable = 1;\n"
        "}\n"
    )
    compilers = job_compilers.JobCompilers(scripts_dir=scripts_dir)
    with pytest.raises(job_compilers.JobCompileError) as caught:
        compilers.compile_blocking(submitted_job("sloppy"), CREATED, None)
    assert caught.value.script_message == "ReferenceError: undeclaredVariable is not defined"
    assert (caught.value.file, caught.value.line) == ("sloppy.js", 3)


def test_globals_can_be_shadowed_by_top_level_declarations(scripts_dir: pathlib.Path) -> None:
    (scripts_dir / "node_style.js").write_text(
        'const path = require("path");\n'
        'const author = require("author");\n'
        "const JOB_TYPE = { label: 'Node style', settings: [] };\n"
        "function compileJob(job) {\n"
        "  const task = author.Task(path.basename('/a/b.blend'), 'misc');\n"
        "  job.addTask(task);\n"
        "}\n"
    )
    compilers = job_compilers.JobCompilers(scripts_dir=scripts_dir)
    job = compilers.compile_blocking(submitted_job("node-style"), CREATED, None)
    assert [task.name for task in job.tasks] == ["b.blend"]


def test_native_modules_are_the_globals(evaluate: Evaluate) -> None:
    assert (
        evaluate(
            "require('author') === author && require('path') === path "
            "&& require('process') === process"
        )
        is True
    )


TIMESTAMP_IN_ANOTHER_ZONE = """\
import datetime, zoneinfo
from flamenco.manager import job_compilers
zone = zoneinfo.ZoneInfo("America/New_York")
compilers = job_compilers.JobCompilers(scripts_dir=None)
submitted = {
    "name": "tz", "type": "simple-blender-render", "priority": 50, "submitter_platform": "linux",
    "settings": {
        "frames": "1", "blendfile": "/a.blend", "render_output_root": "/r",
        "add_path_components": 0, "render_output_path": "/r/{timestamp}/######",
        "format": "PNG", "image_file_extension": ".png", "scene": "Scene",
    },
}
created = datetime.datetime(2006, 1, 2, 15, 4, 5, tzinfo=zone)
job = compilers.compile_blocking(submitted, created, None)
print(job.settings["render_output_path"])
"""


def test_format_timestamp_local_follows_the_managers_time_zone() -> None:
    try:
        zoneinfo.ZoneInfo("America/New_York")
    except zoneinfo.ZoneInfoNotFoundError:
        pytest.skip("no time zone database")
    result = subprocess.run(
        [sys.executable, "-c", TIMESTAMP_IN_ANOTHER_ZONE],
        env={**os.environ, "TZ": "America/New_York"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    # As upstream's test: a job created at 15:04:05 local time gets that time.
    assert result.stdout.strip() == "/r/2006-01-02_150405/######"
