"""docs/architecture.md stays true and complete (issue 24): every module of the package has a row
in its ownership table, its layer list matches the import graph, and every `xstilts.X` and file
it names exists. Standard library only; reads files, imports nothing of the package."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from test_import_graph import PACKAGE, SRC, graph, module_names

REPO = SRC.parent
DOC = REPO / "docs" / "architecture.md"
NAME = re.compile(rf"`({PACKAGE}(?:\.\w+)*)`")


def section(title: str, text: str | None = None) -> str:
    """The text under a `## title` heading, up to the next one."""
    text = DOC.read_text() if text is None else text
    found = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert found, f"docs/architecture.md has no section '## {title}'"
    return found.group(1)


def owned(text: str | None = None) -> set[str]:
    """The modules named in the first column of the ownership table."""
    rows = [line for line in section("Who owns what", text).splitlines() if line.startswith("|")]
    return {name for row in rows[2:] for name in NAME.findall(row.split("|")[1])}


def layers(text: str | None = None) -> dict[str, int]:
    """Module -> its layer's number, from the numbered list of the Layers section."""
    found = {}
    for line in section("Layers", text).splitlines():
        item = re.match(r"(\d+)\. \*\*[^*]+\*\*: (.*)", line)
        if item:  # the layer's modules: before a `;` that says what sits beside it
            for name in NAME.findall(item.group(2).split(";")[0]):
                assert name not in found, f"{name} is in two layers"
                found[name] = int(item.group(1))
    return found


def test_every_module_has_a_row_in_the_ownership_table():
    assert sorted(set(module_names()) - owned()) == []


def test_the_ownership_table_names_only_modules():
    assert sorted(owned() - set(module_names())) == []


def test_each_module_imports_only_from_its_layer_or_below():
    layer = layers()
    assert sorted(set(module_names()) - set(layer)) == [], "a module missing from the Layers list"
    upward = [
        f"{m} (layer {layer[m]}) -> {t} (layer {layer[t]})"
        for m, targets in graph().items()
        for t in targets
        if layer[t] > layer[m]
    ]
    assert upward == []


def _top_level_names(file: Path) -> set[str]:
    names = set()
    for node in ast.parse(file.read_text()).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {t.id for t in targets if isinstance(t, ast.Name)}
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
    return names


def stale_names(text: str, modules: dict[str, Path]) -> list[str]:
    """Each `xstilts.X` of the text that is neither a module nor a name defined in one (only the
    first attribute after the module is checked: `xstilts.tasks.Task.training_chain`)."""
    stale = []
    for name in sorted(set(re.findall(rf"\b{PACKAGE}(?:\.\w+)+|\b{PACKAGE}\b", text))):
        parts = name.split(".")
        end = max(i for i in range(1, len(parts) + 1) if ".".join(parts[:i]) in modules)
        module = ".".join(parts[:end])
        if end < len(parts) and parts[end] not in _top_level_names(modules[module]):
            stale.append(name)
    return stale


def test_every_name_the_doc_gives_exists():
    assert stale_names(DOC.read_text(), module_names()) == []


def test_every_file_the_doc_names_exists():
    """Backquoted paths, from the repository or the package (`src/xstilts/loaders.py`,
    `formats/__init__.py`); outputs of a run and patterns (`*`, `<name>`) are left out."""
    paths = re.findall(r"`([\w./-]+/[\w.-]+\.(?:py|smk|yaml|md))`", DOC.read_text())
    outputs = ("results/", "reports/", "logs/")
    missing = [
        p
        for p in paths
        if not p.startswith(outputs) and not any((root / p).exists() for root in (REPO, SRC / PACKAGE))
    ]
    assert missing == []


def test_the_parsers_catch_a_missing_row_and_a_stale_name():
    text = (
        "## Layers\n\n1. **base**: `xstilts`, `xstilts.a`\n2. **top**: `xstilts.b`\n\n"
        "## Who owns what\n\n| module | owns | does not |\n|---|---|---|\n"
        "| `xstilts.a`, `xstilts.b` | a `xstilts.c` | |\n"
        "## Names\n"
    )
    assert owned(text) == {"xstilts.a", "xstilts.b"}
    assert layers(text) == {"xstilts": 1, "xstilts.a": 1, "xstilts.b": 2}
    modules = module_names()
    assert stale_names("`xstilts.tasks.TASKS`, `xstilts.grid.training_chain`", modules) == []
    assert stale_names("`xstilts.tasks.gone`, `xstilts.workdir`", modules) == [
        "xstilts.tasks.gone",
        "xstilts.workdir",
    ]
