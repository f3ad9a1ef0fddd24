"""Validate a grid config: refuse mistakes before any job runs, fill in the defaults.

Everything here is cheap (no torch): the Snakefile calls it at parse time, and so does every
SLURM job. Each job's slice of the validated config is built in `xstilts.settings`.
"""

from __future__ import annotations

import copy
import functools
import json
from importlib import resources
from pathlib import Path

import yaml

from xstilts import tasks as registry

ALL9 = registry.INTERMEDIATE_TASKS
BUILTIN_RECIPES = ("none", *ALL9, "all9")


class ConfigError(ValueError):
    """A config problem, with the key at fault and how to fix it."""


@functools.lru_cache(maxsize=1)
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
        retrieval = any(registry.TASKS[t].reads_encoder for t in cfg["targets"])
        _check(model["retrieval_layer"] is not None or not retrieval,
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
