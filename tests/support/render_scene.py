"""A tiny Blender scene made by real Blender, and a Simple Blender Render job for it."""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path
from typing import Any

MAKE_SCENE = textwrap.dedent(
    """
    import sys
    import bpy

    path, frames, samples = sys.argv[sys.argv.index("--") + 1 :]
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    scene.render.engine = "CYCLES"
    scene.cycles.device = "CPU"
    scene.cycles.samples = int(samples)
    # Debian's Blender is built without OpenImageDenoise.
    scene.cycles.use_denoising = False
    scene.render.resolution_x = 64
    scene.render.resolution_y = 36
    scene.render.resolution_percentage = 100
    scene.frame_start = 1
    scene.frame_end = int(frames)
    scene.render.fps = 24
    scene.render.image_settings.file_format = "PNG"
    bpy.ops.mesh.primitive_cube_add()
    camera = bpy.data.objects.new("camera", bpy.data.cameras.new("camera"))
    scene.collection.objects.link(camera)
    scene.camera = camera
    camera.location = (6.0, -6.0, 4.0)
    camera.rotation_euler = (1.1, 0.0, 0.785)
    sun = bpy.data.objects.new("sun", bpy.data.lights.new("sun", "SUN"))
    scene.collection.objects.link(sun)
    bpy.ops.wm.save_as_mainfile(filepath=path)
    """
)


def make_scene(directory: Path, *, frames: int, samples: int = 1) -> Path:
    """A tiny scene, made by Blender itself."""
    directory.mkdir(parents=True, exist_ok=True)
    script = directory / "make_scene.py"
    script.write_text(MAKE_SCENE, encoding="utf-8")
    blendfile = directory / "scene.blend"
    subprocess.run(
        ["blender", "-b", "--factory-startup", "--python", str(script), "--",
         str(blendfile), str(frames), str(samples)],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    assert blendfile.exists()
    return blendfile


def render_job(
    blendfile: Path, output_root: Path, *, frames: str, chunk_size: int, name: str = "render"
) -> dict[str, Any]:
    """A Simple Blender Render job writing PNG frames under `output_root / name`."""
    return {
        "name": name,
        "type": "simple-blender-render",
        "priority": 50,
        "submitter_platform": "linux",
        "settings": {
            "blendfile": str(blendfile),
            "chunk_size": chunk_size,
            "frames": frames,
            "render_output_root": str(output_root),
            "add_path_components": 0,
            "render_output_path": str(output_root / name / "{timestamp}" / "######"),
            "fps": 24.0,
            "format": "PNG",
            "image_file_extension": ".png",
            "has_previews": False,
            "scene": "Scene",
        },
        "metadata": {},
    }
