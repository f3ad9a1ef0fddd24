"""Studies over one workdir: shared cells computed once, each study's aggregates in its own home,
a name or a shared job defined otherwise refused before any job, `xstilts studies` counts."""

from __future__ import annotations

import copy
import re
import subprocess
import sys

import pytest
import yaml
from test_workflow import planned_jobs

from conftest import REPO, snakemake
from xstilts import config, grid, shared_workdir
from xstilts.analysis import studies
from xstilts.config import ConfigError


def validate(raw: dict) -> dict:
    """A config as the workflow validates it: the core, then the study block."""
    return studies.validate(config.validate(raw))


TINY = yaml.safe_load((REPO / "configs/tiny.yaml").read_text())
FAST = {"lr": 1.0e-3, "batch_size": 16, "max_steps": 4, "checkpoint_every": 100}


def study(name: str, recipes: list, targets: dict, **options) -> dict:
    """A study config on the embedded default, small enough to run in seconds per job."""
    return {
        "study": {"name": name, **options},
        "models": TINY["models"],
        "recipes": recipes,
        "targets": targets,
        "seeds": [0],
        "hub": TINY["hub"],
        "embedded": TINY["embedded"],
        # early stopping records the difficulty study's dev_at_budget (validate refuses it off)
        "intermediate": {
            **FAST,
            "max_train_examples": 64,
            "early_stopping": {"every": 2, "dev_examples": 16},
        },
        "finetune": {**FAST, "max_train_examples": 64, "early_stopping": None},
        "data": {"max_length": 64},
        "evaluation": {"batch_size": 64, "max_examples": 16},
        "analysis": {"n_resamples": 99},
    }


# Two studies sharing the cells none and mnli x xnli-de; difficulty adds squad_v1.
COUNT = study("language-count", ["none", "mnli"], {"xnli": ["de"]})
DIFFICULTY = study(
    "difficulty",
    ["none", "mnli", "squad_v1"],
    {"xnli": ["de"]},
    budget_step=4,
    loss_step=4,
    loss_window=2,
)


@pytest.fixture(scope="module")
def mirror(request) -> str:
    """The tiny run's embedded mirror (its model pretrains for minutes: built once a session)."""
    return str(request.getfixturevalue("tiny_run") / TINY["hub"]["mirror"])


def write(directory, name, raw) -> str:
    path = directory / name
    path.write_text(yaml.safe_dump(raw))
    return str(path)


def studies_command(*args) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "xstilts.cli", "studies", *map(str, args)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def counts_of(output: str) -> dict[str, tuple[int, ...]]:
    """study -> (cells, done, missing, shared) from `xstilts studies`."""
    return {
        m[0]: tuple(map(int, m[1:]))
        for m in re.findall(r"^(\S+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)", output, re.M)
    }


# ---- paths -----------------------------------------------------------------------------------


def test_without_a_study_the_aggregates_stay_where_they_were():
    agg = grid.aggregates(validate(TINY))
    assert (agg.scores, agg.run_scores, agg.costs) == (grid.SCORES, grid.RUN_SCORES, grid.COSTS)
    assert grid.analysis_outputs(["xnli"], agg.reports) == grid.analysis_outputs(["xnli"])
    assert studies.workflow_outputs(validate(TINY)) == []


def test_a_study_has_its_own_aggregates_and_shares_its_cells():
    plain = validate({k: v for k, v in COUNT.items() if k != "study"})
    mine = validate(COUNT)
    agg = grid.aggregates(mine)
    assert agg.scores == "results/studies/language-count/scores.parquet"
    assert agg.run_scores.startswith("results/studies/language-count/{model}/")
    assert agg.reports == "reports/studies/language-count/grid"
    assert all(f.startswith("reports/studies/language-count/") for f in studies.workflow_outputs(mine))
    # the cells and every job's settings do not depend on the study
    assert shared_workdir.cells(mine) == shared_workdir.cells(plain)
    assert shared_workdir.jobs(mine) == shared_workdir.jobs(plain)


def test_an_option_of_another_study_is_refused():
    with pytest.raises(ConfigError, match=r"study\.delta: an option of the language-count study"):
        validate({**COUNT, "study": {"name": "scale", "delta": 1.0}})
    with pytest.raises(ConfigError, match=r"study\.model_sizes\.big: not a model"):
        validate({**COUNT, "study": {"name": "scale", "model_sizes": {"big": 5.0e8}}})


