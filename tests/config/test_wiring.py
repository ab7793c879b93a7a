"""The composition module (config/wiring.py) and the shape of the import graph it allows."""

from __future__ import annotations

import ast
from pathlib import Path

from accounts import dashboard, demo, privacy
from config import wiring
from emotion import consumers
from recommender import selectors as recommender_selectors
from studies.experiments import hooks as experiments_hooks
from studies.experiments.services import choose_strategy
from studies.listening import hooks as listening_hooks
from studies.listening.services.trace import trace_second_store

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("accounts", "config", "emotion", "recommender", "studies", "therapy")


def test_every_slot_is_filled_by_the_wiring_in_its_order():
    assert privacy.sections() == list(wiring.DATA_SECTIONS)
    assert [s.name for s in demo.steps()] == ["catalog", "survey", "listening", "therapy", "experiment"]
    assert listening_hooks.strategy_chooser() is choose_strategy
    assert listening_hooks._on_completed is wiring.therapy_session_completed
    assert experiments_hooks._listener is wiring.recruitment.analysis_plan_freeze
    assert experiments_hooks._study_pin is wiring.recruitment.study_pin
    assert recommender_selectors._history_provider is wiring.listening_selectors.history_items
    assert consumers._trace_sink is trace_second_store
    keys = [p.key for p in dashboard._panels]
    assert keys[:2] == ["recruitment-study", "assigned"] and len(keys) == len(set(keys))


def test_erasure_runs_what_points_at_a_session_before_the_sessions():
    order = [s.name for s in privacy.sections()]
    for child in ("listening_traces", "listening_events", "listening_event_payloads"):
        assert order.index(child) < order.index("listening_sessions")
    assert order.index("survey_ratings") < order.index("survey_repeat_plans")
    assert len(order) == len(set(order))


def test_wiring_again_changes_nothing():
    before = (privacy.sections(), demo.steps(), dashboard._panels)
    wiring.wire()
    assert (privacy.sections(), demo.steps(), dashboard._panels) == before


def test_a_section_named_twice_is_refused():
    section = wiring.DATA_SECTIONS[0]
    previous = privacy.sections()
    try:
        import pytest

        with pytest.raises(ValueError, match="named twice"):
            privacy.install([section, section])
    finally:
        privacy.install(previous)
    assert privacy.sections() == previous


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _project_modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            found[_module_name(path)] = path
    return found


def _imports(path: Path, modules: dict[str, Path], *, nested: bool) -> set[str]:
    """Project modules `path` imports at module level (nested=False) or inside functions (True)."""
    tree = ast.parse(path.read_text())
    targets: set[str] = set()

    def visit(node: ast.AST, inside: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue
            here = inside or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
            if isinstance(child, (ast.Import, ast.ImportFrom)) and here == nested:
                if isinstance(child, ast.Import):
                    names = [a.name for a in child.names]
                else:
                    base = child.module or ""
                    if child.level:
                        pkg = _module_name(path).split(".")
                        pkg = pkg[: len(pkg) - child.level + (1 if path.name == "__init__.py" else 0)]
                        base = ".".join([*pkg, base] if base else pkg)
                    names = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in child.names]
                targets.update(n for n in names if n in modules)
            visit(child, here)

    visit(tree, False)
    targets.discard(_module_name(path))
    return targets


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components: a component with more than one module is a cycle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def strongconnect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                strongconnect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in graph:
        if v not in index:
            strongconnect(v)
    return cycles


def test_no_import_cycles_between_project_modules():
    modules = _project_modules()
    graph = {name: _imports(path, modules, nested=False) for name, path in modules.items()}
    assert sum(len(v) for v in graph.values()) > 300  # the graph was read
    assert _cycles(graph) == [], "import cycles"


def test_the_cycle_check_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_function_level_project_imports_say_why():
    """An import inside a function dodges nothing here unless its line (or the one above) says why."""
    modules = _project_modules()
    unexplained = []
    for name, path in modules.items():
        lines = path.read_text().split("\n")
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for child in ast.walk(node):
                if isinstance(child, ast.ImportFrom) and child.module and child.module.split(".")[0] in PACKAGES:
                    text = lines[child.lineno - 1] + lines[child.lineno - 2]
                    if "#" not in text:
                        unexplained.append(f"{name}:{child.lineno} {child.module}")
    assert unexplained == [], f"{len(unexplained)} function-level project imports without a reason"
