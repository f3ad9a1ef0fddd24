"""Extractive question answering features (SQuAD v1.1/v2.0, XQuAD, MLQA, TyDiQA-GoldP).

Follows the logic of Hugging Face `examples/pytorch/question-answering` (run_qa.py and
utils_qa.py) for fast tokenizers of the XLM-RoBERTa kind.

Input: a `datasets` batch (dict of lists) in the canonical QA schema
    id: str, question: str, context: str,
    answers: {"text": list[str], "answer_start": list[int]}   (empty lists = unanswerable)

Conventions:
- The question comes first and the context second; only the context is truncated. A long
  context becomes several features: windows of `max_length` tokens whose contexts overlap
  by `stride` tokens.
- The CLS token (index 0) is the target of a feature that holds no whole answer, and its
  score (start + end logit) is the "no answer" score.
- Eval features keep `offset_mapping` with None for tokens outside the context (special and
  question tokens). Arrow stores these as nulls in a list<list<int64>> column, as run_qa does.
- No padding here: pad per batch (e.g. `DataCollatorWithPadding`), and drop the eval-only
  columns `example_id` and `offset_mapping` before batching eval features for the model.
- Predicted texts are stripped of surrounding whitespace: the gold answers of SQuAD-style
  data sometimes carry spaces, token offsets sometimes include one, and the official
  metrics ignore whitespace anyway.
"""

from collections import defaultdict

import numpy as np

CLS_INDEX = 0
CONTEXT_SEQUENCE = 1


def encode_train(batch: dict, tokenizer, max_length: int = 384, stride: int = 128) -> dict:
    """Training features: token ids plus the answer's start/end token in each window."""
    encoding = _tokenize(batch, tokenizer, max_length, stride)
    start_positions, end_positions = [], []
    for feature_index, example_index in enumerate(encoding["overflow_to_sample_mapping"]):
        char_span = answer_char_span(batch["context"][example_index], batch["answers"][example_index])
        start, end = _answer_token_span(
            encoding["offset_mapping"][feature_index], encoding.sequence_ids(feature_index), char_span
        )
        start_positions.append(start)
        end_positions.append(end)
    return {
        "input_ids": encoding["input_ids"],
        "attention_mask": encoding["attention_mask"],
        "start_positions": start_positions,
        "end_positions": end_positions,
    }


def encode_eval(batch: dict, tokenizer, max_length: int = 384, stride: int = 128) -> dict:
    """Evaluation features: token ids, the source example id, and context-only offsets."""
    encoding = _tokenize(batch, tokenizer, max_length, stride)
    example_ids, offset_mappings = [], []
    for feature_index, example_index in enumerate(encoding["overflow_to_sample_mapping"]):
        example_ids.append(batch["id"][example_index])
        sequence_ids = encoding.sequence_ids(feature_index)
        offset_mappings.append(
            [
                list(offset) if sequence == CONTEXT_SEQUENCE else None
                for offset, sequence in zip(encoding["offset_mapping"][feature_index], sequence_ids)
            ]
        )
    return {
        "input_ids": encoding["input_ids"],
        "attention_mask": encoding["attention_mask"],
        "example_id": example_ids,
        "offset_mapping": offset_mappings,
    }


