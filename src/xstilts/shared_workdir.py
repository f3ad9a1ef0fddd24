"""Studies over one workdir: what each study defined, refused clashes, and its cells' state.

A cell's path says what it is (results/<model>/<recipe>/seed<s>/...), so two study configs that
contain one cell share its output, and the second run computes nothing the first made. That
holds only while a name means one thing in the workdir. results/studies/registry.json records,
per study (`study.name`), the definition of each model and recipe name it uses and the settings
of each job it runs (the slice Snakemake compares, keyed by the job's output). A config that
gives a registered name another definition, or a shared job other settings (e.g. another
`finetune.lr` for the same fine-tuning), is refused before any job: a shared output silently
recomputed with another study's settings would change that study's results. A study changing
its own definitions is ordinary staleness: its entry is replaced when it runs.

Evaluation jobs (one per model x recipe x target x seed) take a target's languages in blocks
that the same other studies share (`language_blocks`), so a study evaluating more languages than
another never rewrites its cells. A config without a study block is checked against the
registered studies but registers nothing, so a workdir without studies behaves as before.
Registration happens when a run starts (onstart), not in dry runs.
"""

from __future__ import annotations

import fcntl
import json
from contextlib import contextmanager
from pathlib import Path

from tabulate import tabulate

from xstilts import explain, grid
from xstilts import settings as job_settings
from xstilts.atomic import write_json
from xstilts.config import ConfigError
from xstilts.jobs import STAGES, table

REGISTRY = f"{grid.STUDIES}/registry.json"
VERSION = 1


def _plain(value):
    """As the registry reads it back (JSON: tuples become lists), so equal means equal."""
    return json.loads(json.dumps(value, sort_keys=True, default=str))


def model_definition(cfg: dict, name: str) -> dict:
    """What a model name stands for in its results (resources do not decide a result)."""
    return _plain(job_settings.model_record(cfg, name))


def recipe_definition(cfg: dict, name: str) -> dict:
    """What a recipe name stands for: its tasks and languages, budget, sampling, training."""
    return _plain({k: v for k, v in job_settings.find_recipe(cfg, name).items() if k != "name"})


def jobs(cfg: dict) -> dict[str, dict]:
    """Output -> settings of every job whose output studies may share (the embedded build,
    prepared splits, trainings, evaluation jobs), as the rules' `settings` params hold them.
    (The builds of `embedded.extra_models` were never registered: left out, as before.)"""
    shared = ("embedded-hub", "embedded-model", *STAGES)
    return _plain({job.output: job.settings for job in table(cfg) if job.stage in shared})


def cells(cfg: dict) -> list[str]:
    """The config's cell JSONs (model x recipe x target x language x seed)."""
    return [grid.path(grid.EVAL, **c.__dict__) for c in grid.cells(cfg)]


def record(cfg: dict, configfiles) -> dict:
    """A study's registry entry."""
    return {
        "configfiles": [str(f) for f in configfiles],
        "models": {m: model_definition(cfg, m) for m in cfg["models"]},
        "recipes": {r: recipe_definition(cfg, r) for r in grid.recipes(cfg)},
        "jobs": jobs(cfg),
        "cells": cells(cfg),
        "targets": cfg["targets"],
    }


def language_blocks(cfg: dict, target: str, registry: dict) -> list[list[str]]:
    """The target's languages in blocks, one evaluation job per block: languages that the same
    other registered studies also evaluate share a block, so a study evaluating more languages
    than another runs jobs for its new ones only and leaves the shared cells' JSONs alone (one
    block, the target's languages, when no other study evaluates the target)."""
    me = grid.study_name(cfg)
    others = {n: e.get("targets", {}).get(target, []) for n, e in registry["studies"].items() if n != me}
    blocks: dict[tuple, list[str]] = {}
    for language in cfg["targets"][target]:
        blocks.setdefault(tuple(n for n, langs in sorted(others.items()) if language in langs), []).append(
            language
        )
    return list(blocks.values())


def read(workdir: str | Path = ".") -> dict:
    path = Path(workdir) / REGISTRY
    if not path.exists():
        return {"version": VERSION, "studies": {}}
    try:
        registry = json.loads(path.read_text())
        registry["studies"]  # noqa: B018 (the one key every version has)
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ConfigError(
            f"{path}: unreadable ({error}). Fix: delete it; each study registers again when it runs "
            f"(until then its names are not protected)."
        ) from None
    return registry


