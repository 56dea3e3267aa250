"""Tests for flamenco.manager.config: upstream's file format, errors with key and line, writing."""

from __future__ import annotations

import dataclasses
import datetime
import logging
import os
import stat
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from flamenco.manager import config
from flamenco.manager.config import (
    ConfigError,
    LoadedConfig,
    ManagerConfig,
    ShamanLinkMode,
    Variable,
    VariableValue,
)

FILENAME = "flamenco-manager.yaml"

# A file as upstream Flamenco 3 writes it (field order, quoting and all).
UPSTREAM_FILE = """\
# Configuration file for Flamenco.
# For an explanation of the fields, refer to flamenco-manager-example.yaml
#
# NOTE: this file will be overwritten by Flamenco Manager's web-based configuration system.
#
# This file was written on 2024-05-01 10:00:00 +02:00 by Flamenco 3.5

_meta:
  version: 3
manager_name: Studio Farm
database: flamenco-manager.sqlite
database_check_period: 10m0s
listen: :8080
autodiscoverable: true
local_manager_storage_path: ./flamenco-manager-storage
shared_storage_path: /srv/flamenco
shaman:
  enabled: false
  garbageCollect:
    period: 24h0m0s
    maxAge: 744h0m0s
task_timeout: 10m0s
worker_timeout: 1m0s
blocklist_threshold: 3
task_fail_after_softfail_count: 3
mqtt:
  client:
    broker: ""
    clientID: flamenco
    topic_prefix: flamenco
    username: ""
    password: ""
variables:
  blender:
    values:
    - platform: linux
      value: blender
    - platform: windows
      value: blender
    - platform: darwin
      value: blender
  blenderArgs:
    values:
    - platform: all
      value: -b -y
  storage:
    is_twoway: true
    values:
    - platform: linux
      value: /srv/flamenco
    - platform: windows
      value: S:\\flamenco
    - audience: users
      platforms: [darwin, freebsd]
      value: /Volumes/flamenco
"""


def write_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / FILENAME
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def load_text(tmp_path: Path, text: str) -> LoadedConfig:
    return config.load_config(write_file(tmp_path, text), platform="linux")


def minimal(extra: str = "") -> str:
    return "_meta:\n  version: 3\n" + textwrap.dedent(extra)


# -- defaults


def test_default_config_has_upstream_defaults() -> None:
    defaults = config.default_config("linux")
    assert defaults.manager_name == "Flamenco"
    assert defaults.database == "flamenco-manager.sqlite"
    assert defaults.database_check_period == datetime.timedelta(minutes=10)
    assert defaults.listen == ":8080"
    assert defaults.autodiscoverable is True
    assert defaults.local_manager_storage_path == "./flamenco-manager-storage"
    assert defaults.shared_storage_path == ""
    assert defaults.shaman.enabled is True
    assert defaults.shaman.garbage_collect.period == datetime.timedelta(hours=24)
    assert defaults.shaman.garbage_collect.max_age == datetime.timedelta(hours=744)
    assert defaults.task_timeout == datetime.timedelta(minutes=10)
    assert defaults.worker_timeout == datetime.timedelta(minutes=1)
    assert defaults.blocklist_threshold == 3
    assert defaults.task_fail_after_softfail_count == 3
    assert defaults.mqtt.client == config.MQTTClientConfig(
        enabled=False,
        broker="",
        client_id="flamenco",
        topic_prefix="flamenco",
        username="",
        password="",
    )
    assert defaults.variables == {
        "blender": Variable(
            values=(
                VariableValue(platform="linux", value="blender"),
                VariableValue(platform="windows", value="blender.exe"),
                VariableValue(platform="darwin", value="blender"),
            )
        ),
        "blenderArgs": Variable(values=(VariableValue(platform="all", value="-b -y"),)),
    }


def test_default_config_has_extension_defaults() -> None:
    defaults = config.default_config("linux")
    assert defaults.job_scripts_path == "scripts"
    assert defaults.job_compiler_timeout == datetime.timedelta(seconds=5)
    assert defaults.task_log_max_bytes == 104_857_600
    assert defaults.no_progress_timeout == datetime.timedelta(0)
    assert defaults.shaman.link_mode is ShamanLinkMode.AUTO


@pytest.mark.parametrize(
    ("platform", "enabled"), [("linux", True), ("darwin", True), ("windows", False)]
)
def test_default_shaman_enabled_except_on_windows(platform: str, enabled: bool) -> None:
    assert config.default_config(platform).shaman.enabled is enabled


