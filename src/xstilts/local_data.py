"""Training data for any task in any language from a dataset the config names (`sources`).

    sources:
      squad_v1:
        fi: {train: data/squad_fi/train.jsonl, dev: data/squad_fi/dev.jsonl}   # jsonl, parquet,
      mnli:                                                                      # or save_to_disk
        ko: {hub_id: klue/klue, config: nli, splits: {train: train, dev: validation},
             columns: {text_a: premise, text_b: hypothesis}, labels: {0: entailment, ...}}

Rows must hold the task format's canonical columns (`CANONICAL`; `columns` maps a canonical
column to the dataset's name for it), labels must be the task's (`labels` maps the dataset's
values to the task's label names), and a split must have rows (`min_examples`, default 1).
Every mismatch is an error naming the dataset, the column or value, and the fix.
"""

from __future__ import annotations

from pathlib import Path

from xstilts import tasks as registry

CANONICAL = {
    "pair_classification": ("text_a", "text_b", "label"),
    "multiple_choice": ("context", "choices", "label"),
    "extractive_qa": ("id", "context", "question", "answers"),
    "tagging": ("tokens", "tags"),
}
SPLITS = ("train", "dev")  # what a recipe's task is prepared in
FILE_KEYS = {"train", "dev", "columns", "labels", "min_examples"}
HUB_KEYS = {"hub_id", "config", "splits", "columns", "labels", "min_examples", "revision"}


class LocalDataError(ValueError):
    """A local dataset that does not fit its task, with the mismatch and the fix."""


def _fail(where: str, problem: str, fix: str):
    raise LocalDataError(f"{where}: {problem}. Fix: {fix}.")


def check_spec(task_name: str, language: str, spec) -> dict:
    """A `sources.<task>.<language>` entry, checked without reading data (config validation)."""
    where = f"config key sources.{task_name}.{language}"
    task = registry.TASKS.get(task_name)
    if task is None or not task.trainable or task.format not in CANONICAL:
        _fail(
            where,
            f"{task_name!r} is not a task a recipe trains",
            f"use one of {', '.join(n for n, t in registry.TASKS.items() if t.trainable)}",
        )
    if not isinstance(spec, dict):
        _fail(
            where, f"must be a mapping, got {spec!r}", "write {train: PATH, dev: PATH} or {hub_id: ..., ...}"
        )
    keys = HUB_KEYS if "hub_id" in spec else FILE_KEYS
    extra = sorted(set(spec) - keys)
    if extra:
        _fail(where, f"unknown key {extra[0]!r}", f"use some of {', '.join(sorted(keys))}")
    if "hub_id" in spec:
        splits = spec.get("splits") or {}
        missing = [s for s in SPLITS if s not in splits]
        if missing:
            _fail(
                where, f"splits lacks {missing}", "map both: splits: {train: <hub split>, dev: <hub split>}"
            )
    else:
        missing = [s for s in SPLITS if s not in spec]
        if missing:
            _fail(
                where,
                f"no {missing[0]} path",
                "give train: and dev: (a .jsonl, .parquet or save_to_disk directory)",
            )
    columns = spec.get("columns") or {}
    unknown = sorted(set(columns) - set(CANONICAL[task.format]))
    if unknown:
        _fail(
            f"{where}.columns",
            f"{unknown[0]!r} is not a canonical column of {task.format}",
            f"map canonical names to the dataset's: keys among {', '.join(CANONICAL[task.format])}",
        )
    if spec.get("labels") and not task.labels:
        _fail(f"{where}.labels", f"{task_name} has no label set ({task.format})", "drop labels")
    bad = [v for v in (spec.get("labels") or {}).values() if v not in task.labels]
    if bad:
        _fail(
            f"{where}.labels", f"{bad[0]!r} is not a label of {task_name}", f"map to {', '.join(task.labels)}"
        )
    return spec


