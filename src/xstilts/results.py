"""The results: every cell's JSON -> one long table, every job's benchmark file -> costs."""

from __future__ import annotations

import json
from pathlib import Path

from xstilts.atomic import atomic_file
from xstilts.devices import held_slots
from xstilts.recipes import DEFAULT_BUDGET


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
