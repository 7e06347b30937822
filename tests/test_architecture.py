"""Architecture rules of the package (issue 15, deliverable 6), read from the source with ``ast``.

* no import cycle among the modules of ``aeqkit`` (module-level imports: what runs at import time;
  imports inside functions and under ``if TYPE_CHECKING:`` are left out), and none through the two
  pairs that used to import each other even when function-level (lazy) imports are counted;
* no module looks a class up by its name in a string (``nn_layer("RelaxedRotGroupConv2d")``,
  ``getattr(module, "SomeClass")``, ``globals()["SomeClass"]``): classes are imported.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "aeqkit"


def _module_files() -> dict[str, Path]:
    """``{dotted module name: file}`` of every module of the package (``__init__`` -> the package)."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _module_files()


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _import_nodes(body: list[ast.stmt], lazy: bool) -> Iterator[ast.Import | ast.ImportFrom]:
    """Import statements run when the module is imported (``lazy``: also those in functions)."""
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if lazy:
                yield from _import_nodes(node.body, lazy)
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            yield from _import_nodes(node.orelse, lazy)
        else:  # class bodies, if / try / with / for blocks run at import time
            for field in ("body", "orelse", "finalbody", "handlers"):
                block = getattr(node, field, None)
                if isinstance(block, list):
                    yield from _import_nodes(block, lazy)


def _resolve(name: str) -> str | None:
    """The longest prefix of ``name`` that is a module of the package."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def import_graph(lazy: bool = False) -> dict[str, set[str]]:
    """``{module: modules of aeqkit it imports}`` (``from pkg import sub`` counts as importing ``sub``)."""
    graph: dict[str, set[str]] = {}
    for mod, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
        targets: set[str] = set()
        for node in _import_nodes(tree.body, lazy):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(anchor + ([base] if base else []))
                names = [f"{base}.{a.name}" for a in node.names]
            for name in names:
                target = _resolve(name)
                if target and target != mod:
                    targets.add(target)
        graph[mod] = targets
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle ``[a, b, ..., a]`` of ``graph`` (depth-first search), or ``None``."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state:
            found = visit(start)
            if found:
                return found
    return None


def _reaches(graph: dict[str, set[str]], src: str, dst: str) -> bool:
    seen, todo = set(), [src]
    while todo:
        node = todo.pop()
        if node == dst:
            return True
        if node not in seen:
            seen.add(node)
            todo.extend(graph.get(node, ()))
    return False


def test_graph_reads_every_module() -> None:
    graph = import_graph()
    assert "aeqkit.data.windows" in graph and "aeqkit.data.registry" in graph["aeqkit.data.windows"]
    assert "aeqkit.data.catalog" in graph["aeqkit.data"]  # ``from aeqkit.data import catalog``
    # the checker itself finds a cycle when there is one
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycles() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle (module-level imports): " + " -> ".join(cycle or [])


def test_data_package_has_no_cycle_even_through_lazy_imports() -> None:
    """``data/jet.py`` <-> ``data/windows.py`` used to import each other through function-level
    imports (jet -> records -> windows -> jet); the ``aeqkit.data`` modules form no cycle at all."""
    graph = import_graph(lazy=True)
    sub = {m: {t for t in ts if t.startswith("aeqkit.data.")} for m, ts in graph.items()
           if m.startswith("aeqkit.data.")}
    cycle = find_cycle(sub)
    assert cycle is None, "import cycle in aeqkit.data (counting lazy imports): " + " -> ".join(cycle or [])
    assert not (_reaches(graph, "aeqkit.data.jet", "aeqkit.data.windows")
                and _reaches(graph, "aeqkit.data.windows", "aeqkit.data.jet"))


def test_models_clcnn_sesn_do_not_import_each_other() -> None:
    graph = import_graph(lazy=True)
    a, b = "aeqkit.models.clcnn", "aeqkit.models.sesn"
    assert not (_reaches(graph, a, b) and _reaches(graph, b, a)), f"{a} <-> {b} (counting lazy imports)"


#: a class name: CamelCase with a lower-case letter (``MODELS`` or ``TYPE_CHECKING`` are constants)
_CLASS_NAME = re.compile(r"^_?[A-Z][A-Za-z0-9]*[a-z][A-Za-z0-9]*$")


def string_lookups(tree: ast.AST) -> list[tuple[int, str]]:
    """``(line, what)`` of every place that looks a class up by a name in a string."""
    hits = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            fn = node.func
            fname = fn.id if isinstance(fn, ast.Name) else fn.attr if isinstance(fn, ast.Attribute) else ""
            if fname == "nn_layer":
                hits.append((node.lineno, "nn_layer(...)"))
            if fname == "getattr" and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant) \
                    and isinstance(node.args[1].value, str) and _CLASS_NAME.match(node.args[1].value):
                hits.append((node.lineno, f"getattr(..., {node.args[1].value!r})"))
        if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) \
                and isinstance(node.slice.value, str) and _CLASS_NAME.match(node.slice.value):
            obj = node.value
            namespace = (isinstance(obj, ast.Call) and isinstance(obj.func, ast.Name)
                         and obj.func.id in ("globals", "vars", "locals")) or (
                isinstance(obj, ast.Attribute) and obj.attr == "__dict__")
            if namespace:
                hits.append((node.lineno, f"namespace[{node.slice.value!r}]"))
    return sorted(hits)


def test_string_lookup_detector() -> None:
    src = ("a = nn_layer('RelaxedRotGroupConv2d')\nb = getattr(mod, 'GroupConv')\n"
           "c = globals()['Net']\nd = getattr(m, 'MODELS', None)\ne = getattr(x, 'weight')\n"
           "f = vars(m)['Conv2d']\n")
    assert [line for line, _ in string_lookups(ast.parse(src))] == [1, 2, 3, 6]


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_class_lookup_by_string(module: str) -> None:
    path = MODULES[module]
    hits = string_lookups(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
    assert not hits, f"{path.relative_to(PACKAGE.parent)} looks classes up by name (import them): " + \
        ", ".join(f"line {line}: {what}" for line, what in hits)
