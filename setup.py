"""Builds the package with what the Manager serves: the web interface and its libraries, the add-on.

Everything else about the package is declared in setup.cfg. The web interface's
third-party libraries come from static/node_modules (installed with `npm ci
--prefix static`); only the files that static/index.html loads, their source
maps and their licences are copied, so neither building from the sdist nor
installing the wheel needs Node.js.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path, PurePosixPath

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist
from setuptools.errors import SetupError

ROOT = Path(__file__).resolve().parent
STATIC = "static"
MODULES = "node_modules"
ADDON = "addon/flamenco"
# Where the installed package keeps them; flamenco/manager/web/locations.py
# looks there first (keep the two in step).
PACKAGE_STATIC = "flamenco/manager/web/static"
PACKAGE_ADDON = "flamenco/manager/web/addon/flamenco"

# The import map in index.html refers to the libraries under this prefix; the
# Manager serves static/node_modules there.
VENDOR_URL = "/app/vendor/"
NPM_HINT = "install them with `npm ci --prefix static` (needs Node.js and npm) and build again"

_SKIPPED_DIRECTORIES = {"__pycache__", MODULES}
_SKIPPED_FILES = {"package-lock.json"}
_LICENCE = re.compile(r"^(licen[cs]e|copying|notice)", re.IGNORECASE)
_SOURCE_MAP = re.compile(r"^//# sourceMappingURL=(?!data:)(\S+)\s*$", re.MULTILINE)
# Static imports and re-exports, bare imports and dynamic imports of relative
# paths, as minified code writes them too (`from"./chunk.js"`).
_RELATIVE_IMPORT = re.compile(
    r"""(?:\bfrom|\bimport)\s*\(?\s*["'](\.{1,2}/[^"'\s]+)["']""",
)


class _IndexReferences(HTMLParser):
    """The URLs of the import map, the module preloads and the stylesheets of index.html."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self._in_import_map = False
        self._import_map = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "script" and attributes.get("type") == "importmap":
            self._in_import_map = True
        elif (
            tag == "link"
            and attributes.get("rel") in ("modulepreload", "stylesheet")
            and attributes.get("href")
        ):
            self.urls.append(str(attributes["href"]))

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._in_import_map:
            self._in_import_map = False
            imports = json.loads(self._import_map).get("imports", {})
            self.urls.extend(str(url) for url in imports.values())

    def handle_data(self, data: str) -> None:
        if self._in_import_map:
            self._import_map += data


def _package_of(relative: PurePosixPath) -> PurePosixPath:
    """`vue/dist/x.js` -> `vue`; `@scope/lib/x.js` -> `@scope/lib`."""
    parts = relative.parts
    return PurePosixPath(*parts[: 2 if parts[0].startswith("@") else 1])


def vendored_files(static: Path) -> list[PurePosixPath]:
    """The files of static/node_modules that the web interface needs, relative to node_modules.

    Raises SetupError when they are not all there: a package without its web
    interface must never be built.
    """
    index = static / "index.html"
    modules = static / MODULES
    if not index.is_file():
        raise SetupError(f"the web interface is missing: no {index}")
    if not modules.is_dir():
        raise SetupError(f"the web interface's libraries are missing ({modules}): {NPM_HINT}")
    parser = _IndexReferences()
    parser.feed(index.read_text(encoding="utf-8"))
    entries = [url.removeprefix(VENDOR_URL) for url in parser.urls if url.startswith(VENDOR_URL)]
    if not entries:
        raise SetupError(f"{index} names no libraries under {VENDOR_URL} in its import map")

    wanted: set[PurePosixPath] = set()
    # (file, whether the page needs it): a source map only helps the browser's
    # developer tools, so a missing one is left out rather than refused.
    pending = [(PurePosixPath(entry), True) for entry in entries]
    while pending:
        relative, needed = pending.pop()
        if relative in wanted:
            continue
        path = modules / relative
        if ".." in relative.parts or not path.is_file():
            if not needed:
                continue
            raise SetupError(
                f"the web interface loads {VENDOR_URL}{relative}, but {path} is missing: {NPM_HINT}"
            )
        wanted.add(relative)
        if path.suffix in {".js", ".mjs"}:
            source = path.read_text(encoding="utf-8")
            for target in _RELATIVE_IMPORT.findall(source):
                pending.append((PurePosixPath(_normalise(relative.parent / target)), True))
            for target in _SOURCE_MAP.findall(source):
                pending.append((PurePosixPath(_normalise(relative.parent / target)), False))

    packages = {_package_of(relative) for relative in wanted}
    for package in packages:
        _check_locked_version(static, package)
        for path in sorted((modules / package).iterdir()):
            if path.is_file() and (path.name == "package.json" or _LICENCE.match(path.name)):
                wanted.add(package / path.name)
    return sorted(wanted)


def _normalise(path: PurePosixPath) -> str:
    parts: list[str] = []
    for part in path.parts:
        if part == "..":
            if not parts:
                return ".."  # leaves node_modules: refused by the caller
            parts.pop()
        elif part != ".":
            parts.append(part)
    return "/".join(parts)


def _check_locked_version(static: Path, package: PurePosixPath) -> None:
    """The installed library is the one package-lock.json names, not a stale install."""
    lock_path = static / "package-lock.json"
    if not lock_path.is_file():
        return
    locked = json.loads(lock_path.read_text(encoding="utf-8")).get("packages", {})
    wanted = locked.get(f"{MODULES}/{package}", {}).get("version")
    manifest = static / MODULES / package / "package.json"
    installed = (
        json.loads(manifest.read_text(encoding="utf-8")).get("version")
        if manifest.is_file()
        else None
    )
    if wanted is not None and installed != wanted:
        raise SetupError(
            f"static/{MODULES}/{package} is version {installed}, package-lock.json says "
            f"{wanted}: {NPM_HINT}"
        )


def _tree_files(root: Path) -> Iterator[Path]:
    """Files under root, without node_modules, caches, compiled files or dot files."""
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if any(part in _SKIPPED_DIRECTORIES or part.startswith(".") for part in relative.parts):
            continue
        if (
            path.is_file()
            and path.suffix not in {".pyc", ".pyo"}
            and path.name not in _SKIPPED_FILES
        ):
            yield path


def _copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)


