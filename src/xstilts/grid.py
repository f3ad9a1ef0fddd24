"""The grid as pure Python: which jobs a config implies and where every output lives.

cells = model x recipe x target x language x seed. Fine-tunings are keyed by the training
task (xquad and mlqa share one squad_v1 model; xnli trains on mnli); a target trained by a chain
of tasks (xcopa: siqa, then copa) has one job per stage, keyed by the chain so far joined with
"+" (finetune/siqa, then finetune/siqa+copa starting from it), so every consumer of a stage
shares it. Retrieval targets train nothing and read the intermediate encoder (or, under
XTREME-R's protocol, Tatoeba the recipe's SQuAD model). This module is the one home of paths: rules,
stages and the results code take them from here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from xstilts.hub import slug
from xstilts.settings import TATOEBA_SQUAD, chain_from_key, chain_key, find_recipe, tatoeba_encoder
from xstilts.tasks import TASKS

RESULTS = "results"
REPORTS = "reports"
LOGS = "logs"
BASELINE = "none"  # the recipe without intermediate training

DATA = f"{RESULTS}/data/{{tokenizer}}/{{task}}/{{language}}/{{split}}"
RUN = f"{RESULTS}/{{model}}/{{recipe}}/seed{{seed}}"
EVAL = RUN + "/eval/{target}/{language}.json"
# One evaluation job per trained model x target: it loads the model once for all languages.
EVAL_GROUP = RUN + "/eval/{target}"
EVAL_BENCHMARK = EVAL_GROUP + "/benchmark.tsv"
EVAL_LOG = EVAL_GROUP + "/evaluate.log"
RUN_SCORES = RUN + "/scores.parquet"
RUN_COLLECT_LOG = RUN + "/collect.log"
SCORES = f"{RESULTS}/scores.parquet"
STUDIES = f"{RESULTS}/studies"  # each study's aggregates, and the workdir's registry of studies
PREPARE_LOG = f"{LOGS}/prepare/{{tokenizer}}/{{task}}/{{language}}/{{split}}.log"


def location(path: str) -> str:
    """One spelling per directory: Snakemake compares its jobs' input paths as strings, so
    `./resources/hub`, `resources/hub/` and the absolute path of the directory inside the
    workdir (the current directory where Snakemake runs) are all `resources/hub`."""
    path = os.path.normpath(path)
    if os.path.isabs(path):
        inside = os.path.relpath(path)
        if inside.split(os.sep)[0] != os.pardir:
            return inside
    return path


def embedded_markers(mirror: str) -> list[str]:
    """The embedded default's build logs in the mirror (inputs of every job): the hub data,
    then the tiny model."""
    return [f"{location(mirror)}/.xstilts-hub.json", f"{location(mirror)}/.xstilts-model.json"]


def embedded_extra_marker(mirror: str, hub_id: str) -> str:
    """The build log of one of `embedded.extra_models` (its own file: adding a model to the
    build reruns nothing that reads the others)."""
    return f"{location(mirror)}/.xstilts-model-{slug(hub_id)}.json"


def embedded_log(name: str) -> str:
    """The log of an embedded build job (hub, model, model-<slug> of an extra model)."""
    return f"{LOGS}/embedded/{name}.log"


def embedded_inputs(cfg, *hub_ids: str) -> list[str]:
    """What a job that reads these models (or tokenizers) waits for in the embedded build: the
    hub data and the first model, and each named one of `embedded.extra_models`."""
    if not cfg.get("embedded"):
        return []
    mirror = cfg["hub"]["mirror"]
    extra = cfg["embedded"].get("extra_models") or {}
    extras = [embedded_extra_marker(mirror, h) for h in dict.fromkeys(hub_ids) if h in extra]
    return embedded_markers(mirror) + extras


@dataclass(frozen=True)
class TrainingPaths:
    """A training job's directory: the model it writes, its resumable checkpoint, log and
    benchmark (the checkpoint sits beside the output, which Snakemake never deletes)."""

    root: str

    @property
    def model(self) -> str:
        return f"{self.root}/model"

    @property
    def checkpoint(self) -> str:
        return f"{self.root}/checkpoint"

    @property
    def log(self) -> str:
        return f"{self.root}/train.log"

    @property
    def benchmark(self) -> str:
        return f"{self.root}/benchmark.tsv"


INTERMEDIATE = TrainingPaths(RUN + "/intermediate")
FINETUNE = TrainingPaths(RUN + "/finetune/{task}")


@dataclass(frozen=True)
class Cell:
    model: str
    recipe: str
    target: str
    language: str
    seed: int


def path(pattern: str, **job) -> str:
    return pattern.format(**job)


def recipes(cfg) -> list[str]:
    return [r["name"] for r in cfg["recipes"]]


def cells(cfg) -> list[Cell]:
    return [
        Cell(m, r, t, lang, s)
        for m in cfg["models"]
        for r in recipes(cfg)
        for t, langs in cfg["targets"].items()
        for lang in langs
        for s in cfg["seeds"]
    ]


def run_keys(cfg) -> list[dict]:
    """model x recipe x seed: the unit whose cells are collected together."""
    return [
        dict(model=m, recipe=r, seed=s) for m in cfg["models"] for r in recipes(cfg) for s in cfg["seeds"]
    ]


def eval_groups(cfg) -> list[dict]:
    """model x recipe x target x seed: one evaluation job, writing one JSON per language."""
    return [{**j, "target": t} for j in run_keys(cfg) for t in cfg["targets"]]


def evaluation_words(cfg) -> str:
    """The one way to count evaluations: Snakemake's jobs (one per trained model x target, all
    its languages) and the cells they write (one per language)."""
    return f"{len(eval_groups(cfg))} evaluation jobs ({len(cells(cfg))} cells)"


def intermediate_jobs(cfg) -> list[dict]:
    return [j for j in run_keys(cfg) if j["recipe"] != BASELINE]


def training_chain(cfg, target: str) -> tuple[str, ...]:
    """The training chain whose last model a target's cells read (() = the encoder as is)."""
    if target == "tatoeba" and tatoeba_encoder(cfg) == TATOEBA_SQUAD:
        return (TATOEBA_SQUAD,)
    return TASKS[target].training_chain


