"""Predictions and scores for every format, on dev (early stopping) and test (per language)."""

from __future__ import annotations

from collections import Counter

import numpy as np
import torch

from xstilts import metrics
from xstilts.formats import qa, tagging
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
    if task.format in ("pair_classification", "multiple_choice"):
        preds = [int(np.argmax(row)) for row in logits]
        gold = features["labels"]
        if task.metric == "accuracy_f1_mean":
            return metrics.accuracy_and_f1(preds, gold)
        return {"accuracy": metrics.accuracy(preds, gold)}
    if task.format == "tagging":
        return _score_tagging(task, logits, features, labels)
    if task.format == "extractive_qa":
        return _score_qa(task, logits, features, examples, language)
    if task.format == "dual_encoder":  # dev: the split's own queries against its candidates
        return dual_encoder_scores(task_name, [(features, logits)], [(features, logits)])
    raise ValueError(f"{task.format} is scored by retrieval_scores")


def chance_score(task_name: str, features, labels, examples=None) -> float:
    """The headline metric (0-100) of the best constant predictor on these rows: the difficulty
    study's chance level. Classification and multiple choice: every class tried (the majority
    class for accuracy; for QQP's accuracy/F1 mean the all-positive predictor can score more);
    token accuracy: the most frequent tag; other tagging metrics: the most frequent tag at every
    token, scored by the task's scorer; SQuAD 2.0: "no answer" everywhere (half of its dev set
    is unanswerable); other span QA: an empty answer (0). NaN for retrieval and dual encoders."""
    task = TASKS[task_name]
    if task.format in ("pair_classification", "multiple_choice"):
        gold = list(features["labels"])
        n = max(len(labels or ()), max(gold) + 1)
        return max(
            score(task_name, [np.eye(n)[c]] * len(gold), features, labels)[task.metric] for c in range(n)
        )
    if task.format == "tagging":
        words = [tag for tags in dict(zip(_sentences(features), features["tags"])).values() for tag in tags]
        tag, count = Counter(words).most_common(1)[0]
        if task.scorer is None:  # ccg: token accuracy
            return 100.0 * count / len(words)
        logits = [
            np.tile(np.eye(len(labels))[list(labels).index(tag)], (len(row), 1))
            for row in features["input_ids"]
        ]
        return _score_tagging(task, logits, features, labels)[task.metric]
    if task.format == "extractive_qa":
        references = {i: list(a["text"]) for i, a in zip(examples["id"], examples["answers"])}
        abstain = dict.fromkeys(references, "")
        if task.scorer == "squad_v2":
            return metrics.squad_v2_scores(abstain, references, dict.fromkeys(references, 1.0), 0.0)[
                task.metric
            ]
        return metrics.squad_scores(abstain, references)[task.metric]
    return float("nan")


def _score_tagging(task, logits, features, labels):
    gold, pred = tagging_words(logits, features, labels)
    accuracy = metrics.token_accuracy(gold, pred)
    if task.scorer is None:  # ccg: token accuracy
        return {"token_accuracy": accuracy}
    # XTREME scored UPOS with seqeval on raw tags (runs of a tag form one span): udpos_f1.
    return {"f1": getattr(metrics, task.scorer)(gold, pred), "token_accuracy": accuracy}


def _sentences(features):
    """Sentence of each row; data prepared before windows existed has one row per sentence."""
    columns = getattr(features, "column_names", features)
    return features["sentence"] if "sentence" in columns else range(len(features["tags"]))


def _sentence_rows(features, logits=None):
    """(sentence, n_words, word_ids, token predictions) per window row."""
    sentences = _sentences(features)
    predictions = (
        [np.argmax(row, -1) for row in logits]
        if logits is not None
        else [[0] * len(w) for w in features["word_ids"]]
    )
    return zip(sentences, map(len, features["tags"]), features["word_ids"], predictions)


def tagging_words(logits, features, labels):
    """Gold and predicted tags per sentence, windows stitched together. A word no window
    predicts (cut off by an old truncating encoding, or a window left out of a subset) is
    dropped from gold and prediction alike, as XTREME drops words it truncated."""
    tags = dict(zip(_sentences(features), features["tags"]))
    gold, pred = [], []
    for sentence, words in tagging.stitch(_sentence_rows(features, logits)).items():
        kept = [w for w, label in enumerate(words) if label is not None]
        gold.append([tags[sentence][w] for w in kept])
        pred.append([labels[words[w]] for w in kept])
    return gold, pred


