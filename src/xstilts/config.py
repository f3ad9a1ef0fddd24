"""Validate a grid config: refuse mistakes before any job runs, fill in the defaults.

Everything here is cheap (no torch): the Snakefile calls it at parse time, and so does every
SLURM job. Each job's slice of the validated config is built in `xstilts.settings`.
"""

from __future__ import annotations

import copy
import difflib
import functools
import json
from importlib import resources
from pathlib import Path

import yaml

from xstilts.pretrained import MODEL_SHAPES, RETRIEVAL_LAYERS
from xstilts.tasks import INTERMEDIATE_TASKS, TARGET_TASKS, TASKS

ALL9 = INTERMEDIATE_TASKS
BUILTIN_RECIPES = ("none", *ALL9, "all9")
DATA_KEYS = ("max_length", "doc_stride", "query_length")  # decide tokenization, not training


class ConfigError(ValueError):
    """A config problem, with the key at fault and how to fix it."""


@functools.lru_cache(maxsize=1)
def schema() -> dict:
    text = resources.files("xstilts").joinpath("config.schema.yaml").read_text()
    return yaml.safe_load(text)


def _where(path) -> str:
    return (
        ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in path).replace(".[", "[")
        or "(top level)"
    )


_KINDS = {
    "integer": "a whole number",
    "number": "a number",
    "string": "text",
    "object": "a mapping",
    "array": "a list",
    "boolean": "true or false",
    "null": "null",
}


def _kind(value) -> str:
    return (
        next(
            _KINDS[t]
            for t, c in (
                ("boolean", bool),
                ("integer", int),
                ("number", float),
                ("string", str),
                ("object", dict),
                ("array", list),
            )
            if isinstance(value, c)
        )
        if value is not None
        else "null"
    )


def _type_error(error) -> tuple[str, str | None]:
    """(problem, fix) of a value of the wrong type."""
    value, expected = error.instance, error.validator_value
    expected = [expected] if isinstance(expected, str) else list(expected)
    if isinstance(value, str) and {"integer", "number"} & set(expected):
        try:
            number = float(value)
        except ValueError:
            number = None
        if number is not None and "integer" in expected and number.is_integer():
            return (
                f"{value!r} was read as text, not a whole number (quoted, or an exponent)",
                f"write {int(number)}, without quotes",
            )
        if number is not None and "number" in expected:
            return (
                f"{value!r} was read as a string, not a number (YAML reads 1e-5 as text)",
                "write it with a dot and a signed exponent, e.g. 1.0e-5",
            )
    if isinstance(value, float) and "integer" in expected:
        return (
            f"must be a whole number, got {value!r}",
            f"write {int(value)}" if value.is_integer() else "use a whole number",
        )
    examples = {
        "array": "a list, e.g. [a, b]",
        "object": "a mapping, e.g. {key: value}",
        "integer": "a whole number",
        "number": "a number",
        "string": "text",
        "boolean": "true or false",
        "null": "null",
    }
    return (
        f"must be {' or '.join(_KINDS[t] for t in expected)}, got {_kind(value)} ({value!r})",
        "write " + " or ".join(examples[t] for t in expected),
    )


