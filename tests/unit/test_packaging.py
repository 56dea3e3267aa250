"""Packaging: which npm library files setup.py puts in the package, and where the Manager looks."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path, PurePosixPath
from types import ModuleType

import pytest

from flamenco.manager.web import locations

REPO = Path(__file__).resolve().parents[2]

INDEX_HTML = """<!DOCTYPE html>
<html><head>
  <script type="importmap">
    {"imports": {"vue": "/app/vendor/vue/dist/vue.js", "@scope/lib": "/app/vendor/@scope/lib/x.js"}}
  </script>
  <link rel="modulepreload" href="/app/vendor/vue/dist/vue.js">
  <script type="module" src="js/main.js"></script>
</head><body></body></html>
"""


def load_setup_script() -> ModuleType:
    """setup.py as a module; it calls setup() only when run as a script."""
    spec = importlib.util.spec_from_file_location("flamenco_setup_script", REPO / "setup.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def setup_script() -> ModuleType:
    return load_setup_script()


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def make_static(root: Path) -> Path:
    static = root / "static"
    write(static / "index.html", INDEX_HTML)
    modules = static / "node_modules"
    write(
        modules / "vue" / "dist" / "vue.js",
        'import{a}from"./chunk.js";export{a};\n//# sourceMappingURL=vue.js.map\n',
    )
    write(modules / "vue" / "dist" / "chunk.js", "export const a = 1;\n")
    write(modules / "vue" / "dist" / "vue.js.map", "{}")
    write(modules / "vue" / "dist" / "vue.cjs.js", "module.exports = {};")
    write(modules / "vue" / "compiler-sfc" / "index.js", "big")
    write(modules / "vue" / "LICENSE", "MIT")
    write(modules / "vue" / "package.json", json.dumps({"name": "vue", "version": "3.5.1"}))
    # No source map beside it: left out, not refused.
    write(modules / "@scope" / "lib" / "x.js", "export default 1;\n//# sourceMappingURL=x.js.map")
    write(modules / "@scope" / "lib" / "package.json", json.dumps({"version": "1.0.0"}))
    write(modules / "left-pad" / "index.js", "unused")
    lock = {
        "packages": {
            "node_modules/vue": {"version": "3.5.1"},
            "node_modules/@scope/lib": {"version": "1.0.0"},
        }
    }
    write(static / "package-lock.json", json.dumps(lock))
    return static


def test_only_the_files_the_page_loads_are_vendored(
    setup_script: ModuleType, tmp_path: Path
) -> None:
    static = make_static(tmp_path)
    assert setup_script.vendored_files(static) == [
        PurePosixPath(path)
        for path in [
            "@scope/lib/package.json",
            "@scope/lib/x.js",
            "vue/LICENSE",
            "vue/dist/chunk.js",
            "vue/dist/vue.js",
            "vue/dist/vue.js.map",
            "vue/package.json",
        ]
    ]


def test_the_real_web_interface_vendors_its_two_libraries(setup_script: ModuleType) -> None:
    static = REPO / "static"
    if not (static / "node_modules").is_dir():
        pytest.skip("the web interface's libraries are not installed (npm ci --prefix static)")
    files = setup_script.vendored_files(static)
    assert PurePosixPath("vue/dist/vue.esm-browser.prod.js") in files
    assert PurePosixPath("vue/LICENSE") in files
    dependencies = json.loads((static / "package.json").read_text(encoding="utf-8"))["dependencies"]
    assert {path.parts[0] for path in files} == set(dependencies)


def test_missing_libraries_stop_the_build(setup_script: ModuleType, tmp_path: Path) -> None:
    static = make_static(tmp_path)
    shutil.rmtree(static / "node_modules")
    with pytest.raises(setup_script.SetupError, match="npm ci --prefix static"):
        setup_script.vendored_files(static)


def test_a_missing_module_stops_the_build(setup_script: ModuleType, tmp_path: Path) -> None:
    static = make_static(tmp_path)
    (static / "node_modules" / "vue" / "dist" / "chunk.js").unlink()
    with pytest.raises(setup_script.SetupError, match=r"/app/vendor/vue/dist/chunk\.js"):
        setup_script.vendored_files(static)


def test_a_library_other_than_the_locked_one_stops_the_build(
    setup_script: ModuleType, tmp_path: Path
) -> None:
    static = make_static(tmp_path)
    write(
        static / "node_modules" / "vue" / "package.json",
        json.dumps({"name": "vue", "version": "3.4.0"}),
    )
    with pytest.raises(setup_script.SetupError, match=r"3\.4\.0.*3\.5\.1"):
        setup_script.vendored_files(static)


def test_an_import_map_without_libraries_stops_the_build(
    setup_script: ModuleType, tmp_path: Path
) -> None:
    static = make_static(tmp_path)
    write(static / "index.html", "<!DOCTYPE html><title>no import map</title>")
    with pytest.raises(setup_script.SetupError, match="import map"):
        setup_script.vendored_files(static)


def test_the_installed_web_interface_comes_before_the_checkout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    installed = tmp_path / "site-packages" / "static"
    monkeypatch.delenv(locations.STATIC_DIR_ENV, raising=False)
    monkeypatch.setattr(locations, "INSTALLED_STATIC_DIR", installed)
    # Nothing installed in the package, as with `pip install -e .`: the checkout's.
    assert locations.static_dir() == locations.CHECKOUT_STATIC_DIR == REPO / "static"
    write(installed / "index.html", "<!DOCTYPE html>")
    assert locations.static_dir() == installed
    monkeypatch.setenv(locations.STATIC_DIR_ENV, str(tmp_path / "elsewhere"))
    assert locations.static_dir() == tmp_path / "elsewhere"


def test_the_installed_addon_comes_before_the_checkout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    installed = tmp_path / "site-packages" / "addon" / "flamenco"
    monkeypatch.setattr(locations, "INSTALLED_ADDON_DIR", installed)
    assert locations.addon_source() == locations.CHECKOUT_ADDON_DIR == REPO / "addon" / "flamenco"
    write(installed / "__init__.py", "")
    assert locations.addon_source() == installed
    monkeypatch.setattr(locations, "CHECKOUT_ADDON_DIR", tmp_path / "no-checkout")
    (installed / "__init__.py").unlink()
    with pytest.raises(locations.AddonNotAvailable, match="not part of this installation"):
        locations.addon_source()
