"""The studies of SPEC section 6: typology (a summary and caption of the typology analysis's
tests), scale, difficulty, source language, language count. Each module has
``analyse(scores, ...) -> StudyResult`` (pure: tables and a caption) and ``figure(result)``;
:func:`common.write_study` writes them under ``reports/studies/<name>/``.
"""

from __future__ import annotations

STUDIES = ("typology", "scale", "difficulty", "source-language", "language-count")


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


def command_options(cfg: dict) -> list[str]:
    """The `xstilts study` flags a config's `study` block sets (the difficulty table and the
    scores are inputs, passed by the rule). Scale: each model's size from study.model_sizes,
    else its non-embedding parameters for a known hub id (xstilts.tasks.MODEL_SHAPES)."""
    from xstilts.plan import non_embedding_params
    from xstilts.tasks import MODEL_SHAPES

    study = cfg["study"]
    name = study["name"]
    if name == "scale":
        sizes = {
            model: study["model_sizes"].get(model) or non_embedding_params(*MODEL_SHAPES[m["hub_id"]])
            for model, m in cfg["models"].items()
            if model in study["model_sizes"] or m["hub_id"] in MODEL_SHAPES
        }
        return [f"--model-size={model}={size:.0f}" for model, size in sizes.items()]
    if name == "source-language":
        return [f"--target-language={study['target_language']}", f"--distance-kind={study['distance']}"]
    if name == "language-count":
        return [f"--delta={study['delta']:g}", *(["--zero-shot-only"] if study["zero_shot_only"] else [])]
    return []
