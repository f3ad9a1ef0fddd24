"""The workflow's stages; each Snakemake rule calls one through the CLI with its config slice.

Every stage writes its output into a temporary sibling and renames it into place, so an
interrupted job never leaves something a later run takes as done.
"""

from __future__ import annotations

import functools
import json
import os
import platform
import shutil
import time
from importlib import metadata
from pathlib import Path

from xstilts import prepared
from xstilts.atomic import atomic_dir, write_json
from xstilts.hub import Hub
from xstilts.tasks import TASKS


@functools.cache  # the installed packages: one lookup per process (the warm one's, for its jobs)
def versions() -> dict:
    names = ("xstilts", "torch", "transformers", "datasets", "tokenizers", "peft")
    out = {"python": platform.python_version()}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def torch_device(ids: list[str], precision: str = "fp32", rank: int = 0):
    """(device, autocast factory or None): bf16 autocast where `precision` asks for it, on a GPU
    that supports it."""
    import torch

    from xstilts import devices

    device, dtype = devices.torch_device_and_dtype(ids, precision, rank)
    if dtype == torch.float32:
        return device, None
    return device, lambda: torch.autocast(device.type, dtype=dtype)


# ---- prepare: load + tokenize once per tokenizer x task x language x split ---------------


def task_labels(task_name: str, hub: Hub) -> list[str]:
    """Declared labels, or (ccg) the tag set of the training split; QA and retrieval have none."""
    from xstilts.formats import FORMATS  # numpy, the metrics: not for `xstilts validate`

    task = TASKS[task_name]
    if task.labels or not FORMATS[task.format].labels_from_data:
        return list(task.labels)
    train = task.load(hub, "train", "en")
    return sorted({t for tags in train["tags"] for t in tags})


def load_split(task_name: str, hub: Hub, split: str, language: str, data: dict, local: dict | None = None):
    """Canonical rows: from the registry's source, or a local dataset the config names."""
    if local:
        from xstilts import local_data

        return local_data.load(task_name, language, split, local, hub if hub.mirror else None)
    task = TASKS[task_name]
    # a cell's data settings hold every option; an option left out takes the loader's default
    # (the schema's), so a check written before an option existed still reads the same rows
    return task.load(hub, split, language, **{o: data[o] for o in task.options if o in data})


def prepare(settings: dict, out: str, hub: Hub) -> None:
    from transformers import AutoTokenizer

    from xstilts.formats import FORMATS

    task, split, language = settings["task"], settings["split"], settings["language"]
    fmt = FORMATS[TASKS[task].format]
    examples = load_split(task, hub, split, language, settings["data"], settings.get("local_source"))
    if len(examples) == 0:
        raise ValueError(f"{task} has no {split} rows in {language}: check the source")
    tokenizer = AutoTokenizer.from_pretrained(hub.model(settings["tokenizer"]))  # after the data's checks
    labels = task_labels(task, hub)
    info = {}
    if fmt.repair:
        examples, info = fmt.repair(examples, split)
    features = examples.map(
        fmt.encoder(tokenizer, settings["data"], labels, split),
        batched=True,
        with_indices=True,
        remove_columns=examples.column_names,
        desc=f"tokenize {task}/{language}/{split}",
    )
    with atomic_dir(out) as tmp:
        prepared.save(
            tmp,
            features,
            examples if fmt.keeps_examples and split != "train" else None,
            labels,
            {"examples": len(examples), "features": len(features), **info, "settings": settings},
        )


# ---- train: intermediate (recipe tasks) or finetune (one training task) ------------------


def train(
    settings: dict,
    out: str,
    checkpoint_dir: str,
    data: dict[str, list[str]],
    source: str,
    gpus: int = 1,
    stop_after: int | None = None,
) -> None:
    """`data`: {"train": [...], "dev": [...]}, one prepared split per entry of settings["tasks"];
    `source`: the encoder to start from (the recipe's intermediate model, or the pretrained one).
    With more than one GPU held, one process per GPU trains it data-parallel (training.launch):
    spawned here, not by torchrun, so that this process holds the GPU slots for all of them."""
    from xstilts import devices, training

    started = time.time()
    with devices.acquire_gpus(gpus) as ids:
        world = devices.data_parallel_size(ids)
        job = (settings, out, checkpoint_dir, data, source, ids, stop_after, started)
        if world > 1:
            training.launch(_train_process, world, job, backend="nccl")
        else:
            _train_process(0, 1, *job)
    shutil.rmtree(checkpoint_dir, ignore_errors=True)


