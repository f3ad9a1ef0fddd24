"""Validate a grid config and resolve each job's settings (its slice of the config).

Everything here is cheap (no torch): the Snakefile calls it at parse time, and so does every
SLURM job. A job's slice holds exactly what decides its output, so Snakemake's params
comparison reruns a job only when its own settings change.
"""

from __future__ import annotations

import copy
import json
from importlib import resources
from pathlib import Path

import yaml

from xstilts import tasks as registry

ALL9 = registry.INTERMEDIATE_TASKS
BUILTIN_RECIPES = ("none", *ALL9, "all9")

TRAINING_DEFAULTS = dict(lr=1e-5, adam_eps=1e-8, weight_decay=0.01, max_grad_norm=1.0,
                         warmup_ratio=0.1, max_steps=None, grad_accum=1, max_train_examples=None,
                         finetune="full", lora=dict(r=8, alpha=16, dropout=0.1),
                         checkpoint_every=500, early_stopping=None)
TARGET_EARLY_STOPPING = dict(every=1000, patience=30, dev_examples=500)
DATA_KEYS = ("max_length", "doc_stride")


class ConfigError(ValueError):
    """A config problem, with the key at fault and how to fix it."""


def schema() -> dict:
    text = resources.files("xstilts").joinpath("config.schema.yaml").read_text()
    return yaml.safe_load(text)


def _where(path) -> str:
    return ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in path).replace(".[", "[") or "(top level)"


def _schema_error(error) -> ConfigError:
    key = _where(error.absolute_path)
    if error.validator == "type" and isinstance(error.instance, str):
        try:
            float(error.instance)
            return ConfigError(f"config key {key}: {error.instance!r} was read as a string, not a "
                               f"number (YAML reads 1e-5 as text). Fix: write it with a dot and a "
                               f"signed exponent, e.g. 1.0e-5.")
        except ValueError:
            pass
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        return ConfigError(f"config key {key}: {error.message}. Fix: use one of {allowed}.")
    if error.validator == "oneOf" and key.startswith("recipes"):
        return ConfigError(f"config key {key}: a recipe is a name ({', '.join(BUILTIN_RECIPES)}) "
                           f"or a mapping with 'name' and 'tasks'; got {error.instance!r}.")
    return ConfigError(f"config key {key}: {error.message}.")


def _fill_defaults(instance, schema_node, root):
    """Fill `default`s of the schema into the instance (jsonschema validates, never fills)."""
    if "$ref" in schema_node:
        node = root
        for part in schema_node["$ref"].lstrip("#/").split("/"):
            node = node[part]
        schema_node = {**node, **{k: v for k, v in schema_node.items() if k != "$ref"}}
    if isinstance(instance, dict):
        for key, sub in schema_node.get("properties", {}).items():
            if key not in instance and "default" in sub:
                instance[key] = copy.deepcopy(sub["default"])
            if key in instance:
                _fill_defaults(instance[key], sub, root)
        extra = schema_node.get("additionalProperties")
        if isinstance(extra, dict):
            for key in set(instance) - set(schema_node.get("properties", {})):
                _fill_defaults(instance[key], extra, root)


def _check(condition, message):
    if not condition:
        raise ConfigError(message)


def _recipe(entry) -> dict:
    """A recipe entry -> {name, tasks: [{task, language}], sampling, training}."""
    if isinstance(entry, str):
        _check(entry in BUILTIN_RECIPES,
               f"config key recipes: unknown recipe {entry!r}. Fix: use one of "
               f"{', '.join(BUILTIN_RECIPES)}, or define it as {{name: ..., tasks: [...]}}.")
        names = [] if entry == "none" else list(ALL9) if entry == "all9" else [entry]
        entry = {"name": entry, "tasks": names}
    tasks = [{"task": t, "language": "en"} if isinstance(t, str) else {"language": "en", **t}
             for t in entry["tasks"]]
    for t in tasks:
        task = registry.TASKS.get(t["task"])
        _check(task is not None and task.role == "intermediate",
               f"config key recipes.{entry['name']}: {t['task']!r} is not an intermediate task. "
               f"Fix: use one of {', '.join(ALL9)}.")
        _check(t["language"] in task.languages,
               f"config key recipes.{entry['name']}: {t['task']} has no data in {t['language']!r} "
               f"(it has: {' '.join(task.languages)}).")
    return {"name": entry["name"], "tasks": tasks, "sampling": entry.get("sampling"),
            "training": entry.get("training", {})}


