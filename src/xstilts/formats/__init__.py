"""Task formats: the registry `FORMATS` says, for each format, what it does at every stage.

One module per format holds its logic: how canonical rows become features (``encoder``), how a
model's outputs are scored (``score``, ``chance``), and any prepare-time repair; the entry
below names them, the head ``xstilts.modeling`` builds for it, and what the workflow's stages
do differently for it. ``xstilts.stages``, ``xstilts.modeling`` and ``xstilts.evaluation`` read
the entry of a task's format; none of them names a format.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from xstilts.formats import choice, dual_encoder, pairs, qa, retrieval, tagging


def _rows(encode: Callable) -> Callable:
    """An encoder for a format whose rows encode one by one, the same in every split."""
    return lambda tokenizer, settings, labels, split: (
        lambda batch, indices: encode(batch, tokenizer, settings, labels)
    )


def _count(features, examples) -> tuple[int, dict]:
    """A cell's example count: its raw rows where scoring reads them (QA), else its features."""
    return (len(examples) if examples is not None else len(features)), {}


@dataclass(frozen=True)
class Format:
    # prepare: (tokenizer, data settings, labels, split) -> the batched map function
    # (batch, row indices) -> features
    encoder: Callable
    # the head xstilts.modeling puts on the encoder (modeling.HEADS); None: none is trained,
    # the encoder as is embeds (retrieval targets)
    head: str | None
    # (task, logits, features, labels, examples, language) -> metric dict (0-100); None:
    # scored from embeddings by the format module's `scores`
    score: Callable | None
    # (task, features, labels, examples) -> the headline metric of the best constant predictor
    # (the difficulty study's chance level); None: no chance level, so no difficulty record
    chance: Callable | None = None
    # prepare: (canonical rows, split) -> (rows, info recorded in info.json), before encoding
    repair: Callable | None = None
    # prepare: evaluation splits keep their raw rows, which scoring reads (QA answers)
    keeps_examples: bool = False
    # no declared labels: the tag set of the training split (ccg)
    labels_from_data: bool = False
    # a chain's stage continues its previous stage's head of the same format (XTREME-R's COPA
    # reloads the SIQA model); other heads differ in shape and start fresh
    carries_head: bool = False
    # evaluate: queries retrieve from a candidate pool embedded once for every language
    pooled: bool = False
    # evaluate: (features, examples) -> (the cell's example count, extra cell JSON fields)
    report: Callable = _count


FORMATS: dict[str, Format] = {
    "pair_classification": Format(_rows(pairs.encode), "classification", pairs.score, pairs.chance),
    # one score per choice, classified like a pair
    "multiple_choice": Format(_rows(choice.encode), "choice", pairs.score, pairs.chance, carries_head=True),
    "extractive_qa": Format(qa.encoder, "span", qa.score, qa.chance, repair=qa.repair, keeps_examples=True),
    "tagging": Format(
        tagging.encoder, "token", tagging.score, tagging.chance, labels_from_data=True, report=tagging.report
    ),
    "retrieval": Format(_rows(retrieval.encode), None, None),
    "dual_encoder": Format(dual_encoder.encoder, "dual_encoder", dual_encoder.score, pooled=True),
}
