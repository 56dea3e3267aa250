"""Custom job types from the scripts folder: discovery, overrides, reloading, and broken files."""

from __future__ import annotations

import pathlib
import subprocess
import sys
import textwrap

import pytest

from flamenco.manager import job_compilers
from flamenco.manager.job_compilers import loader

from .conftest import CREATED, submitted_job


def job_type_script(label: str, task_name: str = "only", *, extra: str = "") -> str:
    return (
        f"const JOB_TYPE = {{ label: {label!r}, settings: [] }};\n"
        f"{extra}"
        "function compileJob(job) {\n"
        f"  job.addTask(author.Task({task_name!r}, 'misc'));\n"
        "}\n"
    )


BUILT_IN = ["echo-sleep-test", "preview-then-final", "simple-blender-render"]


def names(listing: job_compilers.JobTypeListing) -> list[str]:
    return [job_type["name"] for job_type in listing.job_types]


async def test_custom_script_is_listed_under_its_file_stem_with_dashes(
    scripts_dir: pathlib.Path,
) -> None:
    (scripts_dir / "my_custom_type.js").write_text(job_type_script("Mine"))
    compilers = job_compilers.JobCompilers(scripts_dir=scripts_dir)
    listing = await compilers.list_job_types()
    assert names(listing) == [
        "echo-sleep-test",
        "my-custom-type",
        "preview-then-final",
        "simple-blender-render",
    ]
    mine = await compilers.get_job_type("my-custom-type")
    assert mine["label"] == "Mine"
    assert "description" not in mine
    assert len(mine["etag"]) == 40


async def test_only_js_files_of_eight_bytes_or_more_count(scripts_dir: pathlib.Path) -> None:
    (scripts_dir / "notes.txt").write_text(job_type_script("Text"))
    (scripts_dir / "upper.JS").write_text(job_type_script("Upper"))
    (scripts_dir / "tiny.js").write_text("//1234\n")
    (scripts_dir / "folder.js").mkdir()
    (scripts_dir / "lib").mkdir()
    (scripts_dir / "lib" / "nested_type.js").write_text(job_type_script("Nested"))
    compilers = job_compilers.JobCompilers(scripts_dir=scripts_dir)
    listing = await compilers.list_job_types()
    assert names(listing) == BUILT_IN
    assert listing.broken == []


async def test_missing_scripts_folder_leaves_the_built_ins(tmp_path: pathlib.Path) -> None:
    compilers = job_compilers.JobCompilers(scripts_dir=tmp_path / "does-not-exist")
    assert names(await compilers.list_job_types()) == BUILT_IN


async def test_custom_script_overrides_built_in_of_the_same_name(
    scripts_dir: pathlib.Path,
) -> None:
    (scripts_dir / "echo_sleep_test.js").write_text(job_type_script("Studio Echo", "studio-echo"))
    compilers = job_compilers.JobCompilers(scripts_dir=scripts_dir)
    listing = await compilers.list_job_types()
    echo = next(t for t in listing.job_types if t["name"] == "echo-sleep-test")
    assert echo["label"] == "Studio Echo"
    job = await compilers.compile(submitted_job("echo-sleep-test"), created=CREATED)
    assert [task.name for task in job.tasks] == ["studio-echo"]


async def test_edits_apply_to_the_next_request_without_restart(
    scripts_dir: pathlib.Path,
) -> None:
    script = scripts_dir / "evolving.js"
    script.write_text(job_type_script("First", "first-task"))
    compilers = job_compilers.JobCompilers(scripts_dir=scripts_dir)
    before = await compilers.get_job_type("evolving")
    job = await compilers.compile(submitted_job("evolving"), created=CREATED)
    assert [task.name for task in job.tasks] == ["first-task"]

    script.write_text(job_type_script("Second", "second-task"))
    after = await compilers.get_job_type("evolving")
    assert after["label"] == "Second"
    assert after["etag"] != before["etag"]
    job = await compilers.compile(submitted_job("evolving"), created=CREATED)
    assert [task.name for task in job.tasks] == ["second-task"]

    # A job prepared against the old version is refused.
    with pytest.raises(job_compilers.JobTypeEtagMismatch):
        await compilers.compile(
            submitted_job("evolving", type_etag=before["etag"]), created=CREATED
        )

    (scripts_dir / "brand_new.js").write_text(job_type_script("New"))
    assert "brand-new" in names(await compilers.list_job_types())
    script.unlink()
    with pytest.raises(job_compilers.JobTypeUnknown):
        await compilers.get_job_type("evolving")


