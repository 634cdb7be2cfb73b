"""The layout docs/architecture.md describes, checked on the source: stages import only earlier
stages, never the speed machinery (engine), the steps or the runner; no import circle."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "pipeline"
#: the stages, in pipeline order: each may import the ones before it, never after
STAGES = ["ingest", "segment", "nlp", "classify", "trace", "compare", "export", "report"]
#: shared by every stage (no stage of their own)
SHARED = {"models", "io", "escape", "limits", "procs", "version", "results", "outdir"}


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _imports(path: Path, top_level_only: bool = False) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("pipeline")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("pipeline"):
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}
    return found


def _part(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


MODULES = _modules()


@pytest.mark.parametrize("module", sorted(m for m in MODULES if _part(m) in STAGES))
def test_a_stage_imports_no_later_stage_nor_the_machinery(module):
    mine = STAGES.index(_part(module))
    for imported in _imports(MODULES[module]):
        part = _part(imported)
        assert part not in {"engine", "steps", "runner", "cli"}, (module, imported)
        if part in STAGES:
            assert STAGES.index(part) <= mine, f"{module} imports the later stage {imported}"


def test_only_the_entry_points_import_the_runner():
    users = {m for m, p in MODULES.items() if any(_part(i) == "runner" for i in _imports(p))}
    assert users <= {"pipeline", "pipeline.cli", "pipeline.runner"}, users


def test_the_engine_knows_no_stage():
    for module in (m for m in MODULES if _part(m) == "engine"):
        parts = {_part(i) for i in _imports(MODULES[module])}
        assert not parts & (set(STAGES) | {"steps", "runner", "cli"}), (module, parts)


def test_no_import_circle_at_module_level():
    graph = {m: {i for i in _imports(p, top_level_only=True) if i in MODULES and i != m}
             for m, p in MODULES.items()}
    state: dict[str, int] = {}

    def visit(m: str, stack: list[str]) -> None:
        state[m] = 1
        for n in graph[m]:
            if state.get(n) == 1:
                raise AssertionError("import circle: " + " → ".join(stack + [m, n]))
            if n not in state:
                visit(n, stack + [m])
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [])
    assert SHARED  # the shared modules exist as named
    for name in SHARED:
        assert f"pipeline.{name}" in MODULES, name
