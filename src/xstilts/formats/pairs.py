"""Sentence-pair classification (NLI, paraphrase): both texts in one sequence, label on <s>."""

import numpy as np

from xstilts import metrics


def encode(batch, tokenizer, settings, labels):
    enc = tokenizer(batch["text_a"], batch["text_b"], truncation=True, max_length=settings["max_length"])
    return {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"], "labels": batch["label"]}


def score(task, logits, features, labels, examples=None, language=None) -> dict:
    """Accuracy (QQP: the mean of accuracy and F1) of the highest logit; multiple choice too."""
    preds = [int(np.argmax(row)) for row in logits]
    gold = features["labels"]
    if task.metric == "accuracy_f1_mean":
        return metrics.accuracy_and_f1(preds, gold)
    return {"accuracy": metrics.accuracy(preds, gold)}


def chance(task, features, labels, examples=None) -> float:
    """Every class tried as the constant prediction: the majority class for accuracy; for QQP's
    accuracy/F1 mean the all-positive predictor can score more."""
    gold = list(features["labels"])
    n = max(len(labels or ()), max(gold) + 1)
    return max(score(task, [np.eye(n)[c]] * len(gold), features, labels)[task.metric] for c in range(n))
