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
    "finetune": {"epochs": 2, "max_train_examples": 1000, "batch_size": 32},
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
    attention = 12 * 12 * 768  # 12 L d: a training token's attention FLOPs per unit of length
    # intermediate mnli: min(1 epoch x 392,702, 100 steps x 8) = 800 examples x 45 tokens (the
    # tables' mean: no padding counted for a split not prepared)
    assert (stages["intermediate"].jobs, stages["intermediate"].done) == (1, 1)
    assert stages["intermediate"].tokens == 800 * 45 == 36_000
    assert stages["intermediate"].flops == 36_000 * (6 * PARAMS + attention * 45)
    # two pawsx fine-tunings: 2 epochs x min(49,401, 1,000) examples x 55 tokens each
    assert (stages["finetune"].jobs, stages["finetune"].done) == (2, 0)
    assert stages["finetune"].tokens == 2 * 2 * 1000 * 55 == 220_000
    assert stages["finetune"].flops == 220_000 * (6 * PARAMS + attention * 55)
    # two evaluation jobs (none, mnli), each de (prepared: rows of 3 and 2 tokens, batches of
    # 64 pad both to ~3) + fr (2,000 x 55); inference is a third of a training token's FLOPs
    assert (stages["evaluate"].jobs, stages["evaluate"].done) == (2, 1)
    assert stages["evaluate"].tokens == 2 * (5 + 2000 * 55) == 220_010
    de = 2 * 3 * (2 * PARAMS + attention / 3 * 3)
    fr = 2000 * 55 * (2 * PARAMS + attention / 3 * 55)
    assert stages["evaluate"].flops == pytest.approx(2 * (de + fr))
    assert all(s.estimate for s in stages.values() if s.tokens)
    assert stages["prepare"].jobs == len(grid.prepare_jobs(cfg)) and stages["prepare"].done == 1

    jobs = plan.jobs(cfg, tmp_path)
    hours = plan.gpu_hours(jobs, plan.default_calibration())
    # fp32 (the default): PyTorch's float32 matmuls, the FP32 peak; each of the 100 steps also
    # moves AdamW's 28 bytes per parameter (layers and 250,002 x 768 embeddings)
    a100_fp32 = 19.5e12 * 0.35
    adamw = 28 * (PARAMS + 250_002 * 768) / 2.039e12
    assert hours["intermediate"]["A100"] == pytest.approx(
        (36_000 * (6 * PARAMS + attention * 45) / a100_fp32 + 100 * adamw) / 3600
    )
    assert hours["evaluate"]["H100"] == pytest.approx(2 * (de + fr) / (67e12 * 0.25) / 3600)


