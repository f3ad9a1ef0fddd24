"""Extractive question answering features (SQuAD v1.1/v2.0, XQuAD, MLQA, TyDiQA-GoldP).

Two window protocols (the data setting `qa_windows`):
- "reference" (default): the SQuAD processors of XTREME (third_party/processors/squad.py) and
  jiant (tasks/lib/templates/squad_style), which the paper ran. The question is cut to 64
  tokens; window k holds context tokens [k * doc_stride, k * doc_stride + room), i.e. each
  window *advances* by `doc_stride`; at prediction a span may start only on a token whose
  window gives it the most context (`_check_is_max_context`).
- "hf_run_qa": Hugging Face `examples/pytorch/question-answering` (run_qa.py, utils_qa.py):
  consecutive windows *overlap* by `doc_stride` tokens and every window's spans compete.

Input: a `datasets` batch (dict of lists) in the canonical QA schema
    id: str, question: str, context: str,
    answers: {"text": list[str], "answer_start": list[int]}   (empty lists = unanswerable)

Conventions:
- The question comes first and the context second; only the context is cut. A long
  context becomes several features (windows of at most `max_length` tokens).
- The CLS token (index 0) is the target of a feature that holds no whole answer, and its
  score (start + end logit) is the "no answer" score.
- Eval features keep `offset_mapping` with None for tokens outside the context (special and
  question tokens). Arrow stores these as nulls in a list<list<int64>> column, as run_qa does.
  `max_context` marks the tokens a predicted span may start on.
- No padding here: pad per batch (e.g. `DataCollatorWithPadding`), and drop the eval-only
  columns `example_id`, `offset_mapping` and `max_context` before batching eval features.
- Predicted texts are stripped of surrounding whitespace: the gold answers of SQuAD-style
  data sometimes carry spaces, token offsets sometimes include one, and the official
  metrics ignore whitespace anyway.
"""

from collections import defaultdict

import numpy as np

from xstilts import metrics
from xstilts.formats.windows import special_template

CLS_INDEX = 0
CONTEXT_SEQUENCE = 1
WINDOWS = ("reference", "hf_run_qa")
MAX_QUERY_LENGTH = 64  # XTREME's and jiant's max_query_length (reference windows only)


def encoder(tokenizer, settings, labels, split):
    """The batched map function (batch, row indices): training windows carry answer positions,
    evaluation windows the offsets that map a span back to the context."""
    kw = dict(
        max_length=settings["max_length"], stride=settings["doc_stride"], windows=settings["qa_windows"]
    )
    if split == "train":
        return lambda batch, indices: encode_train(batch, tokenizer, **kw)
    return lambda batch, indices: encode_eval(batch, tokenizer, **kw)


def repair(examples, split: str):
    """Prepare: (rows, info) with answer spans repaired (the hub's TyDiQA spans are shifted;
    harmless where they are right); training drops rows whose answer is lost."""
    examples, counts = repair_answer_spans(examples, drop_unrecoverable=split == "train")
    return examples, {"answer_spans": counts}


def encode_train(
    batch: dict, tokenizer, max_length: int = 384, stride: int = 128, windows: str = "reference"
) -> dict:
    """Training features: token ids plus the answer's start/end token in each window."""
    start_positions, end_positions = [], []
    features = _windows(batch, tokenizer, max_length, stride, windows)
    for example_index, offsets in zip(features["example_index"], features["offset_mapping"]):
        char_span = answer_char_span(batch["context"][example_index], batch["answers"][example_index])
        start, end = _answer_token_span(offsets, char_span)
        start_positions.append(start)
        end_positions.append(end)
    return {
        "input_ids": features["input_ids"],
        "attention_mask": features["attention_mask"],
        "start_positions": start_positions,
        "end_positions": end_positions,
    }


