"""What a config does to each job: `xstilts show` (resolved settings and where each value came
from), the `validate` warnings about settings that can never take effect, and `xstilts why`
(for each job that would rerun, which settings changed).

Everything here reads the layers `xstilts.settings` stacks (`intermediate_layers`,
`finetune_layers`) rather than restating the precedence rule:
  x-training-defaults < task registry < phase block (intermediate/finetune) < tasks.<task>
  < the recipe's own training.
"""

from __future__ import annotations

import json
from pathlib import Path

from tabulate import tabulate

from xstilts import config, grid, jobs
from xstilts import settings as job_settings
from xstilts.tasks import TASKS, training_tasks

DEFAULT = "default (schema)"


# ---- provenance ---------------------------------------------------------------------------


def layer_sources(layers: list[tuple[str, dict]]) -> dict[str, str]:
    """Dotted training key -> the layer that set it last, by settings._stack's rule: nested
    blocks (lora, early_stopping) merge key by key, anything else replaces."""
    merged: dict = {}
    sources: dict[str, str] = {}
    for where, values in layers:
        for key, value in values.items():
            old = merged.get(key)
            if not (isinstance(old, dict) and isinstance(value, dict)):
                for k in [k for k in sources if k == key or k.startswith(key + ".")]:
                    del sources[k]
                sources[key] = where
            sources.update({f"{key}.{sub}": where for sub in value} if isinstance(value, dict) else {})
            merged[key] = {**old, **value} if isinstance(old, dict) and isinstance(value, dict) else value
    return sources