# Each kind of broken script, with what the report must say.
BROKEN_SCRIPTS = {
    "syntax_error.js": (
        "const JOB_TYPE = { label: 'Bad', settings: [] };\n"
        "function compileJob(job) {\n  let x = ;\n}\n",
        "line 3: SyntaxError",
    ),
    "throws_on_load.js": (
        "const JOB_TYPE = { label: 'Throws', settings: [] };\n\nthrow new Error('not today');\n"
        "function compileJob(job) {}\n",
        "line 3: Error: not today",
    ),
    "no_compile_job.js": (
        "const JOB_TYPE = { label: 'Half', settings: [] };\n",
        "does not define a compileJob(job) function",
    ),
    "no_job_type.js": (
        "function compileJob(job) {}\n",
        "does not define a JOB_TYPE object",
    ),
    "bad_settings.js": (
        "const JOB_TYPE = { label: 'Bad settings', settings: 'frames' };\n"
        "function compileJob(job) {}\n",
        "does not define a proper JOB_TYPE object: settings is not an array",
    ),
    "bad_setting.js": (
        "const JOB_TYPE = { label: 'Bad', settings: [{key: 'a', type: 'string', choices: 'x'}] };\n"
        "function compileJob(job) {}\n",
        "settings[0].choices is not an array",
    ),
    "endless_load.js": (
        "const JOB_TYPE = { label: 'Endless', settings: [] };\nwhile (true) {}\n"
        "function compileJob(job) {}\n",
        "ran longer than 0.25 seconds",
    ),
}


async def test_broken_scripts_are_reported_and_do_not_hide_the_others(
    scripts_dir: pathlib.Path,
) -> None:
    for file_name, (source, _) in BROKEN_SCRIPTS.items():
        (scripts_dir / file_name).write_text(source)
    (scripts_dir / "good_one.js").write_text(job_type_script("Good"))
    # A module for require() defines neither name, and is not broken.
    (scripts_dir / "helpers.js").write_text("module.exports = { answer: 42 };\n")
    compilers = job_compilers.JobCompilers(scripts_dir=scripts_dir, timeout_seconds=0.25)

    listing = await compilers.list_job_types()
    assert names(listing) == [
        "echo-sleep-test",
        "good-one",
        "preview-then-final",
        "simple-blender-render",
    ]
    reported = {broken.name: broken for broken in listing.broken}
    assert sorted(reported) == sorted(
        file_name.removesuffix(".js").replace("_", "-") for file_name in BROKEN_SCRIPTS
    )
    for file_name, (_, expected) in BROKEN_SCRIPTS.items():
        broken = reported[file_name.removesuffix(".js").replace("_", "-")]
        assert broken.file == str(scripts_dir / file_name)
        assert expected in broken.message, broken


@pytest.mark.parametrize("file_name", sorted(BROKEN_SCRIPTS))
async def test_using_a_broken_job_type_raises_script_broken(
    scripts_dir: pathlib.Path, file_name: str
) -> None:
    source, expected = BROKEN_SCRIPTS[file_name]
    (scripts_dir / file_name).write_text(source)
    compilers = job_compilers.JobCompilers(scripts_dir=scripts_dir, timeout_seconds=0.25)
    name = file_name.removesuffix(".js").replace("_", "-")
    with pytest.raises(job_compilers.JobScriptBroken) as caught:
        await compilers.get_job_type(name)
    assert expected in caught.value.message
    with pytest.raises(job_compilers.JobScriptBroken):
        await compilers.compile(submitted_job(name), created=CREATED)


async def test_helper_module_is_not_a_job_type(scripts_dir: pathlib.Path) -> None:
    (scripts_dir / "helpers.js").write_text("module.exports = { answer: 42 };\n")
    compilers = job_compilers.JobCompilers(scripts_dir=scripts_dir)
    with pytest.raises(job_compilers.JobTypeUnknown):
        await compilers.get_job_type("helpers")
    with pytest.raises(job_compilers.JobTypeUnknown):
        await compilers.compile(submitted_job("helpers"), created=CREATED)


async def test_broken_override_is_reported_and_the_built_in_serves(
    scripts_dir: pathlib.Path,
) -> None:
    (scripts_dir / "echo_sleep_test.js").write_text("const JOB_TYPE = {;\n")
    compilers = job_compilers.JobCompilers(scripts_dir=scripts_dir)
    listing = await compilers.list_job_types()
    assert names(listing) == BUILT_IN
    assert [(broken.name, broken.file) for broken in listing.broken] == [
        ("echo-sleep-test", str(scripts_dir / "echo_sleep_test.js"))
    ]
    job = await compilers.compile(
        submitted_job("echo-sleep-test", {"message": "hi"}), created=CREATED
    )
    assert [task.name for task in job.tasks] == ["echo", "sleep"]