def encode_eval(
    batch: dict, tokenizer, max_length: int = 384, stride: int = 128, windows: str = "reference"
) -> dict:
    """Evaluation features: token ids, the source example id, context-only offsets, and which
    tokens a span may start on."""
    features = _windows(batch, tokenizer, max_length, stride, windows)
    return {
        "input_ids": features["input_ids"],
        "attention_mask": features["attention_mask"],
        "example_id": [batch["id"][i] for i in features["example_index"]],
        "offset_mapping": features["offset_mapping"],
        "max_context": features["max_context"],
    }


def postprocess(
    examples,
    features,
    start_logits: np.ndarray,
    end_logits: np.ndarray,
    n_best: int = 20,
    max_answer_length: int = 30,
    with_null: bool = False,
    null_threshold: float | None = 0.0,
) -> tuple[dict[str, str], dict[str, float]]:
    """Best answer text per example id, and (SQuAD 2.0) the no-answer odds.

    `start_logits[i]` / `end_logits[i]` belong to feature i (rows may be longer than the
    feature, e.g. padded with -100; positions past the feature are ignored). Candidate spans
    pair the `n_best` highest start and end logits of each feature; a span is valid when both
    ends are context tokens, end >= start and it is at most `max_answer_length` tokens long.
    Its score is start logit + end logit; the best valid span over all features of an example
    wins. Features with a `max_context` column (reference windows) only let a span start on a
    token flagged there, as XTREME's and jiant's `compute_predictions_logits` do.

    With `with_null=True`: score_null = the lowest CLS score (start + end logit at index 0)
    over the example's features, and null_odds[id] = score_null - best non-null score (+inf
    when no valid span exists). This is the value the official SQuAD 2.0 script thresholds
    ("na_prob"); the prediction is "" when null_odds > `null_threshold` (None: never blank,
    for the script's best-threshold search). Without it null_odds is empty.
    """
    feature_indices = defaultdict(list)
    for feature_index, example_id in enumerate(features["example_id"]):
        feature_indices[example_id].append(feature_index)
    offset_mappings = list(features["offset_mapping"])
    columns = getattr(features, "column_names", features)
    max_context = list(features["max_context"]) if "max_context" in columns else None

    predictions, null_odds = {}, {}
    for example_id, context in zip(examples["id"], examples["context"]):
        candidates, null_score = [], np.inf
        for feature_index in feature_indices[example_id]:
            starts = np.asarray(start_logits[feature_index])
            ends = np.asarray(end_logits[feature_index])
            null_score = min(null_score, float(starts[CLS_INDEX] + ends[CLS_INDEX]))
            candidates += _span_candidates(
                starts,
                ends,
                offset_mappings[feature_index],
                max_context[feature_index] if max_context is not None else None,
                n_best,
                max_answer_length,
            )
        best_score, best_text = _best_non_blank(candidates, context)
        predictions[example_id] = best_text
        if with_null:
            odds = null_score - best_score
            null_odds[example_id] = odds
            if null_threshold is not None and odds > null_threshold:
                predictions[example_id] = ""
    return predictions, null_odds


def locate_answer(context: str, text: str, start: int) -> int | None:
    """Where `text` really starts in `context`: `start` if it is there, else the occurrence
    nearest to `start` (None if the text is nowhere). The hub's google/xtreme TyDiQA rows have
    context and answer text stripped but answer_start unchanged, so spans drift by the number
    of stripped leading characters."""
    if context[start : start + len(text)] == text:
        return start
    best, found = None, context.find(text)
    while found != -1:
        if best is None or abs(found - start) < abs(best - start):
            best = found
        found = context.find(text, found + 1)
    return best


