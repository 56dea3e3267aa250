"""Runs inside Blender: installs the add-on zip, makes a scene, refreshes and submits.

Usage: blender -b --factory-startup --python submit_job.py -- CONFIG.json
   or: python-with-bpy submit_job.py -- CONFIG.json  (Blender as a Python module)

CONFIG.json holds `zip`, `manager_url`, `workdir`, `output_root`, `result`,
`submissions` (a list of {"job_name", "place": "project" | "job_storage"}) and
optionally `check_custom_job_type`. Everything the test wants to know is
written to `result` as JSON; assertion failures are recorded there too, so
the test shows what went wrong inside Blender.
"""

from __future__ import annotations

import json
import sys
import traceback
from pathlib import Path

import bpy

# isort: split
# As a Python module, Blender puts its own modules on the path when bpy is imported.
import addon_utils

config = json.loads(Path(sys.argv[sys.argv.index("--") + 1]).read_text(encoding="utf-8"))
result = {"steps": [], "submissions": [], "blender_version": bpy.app.version_string}


def step(name):
    result["steps"].append(name)
    print("--- driver step:", name, flush=True)


def write_result():
    Path(config["result"]).write_text(json.dumps(result, indent=2), encoding="utf-8")


def make_scene(blendfile):
    """A tiny Cycles scene with a texture inside the project and one that is missing."""
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    scene.render.engine = "CYCLES"
    scene.cycles.device = "CPU"
    scene.cycles.samples = 1
    scene.cycles.use_denoising = False  # Debian's Blender has no OpenImageDenoise.
    scene.render.resolution_x = 64
    scene.render.resolution_y = 36
    scene.render.resolution_percentage = 100
    scene.frame_start = 1
    scene.frame_end = 2
    scene.render.fps = 24
    scene.render.image_settings.file_format = "PNG"

    project = blendfile.parent.parent
    textures = project / "textures"
    textures.mkdir(parents=True, exist_ok=True)
    image = bpy.data.images.new("checker", 8, 8)
    image.generated_type = "COLOR_GRID"
    image.filepath_raw = str(textures / "checker.png")
    image.file_format = "PNG"
    image.save()
    missing = bpy.data.images.load(str(textures / "checker.png"))
    missing.name = "missing"
    missing.filepath = "//../textures/does-not-exist.png"

    material = bpy.data.materials.new("textured")
    material.use_nodes = True
    nodes = material.node_tree.nodes
    texture_node = nodes.new("ShaderNodeTexImage")
    texture_node.image = image
    missing_node = nodes.new("ShaderNodeTexImage")
    missing_node.image = missing
    material.node_tree.links.new(
        texture_node.outputs["Color"], nodes["Principled BSDF"].inputs["Base Color"]
    )

    bpy.ops.mesh.primitive_cube_add()
    bpy.context.active_object.data.materials.append(material)
    camera = bpy.data.objects.new("camera", bpy.data.cameras.new("camera"))
    scene.collection.objects.link(camera)
    scene.camera = camera
    camera.location = (6.0, -6.0, 4.0)
    camera.rotation_euler = (1.1, 0.0, 0.785)
    sun = bpy.data.objects.new("sun", bpy.data.lights.new("sun", "SUN"))
    scene.collection.objects.link(sun)

    blendfile.parent.mkdir(parents=True, exist_ok=True)
    bpy.ops.wm.save_as_mainfile(filepath=str(blendfile), relative_remap=True)
    # The paths must be relative for BAT to pack them (upstream packs relative only).
    bpy.ops.file.make_paths_relative()
    bpy.ops.wm.save_mainfile()


def install_addon():
    """Install the zip the way this Blender's Preferences do when an artist picks it."""
    if bpy.app.version >= (4, 2, 0):
        # "Install from Disk..." is the extensions installer since 4.2; it takes a zip
        # without an extension manifest as a legacy add-on, keeping its module name.
        # It answers CANCELLED after handing over to the legacy installer.
        bpy.ops.extensions.package_install_files(
            filepath=config["zip"], repo="user_default", enable_on_install=True, overwrite=True
        )
        result["install_route"] = "extensions.package_install_files"
    else:
        bpy.ops.preferences.addon_install(filepath=config["zip"], overwrite=True)
        addon_utils.enable("flamenco", default_set=True, handle_error=None)
        result["install_route"] = "preferences.addon_install"
    assert "flamenco" in bpy.context.preferences.addons, "the add-on did not enable"
    addon_folder = Path(bpy.utils.user_resource("SCRIPTS")) / "addons" / "flamenco"
    assert (addon_folder / "__init__.py").is_file(), "not installed as a legacy add-on"


