"""The add-on's translation of job type settings into Blender properties, without Blender."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from flamenco_addon import job_settings

from support.manager import RunningManager


def spec_of(setting: dict[str, Any]) -> job_settings.PropertySpec:
    return job_settings.property_spec(setting, "test-type")


@pytest.mark.parametrize(
    ("kind", "function", "default", "expected"),
    [
        ("string", "StringProperty", "hello", "hello"),
        ("int32", "IntProperty", 3.0, 3),  # JSON cannot tell 3 from 3.0
        ("float", "FloatProperty", 2, 2.0),
        ("bool", "BoolProperty", 1, True),
    ],
)
def test_the_four_setting_types_become_their_properties(
    kind: str, function: str, default: Any, expected: Any
) -> None:
    spec = spec_of({"key": "thing", "type": kind, "default": default})
    assert spec.function == function
    assert spec.kwargs["default"] == expected
    assert type(spec.kwargs["default"]) is type(expected)
    # Not animatable: job settings are not keyframed.
    assert spec.kwargs["options"] == set()


def test_string_choices_become_an_enum_with_the_default_selected() -> None:
    spec = spec_of(
        {"key": "quality", "type": "string", "choices": ["draft", "final"], "default": "final"}
    )
    assert spec.function == "EnumProperty"
    assert spec.kwargs["items"] == [("draft", "draft", ""), ("final", "final", "")]
    assert spec.kwargs["default"] == "final"


def test_a_default_outside_the_choices_is_dropped_rather_than_breaking_registration() -> None:
    spec = spec_of({"key": "q", "type": "string", "choices": ["a", "b"], "default": "c"})
    assert "default" not in spec.kwargs


def test_choices_on_other_types_are_ignored() -> None:
    spec = spec_of({"key": "count", "type": "int32", "choices": ["1", "2"]})
    assert spec.function == "IntProperty"
    assert "items" not in spec.kwargs


@pytest.mark.parametrize(
    ("subtype", "expected"),
    [
        ("file_path", "FILE_PATH"),
        ("dir_path", "DIR_PATH"),
        ("file_name", "FILE_NAME"),
        ("hashed_file_path", "FILE_PATH"),  # Blender has no hashed paths
    ],
)
def test_subtypes_are_blenders(subtype: str, expected: str) -> None:
    assert spec_of({"key": "p", "type": "string", "subtype": subtype}).kwargs["subtype"] == expected


def test_a_subtype_that_blender_would_refuse_is_dropped() -> None:
    assert "subtype" not in spec_of({"key": "n", "type": "int32", "subtype": "dir_path"}).kwargs


def test_labels_descriptions_and_propargs() -> None:
    spec = spec_of(
        {
            "key": "add_path_components",
            "type": "int32",
            "description": "How many folders",
            "propargs": {"min": 0.0, "max": "32", "soft_max": 8, "update": "evil()", "maxlen": 3},
        }
    )
    assert spec.kwargs["name"] == "Add Path Components"
    assert spec.kwargs["description"] == "How many folders"
    assert (spec.kwargs["min"], spec.kwargs["max"], spec.kwargs["soft_max"]) == (0, 32, 8)
    assert type(spec.kwargs["min"]) is int
    # Callbacks and other types' arguments would break registration or run code.
    assert "update" not in spec.kwargs and "maxlen" not in spec.kwargs

    labelled = spec_of({"key": "use_denoiser", "type": "bool", "label": "Denoise"})
    assert labelled.kwargs["name"] == "Denoise"


@pytest.mark.parametrize(
    ("visible", "shown"),
    [(None, True), ("visible", True), ("submission", True), ("web", False), ("hidden", False)],
)
def test_visibility(visible: str | None, shown: bool) -> None:
    setting: dict[str, Any] = {"key": "k", "type": "string"}
    if visible is not None:
        setting["visible"] = visible
    assert job_settings.is_visible(setting) is shown
    # Settings the artist does not see are always computed at submission.
    assert job_settings.should_autoeval(setting, autoeval_enabled=False) is not shown


def test_only_an_explicit_editable_false_makes_a_setting_read_only() -> None:
    assert not spec_of({"key": "a", "type": "string"}).read_only
    assert not spec_of({"key": "a", "type": "string", "editable": True}).read_only
    read_only = spec_of({"key": "a", "type": "string", "editable": False, "eval": "'x'"})
    assert read_only.read_only and read_only.eval_expression == "'x'"
    # Read-only settings are computed, so they never become enums.
    assert (
        spec_of({"key": "a", "type": "string", "editable": False, "choices": ["x"]}).function
        == "StringProperty"
    )


def test_link_button_settings_get_an_automatic_value_toggle() -> None:
    job_type = {
        "name": "t",
        "settings": [
            {
                "key": "frames",
                "type": "string",
                "eval": "'1-2'",
                "evalInfo": {"showLinkButton": True, "description": "Scene frame range"},
            },
            {"key": "plain", "type": "string", "eval": "'x'"},
            {"key": "bad key", "type": "string"},
            {"key": "frames", "type": "string"},  # duplicate
        ],
    }
    specs = job_settings.property_specs(job_type)
    assert [spec.key for spec in specs] == ["frames", "autoeval_frames", "plain"]
    toggle = specs[1]
    assert toggle.function == "BoolProperty" and toggle.kwargs["default"] is True
    frames = job_type["settings"][0]
    assert job_settings.eval_description(frames) == "Scene frame range"
    assert job_settings.should_autoeval(frames, autoeval_enabled=True)
    assert not job_settings.should_autoeval(frames, autoeval_enabled=False)


def test_class_names_are_identifiers() -> None:
    assert (
        job_settings.class_name("simple-blender-render") == "FlamencoJobSettingsSimpleBlenderRender"
    )
    assert job_settings.class_name("my.type 2").isidentifier()


def fake_context(frame_start: int = 1, frame_end: int = 10) -> Any:
    render = SimpleNamespace(
        fps=25,
        fps_base=1.0,
        file_extension=".png",
        image_settings=SimpleNamespace(file_format="PNG", use_preview=False),
    )
    scene = SimpleNamespace(
        frame_start=frame_start, frame_end=frame_end, name="Scene", render=render
    )
    return SimpleNamespace(scene=scene)


def namespace(tmp_path: Path, settings: Any, job_name: str = "shot") -> dict[str, Any]:
    return job_settings.eval_namespace(
        bpy_module=SimpleNamespace(),
        context=fake_context(),
        job_name=job_name,
        blendfile=str(tmp_path / "proj" / "seq" / "shot.blend"),
        settings=settings,
    )


def test_eval_namespace_has_upstreams_names(tmp_path: Path) -> None:
    names = namespace(tmp_path, settings=None)
    assert set(names) == {"bpy", "C", "jobname", "Path", "abspath", "last_n_dir_parts", "settings"}
    assert names["abspath"]("//render") == tmp_path / "proj" / "seq" / "render"
    assert names["last_n_dir_parts"](2) == Path("proj", "seq")
    assert names["last_n_dir_parts"](0) == Path()
    assert names["last_n_dir_parts"](1, "/a/b/c/file.blend") == Path("c")
    assert names["last_n_dir_parts"](99, "/a/b/file.blend") == Path("a", "b")


def test_simple_blender_render_output_path_expression(tmp_path: Path) -> None:
    settings = SimpleNamespace(render_output_root="//output/", add_path_components=1)
    setting = {
        "key": "render_output_path",
        "type": "string",
        "editable": False,
        "eval": "str(Path(abspath(settings.render_output_root), "
        "last_n_dir_parts(settings.add_path_components), jobname, '{timestamp}', '######'))",
    }
    value = job_settings.evaluate(setting, namespace(tmp_path, settings))
    assert value == str(
        tmp_path / "proj" / "seq" / "output" / "seq" / "shot" / "{timestamp}" / "######"
    )


def test_eval_results_take_the_settings_type(tmp_path: Path) -> None:
    names = namespace(tmp_path, settings=None)
    fps = {"key": "fps", "type": "float", "eval": "C.scene.render.fps / C.scene.render.fps_base"}
    frames = {
        "key": "frames",
        "type": "string",
        "eval": "f'{C.scene.frame_start}-{C.scene.frame_end}'",
    }
    count = {"key": "n", "type": "int32", "eval": "len([x for x in range(C.scene.frame_end)])"}
    assert job_settings.evaluate(fps, names) == 25.0
    assert job_settings.evaluate(frames, names) == "1-10"
    assert job_settings.evaluate(count, names) == 10  # comprehensions see the names too
    path = {"key": "p", "type": "string", "eval": "Path('/a') / 'b'"}
    assert job_settings.evaluate(path, names) == str(Path("/a/b"))


def test_a_failing_expression_is_explained(tmp_path: Path) -> None:
    setting = {"key": "scene", "type": "string", "eval": "C.scene.nope"}
    with pytest.raises(job_settings.SettingEvalError) as caught:
        job_settings.evaluate(setting, namespace(tmp_path, settings=None))
    message = str(caught.value)
    assert "'scene'" in message and "C.scene.nope" in message and "AttributeError" in message


def test_submission_values(tmp_path: Path) -> None:
    def names() -> dict[str, Any]:
        return namespace(tmp_path, settings=None)

    hidden = {"key": "fps", "type": "float", "visible": "hidden", "eval": "24"}
    hidden_default = {"key": "d", "type": "int32", "visible": "hidden", "default": 7}
    linked = {
        "key": "frames",
        "type": "string",
        "eval": "'1-10'",
        "evalInfo": {"showLinkButton": True, "description": ""},
    }
    plain = {"key": "chunk_size", "type": "int32", "default": 1}
    read_only = {"key": "r", "type": "string", "editable": False, "default": "fixed"}

    assert job_settings.submission_value(hidden, 0.0, False, names) == 24.0
    assert job_settings.submission_value(hidden_default, 0, False, names) == 7
    assert job_settings.submission_value(linked, "3-4", True, names) == "1-10"
    assert job_settings.submission_value(linked, "3-4", False, names) == "3-4"
    assert job_settings.submission_value(plain, 5, False, names) == 5
    assert job_settings.submission_value(read_only, "", False, names) == "fixed"


async def test_the_managers_job_types_translate(manager: RunningManager) -> None:
    """The wire names (evalInfo, showLinkButton, propargs...) are the ones the add-on reads."""
    reply = await manager.client.request("GET", "/api/v3/jobs/types", expect=200)
    job_types = reply.json()["job_types"]
    render = next(t for t in job_types if t["name"] == "simple-blender-render")
    specs = {spec.key: spec for spec in job_settings.property_specs(render)}
    assert "autoeval_frames" in specs
    assert specs["render_output_path"].read_only
    assert specs["render_output_root"].kwargs["subtype"] == "DIR_PATH"
    assert (
        specs["add_path_components"].kwargs["min"],
        specs["add_path_components"].kwargs["max"],
    ) == (0, 32)
    shown = [s["key"] for s in render["settings"] if job_settings.is_visible(s)]
    assert shown == [
        "frames",
        "chunk_size",
        "render_output_root",
        "add_path_components",
        "render_output_path",
        "warn_black_frames",
        "warn_identical_frames",
    ]