def test_default_config_without_platform_uses_ours() -> None:
    expected = config.manager_platform() != "windows"
    assert config.default_config().shaman.enabled is expected
    assert ManagerConfig().shaman.enabled is expected


@pytest.mark.parametrize(
    ("sys_platform", "goos"),
    [
        ("linux", "linux"),
        ("win32", "windows"),
        ("cygwin", "windows"),
        ("darwin", "darwin"),
        ("freebsd14", "freebsd"),
        ("openbsd7", "openbsd"),
        ("netbsd10", "netbsd"),
        ("sunos5", "solaris"),
        ("aix", "aix"),
        ("haiku1", "haiku"),
    ],
)
def test_manager_platform_uses_go_names(sys_platform: str, goos: str) -> None:
    assert config.manager_platform(sys_platform) == goos


def test_manager_platform_defaults_to_ours() -> None:
    assert config.manager_platform() == config.manager_platform(sys.platform)


# -- loading


def test_missing_file_gives_defaults_and_first_run(tmp_path: Path) -> None:
    loaded = config.load_config(tmp_path / FILENAME, platform="linux")
    assert loaded.config == config.default_config("linux")
    assert loaded.file_existed is False
    assert loaded.is_first_run is True
    assert loaded.path == tmp_path / FILENAME
    assert loaded.unknown_keys == ()


def test_relative_config_path_is_made_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    loaded = config.load_config(FILENAME)
    assert loaded.path == tmp_path / FILENAME
    assert loaded.path.is_absolute()


def test_load_upstream_file(tmp_path: Path) -> None:
    loaded = load_text(tmp_path, UPSTREAM_FILE)
    assert loaded.file_existed is True
    assert loaded.is_first_run is False
    assert loaded.unknown_keys == ()
    cfg = loaded.config
    assert cfg.manager_name == "Studio Farm"
    assert cfg.listen == ":8080"
    assert cfg.shared_storage_path == "/srv/flamenco"
    assert cfg.shaman.enabled is False
    assert cfg.shaman.garbage_collect.max_age == datetime.timedelta(days=31)
    # Not in the file: our extension keys and mqtt.client.enabled keep their defaults.
    assert cfg.mqtt.client.enabled is False
    assert cfg.job_scripts_path == "scripts"
    assert cfg.variables["storage"] == Variable(
        is_twoway=True,
        values=(
            VariableValue(platform="linux", value="/srv/flamenco"),
            VariableValue(platform="windows", value="S:\\flamenco"),
            VariableValue(
                audience="users", platforms=("darwin", "freebsd"), value="/Volumes/flamenco"
            ),
        ),
    )
    assert cfg.variables["blender"].values[1] == VariableValue(platform="windows", value="blender")


def test_windows_notepad_file_with_bom_and_crlf(tmp_path: Path) -> None:
    path = tmp_path / FILENAME
    path.write_bytes("\ufeff_meta:\r\n  version: 3\r\nmanager_name: Notepad\r\n".encode())
    assert config.load_config(path).config.manager_name == "Notepad"


def test_missing_keys_keep_their_defaults(tmp_path: Path) -> None:
    loaded = load_text(
        tmp_path,
        minimal(
            """
            shaman:
              garbageCollect:
                period: 1h
            """
        ),
    )
    expected = config.default_config("linux")
    expected = dataclasses.replace(
        expected,
        shaman=dataclasses.replace(
            expected.shaman,
            garbage_collect=dataclasses.replace(
                expected.shaman.garbage_collect, period=datetime.timedelta(hours=1)
            ),
        ),
    )
    assert loaded.config == expected


def test_file_variables_are_merged_over_the_defaults(tmp_path: Path) -> None:
    # yaml.v2 decodes into upstream's default map without clearing it.
    loaded = load_text(
        tmp_path,
        minimal(
            """
            variables:
              blender:
                values:
                - platform: all
                  value: /opt/blender/blender
              ffmpeg:
                values:
                - platform: linux
                  value: /usr/bin/ffmpeg
            """
        ),
    )
    variables = loaded.config.variables
    assert sorted(variables) == ["blender", "blenderArgs", "ffmpeg"]
    assert variables["blender"].values == (
        VariableValue(platform="all", value="/opt/blender/blender"),
    )
    assert variables["blenderArgs"] == config.default_variables()["blenderArgs"]