def _read(where: str, path: str):
    import datasets

    p = Path(path)
    if not p.exists():
        _fail(where, f"{path} does not exist (relative paths start at {Path.cwd()})", "correct the path")
    if p.is_dir():
        if not (p / "dataset_info.json").exists() and not (p / "state.json").exists():
            _fail(
                where,
                f"{path} is a directory but not a datasets save_to_disk copy",
                "point at one, or a file",
            )
        loaded = datasets.load_from_disk(str(p))
        if isinstance(loaded, datasets.DatasetDict):
            _fail(where, f"{path} holds several splits ({', '.join(loaded)})", "save each split on its own")
        return loaded
    kinds = {".jsonl": "json", ".json": "json", ".parquet": "parquet"}
    if p.suffix not in kinds:
        _fail(
            where,
            f"{path}: unknown file type {p.suffix!r}",
            "use .jsonl, .parquet or a save_to_disk directory",
        )
    return datasets.load_dataset(kinds[p.suffix], data_files=str(p), split="train")


def load(task_name: str, language: str, split: str, spec: dict, hub=None):
    """Canonical rows of one split of a local source, checked against the task."""
    task = registry.TASKS[task_name]
    where = f"sources.{task_name}.{language} ({split})"
    if split not in SPLITS:
        _fail(where, f"local sources hold train and dev, not {split}", "evaluate targets on their hub data")
    if "hub_id" in spec:
        from xstilts.hub import Hub

        hub = hub or Hub()
        ds = hub.dataset(
            spec["hub_id"], spec.get("config"), split=spec["splits"][split], revision=spec.get("revision")
        )
        where += f" from {spec['hub_id']}"
    else:
        ds = _read(where, spec[split])
        where += f" from {spec[split]}"
    wanted = CANONICAL[task.format]
    names = {c: (spec.get("columns") or {}).get(c, c) for c in wanted}
    missing = [
        f"{c}" + (f" (as {names[c]!r})" if names[c] != c else "")
        for c in wanted
        if names[c] not in ds.column_names
    ]
    if missing:
        _fail(
            where,
            f"no column {', '.join(missing)} for {task.format}; it has {', '.join(ds.column_names)}",
            f"map them with columns: {{canonical: dataset column}} (canonical: {', '.join(wanted)})",
        )
    ds = ds.select_columns([names[c] for c in wanted])
    ds = ds.rename_columns({v: k for k, v in names.items() if v != k})
    minimum = spec.get("min_examples", 1)
    if len(ds) < minimum:
        _fail(where, f"{len(ds)} rows, fewer than {minimum}", "check the file, or lower min_examples")
    if "label" in wanted:
        ds = _labels(ds, task, spec.get("labels"), where)
    if task.format == "extractive_qa":
        _check_answers(ds, where)
    if task.format == "tagging":
        bad = sorted({t for tags in ds["tags"] for t in tags} - set(task.labels)) if task.labels else []
        if bad:
            _fail(where, f"tags {bad[:5]} are not tags of {task_name}", f"use {' '.join(task.labels)}")
    return ds


def _labels(ds, task, mapping, where):
    """Labels -> indices of the task's label names (ints are taken as such indices)."""
    names = list(task.labels)
    mapping = {str(k): v for k, v in (mapping or {}).items()}
    values = ds["label"]
    seen = sorted({str(v) for v in values})

    def index(value):
        name = mapping.get(str(value), value)
        if isinstance(name, str) and name in names:
            return names.index(name)
        if isinstance(name, int) and not isinstance(name, bool) and 0 <= name < len(names):
            return name
        return None

    first = {}
    for value in values:
        first.setdefault(str(value), value)
    bad = [v for v in seen if index(first[v]) is None]
    if bad:
        _fail(
            where,
            f"labels {bad[:5]} are not labels of {task.name} ({', '.join(names)}, or 0..{len(names) - 1})",
            "map them with labels: {dataset value: label name}",
        )
    return ds.map(lambda r: {"label": index(r["label"])})


def _check_answers(ds, where):
    for i, row in enumerate(ds):
        answers = row["answers"]
        if not isinstance(answers, dict) or set(answers) < {"text", "answer_start"}:
            _fail(
                where,
                f"row {i}: answers must be {{text: [...], answer_start: [...]}}, got {answers!r}",
                "use SQuAD's layout",
            )
        if len(answers["text"]) != len(answers["answer_start"]):
            _fail(
                where,
                f"row {i}: {len(answers['text'])} answer texts but {len(answers['answer_start'])} starts",
                "give one start per text",
            )
