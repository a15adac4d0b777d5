"""The layout of ``galexplore`` keeps the architecture readable (docs/architecture.md).

The module import graph is built from the source with :mod:`ast` (every ``import``, those
inside functions included: a lazy import that runs back up the stack is still a circle in the
design) and checked for cycles and for the boundaries between layers.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "galexplore"

#: Only the dashboard draws: these stay inside ``galexplore.dashboard``.
PLOTTING = ("panel", "holoviews", "bokeh", "datashader")
#: The dashboard never loads the learning stack.
LEARNING = ("torch", "galexplore.models", "galexplore.training", "galexplore.embed")
MAX_FLAT = {PACKAGE: 8, PACKAGE / "dashboard": 12}
MAX_LINES = 450


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _imports(name: str, path: Path) -> set[str]:
    """Every name ``name`` imports, dotted in full (absolute or relative, at any depth of the
    source): ``from pkg.mod import f`` gives ``pkg.mod.f``."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def import_graph() -> dict[str, set[str]]:
    """``galexplore`` module → the ``galexplore`` modules it imports: ``from pkg import mod``
    is an edge to ``pkg.mod`` (not to ``pkg``: a package's ``__init__`` that imports its own
    modules is no circle), ``from mod import name`` an edge to ``mod``."""
    modules = _modules()
    graph = {}
    for name, path in modules.items():
        targets = set()
        for imported in _imports(name, path):
            while imported and imported not in modules:
                imported = imported.rpartition(".")[0]
            if imported.startswith("galexplore") and imported != name:
                targets.add(imported)
        graph[name] = targets
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` as ``[a, b, …, a]``, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_cycle_finder_finds_a_cycle_and_accepts_a_tree():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_the_import_graph_sees_lazy_relative_and_package_imports():
    graph = import_graph()
    assert "galexplore.dashboard.ooc.app" in graph["galexplore.dashboard.app"]  # inside create_app
    assert (
        "galexplore.dashboard._compat" in graph["galexplore.dashboard.views.clusters"]
    )  # from pkg import mod
    assert "galexplore.artifacts.paths" in graph["galexplore.data.store"]


def test_no_import_cycle_inside_galexplore():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " → ".join(cycle or [])


def _importing(prefixes: tuple[str, ...], names) -> dict[str, list[str]]:
    """Module → what it imports of ``prefixes`` (third-party or galexplore), for ``names``."""
    modules, out = _modules(), {}
    for name in names:
        hits = sorted(
            i for i in _imports(name, modules[name]) if any(i == p or i.startswith(p + ".") for p in prefixes)
        )
        if hits:
            out[name] = hits
    return out


def test_only_the_dashboard_imports_the_plotting_stack():
    outside = [n for n in _modules() if not n.startswith("galexplore.dashboard")]
    assert _importing(PLOTTING, outside) == {}


def test_the_dashboard_never_imports_the_learning_stack():
    inside = [n for n in _modules() if n.startswith("galexplore.dashboard")]
    assert _importing(LEARNING, inside) == {}


@pytest.mark.parametrize("folder", sorted(MAX_FLAT), ids=lambda p: p.relative_to(PACKAGE.parent).as_posix())
def test_few_modules_lie_flat_in_a_folder(folder):
    flat = sorted(p.name for p in folder.glob("*.py"))
    assert len(flat) <= MAX_FLAT[folder], f"{len(flat)} modules flat in {folder.name}/: {flat}"


def test_no_module_is_over_450_lines():
    long = {
        p.relative_to(PACKAGE.parent).as_posix(): n
        for p in PACKAGE.rglob("*.py")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}
