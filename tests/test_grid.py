"""The grid: job counts and keys of the paper's config, without Snakemake."""

from pathlib import Path

import pytest
import yaml

from xstilts import config, grid, languages, loaders, settings, tasks

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def paper_raw():
    return yaml.safe_load((REPO / "config.yaml").read_text())


def test_paper_grid_counts():
    cfg = config.load(REPO / "config.yaml")
    assert len(grid.intermediate_jobs(cfg)) == 10
    assert len(grid.finetune_jobs(cfg)) == 66
    assert len(grid.cells(cfg)) == 1782 == 11 * 162
    assert {j["task"] for j in grid.finetune_jobs(cfg)} == {
        "mnli",
        "pawsx",
        "udpos",
        "panx",
        "squad_v1",
        "tydiqa",
    }


def test_training_keys_are_shared():
    assert tasks.training_task("xquad") == tasks.training_task("mlqa") == "squad_v1"
    assert tasks.training_task("xnli") == "mnli"
    assert tasks.training_task("bucc") is None and tasks.training_task("tatoeba") is None
    assert tasks.training_tasks(["xquad", "mlqa", "tatoeba"]) == ["squad_v1"]


def test_registry_has_the_xtreme_tasks_with_xtreme_languages():
    assert len(tasks.INTERMEDIATE_TASKS) == 9 and len(languages.XTREME_LANGUAGES) == 9
    assert set(languages.XTREME_LANGUAGES) <= set(tasks.TARGET_TASKS)
    assert sum(len(tasks.TASKS[t].languages) for t in languages.XTREME_LANGUAGES) == 162
    assert languages.TATOEBA_CODES["zh"] == "cmn" and languages.TATOEBA_CODES["tl"] == "tgl"
    assert loaders.tydiqa_prefix("en") == "english-"


def test_tokenized_data_is_shared_between_models_with_one_tokenizer():
    raw = {
        "models": {
            "base": {"hub_id": "FacebookAI/xlm-roberta-base"},
            "large": {"hub_id": "FacebookAI/xlm-roberta-large", "tokenizer": "FacebookAI/xlm-roberta-base"},
        },
        "recipes": ["none", "mnli"],
        "targets": {"xnli": ["en", "de"]},
    }
    cfg = config.validate(raw)
    jobs = grid.prepare_jobs(cfg)
    assert {j["tokenizer"] for j in jobs} == {"FacebookAI__xlm-roberta-base"}
    assert len(jobs) == 4  # mnli train+dev, xnli de+en test
    assert grid.data_dir(cfg, "base", "xnli", "de", "test") == grid.data_dir(
        cfg, "large", "xnli", "de", "test"
    )


def test_eval_slice_holds_only_its_cell():
    cfg = config.load(REPO / "config.yaml")
    s = settings.evaluate(cfg, "xlm-roberta-large", "mnli", "xnli", "de", 0)
    assert s["train_task"] == "mnli" and "bucc_k" not in s["evaluation"]
    assert "bucc_k" in settings.evaluate(cfg, "xlm-roberta-large", "mnli", "bucc", "de", 0)["evaluation"]
    other = {
        **cfg,
        "targets": {**cfg["targets"], "xnli": ["de"]},
        "seeds": [0, 1],
        "recipes": cfg["recipes"][:2],
    }
    assert settings.evaluate(other, "xlm-roberta-large", "mnli", "xnli", "de", 0) == s


def test_finetune_inputs_and_outputs():
    cfg = config.load(REPO / "config.yaml")
    inputs = grid.evaluation_inputs(cfg, "xlm-roberta-large", "none", "xquad", "de", 0)
    assert inputs["model"] == "results/xlm-roberta-large/none/seed0/finetune/squad_v1/model"
    inputs = grid.evaluation_inputs(cfg, "xlm-roberta-large", "none", "tatoeba", "de", 0)
    assert "model" not in inputs, "the baseline's retrieval reads the pretrained model"
    inputs = grid.evaluation_inputs(cfg, "xlm-roberta-large", "mnli", "bucc", "de", 0)
    assert inputs["model"] == "results/xlm-roberta-large/mnli/seed0/intermediate/model"
    assert set(inputs) == {"model", "test", "dev"}, "bucc chooses its threshold on dev"
    assert grid.encoder_dir("xlm-roberta-large", "none", 0) is None


