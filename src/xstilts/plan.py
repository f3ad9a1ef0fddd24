"""`xstilts plan`: what a config will cost before anything runs.

Per stage: jobs (and those already done in the workdir), training and evaluation tokens,
FLOPs and device-hours. Tokens come from the prepared splits where they exist, else from the
sizes each task declares (`Task.train_examples`, `eval_examples`, `mean_tokens` in
xstilts.tasks; marked `~`: estimates). Each job is priced at what it asks for:

- FLOPs per token: 6 N + 12 L d T for a training step, 2 N + 4 L d T for inference (N the
  encoder's non-embedding parameters, L layers, d hidden, T the padded sequence length:
  PaLM's appendix B); embedding lookups and heads are negligible.
- Tokens are padded tokens: a batch pads to its longest row, so the expected length of the
  longest of `batch_size` rows of a prepared split (none with group_by_length, and none for
  an unprepared split: its mean length from the tables).
- Seconds = FLOPs / the achieved FLOP/s of the job's precision on the device, plus a fixed
  cost per optimizer step (AdamW's pass over every parameter: memory-bound), plus a start-up
  cost per job where measured. Achieved FLOP/s comes from a calibration file measured on the
  user's device (benchmarks/throughput.py --calibration-out), else the shipped A100/H100
  estimates: the precision's dense peak x an assumed model FLOPs utilisation.

`fp32` is PyTorch's default float32: matmuls on the FP32 units, not TF32 tensor cores
(torch.backends.cuda.matmul.allow_tf32 is False by default since PyTorch 1.12,
pytorch/pytorch#76509), so its peak is the FP32 one (A100 19.5, H100 SXM 67 TFLOP/s), 16x
and 15x below dense bf16 (312, 989). Training is counted to its last step: early stopping can
only make it cheaper, so the training figures are upper bounds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from tabulate import tabulate

from xstilts import grid
from xstilts.config import ConfigError
from xstilts.jobs import STAGES, table
from xstilts.pretrained import MODEL_SHAPES, VOCAB
from xstilts.tasks import TASKS

# Dense peaks per precision (vendor data sheets: NVIDIA A100 80GB SXM, H100 SXM) and HBM
# bandwidth, for the shipped estimates.
PEAK_FLOPS = {"A100": {"fp32": 19.5e12, "bf16": 312e12}, "H100": {"fp32": 67e12, "bf16": 989e12}}
MEMORY_BANDWIDTH = {"A100": 2.039e12, "H100": 3.35e12}  # bytes/s
# Assumed model FLOPs utilisation of an encoder with dynamic padding (of the precision's peak):
# 35% training, 25% evaluation (small batches, short sequences). Estimates until
# benchmarks/throughput.py measures the user's device (--calibration).
ASSUMED_MFU = {"train": 0.35, "eval": 0.25}
# Fused AdamW per parameter and step, fp32: reads weight, gradient, both moments (16 bytes),
# writes weight and moments (12 bytes); a step's fixed cost is that traffic over the bandwidth.
ADAMW_BYTES = 28
PRECISIONS = ("fp32", "bf16")


def default_calibration() -> dict:
    """device -> precision -> rates: the shipped estimates (no measured start-up cost)."""
    return {
        gpu: {
            precision: {
                "train_flops_per_second": peak * ASSUMED_MFU["train"],
                "eval_flops_per_second": peak * ASSUMED_MFU["eval"],
                "step_seconds_per_parameter": ADAMW_BYTES / MEMORY_BANDWIDTH[gpu],
                "step_seconds": 0.0,
                "eval_batch_seconds": 0.0,
                "job_seconds": 0.0,
                "loading_seconds": 0.0,
                "estimate": True,
            }
            for precision, peak in peaks.items()
        }
        for gpu, peaks in PEAK_FLOPS.items()
    }


CALIBRATION_KEYS = ("device", "train_flops_per_second", "eval_flops_per_second")
CALIBRATION_OPTIONAL = ("step_seconds", "eval_batch_seconds", "job_seconds", "loading_seconds")


def read_calibration(path: str) -> dict:
    """A calibration file, as benchmarks/throughput.py --calibration-out writes it: {"device",
    "precision" (fp32 or bf16; absent: both), "train_flops_per_second", "eval_flops_per_second",
    and optionally "step_seconds" (fixed cost per optimizer step), "eval_batch_seconds",
    "job_seconds" (start-up and finish), "loading_seconds" (the part an evaluation job forked from
    the warm process pays)} measured on the user's device; it replaces the shipped estimate
    of that device and precision (or adds a device)."""
    record = json.loads(Path(path).read_text())
    missing = [k for k in CALIBRATION_KEYS if k not in record]
    if missing:
        raise ConfigError(
            f"{path}: calibration file lacks {', '.join(missing)}; it needs {', '.join(CALIBRATION_KEYS)}. "
            "Fix: write it with benchmarks/throughput.py --calibration-out FILE"
        )
    precision = record.get("precision")
    if precision not in (None, *PRECISIONS):
        raise ConfigError(f"{path}: precision {precision!r}. Fix: use one of {', '.join(PRECISIONS)}")
    rates = {
        **{k: float(record[k]) for k in CALIBRATION_KEYS[1:]},
        **{k: float(record.get(k, 0.0)) for k in CALIBRATION_OPTIONAL},
        "step_seconds_per_parameter": 0.0,
        "estimate": False,
    }
    return {record["device"]: {p: dict(rates) for p in ([precision] if precision else PRECISIONS)}}


def merge_calibration(calibration: dict, measured: dict) -> dict:
    for device, by_precision in measured.items():
        calibration.setdefault(device, {}).update(by_precision)
    return calibration


def non_embedding_params(layers: int, hidden: int, ff: int) -> int:
    """Attention (4 d^2) and feed-forward (2 d ff) weights of every layer."""
    return layers * (4 * hidden * hidden + 2 * hidden * ff)


@dataclass(frozen=True)
class Shape:
    layers: int
    hidden: int
    ff: int
    vocab: int

    @property
    def params(self) -> int:
        """Non-embedding parameters (the FLOPs' N)."""
        return non_embedding_params(self.layers, self.hidden, self.ff)

    @property
    def total(self) -> int:
        """Every parameter AdamW updates: the layers and the token embeddings."""
        return self.params + self.vocab * self.hidden

    def flops_per_token(self, length: float, train: bool) -> float:
        """6 N + 12 L d T for a training step (PaLM's appendix B), a third of it for inference."""
        flops = 6 * self.params + 12 * self.layers * self.hidden * length
        return flops if train else flops / 3


def model_shape(cfg, name: str, workdir: Path) -> Shape:
    """From the model's config.json in a local mirror, else the shipped table."""
    hub_id = cfg["models"][name]["hub_id"]
    mirror = cfg["hub"]["mirror"]
    if mirror:
        config_file = workdir / mirror / hub_id / "config.json"
        if config_file.exists():
            c = json.loads(config_file.read_text())
            return Shape(c["num_hidden_layers"], c["hidden_size"], c["intermediate_size"], c["vocab_size"])
    if hub_id in MODEL_SHAPES:
        vocab = next(v for k, v in VOCAB.items() if k in hub_id)
        return Shape(*MODEL_SHAPES[hub_id], vocab)
    raise ConfigError(
        f"plan: no parameter count for models.{name} ({hub_id}): add its (layers, hidden, feed-forward) "
        f"to xstilts.pretrained.MODEL_SHAPES, or build the embedded mirror first"
    )


def model_params(cfg, name: str, workdir: Path) -> int:
    return model_shape(cfg, name, workdir).params


@dataclass
class Split:
    """An example count, real tokens and row lengths of one split; `estimate` when from the
    tables (then no lengths: every row has the mean length)."""

    examples: int
    tokens: float
    estimate: bool
    lengths: object = None  # numpy array of tokens per sequence (a choice of a multiple-choice row)
    sequences: int = 1  # sequences per row (choices)

    def padded(self, batch_size: int, grouped: bool = False) -> float:
        """Expected tokens the model processes per row in batches of `batch_size` random rows:
        each sequence padded to the longest of the batch's (order statistics of the lengths).
        Length-grouped batches, and tables without lengths, pad nothing."""
        if self.lengths is None or grouped or not len(self.lengths):
            return self.tokens / self.examples
        import numpy as np

        lengths = np.sort(np.asarray(self.lengths, dtype=float))
        n, k = len(lengths), max(1, batch_size * self.sequences)
        below = (np.arange(n + 1) / n) ** k  # P(max of k draws <= the i-th smallest)
        return float(np.dot(lengths, np.diff(below))) * self.sequences


def prepared_split(directory: Path) -> Split | None:
    """Rows, real tokens and sequence lengths of a prepared split (every *input_ids column,
    nested lists of multiple-choice flattened)."""
    if not (directory / "features").exists():
        return None
    import datasets
    import numpy as np
    import pyarrow.compute as pc

    features = datasets.load_from_disk(str(directory / "features"))
    tokens, lengths, sequences = 0, [], 1
    for col in (c for c in features.column_names if c.endswith("input_ids")):
        values = features.data.column(col)
        while hasattr(values.type, "value_type") and hasattr(values.type.value_type, "value_type"):
            values = pc.list_flatten(values)
        per_sequence = pc.list_value_length(values).to_numpy(zero_copy_only=False)
        tokens += int(per_sequence.sum())
        lengths.append(per_sequence)
        sequences = max(sequences, len(per_sequence) // max(1, len(features)))
    return Split(len(features), float(tokens), False, np.concatenate(lengths) if lengths else None, sequences)


def split_size(cfg, model: str, task: str, language: str, split: str, workdir: Path) -> Split:
    found = prepared_split(workdir / grid.data_dir(cfg, model, task, language, split))
    if found is not None:
        return found
    facts = TASKS[task]
    examples = facts.train_examples if split == "train" else facts.eval_examples
    if examples is None or facts.mean_tokens is None:
        raise ConfigError(
            f"plan: no size estimate for {task} {split}: prepare it first or declare its "
            f"train_examples/eval_examples and mean_tokens in its Task (xstilts.tasks)"
        )
    return Split(examples, float(examples * facts.mean_tokens), True)


@dataclass
class Work:
    """What one job computes: real and padded tokens, optimizer steps (or evaluation
    batches), at which precision; `estimate` when a split size came from the tables."""

    tokens: float = 0.0
    padded: float = 0.0
    flops: float = 0.0
    steps: float = 0.0
    estimate: bool = False
    eval_flops: float = 0.0  # a training job's dev evaluations (early stopping, the final one)
    eval_steps: float = 0.0


def training_work(cfg, model: str, job_settings_: dict, shape: Shape, workdir: Path) -> Work:
    """A training job: epochs over its tasks' (capped) training sets, or max_steps x batch x
    grad_accum examples where that is fewer, each batch padded to its longest row."""
    t = job_settings_["training"]
    sizes = [split_size(cfg, model, task, lang, "train", workdir) for task, lang in job_settings_["tasks"]]
    examples = tokens = padded = 0.0
    cap = t["max_train_examples"]
    counts = [min(s.examples, cap) if cap else s.examples for s in sizes]
    for s, n in zip(sizes, counts):
        examples += n
        tokens += s.tokens / s.examples * n
        padded += s.padded(t["batch_size"], t["group_by_length"]) * n
    budget = job_settings_.get("budget") or {}
    if budget.get("kind") == "fixed":  # recipes.allocate: one total over the languages
        total = budget.get("examples") or min(counts)
        tokens, padded, examples = tokens / examples * total, padded / examples * total, float(total)
    seen = t["epochs"] * examples
    per_step = t["batch_size"] * t["grad_accum"]
    if t["max_steps"]:
        seen = min(seen, t["max_steps"] * per_step)
    length = padded / examples / max(s.sequences for s in sizes)  # the padded sequence length
    work = Work(seen * tokens / examples, seen * padded / examples, 0.0, -(-seen // per_step))
    work.flops = work.padded * shape.flops_per_token(length, train=True)
    work.estimate = any(s.estimate for s in sizes)
    # dev evaluations: every `every` steps with early stopping, and once at the end, in batches
    # of 2 x batch_size; counted where the dev split is prepared (else early stopping's cap)
    es = t["early_stopping"] or {}
    passes = 1 + (work.steps // es["every"] if es else 0)
    for task, lang in job_settings_["tasks"]:
        dev = prepared_split(workdir / grid.data_dir(cfg, model, task, lang, "dev"))
        rows = min(dev.examples, es.get("dev_examples") or dev.examples) if dev else es.get("dev_examples", 0)
        per_row = dev.padded(2 * t["batch_size"]) if dev else (TASKS[task].mean_tokens or 0)
        sequences = dev.sequences if dev else 1
        work.eval_flops += passes * rows * per_row * shape.flops_per_token(per_row / sequences, train=False)
        work.eval_steps += passes * -(-rows // (2 * t["batch_size"]))
    return work


@dataclass
class Job:
    """One job of the plan: its stage, precision, work, whether it is done, its benchmark."""

    stage: str
    precision: str
    work: Work
    shape: Shape
    done: bool
    benchmark: str | None = None
    runtime: float | None = None  # minutes the job asks SLURM for
    warm: bool = False  # an evaluation job forked from the warm process: no imports


@dataclass
class Stage:
    jobs: int = 0
    done: int = 0
    tokens: float = 0.0
    flops: float = 0.0
    estimate: bool = False


def jobs(cfg, workdir: str | Path = ".") -> list[Job]:
    """Every job of the grid (xstilts.jobs) with what it computes (prepare: CPU tokenization,
    no work)."""
    workdir = Path(workdir)
    shapes = {m: model_shape(cfg, m, workdir) for m in cfg["models"]}
    evaluation = cfg["evaluation"]
    out = []
    for job in table(cfg):
        if job.stage == "prepare":
            out.append(
                Job("prepare", "-", Work(), shapes[next(iter(shapes))], (workdir / job.output).exists())
            )
            continue
        if job.stage not in STAGES:  # the embedded build: CPU, seconds
            continue
        model = job.keys["model"]
        shape = shapes[model]
        if job.stage == "evaluate":
            precision, work = evaluation["precision"], Work()
            for cell in job.cells:
                for split in TASKS[job.keys["target"]].eval_splits:
                    size = split_size(cfg, model, job.keys["target"], cell.keys["language"], split, workdir)
                    cap = evaluation["max_examples"]
                    n = min(size.examples, cap) if cap else size.examples
                    padded = size.padded(evaluation["batch_size"]) * n
                    length = padded / n / size.sequences
                    work.tokens += size.tokens / size.examples * n
                    work.padded += padded
                    work.flops += padded * shape.flops_per_token(length, train=False)
                    work.steps += -(-n // evaluation["batch_size"])
                    work.estimate |= size.estimate
            done = all((workdir / cell.output).exists() for cell in job.cells)
        else:
            precision = job.settings["training"]["precision"]
            work = training_work(cfg, model, job.settings, shape, workdir)
            done = (workdir / job.output).exists()
        out.append(
            Job(
                job.stage,
                precision,
                work,
                shape,
                done,
                str(workdir / job.benchmark),
                job.resources["runtime"],
                job.stage == "evaluate" and job.runtime.warm_process,
            )
        )
    return out


def plan(cfg, workdir: str | Path = ".") -> dict[str, Stage]:
    stages = {name: Stage() for name in STAGES}
    for job in jobs(cfg, workdir):
        s = stages[job.stage]
        s.jobs += 1
        s.done += job.done
        s.tokens += job.work.tokens
        s.flops += job.work.flops
        s.estimate |= job.work.estimate
    return stages


def seconds(job: Job, rates: dict) -> float:
    """A job's seconds on a device at its precision's rates: FLOPs at the achieved rate, the
    fixed cost of each optimizer step (or evaluation batch), and the start-up."""
    if job.stage == "prepare":
        return 0.0
    if job.stage == "evaluate":
        start = rates["loading_seconds"] if job.warm else rates["job_seconds"]
        return (
            job.work.flops / rates["eval_flops_per_second"]
            + job.work.steps * rates["eval_batch_seconds"]
            + start
        )
    step = rates["step_seconds"] + rates["step_seconds_per_parameter"] * job.shape.total
    dev = (
        job.work.eval_flops / rates["eval_flops_per_second"]
        + job.work.eval_steps * rates["eval_batch_seconds"]
    )
    return (
        job.work.flops / rates["train_flops_per_second"] + job.work.steps * step + dev + rates["job_seconds"]
    )


def gpu_hours(all_jobs: list[Job], calibration: dict) -> dict[str, dict[str, float]]:
    """stage -> device -> device-hours of its jobs at their precisions' rates."""
    hours = {name: dict.fromkeys(calibration, 0.0) for name in STAGES}
    for job in all_jobs:
        for device, rates in calibration.items():
            if job.stage != "prepare":
                hours[job.stage][device] += seconds(job, rates[job.precision]) / 3600
    return hours


def _measured(job: Job) -> tuple[float, float] | None:
    """(wall, CPU) seconds of a done job from its Snakemake benchmark file."""
    if not job.done or not job.benchmark or not Path(job.benchmark).is_file():
        return None
    import csv

    rows = list(csv.DictReader(Path(job.benchmark).open(), delimiter="\t"))
    if not rows:
        return None
    return float(rows[-1]["s"]), float(rows[-1].get("cpu_time") or 0.0)


def check(all_jobs: list[Job], calibration: dict) -> list[str]:
    """The estimates of the done jobs against their benchmark files, per stage and in total, on
    each measured device (Snakemake's `s`: wall seconds, longer where jobs share the cores;
    its `cpu_time` is sampled and misses short jobs' CPU)."""
    lines = []
    for device, by_precision in calibration.items():
        if all(r["estimate"] for r in by_precision.values()):
            continue
        totals = [0.0, 0.0, 0.0]
        for stage in STAGES[1:]:
            pairs = [
                (seconds(j, by_precision[j.precision]), m)
                for j in all_jobs
                if j.stage == stage and (m := _measured(j)) is not None
            ]
            if not pairs:
                continue
            est, wall, cpu = (sum(x) for x in zip(*((e, m[0], m[1]) for e, m in pairs)))
            totals = [a + b for a, b in zip(totals, (est, wall, cpu))]
            lines.append(_ratio_line(f"{stage}: {len(pairs)} done jobs", device, est, wall, cpu))
        if totals[1]:
            lines.append(_ratio_line("total", device, *totals))
    return lines


def _ratio_line(what: str, device: str, est: float, wall: float, cpu: float) -> str:
    ratios = f"estimate/wall {est / wall:.2f}" if wall else "no wall time"
    ratios += f", estimate/CPU {est / cpu:.2f}" if cpu else ""
    return (
        f"  {what}: estimate {est:.0f} s on {device}; measured {wall:.0f} s wall, {cpu:.0f} s CPU; {ratios}"
    )


def runtime_check(all_jobs: list[Job], calibration: dict) -> list[str]:
    """The SLURM time each training and evaluation job asks for (models.resources) against the
    longest estimate of its stage, per device: a job past its limit is killed (it resumes from
    its checkpoint on each of the profile's retries)."""
    lines = []
    for stage in STAGES[1:]:
        staged = [j for j in all_jobs if j.stage == stage]
        if not staged:
            continue
        parts = []
        for device, by_precision in calibration.items():
            longest = max(staged, key=lambda j: seconds(j, by_precision[j.precision]) / 60 / j.runtime)
            minutes = seconds(longest, by_precision[longest.precision]) / 60
            verdict = (
                "fits"
                if minutes <= longest.runtime
                else "exceeds it: the job resumes from its checkpoint on each retry of the profile "
                "(profiles/slurm: retries 2), or raise the runtime"
            )
            parts.append(f"{device} {minutes:.3g} min ({verdict})")
        asked = sorted({j.runtime for j in staged})
        lines.append(
            f"  {stage}: asks {'/'.join(f'{a:g}' for a in asked)} min per job; longest estimate "
            + ", ".join(parts)
        )
    return lines


def report(cfg, workdir: str | Path = ".", calibration_file: str | None = None) -> str:
    all_jobs = jobs(cfg, workdir)
    stages = plan(cfg, workdir)
    calibration = default_calibration()
    if calibration_file:
        merge_calibration(calibration, read_calibration(calibration_file))
    hours = gpu_hours(all_jobs, calibration)
    devices = list(calibration)
    used = {j.precision for j in all_jobs if j.stage != "prepare"}
    estimated = {d: any(calibration[d][p]["estimate"] for p in used) for d in devices}
    mark = lambda est: "~" if est else ""  # noqa: E731
    head = ["stage", "jobs", "done", "tokens", "FLOPs"] + [
        f"hours {d}{' (est.)' if estimated[d] else ''}" for d in devices
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
            + [f"{mark(s.estimate or estimated[d])}{hours[name][d]:.3g}" if s.flops else "-" for d in devices]
        )
    total_est = any(s.estimate for s in stages.values())
    rows.append(
        ["total", str(sum(s.jobs for s in stages.values())), str(sum(s.done for s in stages.values()))]
        + [
            f"{mark(total_est)}{sum(s.tokens for s in stages.values()):.3g}",
            f"{mark(total_est)}{sum(s.flops for s in stages.values()):.3g}",
        ]
        + [f"{mark(total_est or estimated[d])}{sum(h[d] for h in hours.values()):.3g}" for d in devices]
    )
    align = ("left",) + ("right",) * (len(head) - 1)
    lines = tabulate([head, *rows], tablefmt="plain", colalign=align, disable_numparse=True).splitlines()
    precisions = ", ".join(
        f"{stage} {'/'.join(sorted({j.precision for j in all_jobs if j.stage == stage}))}"
        for stage in STAGES[1:]
        if any(j.stage == stage for j in all_jobs)
    )
    lines += [
        "",
        f"evaluate: {grid.evaluation_words(cfg)}; prepare: CPU tokenization, no device time.",
        f"precision: {precisions} (fp32 = PyTorch's default float32, no TF32: A100 19.5, H100 67"
        " TFLOP/s peak; bf16: 312, 989 dense).",
        "~ = estimate (split sizes the task registry declares where a split is not prepared yet;"
        f" device FLOP/s = the precision's peak x assumed MFU {ASSUMED_MFU['train']:.0%} training,"
        f" {ASSUMED_MFU['eval']:.0%} evaluation, and AdamW's {ADAMW_BYTES} bytes per parameter per"
        " step over the memory bandwidth, unless --calibration measured the device).",
        "FLOPs: (6 N + 12 L d T) x padded tokens (training, to the last step: an upper bound under"
        " early stopping), (2 N + 4 L d T) x ... (evaluation); start-up not counted unless measured.",
        "SLURM time per job (models.resources) vs the estimates:",
        *runtime_check(all_jobs, calibration),
    ]
    measured = check(all_jobs, calibration)
    if measured:
        lines += ["measured (done jobs' benchmark.tsv) vs estimate:", *measured]
    return "\n".join(lines)
