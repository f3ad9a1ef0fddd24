"""The workflow end to end: dry-run shape of the paper grid, the tiny run, staleness."""

import re

import pandas as pd
import yaml

from conftest import REPO, snakemake
from xstilts import config, grid


def planned_jobs(output: str) -> dict[str, list[dict]]:
    """rule -> wildcards of each job a dry run plans."""
    jobs = {}
    for block in re.split(r"\n(?=\s*(?:localrule|rule) \w+:)", output):
        head = re.match(r"\s*(?:localrule|rule) (\w+):", block)
        if not head:
            continue
        found = re.search(r"^\s+wildcards: (.*)$", block, re.M)
        wildcards = dict(kv.split("=", 1) for kv in found.group(1).split(", ")) if found else {}
        jobs.setdefault(head.group(1), []).append(wildcards)
    return jobs


def evaluations(jobs: dict) -> list[dict]:
    """The evaluation jobs (rules evaluate_<target>: one per trained model x target), each
    with its target."""
    return [
        {**w, "target": rule.removeprefix("evaluate_")}
        for rule, planned in jobs.items()
        if rule.startswith("evaluate_")
        for w in planned
    ]


def evaluation_count(counts: dict) -> int:
    return sum(int(n) for rule, n in counts.items() if rule.startswith("evaluate_"))


def dry_run(workdir, configfile):
    return snakemake("--configfile", configfile, "-n", "--cores", 2, workdir=workdir).stdout


def test_paper_grid_dry_run(tmp_path):
    result = snakemake("--configfile", REPO / "config.yaml", "-n", "--quiet", "rules", workdir=tmp_path)
    out = result.stdout
    assert "hub.ccgbank" in result.stdout + result.stderr, "the dry run says a real run needs CCGbank"
    counts = dict(re.findall(r"^(\w+)\s+(\d+)$", out, re.M))
    assert counts["intermediate"] == "10"
    assert counts["finetune"] == "66"
    assert evaluation_count(counts) == 99  # 11 recipes x 9 targets; 1,782 cells


def test_bad_config_stops_before_any_job(tmp_path):
    text = (REPO / "configs/tiny.yaml").read_text().replace("xnli: [en,", "xnli: [xx, en,")
    (tmp_path / "bad.yaml").write_text(text)
    result = snakemake("--configfile", tmp_path / "bad.yaml", "--cores", 1, workdir=tmp_path, check=False)
    assert result.returncode != 0
    assert "targets.xnli: xnli has no language 'xx'" in result.stdout + result.stderr
    assert not (tmp_path / "results").exists() and not (tmp_path / "resources").exists()


def test_tiny_run_outputs(tiny_run):
    cfg = config.load(REPO / "configs/tiny.yaml")
    scores = pd.read_parquet(tiny_run / grid.SCORES)
    primary = scores[scores.primary]
    cells = {(c.model, c.recipe, c.target, c.language, c.seed) for c in grid.cells(cfg)}
    assert set(map(tuple, primary[["model", "recipe", "target", "language", "seed"]].values)) == cells
    assert primary.value.between(0, 100).all()
    # learned something real: English XNLI well above chance after MNLI (the low-resource
    # baseline may not be; tests/test_transfer.py checks the gains)
    en = primary[(primary.target == "xnli") & (primary.language == "en") & (primary.recipe == "mnli")]
    assert len(en) == len(cfg["seeds"]) and (en.value > 50).all(), en
    gains = (tiny_run / "reports/gains.md").read_text()
    assert "mnli" in gains and "squad_v1" in gains
    assert (tiny_run / "reports/figures/typology_xnli.png").stat().st_size > 10_000


def test_tiny_run_again_has_nothing_to_do(tiny_run):
    out = snakemake("--configfile", REPO / "configs/tiny.yaml", "-n", workdir=tiny_run).stdout
    assert "Nothing to be done" in out


def _changed_config(tiny_run, change) -> str:
    raw = yaml.safe_load((REPO / "configs/tiny.yaml").read_text())
    change(raw)
    path = tiny_run / "changed.yaml"
    path.write_text(yaml.safe_dump(raw))
    return str(path)


TARGETS = ("xnli", "pawsx", "udpos", "tatoeba")
AGGREGATES = {"collect", "all", "costs", "analysis_tables", "analysis_typology", "analysis_figures"}


def test_changing_one_recipe_lr_reruns_exactly_that_recipe(tiny_run):
    def change(raw):
        raw["recipes"] = ["none", {"name": "mnli", "tasks": ["mnli"], "training": {"lr": 5.0e-4}}, "squad_v1"]

    jobs = planned_jobs(dry_run(tiny_run, _changed_config(tiny_run, change)))
    seeds = [str(s) for s in config.load(REPO / "configs/tiny.yaml")["seeds"]]
    assert sorted(j["seed"] for j in jobs["intermediate"]) == seeds
    assert {j["recipe"] for j in jobs["intermediate"]} == {"mnli"}
    assert {j["recipe"] for j in jobs["finetune"]} == {"mnli"} and len(jobs["finetune"]) == 3 * len(seeds)
    evaluated = evaluations(jobs)
    assert {j["recipe"] for j in evaluated} == {"mnli"} and len(evaluated) == 4 * len(seeds)
    assert [j["recipe"] for j in jobs["collect_run"]] == ["mnli"] * len(seeds)
    evaluate_rules = {f"evaluate_{t}" for t in TARGETS}
    assert set(jobs) - {"intermediate", "finetune", "collect_run"} - evaluate_rules <= AGGREGATES
    assert "prepare" not in jobs