def finetune_keys(cfg) -> list[str]:
    """Every stage the targets need, each once: the prefixes of their chains (registry order of
    their last task, shorter first)."""
    chains = [training_chain(cfg, t) for t in cfg["targets"]]
    keys = {chain_key(chain[: i + 1]) for chain in chains for i in range(len(chain))}
    order = {name: i for i, name in enumerate(TASKS)}
    return sorted(keys, key=lambda k: ([order[t] for t in chain_from_key(k)][::-1], len(chain_from_key(k))))


def finetune_tasks(cfg) -> list[str]:
    """The English tasks any stage trains on."""
    wanted = {t for key in finetune_keys(cfg) for t in chain_from_key(key)}
    return [n for n in TASKS if n in wanted]


def finetune_jobs(cfg) -> list[dict]:
    keys = finetune_keys(cfg)
    return [{**j, "task": key} for j in run_keys(cfg) for key in keys]


def prepare_jobs(cfg) -> list[dict]:
    """Tokenized splits, once per tokenizer x task x language x split."""
    wanted = set()
    for tok in {slug(m["tokenizer"]) for m in cfg["models"].values()}:
        for r in cfg["recipes"]:
            wanted |= {
                (tok, t["task"], t["language"], split) for t in r["tasks"] for split in ("train", "dev")
            }
        wanted |= {(tok, task, "en", split) for task in finetune_tasks(cfg) for split in ("train", "dev")}
        for target, langs in cfg["targets"].items():
            wanted |= {(tok, target, lang, split) for lang in langs for split in TASKS[target].eval_splits}
            wanted |= {(tok, target, lang, "test") for lang in pool_languages(cfg, target)}
    return [dict(tokenizer=tok, task=t, language=lang, split=sp) for tok, t, lang, sp in sorted(wanted)]


# ---- the inputs of each job ----------------------------------------------------------------


def data_dir(cfg, model: str, task: str, language: str, split: str) -> str:
    tokenizer = slug(cfg["models"][model]["tokenizer"])
    return path(DATA, tokenizer=tokenizer, task=task, language=language, split=split)


def encoder_dir(model: str, recipe: str, seed) -> str | None:
    """The encoder a recipe hands on: its intermediate model, or None for the baseline."""
    if recipe == BASELINE:
        return None
    return path(INTERMEDIATE.model, model=model, recipe=recipe, seed=seed)


