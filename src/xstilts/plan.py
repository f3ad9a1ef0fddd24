"""`xstilts plan`: what a config will cost before anything runs.

Per stage: jobs (and those already done in the workdir), training and evaluation tokens,
FLOPs and GPU-hours. Tokens come from the prepared splits where they exist, else from the
shipped tables below (marked `~`: estimates). FLOPs: 6 x N x tokens for training, 2 x N x
tokens for evaluation, N = the encoder's non-embedding parameters (embedding lookups cost no
multiply-adds; heads are negligible). GPU-hours = FLOPs / achieved FLOP/s, from a calibration
file measured on the user's GPU, else the shipped A100/H100 defaults (peak x an assumed model
FLOPs utilisation: estimates). Training is counted to its last step: early stopping can only
make it cheaper, so the training figures are upper bounds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from xstilts import grid
from xstilts import settings as job_settings
from xstilts.config import ConfigError
from xstilts.tasks import MODEL_SHAPES, TASKS

# English training split sizes (SPEC.md sections 2-3, the dataset cards): anli_plus = ANLI
# r1-r3 (162,865) + MNLI (392,702) + SNLI (550,152); CCGbank sections 02-21 ~ 39,604 sentences.
TRAIN_EXAMPLES = {
    "anli_plus": 1_105_719,
    "mnli": 392_702,
    "qqp": 363_846,
    "squad_v2": 130_319,
    "squad_v1": 87_599,
    "hellaswag": 39_905,
    "ccg": 39_604,
    "cosmosqa": 25_262,
    "commonsenseqa": 9_741,
    "pawsx": 49_401,
    "udpos": 21_253,
    "panx": 20_000,
    "tydiqa": 3_696,
    # XTREME-R's training sets: SIQA (lighteval/siqa), COPA-en, Mewsli-X English wikipedia_pairs
    # (google-research mewsli-x.md), LAReQA's SQuAD v1.1 question-sentence pairs
    "siqa": 33_410,
    "copa": 400,
    "mewslix": 167_719,
    "lareqa": 87_599,
}
# Test examples per language (the XTREME paper's table 1, means over languages where they
# differ) and, for BUCC, the hub's gold pairs (test + the dev sample its threshold is tuned on).
EVAL_EXAMPLES = {
    "xnli": 5_010,
    "pawsx": 2_000,
    "udpos": 1_500,
    "panx": 10_000,
    "xquad": 1_190,
    "mlqa": 6_000,
    "tydiqa": 700,
    "bucc": 3_000,
    "tatoeba": 1_000,
    "xcopa": 500,
    "mewslix": 1_330,  # WikiNews test mentions, 14,624 over 11 languages (the candidate pool not counted)
    "lareqa": 1_190,  # XQuAD-R questions per language (the answer pool not counted)
}
# Mean real (non-pad) XLM-R sentencepiece tokens per example, all sides and choices together
# (a multiple-choice example encodes each choice; QA counts context + question): estimates.
MEAN_TOKENS = {
    "anli_plus": 50,
    "mnli": 45,
    "qqp": 30,
    "squad_v2": 190,
    "squad_v1": 190,
    "hellaswag": 240,
    "ccg": 30,
    "cosmosqa": 440,
    "commonsenseqa": 100,
    "xnli": 45,
    "pawsx": 55,
    "udpos": 25,
    "panx": 15,
    "xquad": 200,
    "mlqa": 200,
    "tydiqa": 250,
    "bucc": 60,
    "tatoeba": 30,
    "siqa": 110,
    "copa": 45,
    "xcopa": 45,
    "mewslix": 120,
    "lareqa": 170,
}
# Dense bf16 peaks (vendor data sheets) x assumed model FLOPs utilisation (MFU) of an encoder
# with dynamic padding: 35% training, 25% evaluation (small batches, short sequences). These
# are estimates until benchmarks/throughput.py measures the user's GPU (--calibration).
PEAK_BF16 = {"A100": 312e12, "H100": 989e12}
ASSUMED_MFU = {"train": 0.35, "eval": 0.25}


def default_calibration() -> dict:
    return {
        gpu: {
            "train_flops_per_second": peak * ASSUMED_MFU["train"],
            "eval_flops_per_second": peak * ASSUMED_MFU["eval"],
            "estimate": True,
        }
        for gpu, peak in PEAK_BF16.items()
    }


def read_calibration(path: str) -> dict:
    """A calibration file: {"device": name, "train_flops_per_second": x, "eval_flops_per_second": y}
    measured on the user's GPU; it replaces the shipped estimate of that name (or adds one)."""
    record = json.loads(Path(path).read_text())
    keys = ("device", "train_flops_per_second", "eval_flops_per_second")
    missing = [k for k in keys if k not in record]
    if missing:
        raise ConfigError(f"{path}: calibration file lacks {', '.join(missing)}; it needs {', '.join(keys)}")
    return {record["device"]: {**{k: float(record[k]) for k in keys[1:]}, "estimate": False}}


