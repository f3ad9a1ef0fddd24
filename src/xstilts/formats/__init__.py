"""Task formats: how canonical rows become model inputs, and model outputs become predictions.

Each format module has ``encode(batch, tokenizer, settings, labels, split)`` for
``datasets.map(batched=True)``; the model heads live in ``xstilts.modeling`` and scoring in
``xstilts.evaluation``.
"""

from xstilts.formats import choice, pairs, qa, retrieval, tagging

ENCODERS = {
    "pair_classification": pairs.encode,
    "multiple_choice": choice.encode,
    "tagging": tagging.encode,
    "retrieval": retrieval.encode,
}


def encode_fn(fmt: str, tokenizer, settings: dict, labels, split: str):
    """The batched map function that tokenizes one split of a task."""
    if fmt == "extractive_qa":
        kw = dict(max_length=settings["max_length"], stride=settings["doc_stride"])
        if split == "train":
            return lambda batch: qa.encode_train(batch, tokenizer, **kw)
        return lambda batch: qa.encode_eval(batch, tokenizer, **kw)
    return lambda batch: ENCODERS[fmt](batch, tokenizer, settings, labels)
