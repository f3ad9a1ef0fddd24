"""The workflow's stages; each Snakemake rule calls one through the CLI with its config slice.

Every stage writes its output into a temporary sibling and renames it into place, so an
interrupted job never leaves something a later run takes as done.
"""

from __future__ import annotations

import json
import re
import platform
import shutil
import time
from importlib import metadata
from pathlib import Path

from xstilts.atomic import atomic_dir, atomic_file, write_json
from xstilts.hub import Hub
from xstilts.tasks import TASKS

LABELS_FILE = "labels.json"


def versions() -> dict:
    names = ("xstilts", "torch", "transformers", "datasets", "tokenizers", "peft")
    out = {"python": platform.python_version()}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def torch_device(ids: list[str]):
    """(device, autocast factory or None): bf16 autocast on a GPU that supports it."""
    import torch
    from xstilts import devices
    device, dtype = devices.torch_device_and_dtype(ids)
    if dtype == torch.float32:
        return device, None
    return device, lambda: torch.autocast(device.type, dtype=dtype)


def hub_of(settings: dict) -> Hub:
    return Hub(settings["hub"]["mirror"], settings["hub"]["ccgbank"])


# ---- prepare: load + tokenize once per tokenizer x task x language x split ---------------

def task_labels(task_name: str, hub: Hub, language: str) -> list[str]:
    """Declared labels, or (ccg) the tag set of the training split; QA and retrieval have none."""
    task = TASKS[task_name]
    if task.labels or task.format != "tagging":
        return list(task.labels)
    train = task.load(hub, "train", "en")
    return sorted({t for tags in train["tags"] for t in tags})


def load_split(task_name: str, hub: Hub, split: str, language: str, data: dict):
    task = TASKS[task_name]
    if task_name == "tydiqa":
        return task.load(hub, split, language, all_languages_train=data["tydiqa_train"] == "all")
    return task.load(hub, split, language)


def prepare(settings: dict, out: str) -> None:
    from transformers import AutoTokenizer
    from xstilts.formats import encode_fn
    hub = hub_of(settings)
    task, split, language = settings["task"], settings["split"], settings["language"]
    fmt = TASKS[task].format
    tokenizer = AutoTokenizer.from_pretrained(hub.model(settings["tokenizer"]))
    examples = load_split(task, hub, split, language, settings["data"])
    if len(examples) == 0:
        raise ValueError(f"{task} has no {split} rows in {language}: check the source")
    labels = task_labels(task, hub, language)
    encode = encode_fn(fmt, tokenizer, settings["data"], labels, split)
    features = examples.map(encode, batched=True, remove_columns=examples.column_names,
                            desc=f"tokenize {task}/{language}/{split}")
    with atomic_dir(out) as tmp:
        features.save_to_disk(tmp / "features")
        if fmt == "extractive_qa" and split != "train":
            examples.save_to_disk(tmp / "examples")
        write_json(tmp / LABELS_FILE, labels)
        write_json(tmp / "info.json", {"examples": len(examples), "features": len(features),
                                       "settings": settings})


def load_prepared(path: str | Path):
    """(features, examples or None, labels) of a prepared split."""
    import datasets
    path = Path(path)
    examples = datasets.load_from_disk(path / "examples") if (path / "examples").exists() else None
    return (datasets.load_from_disk(path / "features"), examples,
            json.loads((path / LABELS_FILE).read_text()))


def _subset(features, examples, n: int | None, seed: int | None = None):
    """The first n examples (of a seeded shuffle if `seed`), QA features with their examples."""
    if n is None:
        return features, examples
    if examples is None:
        rows = features if seed is None else features.shuffle(seed=seed)
        return rows.select(range(min(n, len(rows)))), None
    rows = examples if seed is None else examples.shuffle(seed=seed)
    examples = rows.select(range(min(n, len(rows))))
    keep = set(examples["id"])
    return features.filter(lambda r: r["example_id"] in keep), examples


# ---- train: intermediate (recipe tasks) or target (one training task) --------------------

