"""The registry of the studies of docs/science.md section 6: :data:`STUDIES` is the only list,
and the functions here read what each study's module declares, for the config, the workflow
and the ``xstilts study`` command. Adding a study: its module here, its name in
:data:`STUDIES`, its section in docs/studies.md.

A study module has ``analyse(scores, ..., n_resamples, seed, confidence, alpha) ->
StudyResult`` (pure: tables and the pre-specified answer), ``figure(result)``, ``TABLES``, the
calibration pieces ``PLANTED_EFFECT`` and ``simulate`` (see :mod:`common`), and, where it has
them (absent: none):

- ``OPTIONS``: its config options (``study.<key>``) as JSON-schema nodes, each with its
  ``default`` (the one place of it) and ``description``; ``x-flag`` names the ``xstilts
  study`` flag that passes it (``x-flag-default``: the flag's default when it is not the
  config's); ``analyse`` takes the option under its key;
- ``INPUTS``: flag -> help of the tables ``analyse`` takes (CSV, under the flag's name);
- ``inputs(cfg, agg) -> {flag: path}``: the tables the workflow passes, and
  ``steps(cfg, agg) -> [common.Step]``: the jobs that make those no other rule makes;
- ``validate(cfg)``: refuses (config.ConfigError) option values the schema cannot judge, those
  naming other parts of the config (run wherever a config is validated);
- ``needs(cfg) -> [warning]``: its prerequisites in the config: raises config.ConfigError
  where the study would have nothing to read, returns what leaves its answer "not answerable";
- ``command_values(cfg) -> {option: value}``: option values the workflow passes that are not
  the config's as written (scale: the model sizes it fills in).
"""

from __future__ import annotations

import argparse
import copy

from xstilts import config, grid

STUDIES = ("typology", "scale", "difficulty", "source-language", "language-count")


def module(name: str):
    """The study's module by its CLI/report name (imported on demand: the analyses import
    pandas and scipy, which a config without a study never needs)."""
    import importlib

    if name not in STUDIES:
        raise ValueError(f"unknown study {name!r}: choose one of {', '.join(STUDIES)}")
    return importlib.import_module(f"xstilts.analysis.studies.{name.replace('-', '_')}")


def options(name: str) -> dict:
    return getattr(module(name), "OPTIONS", {})


# ---- the config's study block ---------------------------------------------------------------


def schema_node(only: str | None = None) -> dict:
    """The config's `study` block with every study's options, or `only` one study's (the core
    schema has only `name`); each description says which study reads it."""
    node = copy.deepcopy(config.schema()["properties"]["study"])
    properties = {"name": {**node["properties"]["name"], "enum": list(STUDIES)}}
    for name in [only] if only else STUDIES:
        for key, option in options(name).items():
            properties[key] = {**option, "description": f"{name}: {option['description']}"}
    return {**node, "properties": properties, "additionalProperties": False}


def reference_schema() -> dict:
    """The config schema with the study options, for docs/config.md (`xstilts config-reference`)."""
    root = copy.deepcopy(config.schema())  # config caches it
    root["properties"]["study"] = schema_node()
    return root


def validate(cfg: dict) -> dict:
    """The study block of a validated config (config.validate): its options, defaults filled
    (every study's, as one schema), an option another study reads refused, then the study's
    own `validate`. Returns cfg."""
    written = cfg.get("study")
    if not written:
        return cfg
    written = dict(written)
    name = written.get("name")
    # a config that writes only its study's options needs no other study imported (each
    # imports scipy and statsmodels at every parse); any other key gets every study's schema
    mine = name in STUDIES and set(written) <= {"name", *options(name)}
    config.validate_block(cfg, "study", schema_node(name if mine else None))
    other = sorted(set(written) - {"name", *options(name)})
    if other:  # it would be silently ignored
        owners = {key: study for study in STUDIES for key in options(study)}
        key = other[0]
        raise config.ConfigError(
            f"config key study.{key}: an option of the {owners[key]} study, which study {name} never "
            f"reads. Fix: remove it (or set study.name: {owners[key]})."
        )
    getattr(module(name), "validate", lambda cfg: None)(cfg)
    return cfg


def load(path) -> dict:
    """config.load, with the study block validated."""
    return validate(config.load(path))


def needs(cfg: dict) -> list[str]:
    """The study's prerequisites (run where config.check_data runs: `xstilts validate`, the
    Snakefile's main process). Refused: what would leave it nothing to read (no baseline, and
    each study's own). Returned as warnings: what leaves its answer "not answerable" or
    underpowered (too few tasks, languages, k; no recipe of the kind it compares), which a
    pilot may accept."""
    name = grid.study_name(cfg)
    if not name:
        return []
    names = [r["name"] for r in cfg["recipes"]]
    if "none" not in names:
        raise config.ConfigError(
            f"config key recipes: study {name} measures gains over the baseline recipe none, which "
            f"the config lacks. Fix: add none to recipes."
        )
    if len(names) < 2:
        raise config.ConfigError(
            f"config key recipes: study {name} compares intermediate recipes with none, and none is "
            f"the only recipe. Fix: add the recipes the study compares (README.md, Studies)."
        )
    check = getattr(module(name), "needs", lambda cfg: [])
    return [f"study {name} cannot answer its question: {warning}" for warning in check(cfg)]


# ---- the workflow: outputs, extra inputs and steps, flags ------------------------------------


def outputs(name: str) -> list[str]:
    """The files ``xstilts study NAME --out OUT`` writes, relative to ``OUT``."""
    tables = module(name).TABLES
    files = [*(f"{table}.csv" for table in tables), "answer.json", f"{name}.md", "caption.rst", f"{name}.png"]
    return [f"studies/{name}/{file}" for file in files]