def training_data(cfg, model: str, tasks: list) -> dict[str, list[str]]:
    """{"train": [...], "dev": [...]}: one prepared split per (task, language), in order."""
    return {
        split: [data_dir(cfg, model, task, language, split) for task, language in tasks]
        for split in ("train", "dev")
    }


def intermediate_tasks(cfg, recipe: str) -> list[tuple[str, str]]:
    return [(t["task"], t["language"]) for t in find_recipe(cfg, recipe)["tasks"]]


def intermediate_inputs(cfg, model: str, recipe: str) -> dict[str, list[str]]:
    """An intermediate training's prepared splits (the Snakemake rule and `xstilts why`)."""
    return training_data(cfg, model, intermediate_tasks(cfg, recipe))


def finetune_inputs(cfg, model: str, recipe: str, task: str, seed) -> dict:
    """A stage's inputs: its chain's last task (English), and the model it starts from (the
    previous stage or the recipe's encoder; none for the baseline's first stage)."""
    inputs: dict = training_data(cfg, model, [(chain_from_key(task)[-1], "en")])
    start = finetune_start(cfg, model, recipe, task, seed)
    return {**inputs, "encoder": start} if start else inputs


def finetune_start(cfg, model: str, recipe: str, key: str, seed) -> str | None:
    """The model a stage starts from: the chain's previous stage, or the recipe's encoder."""
    chain = chain_from_key(key)
    if len(chain) > 1:
        return path(FINETUNE.model, model=model, recipe=recipe, seed=seed, task=chain_key(chain[:-1]))
    return encoder_dir(model, recipe, seed)


def evaluation_inputs(cfg, model: str, recipe: str, target: str, language: str, seed) -> dict:
    """The prepared splits a cell reads, and the model: the fine-tuned one (the chain's last
    stage), or for retrieval targets the recipe's encoder (the pretrained model for the
    baseline: no input)."""
    task = TASKS[target]
    inputs = {split: data_dir(cfg, model, target, language, split) for split in task.eval_splits}
    chain = training_chain(cfg, target)
    if chain:
        inputs["model"] = path(FINETUNE.model, model=model, recipe=recipe, seed=seed, task=chain_key(chain))
    else:
        encoder = encoder_dir(model, recipe, seed)
        if encoder:
            inputs["model"] = encoder
    if task.pool_languages:
        inputs["pool"] = [data_dir(cfg, model, target, lang, "test") for lang in pool_languages(cfg, target)]
    return inputs


def pool_languages(cfg, target: str) -> tuple[str, ...]:
    """The prepared test splits whose candidates every cell of `target` retrieves from; the
    embedded mirror holds only its world's languages (a non-language pool, e.g. Mewsli-X's
    candidate set, stays)."""
    task = TASKS[target]
    if not cfg.get("embedded"):
        return task.pool_languages
    have = set(cfg["embedded"]["languages"])
    return tuple(lang for lang in task.pool_languages if lang in have or lang not in task.languages)


def evaluation_group_inputs(cfg, model: str, recipe: str, target: str, seed, languages=None) -> dict:
    """An evaluation job's inputs: each split as a list over its languages (the target's, in
    config order, as `eval_outputs`), and the one model they all read."""
    languages = cfg["targets"][target] if languages is None else languages
    cells = [evaluation_inputs(cfg, model, recipe, target, lang, seed) for lang in languages]
    grouped = {split: [c[split] for c in cells] for split in TASKS[target].eval_splits}
    shared = {k: cells[0][k] for k in ("model", "pool") if k in cells[0]}  # one per target
    return {**grouped, **shared}


def target_pattern(pattern: str, target: str, **fixed) -> str:
    """A per-target rule's path pattern: the target (and `fixed`) filled in, model, recipe and
    seed left as wildcards."""
    return path(pattern, **{k: "{" + k + "}" for k in ("model", "recipe", "seed")}, target=target, **fixed)


def eval_block_paths(pattern: str, target: str, block: int, first_language: str) -> str:
    """A per-target rule's log or benchmark: the target's one file for its first block of
    languages, one per further block (named by its first language) where studies sharing
    the workdir split the target's languages (`shared_workdir.language_blocks`)."""
    if block:
        stem, dot, ext = pattern.rpartition(".")
        pattern = f"{stem}-{first_language}{dot}{ext}"
    return target_pattern(pattern, target)