def train(settings: dict, out: str, checkpoint_dir: str, gpus: int = 1,
          stop_after: int | None = None) -> None:
    from transformers import AutoTokenizer
    from xstilts import atomic, devices, modeling, training
    started = time.time()
    hub = hub_of(settings)
    seed, cfg = settings["seed"], settings["training"]
    devices.one_device(gpus, settings.get("model_name"), settings["model"]["hub_id"])
    with devices.acquire_gpus(gpus) as ids:
        device, autocast = torch_device(ids)
        training.seed_everything(seed)
        source = settings["encoder"] or hub.model(settings["model"]["hub_id"])
        tokenizer = AutoTokenizer.from_pretrained(source)
        train_sets, dev_sets, specs = {}, {}, {}
        for task, language in settings["tasks"]:
            root = Path(settings["data_root"]) / task / language
            features, _, labels = load_prepared(root / "train")
            if cfg["max_train_examples"]:
                features = features.shuffle(seed=seed).select(
                    range(min(cfg["max_train_examples"], len(features))))
            dev_features, dev_examples, _ = load_prepared(root / "dev")
            es = cfg.get("early_stopping") or {}
            train_sets[task] = features
            dev_sets[task] = _subset(dev_features, dev_examples, es.get("dev_examples"), seed)
            specs[task] = {"format": TASKS[task].format, "labels": labels}
        encoder = modeling.load_encoder(source, cfg["finetune"], cfg["lora"])
        model = modeling.MultiTaskModel(encoder, specs).to(device)
        history = training.train(model, train_sets, dev_sets, cfg, settings.get("sampling") or {},
                                 seed, device, tokenizer.pad_token_id, Path(checkpoint_dir),
                                 autocast, stop_after=stop_after,
                                 fingerprint=training.fingerprint(settings))
        with atomic_dir(out, size_hint=atomic.payload_bytes(model.state_dict())) as tmp:
            modeling.save(model, tokenizer, tmp, with_heads=settings["stage"] == "target")
            write_json(tmp / "training.json", {
                "history": history, "settings": settings, "versions": versions(),
                "device": devices.describe_device(ids), "wall_seconds": round(time.time() - started, 2)})
    shutil.rmtree(checkpoint_dir, ignore_errors=True)


# ---- evaluate one cell: model x recipe x target x language x seed ------------------------

def evaluate(settings: dict, model_dir: str | None, data: str, out: str, gpus: int = 1,
             dev_data: str | None = None) -> None:
    from transformers import AutoTokenizer
    from xstilts import devices
    started = time.time()
    target = settings["target"]
    source = model_dir or hub_of(settings).model(settings["model"]["hub_id"])
    with devices.acquire_gpus(gpus) as ids:
        device, autocast = torch_device(ids)
        pad_id = AutoTokenizer.from_pretrained(source).pad_token_id
        if TASKS[target].format == "retrieval":
            result, n, extra = _evaluate_retrieval(settings, source, data, dev_data, device, pad_id)
        else:
            result, n, extra = _evaluate_trained(settings, source, data, device, pad_id, autocast)
        write_json(out, {
            "cell": {k: settings[k] for k in ("model_name", "recipe", "target", "language", "seed")},
            "metrics": result, "primary_metric": TASKS[target].metric, "n_examples": n,
            "settings": settings, "versions": versions(), "device": devices.describe_device(ids),
            "wall_seconds": round(time.time() - started, 2), **extra})


def _evaluate_retrieval(settings, source, data, dev_data, device, pad_id):
    """Embed both sides with the encoder as is (layer 14 of 24, scaled) and mine or retrieve."""
    from xstilts import evaluation, modeling
    ev = settings["evaluation"]
    encoder = modeling.load_encoder(source).to(device)
    layer = evaluation.retrieval_layer(encoder, settings["model"]["retrieval_layer"])
    splits = {"test": data, **({"dev": dev_data} if dev_data else {})}
    embeddings = {}
    for split, path in splits.items():
        features, _ = _subset(load_prepared(path)[0], None, ev["max_examples"])
        embeddings[split] = tuple(evaluation.embed(encoder, features[col], layer, ev["batch_size"],
                                                   device, pad_id)
                                  for col in ("source_input_ids", "target_input_ids"))
    result = evaluation.retrieval_scores(settings["target"], embeddings, ev.get("bucc_k"))
    extra = {"retrieval_layer": layer}
    if settings["target"] == "bucc":
        extra["note"] = "hub bucc18 holds gold pairs only (no distractors): mining is easier than BUCC 2018"
    return result, len(embeddings["test"][0]), extra