def _schema_error(error) -> ConfigError:
    """One line naming the key, the problem and the fix (a schema node's x-fix, if it has one)."""
    key, kind, value = _where(error.absolute_path), error.validator, error.instance
    fix = None
    if kind == "type":
        problem, fix = _type_error(error)
    elif kind == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = sorted(map(str, set(value) - set(allowed)))
        close = [m for k in extra for m in difflib.get_close_matches(k, allowed, 1)]
        problem = f"unknown key{'s' * (len(extra) > 1)} {', '.join(map(repr, extra))}"
        fix = (f"did you mean {', '.join(close)}? " if close else "") + f"use one of {allowed}"
        data_key = next((k for k in extra if k in DATA_KEYS), None)
        if data_key and "lr" in allowed:  # a training block: tokenization is set per task
            fix = f"{data_key} decides tokenization: set it per task (tasks.<task>.{data_key})" + (
                " or for every task (data.max_length)" if data_key == "max_length" else ""
            )
    elif kind == "required":
        problem, fix = error.message, "add it (README.md, Config keys)"
    elif kind in ("minItems", "minProperties"):
        problem, fix = "is empty", "give at least one entry"
    elif kind == "uniqueItems":
        twice = next(v for i, v in enumerate(value) if v in value[:i])
        problem, fix = f"{twice!r} is listed twice", "list it once"
    elif kind in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
        bound = {"minimum": ">=", "exclusiveMinimum": ">", "maximum": "<=", "exclusiveMaximum": "<"}[kind]
        problem, fix = f"{value!r} is out of range", f"use a value {bound} {error.validator_value}"
    elif kind == "enum":
        choices = ", ".join("null" if v is None else str(v) for v in error.validator_value)
        problem, fix = f"{value!r} is not a choice", f"use one of {choices}"
        if None in error.validator_value and str(value).lower() in ("none", "~", "null", "nil"):
            problem = f"{value!r} is text, not null (YAML reads only null, ~ or nothing as null)"
            fix = f"write null, without quotes (or one of {choices})"
    elif kind == "pattern":
        problem = f"{value!r} is not allowed"
    else:
        problem = error.message
    if kind in ("type", "pattern", "maximum") and isinstance(error.schema, dict):
        fix = error.schema.get("x-fix", fix)
    fix = _specific_fix(error, fix)
    return ConfigError(f"config key {key}: {problem}." + (f" Fix: {fix}." if fix else ""))


def _specific_fix(error, fix):
    """Fixes for the common slips the generic message leaves vague: a seed count written for a
    list of seeds, a training key written on a custom recipe instead of in its `training`."""
    path, value = list(error.absolute_path), error.instance
    seed_count = isinstance(value, int) and not isinstance(value, bool)
    if path == ["seeds"] and error.validator == "type" and seed_count:
        if value < 2:
            return f"seeds is a list of seeds: write seeds: [{value}]"
        many = ", ".join(map(str, range(min(value, 5)))) + (", ..." if value > 5 else "")
        return f"seeds is a list: write seeds: [{many}] for {value} seeds, or [{value}] for seed {value}"
    if len(path) == 2 and path[0] == "recipes" and error.validator == "additionalProperties":
        family = [k for k in map(str, value) if difflib.get_close_matches(k, ["family"], 1, 0.7)]
        if family and "family" not in value:  # a misspelt family reads as a custom recipe
            return (
                "did you mean family? A recipe family is written {family: sources|language_count, "
                "task: ..., ...} (README.md, Recipe families), a custom recipe {name: ..., tasks: [...]}"
            )
        training = schema()["$defs"]["training"]["properties"]
        extra = sorted(map(str, set(value) - set(error.schema.get("properties", {}))))
        close = {k: difflib.get_close_matches(k, training, 1) for k in extra}
        misplaced = {k: (k if k in training else close[k][0]) for k in extra if k in training or close[k]}
        if misplaced:
            name = value.get("name", "...")
            keys = ", ".join(f"{v}: ..." for v in misplaced.values())
            return (
                f"training settings of a custom recipe go in its training block: {{name: {name}, "
                f"tasks: [...], training: {{{keys}}}}}"
                + ("" if set(misplaced) == set(misplaced.values()) else f" (did you mean {keys[:-5]}?)")
            )
    return fix


def fill_defaults(instance, schema_node, root):
    """Fill `default`s of the schema into the instance (jsonschema validates, never fills)."""
    if "$ref" in schema_node:
        node = root
        for part in schema_node["$ref"].lstrip("#/").split("/"):
            node = node[part]
        schema_node = {**node, **{k: v for k, v in schema_node.items() if k != "$ref"}}
    if isinstance(instance, dict) and "if" in schema_node:  # recipes: a family or a recipe
        branch = "then" if set(schema_node["if"].get("required", [])) <= set(instance) else "else"
        if branch in schema_node:
            fill_defaults(instance, schema_node[branch], root)
    if isinstance(instance, dict):
        for key, sub in schema_node.get("properties", {}).items():
            if key not in instance and "default" in sub:
                instance[key] = copy.deepcopy(sub["default"])
            if key in instance:
                fill_defaults(instance[key], sub, root)
        extra = schema_node.get("additionalProperties")
        if isinstance(extra, dict):
            for key in set(instance) - set(schema_node.get("properties", {})):
                fill_defaults(instance[key], extra, root)
    elif isinstance(instance, list) and isinstance(schema_node.get("items"), dict):
        for item in instance:
            fill_defaults(item, schema_node["items"], root)