def validate(raw: dict) -> dict:
    """Check a config and return it with defaults filled in; raise ConfigError naming the fix."""
    import jsonschema
    cfg = copy.deepcopy(dict(raw))
    root = schema()
    errors = sorted(jsonschema.Draft202012Validator(root).iter_errors(cfg),
                    key=lambda e: (len(e.absolute_path), list(map(str, e.absolute_path))))
    if errors:
        raise _schema_error(errors[-1] if errors[-1].validator == "type" else errors[0])
    _fill_defaults(cfg, root, root)

    recipes = [_recipe(r) for r in cfg["recipes"]]
    names = [r["name"] for r in recipes]
    _check(len(set(names)) == len(names), f"config key recipes: duplicate recipe names in {names}.")
    cfg["recipes"] = recipes
    for target, languages in cfg["targets"].items():
        task = registry.TASKS.get(target)
        _check(task is not None and task.role == "target",
               f"config key targets.{target}: unknown target task. Fix: use one of "
               f"{', '.join(registry.TARGET_TASKS)}.")
        for lang in languages:
            _check(lang in task.languages,
                   f"config key targets.{target}: {target} has no language {lang!r}. "
                   f"Fix: use ISO 639-1 codes from: {' '.join(task.languages)}.")
    for name in cfg["tasks"]:
        _check(name in registry.TASKS, f"config key tasks.{name}: unknown task. Fix: use one of "
                                       f"{', '.join(registry.TASKS)}.")
    _check(not cfg["embedded"] or cfg["hub"]["mirror"],
           "config key embedded: the embedded default is built into hub.mirror. Fix: set "
           "hub.mirror, e.g. resources/hub.")
    for name, model in cfg["models"].items():
        model.setdefault("tokenizer", model["hub_id"])
        _check("/" not in name and name not in ("data",),
               f"config key models.{name}: a model name is a path component; drop '/' (the hub id "
               f"goes in hub_id).")
        model.setdefault("retrieval_layer", registry.RETRIEVAL_LAYERS.get(model["hub_id"]))
        _check(model["retrieval_layer"] is not None or not set(cfg["targets"]) & {"bucc", "tatoeba"},
               f"config key models.{name}.retrieval_layer: no reference layer is known for "
               f"{model['hub_id']!r} (known: {', '.join(registry.RETRIEVAL_LAYERS)}). Fix: set "
               f"the hidden state to pool for bucc/tatoeba (0 = embeddings; 14 of 24 in XTREME).")
    return cfg


def preflight(cfg: dict) -> None:
    """Checks of what a real run needs, made before the first job starts (not in dry runs)."""
    uses_ccg = any(t["task"] == "ccg" for r in cfg["recipes"] for t in r["tasks"])
    ccgbank = cfg["hub"]["ccgbank"]
    _check(not uses_ccg or cfg["embedded"] or (ccgbank and Path(ccgbank).is_dir()),
           f"config key hub.ccgbank: a recipe uses ccg but hub.ccgbank is "
           f"{'not set' if not ccgbank else f'{ccgbank!r}, which is not a directory'}. Fix: point "
           f"it at your CCGbank copy (LDC2005T13, holding data/AUTO/), or drop ccg and all9 "
           f"from the recipes.")
    mirror = cfg["hub"]["mirror"]
    _check(not mirror or cfg["embedded"] or Path(mirror).is_dir(),
           f"config key hub.mirror: {mirror!r} is not a directory. Fix: set it to a local "
           f"directory laid out like the hub, or to null to read from the Hugging Face hub.")


def load(path: str | Path) -> dict:
    with open(path) as f:
        return validate(yaml.safe_load(f) or {})


def slice_json(value) -> str:
    """The form Snakemake compares params in: sorted JSON, so key order never reruns a job."""
    return json.dumps(value, sort_keys=True)


# ---- resolved settings -------------------------------------------------------------------

def recipe(cfg: dict, name: str) -> dict:
    return next(r for r in cfg["recipes"] if r["name"] == name)


def data_settings(cfg: dict, task: str) -> dict:
    """What decides how a task's text is tokenized."""
    merged = {**registry.TASKS[task].defaults, **cfg["tasks"].get(task, {})}
    settings = {k: merged[k] for k in DATA_KEYS if k in merged}
    cap = cfg["data"]["max_length"]
    if cap and "max_length" in settings:
        settings["max_length"] = min(settings["max_length"], cap)
        if "doc_stride" in settings:
            settings["doc_stride"] = min(settings["doc_stride"], cap // 2)
    if task == "tydiqa":
        settings["tydiqa_train"] = cfg["hub"]["tydiqa_train"]
    if registry.TASKS[task].format == "extractive_qa":
        settings["qa_windows"] = cfg["data"]["qa_windows"]
    return settings


def _target_defaults(train_task: str) -> dict:
    """Target-training defaults live on the target tasks (xnli's apply to training on mnli)."""
    for task in registry.TASKS.values():
        if task.role == "target" and task.train_task == train_task:
            return task.defaults
    raise KeyError(train_task)


def intermediate_settings(cfg: dict, name: str) -> dict:
    r = recipe(cfg, name)
    per_task = {t["task"]: {**registry.TASKS[t["task"]].defaults, **cfg["tasks"].get(t["task"], {})}
                for t in r["tasks"]}
    first = per_task[r["tasks"][0]["task"]] if r["tasks"] else {}
    training = {**TRAINING_DEFAULTS, **{k: v for k, v in first.items() if k not in DATA_KEYS},
                **cfg["intermediate"], **r["training"]}
    return {"tasks": r["tasks"], "sampling": r["sampling"] or cfg["sampling"],
            "training": training, "data": {t: data_settings(cfg, t) for t in per_task}}


def target_settings(cfg: dict, train_task: str) -> dict:
    defaults = {k: v for k, v in _target_defaults(train_task).items() if k not in DATA_KEYS}
    training = {**TRAINING_DEFAULTS, "early_stopping": TARGET_EARLY_STOPPING, **defaults,
                **cfg["target"], **{k: v for k, v in cfg["tasks"].get(train_task, {}).items()
                                    if k not in DATA_KEYS}}
    return {"task": train_task, "training": training, "data": data_settings(cfg, train_task)}


def model_settings(cfg: dict, model: str) -> dict:
    m = cfg["models"][model]
    return {"hub_id": m["hub_id"], "tokenizer": m["tokenizer"],
            "retrieval_layer": m["retrieval_layer"]}