def postprocess(
    examples,
    features,
    start_logits: np.ndarray,
    end_logits: np.ndarray,
    n_best: int = 20,
    max_answer_length: int = 30,
    with_null: bool = False,
) -> tuple[dict[str, str], dict[str, float]]:
    """Best answer text per example id, and (SQuAD 2.0) the no-answer odds.

    `start_logits[i]` / `end_logits[i]` belong to feature i (rows may be longer than the
    feature, e.g. padded with -100; positions past the feature are ignored). Candidate spans
    pair the `n_best` highest start and end logits of each feature; a span is valid when both
    ends are context tokens, end >= start and it is at most `max_answer_length` tokens long.
    Its score is start logit + end logit; the best valid span over all features of an example
    wins.

    With `with_null=True`: score_null = the lowest CLS score (start + end logit at index 0)
    over the example's features, and null_odds[id] = score_null - best non-null score (+inf
    when no valid span exists). This is the value the official SQuAD 2.0 script thresholds
    ("na_prob"); the prediction is "" when null_odds > 0. Without it null_odds is empty.
    """
    feature_indices = defaultdict(list)
    for feature_index, example_id in enumerate(features["example_id"]):
        feature_indices[example_id].append(feature_index)
    offset_mappings = list(features["offset_mapping"])

    predictions, null_odds = {}, {}
    for example_id, context in zip(examples["id"], examples["context"]):
        candidates, null_score = [], np.inf
        for feature_index in feature_indices[example_id]:
            starts = np.asarray(start_logits[feature_index])
            ends = np.asarray(end_logits[feature_index])
            null_score = min(null_score, float(starts[CLS_INDEX] + ends[CLS_INDEX]))
            candidates += _span_candidates(
                starts, ends, offset_mappings[feature_index], n_best, max_answer_length
            )
        best_score, best_text = _best_non_blank(candidates, context)
        predictions[example_id] = best_text
        if with_null:
            odds = null_score - best_score
            null_odds[example_id] = odds
            if odds > 0:
                predictions[example_id] = ""
    return predictions, null_odds


def answer_char_span(context: str, answers: dict) -> tuple[int, int] | None:
    """Character span [start, end) of the first gold answer without edge whitespace.

    None when unanswerable. Edge whitespace is dropped because no token starts on a space
    that could be pointed at.
    """
    if not answers["text"]:
        return None
    start = answers["answer_start"][0]
    end = start + len(answers["text"][0])
    while start < end and context[start].isspace():
        start += 1
    while end > start and context[end - 1].isspace():
        end -= 1
    return (start, end) if start < end else None


def _tokenize(batch: dict, tokenizer, max_length: int, stride: int):
    # Leading whitespace of questions only wastes tokens that the context needs.
    questions = [question.lstrip() for question in batch["question"]]
    return tokenizer(
        questions,
        batch["context"],
        truncation="only_second",
        max_length=max_length,
        stride=stride,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
    )


def _answer_token_span(offsets, sequence_ids, char_span) -> tuple[int, int]:
    """Start/end token of the answer in one feature; (CLS, CLS) unless it lies fully inside."""
    context_tokens = [i for i, sequence in enumerate(sequence_ids) if sequence == CONTEXT_SEQUENCE]
    if char_span is None or not context_tokens:
        return CLS_INDEX, CLS_INDEX
    start_char, end_char = char_span
    if offsets[context_tokens[0]][0] > start_char or offsets[context_tokens[-1]][1] < end_char:
        return CLS_INDEX, CLS_INDEX
    start_token = next(i for i in context_tokens if offsets[i][1] > start_char)
    end_token = next(i for i in reversed(context_tokens) if offsets[i][0] < end_char)
    return start_token, end_token


def _span_candidates(starts, ends, offsets, n_best: int, max_answer_length: int) -> list:
    """(score, start_char, end_char) of the valid spans among the top-n start/end tokens."""
    length = len(offsets)
    top_starts = np.argsort(-starts[:length], kind="stable")[:n_best]
    top_ends = np.argsort(-ends[:length], kind="stable")[:n_best]
    candidates = []
    for start in top_starts:
        for end in top_ends:
            if offsets[start] is None or offsets[end] is None:
                continue
            if end < start or end - start + 1 > max_answer_length:
                continue
            candidates.append((float(starts[start] + ends[end]), offsets[start][0], offsets[end][1]))
    return candidates


def _best_non_blank(candidates: list, context: str) -> tuple[float, str]:
    """Highest-scoring candidate whose text is not only whitespace; (-inf, "") if none."""
    for score, start_char, end_char in sorted(candidates, key=lambda c: c[0], reverse=True):
        text = context[start_char:end_char].strip()
        if text:
            return score, text
    return -np.inf, ""