def _check_schema(instance, node: dict) -> None:
    """The first schema error (by key path, a type error before others) as one line."""
    errors = sorted(
        _validator()(node).iter_errors(instance),
        key=lambda e: (list(map(str, e.absolute_path)), e.validator != "type"),
    )
    if errors:
        raise _schema_error(errors[0])


def validate_block(cfg: dict, key: str, node: dict) -> None:
    """Check the block cfg[key] against `node`, a schema the layer above declares for it (a
    study's options), with the messages `validate` gives; then fill its defaults."""
    root = schema()
    _check_schema({key: cfg[key]}, {"$defs": root["$defs"], "properties": {key: node}})
    fill_defaults(cfg[key], node, root)


def _check(condition, message):
    if not condition:
        raise ConfigError(message)


def _recipe(entry) -> dict:
    """A recipe entry -> {name, tasks: [{task, language}], sampling, training}."""
    if isinstance(entry, str):
        close = difflib.get_close_matches(entry, BUILTIN_RECIPES, 1)
        _check(
            entry in BUILTIN_RECIPES,
            f"config key recipes: unknown recipe {entry!r}. Fix: "
            f"{f'did you mean {close[0]}? ' if close else ''}use one of "
            f"{', '.join(BUILTIN_RECIPES)}, or define it as {{name: ..., tasks: [...]}}.",
        )
        names = [] if entry == "none" else list(ALL9) if entry == "all9" else [entry]
        entry = {"name": entry, "tasks": names}
    elif entry["name"] in BUILTIN_RECIPES:
        # A built-in name must mean the built-in tasks: results are filed and compared by name.
        builtin = _recipe(entry["name"])["tasks"]
        mine = [{"task": t, "language": "en"} if isinstance(t, str) else t for t in entry["tasks"]]
        _check(
            mine == builtin,
            f"config key recipes: the custom recipe {entry['name']!r} has the name of a "
            f"built-in recipe, which trains "
            f"{', '.join(t['task'] for t in builtin) or 'no intermediate task'}, but other tasks. "
            f"Fix: give it another name, e.g. {entry['name']}_custom.",
        )
    tasks = [
        {"task": t, "language": "en"} if isinstance(t, str) else {"language": "en", **t}
        for t in entry["tasks"]
    ]  # each task's source in its language: _recipes_with_sources
    pairs = [(t["task"], t["language"]) for t in tasks]
    _check(
        len(set(pairs)) == len(pairs),
        f"config key recipes.{entry['name']}: a task is listed twice in {[t for t, _ in pairs]}. "
        f"Fix: list each task once (sampling weights the tasks).",
    )
    return {
        "name": entry["name"],
        "tasks": tasks,
        "sampling": entry.get("sampling"),
        "training": entry.get("training", {}),
    }


def _recipes_with_sources(cfg: dict) -> list[dict]:
    """Families expanded into named recipes (xstilts.recipes); every recipe task checked for a
    training source in its language (the registry's, or a local dataset under `sources`), and
    its budget declared where a task trains in several languages."""
    from xstilts import local_data
    from xstilts import recipes as families

    try:
        for task, languages in cfg["sources"].items():
            for language, spec in languages.items():
                local_data.check_spec(task, language, spec)
        out = []
        for index, written in enumerate(cfg["recipes"]):
            family = isinstance(written, dict) and "family" in written
            if isinstance(written, dict) and written.get("budget") is not None:
                # named as the user wrote it, not as a recipe a family generates
                families.budget(written["budget"], f"recipes[{index}]")
            if family:  # every language of the family, also those no draw happens to pick
                every = written.get("languages") or written.get("pool") or []
                pooled = {"name": "", "tasks": [{"task": written["task"], "language": x} for x in every]}
                families.check_recipe_sources(cfg, pooled, f"recipes[{index}]")
            for entry in families.expand_family(written, index, cfg) if family else [written]:
                recipe = _recipe(entry)
                families.check_recipe_sources(cfg, recipe, f"recipes[{index}]" if family else None)
                declared = entry.get("budget") if isinstance(entry, dict) else None
                families.check_budget(recipe, declared is not None)
                recipe["budget"] = families.budget(declared, f"recipes[{index}]")
                if family:
                    recipe["family"] = entry["family"]
                out.append(recipe)
    except (families.RecipeError, local_data.LocalDataError) as error:
        raise ConfigError(str(error)) from None
    return out


