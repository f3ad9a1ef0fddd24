"""The settings of each job: the slice of the validated config that decides its output.

Snakemake compares a job's settings (sorted JSON) to rerun it exactly when they change, so a
slice holds what decides the result and nothing else: not where the hub mirror or CCGbank
lies (a location is not a setting; what is there is, see `data_revision`), not the
evaluation batch size (it does not change a score on CPU).

Training settings stack in layers, highest last:
  x-training-defaults in the schema  <  the task registry (docs/science.md section 4)
  <  the phase block (`intermediate` / `finetune`)  <  `tasks.<task>`  <  the recipe's `training`.
A multi-task recipe takes from the registry and `tasks.<task>` layers only the keys its tasks
agree on. Nested blocks (`lora`, `early_stopping`) merge key by key, and a partial one takes
the schema's defaults for the keys it leaves out.
"""

from __future__ import annotations

import copy
import functools
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from xstilts import config, layouts, recipes
from xstilts.hub import slug
from xstilts.tasks import TASKS, training_task

DATA_KEYS = config.DATA_KEYS


def training_defaults(phase: str) -> dict:
    root = config.schema()
    layers = root["x-training-defaults"]
    defaults = copy.deepcopy({**layers["common"], **layers.get(phase, {})})
    config.fill_defaults(defaults, root["$defs"]["training"], root)  # lora, early_stopping keys
    return defaults


def _stack(*layers: dict) -> dict:
    merged: dict = {}
    for layer in layers:
        for key, value in layer.items():
            old = merged.get(key)
            merged[key] = {**old, **value} if isinstance(old, dict) and isinstance(value, dict) else value
    return merged


def _agreed(layers: list[dict]) -> dict:
    """The training keys that every task's layer sets to the same value."""
    if not layers:
        return {}
    return {
        k: v
        for k, v in layers[0].items()
        if k not in DATA_KEYS and all(k in other and other[k] == v for other in layers[1:])
    }


def finetune_defaults(train_task: str) -> dict:
    """Target-training defaults are declared on the targets (xnli's apply to training on mnli;
    xcopa's to every stage of its chain, siqa and copa)."""
    return next(t.defaults for t in TASKS.values() if t.role == "target" and train_task in t.training_chain)


CHAIN_SEP = "+"
TATOEBA_SQUAD = "squad_v1"  # XTREME-R scores Tatoeba with the SQuAD v1.1 fine-tuned model


def chain_key(chain) -> str:
    """A training chain as the finetune directory's name: its tasks joined with '+'."""
    return CHAIN_SEP.join(chain)


def chain_from_key(key: str) -> list[str]:
    """The training chain a finetune directory's name holds (chain_key's inverse)."""
    return key.split(CHAIN_SEP)


def tatoeba_encoder(cfg: dict) -> str:
    """What Tatoeba embeds with: evaluation.tatoeba_encoder, else the benchmark's protocol
    (XTREME-R: the SQuAD v1.1 fine-tuned model, run_tatoeba.sh; XTREME and X-STILTs: the
    intermediate encoder as is)."""
    chosen = cfg["evaluation"].get("tatoeba_encoder")
    if chosen:
        return chosen
    return TATOEBA_SQUAD if cfg.get("benchmark") == "xtreme-r" else "intermediate"


def intermediate_layers(cfg: dict, recipe: dict) -> list[tuple[str, dict]]:
    """(where, values) of each layer, lowest first: `xstilts show` names the winning one."""
    tasks = [t["task"] for t in recipe["tasks"]]
    names = ",".join(dict.fromkeys(tasks))
    return [
        ("default", training_defaults("intermediate")),
        (f"registry:{names}", _agreed([TASKS[t].defaults for t in tasks])),
        ("intermediate", cfg["intermediate"]),
        (f"tasks.{names}", _agreed([cfg["tasks"].get(t, {}) for t in tasks])),
        (f"recipes.{recipe['name']}.training", recipe["training"]),
    ]


