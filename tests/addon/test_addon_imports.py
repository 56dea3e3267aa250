"""The add-on's modules import each other without cycles, at module level or inside functions."""

from __future__ import annotations

import ast
from pathlib import Path

ADDON_DIR = Path(__file__).resolve().parents[2] / "addon" / "flamenco"


def addon_modules() -> dict[str, Path]:
    """The add-on's own modules by name; `__init__` is the package itself."""
    return {path.stem: path for path in sorted(ADDON_DIR.glob("*.py"))}


def sibling_imports(path: Path, siblings: set[str]) -> set[str]:
    """The sibling modules a module imports anywhere in it, function bodies included.

    A function-level `from . import x` hides a cycle until the function runs, so
    it counts as much as one at the top.
    """
    imported: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if not isinstance(node, ast.ImportFrom) or node.level != 1:
            continue
        if node.module is None:  # from . import a, b
            imported.update(alias.name for alias in node.names if alias.name in siblings)
        else:  # from .a import b (and from .a.b import c)
            top = node.module.split(".")[0]
            if top in siblings:
                imported.add(top)
    return imported


def import_graph() -> dict[str, set[str]]:
    modules = addon_modules()
    # Every submodule is imported by the package's __init__, and importing a
    # submodule runs __init__ first, so edges to and from __init__ say nothing
    # about cycles among the modules themselves.
    siblings = set(modules) - {"__init__"}
    return {
        name: sibling_imports(path, siblings) - {name}
        for name, path in modules.items()
        if name != "__init__"
    }


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a path that ends where it starts, or None."""
    visiting: list[str] = []
    done: set[str] = set()

    def visit(name: str) -> list[str] | None:
        if name in visiting:
            return [*visiting[visiting.index(name) :], name]
        if name in done:
            return None
        visiting.append(name)
        for imported in sorted(graph.get(name, ())):
            cycle = visit(imported)
            if cycle is not None:
                return cycle
        visiting.pop()
        done.add(name)
        return None

    for name in sorted(graph):
        cycle = visit(name)
        if cycle is not None:
            return cycle
    return None


def test_the_graph_sees_the_addons_imports() -> None:
    graph = import_graph()
    # A parser that found nothing would pass the cycle test below for nothing.
    assert "manager_client" in graph["manager_info"]
    assert {"job_types", "worker_tags"} <= graph["refresh"]
    assert "refresh" in graph["operators"]


def test_no_module_of_the_addon_imports_one_that_imports_it_back() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle in the add-on: " + " -> ".join(cycle or [])


def test_the_cycle_finder_finds_cycles() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None