class BuildPyWithWebFiles(build_py):
    """build_py, plus the web interface and the add-on inside flamenco/manager/web."""

    def run(self) -> None:
        super().run()
        # An editable install serves them from the checkout, node_modules and all.
        if getattr(self, "editable_mode", False):
            return
        static = ROOT / STATIC
        vendored = vendored_files(static)
        build_lib = Path(self.build_lib)
        target_static = build_lib / PACKAGE_STATIC
        target_addon = build_lib / PACKAGE_ADDON
        for stale in (target_static, target_addon):
            shutil.rmtree(stale, ignore_errors=True)
        for path in _tree_files(static):
            _copy(path, target_static / path.relative_to(static))
        for relative in vendored:
            _copy(static / MODULES / relative, target_static / MODULES / relative)
        addon = ROOT / ADDON
        if not (addon / "__init__.py").is_file():
            raise SetupError(f"the Blender add-on is missing: no {addon / '__init__.py'}")
        for path in _tree_files(addon):
            _copy(path, target_addon / path.relative_to(addon))


class SdistWithVendoredModules(sdist):
    """sdist, plus the vendored libraries, so that the wheel can be built from it without npm.

    MANIFEST.in brings static/ (without node_modules) and addon/.
    """

    def make_release_tree(self, base_dir: str, files: list[str]) -> None:
        static = ROOT / STATIC
        vendored = vendored_files(static)  # before the tree exists, so a failure leaves none
        super().make_release_tree(base_dir, files)
        for relative in vendored:
            _copy(static / MODULES / relative, Path(base_dir) / STATIC / MODULES / relative)


if __name__ == "__main__":
    setup(cmdclass={"build_py": BuildPyWithWebFiles, "sdist": SdistWithVendoredModules})
