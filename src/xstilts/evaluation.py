"""Predictions and scores, on dev (early stopping) and test (per language): batching, a trained
head's logits, the encoder's sentence embeddings, and the evaluate stage's scorers. What differs
by format comes from its entry in ``xstilts.formats.FORMATS``.
"""

from __future__ import annotations

import numpy as np
import torch

from xstilts import modeling, prepared
from xstilts.formats import FORMATS, dual_encoder, retrieval
from xstilts.tasks import TASKS

MODEL_KEYS = (
    "input_ids",
    "attention_mask",
    "labels",
    "start_positions",
    "end_positions",
    "query_input_ids",  # dual-encoder training pairs
    "query_attention_mask",
    "candidate_input_ids",
    "candidate_attention_mask",
)


def _pad(rows, value):
    """Right-pad nested int lists to one rectangular tensor (handles choices x tokens)."""
    if isinstance(rows[0][0], list):
        width = max(len(r) for row in rows for r in row)
        return torch.stack([_pad([r + [value] * (width - len(r)) for r in row], value) for row in rows])
    width = max(len(r) for r in rows)
    return torch.tensor([r + [value] * (width - len(r)) for r in rows])


def collate(features: list[dict], pad_id: int) -> dict:
    """Dynamic padding: each batch is padded to its own longest sequence."""
    batch = {}
    for key in MODEL_KEYS:
        if key not in features[0]:
            continue
        values = [f[key] for f in features]
        if isinstance(values[0], list):
            pad = pad_id if key.endswith("input_ids") else 0 if key.endswith("attention_mask") else -100
            batch[key] = _pad(values, pad)
        else:
            batch[key] = torch.tensor(values)
    return batch


def model_batch(dataset, rows, columns: list[str], pad_id: int, device) -> dict:
    """Rows of a tokenized dataset (a slice or indices) -> padded tensors on `device`; the one
    batch builder of training and prediction."""
    picked = dataset.select_columns(columns)[rows]
    features = [dict(zip(picked, values)) for values in zip(*picked.values())]
    return {k: v.to(device) for k, v in collate(features, pad_id).items()}


@torch.no_grad()
def predict(model, task: str, dataset, batch_size: int, device, pad_id: int, autocast=None):
    """Logits for every row of a tokenized dataset, in order (numpy; QA: (start, end))."""
    model.eval()
    columns = [
        c
        for c in MODEL_KEYS
        if c in dataset.column_names and c not in ("labels", "start_positions", "end_positions")
    ]
    out = []
    for start in range(0, len(dataset), batch_size):
        batch = model_batch(dataset, slice(start, start + batch_size), columns, pad_id, device)
        with autocast() if autocast else torch.autocast("cpu", enabled=False):
            _, logits = model(task, batch)
        if isinstance(logits, tuple):
            out.extend(zip(*(part.float().cpu().numpy() for part in logits)))
        else:
            out.extend(logits.float().cpu().numpy())
    return out


def score(task_name: str, logits, features, labels, examples=None, language: str | None = None) -> dict:
    """Metric dict (0-100) of a trained task's predictions, as the benchmark scores them.
    `labels` are the head's label names (tagging); `examples` the raw rows (QA)."""
    task = TASKS[task_name]
    fmt = FORMATS[task.format]
    if fmt.score is None:
        raise ValueError(f"{task.format} is scored from embeddings (xstilts.formats.{task.format}.scores)")
    return fmt.score(task, logits, features, labels, examples, language)


def chance_score(task_name: str, features, labels, examples=None) -> float:
    """The headline metric (0-100) of the best constant predictor on these rows: the difficulty
    study's chance level (each format's `chance` says which predictor). NaN for formats with
    none (retrieval, dual encoders)."""
    task = TASKS[task_name]
    chance = FORMATS[task.format].chance
    return float("nan") if chance is None else chance(task, features, labels, examples)


@torch.no_grad()
def embed(encoder, input_ids: list[list[int]], layer: int, batch_size: int, device, pad_id: int):
    """Mean over non-pad tokens of hidden layer `layer` (0 = embeddings), L2-normalised."""
    encoder.eval()
    out = []
    for start in range(0, len(input_ids), batch_size):
        ids = _pad(input_ids[start : start + batch_size], pad_id).to(device)
        mask = (ids != pad_id).long()
        hidden = encoder(input_ids=ids, attention_mask=mask, output_hidden_states=True).hidden_states[layer]
        summed = (hidden.float() * mask.unsqueeze(-1)).sum(1) / mask.sum(1, keepdim=True).clamp(min=1)
        out.append(torch.nn.functional.normalize(summed, dim=-1).cpu().numpy())
    return np.concatenate(out)


