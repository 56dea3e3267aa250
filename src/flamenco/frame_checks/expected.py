"""The frames a Blender command line renders, and the file each one goes to, as Blender names it."""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

# File name extensions per image format, by Blender's command-line name and by its
# Python name (upstream's job type passes the latter); the first is what Blender
# appends. Movie formats are absent: they write one file, not frames.
EXTENSIONS: Mapping[str, tuple[str, ...]] = {
    "BMP": (".bmp",),
    "PNG": (".png",),
    "JPEG": (".jpg", ".jpeg"),
    "JP2": (".jp2", ".j2c"),
    "JPEG2000": (".jp2", ".j2c"),
    "TGA": (".tga",),
    "RAWTGA": (".tga",),
    "TARGA": (".tga",),
    "TARGA_RAW": (".tga",),
    "IRIS": (".rgb",),
    "CINEON": (".cin",),
    "DPX": (".dpx",),
    "EXR": (".exr",),
    "MULTILAYER": (".exr",),
    "OPEN_EXR": (".exr",),
    "OPEN_EXR_MULTILAYER": (".exr",),
    "HDR": (".hdr",),
    "TIFF": (".tif", ".tiff"),
    "WEBP": (".webp",),
}

# Blender's default frame-number width when the output path has no '#'.
DEFAULT_DIGITS = 4
# A frame list so long is a mistake, not a job: refuse to expand it.
MAX_FRAMES = 1_000_000


@dataclass(frozen=True, slots=True)
class RenderOutput:
    """What one Blender command line writes: a path pattern, an image format, and frames."""

    pattern: str
    format: str
    frames: tuple[int, ...]
    use_extension: bool = True

    def path_for(self, frame: int) -> str:
        return frame_path(self.pattern, frame, self.format, use_extension=self.use_extension)

    def paths(self) -> list[tuple[int, str]]:
        return [(frame, self.path_for(frame)) for frame in self.frames]


def render_output(args: Sequence[str], blendfile: str = "") -> RenderOutput | None:
    """What Blender renders with these arguments, or None when they do not say.

    Blender handles its arguments in order; the frames come from `-f`/`--render-frame`,
    the path from `-o`/`--render-output` and the format from `-F`/`--render-format`
    given before them. Without all three, or with a relative frame (`+1`) or `-a`
    (the scene's range, which only the blend file knows), nothing can be expected.
    """
    pattern = ""
    image_format = ""
    use_extension = True
    frames: list[int] = []
    iterator = iter(args)
    for argument in iterator:
        if argument in ("-o", "--render-output"):
            pattern = next(iterator, "")
        elif argument in ("-F", "--render-format"):
            image_format = next(iterator, "").upper()
        elif argument in ("-x", "--use-extension"):
            use_extension = next(iterator, "1") != "0"
        elif argument in ("-f", "--render-frame"):
            parsed = parse_frames(next(iterator, ""))
            if parsed is None:
                return None
            frames.extend(parsed)
        elif argument in ("-a", "--render-anim"):
            return None
    if not pattern or not frames or image_format not in EXTENSIONS:
        return None
    if pattern.startswith("//"):
        # Relative to the blend file, as Blender reads it.
        if not blendfile:
            return None
        pattern = posixpath.join(_directory(blendfile), pattern[2:])
    return RenderOutput(pattern, image_format, tuple(frames), use_extension)


def parse_frames(text: str) -> list[int] | None:
    """Blender's `-f` value: `7`, `1,3,5..9`; None for relative frames or nonsense."""
    frames: list[int] = []
    for part in text.split(","):
        first, separator, last = part.partition("..")
        try:
            if part.strip().startswith("+") or (separator and last.strip().startswith("+")):
                return None
            start = int(first)
            end = int(last) if separator else start
        except ValueError:
            return None
        if end < start or len(frames) + end - start + 1 > MAX_FRAMES:
            return None
        frames.extend(range(start, end + 1))
    return frames


def frame_path(pattern: str, frame: int, image_format: str, *, use_extension: bool = True) -> str:
    """The file Blender writes `frame` to: the last run of '#' in the file name becomes the
    zero-padded frame number (four digits appended when there is none), then the format's
    extension is appended unless the name already ends in one of its extensions."""
    cut = max(pattern.rfind("/"), pattern.rfind("\\")) + 1
    directory, name = pattern[:cut], pattern[cut:]
    end = name.rfind("#") + 1
    if end == 0:
        name = name + "#" * DEFAULT_DIGITS
        end = len(name)
    start = end
    while start > 0 and name[start - 1] == "#":
        start -= 1
    digits = end - start
    number = ("-" if frame < 0 else "") + str(abs(frame)).zfill(digits)
    path = directory + name[:start] + number + name[end:]
    if use_extension:
        extensions = EXTENSIONS.get(image_format.upper(), ())
        if extensions and not path.lower().endswith(extensions):
            path += extensions[0]
    return path


def _directory(path: str) -> str:
    cut = max(path.rfind("/"), path.rfind("\\"))
    return path[:cut] if cut > 0 else path[: cut + 1]


def blender_render_outputs(commands: Iterable[Mapping[str, object]]) -> list[RenderOutput]:
    """The render outputs of a task's `blender-render` commands (parameters already expanded)."""
    outputs = []
    for command in commands:
        if command.get("name") != "blender-render":
            continue
        parameters = command.get("parameters")
        if not isinstance(parameters, Mapping):
            continue
        args = parameters.get("args")
        if not isinstance(args, list):
            continue
        blendfile = parameters.get("blendfile")
        output = render_output(
            [str(arg) for arg in args], blendfile if isinstance(blendfile, str) else ""
        )
        if output is not None:
            outputs.append(output)
    return outputs