def non_embedding_params(layers: int, hidden: int, ff: int) -> int:
    """Attention (4 d^2) and feed-forward (2 d ff) weights of every layer."""
    return layers * (4 * hidden * hidden + 2 * hidden * ff)


def model_params(cfg, name: str, workdir: Path) -> int:
    """From the model's config.json in a local mirror, else the shipped table."""
    hub_id = cfg["models"][name]["hub_id"]
    mirror = cfg["hub"]["mirror"]
    if mirror:
        config_file = workdir / mirror / hub_id / "config.json"
        if config_file.exists():
            c = json.loads(config_file.read_text())
            return non_embedding_params(c["num_hidden_layers"], c["hidden_size"], c["intermediate_size"])
    if hub_id in MODEL_SHAPES:
        return non_embedding_params(*MODEL_SHAPES[hub_id])
    raise ConfigError(
        f"plan: no parameter count for models.{name} ({hub_id}): add its (layers, hidden, feed-forward) "
        f"to xstilts.tasks.MODEL_SHAPES, or build the embedded mirror first"
    )


@dataclass
class Split:
    """An example count and real tokens of one split; `estimate` when from the tables."""

    examples: int
    tokens: float
    estimate: bool


def prepared_split(directory: Path) -> Split | None:
    """Rows and real tokens of a prepared split (every *input_ids column, nested lists of
    multiple-choice flattened)."""
    if not (directory / "features").exists():
        return None
    import datasets
    import pyarrow.compute as pc

    features = datasets.load_from_disk(str(directory / "features"))
    tokens = 0
    for col in (c for c in features.column_names if c.endswith("input_ids")):
        values = features.data.column(col)
        while hasattr(values.type, "value_type") and hasattr(values.type.value_type, "value_type"):
            values = pc.list_flatten(values)
        tokens += pc.sum(pc.list_value_length(values)).as_py() or 0
    return Split(len(features), float(tokens), False)


def split_size(cfg, model: str, task: str, language: str, split: str, workdir: Path) -> Split:
    found = prepared_split(workdir / grid.data_dir(cfg, model, task, language, split))
    if found is not None:
        return found
    table = TRAIN_EXAMPLES if split == "train" else EVAL_EXAMPLES
    if task not in table or task not in MEAN_TOKENS:
        raise ConfigError(
            f"plan: no size estimate for {task} {split}: prepare it first or add it to xstilts.plan"
        )
    return Split(table[task], float(table[task] * MEAN_TOKENS[task]), True)


def training_tokens(cfg, model: str, job_settings_: dict, workdir: Path) -> tuple[float, bool]:
    """Tokens a training job reads: epochs over its tasks' (capped) training sets, or
    max_steps x batch x grad_accum examples where that is fewer, at the splits' mean length."""
    t = job_settings_["training"]
    sizes = [split_size(cfg, model, task, lang, "train", workdir) for task, lang in job_settings_["tasks"]]
    examples = tokens = 0.0
    cap = t["max_train_examples"]
    counts = [min(s.examples, cap) if cap else s.examples for s in sizes]
    for s, n in zip(sizes, counts):
        examples += n
        tokens += s.tokens / s.examples * n
    budget = job_settings_.get("budget") or {}
    if budget.get("kind") == "fixed":  # recipes.allocate: one total over the languages
        total = budget.get("examples") or min(counts)
        tokens, examples = tokens / examples * total, float(total)
    seen = t["epochs"] * examples
    if t["max_steps"]:
        seen = min(seen, t["max_steps"] * t["batch_size"] * t["grad_accum"])
    return seen * tokens / examples, any(s.estimate for s in sizes)


@dataclass
class Stage:
    jobs: int = 0
    done: int = 0
    tokens: float = 0.0
    flops: float = 0.0
    estimate: bool = False
    notes: list = field(default_factory=list)