def check_properties():
    scene = bpy.context.scene
    names = [
        "flamenco_job_name",
        "flamenco_job_type",
        "flamenco_job_settings",
        "flamenco_job_priority",
        "flamenco_job_submit_as_paused",
        "flamenco_worker_tag",
    ]
    result["scene_properties"] = {name: hasattr(scene, name) for name in names}
    result["job_type_items"] = job_type_identifiers()


def job_type_identifiers():
    # RNA does not list the items of a dynamic enum, so ask the add-on's module.
    return [item[0] for item in sys.modules["flamenco.job_types"]._enum_items]


def describe_settings():
    """What Blender made of each setting: property type, subtype, read-only, enum items."""
    propgroup = bpy.context.scene.flamenco_job_settings
    described = {}
    for prop in propgroup.bl_rna.properties:
        if prop.identifier in {"rna_type", "name"}:
            continue
        info = {
            "type": prop.type,
            "subtype": prop.subtype,
            "read_only": prop.is_readonly,
            "label": prop.name,
            "description": prop.description,
        }
        if prop.type == "ENUM":
            info["items"] = [item.identifier for item in prop.enum_items]
        if prop.type in {"INT", "FLOAT"}:
            info["min"], info["max"] = prop.hard_min, prop.hard_max
        value = getattr(propgroup, prop.identifier)
        info["value"] = value if isinstance(value, (str, int, float, bool)) else str(value)
        described[prop.identifier] = info
    return described


class RecordingLayout:
    """Stands in for bpy.types.UILayout, so panels can be drawn without a window.

    It records what is drawn, and checks every call against this Blender's
    UILayout (function, keywords, icon, property, operator and its properties),
    so that a panel using an API this Blender lacks fails here as it would on screen.
    """

    def __init__(self, calls, problems):
        object.__setattr__(self, "_calls", calls)
        object.__setattr__(self, "_problems", problems)

    def __getattr__(self, name):
        function = bpy.types.UILayout.bl_rna.functions.get(name)
        if function is None:
            self._problems.append(f"UILayout has no function {name!r}")

        def method(*args, **kwargs):
            strings = [arg for arg in args if isinstance(arg, str)]
            self._calls.append((name, [*strings, kwargs.get("text", "")]))
            if function is not None:
                self._check_call(function, args, kwargs)
            if name == "operator" and args:
                return RecordingOperatorProperties(args[0], self._problems)
            return RecordingLayout(self._calls, self._problems)

        return method

    def __setattr__(self, name, value):
        if name not in bpy.types.UILayout.bl_rna.properties:
            self._problems.append(f"UILayout has no property {name!r}")

    def _check_call(self, function, args, kwargs):
        inputs = [parameter for parameter in function.parameters if not parameter.is_output]
        names = {parameter.identifier for parameter in inputs}
        if len(args) > len(inputs) or set(kwargs) - names:
            self._problems.append(
                f"UILayout.{function.identifier}({len(args)} positional, {sorted(kwargs)})"
            )
        icon = kwargs.get("icon")
        if icon is not None and icon not in function.parameters["icon"].enum_items:
            self._problems.append(f"no icon {icon!r} in this Blender")
        if function.identifier == "prop" and len(args) >= 2:
            data, key = args[0], args[1]
            if key not in data.bl_rna.properties:
                self._problems.append(f"{data.bl_rna.identifier} has no property {key!r}")
        if function.identifier == "operator" and args:
            try:
                operator_rna(args[0])
            except (AttributeError, KeyError):
                self._problems.append(f"no operator {args[0]!r}")


def operator_rna(idname):
    category, name = idname.split(".")
    return getattr(getattr(bpy.ops, category), name).get_rna_type()