def workflow_outputs(cfg) -> list[str]:
    """The files of the config's study analysis (`xstilts study <name> --out reports`); none
    without a study."""
    name = grid.study_name(cfg)
    return [f"{grid.REPORTS}/{file}" for file in outputs(name)] if name else []


def caption(cfg) -> str:
    """The caption the study's analysis writes (question, answer, uncertainty): the HTML
    report's caption of every study output."""
    return f"{grid.REPORTS}/studies/{grid.study_name(cfg)}/caption.rst"


def inputs(cfg, agg: grid.Aggregates) -> dict[str, str]:
    """flag -> path of the tables the study's analysis reads besides the scores."""
    return getattr(module(grid.study_name(cfg)), "inputs", lambda cfg, agg: {})(cfg, agg)


def steps(cfg, agg: grid.Aggregates) -> list:
    """The jobs (common.Step) that make the study's inputs no other rule makes."""
    return getattr(module(grid.study_name(cfg)), "steps", lambda cfg, agg: [])(cfg, agg)


def _flag_text(flag: str, value) -> list[str]:
    if isinstance(value, bool):
        return [flag if value else f"--no-{flag[2:]}"]
    if isinstance(value, dict):
        return [item for key, v in value.items() for item in _flag_text(f"{flag}={key}", v)]
    if isinstance(value, float | int):
        return [f"{flag}={value:.0f}" if float(value).is_integer() else f"{flag}={value:g}"]
    return [f"{flag}={value}"]


def command_options(cfg: dict) -> list[str]:
    """The `xstilts study` flags a config's `study` block sets (the options with an `x-flag`;
    the input tables are passed by the rule)."""
    study = cfg["study"]
    values = {key: study[key] for key, option in options(study["name"]).items() if "x-flag" in option}
    values.update(getattr(module(study["name"]), "command_values", lambda cfg: {})(cfg))
    flags = {key: option.get("x-flag") for key, option in options(study["name"]).items()}
    return [text for key, value in values.items() for text in _flag_text(flags[key], value)]


# ---- the `xstilts study` command --------------------------------------------------------------


def _resolved(node: dict) -> dict:
    if "$ref" not in node:
        return node
    target = config.schema()
    for part in node["$ref"].lstrip("#/").split("/"):
        target = target[part]
    return {**target, **node}


def _name_values(pairs: list[str] | None, flag: str) -> dict:
    values = {}
    for pair in pairs or []:
        name, sep, value = pair.partition("=")
        try:
            values[name] = float(value)
        except ValueError:
            sep = ""
        if not sep or not name:
            raise SystemExit(f"{flag} {pair!r}: expected NAME=NUMBER, e.g. {flag} xlmr-large=560e6")
    return values


def add_flags(parser: argparse.ArgumentParser) -> None:
    """Every study's input tables and option flags, typed and defaulted from its OPTIONS."""
    types = {"number": float, "integer": int, "string": str}
    for name in STUDIES:
        for flag, text in getattr(module(name), "INPUTS", {}).items():
            parser.add_argument(f"--{flag}", help=f"{name}: {text}")
        for key, option in options(name).items():
            if "x-flag" not in option:
                continue
            node, help_text = _resolved(option), f"{name}: {option['description']}"
            default = option.get("x-flag-default", option.get("default"))
            if node.get("type") == "boolean":
                kind = dict(action=argparse.BooleanOptionalAction)
            elif node.get("type") == "object":  # NAME=NUMBER, repeated
                default, kind = None, dict(action="append", metavar="NAME=NUMBER")
            elif "enum" in node:
                kind = dict(choices=node["enum"])
            else:
                kind = dict(type=types[node["type"]])
            if default is not None:
                help_text += f" (default {default})"
            parser.add_argument(option["x-flag"], dest=key, default=default, help=help_text, **kind)


def command_arguments(name: str, args: argparse.Namespace) -> dict:
    """The keyword arguments of the study's ``analyse`` the flags give: its input tables
    (read, or None) and its options."""
    import pandas as pd

    read = dict(keep_default_na=False, na_values=[""])  # ISO codes are text ("na" is Namibian)
    kwargs = {}
    for flag in getattr(module(name), "INPUTS", {}):
        path = getattr(args, flag.replace("-", "_"))
        kwargs[flag.replace("-", "_")] = pd.read_csv(path, **read) if path else None
    for key, option in options(name).items():
        if "x-flag" in option:
            value = getattr(args, key)
            is_pairs = _resolved(option).get("type") == "object"
            kwargs[key] = _name_values(value, option["x-flag"]) if is_pairs else value
    return kwargs


def design_from_config(path):
    """The simulation design (common.Design) a study config (e.g. configs/studies/scale.yaml)
    grows: benchmarks/study_calibration.py simulates it."""
    from xstilts.analysis.studies.common import BASELINE_RECIPE, Design
    from xstilts.recipes import source_record

    cfg = load(path)
    recipes = {}
    for recipe in cfg["recipes"]:
        name = recipe["name"]
        if name == BASELINE_RECIPE:
            recipes[name] = ""
        else:
            languages = dict.fromkeys(language for _, language in source_record(cfg, recipe)["tasks"])
            recipes[name] = " ".join(languages)
    assert list(recipes) == grid.recipes(cfg)
    return Design(
        models={name: m["hub_id"] for name, m in cfg["models"].items()},
        recipes=recipes,
        targets={t: tuple(languages) for t, languages in cfg["targets"].items()},
        seeds=tuple(cfg["seeds"]),
        study=dict(cfg.get("study") or {}),
    )