def _check_embedded_sources(cfg: dict) -> None:
    """The embedded mirror has the registry's sources in embedded.languages only."""
    from xstilts import recipes as families

    emb = cfg["embedded"]["languages"]
    for recipe in cfg["recipes"]:
        for t in recipe["tasks"]:
            local = t["language"] in families.local_sources(cfg, t["task"])
            _check(
                local or t["language"] in emb,
                f"config key recipes.{recipe['name']}: {t['task']} in {t['language']!r}, which is "
                f"not in embedded.languages, so the embedded mirror has no data for it. Fix: add "
                f"{t['language']} to embedded.languages or drop it from the recipe.",
            )


def _validator():
    """Draft 2020-12 with `integer` meaning an int: by the spec 32.0 is an integer, but Python
    code then breaks on it (range(32.0)) hours into a run."""
    import jsonschema

    base = jsonschema.Draft202012Validator
    checker = base.TYPE_CHECKER.redefine(
        "integer", lambda _, value: isinstance(value, int) and not isinstance(value, bool)
    )
    return jsonschema.validators.extend(base, type_checker=checker)


# Renamed top-level keys -> (the new name, why): refused with the new name, never ignored.
RENAMED_KEYS = {
    "target": (
        "finetune",
        "phase 3's training settings, named as its rule and its results/.../finetune/ "
        "directories; `targets` still lists the target tasks",
    ),
}

# results/<model>/... sits beside these: a model may not take their names.
RESERVED_MODEL_NAMES = ("data", "scores.parquet", "studies")


def check_data(cfg: dict) -> None:
    """What a run will read that is known before it (`xstilts validate`, the dry run's parse):
    the local files of `sources` (their first rows). Not part of `validate`, which every SLURM
    job repeats: it reads files. (A study's prerequisites: xstilts.analysis.studies.needs.)"""
    from xstilts import local_data

    try:
        for task, languages in cfg["sources"].items():
            for language, spec in languages.items():
                local_data.check_files(task, language, spec)
    except local_data.LocalDataError as error:
        raise ConfigError(str(error)) from None


def _check_tasks(cfg: dict) -> None:
    """tasks.<name>: a known task, and only keys that take effect there."""
    for name, overrides in cfg["tasks"].items():
        close = difflib.get_close_matches(name, TASKS, 1)
        _check(
            name in TASKS,
            f"config key tasks.{name}: unknown task. Fix: "
            f"{f'did you mean {close[0]}? ' if close else ''}use one of "
            f"{', '.join(TASKS)}.",
        )
        task = TASKS[name]
        _check(
            "doc_stride" not in overrides or task.format == "extractive_qa",
            f"config key tasks.{name}.doc_stride: only extractive QA tasks have context windows "
            f"({name} is {task.format}). Fix: remove it.",
        )
        _check(
            "query_length" not in overrides or task.format == "dual_encoder",
            f"config key tasks.{name}.query_length: only dual-encoder retrieval tasks "
            f"({', '.join(n for n, t in TASKS.items() if t.format == 'dual_encoder')}) have "
            f"queries cut apart from their candidates ({name} is {task.format}; QA questions take "
            f"part of max_length). Fix: remove it.",
        )
        training = sorted(set(overrides) - set(DATA_KEYS))
        if task.role != "target" or not training or task.train_task == name:
            continue
        if task.train_task is None:
            _check(
                False,
                f"config key tasks.{name}.{training[0]}: {name} is a retrieval target and "
                f"trains nothing (it reads the encoder as is), so training keys have no "
                f"effect. Fix: remove them; only max_length applies to {name}.",
            )
        _check(
            False,
            f"config key tasks.{name}.{training[0]}: {name} trains on "
            f"{task.train_task}, so training keys under tasks.{name} have no effect. Fix: "
            f"set tasks.{task.train_task}.{training[0]} (it also applies where "
            f"{task.train_task} is an intermediate task); tasks.{name} keeps max_length"
            f"{' and doc_stride' if task.format == 'extractive_qa' else ''}.",
        )