@contextmanager
def _locked(workdir: str | Path):
    """One writer at a time: two studies starting together must not lose an entry."""
    lock = Path(workdir) / (REGISTRY + ".lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _label(name: str | None, configfiles) -> str:
    files = ", ".join(map(str, configfiles)) or "no file"
    return f"study {name} ({files})" if name else f"this config ({files}, no study block)"


def _differences(theirs, mine) -> str:
    shown = [
        f"{key}: {json.dumps(a)} there, {json.dumps(b)} here" for key, a, b in explain.changes(theirs, mine)
    ]
    return "; ".join(shown[:4]) + (f"; and {len(shown) - 4} more" if len(shown) > 4 else "")


def _or_forget(other: str) -> str:
    return (
        f" (if study {other}'s outputs may be replaced, e.g. after a data change: "
        f"xstilts studies --forget {other}, and run {other} again later)"
    )


def check(cfg: dict, configfiles=(), workdir: str | Path = ".", registry: dict | None = None) -> None:
    """Refuse (ConfigError) a config that another registered study contradicts: a model or
    recipe name defined otherwise, or a shared job with other settings."""
    registry = read(workdir) if registry is None else registry
    me = grid.study_name(cfg)
    others = {n: e for n, e in registry["studies"].items() if n != me}
    if not others:
        return
    here = _label(me, configfiles)
    for kind, key, define in (
        ("model", "models", model_definition),
        ("recipe", "recipes", recipe_definition),
    ):
        names = cfg["models"] if key == "models" else grid.recipes(cfg)
        for name in names:
            mine = define(cfg, name)
            for other, entry in others.items():
                theirs = entry[key].get(name)
                if theirs is not None and theirs != mine:
                    raise ConfigError(
                        f"config key {key}.{name}: the {kind} name {name!r} means something else in "
                        f"{_label(other, entry['configfiles'])}, registered in {REGISTRY}; {here} "
                        f"differs in {_differences(theirs, mine)}. Outputs are filed by name "
                        f"(results/.../{name}/...), so both would write the same files. Fix: rename "
                        f"the {kind} in one of the configs, or run this one in another workdir"
                        f"{_or_forget(other)}."
                    )
    mine = jobs(cfg)
    for other, entry in others.items():
        clashes = [out for out, theirs in entry["jobs"].items() if out in mine and mine[out] != theirs]
        if clashes:
            out = clashes[0]
            raise ConfigError(
                f"{len(clashes)} job(s) of {here} write outputs that {_label(other, entry['configfiles'])} "
                f"made with other settings, e.g. {out}: {_differences(entry['jobs'][out], mine[out])}. "
                f"Running it would replace that study's results. Fix: use the same settings as study "
                f"{other} for these jobs, rename the recipe (or model) whose settings differ, or run "
                f"this config in another workdir{_or_forget(other)}."
            )


def register(cfg: dict, configfiles=(), workdir: str | Path = ".") -> None:
    """Check again (another study may have registered since the parse), then record the
    config's study; a config without a study block records nothing."""
    name = grid.study_name(cfg)
    if not name:
        return
    with _locked(workdir):
        check(cfg, configfiles, workdir)
        registry = read(workdir)
        registry["studies"][name] = record(cfg, configfiles)
        registry["version"] = VERSION
        write_json(Path(workdir) / REGISTRY, registry)


def forget(name: str, workdir: str | Path = ".") -> bool:
    """Drop a study's entry (its outputs stay): its names and settings are free again."""
    with _locked(workdir):
        registry = read(workdir)
        found = registry["studies"].pop(name, None) is not None
        if found:
            write_json(Path(workdir) / REGISTRY, registry)
    return found


def counts(workdir: str | Path = ".", configs=()) -> list[dict]:
    """Per study (registered, or each given (cfg, configfile) pair, which replaces a registered
    entry of its study): its cells, how many are done (their JSON exists), missing, and
    shared (also cells of another study), with the studies it shares with."""
    root = Path(workdir)
    studies = {name: set(entry["cells"]) for name, entry in read(workdir)["studies"].items()}
    for cfg, configfile in configs:
        studies[grid.study_name(cfg) or str(configfile)] = set(cells(cfg))
    rows = []
    for name, mine in studies.items():
        done = sum((root / cell).exists() for cell in mine)
        partners = sorted(other for other, theirs in studies.items() if other != name and mine & theirs)
        shared = set().union(*(studies[p] for p in partners)) & mine if partners else set()
        rows.append(
            {
                "study": name,
                "cells": len(mine),
                "done": done,
                "missing": len(mine) - done,
                "shared": len(shared),
                "shared_with": partners,
            }
        )
    return rows


def format_counts(rows: list[dict]) -> str:
    if not rows:
        return f"no studies registered here ({REGISTRY}); give --config FILE to count a config's cells"
    header = ("study", "cells", "done", "missing", "shared", "shared with")
    table = [
        (r["study"], r["cells"], r["done"], r["missing"], r["shared"], " ".join(r["shared_with"]) or "-")
        for r in rows
    ]
    align = ("left", "right", "right", "right", "right", "left")
    return "\n".join(
        tabulate([header, *table], tablefmt="plain", colalign=align, disable_numparse=True).splitlines()
        + [
            "cells: one per model x recipe x target x language x seed; an evaluation job (one per "
            "trained model x target, `xstilts plan`) writes its target's cells"
        ]
    )
