"""The jobs of a config's grid, each built once: what it is (stage and keys), what it writes, the
file that records its settings, what it reads (as Snakemake unpacks it), its settings (the slice
Snakemake compares), its runtime record, log, benchmark and resources.

The rules' input functions and params, `xstilts show/why` (xstilts.explain), the studies
registry (xstilts.shared_workdir) and `xstilts plan` all read these jobs; none derives one itself.
`xstilts.grid` enumerates the grid and names the paths, `xstilts.settings` builds each slice.

An evaluation job is one per model x recipe x target x seed: it loads the model once and writes
one cell JSON per language, so it carries its cells, each a job of its own (the cell's output,
inputs and settings, as `xstilts why` compares them). Where studies sharing a workdir split a
target's languages into blocks (`shared_workdir.language_blocks`), each block's rule reads the
job of its languages (`Jobs.get(..., languages=...)`).

A new kind of job: a builder here (keys -> Job, from grid's paths and a settings function), a
line in `table`, and its rule reading `Jobs.get` (workflow/rules/common.smk's helpers).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field

from xstilts import devices, grid, settings
from xstilts.hub import slug
from xstilts.settings import Runtime

STAGES = ("prepare", "intermediate", "finetune", "evaluate")


@dataclass(frozen=True)
class Job:
    stage: str  # one of STAGES, or embedded-hub / embedded-model / embedded-extra
    keys: dict  # the rule's wildcards (an evaluation cell's: with its target and language)
    output: str  # an evaluation job's: its target's directory, which holds its cells
    record: str | None  # the file in `output` that records the settings (a cell: itself)
    inputs: dict  # name -> path or list of paths, as the rule unpacks them
    settings: dict  # what decides the output: the slice Snakemake compares
    runtime: Runtime = field(default_factory=Runtime)
    log: str | None = None
    benchmark: str | None = None
    resources: dict = field(default_factory=dict)  # threads, gpu, mem_mb, runtime (minutes)
    cells: tuple[Job, ...] = ()  # an evaluation job's, one per language

    @property
    def paths(self) -> list[str]:
        """Every input path (the grid's, not the embedded build's markers)."""
        return [
            p
            for name, value in self.inputs.items()
            if name != "embedded"
            for p in (value if isinstance(value, list) else [value])
        ]

    @property
    def runtime_args(self) -> str:
        """The job's runtime flags: where the data lies, the optional model inputs, and for an
        evaluation job its batch size and the warm process (a derived param of the rules)."""
        evaluation = self.stage == "evaluate"
        optional = (
            {"model": "--model", "dev": "--dev-data", "pool": "--pool"}
            if evaluation
            else {"encoder": "--encoder"}
        )
        found = {"--mirror": self.runtime.mirror, "--ccgbank": self.runtime.ccgbank}
        found.update({f: self.inputs[k] for k, f in optional.items() if k in self.inputs})
        if evaluation:
            found["--batch-size"] = self.runtime.eval_batch_size
        parts = [
            f"{flag} {' '.join(shlex.quote(str(x)) for x in (v if isinstance(v, list) else [v]))}"
            for flag, v in found.items()
            if v
        ]
        if evaluation and self.runtime.warm_process:
            parts.append("--warm")
        return " ".join(parts)


def _for_model(cfg: dict, model: str) -> list[str]:
    """The embedded build's logs a job of this model waits for (none without embedded)."""
    m = cfg["models"][model]
    return grid.embedded_inputs(cfg, m["hub_id"], m.get("tokenizer") or m["hub_id"])


# ---- one builder per stage -------------------------------------------------------------------


def prepare(cfg: dict, tokenizer: str, task: str, language: str, split: str) -> Job:
    keys = dict(tokenizer=tokenizer, task=task, language=language, split=split)
    # a prepare job waits for the model whose tokenizer it uses (`tokenizer` is its slug)
    extra = (cfg["embedded"] or {}).get("extra_models", {})
    return Job(
        "prepare",
        keys,
        grid.path(grid.DATA, **keys),
        "info.json",
        {"embedded": grid.embedded_inputs(cfg, *(h for h in extra if slug(h) == tokenizer))},
        settings.prepare(cfg, **keys),
        Runtime.of(cfg),
        grid.path(grid.PREPARE_LOG, **keys),
    )


