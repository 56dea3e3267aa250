"""Tests for flamenco.manager.config.variables, modelled on upstream's config and varrepl tests."""

from __future__ import annotations

import copy
import dataclasses
import logging
import os
from pathlib import Path

import pytest

from flamenco.manager import config
from flamenco.manager.config import LoadedConfig, ManagerConfig, Variable, VariableValue
from flamenco.manager.config.variables import VariableInfo, Variables


def value(value: str, platform: str = "", audience: str = "", **kwargs: object) -> VariableValue:
    return VariableValue(value=value, platform=platform, audience=audience, **kwargs)  # type: ignore[arg-type]


def config_with(**variables: Variable) -> ManagerConfig:
    defaults = config.default_config("linux")
    return dataclasses.replace(defaults, variables={**defaults.variables, **variables})


def make_variables(
    cfg: ManagerConfig, *, manager_platform: str = "linux", storage: str = "/storage/jobs"
) -> Variables:
    return Variables(cfg, storage_location=storage, manager_platform=manager_platform)


# Upstream's varrepl test configuration. Its `render_long` and `job_storage` once
# said `direction: twoway`, a key upstream no longer reads, so they are one-way.
def varrepl_config() -> ManagerConfig:
    return config_with(
        blender=Variable(
            values=(
                value("/linux/path/to/blender", "linux", "users"),
                value("/opt/myblenderbuild/blender", "linux", "workers"),
                value("c:/temp/blender.exe", "windows"),
                value("/opt/myblenderbuild/blender", "darwin"),
            )
        ),
        ffmpeg=Variable(
            values=(
                value("/usr/bin/ffmpeg", "linux"),
                value("xxx", "windows"),
                value("xxx", "darwin"),
            )
        ),
        render_long=Variable(
            values=(
                value("s:/flamenco/render/long", "windows"),
                value("/shared/flamenco/render/long", "linux"),
                value("/Volume/shared/flamenco/render/long", "darwin"),
            )
        ),
        job_storage=Variable(
            values=(
                value("s:/flamenco/jobs", "windows"),
                value("/shared/flamenco/jobs", "linux"),
                value("/Volume/shared/flamenco/jobs", "darwin"),
                value("hey", "autumn"),
            )
        ),
    )


def varrepl_commands() -> list[dict[str, object]]:
    return [
        {"message": "Running Blender from {blender} {blender}"},
        {"{blender}": 3},
        {
            "filepath": "{job_storage}/sybren/"
            "2017-06-08-181223.625800-sybren-flamenco-test.flamenco/flamenco-test.flamenco.blend",
            "exe": "{blender}",
            "otherpath": "{hey}/haha",
            "frames": "47",
            "cycles_chunk": 1.0,
            "args": [
                "--render-out",
                "{render_long}/sybren/blender-cloud-addon/flamenco-test__intermediate/"
                "render-smpl-0001-0084-frm-######",
            ],
        },
    ]


def expand_all(variables: Variables, platform: str) -> list[dict[str, object]]:
    return [
        variables.expand_command_parameters(parameters, platform)
        for parameters in varrepl_commands()
    ]


# -- task expansion (upstream varrepl_test.go)


def test_expand_for_linux_worker() -> None:
    commands = expand_all(make_variables(varrepl_config()), "linux")
    assert commands[2]["exe"] == "/opt/myblenderbuild/blender"
    assert commands[2]["args"] == [
        "--render-out",
        "/shared/flamenco/render/long/sybren/blender-cloud-addon/flamenco-test__intermediate/"
        "render-smpl-0001-0084-frm-######",
    ]
    # As often as needed; never in keys; other types untouched.
    assert commands[0]["message"] == (
        "Running Blender from /opt/myblenderbuild/blender /opt/myblenderbuild/blender"
    )
    assert commands[1] == {"{blender}": 3}
    assert commands[2]["cycles_chunk"] == 1.0
    assert commands[2]["frames"] == "47"