@pytest.mark.parametrize(
    ("line", "attribute", "expected"),
    [
        # yaml.v2 reads any scalar into a text setting as its literal text.
        ("manager_name: 123", "manager_name", "123"),
        ("manager_name: 1.50", "manager_name", "1.50"),
        ("manager_name: yes", "manager_name", "yes"),
        ("manager_name: 2024-01-02", "manager_name", "2024-01-02"),
        ("listen: :8080", "listen", ":8080"),
        ("listen: '[::0]:8083'", "listen", "[::0]:8083"),
        # An empty value is the zero value, not the default.
        ("manager_name:", "manager_name", ""),
        ("autodiscoverable:", "autodiscoverable", False),
        ("blocklist_threshold:", "blocklist_threshold", 0),
        ("task_timeout:", "task_timeout", datetime.timedelta(0)),
        ("task_timeout: 0", "task_timeout", datetime.timedelta(0)),
        ("task_timeout: 1h30m", "task_timeout", datetime.timedelta(minutes=90)),
        ("worker_timeout: 1.5m", "worker_timeout", datetime.timedelta(seconds=90)),
        ("autodiscoverable: no", "autodiscoverable", False),
        ("autodiscoverable: On", "autodiscoverable", True),
        ("autodiscoverable: y", "autodiscoverable", True),
        ("autodiscoverable: N", "autodiscoverable", False),
        ("blocklist_threshold: 5.0", "blocklist_threshold", 5),
        ("blocklist_threshold: 0x10", "blocklist_threshold", 16),
    ],
)
def test_scalars_are_read_like_yaml_v2(
    tmp_path: Path, line: str, attribute: str, expected: object
) -> None:
    loaded = load_text(tmp_path, minimal(line + "\n"))
    assert getattr(loaded.config, attribute) == expected


def test_empty_section_means_defaults(tmp_path: Path) -> None:
    loaded = load_text(tmp_path, minimal("shaman:\nmqtt:\nvariables:\n"))
    assert loaded.config == config.default_config("linux")


def test_extension_keys_are_read(tmp_path: Path) -> None:
    loaded = load_text(
        tmp_path,
        minimal(
            """
            shaman:
              link_mode: hardlink
            job_scripts_path: /etc/flamenco/scripts
            job_compiler_timeout: 10s
            task_log_max_bytes: 0
            no_progress_timeout: 30m
            """
        ),
    )
    cfg = loaded.config
    assert cfg.shaman.link_mode is ShamanLinkMode.HARDLINK
    assert cfg.job_scripts_path == "/etc/flamenco/scripts"
    assert cfg.job_compiler_timeout == datetime.timedelta(seconds=10)
    assert cfg.task_log_max_bytes == 0
    assert cfg.no_progress_timeout == datetime.timedelta(minutes=30)


def test_resource_limits_are_read_and_written_back(tmp_path: Path) -> None:
    loaded = load_text(tmp_path, minimal("resource_limits:\n  nuke-licence: 10\n  nas: 0\n"))
    assert loaded.config.resource_limits == {"nuke-licence": 10, "nas": 0}
    assert config.default_config().resource_limits == {}
    path = tmp_path / "written.yaml"
    config.write_config(loaded.config, path)
    assert config.load_config(path).config.resource_limits == {"nuke-licence": 10, "nas": 0}


def test_anchors_and_merge_keys_work(tmp_path: Path) -> None:
    loaded = load_text(
        tmp_path,
        minimal(
            """
            task_timeout: &timeout 20m
            worker_timeout: *timeout
            mqtt:
              client:
                <<: {broker: "tcp://mqtt:1883", username: farm}
                username: render
            """
        ),
    )
    assert loaded.config.worker_timeout == datetime.timedelta(minutes=20)
    assert loaded.config.mqtt.client.broker == "tcp://mqtt:1883"
    assert loaded.config.mqtt.client.username == "render"
    assert loaded.unknown_keys == ()


def test_duplicate_keys_warn_and_last_wins(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="flamenco.manager.config"):
        loaded = load_text(tmp_path, minimal("listen: :1\nlisten: :2\n"))
    assert loaded.config.listen == ":2"
    assert "more than once" in caplog.text
    assert "listen" in caplog.text