def plan(cfg, workdir: str | Path = ".") -> dict[str, Stage]:
    workdir = Path(workdir)
    stages = {name: Stage() for name in ("prepare", "intermediate", "finetune", "evaluate")}
    params = {m: model_params(cfg, m, workdir) for m in cfg["models"]}
    for job in grid.prepare_jobs(cfg):
        stages["prepare"].jobs += 1
        stages["prepare"].done += (workdir / grid.path(grid.DATA, **job)).exists()
    trainings = [
        ("intermediate", j, job_settings.intermediate(cfg, **j), grid.INTERMEDIATE)
        for j in grid.intermediate_jobs(cfg)
    ]
    trainings += [
        ("finetune", j, job_settings.finetune(cfg, **j), grid.FINETUNE) for j in grid.finetune_jobs(cfg)
    ]
    for stage, job, settings, paths in trainings:
        tokens, estimate = training_tokens(cfg, job["model"], settings, workdir)
        s = stages[stage]
        s.jobs += 1
        s.done += (workdir / grid.path(paths.model, **job)).exists()
        s.tokens += tokens
        s.flops += 6 * params[job["model"]] * tokens
        s.estimate |= estimate
    for group in grid.eval_groups(cfg):
        s = stages["evaluate"]
        s.jobs += 1
        languages = cfg["targets"][group["target"]]
        s.done += all((workdir / grid.path(grid.EVAL, **group, language=lang)).exists() for lang in languages)
        for lang in languages:
            for split in TASKS[group["target"]].eval_splits:
                size = split_size(cfg, group["model"], group["target"], lang, split, workdir)
                cap = cfg["evaluation"]["max_examples"]
                n = min(size.examples, cap) if cap else size.examples
                tokens = size.tokens / size.examples * n
                s.tokens += tokens
                s.flops += 2 * params[group["model"]] * tokens
                s.estimate |= size.estimate
    return stages


def gpu_hours(stages: dict[str, Stage], calibration: dict) -> dict[str, dict[str, float]]:
    """stage -> device -> GPU-hours at that device's achieved FLOP/s."""
    rate = {"intermediate": "train", "finetune": "train", "evaluate": "eval"}
    return {
        name: {
            gpu: s.flops / c[f"{rate[name]}_flops_per_second"] / 3600 if name in rate else 0.0
            for gpu, c in calibration.items()
        }
        for name, s in stages.items()
    }


def report(cfg, workdir: str | Path = ".", calibration_file: str | None = None) -> str:
    stages = plan(cfg, workdir)
    calibration = default_calibration()
    if calibration_file:
        calibration.update(read_calibration(calibration_file))
    hours = gpu_hours(stages, calibration)
    devices = list(calibration)
    mark = lambda est: "~" if est else ""  # noqa: E731
    head = ["stage", "jobs", "done", "tokens", "FLOPs"] + [
        f"GPU-h {d}{' (est.)' if calibration[d]['estimate'] else ''}" for d in devices
    ]
    rows = []
    for name, s in stages.items():
        rows.append(
            [name, str(s.jobs), str(s.done)]
            + (
                [f"{mark(s.estimate)}{s.tokens:.3g}", f"{mark(s.estimate)}{s.flops:.3g}"]
                if s.tokens
                else ["-", "-"]
            )
            + [
                f"{mark(s.estimate or calibration[d]['estimate'])}{hours[name][d]:.3g}" if s.flops else "-"
                for d in devices
            ]
        )
    total_est = any(s.estimate for s in stages.values())
    rows.append(
        ["total", str(sum(s.jobs for s in stages.values())), str(sum(s.done for s in stages.values()))]
        + [
            f"{mark(total_est)}{sum(s.tokens for s in stages.values()):.3g}",
            f"{mark(total_est)}{sum(s.flops for s in stages.values()):.3g}",
        ]
        + [
            f"{mark(total_est or calibration[d]['estimate'])}{sum(h[d] for h in hours.values()):.3g}"
            for d in devices
        ]
    )
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    lines = [
        "  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths)))
        for r in [head, *rows]
    ]
    cells = len(grid.cells(cfg))
    lines += [
        "",
        f"evaluate: one job per trained model x target, {cells} cells; "
        "prepare: CPU tokenization, no GPU time.",
        "~ = estimate (split sizes from xstilts.plan's tables where a split is not prepared yet;"
        f" GPU FLOP/s = bf16 peak x assumed MFU {ASSUMED_MFU['train']:.0%} training,"
        f" {ASSUMED_MFU['eval']:.0%} evaluation, unless --calibration measured it).",
        "FLOPs: 6 x non-embedding parameters x tokens (training, to the last step: an upper bound"
        " under early stopping), 2 x ... (evaluation).",
    ]
    return "\n".join(lines)