def finetune_layers(cfg: dict, train_task: str) -> list[tuple[str, dict]]:
    return [
        ("default", training_defaults("finetune")),
        (f"registry:{train_task}", _agreed([finetune_defaults(train_task)])),
        ("finetune", cfg["finetune"]),
        (f"tasks.{train_task}", _agreed([cfg["tasks"].get(train_task, {})])),
    ]


def intermediate_training(cfg: dict, recipe: dict) -> dict:
    return _stack(*(values for _, values in intermediate_layers(cfg, recipe)))


def finetune_training(cfg: dict, train_task: str) -> dict:
    return _stack(*(values for _, values in finetune_layers(cfg, train_task)))


def data(cfg: dict, task: str) -> dict:
    """What decides how a task's text is tokenized."""
    merged = {**TASKS[task].defaults, **cfg["tasks"].get(task, {})}
    settings = {k: merged[k] for k in DATA_KEYS if k in merged}
    cap = cfg["data"]["max_length"]
    if cap and "max_length" in settings:
        settings["max_length"] = min(settings["max_length"], cap)
        if "doc_stride" in settings:
            settings["doc_stride"] = min(settings["doc_stride"], cap // 2)
    for option in TASKS[task].options:
        settings[option] = cfg["hub"][option]
    if TASKS[task].format == "extractive_qa":
        settings["qa_windows"] = cfg["data"]["qa_windows"]
    return settings


def model_record(cfg: dict, name: str) -> dict:
    m = cfg["models"][name]
    return {"hub_id": m["hub_id"], "tokenizer": m["tokenizer"], "retrieval_layer": m["retrieval_layer"]}


def find_recipe(cfg: dict, name: str) -> dict:
    """A recipe by name, written out or generated by a family (config.validate expands them)."""
    found = next((r for r in cfg["recipes"] if r["name"] == name), None)
    if found is None:
        known = " ".join(r["name"] for r in cfg["recipes"])
        raise KeyError(f"no recipe {name!r} in the config; it has: {known}")
    return found


def local_source(cfg: dict, task: str, language: str) -> dict | None:
    """The config's local dataset for a task in a language (`sources`), if it names one."""
    return recipes.local_sources(cfg, task).get(language)


def tokenizer_id(cfg: dict, tokenizer_slug: str) -> str:
    return next(m["tokenizer"] for m in cfg["models"].values() if slug(m["tokenizer"]) == tokenizer_slug)


@functools.cache
def tree_fingerprint(root: str) -> str:
    """Names and sizes of the files under a directory: cheap enough for every parse."""
    digest = hashlib.sha256()
    for path in sorted(Path(root).rglob("*")):
        if path.is_file():
            digest.update(f"{path.relative_to(root)}\0{path.stat().st_size}\n".encode())
    return digest.hexdigest()[:16]


def _local_revision(spec: dict) -> dict:
    """A local source's files by names and sizes (a hub source: its revision)."""
    if "hub_id" in spec:
        return {spec["hub_id"]: spec.get("revision") or "main"}
    out = {}
    for split in ("train", "dev"):
        path = Path(spec[split])
        if path.is_dir():
            out[split] = tree_fingerprint(str(path))
        elif path.exists():
            out[split] = hashlib.sha256(f"{path.name}\0{path.stat().st_size}".encode()).hexdigest()[:16]
    return out


def data_revision(cfg: dict, task: str, language: str, split: str) -> dict:
    """What identifies the data a task reads. The embedded default is an input file of every
    job (its rebuild reruns them); a local mirror or CCGbank by its files' names and sizes;
    the hub by the revision read (main). A non-English training source reads its own repos."""
    t = TASKS[task]
    local = local_source(cfg, task, language)
    if local and split in ("train", "dev"):
        return {"local": _local_revision(local)}
    if cfg["embedded"]:
        # the models' shapes do not decide the data (their build logs are inputs of every job)
        return {"embedded": {k: v for k, v in cfg["embedded"].items() if k not in ("model", "extra_models")}}
    mirror = cfg["hub"]["mirror"]
    source = t.training_source(language) if language != "en" and split in ("train", "dev") else None
    revision = {}
    for repo in source.repos if source else t.repos_for(language):
        pinned = layouts.load().get(repo)  # a GitHub file: its commit is in the code
        if pinned is not None and pinned.kind == "github":
            revision[repo] = pinned.revision
        elif pinned is not None and pinned.kind == "url":  # an address: the mirror's copy by its files
            copy = Path(mirror) / layouts.FILES_DIR / repo if mirror else None
            tree = f" {tree_fingerprint(str(copy))}" if copy and copy.is_dir() else ""
            revision[repo] = pinned.revision + tree
        elif not mirror:
            revision[repo] = "main"
        elif (Path(mirror) / repo).is_dir():
            revision[repo] = tree_fingerprint(str(Path(mirror) / repo))
    if t.ccgbank and cfg["hub"]["ccgbank"] and Path(cfg["hub"]["ccgbank"]).is_dir():
        revision["ccgbank"] = tree_fingerprint(cfg["hub"]["ccgbank"])
    return revision


# ---- one function per rule ----------------------------------------------------------------


def prepare(cfg: dict, tokenizer: str, task: str, language: str, split: str) -> dict:
    local = local_source(cfg, task, language) if split in ("train", "dev") else None
    return {
        "tokenizer": tokenizer_id(cfg, tokenizer),
        "task": task,
        "language": language,
        "split": split,
        "data": data(cfg, task),
        "revision": data_revision(cfg, task, language, split),
        **({"local_source": local} if local else {}),
    }


def _training_model(cfg: dict, name: str) -> dict:
    m = model_record(cfg, name)
    return {"hub_id": m["hub_id"], "tokenizer": m["tokenizer"]}


def intermediate(cfg: dict, model: str, recipe: str, seed) -> dict:
    r = find_recipe(cfg, recipe)
    return {
        "stage": "intermediate",
        "model": _training_model(cfg, model),
        "seed": int(seed),
        "tasks": [[t["task"], t["language"]] for t in r["tasks"]],
        "training": intermediate_training(cfg, r),
        "sampling": r["sampling"] or cfg["sampling"],
        "data": {t["task"]: data(cfg, t["task"]) for t in r["tasks"]},
        # only where it decides something: English recipes keep their settings (no rerun)
        **({"budget": r["budget"]} if r["budget"] != recipes.DEFAULT_BUDGET else {}),
    }


def finetune(cfg: dict, model: str, recipe: str, task: str, seed) -> dict:
    """`task`: the stage's key, its chain so far ("squad_v1", "siqa+copa"); it trains the last
    task, from the previous stage's model (named under "chain", absent for one stage)."""
    chain = chain_from_key(task)
    task = chain[-1]
    settings = {
        "stage": "finetune",
        "model": _training_model(cfg, model),
        "seed": int(seed),
        "tasks": [[task, "en"]],
        "training": finetune_training(cfg, task),
        "sampling": None,
        "data": {task: data(cfg, task)},
        "recipe": recipe,
    }
    return {**settings, "chain": chain} if len(chain) > 1 else settings


def evaluate(cfg: dict, model: str, recipe: str, target: str, language: str, seed) -> dict:
    options = TASKS[target].eval_options
    evaluation = {
        k: v
        for k, v in cfg["evaluation"].items()
        if k == "max_examples" or k in options or (k == "precision" and v != "fp32")
    }  # batch_size: runtime (Runtime), not a setting; precision only where it may change a score
    protocol = {}
    if target == "tatoeba" and tatoeba_encoder(cfg) != "intermediate":  # XTREME's: recorded by the cell
        protocol["protocol"] = {"tatoeba_encoder": tatoeba_encoder(cfg)}
    return {
        **protocol,
        "model_name": model,
        "model": model_record(cfg, model),
        "recipe": recipe,
        "target": target,
        "language": language,
        "seed": int(seed),
        "train_task": training_task(target),
        "evaluation": evaluation,
        "data": data(cfg, target),
        **_recipe_sources(cfg, recipe),
    }


def evaluate_group(cfg: dict, model: str, recipe: str, target: str, seed) -> dict:
    """An evaluation job's settings: its cells' without the language, shared by the target's
    languages (a new or removed language reruns the job through its changed outputs and
    inputs, not through its settings)."""
    cell = evaluate(cfg, model, recipe, target, None, seed)
    return {k: v for k, v in cell.items() if k != "language"}


def embedded_hub(cfg: dict) -> dict:
    """The embedded mirror's build: its world (languages, seed, size)."""
    return {k: v for k, v in cfg["embedded"].items() if k not in ("model", "extra_models")}


def embedded_model(cfg: dict) -> dict:
    """The embedded tiny model's build: the first model's hub id, its seed and shape."""
    emb = cfg["embedded"]
    return {
        "repo_id": next(iter(cfg["models"].values()))["hub_id"],
        "seed": emb["seed"],
        "model": emb["model"],
    }


def embedded_extra_model(cfg: dict, hub_id: str) -> dict:
    """The build of one of `embedded.extra_models`: its hub id, the seed and its shape."""
    emb = cfg["embedded"]
    return {"repo_id": hub_id, "seed": emb["seed"], "model": emb["extra_models"][hub_id]}


def _recipe_sources(cfg: dict, recipe: str) -> dict:
    """The recipe's source languages and budget, written into every cell (results.collect).
    Left out for English recipes with the default budget (all recipes before non-English
    sources existed), so their cells rerun nothing; collect reads those as English."""
    try:
        r = find_recipe(cfg, recipe)
    except KeyError:  # a cell asked for on its own
        return {}
    if recipes.is_english_default(cfg, r):
        return {}
    return {"recipe_sources": recipes.source_record(cfg, r)}


def _schema_default(block: str, key: str):
    return config.schema()["properties"][block]["properties"][key]["default"]


@dataclass(frozen=True)
class Runtime:
    """What a job needs that does not decide its result: where the hub mirror and CCGbank lie
    (a location is not a setting; what is there is, see `data_revision`), the evaluation batch
    size (it does not change a score on CPU) and whether evaluation runs in the warm process.
    The rules pass it as a derived param, which Snakemake does not compare; `xstilts evaluate`
    reads it back from its flags. Its defaults are the schema's."""

    mirror: str | None = None
    ccgbank: str | None = None
    eval_batch_size: int = field(default_factory=lambda: _schema_default("evaluation", "batch_size"))
    warm_process: bool = field(default_factory=lambda: _schema_default("evaluation", "warm_process"))

    @classmethod
    def of(cls, cfg: dict) -> Runtime:
        hub, evaluation = cfg["hub"], cfg["evaluation"]
        return cls(hub["mirror"], hub["ccgbank"], evaluation["batch_size"], evaluation["warm_process"])

    @classmethod
    def given(cls, **values) -> Runtime:
        """From a command line's flags: a flag not given (None) takes the default."""
        return cls(**{k: v for k, v in values.items() if v is not None})


def cell_settings(settings: dict, language: str, batch_size: int) -> dict:
    """What a cell JSON records as its settings: its evaluation job's, its language, and the
    batch size (recorded, not compared: `compared_settings`)."""
    return {
        **settings,
        "evaluation": {**settings["evaluation"], "batch_size": batch_size},
        "language": language,
    }


def compared_settings(recorded: dict) -> dict:
    """A cell's recorded settings as its job's settings compare to them: no batch size."""
    evaluation = {k: v for k, v in recorded.get("evaluation", {}).items() if k != "batch_size"}
    return {**recorded, "evaluation": evaluation}
