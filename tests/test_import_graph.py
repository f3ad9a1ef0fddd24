"""The package's import graph, read with `ast`: no cycles, and the core never imports the
analysis layer (issue 24). Imports inside functions count: they run too, only later."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "xstilts"
ANALYSIS = f"{PACKAGE}.analysis"
TOP = {f"{PACKAGE}.cli"}  # the command line dispatches to every layer, analysis included


def module_names(src: Path = SRC) -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its __init__)."""
    found = {}
    for file in sorted((src / PACKAGE).rglob("*.py")):
        parts = list(file.relative_to(src).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = file
    return found


def _resolve(name: str, modules) -> str | None:
    """The longest module of the package that `name` (a module or a name in one) lies in."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in modules:
            return candidate
    return None


def imports(module: str, file: Path, modules) -> set[str]:
    """The package's modules that `module` imports, at module level or inside functions."""
    package = module if file.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(file.read_text(), str(file))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            # `from a import b`: b may be a module of its own, else a name in a
            names = [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        found |= {m for n in names if (m := _resolve(n, modules)) and m != module}
    return found


def graph(src: Path = SRC) -> dict[str, set[str]]:
    modules = module_names(src)
    return {m: imports(m, f, modules) for m, f in modules.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
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
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def in_analysis(module: str) -> bool:
    return module == ANALYSIS or module.startswith(ANALYSIS + ".")


def upward(edges: dict[str, set[str]]) -> list[str]:
    """Imports from the core (every module but the analysis layer and the CLI) into it."""
    return sorted(
        f"{m} -> {t}"
        for m, targets in edges.items()
        if not in_analysis(m) and m not in TOP
        for t in targets
        if in_analysis(t)
    )


def test_no_import_cycles():
    assert cycles(graph()) == []


def test_the_core_never_imports_the_analysis_layer():
    assert upward(graph()) == []


def test_no_study_module_imports_the_registry():
    """The registry imports each study by name (importlib, which the graph cannot see): a study
    importing the registry back would close a cycle the test above misses."""
    registry = f"{ANALYSIS}.studies"
    edges = graph()
    back = [m for m, targets in edges.items() if m.startswith(registry + ".") and registry in targets]
    assert back == [], f"study modules importing {registry}: {back}"


def _tree(tmp_path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / PACKAGE / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


@pytest.mark.parametrize(
    "files, want",
    [
        # a function-level import closes a cycle as surely as a module-level one
        (
            {"a.py": "from xstilts import b\n", "b.py": "def f():\n    from xstilts.a import x\n"},
            [["xstilts.a", "xstilts.b"]],
        ),
        # relative imports resolve inside their package
        (
            {"p/__init__.py": "", "p/c.py": "from . import d\n", "p/d.py": "from .c import y\n"},
            [["xstilts.p.c", "xstilts.p.d"]],
        ),
        ({"a.py": "import xstilts.b\n", "b.py": "import json\n"}, []),
    ],
)
def test_cycles_are_found(tmp_path, files, want):
    assert cycles(graph(_tree(tmp_path, {"__init__.py": "", **files}))) == want


def test_an_import_into_analysis_is_found(tmp_path):
    src = _tree(
        tmp_path,
        {
            "__init__.py": "",
            "grid.py": "def f():\n    from xstilts.analysis.studies import outputs\n",
            "cli.py": "from xstilts.analysis import commands\n",
            "analysis/__init__.py": "",
            "analysis/commands.py": "from xstilts import grid\n",
            "analysis/studies/__init__.py": "def outputs():\n    pass\n",
        },
    )
    assert upward(graph(src)) == ["xstilts.grid -> xstilts.analysis.studies"]