def _train_process(rank, world, settings, out, checkpoint_dir, data, source, ids, stop_after, started):
    """One process of a training job (rank 0 of 1 without data parallelism); rank 0 writes."""
    from transformers import AutoTokenizer

    from xstilts import atomic, devices, modeling, training

    seed, cfg = settings["seed"], settings["training"]
    device, autocast = torch_device(ids, cfg.get("precision", "fp32"), rank)
    training.seed_everything(seed)
    tokenizer = AutoTokenizer.from_pretrained(source)
    train_sets, dev_sets, specs, counts, held_out, chance = {}, {}, {}, {}, {}, {}
    es = cfg.get("early_stopping") or {}
    by_task = _by_task(settings["tasks"], data)
    for task, parts in by_task.items():
        features, dev_features, dev_examples, labels, counts[task] = _task_data(
            task, parts, cfg["max_train_examples"], settings.get("budget"), seed
        )
        train_sets[task] = features
        dev_sets[task] = prepared.subset(dev_features, dev_examples, es.get("dev_examples"), seed)
        specs[task] = {"format": TASKS[task].format, "labels": labels}
        if _records_difficulty(settings, es, by_task, task):
            from xstilts.evaluation import chance_score

            chance[task] = chance_score(task, dev_features, labels, dev_examples)
            held_out[task] = prepared.subset(
                dev_features, dev_examples, HELD_OUT_EXAMPLES, seed, start=es["dev_examples"]
            )
    encoder = modeling.load_encoder(source, cfg["finetune"], cfg["lora"])
    model = modeling.MultiTaskModel(encoder, specs)
    if settings.get("chain"):
        carry_head(model, source, settings["chain"][-2], settings["chain"][-1])
    model = model.to(device)
    history = training.train(
        model,
        train_sets,
        dev_sets,
        cfg,
        settings.get("sampling") or {},
        seed,
        device,
        tokenizer.pad_token_id,
        Path(checkpoint_dir),
        autocast,
        stop_after=stop_after,
        fingerprint=training.fingerprint(settings),
    )
    if rank:
        return
    if chance:
        history["chance"] = chance
        history["held_out"] = {
            task: _held_out_record(model, task, rows, specs[task]["labels"], cfg, device, tokenizer, autocast)
            for task, rows in held_out.items()
            if len(rows[0])
        }
    with atomic_dir(out, size_hint=atomic.payload_bytes(model.state_dict())) as tmp:
        modeling.save(model, tokenizer, tmp, with_heads=settings["stage"] == "finetune")
        write_json(
            tmp / "training.json",
            {
                "history": history,
                "train_examples": counts,  # per task and language, after the budget
                "settings": settings,
                "source": source,
                "versions": versions(),
                "device": devices.describe_device(ids),
                "wall_seconds": round(time.time() - started, 2),
            },
        )


# Dev examples after early stopping's subset, scored once with the chosen weights: the difficulty
# study's held-out measure (the subset picked the checkpoint, so its score is biased upwards).
HELD_OUT_EXAMPLES = 5000


def _records_difficulty(settings: dict, es: dict, by_task: dict, task: str) -> bool:
    """A single-task intermediate training whose early stopping scores a dev subset records what
    the difficulty study reads: the chance level of the task's dev split (evaluation.chance_score)
    and the chosen weights' scores on the dev examples after the subset (cheap: one pass over at
    most HELD_OUT_EXAMPLES; none when the subset is the whole split)."""
    from xstilts.formats import FORMATS

    return (
        settings["stage"] == "intermediate"
        and len(by_task) == 1
        and bool(es.get("dev_examples"))
        and FORMATS[TASKS[task].format].chance is not None
    )


def _held_out_record(model, task, rows, labels, cfg, device, tokenizer, autocast) -> dict:
    """The chosen weights' scores on the held-out dev rows, and their number."""
    from xstilts import training

    features, examples = rows
    _, scores = training.dev_score(
        model, task, rows, cfg["batch_size"] * 2, device, tokenizer.pad_token_id, autocast, labels
    )
    return {"examples": len(examples if examples is not None else features), "scores": scores}


def _by_task(tasks: list, data: dict) -> dict[str, list[tuple[str, str, str]]]:
    """task -> [(language, train dir, dev dir)]: a task in several languages trains one head."""
    groups: dict = {}
    for (task, language), train_dir, dev_dir in zip(tasks, data["train"], data["dev"], strict=True):
        groups.setdefault(task, []).append((language, train_dir, dev_dir))
    return groups