def retrieval_layer(encoder, layer: int) -> int:
    """The hidden state to pool (0 = embeddings), checked against the model's depth."""
    n = encoder.config.num_hidden_layers
    if layer is None or not 0 <= layer <= n:
        raise ValueError(
            f"retrieval_layer {layer} does not exist in a {n}-layer model: set "
            f"models.<name>.retrieval_layer to a value in 0..{n}"
        )
    return layer


# ---- the evaluate stage: one scorer per job, called once per language -----------------------


def scorer(settings: dict, source: str, device, autocast, pool: list[str] | None = None):
    """The job's scorer: run(cell settings, prepared test split, prepared dev split or None) ->
    (metric dict, example count, extra cell JSON fields). Retrieval targets embed with the
    encoder as is; the others predict with the trained head named by their training task."""
    if TASKS[settings["target"]].reads_encoder:
        return _encoder_scorer(settings, source, device)
    return _trained_scorer(settings, source, device, autocast, pool)


def _encoder_scorer(settings, source, device):
    """Embed both sides with the encoder as is (the model's retrieval layer) and mine or retrieve."""
    encoder = modeling.load_encoder(source).to(device)
    pad_id = modeling.pad_id(encoder, source)
    layer = retrieval_layer(encoder, settings["model"]["retrieval_layer"])

    def run(cell, data, dev_data):
        ev = cell["evaluation"]
        splits = {"test": data, **({"dev": dev_data} if dev_data else {})}
        embeddings, texts = {}, {}
        for split, path in splits.items():
            features, _ = prepared.subset(prepared.load(path)[0], None, ev["max_examples"])
            embeddings[split] = tuple(
                embed(encoder, features[col], layer, ev["batch_size"], device, pad_id)
                for col in ("source_input_ids", "target_input_ids")
            )
            mining = TASKS[cell["target"]].scorer == "bucc_mining"
            if mining and "source" not in features.column_names:
                raise ValueError(
                    f"{path} was prepared without the sentence texts BUCC scoring needs "
                    f"(an older xstilts): delete it and rerun to prepare it again"
                )
            texts[split] = (features["source"], features["target"]) if mining else None
        result = retrieval.scores(TASKS[cell["target"]], embeddings, ev.get("bucc_k"), texts)
        # the model that embedded: the intermediate encoder (XTREME, X-STILTs) or the SQuAD one (XTREME-R)
        embedder = cell.get("protocol", {}).get("tatoeba_encoder", "intermediate")
        return result, len(embeddings["test"][0]), {"retrieval_layer": layer, "retrieval_encoder": embedder}

    return run


def _trained_scorer(settings, model_dir, device, autocast, pool=None):
    """Zero-shot: the target model's head (named by its training task), one language a call."""
    head = settings["train_task"]
    fmt = FORMATS[TASKS[settings["target"]].format]
    model = modeling.load_trained(model_dir).to(device)
    pad_id = modeling.pad_id(model.encoder, model_dir)
    pool_embedded = {}  # a dual encoder's candidate pool: embedded once for all languages

    def run(cell, data, dev_data):
        ev = cell["evaluation"]
        features, examples, _ = prepared.load(data)
        features, examples = prepared.subset(features, examples, ev["max_examples"])
        if fmt.pooled:
            if not pool_embedded:
                pool_embedded.update(_embed_pool(model, head, pool or [data], ev, device, pad_id, autocast))
            return _score_queries(cell, model, head, features, pool_embedded, device, pad_id, autocast)
        logits = predict(model, head, features, ev["batch_size"], device, pad_id, autocast)
        result = score(
            cell["target"], logits, features, model.head_specs[head]["labels"], examples, cell["language"]
        )
        return (result, *fmt.report(features, examples))

    return run


def _embed_pool(model, head, pool, ev, device, pad_id, autocast) -> dict:
    """The candidates of every pool split (LAReQA: all languages at once; Mewsli-X: the shared
    candidate set), embedded by the one tower."""
    sets, languages = [], []
    for path in pool:
        rows = prepared.of_kind(prepared.load(path)[0], "candidate")
        sets.append((rows, predict(model, head, rows, ev["batch_size"], device, pad_id, autocast)))
        languages.append(prepared.language(path))
    return {"sets": sets, "languages": languages}


def _score_queries(cell, model, head, features, pool, device, pad_id, autocast):
    """One cell's queries against the embedded pool."""
    queries = prepared.of_kind(features, "query")
    logits = predict(model, head, queries, cell["evaluation"]["batch_size"], device, pad_id, autocast)
    result = dual_encoder.scores(TASKS[cell["target"]], [(queries, logits)], pool["sets"])
    candidates = sum(len(rows) for rows, _ in pool["sets"])
    return result, len(queries), {"pool": {"languages": pool["languages"], "candidates": candidates}}
