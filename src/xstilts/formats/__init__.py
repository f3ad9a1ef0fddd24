"""Task formats: how canonical rows become model inputs, and model outputs become predictions.

Each format module has ``encode(batch, tokenizer, settings, labels)`` for
``datasets.map(batched=True)`` (tagging also takes the rows' indices: a long sentence becomes
several rows); the model heads live in ``xstilts.modeling`` and scoring in ``xstilts.evaluation``.
"""

from xstilts.formats import choice, dual_encoder, pairs, qa, retrieval, tagging

ENCODERS = {
    "pair_classification": pairs.encode,
    "multiple_choice": choice.encode,
    "retrieval": retrieval.encode,
}


def encode_fn(fmt: str, tokenizer, settings: dict, labels, split: str):
    """The batched map function (arguments: batch, row indices) that tokenizes one split."""
    if fmt == "extractive_qa":
        kw = dict(
            max_length=settings["max_length"], stride=settings["doc_stride"], windows=settings["qa_windows"]
        )
        if split == "train":
            return lambda batch, indices: qa.encode_train(batch, tokenizer, **kw)
        return lambda batch, indices: qa.encode_eval(batch, tokenizer, **kw)
    if fmt == "dual_encoder":
        encode = dual_encoder.encode_train if split == "train" else dual_encoder.encode_eval
        return lambda batch, indices: encode(batch, tokenizer, settings)
    if fmt == "tagging":
        return lambda batch, indices: tagging.encode(batch, tokenizer, settings, labels, indices)
    return lambda batch, indices: ENCODERS[fmt](batch, tokenizer, settings, labels)