def test_expand_for_windows_worker() -> None:
    commands = expand_all(make_variables(varrepl_config()), "windows")
    # One-way variables are not paths: their slashes stay as they are.
    assert commands[2]["filepath"] == (
        "s:/flamenco/jobs/sybren/2017-06-08-181223.625800-sybren-flamenco-test.flamenco/"
        "flamenco-test.flamenco.blend"
    )
    assert commands[2]["args"] == [
        "--render-out",
        "s:/flamenco/render/long/sybren/blender-cloud-addon/flamenco-test__intermediate/"
        "render-smpl-0001-0084-frm-######",
    ]
    assert commands[2]["otherpath"] == "{hey}/haha"
    assert commands[2]["exe"] == "c:/temp/blender.exe"


def test_expand_for_unknown_platform() -> None:
    commands = expand_all(make_variables(varrepl_config()), "autumn")
    assert commands[2]["filepath"] == (
        "hey/sybren/2017-06-08-181223.625800-sybren-flamenco-test.flamenco/"
        "flamenco-test.flamenco.blend"
    )
    assert commands[2]["args"] == [
        "--render-out",
        "{render_long}/sybren/blender-cloud-addon/flamenco-test__intermediate/"
        "render-smpl-0001-0084-frm-######",
    ]
    assert commands[2]["otherpath"] == "{hey}/haha"


def test_expand_does_not_change_its_input() -> None:
    parameters = {"exe": "{blender}", "args": ["{blender}", 3, None], "nested": {"x": "{blender}"}}
    original = copy.deepcopy(parameters)
    expanded = make_variables(config.default_config("linux")).expand_command_parameters(
        parameters, "linux"
    )
    assert parameters == original
    assert expanded == {
        "exe": "blender",
        "args": ["blender", 3, None],
        "nested": {"x": "{blender}"},
    }


def loaded_for(tmp_path: Path, *, shaman: bool) -> LoadedConfig:
    defaults = config.default_config("linux")
    return LoadedConfig(
        config=dataclasses.replace(
            defaults,
            shared_storage_path=str(tmp_path / "flamenco-storage"),
            shaman=dataclasses.replace(defaults.shaman, enabled=shaman),
        ),
        path=tmp_path / "flamenco-manager.yaml",
        file_existed=True,
    )


@pytest.mark.parametrize(("shaman", "subdirectory"), [(True, "jobs"), (False, "")])
def test_implicit_jobs_variable(tmp_path: Path, shaman: bool, subdirectory: str) -> None:
    variables = Variables.from_loaded(loaded_for(tmp_path, shaman=shaman), manager_platform="linux")
    storage = os.path.join(tmp_path / "flamenco-storage", subdirectory).rstrip(os.sep)
    expanded = variables.expand_command_parameters(
        {"filepath": "{jobs}/path/in/storage.blend"}, "linux"
    )
    assert expanded == {"filepath": storage + "/path/in/storage.blend"}
    assert variables.for_audience("workers", "linux")["jobs"] == VariableInfo(
        name="jobs", value=storage, is_twoway=False
    )
    assert variables.for_audience("users", "windows")["jobs"].value == storage


def test_from_loaded_defaults_to_our_platform(tmp_path: Path) -> None:
    variables = Variables.from_loaded(loaded_for(tmp_path, shaman=False))
    assert variables.manager_platform == config.manager_platform()


def test_configured_jobs_variable_is_replaced(caplog: pytest.LogCaptureFixture) -> None:
    cfg = config_with(jobs=Variable(values=(value("this value should not be seen", "all"),)))
    with caplog.at_level(logging.WARNING, logger="flamenco.manager.config.variables"):
        variables = make_variables(cfg, storage="/path/to/shaman/storage/jobs")
    assert (
        variables.for_audience("workers", "linux")["jobs"].value == "/path/to/shaman/storage/jobs"
    )
    assert "'jobs' is defined in the configuration" in caplog.text


