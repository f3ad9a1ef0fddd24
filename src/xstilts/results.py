"""The results: every cell's JSON -> one long table, every job's benchmark file -> costs, and
the XTREME score of per-task, per-language scores."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from statistics import fmean

from xstilts.atomic import atomic_file
from xstilts.devices import held_slots
from xstilts.recipes import DEFAULT_BUDGET
from xstilts.tasks import TASKS, XTREME_CATEGORIES  # the registry declares each target's category


def collect(files: list[str], out: str) -> None:
    """Cell JSONs and/or already collected parquets -> one parquet."""
    import pandas as pd

    frames = [pd.read_parquet(f) for f in files if f.endswith(".parquet")]
    rows = []
    for f in (f for f in files if not f.endswith(".parquet")):
        record = json.loads(Path(f).read_text())
        cell = record["cell"]
        sources = recipe_sources(record)
        for metric, value in record["metrics"].items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                rows.append(
                    {
                        "model": cell["model_name"],
                        "recipe": cell["recipe"],
                        "target": cell["target"],
                        "language": cell["language"],
                        "seed": int(cell["seed"]),
                        "metric": metric,
                        "value": float(value),
                        "primary": metric == record["primary_metric"],
                        **sources,
                    }
                )
    frame = pd.concat([*frames, pd.DataFrame(rows)], ignore_index=True).sort_values(
        ["model", "recipe", "target", "language", "seed", "metric"]
    )
    with atomic_file(out) as tmp:
        frame.to_parquet(tmp, index=False)


def recipe_sources(record: dict) -> dict:
    """A cell's recipe sources as row columns: `source_languages` (its training languages,
    space-separated, distinct, in recipe order), `budget` (none, per_language or fixed),
    `budget_examples` (fixed: the total, None for the smallest set) and `disjoint`. Cells
    without a record are English recipes with the default budget (settings.evaluate leaves it
    out for them); `none` trains nothing."""
    recorded = record.get("settings", {}).get("recipe_sources")
    if record["cell"]["recipe"] == "none":
        return {"source_languages": "", "budget": "none", "budget_examples": None, "disjoint": False}
    if recorded is None:
        recorded = {"tasks": [["", "en"]], "budget": DEFAULT_BUDGET}
    budget = recorded["budget"]
    return {
        "source_languages": " ".join(dict.fromkeys(language for _, language in recorded["tasks"])),
        "budget": budget["kind"],
        "budget_examples": budget["examples"],
        "disjoint": bool(budget["disjoint"]),
    }


def costs(jobs: list[dict], gpus_per_model: dict, out: str) -> None:
    """Wall time, peak memory and GPU-hours of the grid's jobs (`jobs.benchmarks`: each job
    with its benchmark file; jobs not run yet have none). GPU-hours = wall x GPUs held."""
    import pandas as pd

    rows = []
    for job in jobs:
        for file in [job["path"], *job.get("blocks", [])]:  # an evaluation may run in blocks
            if not Path(file).exists():
                continue
            bench = pd.read_csv(file, sep="\t").iloc[-1]
            gpus = held_slots(job["stage"], gpus_per_model.get(job["model"], 1))
            rows.append(
                {
                    **{k: job[k] for k in ("model", "recipe", "stage", "task", "language")},
                    "seed": int(job["seed"]),
                    "wall_hours": bench["s"] / 3600,
                    "gpu_hours": bench["s"] * gpus / 3600,
                    "max_rss_mb": bench["max_rss"],
                }
            )
    jobs = pd.DataFrame(rows)
    out = Path(out)
    with atomic_file(out / "costs_jobs.csv") as tmp:
        jobs.to_csv(tmp, index=False)
    by_recipe = jobs.pivot_table(
        index=["model", "recipe"], columns="stage", values="gpu_hours", aggfunc="sum", fill_value=0.0
    )
    by_recipe["total"] = by_recipe.sum(axis=1)
    by_task = jobs[jobs.stage != "intermediate"].pivot_table(
        index=["model", "task"], columns="stage", values="gpu_hours", aggfunc="sum", fill_value=0.0
    )
    peak = jobs.groupby("stage").max_rss_mb.max()
    text = [
        "# Compute spent (GPU-hours)",
        "",
        "GPU-hours = wall time x GPUs held, from each job's Snakemake `benchmark:` file. "
        "Fine-tunings are keyed by training task (xquad and mlqa share squad_v1); "
        "evaluations by target.",
        "",
        "## Per recipe",
        "",
        by_recipe.round(4).to_markdown(),
        "",
        "## Per training task and target",
        "",
        by_task.round(4).to_markdown(),
        "",
        "## Peak memory per stage (MB, resident)",
        "",
        peak.round(0).to_markdown(),
        "",
    ]
    with atomic_file(out / "costs.md") as tmp:
        tmp.write_text("\n".join(text))


# ----------------------------------------------------------------------------- XTREME score

XTREME_TASKS: tuple[str, ...] = tuple(task for tasks in XTREME_CATEGORIES.values() for task in tasks)


def xtreme_score(
    task_language_scores: Mapping[str, Mapping[str, float]],
    expected_languages: Mapping[str, Iterable[str]] | None = None,
) -> dict:
    """Mean over languages per task, then category means and the overall XTREME score.

    ``task_language_scores[task][language]`` is that task's primary metric (0-100). A task with
    no scores is absent from ``tasks``. An XTREME task's mean is over XTREME's languages of it
    (the registry's copy of google-research/xtreme ``evaluate.py``; ``expected_languages``
    overrides a task's list); one lacking some of them gets None and is listed under
    ``incomplete_tasks`` (task -> missing languages), as ``evaluate.py`` fails on a missing
    language. A category, or ``xtreme``, with any missing or incomplete task is None, never a
    partial mean; ``missing_tasks`` lists the XTREME tasks that kept it so. Non-XTREME tasks
    get a mean over the languages given but enter no category.
    """
    expected = {task: TASKS[task].benchmark_languages("xtreme") for task in XTREME_TASKS}
    expected.update(expected_languages or {})
    tasks: dict[str, float | None] = {}
    incomplete: dict[str, list[str]] = {}
    for task, scores in task_language_scores.items():
        if not scores:
            continue
        wanted = tuple(expected.get(task, ())) or tuple(scores)
        lacking = sorted(set(wanted) - set(scores))
        if lacking:
            incomplete[task] = lacking
        tasks[task] = None if lacking else fmean(scores[language] for language in wanted)

    def mean_of(names: Iterable[str]) -> float | None:
        values = [tasks.get(name) for name in names]
        return None if any(value is None for value in values) else fmean(values)

    result: dict = {"tasks": tasks}
    result.update({category: mean_of(members) for category, members in XTREME_CATEGORIES.items()})
    result["xtreme"] = mean_of(XTREME_TASKS)
    result["missing_tasks"] = [task for task in XTREME_TASKS if tasks.get(task) is None]
    result["incomplete_tasks"] = incomplete
    return result