def repair_answer_spans(examples, drop_unrecoverable: bool):
    """(examples with every answer_start pointing at its text, counts). A row is "repaired"
    when some answer moved, "unrecoverable" when some answer text is not in its context; with
    `drop_unrecoverable` (training) rows whose first answer is lost are dropped, as XTREME's
    processor skips training answers it cannot find. Rows right already are untouched."""

    def fix(row):
        starts, moved, lost, first_lost = [], False, False, False
        for index, (text, start) in enumerate(zip(row["answers"]["text"], row["answers"]["answer_start"])):
            found = locate_answer(row["context"], text, start)
            moved |= found is not None and found != start
            lost |= found is None
            first_lost |= found is None and index == 0
            starts.append(start if found is None else found)
        answers = {"text": row["answers"]["text"], "answer_start": starts}
        return {"answers": answers, "_moved": moved, "_lost": lost, "_first_lost": first_lost}

    fixed = examples.map(fix, desc="check answer spans")
    counts = {
        "rows": len(fixed),
        "repaired": sum(fixed["_moved"]),
        "unrecoverable": sum(fixed["_lost"]),
        "dropped": 0,
    }
    if drop_unrecoverable:
        fixed = fixed.filter(lambda row: not row["_first_lost"])
        counts["dropped"] = counts["rows"] - len(fixed)
    return fixed.remove_columns(["_moved", "_lost", "_first_lost"]), counts


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


def _windows(batch: dict, tokenizer, max_length: int, stride: int, windows: str) -> dict:
    """Features of a batch: input_ids, attention_mask, example_index, offset_mapping (None
    outside the context) and max_context (True where a span may start)."""
    if windows not in WINDOWS:
        raise ValueError(f"unknown QA window protocol {windows!r}: use one of {WINDOWS}")
    # Leading whitespace of questions only wastes tokens that the context needs.
    questions = [question.lstrip() for question in batch["question"]]
    if windows == "reference":
        return _reference_windows(questions, batch["context"], tokenizer, max_length, stride)
    # HF's tokenizers panic when the overlap does not fit next to the question.
    specials = tokenizer.num_special_tokens_to_add(pair=True)
    longest = max(map(len, tokenizer(questions, add_special_tokens=False)["input_ids"]), default=0)
    if max_length - specials - longest <= stride:
        raise ValueError(
            f"hf_run_qa windows: a {longest}-token question leaves {max_length - specials - longest} "
            f"context tokens per window, not more than doc_stride {stride}: raise max_length "
            f"or lower doc_stride"
        )
    encoding = tokenizer(
        questions,
        batch["context"],
        truncation="only_second",
        max_length=max_length,
        stride=stride,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
    )
    offsets = [
        [
            list(offset) if sequence == CONTEXT_SEQUENCE else None
            for offset, sequence in zip(encoding["offset_mapping"][i], encoding.sequence_ids(i))
        ]
        for i in range(len(encoding["input_ids"]))
    ]
    return {
        "input_ids": encoding["input_ids"],
        "attention_mask": encoding["attention_mask"],
        "example_index": list(encoding["overflow_to_sample_mapping"]),
        "offset_mapping": offsets,
        "max_context": [[offset is not None for offset in row] for row in offsets],
    }


def _reference_windows(questions, contexts, tokenizer, max_length: int, doc_stride: int) -> dict:
    """XTREME/jiant windows: window k starts at context token k * doc_stride and holds as many
    tokens as fit; windows are added until one reaches the end of the context."""
    prefix, middle, suffix = special_template(tokenizer, pair=True)
    question_ids = tokenizer(questions, add_special_tokens=False)["input_ids"]
    context = tokenizer(contexts, add_special_tokens=False, return_offsets_mapping=True)
    out = {
        key: [] for key in ("input_ids", "attention_mask", "example_index", "offset_mapping", "max_context")
    }
    for example_index, (question, doc, doc_offsets) in enumerate(
        zip(question_ids, context["input_ids"], context["offset_mapping"])
    ):
        question = question[:MAX_QUERY_LENGTH]
        room = max_length - len(prefix) - len(question) - len(middle) - len(suffix)
        if room < 1:
            raise ValueError(
                f"max_length {max_length} leaves no room for the context after a "
                f"{len(question)}-token question: raise the QA max_length"
            )
        # A stride wider than a window would skip context tokens; XTREME never meets this case
        # with its settings (384 tokens, questions cut to 64, stride 128).
        step = min(doc_stride, room)
        starts = [0]
        while starts[-1] + room < len(doc):
            starts.append(starts[-1] + step)
        spans = [(start, min(room, len(doc) - start)) for start in starts]
        best_window = _max_context_windows(spans, len(doc))
        head = len(prefix) + len(question) + len(middle)
        for window, (start, length) in enumerate(spans):
            ids = prefix + question + middle + doc[start : start + length] + suffix
            outside = [None] * head, [None] * len(suffix)
            out["input_ids"].append(ids)
            out["attention_mask"].append([1] * len(ids))
            out["example_index"].append(example_index)
            out["offset_mapping"].append(
                outside[0] + [list(o) for o in doc_offsets[start : start + length]] + outside[1]
            )
            flags = (best_window[start : start + length] == window).tolist()
            out["max_context"].append([False] * head + flags + [False] * len(suffix))
    return out


