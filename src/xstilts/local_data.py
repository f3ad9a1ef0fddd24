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

import json
from pathlib import Path

from xstilts.tasks import TASKS

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
    task = TASKS.get(task_name)
    if task is None or not task.trainable or task.format not in CANONICAL:
        local = [n for n, t in TASKS.items() if t.trainable and t.format in CANONICAL]
        _fail(
            where,
            f"{task_name!r} is not a task a recipe trains from a local source",
            f"use one of {', '.join(local)}",
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
    if spec.get("labels") and (not task.labels or "label" not in CANONICAL[task.format]):
        _fail(
            f"{where}.labels",
            f"{task_name} has no label column to map ({task.format}: {', '.join(CANONICAL[task.format])})",
            "drop labels"
            + (f"; write its tags as {task.name}'s ({' '.join(task.labels)})" if task.labels else ""),
        )
    bad = [v for v in (spec.get("labels") or {}).values() if v not in task.labels]
    if bad:
        _fail(
            f"{where}.labels", f"{bad[0]!r} is not a label of {task_name}", f"map to {', '.join(task.labels)}"
        )
    return spec


KINDS = {".jsonl": "json", ".json": "json", ".parquet": "parquet"}  # what datasets reads them as
PEEK = 100  # rows read by `check_files` (validate, the dry run): the head of each file, cheap


def _check_path(where: str, path: str) -> Path:
    """The file or save_to_disk directory exists and is a kind the loader reads."""
    p = Path(path)
    if not p.exists():
        _fail(where, f"{path} does not exist (relative paths start at {Path.cwd()})", "correct the path")
    if p.is_dir():
        if (p / "dataset_dict.json").exists():
            _fail(where, f"{path} holds several splits (a DatasetDict)", "save each split on its own")
        if not (p / "dataset_info.json").exists() and not (p / "state.json").exists():
            _fail(
                where,
                f"{path} is a directory but not a datasets save_to_disk copy",
                "point at one, or a file",
            )
        return p
    if p.suffix not in KINDS:
        fix = "use .jsonl, .parquet or a save_to_disk directory"
        if p.suffix in (".csv", ".tsv"):
            sep = "\\t" if p.suffix == ".tsv" else ","
            fix = (
                f"convert it, e.g. pandas.read_csv({p.name!r}, sep='{sep}').to_json('{p.stem}.jsonl', "
                "orient='records', lines=True, force_ascii=False) (a CSV cell cannot hold a list)"
            )
        _fail(where, f"{path}: unknown file type {p.suffix or '(none)'!r}", fix)
    if p.stat().st_size == 0:
        _fail(where, f"{path} is empty (no rows)", "give the split its rows, or another file")
    return p


def _head(where: str, p: Path) -> tuple[list[str], list[dict], int | None]:
    """(column names, the first PEEK rows, the row count where cheap) of a file or directory."""
    try:
        return _read_head(where, p)
    except (OSError, UnicodeDecodeError) as error:
        _fail(
            where, f"{p} cannot be read ({error})", "check the file (UTF-8 text for JSON) and its permissions"
        )


def _read_head(where: str, p: Path) -> tuple[list[str], list[dict], int | None]:
    if p.is_dir():
        import datasets

        try:
            ds = datasets.load_from_disk(str(p))  # memory-mapped: the count is free
        except Exception as error:  # datasets' and pyarrow's own kinds
            _fail(where, f"{p} cannot be read as a save_to_disk copy ({error})", "save it again")
        return ds.column_names, ds.select(range(min(PEEK, len(ds)))).to_list(), len(ds)
    if p.suffix == ".parquet":
        import pyarrow.parquet as pq

        try:
            file = pq.ParquetFile(p)
        except Exception as error:  # pyarrow's own error kinds
            _fail(
                where,
                f"{p} is not a readable parquet file ({error})",
                "write it with pandas/datasets to_parquet",
            )
        rows = next(file.iter_batches(batch_size=PEEK), None)
        return file.schema_arrow.names, rows.to_pylist() if rows is not None else [], file.metadata.num_rows
    if p.suffix == ".json" and not _first_line_is_row(p):  # one JSON list of rows, as datasets reads it
        try:
            rows = json.loads(p.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            rows = None
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            _fail(
                where,
                f"{p} is neither JSON lines nor one JSON list of row objects",
                "write one {column: value} object per line (.jsonl)",
            )
        return list(dict.fromkeys(k for row in rows[:PEEK] for k in row)), rows[:PEEK], len(rows)
    rows, count = [], 0
    with p.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            count += 1
            if len(rows) < PEEK:
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as error:
                    _fail(
                        where,
                        f"{p}, line {number}: not a JSON object per line ({error.msg})",
                        "write JSON lines, one {column: value} object per line",
                    )
                if not isinstance(row, dict):
                    _fail(
                        where,
                        f"{p}, line {number}: {row!r} is not an object",
                        "write one {column: value} per line",
                    )
                rows.append(row)
    columns = list(dict.fromkeys(k for row in rows for k in row))
    return columns, rows, count


def _first_line_is_row(p: Path) -> bool:
    with p.open(encoding="utf-8") as lines:
        first = next((line for line in lines if line.strip()), "")
    try:
        return isinstance(json.loads(first), dict)
    except json.JSONDecodeError:
        return False


def check_files(task_name: str, language: str, spec: dict) -> None:
    """The local files of a `sources` entry, read as a run will read them but only their first
    rows: they exist, are a kind the loader reads, have rows (min_examples), and those rows hold
    the task's canonical columns and labels (validate and the dry run; a hub entry is checked
    by its prepare job)."""
    if "hub_id" in spec:
        return
    task = TASKS[task_name]
    for split in SPLITS:
        where = f"config key sources.{task_name}.{language}.{split}"
        columns, rows, count = _head(where, _check_path(where, spec[split]))
        where += f" ({spec[split]})"
        if not count:
            _fail(where, "has no rows", "give the split its rows, or another file")
        minimum = spec.get("min_examples", 1)
        if count is not None and count < minimum:
            _fail(
                where,
                f"{count} rows, fewer than min_examples {minimum}",
                "check the file, or lower min_examples",
            )
        names = _canonical_names(where, task, spec, columns)
        _check_values(where, task, spec, [{c: row.get(n) for c, n in names.items()} for row in rows])


def _read(where: str, path: str):
    import datasets

    p = _check_path(where, path)
    if p.is_dir():
        return datasets.load_from_disk(str(p))
    try:
        return datasets.load_dataset(KINDS[p.suffix], data_files=str(p), split="train")
    except datasets.exceptions.DatasetGenerationError as error:  # its cause names the row
        cause = error.__cause__ or error
        _fail(where, f"{path} cannot be read ({type(cause).__name__}: {cause})", "correct the file")


def _canonical_names(where: str, task, spec: dict, column_names) -> dict:
    """canonical column -> the dataset's name for it; every canonical column must be there."""
    wanted = CANONICAL[task.format]
    names = {c: (spec.get("columns") or {}).get(c, c) for c in wanted}
    missing = [
        f"{c}" + (f" (as {names[c]!r})" if names[c] != c else "")
        for c in wanted
        if names[c] not in column_names
    ]
    if missing:
        _fail(
            where,
            f"no column {', '.join(missing)} for {task.format}; "
            f"it has {', '.join(column_names) or 'no columns'}",
            f"map them with columns: {{canonical: dataset column}} (canonical: {', '.join(wanted)})",
        )
    return names


def _check_values(where: str, task, spec: dict, rows) -> None:
    """Labels, tags and answers of canonical rows (all of a split in a job, the head at validate)."""

    def column(name):  # a Dataset's column is read at once, not row by row
        return rows[name] if hasattr(rows, "column_names") else [r[name] for r in rows]

    if "label" in CANONICAL[task.format]:
        index = _label_index(task, spec.get("labels"))
        first = {}
        for value in column("label"):
            first.setdefault(str(value), value)
        bad = sorted(v for v, value in first.items() if index(value) is None)
        if bad:
            names = list(task.labels)
            _fail(
                where,
                f"labels {bad[:5]} are not labels of {task.name} "
                f"({', '.join(names)}, or 0..{len(names) - 1})",
                "map them with labels: {dataset value: label name}",
            )
    if task.format == "extractive_qa":
        _check_answers(rows, where)
    if task.format == "tagging" and task.labels:
        bad = sorted({t for tags in column("tags") for t in (tags or [])} - set(task.labels))
        if bad:
            _fail(where, f"tags {bad[:5]} are not tags of {task.name}", f"use {' '.join(task.labels)}")


def load(task_name: str, language: str, split: str, spec: dict, hub=None):
    """Canonical rows of one split of a local source, checked against the task."""
    task = TASKS[task_name]
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
    names = _canonical_names(where, task, spec, ds.column_names)
    ds = ds.select_columns(list(names.values()))
    ds = ds.rename_columns({v: k for k, v in names.items() if v != k})
    minimum = spec.get("min_examples", 1)
    if len(ds) < minimum:
        _fail(where, f"{len(ds)} rows, fewer than {minimum}", "check the file, or lower min_examples")
    _check_values(where, task, spec, ds)
    if "label" in names:
        index = _label_index(task, spec.get("labels"))
        ds = ds.map(lambda r: {"label": index(r["label"])})
    return ds


def _label_index(task, mapping):
    """value -> index of the task's label names (ints are taken as such indices), or None."""
    names = list(task.labels)
    mapping = {str(k): v for k, v in (mapping or {}).items()}

    def index(value):
        name = mapping.get(str(value), value)
        if isinstance(name, str) and name in names:
            return names.index(name)
        if isinstance(name, int) and not isinstance(name, bool) and 0 <= name < len(names):
            return name
        return None

    return index


def _check_answers(rows, where):
    for i, row in enumerate(rows):
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