def test_unknown_keys_are_logged_and_ignored(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    text = minimal(
        """
        mode: develop
        shaman:
          enabled: true
          garbageCollect:
            extraCheckoutPaths: []
        variables:
          blender:
            direction: oneway
            values:
            - platform: linux
              value: blender
              comment: hi
        """
    )
    with caplog.at_level(logging.WARNING, logger="flamenco.manager.config"):
        loaded = load_text(tmp_path, text)
    assert loaded.unknown_keys == (
        "mode (line 4)",
        "shaman.garbageCollect.extraCheckoutPaths (line 8)",
        "variables.blender.direction (line 11)",
        "variables.blender.values[0].comment (line 15)",
    )
    assert "ignoring unknown settings" in caplog.text
    assert "mode (line 4)" in caplog.text
    assert "variables.blender.direction (line 11)" in caplog.text
    assert loaded.config.variables["blender"] == Variable(
        values=(VariableValue(platform="linux", value="blender"),)
    )


# -- errors: each names the key path and the line


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            minimal("manager_name: Farm\n\n\n\ntask_timeout: ten minutes\n"),
            'flamenco-manager.yaml line 7: task_timeout: "ten minutes" is not a duration '
            "like 10m0s: expected a number at 'ten minutes'",
        ),
        (
            minimal("task_timeout: 10\n"),
            'flamenco-manager.yaml line 3: task_timeout: "10" is not a duration like 10m0s: '
            "use one of the units ns, us, ms, s, m, h after the number",
        ),
        (
            minimal("shaman:\n  garbageCollect:\n    period: 1d\n"),
            'flamenco-manager.yaml line 5: shaman.garbageCollect.period: "1d" is not a duration '
            "like 10m0s: unknown unit 'd'; use one of the units ns, us, ms, s, m, h",
        ),
        (
            minimal("autodiscoverable: maybe\n"),
            'flamenco-manager.yaml line 3: autodiscoverable: "maybe" is not true or false',
        ),
        (
            minimal('autodiscoverable: "true"\n'),
            'flamenco-manager.yaml line 3: autodiscoverable: "true" is not true or false',
        ),
        (
            minimal("blocklist_threshold: three\n"),
            'flamenco-manager.yaml line 3: blocklist_threshold: "three" is not a whole number',
        ),
        (
            minimal('blocklist_threshold: "3"\n'),
            'flamenco-manager.yaml line 3: blocklist_threshold: "3" is not a whole number '
            "(write it without quotes)",
        ),
        (
            minimal("blocklist_threshold: 2.5\n"),
            'flamenco-manager.yaml line 3: blocklist_threshold: "2.5" is not a whole number',
        ),
        (
            minimal("manager_name:\n  - a\n  - b\n"),
            "flamenco-manager.yaml line 4: manager_name: expected text, not a list",
        ),
        (
            minimal("shaman: yes\n"),
            "flamenco-manager.yaml line 3: shaman: expected a group of settings "
            '(indented `key: value` lines), not "yes"',
        ),
        (
            minimal("shaman:\n  link_mode: sometimes\n"),
            'flamenco-manager.yaml line 4: shaman.link_mode: "sometimes" is not one of '
            "auto, symlink, hardlink, copy",
        ),
        (
            minimal("mqtt:\n  client:\n    enabled: 1\n"),
            'flamenco-manager.yaml line 5: mqtt.client.enabled: "1" is not true or false',
        ),
        (
            minimal("variables:\n  blender:\n    values: blender\n"),
            "flamenco-manager.yaml line 5: variables.blender.values: expected a list of values "
            '(lines starting with `- `), not "blender"',
        ),
        (
            minimal(
                "variables:\n  blender:\n    values:\n    - platform: linux\n      value: b\n"
                "    - platforms: linux\n      value: b\n"
            ),
            "flamenco-manager.yaml line 8: variables.blender.values[1].platforms: "
            'expected a list, not "linux"',
        ),
        (
            minimal("variables:\n  blender:\n    is_twoway: sure\n"),
            "flamenco-manager.yaml line 5: variables.blender.is_twoway: "
            '"sure" is not true or false',
        ),
        (
            minimal("variables: [blender]\n"),
            "flamenco-manager.yaml line 3: variables: expected variables by name, not a list",
        ),
        (
            minimal("task_log_max_bytes: -1\n"),
            "flamenco-manager.yaml line 3: task_log_max_bytes: must not be negative",
        ),
        (
            minimal("no_progress_timeout: -5m\n"),
            "flamenco-manager.yaml line 3: no_progress_timeout: must not be negative",
        ),
        (
            minimal("resource_limits:\n  nuke-licence: -1\n"),
            "flamenco-manager.yaml line 4: resource_limits: limit nuke-licence must not be "
            "negative",
        ),
        (
            minimal("resource_limits:\n  nuke-licence: ten\n"),
            'flamenco-manager.yaml line 4: resource_limits.nuke-licence: "ten" is not a '
            "whole number",
        ),
        (
            minimal("resource_limits: 10\n"),
            "flamenco-manager.yaml line 3: resource_limits: expected `name: number` lines, "
            'not "10"',
        ),
        (
            minimal("job_compiler_timeout: 0s\n"),
            "flamenco-manager.yaml line 3: job_compiler_timeout: must be longer than 0s",
        ),
        (
            minimal('database: "  "\n'),
            "flamenco-manager.yaml line 3: database: must name the database file, "
            "e.g. flamenco-manager.sqlite, or a PostgreSQL URL, "
            "e.g. postgresql://flamenco@db-host/flamenco",
        ),
    ],
)
def test_malformed_values_name_key_and_line(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_text(tmp_path, text)
    assert str(raised.value) == message
    assert raised.value.filename == FILENAME


def test_error_attributes(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as raised:
        load_text(tmp_path, minimal("shaman:\n  garbageCollect:\n    maxAge: forever\n"))
    assert raised.value.key == "shaman.garbageCollect.maxAge"
    assert raised.value.line == 5
    assert "is not a duration like 10m0s" in raised.value.problem


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        ("_meta:\n  version: 2\n", 2, "version 2 is not supported; only version 3"),
        ("_meta:\n  version: '3'\n", 2, '"3" is not a whole number (write it without quotes)'),
        ("manager_name: Farm\n", 1, 'is missing; add "_meta:" with "  version: 3" at the top'),
        ("_meta:\n  other: 1\n", 1, "is missing; only version 3 is supported"),
        ("# only a comment\n", 1, "the file is empty"),
        ("", 1, "the file is empty"),
    ],
)
def test_meta_version_must_be_3(tmp_path: Path, text: str, line: int, problem: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_text(tmp_path, text)
    assert raised.value.key == "_meta.version"
    assert raised.value.line == line
    assert problem in raised.value.problem


def test_meta_must_be_a_mapping(tmp_path: Path) -> None:
    with pytest.raises(
        ConfigError, match=r"line 1: _meta: expected a group of settings, not \"3\""
    ):
        load_text(tmp_path, "_meta: 3\n")


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        (minimal("listen: :8080\n  bad indent: x\n"), 4, "YAML syntax error: mapping values"),
        (minimal('manager_name: "unterminated\n'), 4, "YAML syntax error"),
        (minimal("shaman: {enabled: true\n"), 4, "YAML syntax error"),
        (minimal("task_timeout: !!python/name:os.system x\n"), 3, "YAML syntax error"),
        ("- just\n- a list\n", 1, "the configuration must be a group of settings, not a list"),
    ],
)
def test_syntax_errors_give_the_line(tmp_path: Path, text: str, line: int, problem: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_text(tmp_path, text)
    assert raised.value.line == line
    assert raised.value.key is None
    assert problem in raised.value.problem
    assert str(raised.value).startswith(f"{FILENAME} line {line}: ")


def test_unreadable_file_is_an_error(tmp_path: Path) -> None:
    (tmp_path / FILENAME).mkdir()
    with pytest.raises(ConfigError, match="cannot read the file"):
        config.load_config(tmp_path / FILENAME)


def test_non_utf8_file_is_an_error(tmp_path: Path) -> None:
    (tmp_path / FILENAME).write_bytes(b"_meta:\n  version: 3\nmanager_name: \xff\n")
    with pytest.raises(ConfigError, match="not UTF-8"):
        config.load_config(tmp_path / FILENAME)


def test_unc_shared_storage_is_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="flamenco.manager.config"):
        load_text(tmp_path, minimal("shared_storage_path: '\\\\NAS\\flamenco'\n"))
    assert "UNC notation" in caplog.text


