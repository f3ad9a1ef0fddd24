"""Predictions and scores for every format, on dev (early stopping) and test (per language)."""

from __future__ import annotations

import numpy as np
import torch

from xstilts import metrics
from xstilts.formats import qa, tagging
from xstilts.tasks import TASKS

MODEL_KEYS = ("input_ids", "attention_mask", "labels", "start_positions", "end_positions")


def _pad(rows, value):
    """Right-pad nested int lists to one rectangular tensor (handles choices x tokens)."""
    if isinstance(rows[0][0], list):
        width = max(len(r) for row in rows for r in row)
        return torch.stack([_pad([r + [value] * (width - len(r)) for r in row], value)
                            for row in rows])
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
            pad = {"input_ids": pad_id, "attention_mask": 0}.get(key, -100)
            batch[key] = _pad(values, pad)
        else:
            batch[key] = torch.tensor(values)
    return batch


def to_device(batch: dict, device) -> dict:
    return {k: v.to(device) for k, v in batch.items()}


@torch.no_grad()
def predict(model, task: str, dataset, batch_size: int, device, pad_id: int, autocast=None):
    """Logits for every row of a tokenized dataset, in order (numpy; QA: (start, end))."""
    model.eval()
    columns = [c for c in MODEL_KEYS if c in dataset.column_names and c not in
               ("labels", "start_positions", "end_positions")]
    out = []
    for start in range(0, len(dataset), batch_size):
        rows = dataset.select_columns(columns)[start:start + batch_size]
        features = [dict(zip(rows, values)) for values in zip(*rows.values())]
        batch = to_device(collate(features, pad_id), device)
        with autocast() if autocast else torch.autocast("cpu", enabled=False):
            _, logits = model(task, batch)
        if isinstance(logits, tuple):
            out.extend(zip(*(l.float().cpu().numpy() for l in logits)))
        else:
            out.extend(logits.float().cpu().numpy())
    return out


def score(task_name: str, logits, features, labels, examples=None, language: str | None = None) -> dict:
    """Metric dict (0-100) of a trained task's predictions, as the benchmark scores them.
    `labels` are the head's label names (tagging); `examples` the raw rows (QA)."""
    task = TASKS[task_name]
    if task.format in ("pair_classification", "multiple_choice"):
        preds = [int(np.argmax(l)) for l in logits]
        gold = features["labels"]
        if task.metric == "accuracy_f1_mean":
            return metrics.accuracy_and_f1(preds, gold)
        return {"accuracy": metrics.accuracy(preds, gold)}
    if task.format == "tagging":
        return _score_tagging(task_name, logits, features, labels)
    if task.format == "extractive_qa":
        return _score_qa(task_name, logits, features, examples, language)
    raise ValueError(f"{task.format} is scored by retrieval_scores")


def _score_tagging(task_name, logits, features, labels):
    gold, pred = [], []
    for row_logits, word_ids, tags in zip(logits, features["word_ids"], features["tags"]):
        ids = tagging.words_from_tokens(np.argmax(row_logits, -1)[:len(word_ids)], word_ids, len(tags))
        gold.append(list(tags))
        pred.append([labels[i] for i in ids])
    accuracy = metrics.token_accuracy(gold, pred)
    if TASKS[task_name].metric == "token_accuracy":
        return {"token_accuracy": accuracy}
    # XTREME scored UPOS with seqeval on raw tags (runs of a tag form one span): udpos_f1.
    f1 = metrics.udpos_f1 if task_name == "udpos" else metrics.seqeval_f1
    return {"f1": f1(gold, pred), "token_accuracy": accuracy}


def _score_qa(task_name, logits, features, examples, language):
    starts = np.array([l[0] for l in logits], dtype=object)
    ends = np.array([l[1] for l in logits], dtype=object)
    v2 = task_name == "squad_v2"
    predictions, null_odds = qa.postprocess(examples, features, starts, ends, with_null=v2)
    references = {i: list(a["text"]) for i, a in zip(examples["id"], examples["answers"])}
    if v2:
        return metrics.squad_v2_scores(predictions, references, null_odds)
    return metrics.squad_scores(predictions, references,
                                language=language if task_name == "mlqa" else None)


@torch.no_grad()
def embed(encoder, input_ids: list[list[int]], layer: int, batch_size: int, device, pad_id: int):
    """Mean over non-pad tokens of hidden layer `layer` (0 = embeddings), L2-normalised."""
    encoder.eval()
    out = []
    for start in range(0, len(input_ids), batch_size):
        ids = _pad(input_ids[start:start + batch_size], pad_id).to(device)
        mask = (ids != pad_id).long()
        hidden = encoder(input_ids=ids, attention_mask=mask, output_hidden_states=True).hidden_states[layer]
        summed = (hidden.float() * mask.unsqueeze(-1)).sum(1) / mask.sum(1, keepdim=True).clamp(min=1)
        out.append(torch.nn.functional.normalize(summed, dim=-1).cpu().numpy())
    return np.concatenate(out)


def retrieval_layer(encoder, configured: int | None) -> int:
    """Layer 14 of 24 (the paper), scaled to the model's depth unless configured."""
    n = encoder.config.num_hidden_layers
    return configured or max(1, round(n * 14 / 24))


def retrieval_scores(task_name: str, embeddings: dict, k: int) -> dict:
    """embeddings: split -> (source, target) arrays; row i of source translates row i of target."""
    src, tgt = embeddings["test"]
    if task_name == "tatoeba":
        # XTREME's direction: each English sentence queries the other language's sentences.
        return {"accuracy": metrics.retrieval_accuracy(tgt, src)}
    ids = lambda n: [str(i) for i in range(n)]
    dev_src, dev_tgt = embeddings["dev"]
    dev_cands = metrics.bucc_candidates(dev_src, dev_tgt, ids(len(dev_src)), ids(len(dev_tgt)), k=k)
    threshold, dev_f1 = metrics.bucc_best_threshold(dev_cands, set(zip(ids(len(dev_src)), ids(len(dev_tgt)))))
    cands = metrics.bucc_candidates(src, tgt, ids(len(src)), ids(len(tgt)), k=k)
    result = metrics.bucc_f1(cands, set(zip(ids(len(src)), ids(len(tgt)))), threshold)
    return {**result, "threshold": float(threshold), "dev_f1": float(dev_f1)}