async def test_unreadable_script_is_reported(
    scripts_dir: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = scripts_dir / "secret.js"
    script.write_text(job_type_script("Secret"))
    original = loader._read_limited

    def refuse_secret(
        path: pathlib.Path, *, minimum: int = loader.MIN_SCRIPT_BYTES
    ) -> bytes | None:
        if path.name == "secret.js":
            raise PermissionError(13, "Permission denied", str(path))
        return original(path, minimum=minimum)

    monkeypatch.setattr(loader, "_read_limited", refuse_secret)
    compilers = job_compilers.JobCompilers(scripts_dir=scripts_dir)
    listing = await compilers.list_job_types()
    assert [(broken.name, broken.file) for broken in listing.broken] == [("secret", str(script))]
    assert "Permission denied" in listing.broken[0].message
    with pytest.raises(job_compilers.JobScriptBroken):
        await compilers.get_job_type("secret")


async def test_symlinked_script_counts(scripts_dir: pathlib.Path, tmp_path: pathlib.Path) -> None:
    target = tmp_path / "shared_type.js"
    target.write_text(job_type_script("Shared"))
    (scripts_dir / "shared_type.js").symlink_to(target)
    compilers = job_compilers.JobCompilers(scripts_dir=scripts_dir)
    assert "shared-type" in names(await compilers.list_job_types())


REQUIRING = """\
const naming = require("./lib/naming");
const settingsInfo = require("./lib/info.json");
const leftPad = require("left-pad");
const JOB_TYPE = { label: "Requiring", settings: [] };
function compileJob(job) {
  job.addTask(author.Task(naming.taskName(leftPad("7", 3)), settingsInfo.taskType));
}
"""


async def test_require_loads_modules_beside_the_script(scripts_dir: pathlib.Path) -> None:
    (scripts_dir / "requiring.js").write_text(REQUIRING)
    (scripts_dir / "lib").mkdir()
    (scripts_dir / "lib" / "naming.js").write_text(
        "const suffix = require('../lib/suffix');\n"
        "exports.taskName = (n) => `render-${n}${suffix}`;\n"
    )
    (scripts_dir / "lib" / "suffix.js").write_text("module.exports = '-final';\n")
    (scripts_dir / "lib" / "info.json").write_text('{"taskType": "blender"}')
    package = scripts_dir / "node_modules" / "left-pad"
    package.mkdir(parents=True)
    (package / "package.json").write_text('{"main": "lib/pad.js"}')
    (package / "lib").mkdir()
    (package / "lib" / "pad.js").write_text(
        "module.exports = (text, width) => String(text).padStart(width, '0');\n"
    )
    compilers = job_compilers.JobCompilers(scripts_dir=scripts_dir)
    job = await compilers.compile(submitted_job("requiring"), created=CREATED)
    assert [(task.name, task.task_type) for task in job.tasks] == [("render-007-final", "blender")]


async def test_require_of_a_missing_module_names_it(scripts_dir: pathlib.Path) -> None:
    (scripts_dir / "needs_missing.js").write_text(
        "const JOB_TYPE = { label: 'x', settings: [] };\n"
        "function compileJob(job) {\n"
        "  require('./nowhere');\n"
        "}\n"
    )
    compilers = job_compilers.JobCompilers(scripts_dir=scripts_dir)
    with pytest.raises(job_compilers.JobCompileError) as caught:
        await compilers.compile(submitted_job("needs-missing"), created=CREATED)
    assert 'require("./nowhere"): cannot find module' in caught.value.script_message
    assert (caught.value.file, caught.value.line) == ("needs_missing.js", 3)


async def test_error_inside_a_module_points_at_the_module(scripts_dir: pathlib.Path) -> None:
    (scripts_dir / "uses_faulty.js").write_text(
        "const faulty = require('./faulty');\n"
        "const JOB_TYPE = { label: 'x', settings: [] };\n"
        "function compileJob(job) { faulty.explode(); }\n"
    )
    (scripts_dir / "faulty.js").write_text(
        "// A helper with a bug.\n\n"
        "exports.explode = function () {\n  throw new RangeError('boom');\n};\n"
    )
    compilers = job_compilers.JobCompilers(scripts_dir=scripts_dir)
    with pytest.raises(job_compilers.JobCompileError) as caught:
        await compilers.compile(submitted_job("uses-faulty"), created=CREATED)
    assert caught.value.script_message == "RangeError: boom"
    assert (caught.value.file, caught.value.line) == ("faulty.js", 4)


async def test_file_names_with_spaces_still_get_line_numbers(scripts_dir: pathlib.Path) -> None:
    (scripts_dir / "spaced out.js").write_text(
        "const JOB_TYPE = { label: 'x', settings: [] };\n"
        "function compileJob(job) {\n"
        "  throw 'nope';\n"
        "}\n"
    )
    compilers = job_compilers.JobCompilers(scripts_dir=scripts_dir)
    with pytest.raises(job_compilers.JobCompileError) as caught:
        await compilers.compile(submitted_job("spaced out"), created=CREATED)
    assert (caught.value.script_message, caught.value.file, caught.value.line) == (
        "nope",
        "spaced out.js",
        3,
    )


def test_parallel_compilations_right_after_start_do_not_crash() -> None:
    """V8 crashes when two threads set it up at once; the engine sets it up first."""
    script = textwrap.dedent(
        """
        import asyncio, datetime
        from flamenco.manager import job_compilers

        async def main():
            compilers = job_compilers.JobCompilers(scripts_dir=None)
            job = {"name": "x", "type": "echo-sleep-test", "priority": 50,
                   "submitter_platform": "linux", "settings": {"message": "hi"}}
            now = datetime.datetime.now(datetime.UTC)
            await asyncio.gather(*(compilers.compile(job, created=now) for _ in range(4)))

        asyncio.run(main())
        print("ok")
        """
    )
    for _ in range(5):
        result = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
        )
        assert result.returncode == 0 and "ok" in result.stdout, result.stderr[-2000:]