# -- first run and paths


def loaded_with(tmp_path: Path, **changes: object) -> LoadedConfig:
    return LoadedConfig(
        config=dataclasses.replace(config.default_config("linux"), **changes),  # type: ignore[arg-type]
        path=tmp_path / FILENAME,
        file_existed=True,
    )


def test_first_run_when_shared_storage_is_empty(tmp_path: Path) -> None:
    assert loaded_with(tmp_path, shared_storage_path="").is_first_run is True
    assert loaded_with(tmp_path, shared_storage_path="/srv").is_first_run is False
    forced = dataclasses.replace(
        loaded_with(tmp_path, shared_storage_path="/srv"), force_first_run=True
    )
    assert forced.is_first_run is True


def test_relative_paths_resolve_against_the_config_directory(tmp_path: Path) -> None:
    loaded = loaded_with(
        tmp_path,
        database="db/flamenco.sqlite",
        local_manager_storage_path="./flamenco-manager-storage",
        shared_storage_path="../shared",
        job_scripts_path="scripts",
    )
    assert loaded.database_path == tmp_path / "db" / "flamenco.sqlite"
    assert loaded.local_storage_path == tmp_path / "flamenco-manager-storage"
    assert loaded.shared_storage_path == str(tmp_path.parent / "shared")
    assert loaded.job_scripts_path == tmp_path / "scripts"
    assert loaded.config_dir == tmp_path


