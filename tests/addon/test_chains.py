"""Chains of jobs in the add-on: which jobs a chain job type stands for, and their settings."""

from __future__ import annotations

from typing import Any

import pytest
from flamenco_addon import chains

CHAIN_TYPE: dict[str, Any] = {
    "name": "shot-pipeline",
    "settings": [{"key": "frames", "type": "string"}],
    "chain": [
        {"type": "sim-bake", "name": "bake"},
        "simple-blender-render",
        {"type": "comp", "dependsOn": ["sim-bake", "simple-blender-render"]},
    ],
}


def test_each_job_waits_for_the_one_before_unless_told_otherwise() -> None:
    assert chains.links(CHAIN_TYPE) == [
        chains.ChainLink("sim-bake", "bake", []),
        chains.ChainLink("simple-blender-render", "simple-blender-render", [0]),
        chains.ChainLink("comp", "comp", [0, 1]),
    ]
    assert chains.links({"name": "plain", "settings": []}) == []


def test_a_dependency_on_a_later_job_type_is_refused() -> None:
    broken = {"chain": ["a", {"type": "b", "dependsOn": ["c"]}]}
    with pytest.raises(chains.ChainError, match="'c', which is not earlier"):
        chains.links(broken)
    with pytest.raises(chains.ChainError, match="entry 1"):
        chains.links({"chain": [{"name": "no type"}]})


def test_member_settings_take_the_chains_values_then_evals_then_defaults() -> None:
    member = {
        "name": "simple-blender-render",
        "settings": [
            {"key": "frames", "type": "string", "eval": "'1-100'"},
            {"key": "chunk_size", "type": "int32", "default": "3"},
            {"key": "format", "type": "string", "eval": "'PNG'"},
            {"key": "optional", "type": "string"},
        ],
    }
    evaluated: list[str] = []

    def evaluate(setting: dict[str, Any]) -> Any:
        evaluated.append(setting["key"])
        return "evaluated " + setting["key"]

    values = chains.member_settings(member, {"frames": "1-10", "unrelated": 1}, evaluate)
    assert values == {"frames": "1-10", "chunk_size": 3, "format": "evaluated format"}
    assert evaluated == ["format"]


def test_names_and_ids() -> None:
    link = chains.links(CHAIN_TYPE)[0]
    assert chains.job_name("shot_010", link) == "shot_010 - bake"
    assert chains.parse_job_ids(" a1, b2 c3,") == ["a1", "b2", "c3"]
    assert chains.find_job_type([CHAIN_TYPE], "shot-pipeline") is CHAIN_TYPE
    assert chains.find_job_type([CHAIN_TYPE], "nope") is None