def test_two_way_paths_translated_for_ffmpeg_but_expressions_untouched() -> None:
    cfg = config_with(
        project=Variable(
            is_twoway=True,
            values=(
                value("/projects/charge", "linux", "all"),
                value("P:\\charge", "windows", "all"),
            ),
        )
    )
    parameters: dict[str, object] = {
        "exe": "ffmpeg",
        "fps": 24,
        "inputGlob": "/projects/charge/renders/*.webp",
        "outputFile": "/projects/charge/renders/video.mp4",
        "args": [
            "-vf",
            "pad=ceil(iw/2)*2:ceil(ih/2)*2",
            "-fake-lut",
            "/projects/charge/ffmpeg.lut",
        ],
    }
    expanded = make_variables(cfg).expand_command_parameters(parameters, "windows")
    assert expanded == {
        "exe": "ffmpeg",
        "fps": 24,
        "inputGlob": "P:\\charge\\renders\\*.webp",
        "outputFile": "P:\\charge\\renders\\video.mp4",
        "args": ["-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2", "-fake-lut", "P:\\charge\\ffmpeg.lut"],
    }


# -- expansion (upstream settings_test.go / variables_test.go)


def test_expand_for_an_audience() -> None:
    cfg = config_with(
        demo=Variable(values=(value("demo-value", "darwin", "all"),)),
        ffmpeg=Variable(
            values=(
                value("/path/to/ffmpeg", "linux", "users"),
                value("/path/to/ffmpeg/on/darwin", "darwin", "users"),
                value("C:\\flamenco\\ffmpeg", "windows", "users"),
            )
        ),
    )
    variables = make_variables(cfg)
    assert variables.expand("unchanged value", "windows", audience="users") == "unchanged value"
    assert variables.expand("{ffmpeg}", "windows", audience="users") == "C:\\flamenco\\ffmpeg"
    # Not defined on this platform: left alone.
    assert variables.expand("{demo}", "windows", audience="users") == "{demo}"
    # Defined for users only: workers don't see it.
    assert variables.expand("{ffmpeg}", "windows") == "{ffmpeg}"


def test_expand_moves_manager_paths_to_the_target_platform() -> None:
    cfg = config_with(
        **{
            # Registered like the implicit `jobs` variable.
            "locally-set-path": Variable(values=(value("/path/on/linux", "all", "all"),)),
            "platform-specifics": Variable(
                is_twoway=True,
                values=(
                    value("/path/on/linux", "linux", "workers"),
                    value("/path/on/darwin", "darwin", "workers"),
                    value("C:\\path\\on\\windows", "windows", "workers"),
                ),
            ),
        }
    )
    variables = make_variables(cfg, manager_platform="linux")
    assert (
        variables.expand("/path/on/linux/file.txt", "windows") == "C:\\path\\on\\windows\\file.txt"
    )
    assert (
        variables.expand("{locally-set-path}/should/be/remapped", "windows")
        == "C:\\path\\on\\windows\\should\\be\\remapped"
    )
    assert variables.expand("/path/on/linux/file.txt", "darwin") == "/path/on/darwin/file.txt"
    assert variables.expand("/path/on/linux/file.txt", "linux") == "/path/on/linux/file.txt"
    # Only prefixes are translated.
    assert variables.expand("/other/path/on/linux", "windows") == "/other/path/on/linux"


def shared_config() -> ManagerConfig:
    return config_with(
        shared=Variable(
            is_twoway=True,
            values=(value("/shared/flamenco", "linux"), value("Y:\\shared\\flamenco", "windows")),
        )
    )