def test_precision_batch_size_and_length_enter_the_estimate(tmp_path):
    """bf16 runs on the tensor cores' peak, fp32 (PyTorch's default, no TF32) on the FP32 one; a
    smaller batch pays the optimizer step more often; longer rows pay attention's 12 L d T."""
    hours = {}
    for precision in ("fp32", "bf16"):
        cfg = config.validate({**RAW, "intermediate": {**RAW["intermediate"], "precision": precision}})
        hours[precision] = plan.gpu_hours(plan.jobs(cfg, tmp_path), plan.default_calibration())[
            "intermediate"
        ]
    assert hours["fp32"]["A100"] > 5 * hours["bf16"]["A100"] and hours["fp32"]["H100"] > hours["bf16"]["H100"]
    per_token = {}
    for batch in (4, 32):
        cfg = config.validate(
            {**RAW, "intermediate": {"epochs": 1, "max_steps": 800 // batch, "batch_size": batch}}
        )
        jobs = plan.jobs(cfg, tmp_path)
        assert plan.plan(cfg, tmp_path)["intermediate"].tokens == 800 * 45  # the same examples
        per_token[batch] = plan.gpu_hours(jobs, plan.default_calibration())["intermediate"]["A100"]
    adamw = 28 * (PARAMS + 250_002 * 768) / 2.039e12  # seconds per optimizer step on an A100
    assert (per_token[4] - per_token[32]) * 3600 == pytest.approx((200 - 25) * adamw)  # 200 steps, not 25
    shape = plan.model_shape(config.validate(RAW), "base", tmp_path)
    assert shape.flops_per_token(384, train=True) > shape.flops_per_token(128, train=True)


def test_padding_is_the_expected_longest_row_of_a_batch():
    """A batch pads to its longest row: E[max] over rows drawn at random (with replacement);
    length-grouped batches and the tables' mean lengths pad nothing."""
    import numpy as np

    split = plan.Split(2, 4.0, False, np.array([1, 3]))
    assert split.padded(1) == pytest.approx(2.0)  # one row: no padding
    assert split.padded(2) == pytest.approx(1 * 0.25 + 3 * 0.75)  # max of 2 draws is 1 only if both are
    assert split.padded(2, grouped=True) == 2.0
    assert plan.Split(10, 450.0, True).padded(32) == 45.0


def plan_with_calibration(tmp_path, capsys, rates: dict) -> str:
    """`xstilts plan` of RAW in tmp_path with this calibration file; its output."""
    (tmp_path / "c.yaml").write_text(json.dumps(RAW))
    (tmp_path / "cal.json").write_text(json.dumps(rates))
    args = ["--config", tmp_path / "c.yaml", "--workdir", tmp_path, "--calibration", tmp_path / "cal.json"]
    cli.main(["plan", *map(str, args)])
    return capsys.readouterr().out


def test_calibration_file_replaces_the_estimate(tmp_path, capsys):
    out = plan_with_calibration(
        tmp_path, capsys, {"device": "H100", "train_flops_per_second": 1e12, "eval_flops_per_second": 2e12}
    )
    assert "hours A100 (est.)" in out and "hours H100" in out and "H100 (est.)" not in out
    intermediate = next(line for line in out.splitlines() if line.startswith("intermediate")).split()
    flops = 36_000 * (6 * PARAMS + 12 * 12 * 768 * 45)
    assert intermediate[-1] == f"~{flops / 1e12 / 3600:.3g}"  # ~ : the tokens are estimates
    assert "evaluate: 2 evaluation jobs (4 cells)" in out and "precision: intermediate fp32" in out
    (tmp_path / "bad.json").write_text(json.dumps({"device": "H100"}))
    with pytest.raises(config.ConfigError, match="lacks train_flops_per_second, eval_flops_per_second"):
        plan.read_calibration(str(tmp_path / "bad.json"))
    # a calibration of one precision replaces only that one
    (tmp_path / "bf16.json").write_text(
        json.dumps(
            {
                "device": "A100",
                "precision": "bf16",
                "train_flops_per_second": 1e14,
                "eval_flops_per_second": 1e14,
            }
        )
    )
    merged = plan.merge_calibration(
        plan.default_calibration(), plan.read_calibration(str(tmp_path / "bf16.json"))
    )
    assert not merged["A100"]["bf16"]["estimate"] and merged["A100"]["fp32"]["estimate"]


def test_plan_compares_done_jobs_with_their_benchmarks(tmp_path, capsys):
    """With a calibration, the done jobs' estimates against Snakemake's benchmark files (the
    check of the estimate on the device it was calibrated on), and the SLURM time each asks."""
    cfg = config.validate(RAW)
    model = tmp_path / grid.encoder_dir("base", "mnli", 0)
    model.mkdir(parents=True)
    (model.parent / "benchmark.tsv").write_text("s\th:m:s\tcpu_time\n120.0\t0:02:00\t100.0\n")
    rates = {
        "device": "H100",
        "train_flops_per_second": 1e12,
        "eval_flops_per_second": 2e12,
        "job_seconds": 5,
    }
    out = plan_with_calibration(tmp_path, capsys, rates)
    estimate = 36_000 * (6 * PARAMS + 12 * 12 * 768 * 45) / 1e12 + 5
    line = next(x for x in out.splitlines() if x.strip().startswith("intermediate: 1 done jobs"))
    assert f"estimate {estimate:.0f} s on H100" in line and f"estimate/wall {estimate / 120:.2f}" in line
    assert "intermediate: asks 720 min per job" in out and len(plan.jobs(cfg, tmp_path)) > 0


def test_paper_config_runtime_request_against_the_estimate():
    """config.yaml asks 1,440 minutes per training job; its longest intermediate training (fp32,
    batch 4 on ANLI+) is estimated past that on an A100: the plan says it resumes on a retry."""
    cfg = config.load(Path(__file__).resolve().parent.parent / "config.yaml")
    lines = plan.runtime_check(plan.jobs(cfg, "/nonexistent"), plan.default_calibration())
    intermediate = next(x for x in lines if x.strip().startswith("intermediate"))
    assert (
        "asks 1440 min" in intermediate
        and "A100" in intermediate
        and "resumes from its checkpoint" in intermediate
    )


def test_unknown_model_is_named_with_the_fix(tmp_path):
    cfg = config.validate({**RAW, "models": {"x": {"hub_id": "org/unknown", "retrieval_layer": 2}}})
    with pytest.raises(config.ConfigError, match="models.x .org/unknown.* xstilts.pretrained.MODEL_SHAPES"):
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
