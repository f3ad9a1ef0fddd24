"""`xstilts plan`: the arithmetic on a small config, by hand."""

import json
from pathlib import Path

import datasets
import pytest

from xstilts import cli, config, grid, plan

RAW = {
    "models": {"base": {"hub_id": "FacebookAI/xlm-roberta-base"}},
    "recipes": ["none", "mnli"],
    "targets": {"pawsx": ["de", "fr"]},
    "seeds": [0],
    "intermediate": {"epochs": 1, "max_steps": 100, "batch_size": 8},
    "target": {"epochs": 2, "max_train_examples": 1000, "batch_size": 32},
}
PARAMS = 12 * (4 * 768 * 768 + 2 * 768 * 3072)  # 84,934,656 non-embedding weights


def test_plan_arithmetic_by_hand(tmp_path):
    cfg = config.validate(RAW)
    # what is done: the mnli encoder, and both languages of the baseline's pawsx job
    (tmp_path / grid.encoder_dir("base", "mnli", 0)).mkdir(parents=True)
    for lang in ("de", "fr"):
        cell = tmp_path / grid.path(
            grid.EVAL, model="base", recipe="none", seed=0, target="pawsx", language=lang
        )
        cell.parent.mkdir(parents=True, exist_ok=True)
        cell.write_text("{}")
    # a prepared split is counted, not estimated: 2 examples, 3 + 2 tokens
    de = tmp_path / grid.data_dir(cfg, "base", "pawsx", "de", "test")
    datasets.Dataset.from_dict({"input_ids": [[1, 2, 3], [4, 5]], "label": [0, 1]}).save_to_disk(
        de / "features"
    )

    stages = plan.plan(cfg, tmp_path)
    assert plan.model_params(cfg, "base", tmp_path) == PARAMS == 84_934_656
    # intermediate mnli: min(1 epoch x 392,702, 100 steps x 8) = 800 examples x 45 tokens
    assert (stages["intermediate"].jobs, stages["intermediate"].done) == (1, 1)
    assert stages["intermediate"].tokens == 800 * 45 == 36_000
    assert stages["intermediate"].flops == 6 * PARAMS * 36_000
    # two pawsx fine-tunings: 2 epochs x min(49,401, 1,000) examples x 55 tokens each
    assert (stages["finetune"].jobs, stages["finetune"].done) == (2, 0)
    assert stages["finetune"].tokens == 2 * 2 * 1000 * 55 == 220_000
    assert stages["finetune"].flops == 6 * PARAMS * 220_000
    # two evaluation jobs (none, mnli), each de (prepared: 5 tokens) + fr (2,000 x 55)
    assert (stages["evaluate"].jobs, stages["evaluate"].done) == (2, 1)
    assert stages["evaluate"].tokens == 2 * (5 + 2000 * 55) == 220_010
    assert stages["evaluate"].flops == 2 * PARAMS * 220_010
    assert all(s.estimate for s in stages.values() if s.tokens)
    assert stages["prepare"].jobs == len(grid.prepare_jobs(cfg)) and stages["prepare"].done == 1

    hours = plan.gpu_hours(stages, plan.default_calibration())
    a100_train = 312e12 * 0.35
    assert hours["intermediate"]["A100"] == pytest.approx(6 * PARAMS * 36_000 / a100_train / 3600)
    assert hours["evaluate"]["H100"] == pytest.approx(2 * PARAMS * 220_010 / (989e12 * 0.25) / 3600)


def test_calibration_file_replaces_the_estimate(tmp_path, capsys):
    (tmp_path / "c.yaml").write_text(json.dumps(RAW))
    (tmp_path / "cal.json").write_text(
        json.dumps({"device": "H100", "train_flops_per_second": 1e12, "eval_flops_per_second": 2e12})
    )
    cli.main(
        [
            "plan",
            "--config",
            str(tmp_path / "c.yaml"),
            "--workdir",
            str(tmp_path),
            "--calibration",
            str(tmp_path / "cal.json"),
        ]
    )
    out = capsys.readouterr().out
    assert "GPU-h A100 (est.)" in out and "GPU-h H100" in out and "H100 (est.)" not in out
    intermediate = next(line for line in out.splitlines() if line.startswith("intermediate")).split()
    assert intermediate[-1] == f"~{6 * PARAMS * 36_000 / 1e12 / 3600:.3g}"  # ~ : the tokens are estimates
    (tmp_path / "bad.json").write_text(json.dumps({"device": "H100"}))
    with pytest.raises(config.ConfigError, match="lacks train_flops_per_second, eval_flops_per_second"):
        plan.read_calibration(str(tmp_path / "bad.json"))


def test_unknown_model_is_named_with_the_fix(tmp_path):
    cfg = config.validate({**RAW, "models": {"x": {"hub_id": "org/unknown", "retrieval_layer": 2}}})
    with pytest.raises(config.ConfigError, match="models.x .org/unknown.* xstilts.tasks.MODEL_SHAPES"):
        plan.plan(cfg, tmp_path)


def test_a_fixed_budget_trains_one_total_over_its_languages(tmp_path):
    """budget: fixed splits one total (default: the smallest set) over the languages
    (recipes.allocate); per_language adds each language's set."""
    family = {"family": "language_count", "task": "mnli", "pool": ["de", "es", "fr", "ru"], "k": [4]}
    fixed = {
        **RAW,
        "intermediate": {"epochs": 1, "batch_size": 8},
        "recipes": ["none", {**family, "budget": "fixed"}],
    }
    per_language = {**fixed, "recipes": ["none", {**family, "budget": "per_language"}]}
    assert plan.plan(config.validate(fixed), tmp_path)["intermediate"].tokens == 392_702 * 45
    assert plan.plan(config.validate(per_language), tmp_path)["intermediate"].tokens == 4 * 392_702 * 45


def test_xtreme_r_targets_have_size_estimates(tmp_path):
    """Every XTREME-R training and evaluation task is in the shipped tables (configs/xtreme-r.yaml
    and the studies on it plan before anything is prepared)."""
    xtreme_r = Path(__file__).resolve().parent.parent / "configs" / "xtreme-r.yaml"
    stages = plan.plan(config.load(xtreme_r), tmp_path)
    assert stages["finetune"].jobs == 99 and stages["evaluate"].tokens > 0