def _task_data(task: str, parts: list, cap: int | None, budget: dict | None, seed: int):
    """One task's training rows over its languages: each language capped (max_train_examples,
    a seeded shuffle: parallel sources stay aligned), then the recipe's budget
    (xstilts.recipes.allocate); dev rows of all languages. Returns (train, dev features, dev
    examples or None, labels, {language: training rows})."""
    import datasets

    from xstilts import recipes

    languages, trains, devs, dev_examples, labels = [], [], [], [], None
    for language, train_dir, dev_dir in parts:
        features, _, these = prepared.load(train_dir)
        if labels is not None and these != labels:
            raise ValueError(
                f"{task}: the labels of {language} ({these}) differ from {languages[0]}'s ({labels})"
            )
        labels = these
        if cap:
            features = features.shuffle(seed=seed).select(range(min(cap, len(features))))
        languages.append(language)
        trains.append(features)
        dev_features, examples, _ = prepared.load(dev_dir)
        devs.append(dev_features)
        dev_examples.append(examples)
    if budget is not None or len(parts) > 1:
        spec = budget or dict(recipes.DEFAULT_BUDGET)
        positions = recipes.allocate([len(f) for f in trains], spec, seed, languages)
        trains = [f.select(p) for f, p in zip(trains, positions)]
    counts = {language: len(f) for language, f in zip(languages, trains)}
    if len(parts) == 1:
        return trains[0], devs[0], dev_examples[0], labels, counts
    examples = None if dev_examples[0] is None else datasets.concatenate_datasets(dev_examples)
    train, dev = datasets.concatenate_datasets(trains), datasets.concatenate_datasets(devs)
    return train, dev, examples, labels, counts


def carry_head(model, source: str, previous: str, task: str) -> bool:
    """A chain's stage continues its previous stage's head where both have the same format and
    the format carries its head (multiple choice: one score per choice; XTREME-R's run_xcopa.py
    reloads the whole SIQA model for COPA). Returns whether a head was carried."""
    import torch

    from xstilts import modeling
    from xstilts.formats import FORMATS

    specs = json.loads((Path(source) / modeling.HEADS_SPEC).read_text())
    fmt = TASKS[task].format
    if not (specs.get(previous, {}).get("format") == fmt and FORMATS[fmt].carries_head):
        return False
    state = torch.load(Path(source) / modeling.HEADS_FILE, weights_only=True)
    head = {k.split(".", 1)[1]: v for k, v in state.items() if k.startswith(previous + ".")}
    model.heads[task].load_state_dict(head)
    return True


# ---- evaluate: one trained model x target, every language, the model loaded once -----------


def evaluate(
    settings: dict,
    source: str,
    data: str | list[str],
    out: str | list[str],
    batch_size: int,
    gpus: int = 1,
    dev_data: str | list[str] | None = None,
    revisions: dict | None = None,
    pool: list[str] | None = None,
    languages: list[str] | None = None,
) -> None:
    """`source`: the fine-tuned model, or for retrieval targets the encoder as is. `languages`:
    the job's languages, with `data`, `out` (and `dev_data`) lists in the same order; without
    it one language, settings["language"]. `revisions`: the commit (or mirror fingerprint) of
    each dataset and model read; `pool`: the prepared splits whose candidates a dual-encoder
    target's queries retrieve from. Each cell JSON records its own evaluation seconds
    (prediction + scoring) and the job's start-up seconds (process start to model on device)."""
    from xstilts import devices, evaluation
    from xstilts.settings import cell_settings
    from xstilts.warm import STARTED_ENV, process_started

    # start-up counts from the job's own process start (interpreter and imports included); a
    # warm child is told when its job's process started
    warm = STARTED_ENV in os.environ
    started = float(os.environ[STARTED_ENV]) if warm else process_started()
    if languages is None:
        languages, data, out, dev_data = [settings["language"]], [data], [out], [dev_data]
    dev_data = dev_data or [None] * len(languages)
    if not len(languages) == len(data) == len(out) == len(dev_data):
        raise ValueError(
            f"evaluate: {len(languages)} languages but {len(data)} --data, {len(out)} --out and "
            f"{len(dev_data)} --dev-data: give one of each per language, in the same order"
        )
    target = settings["target"]
    with devices.acquire_gpus(devices.held_slots("evaluate", gpus)) as ids:
        device, autocast = torch_device(ids, settings["evaluation"].get("precision", "fp32"))
        run = evaluation.scorer(settings, source, device, autocast, pool)
        startup = time.time() - started
        job = {
            "versions": versions(),
            "revisions": revisions or {},
            "device": devices.describe_device(ids),
        }
        for language, lang_data, lang_out, lang_dev in zip(languages, data, out, dev_data, strict=True):
            began = time.time()
            cell = cell_settings(settings, language, batch_size)
            result, n, extra = run(cell, lang_data, lang_dev)
            write_json(
                lang_out,
                {
                    "cell": {k: cell[k] for k in ("model_name", "recipe", "target", "language", "seed")},
                    "metrics": result,
                    "primary_metric": TASKS[target].metric,
                    "n_examples": n,
                    "settings": cell,
                    **job,
                    "evaluation_seconds": round(time.time() - began, 3),
                    "job": {"startup_seconds": round(startup, 3), "languages": list(languages), "warm": warm},
                    **({"note": TASKS[target].caveat} if TASKS[target].caveat else {}),
                    **extra,
                },
            )