def _training(cfg: dict, stage: str, slice_of, paths: grid.TrainingPaths, inputs: dict, **keys) -> Job:
    """A training job: its model directory (which holds training.json), log, benchmark, and the
    model's training resources; `slice_of` builds its settings (settings.intermediate, ...)."""
    model = keys["model"]
    r = cfg["models"][model]["resources"]
    return Job(
        stage,
        keys,
        grid.path(paths.model, **keys),
        "training.json",
        {**inputs, "embedded": _for_model(cfg, model)},
        slice_of(cfg, **keys),
        Runtime.of(cfg),
        grid.path(paths.log, **keys),
        grid.path(paths.benchmark, **keys),
        {"threads": r["cpus"], "gpu": r["gpus"], "mem_mb": r["train_mem_mb"], "runtime": r["train_runtime"]},
    )


def intermediate(cfg: dict, model: str, recipe: str, seed) -> Job:
    inputs = grid.intermediate_inputs(cfg, model, recipe)
    keys = dict(model=model, recipe=recipe, seed=seed)
    return _training(cfg, "intermediate", settings.intermediate, grid.INTERMEDIATE, inputs, **keys)


def finetune(cfg: dict, model: str, recipe: str, task: str, seed) -> Job:
    """`task`: the stage's key, its chain so far (settings.finetune)."""
    inputs = grid.finetune_inputs(cfg, model, recipe, task, seed)
    keys = dict(model=model, recipe=recipe, seed=seed, task=task)
    return _training(cfg, "finetune", settings.finetune, grid.FINETUNE, inputs, **keys)


def cell(cfg: dict, model: str, recipe: str, target: str, language: str, seed) -> Job:
    """One cell of an evaluation job: its JSON, which records its own settings."""
    keys = dict(model=model, recipe=recipe, target=target, language=language, seed=seed)
    return Job(
        "evaluate",
        keys,
        grid.path(grid.EVAL, **keys),
        None,
        grid.evaluation_inputs(cfg, **keys),
        settings.evaluate(cfg, **keys),
        Runtime.of(cfg),
    )


def evaluate(
    cfg: dict, model: str, recipe: str, target: str, seed, languages=None, block: int = 0, cells: bool = True
) -> Job:
    """An evaluation job: its languages (the target's, or a block of them: its log and
    benchmark named by `block`), their splits as lists in that order, and the one model; its
    cells unless `cells` is false (the rules never read them)."""
    languages = list(cfg["targets"][target] if languages is None else languages)
    keys = dict(model=model, recipe=recipe, seed=seed, target=target)
    resources = cfg["models"][model]["resources"]
    inputs = grid.evaluation_group_inputs(cfg, model, recipe, target, seed, languages)
    return Job(
        "evaluate",
        keys,
        grid.path(grid.EVAL_GROUP, **keys),
        None,
        {**inputs, "embedded": _for_model(cfg, model)},
        settings.evaluate_group(cfg, model, recipe, target, seed),
        Runtime.of(cfg),
        grid.path(grid.eval_block_paths(grid.EVAL_LOG, target, block, languages[0]), **keys),
        grid.path(grid.eval_block_paths(grid.EVAL_BENCHMARK, target, block, languages[0]), **keys),
        {
            "threads": 1,
            # one GPU at most, whatever the model trains on
            "gpu": devices.held_slots("evaluate", resources["gpus"]),
            "mem_mb": resources["eval_mem_mb"],
            # eval_runtime is per language: the job evaluates them one after another
            "runtime": len(languages) * resources["eval_runtime"],
        },
        tuple(cell(cfg, model, recipe, target, lang, seed) for lang in languages) if cells else (),
    )


