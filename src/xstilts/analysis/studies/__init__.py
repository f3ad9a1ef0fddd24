"""The studies of docs/science.md section 6: typology, scale, difficulty, source language, language count.
Each module has ``analyse(scores, ...) -> StudyResult`` (pure: tables and the pre-specified
answer), ``figure(result)``, and the calibration pieces ``PLANTED_EFFECT`` and ``simulate``
(see :mod:`common`); :func:`common.write_study` writes them under ``reports/studies/<name>/``.
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
    files = [*(f"{table}.csv" for table in tables), "answer.json", f"{name}.md", "caption.rst", f"{name}.png"]
    return [f"studies/{name}/{file}" for file in files]


def model_sizes(hub_ids: dict[str, str], given: dict | None = None) -> dict[str, float]:
    """Per model name, its size: ``given`` (study.model_sizes), else the non-embedding
    parameters of a known hub id (xstilts.pretrained.MODEL_SHAPES); unknown models are left out."""
    from xstilts.plan import non_embedding_params
    from xstilts.pretrained import MODEL_SHAPES

    given = given or {}
    return {
        model: given.get(model) or non_embedding_params(*MODEL_SHAPES[hub_id])
        for model, hub_id in hub_ids.items()
        if model in given or hub_id in MODEL_SHAPES
    }


def command_options(cfg: dict) -> list[str]:
    """The `xstilts study` flags a config's `study` block sets (the difficulty table and the
    scores are inputs, passed by the rule). Scale: :func:`model_sizes`."""
    study = cfg["study"]
    name = study["name"]
    if name == "scale":
        hub_ids = {model: m["hub_id"] for model, m in cfg["models"].items()}
        sizes = model_sizes(hub_ids, study["model_sizes"])
        return [f"--model-size={model}={size:.0f}" for model, size in sizes.items()]
    if name == "source-language":
        return [f"--target-language={study['target_language']}", f"--distance-kind={study['distance']}"]
    if name == "language-count":
        return [
            f"--delta={study['delta']:g}",
            "--zero-shot-only" if study["zero_shot_only"] else "--no-zero-shot-only",
        ]
    return []