def eval_outputs(target: str, languages) -> list[str]:
    """The cell JSONs one target's evaluation job writes, in the order of its languages."""
    return [target_pattern(EVAL, target, language=lang) for lang in languages]


def run_cells(cfg, model: str, recipe: str, seed) -> list[str]:
    """The cell JSONs of one model x recipe x seed."""
    return [
        path(EVAL, **c.__dict__)
        for c in cells(cfg)
        if (c.model, c.recipe, str(c.seed)) == (model, recipe, str(seed))
    ]


# ---- aggregates: what a config's cells add up to --------------------------------------------


@dataclass(frozen=True)
class Aggregates:
    """Where a config's aggregates live (per-run parquets, the scores table, reports, their
    logs). Cells are what they are, whichever config asks for them, so they stay shared under
    results/<model>/...; aggregates depend on which cells a config has, so a study's
    (`study.name`) go under results/studies/<name>/, reports/studies/<name>/grid/ and
    logs/studies/<name>/, in the layout a config without a study has at the top.
    reports/studies/<name>/ itself holds the study's own analysis
    (xstilts.analysis.studies.workflow_outputs)."""

    results: str = RESULTS
    reports: str = REPORTS
    logs: str = LOGS

    @property
    def run_scores(self) -> str:
        return RUN_SCORES.replace(RESULTS, self.results, 1)

    @property
    def run_collect_log(self) -> str:
        return RUN_COLLECT_LOG.replace(RESULTS, self.results, 1)

    @property
    def scores(self) -> str:
        return f"{self.results}/scores.parquet"

    @property
    def collect_log(self) -> str:
        return f"{self.logs}/collect.log"

    @property
    def costs_log(self) -> str:
        return f"{self.logs}/costs.log"

    def analysis_log(self, name: str) -> str:
        """The log of an analysis rule (tables, typology, figures, a study's)."""
        return f"{self.logs}/analysis/{name}.log"

    @property
    def costs(self) -> str:
        return f"{self.reports}/costs.md"

    @property
    def costs_jobs(self) -> str:
        return f"{self.reports}/costs_jobs.csv"

    def table(self, name: str) -> str:
        """An intermediate table of the analysis (e.g. a study's input)."""
        return f"{self.results}/{name}.csv"


def study_name(cfg) -> str | None:
    return (cfg.get("study") or {}).get("name")


def aggregates(cfg) -> Aggregates:
    name = study_name(cfg)
    if not name:
        return Aggregates()
    return Aggregates(f"{STUDIES}/{name}", f"{REPORTS}/studies/{name}/grid", f"{LOGS}/studies/{name}")


# ---- reports (the analysis commands write these names under an Aggregates.reports) -----------

COSTS = Aggregates().costs
COSTS_JOBS = Aggregates().costs_jobs


def table_outputs(targets, reports: str = REPORTS) -> dict:
    return {
        "gains_md": f"{reports}/gains.md",
        "gains_csv": f"{reports}/gains.csv",
        "best_md": f"{reports}/best_per_target.md",
        "best_csv": f"{reports}/best_per_target.csv",
        "per_target_md": [f"{reports}/targets/{t}.md" for t in targets],
        "per_target_csv": [f"{reports}/targets/{t}.csv" for t in targets],
    }


def typology_outputs(reports: str = REPORTS) -> dict:
    outputs = {
        name: f"{reports}/typology/{name}.csv"
        for name in ("distances", "language_gains", "correlations", "claims")
    }
    return {**outputs, "claims_md": f"{reports}/typology/claims.md"}


def figure_outputs(targets, reports: str = REPORTS) -> dict:
    return {
        "per_target": [f"{reports}/figures/typology_{t}.png" for t in targets],
        "heatmap": f"{reports}/figures/typology_heatmap.png",
    }


def analysis_outputs(targets, reports: str = REPORTS) -> list[str]:
    """Every file of the analysis (tables, typology, figures), for `rule all`."""
    files = []
    for outputs in (
        table_outputs(targets, reports),
        typology_outputs(reports),
        figure_outputs(targets, reports),
    ):
        for value in outputs.values():
            files += value if isinstance(value, list) else [value]
    return files