def flatten(value, prefix: str = "") -> dict[str, object]:
    """{"a": {"b": 1}} -> {"a.b": 1}; an empty mapping, a list or a scalar is one leaf."""
    if isinstance(value, dict) and value:
        out = {}
        for key, sub in value.items():
            out.update(flatten(sub, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: value}


def _raw_get(raw, path: list):
    """The value at a key path of the config as written, or KeyError (defaults not filled)."""
    node = raw
    for part in path:
        if isinstance(part, int):
            node = node[part]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            raise KeyError(part)
    return node


def _written(raw, path: list) -> bool:
    try:
        _raw_get(raw, path)
        return True
    except (KeyError, IndexError, TypeError):
        return False


def _recipe_index(raw, name: str) -> int | None:
    for i, entry in enumerate(raw.get("recipes") or []):
        if entry == name or isinstance(entry, dict) and entry.get("name") == name:
            return i
    return None


def _place(raw, label: str, key: str) -> str:
    """A layer label of settings.*_layers + a dotted key -> the config key path that holds it
    (or the default / registry it came from)."""
    parts = key.split(".")
    if label == "default":
        return "default (schema x-training-defaults)"
    if label.startswith("registry:"):
        return f"task registry ({label.split(':', 1)[1]}; `xstilts tasks NAME`)"
    if label.startswith("recipes.") and label.endswith(".training"):
        name = label[len("recipes.") : -len(".training")]
        i = _recipe_index(raw, name)
        where = f"recipes[{i}].training" if i is not None else label
        return f"{where}.{key}" + (
            "" if _written(raw, ["recipes", i, "training", *parts]) else f" <- {DEFAULT}"
        )
    if label.startswith("tasks."):
        names = label[len("tasks.") :].split(",")
        paths = [f"tasks.{n}.{key}" for n in names]
        if len(parts) > 1 and not all(_written(raw, ["tasks", n, *parts]) for n in names):
            return f"{DEFAULT}, filled into {', '.join(f'tasks.{n}.{parts[0]}' for n in names)}"
        return paths[0] if len(paths) == 1 else f"{', '.join(paths)} (all agree)"
    written = _written(raw, [label, *parts])
    return f"{label}.{key}" + ("" if written else f" ({DEFAULT}, filled into {label}.{parts[0]})")


# ---- jobs -----------------------------------------------------------------------------------


STAGES = ("intermediate", "finetune", "evaluate")


def parse_job(cfg: dict, words: list[str]) -> dict:
    """`intermediate mnli`, `finetune xnli recipe=mnli`, `evaluate xnli de recipe=mnli`, with
    optional model= and seed= (default: the first of the config) -> a job of the grid."""

    def fail(problem, fix):
        raise config.ConfigError(f"job {' '.join(words)}: {problem}. Fix: {fix}.")

    if not words or words[0] not in STAGES:
        fail("unknown stage", f"start with one of {', '.join(STAGES)}")
    stage, positional, named = words[0], [], {}
    for word in words[1:]:
        if "=" in word:
            key, value = word.split("=", 1)
            if key not in ("model", "recipe", "seed"):
                fail(f"unknown option {key!r}", "use model=, recipe= or seed=")
            named[key] = value
        else:
            positional.append(word)
    want = {"intermediate": ["recipe"], "finetune": ["target"], "evaluate": ["target", "language"]}[stage]
    if stage == "intermediate" and "recipe" in named and not positional:
        positional = [named.pop("recipe")]
    if len(positional) != len(want):
        fail(f"{stage} takes {' '.join(w.upper() for w in want)}", f"e.g. `{_example(stage)}`")
    job = dict(zip(want, positional))
    job["model"] = named.get("model", next(iter(cfg["models"])))
    job["seed"] = int(named.get("seed", cfg["seeds"][0]))
    recipes = grid.recipes(cfg)
    job.setdefault("recipe", named.get("recipe", recipes[0]))
    if job["model"] not in cfg["models"]:
        fail(f"no model {job['model']!r} in the config", f"use one of {', '.join(cfg['models'])}")
    if job["seed"] not in cfg["seeds"]:
        fail(f"seed {job['seed']} is not in seeds {cfg['seeds']}", "use one of them")
    if job["recipe"] not in recipes:
        fail(f"no recipe {job['recipe']!r} in the config", f"use one of {', '.join(recipes)}")
    if stage == "intermediate" and job["recipe"] == grid.BASELINE:
        fail("the baseline recipe `none` has no intermediate training", "name another recipe")
    if stage in ("finetune", "evaluate"):
        target = job["target"]
        trained = training_tasks(cfg["targets"])
        if stage == "finetune" and target in trained:
            job["task"] = target
        elif target not in cfg["targets"]:
            fail(f"{target!r} is not a target of the config", f"use one of {', '.join(cfg['targets'])}")
        elif stage == "finetune":
            train_task = TASKS[target].train_task
            if train_task is None:
                fail(f"{target} trains nothing (it reads the encoder as is)", f"`evaluate {target} LANG`")
            job["task"] = train_task
        if stage == "finetune":
            del job["target"]
        elif job["language"] not in cfg["targets"][target]:
            fail(f"{target} is not evaluated in {job['language']!r}", f"use one of {cfg['targets'][target]}")
    return {"stage": stage, **job}


def _example(stage: str) -> str:
    return {
        "intermediate": "intermediate mnli",
        "finetune": "finetune xnli recipe=mnli",
        "evaluate": "evaluate xnli de recipe=mnli",
    }[stage]


def built(cfg: dict, job: dict) -> jobs.Job:
    """The grid's job a parsed job names (an evaluation job: the cell of its language)."""
    keys = {k: v for k, v in job.items() if k != "stage"}
    if job["stage"] == "intermediate":
        return jobs.intermediate(cfg, **keys)
    if job["stage"] == "finetune":
        return jobs.finetune(cfg, **keys)
    return jobs.cell(cfg, **keys)


def _data_source(cfg: dict, raw, task: str, key: str, value) -> str:
    if key in config.DATA_KEYS:
        mine = _written(raw, ["tasks", task, key])
        merged = cfg["tasks"].get(task, {}).get(key, TASKS[task].defaults.get(key))
        if value != merged:
            return (
                f"data.max_length (caps {'tasks.' + task + '.' + key if mine else 'the registry'}'s {merged})"
            )
        return f"tasks.{task}.{key}" if mine else f"task registry ({task})"
    if key in TASKS[task].options:
        return f"hub.{key}" + ("" if _written(raw, ["hub", key]) else f" <- {DEFAULT}")
    return f"data.{key}" + ("" if _written(raw, ["data", key]) else f" <- {DEFAULT}")


def sources(cfg: dict, raw: dict, job: dict, resolved: dict) -> dict[str, str]:
    """Dotted settings key -> where its value came from."""
    out: dict[str, str] = {}
    training = {}
    if job["stage"] == "intermediate":
        training = layer_sources(
            job_settings.intermediate_layers(cfg, job_settings.find_recipe(cfg, job["recipe"]))
        )
    elif job["stage"] == "finetune":
        training = layer_sources(job_settings.finetune_layers(cfg, job["task"]))
    model = job["model"]
    for key, value in flatten(resolved).items():
        head, _, rest = key.partition(".")
        if head == "training":
            label = training.get(rest) or training.get(rest.split(".")[0], "default")
            out[key] = _place(raw, label, rest)
        elif head == "model":
            written = _written(raw, ["models", model, rest])
            out[key] = (
                f"models.{model}.{rest}"
                if written
                else {
                    "tokenizer": "default (= hub_id)",
                    "retrieval_layer": "known models (xstilts.pretrained.RETRIEVAL_LAYERS)",
                }.get(rest, DEFAULT)
            )
        elif head == "data":
            task, _, sub = rest.partition(".")
            if job["stage"] == "evaluate":
                task, sub = job["target"], rest
            out[key] = _data_source(cfg, raw, task, sub, value)
        elif head == "sampling" and rest:
            i = _recipe_index(raw, job["recipe"])
            path = ["recipes", i, "sampling"] if _written(raw, ["recipes", i, "sampling"]) else ["sampling"]
            where = f"recipes[{i}].sampling" if len(path) == 3 else "sampling"
            out[key] = f"{where}.{rest}" + ("" if _written(raw, [*path, rest]) else f" <- {DEFAULT}")
        elif head == "evaluation":
            out[key] = f"evaluation.{rest}" + (
                "" if _written(raw, ["evaluation", rest]) else f" <- {DEFAULT}"
            )
        elif head == "seed":
            out[key] = "seeds"
        elif head == "tasks" and job["stage"] == "intermediate":
            out[key] = f"recipes[{_recipe_index(raw, job['recipe'])}]"
        else:
            out[key] = "the job"
    return out


def show(cfg: dict, raw: dict, words: list[str]) -> str:
    job = parse_job(cfg, words)
    found = built(cfg, job)
    resolved = found.settings
    where = sources(cfg, raw, job, resolved)
    flat = flatten(resolved)
    lines = [
        "job: " + " ".join(f"{k}={v}" if k != "stage" else v for k, v in job.items()),
        f"output: {found.output}",
        "settings (value  <- where it came from):",
    ]
    rows = [(f"{k} = {json.dumps(v)}", f"<- {where[k]}") for k, v in flat.items()]
    lines += [f"  {line}" for line in tabulate(rows, tablefmt="plain", disable_numparse=True).splitlines()]
    return "\n".join(lines + _data_lines(cfg, job))


def _data_lines(cfg: dict, job: dict) -> list[str]:
    """Where the job's data comes from: the user's local dataset or the hub's."""
    from xstilts.recipes import data_source

    stage = job["stage"]
    if stage == "evaluate":
        target = TASKS[job["target"]]
        repos = " ".join(target.repos_for(job["language"]))
        return [f"data: {job['target']}@{job['language']}  <- hub {repos} ({', '.join(target.eval_splits)})"]
    if stage == "intermediate":
        pairs = [(t["task"], t["language"]) for t in job_settings.find_recipe(cfg, job["recipe"])["tasks"]]
    else:
        pairs = [(job["task"], "en")]
    return ["data (train, dev):"] + [f"  {t}@{lang}  <- {data_source(cfg, t, lang)}" for t, lang in pairs]


# ---- settings that can never take effect ---------------------------------------------------


def _training_jobs(cfg: dict) -> list[tuple[str, list[str], list[tuple[str, dict]]]]:
    """(job name, tasks it trains, layers) of each distinct training: model and seed do not
    change the layers."""
    jobs = [
        (
            f"intermediate {r['name']}",
            [t["task"] for t in r["tasks"]],
            job_settings.intermediate_layers(cfg, r),
        )
        for r in cfg["recipes"]
        if r["name"] != grid.BASELINE
    ]
    jobs += [
        (f"finetune {t}", [t], job_settings.finetune_layers(cfg, t)) for t in training_tasks(cfg["targets"])
    ]
    return jobs


def _idle_budgets(cfg: dict, raw) -> list[str]:
    """A budget without `examples` on recipes that train each task in one language keeps every
    example (xstilts.recipes.allocate): it decides nothing there."""
    from xstilts import recipes as families

    out = []
    for i, entry in enumerate(raw.get("recipes") or [] if isinstance(raw, dict) else []):
        if not isinstance(entry, dict) or entry.get("budget") is None:
            continue
        if "family" in entry:
            prefix = entry.get("name") or entry.get("task")
            mine = [
                r
                for r in cfg["recipes"]
                if r.get("family") and (r["family"]["kind"], r["family"]["name"]) == (entry["family"], prefix)
            ]
        else:
            mine = [r for r in cfg["recipes"] if r["name"] == entry.get("name")]
        if mine and all(r["budget"]["examples"] is None and not families.is_multilingual(r) for r in mine):
            out.append(
                f"config key recipes[{i}].budget never takes effect: each task of "
                f"{'its recipes' if 'family' in entry else 'the recipe'} trains in one language, "
                f"whose examples a budget without examples keeps whole. Fix: remove it, or set "
                f"budget: {{kind: fixed, examples: N}} to train on N examples."
            )
    return out


def _reads(task, key: str) -> bool:
    return key in task.options or key in task.eval_options or (key == "ccgbank" and task.ccgbank)


def _user_keys(raw, path: list) -> list[str]:
    try:
        block = _raw_get(raw, path)
    except (KeyError, IndexError, TypeError):
        return []
    return list(flatten(block)) if isinstance(block, dict) and block else []


def unreachable(cfg: dict, raw: dict) -> list[str]:
    """Warnings for settings written in the config that no job of the grid ever uses, each
    naming the key and the place that overrides it (or why nothing reads it)."""
    warnings = []
    jobs = _training_jobs(cfg)
    resolved = [(name, tasks, layer_sources(layers), layers) for name, tasks, layers in jobs]

    def check(path: str, label_matches, applies, keys):
        for key in keys:
            if key.split(".")[0] in config.DATA_KEYS:
                continue
            relevant = [j for j in resolved if applies(j)]
            if not relevant:
                continue
            lost = []
            for name, tasks, src, layers in relevant:
                winners = {src.get(key), *(v for k, v in src.items() if k.startswith(key + "."))} - {None}
                if any(label_matches(w) for w in winners):
                    break
                top = key.split(".")[0]
                layer = next((v for lbl, v in layers if label_matches(lbl)), None)
                if layer is not None and top not in layer and len(tasks) > 1:
                    i = _recipe_index(raw, name.split(" ", 1)[1])
                    lost.append(
                        f"{name} trains {', '.join(tasks)}, which do not all set {top} alike (a "
                        f"multi-task recipe takes a tasks.<task> key only where all its tasks agree; "
                        f"set recipes[{i}].training.{top} instead)"
                    )
                else:
                    over = sorted({w for w in winners if not label_matches(w)})
                    lost.append(f"{name} takes it from {', '.join(_place(raw, w, key) for w in over)}")
            else:
                warnings.append(f"config key {path}.{key} never takes effect: " + "; ".join(lost) + ".")

    for phase, stage in (("intermediate", "intermediate"), ("finetune", "finetune")):
        keys = _user_keys(raw, [phase])
        if keys and not any(name.startswith(stage) for name, *_ in resolved):
            why_not = {
                "intermediate": "intermediate training (recipes: none only)",
                "finetune": "target that trains (retrieval targets read the encoder as is)",
            }[stage]
            warnings.append(f"config key {phase} never takes effect: the grid has no {why_not}.")
            continue
        check(phase, lambda lbl, p=phase: lbl == p, lambda j, s=stage: j[0].startswith(s), keys)

    prepared = {j["task"] for j in grid.prepare_jobs(cfg)}
    cap = cfg["data"]["max_length"]
    for task in (raw.get("tasks") or {}) if isinstance(raw, dict) else {}:
        keys = _user_keys(raw, ["tasks", task])
        trained = any(task in tasks for _, tasks, *_ in resolved)
        if task not in prepared and keys:
            warnings.append(
                f"config key tasks.{task} never takes effect: the grid never trains or evaluates "
                f"{task} (no recipe lists it, no target is or trains on it)."
            )
            continue
        if not trained and [k for k in keys if k.split(".")[0] not in config.DATA_KEYS]:
            warnings.append(
                f"config key tasks.{task}: its training keys never take effect: the grid only "
                f"evaluates {task}, it trains nothing on it."
            )
            continue
        check(
            f"tasks.{task}",
            lambda lbl, t=task: lbl.startswith("tasks.") and t in lbl[len("tasks.") :].split(","),
            lambda j, t=task: t in j[1],
            keys,
        )
        for key, limit in (("max_length", cap), ("doc_stride", cap // 2 if cap else None)):
            value = cfg["tasks"][task].get(key)
            if limit and value is not None and value > limit and key in keys:
                warnings.append(
                    f"config key tasks.{task}.{key} ({value}) never takes effect: data.max_length "
                    f"({cap}) caps it to {limit}. Fix: lower it or raise data.max_length."
                )
    # sampling weighs the tasks of a recipe; the languages of one task are pooled into one set
    multi = [r for r in cfg["recipes"] if len({t["task"] for t in r["tasks"]}) > 1]
    sampling_keys = _user_keys(raw, ["sampling"])
    defaults = {
        k: v.get("default") for k, v in config.schema()["properties"]["sampling"]["properties"].items()
    }
    # the defaults written out (the study configs' shared block) are no slip
    chosen = [k for k in sampling_keys if raw["sampling"].get(k) != defaults.get(k)]
    if chosen and not multi:
        warnings.append(
            "config key sampling never takes effect: no recipe trains more than one task (it "
            "weighs the tasks of a multi-task recipe, e.g. all9; the languages of one task are pooled)."
        )
    elif sampling_keys and multi and all(r["sampling"] for r in multi):
        places = ", ".join(f"recipes[{_recipe_index(raw, r['name'])}].sampling" for r in multi)
        warnings.append(
            f"config key sampling never takes effect: every recipe sets its own ({places}), "
            f"which replaces the whole block."
        )
    for i, entry in enumerate(raw.get("recipes") or [] if isinstance(raw, dict) else []):
        if isinstance(entry, dict) and entry.get("sampling") is not None:
            tasks = (
                [entry.get("task")]
                if "family" in entry
                else [t if isinstance(t, str) else t.get("task") for t in entry.get("tasks") or []]
            )
            if len(set(tasks)) < 2:
                warnings.append(
                    f"config key recipes[{i}].sampling never takes effect: the recipe trains one task "
                    f"({tasks[0] if tasks else '-'}; a family's recipes always do), and sampling weighs "
                    f"the tasks of a multi-task recipe. Fix: remove it."
                )
    warnings += _idle_budgets(cfg, raw)
    # options read only by some tasks: set for a grid without them, they do nothing
    # (evaluation.tatoeba_encoder is left out: the study configs share it in a common block)
    for block, key in (
        ("hub", "tydiqa_train"),
        ("hub", "mewslix_dir"),
        ("hub", "ccgbank"),
        ("evaluation", "bucc_k"),
    ):
        written = raw.get(block) if isinstance(raw, dict) else None
        readers = [n for n, t in TASKS.items() if _reads(t, key)]
        if isinstance(written, dict) and written.get(key) is not None and not set(readers) & prepared:
            warnings.append(
                f"config key {block}.{key} never takes effect: no task of the grid reads it "
                f"(only {', '.join(readers)})."
            )
    trained = {(t["task"], t["language"]) for r in cfg["recipes"] for t in r["tasks"]}
    for task, languages in cfg["sources"].items():
        for language in languages:
            if (task, language) not in trained:
                warnings.append(
                    f"config key sources.{task}.{language} never takes effect: no recipe trains "
                    f"{task} in {language}. Fix: add {{task: {task}, language: {language}}} to a "
                    f"recipe's tasks (or a family's languages), or remove it."
                )
    return warnings


# ---- why: which settings changed since each output was made --------------------------------


def _recorded(path: Path, name: str | None):
    """The settings an output recorded: a directory's JSON file, or the cell JSON itself."""
    file = path / name if name else path
    try:
        return json.loads(file.read_text())["settings"]
    except (OSError, ValueError, KeyError):
        return None


ABSENT = "(absent)"


def changes(old, new, prefix: str = "") -> list[tuple[str, object, object]]:
    """(dotted key, old, new) of each setting that differs; mappings on both sides are
    compared key by key, anything else whole (a block replaced by null is one change)."""
    if isinstance(old, dict) and isinstance(new, dict):
        found = []
        for key in sorted(set(old) | set(new), key=str):
            path = f"{prefix}.{key}" if prefix else str(key)
            found += changes(old.get(key, ABSENT), new.get(key, ABSENT), path)
        return found
    return [] if old == new else [(prefix, old, new)]


def why(cfg: dict, workdir: str | Path = ".") -> list[dict]:
    """Each job that would rerun for its settings: status `missing` (no output), `changed`
    (with `changes`), or `upstream` (an input reruns), with its output path."""
    root = Path(workdir)
    rerun: set[str] = set()
    report = []
    for job in jobs.recorded(jobs.table(cfg), cfg):
        out = root / job.output
        entry = {"stage": job.stage, "keys": job.keys, "out": job.output}
        if not out.exists():
            entry["status"] = "missing"
        else:
            old = _recorded(out, job.record)
            if old is not None and job.stage == "evaluate":
                old = job_settings.compared_settings(old)
            diff = (
                changes(old, job.settings)
                if old is not None
                else [("(settings)", "(unrecorded)", "(current)")]
            )
            if diff:
                entry.update(status="changed", changes=diff)
            elif any(i in rerun for i in job.paths):
                entry.update(status="upstream", because=next(i for i in job.paths if i in rerun))
            else:
                continue
        rerun.add(job.output)
        report.append(entry)
    return report


def _tally(entries: list[dict]) -> tuple[int, str]:
    """(jobs, "2 intermediate, 3 evaluate (12 cells)") of report entries: evaluation entries are
    cells, and one evaluation job (model x recipe x target x seed) writes all of a target's."""
    cells = [e for e in entries if e["stage"] == "evaluate"]
    groups = {tuple(sorted((k, v) for k, v in e["keys"].items() if k != "language")) for e in cells}
    counts = {s: sum(e["stage"] == s for e in entries) for s in ("prepare", *STAGES) if s != "evaluate"}
    parts = [f"{n} {s}" for s, n in counts.items() if n]
    if cells:
        parts.append(f"{len(groups)} evaluate ({len(cells)} cells)")
    return sum(counts.values()) + len(groups), ", ".join(parts)


def format_why(report: list[dict], every: bool = False) -> str:
    """Changed jobs grouped by their change (old -> new once per group); missing and
    downstream ones counted per stage (all listed with `every`). Evaluation jobs are counted
    as jobs, with their cells (one per language) in brackets."""
    lines = []
    groups: dict[tuple, list[dict]] = {}
    for e in report:
        if e["status"] == "changed":
            groups.setdefault(tuple(map(repr, e["changes"])), []).append(e)
    for group in groups.values():
        shown = group if every or len(group) <= 3 else group[:2]
        jobs, stages = _tally(group)
        lines.append(f"settings changed in {jobs} job(s) ({stages}):")
        lines += [f"  {e['stage']} {_keys(e['keys'])} ({e['out']})" for e in shown]
        if len(shown) < len(group):
            lines.append(f"  ... and {len(group) - len(shown)} more (--all lists them)")
        lines += [f"    {k}: {json.dumps(a)} -> {json.dumps(b)}" for k, a, b in group[0]["changes"]]
    for status, text in (("upstream", "an input reruns"), ("missing", "no output yet")):
        group = [e for e in report if e["status"] == status]
        if not group:
            continue
        jobs, stages = _tally(group)
        lines.append(f"{jobs} job(s) run because {text}: {stages}")
        if every:
            lines += [
                f"    {e['stage']} {_keys(e['keys'])} ({e['out']})"
                + (f" <- {e['because']}" if status == "upstream" else "")
                for e in group
            ]
    return "\n".join(lines) if lines else "nothing would rerun for its settings"


def _keys(keys: dict) -> str:
    return " ".join(f"{k}={v}" for k, v in keys.items())


def touch_warning(not_adopted: int) -> str:
    """What `why --touch` leaves Snakemake unable to check (Snakemake 9.27, tried in
    tests/test_cluster_tools.py::test_why_touch_adopts_what_matches)."""
    text = (
        "`snakemake --touch` records the config's current settings as each adopted output's "
        "metadata (not those it was made with: hence only outputs whose recorded settings match "
        "are adopted), so later changes are seen; an output made outside Snakemake and not "
        "adopted has no metadata, so `snakemake -n` cannot compare its settings ('missing "
        "provenance/metadata') and reruns it only for a newer input"
    )
    if not_adopted:
        text += f": delete the {not_adopted} output(s) not adopted above to recompute them"
    return text + ". `xstilts why` compares the settings each output recorded itself."


def adoptable(cfg: dict, workdir: str | Path = ".") -> tuple[list[str], list[dict]]:
    """Outputs computed elsewhere: (those `snakemake --touch` may adopt: they exist and nothing
    they depend on would rerun; those that must not be: their recorded settings differ, or an
    input of theirs is not adopted). Touching an output downstream of a stale one would make
    Snakemake touch the stale one too, recording the config's settings as its own."""
    report = why(cfg, workdir)
    bad = [e for e in report if e["status"] != "missing" and (Path(workdir) / e["out"]).exists()]
    rerun = {e["out"] for e in report}
    recorded = jobs.recorded(jobs.table(cfg), cfg)
    good = [j.output for j in recorded if j.output not in rerun and (Path(workdir) / j.output).exists()]
    return good, bad