def _check_models(cfg: dict) -> None:
    """Model names become directories; tokenizers name the shared tokenized data."""
    from xstilts.hub import slug

    by_dir: dict[str, str] = {}
    for name, model in cfg["models"].items():
        _check(
            name not in RESERVED_MODEL_NAMES,
            f"config key models.{name}: results/{name} holds other outputs. Fix: rename the "
            f"model (e.g. {name}-model).",
        )
        tokenizer = model.get("tokenizer", model["hub_id"])
        other = by_dir.setdefault(slug(tokenizer), tokenizer)
        _check(
            other == tokenizer,
            f"config key models.{name}.tokenizer: {tokenizer!r} and {other!r} are different "
            f"tokenizers but share the data directory results/data/{slug(tokenizer)}. Fix: "
            f"use the same id for both, or one without '__'.",
        )


def _check_embedded(cfg: dict) -> None:
    """The embedded build makes one model and the world's languages: nothing else exists."""
    import inspect

    from xstilts.embedded.model import build_tiny_model
    from xstilts.embedded.world import LANGUAGES

    emb = cfg["embedded"]
    _check(
        cfg["hub"]["mirror"],
        "config key embedded: the embedded default is built into "
        "hub.mirror. Fix: set hub.mirror, e.g. resources/hub.",
    )
    unknown = [lang for lang in emb["languages"] if lang not in LANGUAGES]
    _check(
        not unknown,
        f"config key embedded.languages: {unknown} are not in the synthetic "
        f"world. Fix: use some of {' '.join(LANGUAGES)}.",
    )
    _check(
        "en" in emb["languages"],
        "config key embedded.languages: the synthetic world needs "
        "en (every task trains on English). Fix: add en.",
    )
    for target, languages in cfg["targets"].items():
        missing = [lang for lang in languages if lang not in emb["languages"]]
        _check(
            not missing,
            f"config key targets.{target}: {missing} are not in embedded.languages, "
            f"so the embedded mirror has no data for them. Fix: add them to "
            f"embedded.languages or drop them.",
        )
    first = next(iter(cfg["models"].values()))["hub_id"]
    built = [first, *(h for h in emb["extra_models"] if h != first)]
    for name, model in cfg["models"].items():
        for key in ("hub_id", "tokenizer"):
            _check(
                model.get(key, first) in built,
                f"config key models.{name}.{key}: the embedded build makes {' and '.join(built)} (the "
                f"first model's hub_id and embedded.extra_models), so {model.get(key, first)!r} is not "
                f"in the mirror. Fix: use one of them, add it to embedded.extra_models, or set embedded "
                f"to null.",
            )
    _check(
        first not in emb["extra_models"],
        f"config key embedded.extra_models.{first}: the first model's shape is embedded.model. "
        f"Fix: move it there.",
    )
    params = set(inspect.signature(build_tiny_model).parameters) - {"mirror", "repo_id", "seed"}
    for key, shape in [("embedded.model", emb["model"])] + [
        (f"embedded.extra_models.{h}", s) for h, s in emb["extra_models"].items()
    ]:
        extra = sorted(set(shape) - params)
        _check(
            not extra,
            f"config key {key}: unknown key {extra[0] if extra else ''!r}. Fix: "
            f"use some of {', '.join(sorted(params))}.",
        )


