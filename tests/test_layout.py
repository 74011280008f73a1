"""The package reads as the pipeline: no import cycles between modules, each module says its one job in its
docstring, and no module grows past about 300 lines without a written reason (issue 27)."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import REPO

PACKAGE = REPO / "qa"
MAX_LINES = 300
# Modules allowed past MAX_LINES, and why. A module leaves this list when it is split.
LONGER: dict[str, str] = {
    "qa.ingest.build": "Build is the one place that decides what is read, carried over, embedded and written; "
                       "its helpers are in carry, context, vectors, model_export, report and loaded",
}


def modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        name = ".".join(path.relative_to(REPO).with_suffix("").parts)
        found[name.removesuffix(".__init__")] = path
    return found


def module_imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The qa modules `name` imports when it is imported: top-level statements only (an import inside a
    function is lazy, one under `if TYPE_CHECKING:` is never run)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    imported: set[str] = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            for alias in node.names:
                imported.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base)
    return {module for module in imported if module in known and module != name}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> list[str] | None:
        for following in sorted(graph[node]):
            if following in path:
                return path[path.index(following):] + [following]
            if following not in done:
                cycle = visit(following, [*path, following])
                if cycle:
                    return cycle
        done.add(node)
        return None

    for start in sorted(graph):
        if start not in done:
            cycle = visit(start, [start])
            if cycle:
                return cycle
    return None


def test_find_cycle_finds_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_no_import_cycles_between_modules():
    found = modules()
    graph = {name: module_imports(name, path, set(found)) for name, path in found.items()}
    assert {"qa.config", "qa.search.hits"} <= graph["qa.search.collapse"], \
        "the parser no longer sees qa's imports (absolute ones)"
    assert "qa.index" in graph["qa.ui.batch"]
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph) or [])


def test_every_module_says_its_job():
    missing = [name for name, path in modules().items() if not ast.get_docstring(ast.parse(path.read_text()))]
    assert not missing, f"modules without a docstring: {missing}"


def test_modules_stay_short_or_say_why():
    long = {name: len(path.read_text().splitlines()) for name, path in modules().items()
            if len(path.read_text().splitlines()) > MAX_LINES and name not in LONGER}
    assert not long, f"modules over {MAX_LINES} lines: split them by job, or give the reason in LONGER: {long}"
