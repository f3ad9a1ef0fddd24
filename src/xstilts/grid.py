"""The grid as pure Python: which jobs a config implies and where their outputs live.

cells = model x recipe x target x language x seed. Target trainings are keyed by the training
task (xquad and mlqa share one squad_v1 model; xnli trains on mnli); retrieval targets train
nothing and read the intermediate encoder.
"""

from __future__ import annotations

from dataclasses import dataclass

from xstilts import config
from xstilts import tasks as registry

RESULTS = "results"


@dataclass(frozen=True)
class Cell:
    model: str
    recipe: str
    target: str
    language: str
    seed: int


def slug(hub_id: str) -> str:
    return hub_id.replace("/", "__")


def recipes(cfg) -> list[str]:
    return [r["name"] for r in cfg["recipes"]]


def cells(cfg) -> list[Cell]:
    return [Cell(m, r, t, lang, s) for m in cfg["models"] for r in recipes(cfg)
            for t, langs in cfg["targets"].items() for lang in langs for s in cfg["seeds"]]


def intermediate_jobs(cfg) -> list[dict]:
    return [dict(model=m, recipe=r, seed=s) for m in cfg["models"] for r in recipes(cfg)
            if r != "none" for s in cfg["seeds"]]


def target_jobs(cfg) -> list[dict]:
    trained = registry.training_tasks(cfg["targets"])
    return [dict(model=m, recipe=r, task=t, seed=s) for m in cfg["models"] for r in recipes(cfg)
            for t in trained for s in cfg["seeds"]]


def prepare_jobs(cfg) -> list[dict]:
    """Tokenized splits, once per tokenizer x task x language x split."""
    wanted = set()
    for tok in {m["tokenizer"] for m in cfg["models"].values()}:
        for r in cfg["recipes"]:
            for t in r["tasks"]:
                wanted |= {(tok, t["task"], t["language"], "train"), (tok, t["task"], t["language"], "dev")}
        for task in registry.training_tasks(cfg["targets"]):
            wanted |= {(tok, task, "en", "train"), (tok, task, "en", "dev")}
        for target, langs in cfg["targets"].items():
            wanted |= {(tok, target, lang, "test") for lang in langs}
            if target == "bucc":
                wanted |= {(tok, target, lang, "dev") for lang in langs}
    return [dict(tokenizer=slug(tok), task=t, language=lang, split=sp)
            for tok, t, lang, sp in sorted(wanted)]


# ---- paths (Snakemake patterns: format with a job dict or use as wildcards) --------------

def run_dir(model="{model}", recipe="{recipe}", seed="{seed}") -> str:
    return f"{RESULTS}/{model}/{recipe}/seed{seed}"


DATA = f"{RESULTS}/data/{{tokenizer}}/{{task}}/{{language}}/{{split}}"
INTERMEDIATE = run_dir() + "/intermediate"
TARGET = run_dir() + "/target/{task}"
EVAL = run_dir() + "/eval/{target}/{language}.json"
SCORES = f"{RESULTS}/scores.parquet"


def path(pattern: str, **job) -> str:
    return pattern.format(**job)


def encoder_dir(cfg, model: str, recipe: str, seed) -> str | None:
    """The encoder a recipe hands on: its intermediate model, or None for the baseline."""
    return None if recipe == "none" else path(INTERMEDIATE, model=model, recipe=recipe, seed=seed) + "/model"


def eval_outputs(cfg) -> list[str]:
    return [path(EVAL, **c.__dict__) for c in cells(cfg)]


# ---- each job's settings: its slice of the config, and nothing else ----------------------

def _hub(cfg) -> dict:
    return {"mirror": cfg["hub"]["mirror"], "ccgbank": cfg["hub"]["ccgbank"]}


def tokenizer_id(cfg, tokenizer_slug: str) -> str:
    return next(m["tokenizer"] for m in cfg["models"].values() if slug(m["tokenizer"]) == tokenizer_slug)


def _training_model(cfg, model: str) -> dict:
    m = config.model_settings(cfg, model)
    return {"hub_id": m["hub_id"], "tokenizer": m["tokenizer"]}


def prepare_settings(cfg, tokenizer: str, task: str, language: str, split: str) -> dict:
    return {"hub": _hub(cfg), "tokenizer": tokenizer_id(cfg, tokenizer), "task": task,
            "language": language, "split": split, "data": config.data_settings(cfg, task)}


def intermediate_settings(cfg, model: str, recipe: str, seed) -> dict:
    r = config.intermediate_settings(cfg, recipe)
    return {"stage": "intermediate", "hub": _hub(cfg), "model": _training_model(cfg, model),
            "seed": int(seed), "tasks": [[t["task"], t["language"]] for t in r["tasks"]],
            "training": r["training"], "sampling": r["sampling"], "data": r["data"],
            "encoder": None, "data_root": data_root(cfg, model)}


def target_settings(cfg, model: str, recipe: str, task: str, seed) -> dict:
    t = config.target_settings(cfg, task)
    return {"stage": "target", "hub": _hub(cfg), "model": _training_model(cfg, model),
            "seed": int(seed), "tasks": [[task, "en"]], "training": t["training"],
            "sampling": None, "data": t["data"], "recipe": recipe,
            "encoder": encoder_dir(cfg, model, recipe, seed), "data_root": data_root(cfg, model)}


def eval_settings(cfg, model: str, recipe: str, target: str, language: str, seed) -> dict:
    evaluation = {k: v for k, v in cfg["evaluation"].items() if k != "bucc_k" or target == "bucc"}
    return {"hub": _hub(cfg), "model_name": model, "model": config.model_settings(cfg, model),
            "recipe": recipe, "target": target, "language": language, "seed": int(seed),
            "train_task": registry.training_task(target), "evaluation": evaluation,
            "data": config.data_settings(cfg, target)}


def data_root(cfg, model: str) -> str:
    return f"{RESULTS}/data/{slug(cfg['models'][model]['tokenizer'])}"


def data_dir(cfg, model: str, task: str, language: str, split: str) -> str:
    return f"{data_root(cfg, model)}/{task}/{language}/{split}"


def run_keys(cfg) -> list[dict]:
    """model x recipe x seed: the unit whose cells are collected together."""
    return [dict(model=m, recipe=r, seed=s) for m in cfg["models"] for r in recipes(cfg)
            for s in cfg["seeds"]]
