"""Recipe families in the workflow: adding a k or a draw reruns only the new recipes.

The jobs run through Snakemake with a stand-in `xstilts` on PATH that only creates each job's
output, so Snakemake records every job's settings as it does in a real run; the dry run after
the change then shows what a real run would redo.
"""

from __future__ import annotations

import yaml
from test_workflow import planned_jobs

from conftest import snakemake
from xstilts import config, grid

FAMILY = {
    "family": "language_count",
    "task": "mnli",
    "pool": ["de", "es", "fr", "ru"],
    "k": [1, 2],
    "draws": 2,
    "budget": {"kind": "fixed", "disjoint": True},
}
RAW = {
    "models": {
        "m": {"hub_id": "xstilts/tiny-xlmr", "retrieval_layer": 2, "resources": {"gpus": 0, "cpus": 1}}
    },
    "recipes": ["none", {"family": "sources", "task": "mnli", "languages": ["en", "de"]}, FAMILY],
    "targets": {"xnli": ["de"]},
    "hub": {"mirror": "mirror"},
}


def run_outputs(raw) -> list[str]:
    """The per-run score files: everything but the aggregates (which rerun on any change)."""
    return [grid.path(grid.RUN_SCORES, **j) for j in grid.run_keys(config.validate(raw))]


def write(workdir, name, raw) -> str:
    path = workdir / name
    path.write_text(yaml.safe_dump(raw))
    return str(path)


def test_adding_a_k_or_a_draw_reruns_only_the_new_recipes(tmp_path, stand_in_xstilts):
    (tmp_path / "mirror").mkdir()
    before = write(tmp_path, "before.yaml", RAW)
    snakemake("--configfile", before, "--cores", 1, *run_outputs(RAW), workdir=tmp_path)
    again = snakemake("--configfile", before, "-n", "--cores", 1, *run_outputs(RAW), workdir=tmp_path).stdout
    assert "Nothing to be done" in again

    grown = {**RAW, "recipes": ["none", RAW["recipes"][1], {**FAMILY, "k": [1, 2, 4], "draws": 3}]}
    old = set(grid.recipes(config.validate(RAW)))
    new = set(grid.recipes(config.validate(grown))) - old
    assert new and old < set(grid.recipes(config.validate(grown)))
    after = write(tmp_path, "after.yaml", grown)
    jobs = planned_jobs(
        snakemake("--configfile", after, "-n", "--cores", 1, *run_outputs(grown), workdir=tmp_path).stdout
    )
    assert {j["recipe"] for j in jobs["intermediate"]} == new
    assert {j["recipe"] for j in jobs["finetune"]} == new
    evaluations = [j for rule, js in jobs.items() if rule.startswith("evaluate_") for j in js]
    assert evaluations and {j["recipe"] for j in evaluations} == new
    assert {j["recipe"] for j in jobs["collect_run"]} == new
    # and changing the family's budget reruns every multi-language recipe of it, nothing else
    budget = {**RAW, "recipes": ["none", RAW["recipes"][1], {**FAMILY, "budget": "per_language"}]}
    jobs = planned_jobs(
        snakemake(
            "--configfile",
            write(tmp_path, "budget.yaml", budget),
            "-n",
            "--cores",
            1,
            *run_outputs(budget),
            workdir=tmp_path,
        ).stdout
    )
    family = {r for r in grid.recipes(config.validate(RAW)) if r.startswith("mnli-k")}
    assert len(family) >= 3 and {j["recipe"] for j in jobs["intermediate"]} == family
