"""The commands a Worker can run, by the names job types use for them."""

from __future__ import annotations

import types
from collections.abc import Mapping

from flamenco.worker.commands import blender, exec, ffmpeg, file_mgmt, misc
from flamenco.worker.commands.base import CommandContext, CommandFunction

__all__ = ["COMMANDS", "CommandContext", "CommandFunction"]

COMMANDS: Mapping[str, CommandFunction] = types.MappingProxyType(
    {
        # misc
        "echo": misc.echo,
        "sleep": misc.sleep,
        "exec": exec.exec_command,
        # blender
        "blender-render": blender.blender_render,
        # ffmpeg
        "frames-to-video": ffmpeg.frames_to_video,
        # file-management
        "make-directory": file_mgmt.make_directory,
        "move-directory": file_mgmt.move_directory,
        "copy-file": file_mgmt.copy_file,
    }
)