class RecordingOperatorProperties:
    """What UILayout.operator() returns: the operator's properties, set by the panel."""

    def __init__(self, idname, problems):
        object.__setattr__(self, "_idname", idname)
        object.__setattr__(self, "_problems", problems)

    def __setattr__(self, name, value):
        try:
            known = name in operator_rna(self._idname).properties
        except (AttributeError, KeyError):
            return  # reported by the operator() call already
        if not known:
            self._problems.append(f"operator {self._idname} has no property {name!r}")


def draw_ui():
    """Draw the Output panel and the preferences, recording what they show."""
    calls = []
    problems = []
    panel = type("Panel", (), {"layout": RecordingLayout(calls, problems)})()
    panel_class = bpy.types.FLAMENCO_PT_job_submission
    for name in ("draw_job_settings", "draw_editable_setting", "draw_autoeval_setting",
                 "draw_status", "draw_submit_buttons"):  # fmt: skip
        setattr(panel, name, getattr(panel_class, name).__get__(panel))
    panel_class.draw(panel, bpy.context)
    prefs = bpy.context.preferences.addons["flamenco"].preferences
    type(prefs).draw(type("Prefs", (), {"layout": RecordingLayout(calls, problems),
                                        "bl_rna": prefs.bl_rna,
                                        "project_root": prefs.project_root,
                                        "manager_url": prefs.manager_url})(),
                     bpy.context)  # fmt: skip
    result["draw_problems"] = problems
    return sorted({value for _, values in calls for value in values if value})


def submit(submission):
    scene = bpy.context.scene
    record = {"job_name": submission["job_name"], "place": submission["place"]}
    result["submissions"].append(record)
    if submission["place"] == "job_storage":
        # A blend file that already lives in the job storage is submitted in place.
        target = Path(submission["job_storage"]) / "in-place" / "in_place.blend"
        target.parent.mkdir(parents=True, exist_ok=True)
        bpy.ops.wm.save_as_mainfile(filepath=str(target))
        record["blendfile"] = str(target)
    scene.flamenco_worker_tag = submission.get("worker_tag", "-")
    scene.flamenco_job_priority = submission.get("priority", 50)
    scene.flamenco_job_submit_as_paused = submission.get("paused", False)
    settings = scene.flamenco_job_settings
    settings.render_output_root = config["output_root"]
    settings.chunk_size = 2
    record["render_output_path_in_ui"] = settings.render_output_path
    try:
        outcome = bpy.ops.flamenco.submit_job(job_name=submission["job_name"])
        record["outcome"] = sorted(outcome)
    except RuntimeError as error:
        record["outcome"] = ["RuntimeError"]
        record["error"] = str(error)
    wm = bpy.context.window_manager
    record["status"] = wm.flamenco_bat_status
    record["status_text"] = wm.flamenco_bat_status_txt


def check_chain():
    """A job type declaring a chain submits its jobs; a script chains one more."""
    scene = bpy.context.scene
    wm = bpy.context.window_manager
    scene.flamenco_job_type = "shot-pipeline"
    scene.flamenco_job_submit_as_paused = True
    scene.flamenco_job_settings.render_output_root = config["output_root"]
    try:
        result["chain_outcome"] = sorted(bpy.ops.flamenco.submit_job(job_name="chained"))
    except RuntimeError as error:
        result["chain_outcome"] = ["RuntimeError"]
        result["chain_error"] = str(error)
    result["chain_status_text"] = wm.flamenco_bat_status_txt
    result["chain_last_job_id"] = wm.flamenco_last_job_id
    scene.flamenco_job_type = "simple-blender-render"
    scene.flamenco_job_settings.render_output_root = config["output_root"]
    bpy.ops.flamenco.submit_job(job_name="after the chain", depends_on=wm.flamenco_last_job_id)
    scene.flamenco_job_submit_as_paused = False


def check_version_mismatch():
    """An add-on for another release warns, and Force Submit submits anyway."""
    addon_info = sys.modules["flamenco.manager_info"]
    real_version = addon_info.ADDON_VERSION
    addon_info.ADDON_VERSION = "3.8"
    scene = bpy.context.scene
    scene.flamenco_job_submit_as_paused = True
    try:
        try:
            bpy.ops.flamenco.submit_job(job_name="version mismatch")
            result["version_mismatch_error"] = "no error"
        except RuntimeError as error:
            result["version_mismatch_error"] = str(error)
        result["version_mismatch_flag"] = bpy.context.window_manager.flamenco_version_mismatch
        outcome = bpy.ops.flamenco.submit_job(
            job_name="forced submission", ignore_version_mismatch=True
        )
        result["forced_outcome"] = sorted(outcome)
        result["version_mismatch_flag_after"] = bpy.context.window_manager.flamenco_version_mismatch
    finally:
        addon_info.ADDON_VERSION = real_version