@pytest.mark.parametrize(
    ("platform", "text", "expected"),
    [
        ("windows", "{shared}\\shot\\file.blend", "Y:\\shared\\flamenco\\shot\\file.blend"),
        ("windows", "{shared}/shot/file.blend", "Y:\\shared\\flamenco\\shot\\file.blend"),
        ("linux", "{shared}\\shot\\file.blend", "/shared/flamenco/shot/file.blend"),
        ("linux", "{shared}/shot/file.blend", "/shared/flamenco/shot/file.blend"),
        # A Manager-platform path with the other slashes, or another case, still matches.
        (
            "windows",
            "/shared\\flamenco\\shot\\file.blend",
            "Y:\\shared\\flamenco\\shot\\file.blend",
        ),
        ("windows", "/SHARED/Flamenco/shot/file.blend", "Y:\\shared\\flamenco\\shot\\file.blend"),
    ],
)
def test_expand_two_way_variables_with_mixed_slashes(
    platform: str, text: str, expected: str
) -> None:
    # Separators are made right on the whole path, not just the replaced part.
    assert make_variables(shared_config()).expand(text, platform) == expected


def test_expand_onto_a_bare_drive_letter() -> None:
    cfg = config_with(
        render=Variable(
            is_twoway=True,
            values=(value("/render", "linux", "all"), value("R:\\", "windows", "all")),
        )
    )
    variables = make_variables(cfg)
    assert variables.expand("/render/frames/0001.png", "windows") == "R:\\frames\\0001.png"
    assert variables.expand("{render}frames", "windows") == "R:\\frames"
    assert variables.expand("/render", "windows") == "R:\\"


def test_expand_with_a_windows_manager() -> None:
    cfg = config_with(
        storage=Variable(
            is_twoway=True,
            values=(value("S:\\flamenco", "windows"), value("/mnt/flamenco", "linux")),
        )
    )
    variables = make_variables(cfg, manager_platform="windows", storage="S:\\flamenco\\jobs")
    expanded = variables.expand_command_parameters({"path": "{jobs}\\shot\\a.blend"}, "linux")
    assert expanded == {"path": "/mnt/flamenco/jobs/shot/a.blend"}
    assert variables.expand("{jobs}/a.blend", "windows") == "S:\\flamenco\\jobs\\a.blend"


def test_empty_two_way_values_match_nothing() -> None:
    cfg = config_with(nothing=Variable(is_twoway=True, values=(value("", "linux"),)))
    variables = make_variables(cfg)
    assert variables.expand("/some/path", "windows") == "/some/path"
    settings, _ = variables.replace_two_way_values({"path": "/some/path"}, {}, "linux")
    assert settings == {"path": "/some/path"}


def test_longest_two_way_value_wins() -> None:
    cfg = config_with(
        render=Variable(is_twoway=True, values=(value("/render", "linux"), value("R:", "windows"))),
        frames=Variable(
            is_twoway=True, values=(value("/render/frames", "linux"), value("F:", "windows"))
        ),
    )
    variables = make_variables(cfg)
    assert variables.expand("/render/frames/a.png", "windows") == "F:\\a.png"
    settings, _ = variables.replace_two_way_values({"out": "/render/frames/a.png"}, {}, "linux")
    assert settings == {"out": "{frames}/a.png"}


def test_expansion_tables_are_cached_and_bounded() -> None:
    variables = make_variables(shared_config())
    first = variables.expand("{shared}/a", "windows")
    assert variables.expand("{shared}/a", "windows") == first
    for index in range(600):
        assert variables.expand("{blender}", f"platform-{index}") == "{blender}"
    assert variables.expand("{shared}/a", "windows") == first


# -- submission: values to variables (upstream TestReplaceTwoWayVariables)


def submission_config() -> ManagerConfig:
    return config_with(
        **{
            "locally-set-path": Variable(values=(value("/render/frames", "all", "all"),)),
            "unused": Variable(values=(value("Ignore it, it'll be faaaain!", "all", "all"),)),
            "project": Variable(
                is_twoway=True, values=(value("/projects/sprite-fright", "all", "all"),)
            ),
            "render": Variable(
                is_twoway=True,
                values=(
                    value("/render", "linux", "workers"),
                    value("/Volumes/render", "darwin", "workers"),
                    value("R:", "windows", "workers"),
                ),
            ),
        }
    )