def test_study_options_become_the_study_command_flags():
    from xstilts.analysis.studies import command_options

    models = {
        "base": {"hub_id": "FacebookAI/xlm-roberta-base"},
        "large": {"hub_id": "FacebookAI/xlm-roberta-large"},
        "other": {"hub_id": "org/unknown", "retrieval_layer": 4},
    }
    raw = {"models": models, "recipes": ["none", "mnli"], "targets": {"xnli": ["de"]}}
    scale = validate({**raw, "study": {"name": "scale", "model_sizes": {"large": 5.6e8}}})
    assert command_options(scale) == ["--model-size=base=84934656", "--model-size=large=560000000"]
    sources = validate({**raw, "study": {"name": "source-language"}})
    assert command_options(sources) == ["--target-language=fi", "--distance-kind=syntactic"]


# ---- the registry ----------------------------------------------------------------------------


def test_a_shared_job_with_other_settings_is_refused(tmp_path):
    shared_workdir.register(validate(COUNT), ["count.yaml"], tmp_path)
    other = copy.deepcopy(DIFFICULTY)
    other["finetune"]["lr"] = 2.0e-3  # the same fine-tuning path, trained otherwise
    with pytest.raises(ConfigError) as error:
        shared_workdir.check(validate(other), ["difficulty.yaml"], tmp_path)
    message = str(error.value)
    assert "study language-count (count.yaml)" in message and "difficulty.yaml" in message
    assert "training.lr: 0.001 there, 0.002 here" in message and "finetune" in message
    assert "Fix:" in message
    shared_workdir.check(validate(DIFFICULTY), ["difficulty.yaml"], tmp_path)  # the same settings pass


def test_a_model_name_defined_otherwise_is_refused(tmp_path):
    raw = {"recipes": ["none", "mnli"], "targets": {"xnli": ["de"]}}
    large = {"study": {"name": "typology"}, "models": {"xlmr": {"hub_id": "FacebookAI/xlm-roberta-large"}}}
    shared_workdir.register(validate({**raw, **large}), ["typology.yaml"], tmp_path)
    base = {"study": {"name": "scale"}, "models": {"xlmr": {"hub_id": "FacebookAI/xlm-roberta-base"}}}
    with pytest.raises(
        ConfigError,
        match=r"models\.xlmr: the model name 'xlmr' means something else in study "
        r"typology \(typology\.yaml\).*study scale \(scale\.yaml\) differs in hub_id",
    ):
        shared_workdir.check(validate({**raw, **base}), ["scale.yaml"], tmp_path)
    plain = validate({**raw, "models": base["models"]})  # no study block: checked as well
    with pytest.raises(ConfigError, match=r"this config \(plain\.yaml, no study block\) differs"):
        shared_workdir.check(plain, ["plain.yaml"], tmp_path)


def test_a_study_changing_its_own_definitions_is_staleness(tmp_path):
    shared_workdir.register(validate(COUNT), ["count.yaml"], tmp_path)
    changed = copy.deepcopy(COUNT)
    changed["finetune"]["lr"] = 2.0e-3
    shared_workdir.register(validate(changed), ["count.yaml"], tmp_path)  # no error: its entry replaced
    entry = shared_workdir.read(tmp_path)["studies"]["language-count"]
    assert all(s["training"]["lr"] == 2.0e-3 for o, s in entry["jobs"].items() if "/finetune/" in o)
    assert shared_workdir.forget("language-count", tmp_path)
    assert shared_workdir.read(tmp_path)["studies"] == {}