def test_settings_layers(paper_raw):
    """defaults < registry < phase block < tasks.<task> < recipe's own training."""
    paper_raw["tasks"] = {"udpos": {"epochs": 4}, "mnli": {"max_length": 128, "lr": 2.0e-5}}
    paper_raw["recipes"] = [
        "none",
        "all9",
        {"name": "mnli_fast", "tasks": ["mnli"], "training": {"lr": 3.0e-5}},
        "mnli",
    ]
    paper_raw["finetune"] = {"early_stopping": {"every": 50}, "lora": {"r": 4}}
    cfg = config.validate(paper_raw)
    model = next(iter(cfg["models"]))
    fast = settings.intermediate(cfg, model, "mnli_fast", 0)
    assert fast["training"]["lr"] == 3.0e-5 and fast["training"]["batch_size"] == 4
    assert fast["data"] == {"mnli": {"max_length": 128}}
    assert settings.intermediate(cfg, model, "mnli", 0)["training"]["lr"] == 2.0e-5
    assert settings.intermediate(cfg, model, "all9", 0)["training"]["lr"] == 1.0e-5, (
        "a key the tasks of a multi-task recipe disagree on comes from the phase block"
    )
    udpos = settings.finetune(cfg, model, "none", "udpos", 0)["training"]
    assert udpos["epochs"] == 4 and udpos["lr"] == 1.0e-5
    assert udpos["early_stopping"] == {"every": 50, "patience": 30, "dev_examples": 500}
    assert udpos["lora"] == {"r": 4, "alpha": 16, "dropout": 0.1}
    assert settings.finetune(cfg, model, "none", "pawsx", 0)["training"]["epochs"] == 5
    squad = settings.finetune(cfg, model, "none", "squad_v1", 0)
    assert squad["training"]["batch_size"] == 16
    assert squad["data"] == {"squad_v1": {"max_length": 384, "doc_stride": 128, "qa_windows": "reference"}}
    assert settings.data(cfg, "tydiqa")["tydiqa_train"] == "english"


def test_locations_are_not_settings(paper_raw, tmp_path):
    """Where the mirror lies is no setting of a result (moving it reruns nothing); what is in
    it is (a changed file reruns the jobs that read it)."""
    mirror = tmp_path / "hub"
    (mirror / "google/xtreme").mkdir(parents=True)
    (mirror / "google/xtreme/a.parquet").write_bytes(b"1234")
    paper_raw["hub"] = {"mirror": str(mirror)}
    cfg = config.validate(paper_raw)
    job = dict(
        tokenizer=settings.slug(next(iter(cfg["models"].values()))["tokenizer"]),
        task="xnli",
        language="de",
        split="test",
    )
    before = settings.prepare(cfg, **job)
    moved = tmp_path / "moved"
    mirror.rename(moved)
    cfg["hub"]["mirror"] = str(moved)
    settings.tree_fingerprint.cache_clear()
    assert settings.prepare(cfg, **job) == before
    (moved / "google/xtreme/a.parquet").write_bytes(b"123456")
    settings.tree_fingerprint.cache_clear()
    after = settings.prepare(cfg, **job)
    assert after != before
    assert str(moved) not in config.slice_json(after)
    bank = tmp_path / "ccgbank"
    (bank / "data/AUTO/00").mkdir(parents=True)
    (bank / "data/AUTO/00/wsj_0001.auto").write_text("x")
    cfg["hub"]["ccgbank"] = str(bank)
    assert settings.prepare(cfg, **job) == after, "only jobs that read CCGbank depend on it"
    ccg = {**job, "task": "ccg", "language": "en", "split": "train"}
    with_bank = settings.prepare(cfg, **ccg)
    (bank / "data/AUTO/00/wsj_0002.auto").write_text("y")
    settings.tree_fingerprint.cache_clear()
    assert settings.prepare(cfg, **ccg) != with_bank