def _evaluate_trained(settings, model_dir, data, device, pad_id, autocast):
    """Zero-shot: the target model's head (named by its training task) on one language."""
    from xstilts import evaluation, modeling
    ev, head = settings["evaluation"], settings["train_task"]
    model = modeling.load_trained(model_dir).to(device)
    features, examples, _ = load_prepared(data)
    features, examples = _subset(features, examples, ev["max_examples"])
    logits = evaluation.predict(model, head, features, ev["batch_size"], device, pad_id, autocast)
    result = evaluation.score(settings["target"], logits, features,
                              model.head_specs[head]["labels"], examples, settings["language"])
    return result, len(examples) if examples is not None else len(features), {}


# ---- collect: every cell's JSON -> one long table ----------------------------------------

def collect(files: list[str], out: str) -> None:
    """Cell JSONs and/or already collected parquets -> one parquet."""
    import pandas as pd
    frames = [pd.read_parquet(f) for f in files if f.endswith(".parquet")]
    rows = []
    for f in (f for f in files if not f.endswith(".parquet")):
        record = json.loads(Path(f).read_text())
        cell = record["cell"]
        for metric, value in record["metrics"].items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                rows.append({"model": cell["model_name"], "recipe": cell["recipe"],
                             "target": cell["target"], "language": cell["language"],
                             "seed": int(cell["seed"]), "metric": metric, "value": float(value),
                             "primary": metric == record["primary_metric"]})
    frame = pd.concat([*frames, pd.DataFrame(rows)], ignore_index=True).sort_values(["model", "recipe", "target", "language", "seed", "metric"])
    with atomic_file(out) as tmp:
        frame.to_parquet(tmp, index=False)


# ---- costs: every job's benchmark file -> GPU-hours per recipe and per target ------------

BENCHMARK = re.compile(
    r"(?P<model>[^/]+)/(?P<recipe>[^/]+)/seed(?P<seed>\d+)/"
    r"(?:(?P<stage>intermediate)/benchmark|target/(?P<task>[^/]+)/benchmark"
    r"|eval/(?P<target>[^/]+)/(?P<language>[^/]+)\.benchmark)\.tsv$")


def costs(results: str, gpus_per_model: dict, out: str) -> None:
    """Wall time, peak memory and GPU-hours of every job run in this working directory (also
    of cells no longer in the config: compute spent is spent). GPU-hours = wall x GPUs held."""
    import pandas as pd
    rows = []
    for path in sorted(Path(results).rglob("*benchmark.tsv")):
        match = BENCHMARK.search(path.as_posix())
        if not match:
            continue
        job = match.groupdict()
        bench = pd.read_csv(path, sep="\t").iloc[-1]
        stage = job["stage"] or ("target" if job["task"] else "evaluate")
        gpus = gpus_per_model.get(job["model"], 1)
        rows.append({"model": job["model"], "recipe": job["recipe"], "seed": int(job["seed"]),
                     "stage": stage, "task": job["task"] or job["target"] or "-",
                     "language": job["language"] or "-", "wall_hours": bench["s"] / 3600,
                     "gpu_hours": bench["s"] * gpus / 3600, "max_rss_mb": bench["max_rss"]})
    jobs = pd.DataFrame(rows)
    out = Path(out)
    with atomic_file(out / "costs_jobs.csv") as tmp:
        jobs.to_csv(tmp, index=False)
    by_recipe = jobs.pivot_table(index=["model", "recipe"], columns="stage", values="gpu_hours",
                                 aggfunc="sum", fill_value=0.0)
    by_recipe["total"] = by_recipe.sum(axis=1)
    by_task = jobs[jobs.stage != "intermediate"].pivot_table(
        index=["model", "task"], columns="stage", values="gpu_hours", aggfunc="sum", fill_value=0.0)
    peak = jobs.groupby("stage").max_rss_mb.max()
    text = ["# Compute spent (GPU-hours)", "",
            "GPU-hours = wall time x GPUs held, from each job's Snakemake `benchmark:` file. "
            "Target trainings are keyed by training task (xquad and mlqa share squad_v1); "
            "evaluations by target.", "", "## Per recipe", "", by_recipe.round(4).to_markdown(), "",
            "## Per training task and target", "", by_task.round(4).to_markdown(), "",
            "## Peak memory per stage (MB, resident)", "", peak.round(0).to_markdown(), ""]
    with atomic_file(out / "costs.md") as tmp:
        tmp.write_text("\n".join(text))