def test_adding_a_language_reruns_only_its_evaluations(tiny_run):
    jobs = planned_jobs(
        dry_run(tiny_run, _changed_config(tiny_run, lambda raw: raw["targets"]["xnli"].append("es")))
    )
    n_seeds = len(config.load(REPO / "configs/tiny.yaml")["seeds"])
    # one job per trained model evaluates xnli's languages again (its new output is missing)
    evaluated = evaluations(jobs)
    assert sorted(j["recipe"] for j in evaluated) == sorted(["mnli", "none", "squad_v1"] * n_seeds)
    assert {j["target"] for j in evaluated} == {"xnli"}
    assert jobs["prepare"] == [
        {"tokenizer": "xstilts__tiny-xlmr", "task": "xnli", "language": "es", "split": "test"}
    ]
    assert set(jobs) - {"prepare", "evaluate_xnli", "collect_run"} <= AGGREGATES
    assert "intermediate" not in jobs and "finetune" not in jobs


def test_removing_a_language_reruns_only_its_targets_evaluations(tiny_run):
    """A removed language changes its target's evaluation jobs' input set (Snakemake reruns
    those), nothing else: no training, no other target."""
    fewer = _changed_config(tiny_run, lambda raw: raw["targets"]["xnli"].remove("sw"))
    jobs = planned_jobs(dry_run(tiny_run, fewer))
    n_seeds = len(config.load(REPO / "configs/tiny.yaml")["seeds"])
    assert sorted(j["recipe"] for j in evaluations(jobs)) == sorted(["mnli", "none", "squad_v1"] * n_seeds)
    assert set(jobs) - {"evaluate_xnli", "collect_run"} <= AGGREGATES, sorted(jobs)


def test_evaluation_batch_size_reruns_nothing(tiny_run):
    """The batch size does not change a score on CPU (dynamic padding, masked positions; see
    tests/test_evaluation.py): it is recorded in each cell, not compared."""

    def change(raw):
        raw["evaluation"]["batch_size"] = 7

    out = dry_run(tiny_run, _changed_config(tiny_run, change))
    assert "Nothing to be done" in out, out[-3000:]


def test_configfile_replaces_the_paper_grid_in_the_repo(tmp_path):
    """Run from the repository (the README's way): --configfile must not be merged with the
    paper's config.yaml, or its 162 task-languages would leak into the tiny grid. --forceall:
    the README's first command may already have run the tiny grid in this checkout."""
    import subprocess
    import sys

    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "--configfile",
            "configs/tiny.yaml",
            "-n",
            "--forceall",
            "--quiet",
            "rules",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert evaluation_count(dict(re.findall(r"^(\w+)\s+(\d+)$", out, re.M))) == 24


def test_another_spelling_of_the_mirror_reruns_nothing(tmp_path, stand_in_xstilts):
    """The embedded build's logs in the mirror are inputs of every job: `./resources/hub`,
    `resources/hub/` or the absolute path, for the `resources/hub` a grid ran with, plan
    nothing (Snakemake's input trigger included, not only params); a mirror at another path
    is another build (docs/cluster.md). Jobs run through the stand-in `xstilts`."""
    raw = {
        "models": {"tiny-xlmr": {"hub_id": "xstilts/tiny-xlmr", "retrieval_layer": 2}},
        "recipes": ["none", "mnli"],
        "targets": {"xnli": ["de"]},
        "hub": {"mirror": "resources/hub"},
        "embedded": {"languages": ["en", "de"]},
    }
    outputs = [grid.path(grid.RUN_SCORES, **j) for j in grid.run_keys(config.validate(raw))]

    def configfile(mirror):
        (tmp_path / "grid.yaml").write_text(yaml.safe_dump({**raw, "hub": {"mirror": mirror}}))
        return tmp_path / "grid.yaml"

    snakemake("--configfile", configfile("resources/hub"), "--cores", 1, *outputs, workdir=tmp_path)
    for spelling in ("./resources/hub", "resources/hub/", str(tmp_path / "resources/hub")):
        dry = snakemake("--configfile", configfile(spelling), "-n", *outputs, workdir=tmp_path).stdout
        assert planned_jobs(dry) == {} and "Nothing to be done" in dry, (spelling, dry[-3000:])
    elsewhere = planned_jobs(
        snakemake("--configfile", configfile("other/hub"), "-n", *outputs, workdir=tmp_path).stdout
    )
    assert {"embedded_hub", "prepare", "intermediate", "finetune"} <= set(elsewhere)