def test_a_recipe_name_defined_otherwise_is_refused_before_any_job(tmp_path):
    nli = {"name": "nli", "tasks": ["mnli"]}
    shared_workdir.register(
        validate(study("scale", ["none", nli], {"xnli": ["de"]})), ["scale.yaml"], tmp_path
    )
    german = {"name": "nli", "tasks": [{"task": "mnli", "language": "de"}]}
    path = write(tmp_path, "sources.yaml", study("source-language", ["none", german], {"xnli": ["de"]}))
    result = snakemake("--configfile", path, "--cores", 1, workdir=tmp_path, check=False)
    out = result.stdout + result.stderr
    assert result.returncode != 0
    assert (
        "config key recipes.nli: the recipe name 'nli' means something else in study scale (scale.yaml)"
        in out
    )
    assert 'differs in tasks: [{"language": "en", "task": "mnli"}] there, [{"language": "de"' in out
    assert "Fix: rename the recipe in one of the configs, or run this one in another workdir" in out
    assert not (tmp_path / "resources").exists() and not (tmp_path / "results/tiny-xlmr").exists()


def test_languages_another_study_evaluates_get_their_own_evaluation_job(tmp_path):
    """A shared cell's JSON is never rewritten by a study that evaluates more languages."""
    more = validate({**DIFFICULTY, "targets": {"xnli": ["en", "de", "sw"], "pawsx": ["de"]}})
    assert shared_workdir.language_blocks(more, "xnli", shared_workdir.read(tmp_path)) == [["en", "de", "sw"]]
    shared_workdir.register(validate(COUNT), ["count.yaml"], tmp_path)  # xnli: de
    registry = shared_workdir.read(tmp_path)
    assert shared_workdir.language_blocks(more, "xnli", registry) == [["en", "sw"], ["de"]]
    assert shared_workdir.language_blocks(more, "pawsx", registry) == [["de"]]
    log = grid.eval_block_paths(grid.EVAL_LOG, "xnli", 1, "de")
    assert log == "results/{model}/{recipe}/seed{seed}/eval/xnli/evaluate-de.log"


def test_studies_counts_registered_and_given_configs(tmp_path):
    shared_workdir.register(validate(COUNT), ["count.yaml"], tmp_path)
    cell = tmp_path / shared_workdir.cells(validate(COUNT))[0]
    cell.parent.mkdir(parents=True)
    cell.write_text("{}")
    counts = counts_of(
        studies_command("--workdir", tmp_path, "--config", write(tmp_path, "d.yaml", DIFFICULTY))
    )
    assert counts == {"language-count": (2, 1, 1, 2), "difficulty": (3, 1, 2, 2)}


# ---- two studies run one after the other in one workdir --------------------------------------


def test_a_second_study_computes_only_its_new_cells(tmp_path, mirror):
    """Real (tiny) runs: the second study trains and evaluates only squad_v1, then the first
    study has nothing to do, and `xstilts studies` shows the shared cells."""
    hub = {"hub": {"mirror": mirror}}
    first = write(tmp_path, "count.yaml", {**COUNT, **hub})
    second = write(tmp_path, "difficulty.yaml", {**DIFFICULTY, **hub})
    snakemake("--configfile", first, "--cores", 1, workdir=tmp_path)

    jobs = planned_jobs(snakemake("--configfile", second, "-n", "--cores", 1, workdir=tmp_path).stdout)
    for rule in ("intermediate", "finetune", "evaluate_xnli"):
        assert {j["recipe"] for j in jobs[rule]} == {"squad_v1"}, rule
    assert {j["task"] for j in jobs["prepare"]} == {"squad_v1"}
    assert "embedded_hub" not in jobs and "embedded_model" not in jobs
    snakemake("--configfile", second, "--cores", 1, workdir=tmp_path)

    again = snakemake("--configfile", first, "-n", "--cores", 1, workdir=tmp_path).stdout
    assert "Nothing to be done" in again  # the second study left the first one's outputs alone
    for name in ("language-count", "difficulty"):
        assert (tmp_path / f"results/studies/{name}/scores.parquet").exists()
        assert (tmp_path / f"reports/studies/{name}/grid/gains.md").exists()
        caption = (tmp_path / f"reports/studies/{name}/caption.rst").read_text()
        assert caption.startswith("Question:") and "Answer:" in caption
    assert not (tmp_path / "results/scores.parquet").exists()
    counts = counts_of(studies_command("--workdir", tmp_path))
    assert counts == {"language-count": (2, 2, 0, 2), "difficulty": (3, 3, 0, 2)}

    snakemake("--configfile", second, "--report", "report.html", workdir=tmp_path)
    html = (tmp_path / "report.html").read_text()
    assert "Studies" in html and "difficulty.png" in html