def validate(raw: dict) -> dict:
    """Check a config and return it with defaults filled in; raise ConfigError naming the fix."""
    _check(
        isinstance(raw, dict),
        f"config: the top level must be a mapping of keys (models, recipes, targets, ...), got {_kind(raw)}.",
    )
    for old, (new, why) in RENAMED_KEYS.items():
        _check(old not in raw, f"config key {old}: renamed {new} ({why}). Fix: rename {old}: to {new}:.")
    cfg = copy.deepcopy(dict(raw))
    root = schema()
    _check_schema(cfg, root)
    fill_defaults(cfg, root, root)

    recipes = _recipes_with_sources(cfg)
    names = [r["name"] for r in recipes]
    twice = [n for i, n in enumerate(names) if n in names[:i]]
    _check(
        not twice,
        f"config key recipes: {twice[0] if twice else ''!r} is listed twice in "
        f"{names}. Fix: list each recipe once, or rename one.",
    )
    cfg["recipes"] = recipes
    for target, languages in cfg["targets"].items():
        task = TASKS.get(target)
        close = difflib.get_close_matches(target, TARGET_TASKS, 1)
        _check(
            task is not None and task.role == "target",
            f"config key targets.{target}: unknown target task. Fix: "
            f"{f'did you mean {close[0]}? ' if close else ''}use one of "
            f"{', '.join(TARGET_TASKS)}.",
        )
        for lang in languages:
            _check(
                lang in task.all_languages,
                f"config key targets.{target}: {target} has no language {lang!r}. "
                f"Fix: use ISO 639-1 codes from: {' '.join(task.all_languages)}.",
            )
    _check_tasks(cfg)
    _check_models(cfg)
    if cfg["embedded"]:
        _check_embedded(cfg)
        _check_embedded_sources(cfg)
    for name, model in cfg["models"].items():
        model.setdefault("tokenizer", model["hub_id"])
        _check(
            "/" not in name and name not in ("data",),
            f"config key models.{name}: a model name is a path component; drop '/' (the hub id "
            f"goes in hub_id).",
        )
        model.setdefault("retrieval_layer", RETRIEVAL_LAYERS.get(model["hub_id"]))
        retrieval = any(TASKS[t].reads_encoder for t in cfg["targets"])
        _check(
            model["retrieval_layer"] is not None or not retrieval,
            f"config key models.{name}.retrieval_layer: no reference layer is known for "
            f"{model['hub_id']!r} (known: {', '.join(RETRIEVAL_LAYERS)}). Fix: set "
            f"the hidden state to pool for bucc/tatoeba (0 = embeddings; 14 of 24 in XTREME).",
        )
    check_retrieval_depth(cfg)
    return cfg


def _model_depth(cfg: dict, hub_id: str) -> int | None:
    """The model's number of layers where it is known without the network: the embedded build's
    setting, the config.json in the mirror or the HF cache, or a known hub id."""
    if cfg["embedded"]:
        import inspect

        from xstilts.embedded.model import build_tiny_model

        default = inspect.signature(build_tiny_model).parameters["num_layers"].default
        shape = cfg["embedded"].get("extra_models", {}).get(hub_id, cfg["embedded"]["model"])
        return shape.get("num_layers", default)
    found = None
    if cfg["hub"]["mirror"]:
        found = Path(cfg["hub"]["mirror"]) / hub_id / "config.json"
    elif hub_id in MODEL_SHAPES:  # no hub import at parse time for the usual models
        return MODEL_SHAPES[hub_id][0]
    else:
        try:
            from huggingface_hub import try_to_load_from_cache

            cached = try_to_load_from_cache(hub_id, "config.json")
            found = Path(cached) if isinstance(cached, str) else None
        except Exception:
            found = None
    if found is not None and found.is_file():
        try:
            return int(json.loads(found.read_text())["num_hidden_layers"])
        except (ValueError, KeyError, TypeError):
            return None
    return MODEL_SHAPES.get(hub_id, (None,))[0]


def check_retrieval_depth(cfg: dict) -> None:
    """A retrieval layer beyond the model's depth is refused before any job (the evaluation
    would fail after every training had run)."""
    if not any(TASKS[t].reads_encoder for t in cfg["targets"]):
        return
    for name, model in cfg["models"].items():
        layer, depth = model["retrieval_layer"], _model_depth(cfg, model["hub_id"])
        _check(
            depth is None or layer is None or layer <= depth,
            f"config key models.{name}.retrieval_layer: {layer} is beyond the depth of "
            f"{model['hub_id']} ({depth} layers; 0 = embeddings). Fix: use a layer in 0..{depth} "
            f"(XTREME pools layer 14 of 24, about 0.6 of the depth).",
        )