def submitted_settings() -> dict[str, object]:
    return {
        "blender_cmd": "{blender}",
        "filepath": "/render/jobs/sf/scene123.blend",
        "render_output_root": "/render/frames/sf/scene123",
        "render_output_path": "/render/frames/sf/scene123/"
        "Substituição variável bidirecional/######",
        "different_prefix_path": "/backup/render/frames/sf/scene123",
        "frames": "1-10",
        "chunk_size": 3,
        "fps": 24.0,
        "extract_audio": True,
        "images_or_video": "images",
        "format": "PNG",
        "output_file_extension": ".png",
    }


def submitted_metadata() -> dict[str, str]:
    return {
        "user.name": "Sybren Stüvel",
        "project": "Sprite Fright",
        "root": "/projects/sprite-fright",
        "scene": "/projects/sprite-fright/scenes/123",
    }


def test_replace_two_way_values_in_settings_and_metadata() -> None:
    settings = submitted_settings()
    metadata = submitted_metadata()
    new_settings, new_metadata = make_variables(submission_config()).replace_two_way_values(
        settings, metadata, "linux"
    )
    assert new_settings == {
        "blender_cmd": "{blender}",
        "filepath": "{render}/jobs/sf/scene123.blend",
        "render_output_root": "{render}/frames/sf/scene123",
        "render_output_path": "{render}/frames/sf/scene123/"
        "Substituição variável bidirecional/######",
        "different_prefix_path": "/backup/render/frames/sf/scene123",
        "frames": "1-10",
        "chunk_size": 3,
        "fps": 24.0,
        "extract_audio": True,
        "images_or_video": "images",
        "format": "PNG",
        "output_file_extension": ".png",
    }
    assert new_metadata == {
        "user.name": "Sybren Stüvel",
        "project": "Sprite Fright",
        "root": "{project}",
        "scene": "{project}/scenes/123",
    }
    # The inputs are not changed.
    assert settings == submitted_settings()
    assert metadata == submitted_metadata()


def test_replace_two_way_values_for_the_submitters_platform() -> None:
    variables = make_variables(submission_config())
    settings, _ = variables.replace_two_way_values(
        {"windows": "R:\\frames\\a.png", "slashed": "r:/frames/a.png", "linux": "/render/a.png"},
        {},
        "windows",
    )
    assert settings == {
        "windows": "{render}\\frames\\a.png",
        "slashed": "{render}/frames/a.png",
        "linux": "/render/a.png",
    }


def test_replace_two_way_values_ignores_case_and_slash_style() -> None:
    variables = make_variables(shared_config())
    settings, metadata = variables.replace_two_way_values(
        {"a": "Y:\\shared\\flamenco\\shot\\file.blend", "b": "y:/SHARED/flamenco/shot/file.blend"},
        {"c": "/shared\\flamenco\\shot\\file.blend"},
        "windows",
    )
    assert settings == {"a": "{shared}\\shot\\file.blend", "b": "{shared}/shot/file.blend"}
    assert metadata == {"c": "/shared\\flamenco\\shot\\file.blend"}

    settings, _ = variables.replace_two_way_values(
        {"a": "/shared\\flamenco\\shot\\file.blend", "b": "/shared/flamenco/shot/file.blend"},
        {},
        "linux",
    )
    assert settings == {"a": "{shared}\\shot\\file.blend", "b": "{shared}/shot/file.blend"}


def test_replace_two_way_values_from_the_manager_platform() -> None:
    variables = make_variables(shared_config(), manager_platform="windows")
    settings, _ = variables.replace_two_way_values(
        {"path": "Y:\\shared\\flamenco\\x.blend"}, {}, "manager"
    )
    assert settings == {"path": "{shared}\\x.blend"}