def embedded(cfg: dict) -> list[Job]:
    """The embedded build (none without it): the hub data, the first model, and each of
    `embedded.extra_models` (its own job: adding one reruns nothing that reads the others).
    Each writes its build log into the mirror."""
    if not cfg["embedded"]:
        return []
    mirror = cfg["hub"]["mirror"]
    hub, model = grid.embedded_markers(mirror)
    jobs = [
        Job("embedded-hub", {}, hub, None, {}, settings.embedded_hub(cfg), log=grid.embedded_log("hub")),
        Job(
            "embedded-model",
            {},
            model,
            None,
            {"hub": hub},
            settings.embedded_model(cfg),
            log=grid.embedded_log("model"),
        ),
    ]
    for hub_id in cfg["embedded"]["extra_models"]:
        extra = slug(hub_id)
        jobs.append(
            Job(
                "embedded-extra",
                {"extra": extra},
                grid.embedded_extra_marker(mirror, hub_id),
                None,
                {"hub": hub},
                settings.embedded_extra_model(cfg, hub_id),
                log=grid.embedded_log(f"model-{extra}"),
            )
        )
    return jobs


def table(cfg: dict, cells: bool = True) -> list[Job]:
    """Every job of the grid in run order (inputs first): the embedded build, prepared splits,
    intermediate trainings, fine-tunings, evaluation jobs (with their cells unless `cells` is
    false: the rules leave them out, ~10,000 cell settings at every parse of the paper grid)."""
    jobs = embedded(cfg)
    jobs += [prepare(cfg, **j) for j in grid.prepare_jobs(cfg)]
    jobs += [intermediate(cfg, **j) for j in grid.intermediate_jobs(cfg)]
    jobs += [finetune(cfg, **j) for j in grid.finetune_jobs(cfg)]
    jobs += [evaluate(cfg, **g, cells=cells) for g in grid.eval_groups(cfg)]
    return jobs


def benchmarks(jobs: list[Job]) -> list[dict]:
    """Each training and evaluation job's benchmark file with what the job was, for the cost
    accounting (results.costs); an evaluation job's `blocks`: the files it has where studies
    split its target's languages into blocks (grid.eval_block_paths)."""
    found = []
    for job in jobs:
        if job.stage in ("intermediate", "finetune"):
            task = job.keys.get("task", "-")
            found.append(
                {**job.keys, "stage": job.stage, "task": task, "language": "-", "path": job.benchmark}
            )
        elif job.stage == "evaluate":
            target = job.keys["target"]
            blocks = [
                grid.path(
                    grid.eval_block_paths(grid.EVAL_BENCHMARK, target, 1, c.keys["language"]), **job.keys
                )
                for c in job.cells
            ]
            # one job evaluates all the target's languages
            keys = {k: job.keys[k] for k in ("model", "recipe", "seed")}
            found.append(
                {
                    **keys,
                    "stage": "evaluate",
                    "task": target,
                    "language": "-",
                    "path": job.benchmark,
                    "blocks": blocks,
                }
            )
    return found


def recorded(jobs: list[Job], cfg: dict) -> list[Job]:
    """The outputs that record their settings, in run order: prepared splits, trainings and
    cells (in grid.cells order: model, recipe, target, language, seed)."""
    found = [j for j in jobs if j.stage in STAGES and j.stage != "evaluate"]
    cells = {tuple(c.keys.values()): c for j in jobs if j.stage == "evaluate" for c in j.cells}
    return found + [cells[(c.model, c.recipe, c.target, c.language, c.seed)] for c in grid.cells(cfg)]


def _index_key(stage: str, keys: dict) -> tuple:
    return (stage, *sorted((k, str(v)) for k, v in keys.items()))


class Jobs:
    """A config's jobs, built on first use and looked up by stage and wildcards (the rules'
    input functions and params ask for their job's)."""

    def __init__(self, cfg: dict):
        self.cfg = cfg
        self._jobs: list[Job] | None = None
        self._index: dict[tuple, Job] = {}

    @property
    def all(self) -> list[Job]:
        if self._jobs is None:
            self._jobs = table(self.cfg, cells=False)  # the rules read no cell
            self._index = {_index_key(j.stage, j.keys): j for j in self._jobs}
        return self._jobs

    def get(self, stage: str, languages=None, block: int = 0, **keys) -> Job:
        """The job of `stage` with these keys (wildcards); an evaluation block: its languages."""
        self.all  # noqa: B018 (builds the index)
        key = _index_key(stage, keys)
        if languages is not None and (block or list(languages) != self.cfg["targets"][keys["target"]]):
            key = (*key, tuple(languages), block)  # a block of the target's languages: built once
            if key not in self._index:
                self._index[key] = evaluate(self.cfg, languages=languages, block=block, cells=False, **keys)
        return self._index[key]