def test_absolute_paths_are_kept(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    loaded = loaded_with(
        tmp_path / "config",
        database=str(elsewhere / "db.sqlite"),
        local_manager_storage_path=str(elsewhere / "local"),
        shared_storage_path=str(elsewhere / "shared"),
        job_scripts_path=str(elsewhere / "scripts"),
    )
    assert loaded.database_path == elsewhere / "db.sqlite"
    assert loaded.local_storage_path == elsewhere / "local"
    assert loaded.shared_storage_path == str(elsewhere / "shared")
    assert loaded.job_scripts_path == elsewhere / "scripts"


def test_empty_shared_storage_stays_empty(tmp_path: Path) -> None:
    assert loaded_with(tmp_path, shared_storage_path="").shared_storage_path == ""


@pytest.mark.parametrize(
    ("database", "relative"),
    [
        ("flamenco-manager.sqlite", "flamenco-manager.sqlite"),
        ("  flamenco-manager.sqlite \n", "flamenco-manager.sqlite"),
        ("file:flamenco.sqlite", "flamenco.sqlite"),
        ("file:flamenco.sqlite?_pragma=busy_timeout(5000)", "flamenco.sqlite"),
        ("file:my%20farm.sqlite", "my farm.sqlite"),
    ],
)
def test_database_path_from_dsn(tmp_path: Path, database: str, relative: str) -> None:
    assert loaded_with(tmp_path, database=database).database_path == tmp_path / relative


@pytest.mark.skipif(os.name != "posix", reason="POSIX absolute file URIs")
def test_database_path_from_absolute_file_uri(tmp_path: Path) -> None:
    for database in (
        "file:///var/lib/flamenco/db.sqlite",
        "file://localhost/var/lib/flamenco/db.sqlite",
    ):
        assert loaded_with(tmp_path, database=database).database_path == Path(
            "/var/lib/flamenco/db.sqlite"
        )


def test_effective_storage_with_shaman(tmp_path: Path) -> None:
    shared = str(tmp_path / "shared")
    loaded = loaded_with(tmp_path, shared_storage_path=shared)
    loaded = dataclasses.replace(
        loaded, config=dataclasses.replace(loaded.config, shaman=config.ShamanConfig(enabled=True))
    )
    assert config.effective_shaman_enabled(loaded) is True
    assert config.effective_storage_location(loaded) == os.path.join(shared, "jobs")


def test_effective_storage_without_shaman(tmp_path: Path) -> None:
    shared = str(tmp_path / "shared")
    loaded = loaded_with(tmp_path, shared_storage_path=shared)
    loaded = dataclasses.replace(
        loaded, config=dataclasses.replace(loaded.config, shaman=config.ShamanConfig(enabled=False))
    )
    assert config.effective_shaman_enabled(loaded) is False
    assert config.effective_storage_location(loaded) == shared


def test_shaman_is_off_during_first_run(tmp_path: Path) -> None:
    loaded = loaded_with(tmp_path, shared_storage_path="")
    assert loaded.config.shaman.enabled is True
    assert config.effective_shaman_enabled(loaded) is False
    assert config.effective_storage_location(loaded) == ""

    forced = dataclasses.replace(
        loaded_with(tmp_path, shared_storage_path=str(tmp_path)), force_first_run=True
    )
    assert config.effective_shaman_enabled(forced) is False
    assert config.effective_storage_location(forced) == str(tmp_path)


# -- writing


def customised_config() -> ManagerConfig:
    defaults = config.default_config("linux")
    return dataclasses.replace(
        defaults,
        manager_name="Ünicode Farm: yes",
        database=" file:flamenco.sqlite ",
        database_check_period=datetime.timedelta(hours=1),
        listen="[::0]:8083",
        autodiscoverable=False,
        shared_storage_path="/srv/flamenco",
        shaman=config.ShamanConfig(
            enabled=False,
            garbage_collect=config.ShamanGarbageCollect(
                period=datetime.timedelta(0), max_age=datetime.timedelta(days=2, seconds=1.5)
            ),
            link_mode=ShamanLinkMode.COPY,
        ),
        task_timeout=datetime.timedelta(minutes=30),
        worker_timeout=datetime.timedelta(seconds=-5),
        blocklist_threshold=0,
        task_fail_after_softfail_count=10,
        mqtt=config.MQTTConfig(
            client=config.MQTTClientConfig(
                enabled=True,
                broker="tcp://mqtt:1883",
                client_id="farm",
                topic_prefix="studio/flamenco",
                username="null",
                password="123",
            )
        ),
        job_scripts_path="/etc/flamenco/scripts",
        job_compiler_timeout=datetime.timedelta(milliseconds=1500),
        task_log_max_bytes=0,
        no_progress_timeout=datetime.timedelta(minutes=45),
        variables={
            **defaults.variables,
            "storage": Variable(
                is_twoway=True,
                values=(
                    VariableValue(audience="workers", platform="linux", value="/srv/flamenco"),
                    VariableValue(platform="windows", value="S:\\"),
                    VariableValue(audience="all", platforms=("darwin", "freebsd"), value="~"),
                ),
            ),
            "empty": Variable(),
            "tricky": Variable(values=(VariableValue(platform="all", value="{a}: - # 'b' \"c\""),)),
        },
    )


@pytest.mark.parametrize("make_config", [lambda: config.default_config("linux"), customised_config])
def test_round_trip(tmp_path: Path, make_config: Callable[[], ManagerConfig]) -> None:
    original = make_config()
    path = tmp_path / FILENAME
    config.write_config(original, path)
    loaded = config.load_config(path, platform="linux")
    assert loaded.config == original
    assert loaded.unknown_keys == ()


def test_written_file_starts_with_a_header_comment(tmp_path: Path) -> None:
    path = tmp_path / FILENAME
    config.write_config(config.default_config("linux"), path)
    text = path.read_text(encoding="utf-8")
    header = text.split("_meta:")[0]
    assert all(line.startswith("#") or not line for line in header.splitlines())
    assert "web interface may overwrite this file" in header


def test_written_keys_follow_upstream_order(tmp_path: Path) -> None:
    path = tmp_path / FILENAME
    config.write_config(customised_config(), path)
    top_level = [
        line.split(":")[0]
        for line in path.read_text(encoding="utf-8").splitlines()
        if line and not line.startswith((" ", "#", "-"))
    ]
    assert top_level == [
        "_meta",
        "manager_name",
        "database",
        "database_check_period",
        "listen",
        "autodiscoverable",
        "local_manager_storage_path",
        "shared_storage_path",
        "shaman",
        "task_timeout",
        "worker_timeout",
        "blocklist_threshold",
        "task_fail_after_softfail_count",
        "mqtt",
        "job_scripts_path",
        "job_compiler_timeout",
        "task_log_max_bytes",
        "no_progress_timeout",
        "redis_url",
        "database_backup_period",
        "database_backup_keep",
        "database_backup_path",
        "http_header_timeout",
        "http_idle_timeout",
        "http_max_connections",
        "resource_limits",
        "notifications",
        "render_statistics",
        "render_statistics_retention",
        "metrics_enabled",
        "access_control",
        "worker_enrolment_secret",
        "listen_tls_certificate",
        "listen_tls_key",
        "trusted_proxy_addresses",
        "trusted_proxy_user_header",
        "trusted_proxy_role",
        "oidc",
        "variables",
    ]


def test_durations_are_written_in_go_syntax(tmp_path: Path) -> None:
    path = tmp_path / FILENAME
    config.write_config(config.default_config("linux"), path)
    text = path.read_text(encoding="utf-8")
    assert "task_timeout: 10m0s\n" in text
    assert "    maxAge: 744h0m0s\n" in text


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_write_is_private_and_keeps_a_backup(tmp_path: Path) -> None:
    path = tmp_path / FILENAME
    path.write_text(UPSTREAM_FILE, encoding="utf-8")
    path.chmod(0o644)

    config.write_config(config.default_config("linux"), path)

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    backup = tmp_path / (FILENAME + ".bak")
    assert backup.read_text(encoding="utf-8") == UPSTREAM_FILE
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    assert not (tmp_path / (FILENAME + "~")).exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [FILENAME, FILENAME + ".bak"]


def test_write_without_previous_file_makes_no_backup(tmp_path: Path) -> None:
    config.write_config(config.default_config("linux"), tmp_path / FILENAME)
    assert sorted(p.name for p in tmp_path.iterdir()) == [FILENAME]


def test_failed_write_leaves_the_file_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / FILENAME
    path.write_text(UPSTREAM_FILE, encoding="utf-8")

    def fail(*args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        config.write_config(config.default_config("linux"), path)
    assert path.read_text(encoding="utf-8") == UPSTREAM_FILE
    assert not (tmp_path / (FILENAME + "~")).exists()


# -- JSON for the web editor


def test_config_to_json_uses_file_keys_and_go_durations() -> None:
    data = config.config_to_json(config.default_config("linux"))
    assert data["_meta"] == {"version": 3}
    assert data["task_timeout"] == "10m0s"
    assert data["shaman"] == {
        "enabled": True,
        "garbageCollect": {"period": "24h0m0s", "maxAge": "744h0m0s"},
        "link_mode": "auto",
    }
    assert data["mqtt"] == {
        "client": {
            "enabled": False,
            "broker": "",
            "clientID": "flamenco",
            "topic_prefix": "flamenco",
            "username": "",
            "password": "",
        }
    }
    assert data["variables"] == {
        "blender": {
            "values": [
                {"platform": "linux", "value": "blender"},
                {"platform": "windows", "value": "blender.exe"},
                {"platform": "darwin", "value": "blender"},
            ]
        },
        "blenderArgs": {"values": [{"platform": "all", "value": "-b -y"}]},
    }


@pytest.mark.parametrize("make_config", [lambda: config.default_config("linux"), customised_config])
def test_json_round_trip(make_config: Callable[[], ManagerConfig]) -> None:
    original = make_config()
    assert config.config_from_json(config.config_to_json(original), platform="linux") == original


def test_json_left_out_keys_and_nulls_keep_defaults() -> None:
    loaded = config.config_from_json(
        {"manager_name": "Web", "listen": None, "shaman": {"enabled": False}}, platform="linux"
    )
    defaults = config.default_config("linux")
    assert loaded == dataclasses.replace(
        defaults,
        manager_name="Web",
        shaman=dataclasses.replace(defaults.shaman, enabled=False),
    )


def test_json_variables_replace_the_defaults() -> None:
    loaded = config.config_from_json(
        {"variables": {"blender": {"values": [{"platform": "all", "value": "blender"}]}}}
    )
    assert list(loaded.variables) == ["blender"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"task_timeout": 600},
            "task_timeout: 600 is not a duration like 10m0s (write it as text)",
        ),
        ({"task_timeout": "10"}, 'task_timeout: "10" is not a duration like 10m0s'),
        ({"listen": 8080}, "listen: expected text, not 8080"),
        ({"autodiscoverable": "true"}, 'autodiscoverable: "true" is not true or false'),
        ({"blocklist_threshold": True}, "blocklist_threshold: true is not a whole number"),
        ({"shaman": {"garbageCollect": {"maxAge": "forever"}}}, "shaman.garbageCollect.maxAge: "),
        ({"shaman": {"link_mode": "move"}}, 'shaman.link_mode: "move" is not one of'),
        ({"mqtt": []}, "mqtt: expected a group of settings"),
        ({"_meta": {"version": 2}}, "_meta.version: version 2 is not supported"),
        (
            {"variables": {"blender": {"values": [{"audience": "artists", "value": "b"}]}}},
            'variables.blender.values[0].audience: "artists" is not one of all, workers, users',
        ),
        (
            {"variables": {"blender": {"values": [{"platforms": "linux", "value": "b"}]}}},
            'variables.blender.values[0].platforms: expected a list, not "linux"',
        ),
        ({"variables": {"blender": None}}, "variables.blender: expected `is_twoway` and `values`"),
        ([], "the configuration must be a group of settings, not a list"),
    ],
)
def test_json_errors_name_the_key(data: object, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        config.config_from_json(data)
    assert str(raised.value).startswith(message)
    assert raised.value.line is None
    assert raised.value.filename is None


def test_json_unknown_keys_are_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="flamenco.manager.config"):
        config.config_from_json({"colour": "pink", "shaman": {"enabled": True, "speed": 3}})
    assert "colour" in caplog.text
    assert "shaman.speed" in caplog.text