def _max_context_windows(spans, n_tokens: int) -> np.ndarray:
    """Per doc token, the window that gives it the most context: XTREME's
    `_new_check_is_max_context` score min(left, right context) + 0.01 x window length, the
    first window winning ties."""
    best_score = np.full(n_tokens, -np.inf)
    best_window = np.full(n_tokens, -1)
    for index, (start, length) in enumerate(spans):
        position = np.arange(start, start + length)
        score = np.minimum(position - start, start + length - 1 - position) + 0.01 * length
        better = score > best_score[start : start + length]
        best_score[start : start + length][better] = score[better]
        best_window[start : start + length][better] = index
    return best_window


def _answer_token_span(offsets, char_span) -> tuple[int, int]:
    """Start/end token of the answer in one feature; (CLS, CLS) unless it lies fully inside."""
    context_tokens = [i for i, offset in enumerate(offsets) if offset is not None]
    if char_span is None or not context_tokens:
        return CLS_INDEX, CLS_INDEX
    start_char, end_char = char_span
    if offsets[context_tokens[0]][0] > start_char or offsets[context_tokens[-1]][1] < end_char:
        return CLS_INDEX, CLS_INDEX
    start_token = next(i for i in context_tokens if offsets[i][1] > start_char)
    end_token = next(i for i in reversed(context_tokens) if offsets[i][0] < end_char)
    return start_token, end_token


def _span_candidates(starts, ends, offsets, max_context, n_best: int, max_answer_length: int) -> list:
    """(score, start_char, end_char) of the valid spans among the top-n start/end tokens."""
    length = len(offsets)
    top_starts = np.argsort(-starts[:length], kind="stable")[:n_best]
    top_ends = np.argsort(-ends[:length], kind="stable")[:n_best]
    candidates = []
    for start in top_starts:
        if max_context is not None and not max_context[start]:
            continue
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


# ---- scoring -----------------------------------------------------------------------------


def score(task, logits, features, labels, examples, language=None) -> dict:
    starts = np.array([row[0] for row in logits], dtype=object)
    ends = np.array([row[1] for row in logits], dtype=object)
    v2 = task.scorer == "squad_v2"
    # SQuAD 2.0: un-blanked answers + null odds, so the best-threshold search sees the whole
    # range (evaluate-v2.0.py with a na_prob file); exact/f1 abstain at odds > 0, the model's
    # own decision (utils_qa / XTREME null_score_diff_threshold 0).
    predictions, null_odds = postprocess(examples, features, starts, ends, with_null=v2, null_threshold=None)
    references = {i: list(a["text"]) for i, a in zip(examples["id"], examples["answers"])}
    if v2:
        return metrics.squad_v2_scores(predictions, references, null_odds, na_prob_thresh=0.0)
    return metrics.squad_scores(predictions, references, language=language if task.scorer == "mlqa" else None)


def chance(task, features, labels, examples) -> float:
    """SQuAD 2.0: "no answer" everywhere (half of its dev set is unanswerable); other span QA:
    an empty answer (0)."""
    references = {i: list(a["text"]) for i, a in zip(examples["id"], examples["answers"])}
    abstain = dict.fromkeys(references, "")
    if task.scorer == "squad_v2":
        return metrics.squad_v2_scores(abstain, references, dict.fromkeys(references, 1.0), 0.0)[task.metric]
    return metrics.squad_scores(abstain, references)[task.metric]
