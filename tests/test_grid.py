"""The grid: job counts and keys of the paper's config, without Snakemake."""

from pathlib import Path

from xstilts import config, grid, tasks

REPO = Path(__file__).resolve().parents[1]


def test_paper_grid_counts():
    cfg = config.load(REPO / "config.yaml")
    assert len(grid.intermediate_jobs(cfg)) == 10
    assert len(grid.target_jobs(cfg)) == 66
    assert len(grid.cells(cfg)) == 1782 == 11 * 162
    assert {j["task"] for j in grid.target_jobs(cfg)} == {
        "mnli", "pawsx", "udpos", "panx", "squad_v1", "tydiqa"}


def test_training_keys_are_shared():
    assert tasks.training_task("xquad") == tasks.training_task("mlqa") == "squad_v1"
    assert tasks.training_task("xnli") == "mnli"
    assert tasks.training_task("bucc") is None and tasks.training_task("tatoeba") is None
    assert tasks.training_tasks(["xquad", "mlqa", "tatoeba"]) == ["squad_v1"]


def test_registry_has_18_tasks_with_xtreme_languages():
    assert len(tasks.TASKS) == 18
    assert len(tasks.INTERMEDIATE_TASKS) == 9 and len(tasks.TARGET_TASKS) == 9
    assert sum(len(tasks.TASKS[t].languages) for t in tasks.TARGET_TASKS) == 162
    assert tasks.TATOEBA_CODES["zh"] == "cmn" and tasks.TATOEBA_CODES["tl"] == "tgl"
    assert tasks.tydiqa_prefix("en") == "english-"


def test_tokenized_data_is_shared_between_models_with_one_tokenizer():
    raw = {"models": {"base": {"hub_id": "FacebookAI/xlm-roberta-base"},
                      "large": {"hub_id": "FacebookAI/xlm-roberta-large",
                                "tokenizer": "FacebookAI/xlm-roberta-base"}},
           "recipes": ["none", "mnli"], "targets": {"xnli": ["en", "de"]}}
    cfg = config.validate(raw)
    jobs = grid.prepare_jobs(cfg)
    assert {j["tokenizer"] for j in jobs} == {"FacebookAI__xlm-roberta-base"}
    assert len(jobs) == 4  # mnli train+dev, xnli de+en test
    assert grid.data_root(cfg, "base") == grid.data_root(cfg, "large")


def test_eval_slice_holds_only_its_cell():
    cfg = config.load(REPO / "config.yaml")
    s = grid.eval_settings(cfg, "xlm-roberta-large", "mnli", "xnli", "de", 0)
    assert s["train_task"] == "mnli" and "bucc_k" not in s["evaluation"]
    assert "recipes" not in s and "targets" not in s
    t = grid.target_settings(cfg, "xlm-roberta-large", "none", "squad_v1", 0)
    assert t["encoder"] is None
    t = grid.target_settings(cfg, "xlm-roberta-large", "mnli", "squad_v1", 0)
    assert t["encoder"] == "results/xlm-roberta-large/mnli/seed0/intermediate/model"
