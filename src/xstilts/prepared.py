"""A prepared split on disk (the prepare stage's output): its layout, reading it back, subsets.

features/ (tokenized rows), examples/ (raw rows, where scoring reads them), labels.json,
info.json (counts and the job's settings).
"""

from __future__ import annotations

import json
from pathlib import Path

from xstilts.atomic import write_json

LABELS_FILE = "labels.json"


def save(tmp: Path, features, examples, labels: list, info: dict) -> None:
    """Write a prepared split into `tmp` (the prepare stage's atomic directory); `examples`
    None: scoring needs only the features."""
    features.save_to_disk(tmp / "features")
    if examples is not None:
        examples.save_to_disk(tmp / "examples")
    write_json(tmp / LABELS_FILE, labels)
    write_json(tmp / "info.json", info)


def load(path: str | Path):
    """(features, examples or None, labels) of a prepared split."""
    import datasets

    path = Path(path)
    examples = datasets.load_from_disk(path / "examples") if (path / "examples").exists() else None
    return (
        datasets.load_from_disk(path / "features"),
        examples,
        json.loads((path / LABELS_FILE).read_text()),
    )


def language(path: str | Path) -> str:
    """The language a split was prepared in."""
    return json.loads((Path(path) / "info.json").read_text())["settings"]["language"]


def subset(features, examples, n: int | None, seed: int | None = None, start: int = 0):
    """The first n examples (of a seeded shuffle if `seed`) from position `start`, QA features
    with their examples."""
    if n is None:
        return features, examples
    if examples is None and "kind" in features.column_names:  # dual encoder: cap queries, keep the pool
        import datasets

        queries = of_kind(features, "query")
        queries = queries if seed is None else queries.shuffle(seed=seed)
        pool = of_kind(features, "candidate")
        return datasets.concatenate_datasets([queries.select(range(min(n, len(queries)))), pool]), None
    if examples is None:
        rows = features if seed is None else features.shuffle(seed=seed)
        return _slice(rows, start, n), None
    rows = examples if seed is None else examples.shuffle(seed=seed)
    examples = _slice(rows, start, n)
    keep = set(examples["id"])
    return features.filter(lambda r: r["example_id"] in keep), examples


def _slice(rows, start: int, n: int):
    """rows[start:start + n]; empty past the end (datasets refuses a range that starts there)."""
    indices = range(min(start, len(rows)), min(start + n, len(rows)))
    return rows.select(indices if len(indices) else [])


def of_kind(rows, kind: str):
    """A dual encoder's prepared rows of one kind: "query" or "candidate"."""
    return rows.filter(lambda kinds: [k == kind for k in kinds], input_columns="kind", batched=True)