def test_replacement_then_expansion_round_trips_to_the_worker_platform() -> None:
    variables = make_variables(shared_config())
    settings, _ = variables.replace_two_way_values(
        {"filepath": "Y:\\shared\\flamenco\\shot\\file.blend"}, {}, "windows"
    )
    assert variables.expand_command_parameters(settings, "linux") == {
        "filepath": "/shared/flamenco/shot/file.blend"
    }


# -- lookup (GET /configuration/variables/{audience}/{platform})


def test_for_audience_prefers_the_specific_platform() -> None:
    cfg = config_with(
        ffmpeg=Variable(values=(value("ffmpeg", "all"), value("C:\\ffmpeg.exe", "windows")))
    )
    variables = make_variables(cfg)
    assert variables.for_audience("workers", "windows")["ffmpeg"].value == "C:\\ffmpeg.exe"
    assert variables.for_audience("workers", "linux")["ffmpeg"].value == "ffmpeg"
    # The order within the file does not matter: specific wins over `all`.
    cfg = config_with(
        ffmpeg=Variable(values=(value("C:\\ffmpeg.exe", "windows"), value("ffmpeg", "all")))
    )
    assert make_variables(cfg).for_audience("users", "windows")["ffmpeg"].value == "C:\\ffmpeg.exe"


def test_for_audience_expands_all_and_empty_audiences() -> None:
    cfg = config_with(
        a=Variable(values=(value("for all", "linux", "all"),)),
        b=Variable(values=(value("for empty", "linux", ""),)),
        c=Variable(values=(value("for users", "linux", "users"),)),
    )
    variables = make_variables(cfg)
    workers = variables.for_audience("workers", "linux")
    users = variables.for_audience("users", "linux")
    assert (workers["a"].value, workers["b"].value, "c" in workers) == (
        "for all",
        "for empty",
        False,
    )
    assert (users["a"].value, users["b"].value, users["c"].value) == (
        "for all",
        "for empty",
        "for users",
    )


def test_for_audience_lists_defaults_and_jobs_sorted() -> None:
    variables = make_variables(config.default_config("linux"), storage="/srv/jobs")
    assert variables.for_audience("workers", "windows") == {
        "blender": VariableInfo(name="blender", value="blender.exe", is_twoway=False),
        "blenderArgs": VariableInfo(name="blenderArgs", value="-b -y", is_twoway=False),
        "jobs": VariableInfo(name="jobs", value="/srv/jobs", is_twoway=False),
    }


def test_for_audience_with_unknown_platform_or_audience() -> None:
    variables = make_variables(config.default_config("linux"), storage="/srv/jobs")
    assert list(variables.for_audience("users", "troll")) == ["blenderArgs", "jobs"]
    assert variables.for_audience("all", "linux") == {}
    assert variables.for_audience("artists", "linux") == {}


def test_two_way_values_lose_trailing_separators() -> None:
    cfg = config_with(
        render=Variable(
            is_twoway=True, values=(value("/render/", "linux"), value("R:\\", "windows"))
        ),
        tool=Variable(values=(value("/opt/tool/", "linux"),)),
    )
    variables = make_variables(cfg)
    assert variables.for_audience("workers", "linux")["render"] == VariableInfo(
        name="render", value="/render", is_twoway=True
    )
    assert variables.for_audience("workers", "windows")["render"].value == "R:"
    assert variables.for_audience("workers", "linux")["tool"].value == "/opt/tool/"
    settings, _ = variables.replace_two_way_values({"out": "/render/a.png"}, {}, "linux")
    assert settings == {"out": "{render}/a.png"}


def test_platform_and_platforms_are_merged(caplog: pytest.LogCaptureFixture) -> None:
    cfg = config_with(
        tool=Variable(values=(value("tool", "linux", platforms=("darwin", "freebsd")),))
    )
    with caplog.at_level(logging.WARNING, logger="flamenco.manager.config.variables"):
        variables = make_variables(cfg)
    for platform in ("linux", "darwin", "freebsd"):
        assert variables.for_audience("workers", platform)["tool"].value == "tool"
    assert "both 'platform' and 'platforms'" in caplog.text