def tagging_coverage(features) -> dict:
    """Sentences, windows and words of tagging features, and the words no window covers."""
    words = tagging.stitch(_sentence_rows(features))
    windows = Counter(_sentences(features))
    return {
        "sentences": len(words),
        "windows": len(features["tags"]),
        "split_sentences": sum(n > 1 for n in windows.values()),
        "words": sum(len(w) for w in words.values()),
        "words_unscored": sum(label is None for w in words.values() for label in w),
    }


def _score_qa(task, logits, features, examples, language):
    starts = np.array([row[0] for row in logits], dtype=object)
    ends = np.array([row[1] for row in logits], dtype=object)
    v2 = task.scorer == "squad_v2"
    # SQuAD 2.0: un-blanked answers + null odds, so the best-threshold search sees the whole
    # range (evaluate-v2.0.py with a na_prob file); exact/f1 abstain at odds > 0, the model's
    # own decision (utils_qa / XTREME null_score_diff_threshold 0).
    predictions, null_odds = qa.postprocess(
        examples, features, starts, ends, with_null=v2, null_threshold=None
    )
    references = {i: list(a["text"]) for i, a in zip(examples["id"], examples["answers"])}
    if v2:
        return metrics.squad_v2_scores(predictions, references, null_odds, na_prob_thresh=0.0)
    return metrics.squad_scores(predictions, references, language=language if task.scorer == "mlqa" else None)


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


def retrieval_scores(task_name: str, embeddings: dict, k: int, texts: dict | None = None) -> dict:
    """embeddings: split -> (source, target) arrays; row i of source translates row i of target.
    texts: split -> (source texts, target texts); BUCC merges duplicate sentences by text and
    drops a sentence found under several ids, as XTREME's mine_bitext / bucc_eval do."""
    src, tgt = embeddings["test"]
    if TASKS[task_name].scorer == "tatoeba_accuracy":
        # XTREME's direction: each English sentence queries the other language's sentences.
        return {"accuracy": metrics.retrieval_accuracy(tgt, src)}
    if texts is None:
        raise ValueError("BUCC scoring needs the sentence texts (to merge duplicates as XTREME does)")

    def mine(split):
        split_src, split_tgt = embeddings[split]
        src_texts, tgt_texts = texts[split]
        src_ids, tgt_ids = ids(len(split_src)), ids(len(split_tgt))
        candidates = metrics.bucc_candidates(
            split_src, split_tgt, src_ids, tgt_ids, k=k, src_texts=src_texts, tgt_texts=tgt_texts
        )
        return candidates, set(zip(src_ids, tgt_ids))

    ids = lambda n: [str(i) for i in range(n)]
    threshold, dev_f1 = metrics.bucc_best_threshold(*mine("dev"))
    result = metrics.bucc_f1(*mine("test"), threshold)
    return {**result, "threshold": float(threshold), "dev_f1": float(dev_f1)}


def dual_encoder_scores(task_name: str, query_sets, pool_sets, k: int = 20) -> dict:
    """mAP@k (0-100) of the queries of `query_sets` against the candidates of `pool_sets`;
    each set is (prepared dual-encoder features, their embeddings in row order). A query is
    relevant to the candidates that share one of its keys (xstilts.formats.dual_encoder)."""

    def rows(sets, kind):
        vectors, keys = [], []
        for features, embeddings in sets:
            for row_kind, row_keys, vector in zip(features["kind"], features["keys"], embeddings):
                if row_kind == kind:
                    keys.append(row_keys)
                    vectors.append(vector)
        if not vectors:
            raise ValueError(f"{task_name}: no {kind} rows to score (check the prepared data)")
        return np.stack(vectors), keys

    queries, query_keys = rows(query_sets, "query")
    candidates, candidate_keys = rows(pool_sets, "candidate")
    by_key: dict[str, set[int]] = {}
    for index, keys in enumerate(candidate_keys):
        for key in keys:
            by_key.setdefault(key, set()).add(index)
    relevant = [set().union(*(by_key.get(key, set()) for key in keys)) for keys in query_keys]
    value = metrics.mean_average_precision_at_k(queries, candidates, relevant, k)
    return {TASKS[task_name].metric: value}