def preflight(cfg: dict) -> None:
    """What a run needs on this machine (paths), checked by `xstilts validate` and when the
    Snakefile is parsed, also for dry runs. The embedded build creates the mirror."""
    uses_ccg = any(TASKS[t["task"]].ccgbank for r in cfg["recipes"] for t in r["tasks"])
    ccgbank = cfg["hub"]["ccgbank"]
    _check(
        not uses_ccg or cfg["embedded"] or (ccgbank and Path(ccgbank).is_dir()),
        f"config key hub.ccgbank: a recipe uses ccg but hub.ccgbank is "
        f"{'not set' if not ccgbank else f'{ccgbank!r}, which is not a directory'}. Fix: point "
        f"it at your CCGbank copy (LDC2005T13, holding data/AUTO/), or drop ccg and all9 "
        f"from the recipes.",
    )
    if uses_ccg and not cfg["embedded"]:
        from xstilts.ccgbank import auto_dir

        try:
            auto_dir(ccgbank)  # what the ccg prepare job reads
        except FileNotFoundError as error:
            raise ConfigError(
                f"config key hub.ccgbank: {error}. Fix: point it at the release's root (the "
                f"directory holding data/AUTO/00 ... 24) or at its AUTO directory."
            ) from None
    mirror = cfg["hub"]["mirror"]
    _check(
        not mirror or cfg["embedded"] or Path(mirror).is_dir(),
        f"config key hub.mirror: {mirror!r} is not a directory (relative paths start at the "
        f"working directory, {Path.cwd()}). Fix: set it to a local directory laid out like "
        f"the hub, or to null to read from the Hugging Face hub.",
    )


class _Loader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping (PyYAML keeps the last)."""

    def construct_mapping(self, node, deep=False):
        seen = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *anchor` may be overridden
                continue
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                raise ConfigError(
                    f"config file {self.name}, line {key_node.start_mark.line + 1}: "
                    f"key {key!r} appears twice in one mapping (first on line "
                    f"{seen[key] + 1}); YAML would silently keep the last. Fix: "
                    f"keep one of them."
                )
            seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep)


def read_yaml(path: str | Path) -> dict:
    """A config file's mapping; a YAML error, a duplicated key or a top level that is not a
    mapping becomes a ConfigError naming the file and line."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(
            f"config file {path}: cannot be read ({error}). Fix: check the path "
            f"given to --config/--configfile."
        ) from None
    loader = _Loader(text)
    loader.name = str(path)
    try:
        node = loader.get_single_node()
        if node is not None and not isinstance(node, yaml.MappingNode):
            raise ConfigError(
                f"config file {path}, line {node.start_mark.line + 1}: the top level "
                f"is a {'list' if isinstance(node, yaml.SequenceNode) else 'single value'}, "
                f"not a mapping. Fix: write keys at the top level (models:, recipes:, "
                f"targets:, ...)."
            )
        raw = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as error:
        mark, start = error.problem_mark or error.context_mark, error.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" + (
            f" (in what starts on line {start.line + 1})" if start and start.line != mark.line else ""
        )
        what = " ".join(filter(None, (error.context, error.problem)))
        raise ConfigError(
            f"config file {path}, {where}: {what}. Fix: correct the YAML there "
            f"(indentation, a missing ':' or quote, tabs)."
        ) from None
    except yaml.YAMLError as error:
        raise ConfigError(
            f"config file {path}: not valid YAML ({error}). Fix: correct the YAML (README.md, Config keys)."
        ) from None
    finally:
        loader.dispose()
    _check(
        raw is not None,
        f"config file {path}: is empty. Fix: give at least models, recipes and targets (see config.yaml).",
    )
    return raw


def load(path: str | Path) -> dict:
    return validate(read_yaml(path))


def slice_json(value) -> str:
    """The form Snakemake compares params in: sorted JSON, so key order never reruns a job."""
    return json.dumps(value, sort_keys=True)
