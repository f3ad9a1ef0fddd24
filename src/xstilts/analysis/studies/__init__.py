"""The studies of SPEC section 6 beyond typology: scale, difficulty, source language, language
count. Each module has ``analyse(scores, ...) -> StudyResult`` (pure: tables and a caption) and
``figure(result)``; :func:`common.write_study` writes them under ``reports/studies/<name>/``.
"""

from __future__ import annotations

STUDIES = ("scale", "difficulty", "source-language", "language-count")


def module(name: str):
    """The study's module by its CLI/report name."""
    import importlib

    if name not in STUDIES:
        raise ValueError(f"unknown study {name!r}: choose one of {', '.join(STUDIES)}")
    return importlib.import_module(f"xstilts.analysis.studies.{name.replace('-', '_')}")


def outputs(name: str) -> list[str]:
    """The files ``xstilts study NAME --out OUT`` writes, relative to ``OUT`` (for workflow rules)."""
    tables = module(name).TABLES
    files = [*(f"{table}.csv" for table in tables), f"{name}.md", "caption.rst", f"{name}.png"]
    return [f"studies/{name}/{file}" for file in files]
