"""Server-side settings checks: required, declared types, choices, and defaults."""

from __future__ import annotations

from typing import Any

import pytest

from flamenco.manager import job_compilers
from flamenco.manager.job_compilers import validation

from .conftest import CREATED, submitted_job

DECLARED: list[dict[str, Any]] = [
    {"key": "name", "type": "string", "required": True},
    {"key": "count", "type": "int32", "default": 1},
    {"key": "ratio", "type": "float"},
    {"key": "enabled", "type": "bool", "default": False},
    {"key": "mode", "type": "string", "choices": ["fast", "good"], "default": "fast"},
    {"key": "odd", "type": "color"},
]


def prepare(settings: dict[str, Any]) -> dict[str, Any]:
    return validation.prepare_settings(DECLARED, settings)


def test_valid_settings_pass_and_defaults_fill_the_gaps() -> None:
    assert prepare({"name": "shot", "ratio": 0.5}) == {
        "name": "shot",
        "count": 1,
        "ratio": 0.5,
        "enabled": False,
        "mode": "fast",
    }


def test_undeclared_settings_pass_through_untouched() -> None:
    extra = {"nested": {"a": [1, 2]}, "anything": None}
    settings = prepare({"name": "shot", **extra})
    assert settings["nested"] == {"a": [1, 2]}
    assert settings["anything"] is None


def test_given_values_win_over_defaults() -> None:
    settings = prepare({"name": "shot", "count": 7, "enabled": True, "mode": "good"})
    assert (settings["count"], settings["enabled"], settings["mode"]) == (7, True, "good")


def test_defaults_are_copies() -> None:
    declared = [{"key": "list", "type": "string", "default": {"a": [1]}}]
    first = validation.prepare_settings(declared, {})
    first["list"]["a"].append(2)
    assert validation.prepare_settings(declared, {})["list"] == {"a": [1]}


@pytest.mark.parametrize("settings", [{}, {"name": None}])
def test_missing_required_setting_is_named(settings: dict[str, Any]) -> None:
    with pytest.raises(job_compilers.JobSettingsInvalid) as caught:
        prepare(settings)
    assert caught.value.key == "name"
    assert "'name'" in caught.value.message
    assert "required" in caught.value.message


def test_required_setting_with_default_is_still_required() -> None:
    declared = [{"key": "components", "type": "int32", "required": True, "default": 0}]
    with pytest.raises(job_compilers.JobSettingsInvalid, match="required"):
        validation.prepare_settings(declared, {})


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("name", 5),
        ("name", True),
        ("count", "3"),
        ("count", True),
        ("count", 1.5),
        ("count", 2**31),
        ("count", -(2**31) - 1),
        ("ratio", "0.5"),
        ("ratio", False),
        ("ratio", float("nan")),
        ("enabled", 1),
        ("enabled", "true"),
        ("mode", "slow"),
        ("mode", 3),
    ],
)
def test_wrong_values_are_refused_naming_the_setting(key: str, value: Any) -> None:
    settings = {"name": "shot", key: value}
    with pytest.raises(job_compilers.JobSettingsInvalid) as caught:
        prepare(settings)
    assert caught.value.key == key
    assert repr(key) in caught.value.message


@pytest.mark.parametrize(
    ("key", "value", "stored"),
    [
        ("count", 2**31 - 1, 2**31 - 1),
        ("count", -(2**31), -(2**31)),
        ("count", 3.0, 3),
        ("ratio", 2, 2),
        ("ratio", 23.976, 23.976),
        ("odd", [1, 2, 3], [1, 2, 3]),
    ],
)
def test_values_of_the_declared_type_are_accepted(key: str, value: Any, stored: Any) -> None:
    assert prepare({"name": "shot", key: value})[key] == stored


def test_choices_message_lists_the_choices() -> None:
    with pytest.raises(job_compilers.JobSettingsInvalid) as caught:
        prepare({"name": "shot", "mode": "slow"})
    assert caught.value.message == 'setting \'mode\' must be one of "fast", "good", not "slow"'


def test_compile_checks_settings_before_running_the_script(
    built_in_compilers: job_compilers.JobCompilers,
) -> None:
    with pytest.raises(job_compilers.JobSettingsInvalid) as caught:
        built_in_compilers.compile_blocking(
            submitted_job("echo-sleep-test", {"message": "hi", "sleep_repeats": "many"}),
            CREATED,
            None,
        )
    assert caught.value.key == "sleep_repeats"

    with pytest.raises(job_compilers.JobSettingsInvalid) as caught:
        built_in_compilers.compile_blocking(submitted_job("echo-sleep-test"), CREATED, None)
    assert caught.value.key == "message"
