"""configs/studies/: every config validates, names its study, and the studies of one size share
their common cells: a job two of them contain (same model, recipe, seed, task or language) has
the same settings in both, so that they can share one workdir. Fast: no training."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
import yaml
from test_workflow import planned_jobs

from conftest import snakemake
from xstilts import config, grid
from xstilts import settings as job_settings
from xstilts.analysis.studies import STUDIES as NAMES  # the registry: the only list of studies

STUDIES = Path(__file__).resolve().parent.parent / "configs" / "studies"


def load(stem: str) -> dict:
    from xstilts.analysis import studies

    return studies.load(STUDIES / f"{stem}.yaml")


def test_every_study_has_a_paper_size_config_and_a_tiny_twin():
    found = sorted(p.stem for p in STUDIES.glob("*.yaml"))
    assert found == sorted([*NAMES, *(f"tiny-{n}" for n in NAMES)])


def test_every_study_the_schema_names_has_an_analysis():
    """The workflow runs `xstilts study <name>` for any study a config names; the registry is
    the only list, each option belongs to one study, and the core schema knows none of them."""
    from xstilts.analysis import studies

    named = studies.schema_node()["properties"]["name"]["enum"]
    assert named == list(studies.STUDIES)
    keys = [key for name in studies.STUDIES for key in studies.options(name)]
    assert len(keys) == len(set(keys))
    assert list(config.schema()["properties"]["study"]["properties"]) == ["name"]


@pytest.mark.parametrize("stem", [*NAMES, *(f"tiny-{n}" for n in NAMES)])
def test_config_validates_and_names_its_study(stem):
    cfg = load(stem)
    assert cfg["study"]["name"] == stem.removeprefix("tiny-")
    tiny = stem.startswith("tiny-")
    assert bool(cfg["embedded"]) == tiny  # the twins run offline; the paper-size ones read the hub


def jobs(cfg) -> dict[tuple, dict]:
    """Every job of the config keyed by what it is, with its settings (what Snakemake compares)."""
    out = {}
    for j in grid.prepare_jobs(cfg):
        out[("prepare", *j.values())] = job_settings.prepare(cfg, **j)
    for j in grid.intermediate_jobs(cfg):
        out[("intermediate", *j.values())] = job_settings.intermediate(cfg, **j)
    for j in grid.finetune_jobs(cfg):
        out[("finetune", *j.values())] = job_settings.finetune(cfg, **j)
    for c in grid.cells(cfg):
        out[("evaluate", c)] = job_settings.evaluate(cfg, c.model, c.recipe, c.target, c.language, c.seed)
    return out


@pytest.mark.parametrize("prefix", ["", "tiny-"], ids=["paper", "tiny"])
def test_studies_of_one_size_share_their_common_cells(prefix):
    configs = {name: load(prefix + name) for name in NAMES}
    all_jobs = {name: jobs(cfg) for name, cfg in configs.items()}
    for a, b in itertools.combinations(NAMES, 2):
        common = all_jobs[a].keys() & all_jobs[b].keys()
        differ = [key for key in common if all_jobs[a][key] != all_jobs[b][key]]
        assert not differ, f"{prefix}{a} and {prefix}{b} define these jobs differently: {differ[:3]}"
        for name in set(configs[a]["models"]) & set(configs[b]["models"]):
            assert configs[a]["models"][name] == configs[b]["models"][name], (a, b, name)
    # the cell the studies are meant to share (ARCHITECTURE.md) is in at least four of them
    model = "tiny-xlmr" if prefix else "xlm-roberta-large"
    shared = grid.Cell(model, "mnli", "udpos", "fi", 0)
    assert sum(("evaluate", shared) in j for j in all_jobs.values()) >= 4
    # one embedded world: the same hub build and first model in every twin
    if prefix:
        assert len({repr(cfg["embedded"]) for cfg in configs.values()}) == 1


def test_difficulty_configs_record_the_dev_score_at_their_budget():
    """error_at_budget needs an intermediate dev evaluation at the budget step (difficulty.py)."""
    for stem, budget in (("difficulty", 5000), ("tiny-difficulty", 50)):
        cfg = load(stem)
        every = cfg["intermediate"]["early_stopping"]["every"]
        assert budget % every == 0, stem
        assert cfg["study"]["budget_step"] == budget, stem


def test_embedded_extra_models_are_built_and_waited_for_one_by_one():
    """embedded.extra_models: a second tiny size (scale). Only its own jobs wait for its build,
    so adding it reruns nothing of the first model; a model the build does not make is refused."""
    cfg = load("tiny-scale")
    mirror = cfg["hub"]["mirror"]
    base = grid.embedded_markers(mirror)
    large = grid.embedded_extra_marker(mirror, "xstilts/tiny-xlmr-large")
    assert grid.embedded_inputs(cfg, "xstilts/tiny-xlmr") == base
    assert grid.embedded_inputs(cfg, "xstilts/tiny-xlmr-large", "xstilts/tiny-xlmr") == [*base, large]
    raw = config.read_yaml(STUDIES / "tiny-scale.yaml")
    raw["models"]["other"] = {"hub_id": "xstilts/other"}
    with pytest.raises(config.ConfigError, match="add it to embedded.extra_models"):
        config.validate(raw)
    raw = config.read_yaml(STUDIES / "tiny-scale.yaml")
    raw["embedded"]["extra_models"]["xstilts/tiny-xlmr-large"] = {"layers": 6}
    with pytest.raises(
        config.ConfigError, match=r"embedded.extra_models.xstilts/tiny-xlmr-large: unknown key 'layers'"
    ):
        config.validate(raw)
    raw = config.read_yaml(STUDIES / "tiny-scale.yaml")
    raw["embedded"]["extra_models"]["xstilts/tiny-xlmr-large"] = {"num_layers": 2}
    raw["models"]["tiny-xlmr-large"]["retrieval_layer"] = 3
    raw["targets"]["tatoeba"] = ["fi"]
    with pytest.raises(config.ConfigError, match="tiny-xlmr-large"):  # its own depth, not the first's
        config.validate(raw)


def test_adding_an_extra_embedded_model_reruns_nothing_of_the_first(tmp_path, stand_in_xstilts):
    """A second tiny size in a workdir that holds the first one's runs (a scale study beside
    the others): only its build and its own cells run; the hub, the first model and the shared
    tokenized data stay. Jobs run through a stand-in `xstilts` (Snakemake records their
    settings as in a real run)."""
    raw = {
        "models": {"small": {"hub_id": "xstilts/tiny-xlmr", "resources": {"gpus": 0, "cpus": 1}}},
        "recipes": ["none", "mnli"],
        "targets": {"xnli": ["de"]},
        "hub": {"mirror": "mirror"},
        "embedded": {"languages": ["en", "de"]},
    }
    grown = {
        **raw,
        "models": {
            **raw["models"],
            "large": {
                "hub_id": "xstilts/tiny-large",
                "tokenizer": "xstilts/tiny-xlmr",
                "resources": {"gpus": 0},
            },
        },
        "embedded": {**raw["embedded"], "extra_models": {"xstilts/tiny-large": {"hidden_size": 128}}},
    }

    def outputs(cfg):
        return [grid.path(grid.RUN_SCORES, **j) for j in grid.run_keys(config.validate(cfg))]

    def configfile(name, cfg):
        (tmp_path / name).write_text(yaml.safe_dump(cfg, sort_keys=False))  # the first model is built first
        return str(tmp_path / name)

    snakemake("--configfile", configfile("before.yaml", raw), "--cores", 1, *outputs(raw), workdir=tmp_path)
    dry = snakemake(
        "--configfile", configfile("after.yaml", grown), "-n", "--cores", 1, *outputs(grown), workdir=tmp_path
    )
    jobs = planned_jobs(dry.stdout)
    assert list(jobs.get("embedded_extra_model", [])) == [{"extra": "xstilts__tiny-large"}]
    assert not {"embedded_hub", "embedded_model", "prepare"} & set(jobs)
    trained = [j for rule in ("intermediate", "finetune", "collect_run") for j in jobs[rule]]
    assert trained and {j["model"] for j in trained} == {"large"}