# -- validation logging (upstream checkVariables / checkBlenderVariable)


def test_value_without_platform_is_ignored(caplog: pytest.LogCaptureFixture) -> None:
    cfg = config_with(
        blender=Variable(values=(value("/path/to/blender"), value("/valid/path/blender", "linux")))
    )
    with caplog.at_level(logging.ERROR, logger="flamenco.manager.config.variables"):
        variables = make_variables(cfg)
    assert variables.for_audience("workers", "linux")["blender"].value == "/valid/path/blender"
    assert "blender" not in variables.for_audience("workers", "windows")
    assert "has no platform and is ignored" in caplog.text
    # The configuration itself keeps the value, so writing it back loses nothing.
    assert cfg.variables["blender"].values[0].value == "/path/to/blender"


def test_unknown_audience_is_ignored(caplog: pytest.LogCaptureFixture) -> None:
    cfg = config_with(tool=Variable(values=(value("tool", "linux", "artists"),)))
    with caplog.at_level(logging.ERROR, logger="flamenco.manager.config.variables"):
        variables = make_variables(cfg)
    assert "tool" not in variables.for_audience("users", "linux")
    assert "audience 'artists'" in caplog.text


def test_missing_blender_variable_is_an_error(caplog: pytest.LogCaptureFixture) -> None:
    cfg = dataclasses.replace(config.default_config("linux"), variables={})
    with caplog.at_level(logging.ERROR, logger="flamenco.manager.config.variables"):
        make_variables(cfg)
    assert "variable 'blender' is not configured" in caplog.text


def test_empty_blender_values_are_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    cfg = config_with(
        blender=Variable(
            values=(value("", "linux"), value("blender.exe", "windows"), value("", "darwin"))
        )
    )
    with caplog.at_level(logging.WARNING, logger="flamenco.manager.config.variables"):
        make_variables(cfg)
    assert "variable 'blender' has no value for darwin, linux" in caplog.text


def test_default_config_logs_nothing(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="flamenco.manager.config.variables"):
        variables = make_variables(config.default_config("linux"))
        variables.expand_command_parameters({"exe": "{blender}"}, "linux")
    assert caplog.records == []


# -- shared storage location (upstream meta_test.go)


def test_shared_storage_location_with_windows_manager() -> None:
    cfg = config_with(
        shared_storage_mapping=Variable(
            is_twoway=True,
            values=(
                value("/user/shared/storage", "linux", "users"),
                value("/worker/shared/storage", "linux", "workers"),
                value("S:\\storage", "windows", "all"),
            ),
        )
    )
    variables = make_variables(cfg, manager_platform="windows", storage="S:\\storage\\flamenco")
    assert variables.shared_storage_location("users", "linux") == "/user/shared/storage/flamenco"
    assert (
        variables.shared_storage_location("workers", "linux") == "/worker/shared/storage/flamenco"
    )
    assert variables.shared_storage_location("users", "windows") == "S:\\storage\\flamenco"


def test_shared_storage_location_on_a_drive_letter_root() -> None:
    cfg = config_with(
        shared_storage_mapping=Variable(
            is_twoway=True,
            values=(value("/mnt/flamenco", "linux", "all"), value("F:\\", "windows", "all")),
        )
    )
    variables = make_variables(cfg, manager_platform="linux", storage="/mnt/flamenco")
    assert variables.shared_storage_location("users", "linux") == "/mnt/flamenco"
    assert variables.shared_storage_location("users", "windows") == "F:\\"


def test_shared_storage_location_without_two_way_variables() -> None:
    variables = make_variables(config.default_config("linux"), storage="/srv/flamenco/jobs")
    assert variables.shared_storage_location("users", "windows") == "/srv/flamenco/jobs"
    assert (
        make_variables(config.default_config("linux"), storage="").shared_storage_location(
            "users", "linux"
        )
        == ""
    )