def check_abort(blendfile):
    """A pack aborted by the artist stops with an Aborted message and copies nothing."""
    packing = sys.modules["flamenco.packing"]
    target = Path(config["workdir"]) / "aborted-pack"
    job = packing.PackJob(blendfile, blendfile.parent.parent, "copy", pack_directory=target)
    job.abort()
    job.start()
    job.join(30)
    messages = []
    while not job.messages.empty():
        messages.append(type(job.messages.get()).__name__)
    result["abort_messages"] = messages
    result["aborted_pack_exists"] = target.exists()


def main():
    workdir = Path(config["workdir"])
    blendfile = workdir / "project" / "shots" / "scene.blend"
    (workdir / "project" / ".blender_project").mkdir(parents=True, exist_ok=True)

    step("make scene")
    make_scene(blendfile)
    step("install")
    install_addon()
    step("open scene")
    bpy.ops.wm.open_mainfile(filepath=str(blendfile))
    result["default_job_name"] = bpy.context.scene.flamenco_job_name

    step("refresh")
    prefs = bpy.context.preferences.addons["flamenco"].preferences
    prefs.manager_url = config["manager_url"]  # refreshes, as upstream's preference does
    prefs.user_email = "artist@studio.test"  # sent as the job metadata's user.email
    bpy.ops.flamenco.ping_manager()
    result["ping"] = bpy.context.window_manager.flamenco_status_ping
    result["job_storage_pref"] = prefs.job_storage_for_gui

    if config.get("check_custom_job_type"):
        step("custom job type")
        bpy.context.scene.flamenco_job_type = "all-settings"
        result["custom_settings"] = describe_settings()
        settings = bpy.context.scene.flamenco_job_settings
        result["custom_submission_values"] = settings.submission_settings(bpy.context)
        # The Manager re-reads job type scripts on every request: remove this one.
        Path(config["check_custom_job_type"]).unlink()
        bpy.ops.flamenco.ping_manager()
        result["ping_after_removal"] = bpy.context.window_manager.flamenco_status_ping
        result["job_type_after_removal"] = bpy.context.scene.flamenco_job_type
        result["settings_after_removal"] = hasattr(bpy.context.scene, "flamenco_job_settings")

    step("select job type")
    bpy.context.scene.flamenco_job_type = "simple-blender-render"
    result["settings"] = describe_settings()
    check_properties()
    step("draw the panel")
    result["drawn"] = draw_ui()

    for submission in config["submissions"]:
        step("submit " + submission["job_name"])
        submit(submission)

    if config.get("check_chain"):
        step("chain")
        check_chain()

    if config.get("check_version_and_abort"):
        step("version mismatch")
        check_version_mismatch()
        step("abort")
        check_abort(blendfile)

    if config.get("check_cache"):
        step("restart without the Manager")
        # Start over as Blender would: the add-on registers from its disk cache.
        addon_utils.disable("flamenco", default_set=True)
        addon_utils.enable("flamenco", default_set=True)
        prefs = bpy.context.preferences.addons["flamenco"].preferences
        prefs.manager_url = config["dead_manager_url"]
        result["cached_job_type_items"] = job_type_identifiers()
        result["ping_without_manager"] = bpy.context.window_manager.flamenco_status_ping
        bpy.context.scene.flamenco_job_type = "simple-blender-render"
        result["cached_settings_keys"] = sorted(describe_settings())
        try:
            bpy.ops.flamenco.submit_job(job_name="no manager")
            result["submit_without_manager"] = "no error"
        except RuntimeError as error:
            result["submit_without_manager"] = str(error)


try:
    main()
    result["ok"] = True
except Exception:
    result["ok"] = False
    result["traceback"] = traceback.format_exc()
    traceback.print_exc()
finally:
    write_result()
