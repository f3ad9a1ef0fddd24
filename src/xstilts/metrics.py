"""Metrics of every xstilts task, scored as the benchmarks' official scripts score them.

All functions are pure (plain Python / numpy in, numbers out) and every metric value is on a
0-100 scale, like XTREME's tables.  Returned dict keys are stable:

- ``accuracy(predictions, labels) -> float``
- ``accuracy_and_f1(...) -> {"accuracy", "f1", "accuracy_f1_mean"}`` (QQP: binary F1 of class 1)
- ``squad_scores(...) -> {"exact_match", "f1", "em_f1_mean"}``: SQuAD v1.1 ``evaluate-v1.1.py``
  (XQuAD, TyDiQA-GoldP, SQuAD v1.1 via XTREME's ``evaluate_squad.py``); with ``language`` the
  MLQA ``mlqa_evaluation_v1.py`` normalisation.
- ``squad_v2_scores(...) -> {"exact_match", "f1", "total", "has_ans_exact_match", "has_ans_f1",
  "has_ans_total", "no_ans_exact_match", "no_ans_f1", "no_ans_total", "best_exact",
  "best_exact_thresh", "best_f1", "best_f1_thresh", "em_f1_mean"}``: SQuAD ``evaluate-v2.0.py``;
  ``em_f1_mean`` = (best_exact + best_f1) / 2, jiant's major metric for SQuAD 2.0.
  Breakdown values are None when the split has no such question.
- ``seqeval_f1(true_tags, pred_tags) -> float``: PAN-X (seqeval micro F1, default mode).
- ``udpos_f1(true_tags, pred_tags) -> float``: UDPOS as XTREME and jiant scored it (see there).
- ``token_accuracy(true_tags, pred_tags) -> float``: CCG supertagging.
- ``retrieval_accuracy(source_emb, target_emb) -> float``: Tatoeba accuracy@1.
- ``bucc_candidates(...) -> [(src_id, tgt_id, score)]``, ``bucc_best_threshold(...) ->
  (threshold, f1)``, ``bucc_f1(...) -> {"precision", "recall", "f1"}``: BUCC 2018 mining
  (XTREME's ``third_party/utils_retrieve.py``); the threshold is a raw margin score, not 0-100.
"""

from __future__ import annotations

import functools
import re
import string
import sys
import unicodedata
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence

import numpy as np

# ----------------------------------------------------------------------------- classification


def accuracy(predictions: Sequence, labels: Sequence) -> float:
    """Percentage of positions where prediction equals label (labels may be ints or strings)."""
    _check_same_length(predictions, labels)
    correct = sum(prediction == label for prediction, label in zip(predictions, labels))
    return 100.0 * correct / len(labels)


def accuracy_and_f1(predictions: Sequence, labels: Sequence) -> dict[str, float]:
    """Accuracy, binary F1 of the positive class 1, and their mean (QQP's GLUE metric)."""
    _check_same_length(predictions, labels)
    true_pos = sum(p == 1 and y == 1 for p, y in zip(predictions, labels))
    predicted_pos = sum(p == 1 for p in predictions)
    actual_pos = sum(y == 1 for y in labels)
    # sklearn's convention: F1 is 0 when there is no true positive
    f1 = 100.0 * 2 * true_pos / (predicted_pos + actual_pos) if true_pos else 0.0
    acc = accuracy(predictions, labels)
    return {"accuracy": acc, "f1": f1, "accuracy_f1_mean": (acc + f1) / 2}


def _check_same_length(predictions: Sequence, labels: Sequence) -> None:
    if len(predictions) != len(labels):
        raise ValueError(f"{len(predictions)} predictions for {len(labels)} labels")
    if not labels:
        raise ValueError("nothing to score: no labels")


# ----------------------------------------------------------------------------- extractive QA

SQUAD_PUNCTUATION = frozenset(string.punctuation)
_SQUAD_ARTICLES = re.compile(r"\b(a|an|the)\b")

# mlqa_evaluation_v1.py: per-language articles (hi and zh have none); Arabic removes every "ال"
_MLQA_ARTICLES = {
    "en": re.compile(r"\b(a|an|the)\b"),
    "es": re.compile(r"\b(un|una|unos|unas|el|la|los|las)\b"),
    "vi": re.compile(r"\b(của|là|cái|chiếc|những)\b"),
    "de": re.compile(r"\b(ein|eine|einen|einem|eines|einer|der|die|das|den|dem|des)\b"),
    "ar": re.compile(r"\sال^|ال"),
    "hi": None,
    "zh": None,
}
_MLQA_WHITESPACE_LANGS = frozenset({"en", "es", "hi", "vi", "de", "ar"})
_CJK_CHAR = re.compile(r"[\u4e00-\u9fa5]")


@functools.cache
def mlqa_punctuation() -> frozenset[str]:
    """Every Unicode character of a P* category plus ASCII punctuation (built once, ~0.3 s)."""
    unicode_punct = (chr(i) for i in range(sys.maxunicode) if unicodedata.category(chr(i)).startswith("P"))
    return frozenset(unicode_punct) | SQUAD_PUNCTUATION


def normalize_squad_answer(text: str) -> str:
    """SQuAD v1.1/v2.0: lower, drop ASCII punctuation, drop a/an/the, collapse whitespace."""
    text = "".join(ch for ch in text.lower() if ch not in SQUAD_PUNCTUATION)
    return " ".join(_SQUAD_ARTICLES.sub(" ", text).split())


def mixed_segmentation(text: str) -> list[str]:
    """MLQA's zh tokenisation: each CJK character or punctuation mark is a token, the rest split on spaces."""
    punctuation = mlqa_punctuation()
    tokens: list[str] = []
    pending = ""
    for char in text:
        if _CJK_CHAR.search(char) or char in punctuation:
            tokens.extend(pending.split())
            pending = ""
            tokens.append(char)
        else:
            pending += char
    tokens.extend(pending.split())
    return tokens


def normalize_mlqa_answer(text: str, language: str) -> str:
    """mlqa_evaluation_v1.py: lower, drop Unicode punctuation, drop articles, re-tokenise per language."""
    if language not in _MLQA_ARTICLES:
        raise ValueError(
            f"MLQA normalisation knows no language {language!r}; known: {sorted(_MLQA_ARTICLES)}"
        )
    punctuation = mlqa_punctuation()
    text = "".join(ch for ch in text.lower() if ch not in punctuation)
    articles = _MLQA_ARTICLES[language]
    if articles is not None:
        text = articles.sub(" ", text)
    tokens = text.split() if language in _MLQA_WHITESPACE_LANGS else mixed_segmentation(text)
    return " ".join(token for token in tokens if token.strip())


def _token_f1(prediction_tokens: list[str], gold_tokens: list[str]) -> float:
    num_same = sum((Counter(prediction_tokens) & Counter(gold_tokens)).values())
    if num_same == 0:
        return 0.0
    precision = num_same / len(prediction_tokens)
    recall = num_same / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def squad_scores(
    predictions: Mapping[str, str],
    references: Mapping[str, Sequence[str]],
    language: str | None = None,
) -> dict[str, float]:
    """Exact match and F1 (max over gold answers), averaged over every id of ``references``.

    An id missing from ``predictions`` scores 0 and still counts in the total, as the official
    scripts do; extra predictions are ignored. ``language`` switches to MLQA's normalisation.
    """
    if not references:
        raise ValueError("nothing to score: no references")
    normalize: Callable[[str], str] = (
        normalize_squad_answer
        if language is None
        else functools.partial(normalize_mlqa_answer, language=language)
    )
    exact_total = f1_total = 0.0
    for qid, golds in references.items():
        if not golds:
            raise ValueError(
                f"question {qid} has no gold answer; unanswerable questions need squad_v2_scores"
            )
        if qid not in predictions:
            continue
        prediction = normalize(predictions[qid])
        normalized_golds = [normalize(gold) for gold in golds]
        exact_total += max(float(prediction == gold) for gold in normalized_golds)
        f1_total += max(_token_f1(prediction.split(), gold.split()) for gold in normalized_golds)
    exact_match = 100.0 * exact_total / len(references)
    f1 = 100.0 * f1_total / len(references)
    return {"exact_match": exact_match, "f1": f1, "em_f1_mean": (exact_match + f1) / 2}


def _squad_v2_raw_scores(prediction: str, golds: Sequence[str]) -> tuple[float, float]:
    """evaluate-v2.0.py: golds that normalise to "" are dropped; no gold left means gold is ""."""
    golds = [gold for gold in golds if normalize_squad_answer(gold)] or [""]
    prediction_norm = normalize_squad_answer(prediction)
    prediction_tokens = prediction_norm.split()
    exact = f1 = 0.0
    for gold in golds:
        gold_norm = normalize_squad_answer(gold)
        exact = max(exact, float(gold_norm == prediction_norm))
        gold_tokens = gold_norm.split()
        if not gold_tokens or not prediction_tokens:
            f1 = max(f1, float(gold_tokens == prediction_tokens))  # no-answer: 1 only if both empty
        else:
            f1 = max(f1, _token_f1(prediction_tokens, gold_tokens))
    return exact, f1


def _best_threshold(
    raw: dict[str, float],
    predictions: Mapping[str, str],
    has_answer: dict[str, bool],
    null_odds: Mapping[str, float],
) -> tuple[float, float]:
    """evaluate-v2.0.py find_best_thresh: sweep ids by ascending null odds, answering them one by one.

    Starts from "abstain on everything" (every unanswerable question right); ids with equal odds
    keep their order in ``null_odds`` (stable sort), exactly like the official script.
    """
    current = best = sum(1.0 for qid in raw if not has_answer[qid])
    best_thresh = 0.0
    for qid in sorted(null_odds, key=lambda k: null_odds[k]):
        if qid not in raw:
            continue
        if has_answer[qid]:
            current += raw[qid]
        elif predictions[qid]:
            current -= 1.0
        if current > best:
            best, best_thresh = current, null_odds[qid]
    return 100.0 * best / len(has_answer), float(best_thresh)


def squad_v2_scores(
    predictions: Mapping[str, str],
    references: Mapping[str, Sequence[str]],
    null_odds: Mapping[str, float],
    na_prob_thresh: float = 1.0,
) -> dict[str, float | int | None]:
    """SQuAD 2.0 official scores; unanswerable references are ``[]`` and a prediction ``""`` abstains.

    ``exact_match``/``f1`` apply ``na_prob_thresh`` (the script's default 1.0: answer forced to ""
    where null odds exceed it); ``best_*`` sweep the threshold over ``null_odds``. jiant passed no
    odds (all 0.0), so ``null_odds = dict.fromkeys(references, 0.0)`` reproduces its number.
    An id missing from ``predictions`` scores 0 everywhere (the official script would crash on
    it); every predicted id needs a null odds value.
    """
    if not references:
        raise ValueError("nothing to score: no references")
    missing_odds = [qid for qid in references if qid in predictions and qid not in null_odds]
    if missing_odds:
        raise ValueError(f"no null odds for {len(missing_odds)} predicted ids, e.g. {missing_odds[0]}")
    has_answer = {qid: bool(golds) for qid, golds in references.items()}
    exact_raw: dict[str, float] = {}
    f1_raw: dict[str, float] = {}
    for qid, golds in references.items():
        if qid in predictions:
            exact_raw[qid], f1_raw[qid] = _squad_v2_raw_scores(predictions[qid], golds)

    def thresholded(raw: dict[str, float]) -> dict[str, float]:
        return {
            qid: (float(not has_answer[qid]) if null_odds[qid] > na_prob_thresh else raw[qid])
            if qid in raw
            else 0.0
            for qid in references
        }

    exact, f1 = thresholded(exact_raw), thresholded(f1_raw)

    def mean_over(qids: list[str], scores: dict[str, float]) -> float | None:
        return 100.0 * sum(scores[qid] for qid in qids) / len(qids) if qids else None

    all_ids = list(references)
    answerable = [qid for qid in all_ids if has_answer[qid]]
    unanswerable = [qid for qid in all_ids if not has_answer[qid]]
    best_exact, best_exact_thresh = _best_threshold(exact_raw, predictions, has_answer, null_odds)
    best_f1, best_f1_thresh = _best_threshold(f1_raw, predictions, has_answer, null_odds)
    return {
        "exact_match": mean_over(all_ids, exact),
        "f1": mean_over(all_ids, f1),
        "total": len(all_ids),
        "has_ans_exact_match": mean_over(answerable, exact),
        "has_ans_f1": mean_over(answerable, f1),
        "has_ans_total": len(answerable),
        "no_ans_exact_match": mean_over(unanswerable, exact),
        "no_ans_f1": mean_over(unanswerable, f1),
        "no_ans_total": len(unanswerable),
        "best_exact": best_exact,
        "best_exact_thresh": best_exact_thresh,
        "best_f1": best_f1,
        "best_f1_thresh": best_f1_thresh,
        "em_f1_mean": (best_exact + best_f1) / 2,
    }


# ----------------------------------------------------------------------------- tagging


def _check_tag_shapes(true_tags: Sequence[Sequence[str]], pred_tags: Sequence[Sequence[str]]) -> None:
    if len(true_tags) != len(pred_tags):
        raise ValueError(f"{len(pred_tags)} predicted sentences for {len(true_tags)} gold sentences")
    for index, (gold, pred) in enumerate(zip(true_tags, pred_tags)):
        if len(gold) != len(pred):
            raise ValueError(f"sentence {index}: {len(pred)} predicted tags for {len(gold)} gold tags")


def seqeval_f1(true_tags: Sequence[Sequence[str]], pred_tags: Sequence[Sequence[str]]) -> float:
    """Micro entity F1 of seqeval's default (conlleval-style) mode, as XTREME scores PAN-X.

    Defined edge cases: empty input, and inputs where neither side has an entity (all "O"),
    score 0.0 -- seqeval's and conlleval's value for an undefined F1.
    """
    _check_tag_shapes(true_tags, pred_tags)
    if not any(true_tags):
        return 0.0  # seqeval raises on an empty list of sentences
    from seqeval.metrics import f1_score  # imported here: it pulls in scikit-learn (~1 s)

    with warnings.catch_warnings():
        # undefined-F1 and "not a NE tag" warnings are expected here, the values are defined above
        warnings.simplefilter("ignore")
        return 100.0 * float(f1_score([list(s) for s in true_tags], [list(s) for s in pred_tags]))


def udpos_f1(true_tags: Sequence[Sequence[str]], pred_tags: Sequence[Sequence[str]]) -> float:
    """UDPOS F1 exactly as XTREME's and jiant's numbers were computed: seqeval 0.0.12 on raw UPOS tags.

    Why not a per-token F1: seqeval reads the first letter of a tag as its chunk prefix, so runs of
    equal tags merge into one "entity" (NOUN NOUN is one span), SCONJ/SYM (prefix S) stay single
    tokens, and a span is right only if its whole run is right. XTREME (2020, unpinned seqeval =
    0.0.12) and jiant (seqeval 0.0.12) report that value; seqeval >= 1.0 parses the type as
    ``tag[1:]``, which would merge CCONJ and SCONJ into one type "CONJ". Writing each tag as
    "<first letter>-<tag>" gives seqeval 1.x the same (prefix, type) pairs as 0.0.12 on the raw tag.
    The per-token F1 (micro P = R = F1 = accuracy, every token tagged) is ``token_accuracy``.
    """

    def as_v0012(sentences: Sequence[Sequence[str]]) -> list[list[str]]:
        return [[f"{tag[0]}-{tag}" for tag in sentence] for sentence in sentences]

    _check_tag_shapes(true_tags, pred_tags)
    return seqeval_f1(as_v0012(true_tags), as_v0012(pred_tags))


def token_accuracy(true_tags: Sequence[Sequence[str]], pred_tags: Sequence[Sequence[str]]) -> float:
    """Percentage of tokens tagged right over all sentences (CCG supertagging, jiant's CCG metric)."""
    _check_tag_shapes(true_tags, pred_tags)
    gold = [tag for sentence in true_tags for tag in sentence]
    pred = [tag for sentence in pred_tags for tag in sentence]
    return accuracy(pred, gold)


# ----------------------------------------------------------------------------- retrieval


def _l2_normalize(embeddings: np.ndarray) -> np.ndarray:
    embeddings = np.asarray(embeddings, dtype=np.float64)
    if embeddings.ndim != 2:
        raise ValueError(f"embeddings must be a 2-D array, got shape {embeddings.shape}")
    norms = np.linalg.norm(embeddings, axis=1, keepdims=True)
    return embeddings / np.where(norms == 0, 1.0, norms)  # zero vectors stay zero


def retrieval_accuracy(source_emb: np.ndarray, target_emb: np.ndarray) -> float:
    """Tatoeba accuracy@1: row i of source is right iff its cosine-nearest target row is row i.

    Ties go to the lowest target index (numpy argmax). ``target_emb`` may have extra rows
    (distractors). XTREME and jiant query with the English side against the other language
    (faiss ``idx.add(other); idx.search(english)``), i.e. ``retrieval_accuracy(english, other)``.
    """
    source, target = _l2_normalize(source_emb), _l2_normalize(target_emb)
    if len(source) == 0:
        raise ValueError("nothing to score: no source sentences")
    if len(target) < len(source):
        raise ValueError(f"{len(target)} targets for {len(source)} sources: gold of row i is target row i")
    nearest = np.concatenate(
        [(chunk @ target.T).argmax(axis=1) for chunk in _row_chunks(source, len(target))]
    )
    return 100.0 * float(np.mean(nearest == np.arange(len(source))))


def _row_chunks(queries: np.ndarray, database_rows: int) -> list[np.ndarray]:
    """Split queries so one similarity block stays near 2**24 cells (128 MB of float64)."""
    rows = max(1, 2**24 // max(1, database_rows))
    return [queries[start : start + rows] for start in range(0, len(queries), rows)]


def _knn(queries: np.ndarray, database: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-k cosine neighbours of each (normalised) query, most similar first, like faiss IndexFlatIP."""
    similarities, indices = [], []
    for chunk in _row_chunks(queries, len(database)):
        sims = chunk @ database.T
        if k < sims.shape[1]:
            top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        else:
            top = np.broadcast_to(np.arange(sims.shape[1]), sims.shape)
        top_sims = np.take_along_axis(sims, top, axis=1)
        order = np.lexsort((top, -top_sims), axis=1)  # descending similarity, then lower index
        indices.append(np.take_along_axis(top, order, axis=1))
        similarities.append(np.take_along_axis(top_sims, order, axis=1))
    return np.concatenate(similarities), np.concatenate(indices)


def average_precision_at_k(relevant, ranked: Sequence, k: int | None = None) -> float:
    """AP@k of one ranking, as XTREME-R's utils_lareqa.average_precision_at_k: the precision at
    each first occurrence of a relevant item in the top k, summed, over min(#relevant, k)."""
    ranked = list(ranked[:k] if k else ranked)
    hits, total = 0, 0.0
    for i, item in enumerate(ranked):
        if item in relevant and item not in ranked[:i]:
            hits += 1
            total += hits / (i + 1.0)
    return total / (min(len(relevant), k) if k else len(relevant))


def mean_average_precision_at_k(
    queries: np.ndarray, candidates: np.ndarray, relevant: Sequence[set[int]], k: int = 20
) -> float:
    """mAP@k (0-100) of cosine retrieval: query i's relevant candidates are the rows in
    relevant[i]. XTREME-R's LAReQA metric (utils_lareqa.mean_avg_prec_at_k, dot products of
    unit vectors); with one relevant candidate per query it is Mewsli-X's MRR@k
    (utils_mewslix.evaluate over faiss top-k). Ties rank the lower candidate row first."""
    if len(queries) != len(relevant):
        raise ValueError(f"{len(queries)} queries but {len(relevant)} relevance sets")
    if len(queries) == 0:
        raise ValueError("nothing to score: no queries")
    empty = [i for i, r in enumerate(relevant) if not r]
    if empty:
        raise ValueError(
            f"{len(empty)} queries (first: row {empty[0]}) have no relevant candidate in the pool, "
            "so their AP is undefined: the pool lacks their answers (check the pool languages)"
        )
    _, ranked = _knn(_l2_normalize(queries), _l2_normalize(candidates), min(k, len(candidates)))
    scores = [average_precision_at_k(r, row.tolist(), k) for r, row in zip(relevant, ranked)]
    return 100.0 * float(np.mean(scores))


def _unique_rows(texts: Sequence[str] | None, count: int) -> tuple[list[int], list[int]]:
    """XTREME's text_load_unify: positions of first occurrences, and each row's unique index."""
    if texts is None:
        return list(range(count)), list(range(count))
    if len(texts) != count:
        raise ValueError(f"{len(texts)} texts for {count} embeddings")
    first_position: dict[str, int] = {}
    unique_index = [first_position.setdefault(text, len(first_position)) for text in texts]
    keep = {}
    for position, index in enumerate(unique_index):
        keep.setdefault(index, position)
    return [keep[index] for index in range(len(keep))], unique_index


def _id_of_unique_row(ids: Sequence, unique_index: list[int], drop_repeated: bool) -> dict[int, object]:
    """XTREME's read_sent2id: with texts, a sentence that occurs under several ids maps to none of them."""
    ids_of: dict[int, list] = {}
    for row, index in enumerate(unique_index):
        ids_of.setdefault(index, []).append(ids[row])
    return {index: found[0] for index, found in ids_of.items() if not drop_repeated or len(set(found)) == 1}


def bucc_candidates(
    src_emb: np.ndarray,
    tgt_emb: np.ndarray,
    src_ids: Sequence,
    tgt_ids: Sequence,
    k: int = 4,
    src_texts: Sequence[str] | None = None,
    tgt_texts: Sequence[str] | None = None,
) -> list[tuple[object, object, float]]:
    """Mined BUCC pairs with their ratio-margin score (XTREME ``mine_bitext``, mode mine, retrieval max).

    margin(x, y) = cos(x, y) / (mean_knn_cos(x) / 2 + mean_knn_cos(y) / 2) with k neighbours each
    way (k capped at the other side's size). Each source keeps its best-margin target among its k
    neighbours and each target its best source; all these pairs, sorted by score (stable: forward
    pairs first on ties), are taken greedily so every sentence is used at most once, keeping
    scores > 0. With ``src_texts``/``tgt_texts`` duplicate sentences are mined once and a sentence
    found under several ids is dropped from the output, as XTREME's text-keyed files do.
    """
    if len(src_emb) != len(src_ids) or len(tgt_emb) != len(tgt_ids):
        raise ValueError("each embedding row needs exactly one id")
    if len(src_ids) == 0 or len(tgt_ids) == 0:
        return []
    src_keep, src_unique = _unique_rows(src_texts, len(src_ids))
    tgt_keep, tgt_unique = _unique_rows(tgt_texts, len(tgt_ids))
    x = _l2_normalize(np.asarray(src_emb)[src_keep])
    y = _l2_normalize(np.asarray(tgt_emb)[tgt_keep])

    fwd_sims, fwd_inds = _knn(x, y, min(len(y), k))
    bwd_sims, bwd_inds = _knn(y, x, min(len(x), k))
    fwd_mean, bwd_mean = fwd_sims.mean(axis=1), bwd_sims.mean(axis=1)
    fwd_scores = fwd_sims / ((fwd_mean[:, None] + bwd_mean[fwd_inds]) / 2)
    bwd_scores = bwd_sims / ((bwd_mean[:, None] + fwd_mean[bwd_inds]) / 2)
    fwd_best = fwd_inds[np.arange(len(x)), fwd_scores.argmax(axis=1)]
    bwd_best = bwd_inds[np.arange(len(y)), bwd_scores.argmax(axis=1)]

    pairs = [(i, int(j)) for i, j in enumerate(fwd_best)] + [(int(i), j) for j, i in enumerate(bwd_best)]
    scores = np.concatenate([fwd_scores.max(axis=1), bwd_scores.max(axis=1)])
    src_id_of = _id_of_unique_row(src_ids, src_unique, drop_repeated=src_texts is not None)
    tgt_id_of = _id_of_unique_row(tgt_ids, tgt_unique, drop_repeated=tgt_texts is not None)
    seen_src, seen_tgt, mined = set(), set(), []
    for position in np.argsort(-scores, kind="stable"):
        src, tgt = pairs[position]
        if src in seen_src or tgt in seen_tgt:
            continue
        seen_src.add(src)
        seen_tgt.add(tgt)
        if scores[position] > 0 and src in src_id_of and tgt in tgt_id_of:
            mined.append((src_id_of[src], tgt_id_of[tgt], float(scores[position])))
    return mined


def _best_score_per_pair(candidates: Iterable[tuple[object, object, float]]) -> dict[tuple, float]:
    """XTREME's read_candidate2score: one score per (src, tgt), the highest seen."""
    best: dict[tuple, float] = {}
    for src, tgt, score in candidates:
        best[(src, tgt)] = max(float(score), best.get((src, tgt), float(score)))
    return best


def bucc_f1(
    candidates: Iterable[tuple[object, object, float]],
    gold_pairs: Iterable[tuple[object, object]],
    threshold: float,
) -> dict[str, float]:
    """Precision, recall and F1 of the candidates scoring >= threshold (XTREME ``bucc_extract``,
    ``bucc_eval``)."""
    gold = {tuple(pair) for pair in gold_pairs}
    extracted = {pair for pair, score in _best_score_per_pair(candidates).items() if score >= threshold}
    correct = len(gold & extracted)
    if correct == 0:
        return {"precision": 0.0, "recall": 0.0, "f1": 0.0}
    precision, recall = correct / len(extracted), correct / len(gold)
    f1 = 2 * precision * recall / (precision + recall)
    return {"precision": 100.0 * precision, "recall": 100.0 * recall, "f1": 100.0 * f1}


def bucc_best_threshold(
    candidates: Iterable[tuple[object, object, float]],
    gold_pairs: Iterable[tuple[object, object]],
) -> tuple[float, float]:
    """XTREME ``bucc_optimize``: walk candidates by descending score, keep the cut with the best F1.

    The threshold is the midpoint between the last kept score and the next one; when the best cut
    keeps every candidate (XTREME would index past the end) it is the last score. Returns the
    threshold and the F1 (0-100) that ``bucc_f1`` gives at it, as ``bucc_eval`` reports.
    ``gold_pairs`` must use the same id type as the candidates.
    """
    candidates = list(candidates)
    gold = {tuple(pair) for pair in gold_pairs}
    ranked = sorted(_best_score_per_pair(candidates).items(), key=lambda item: -item[1])
    extracted = correct = 0
    threshold = best_f1 = 0.0
    for position, (pair, score) in enumerate(ranked):
        extracted += 1
        correct += pair in gold
        if correct == 0:
            continue
        precision, recall = correct / extracted, correct / len(gold)
        f1 = 2 * precision * recall / (precision + recall)
        if f1 > best_f1:
            best_f1 = f1
            threshold = (score + ranked[position + 1][1]) / 2 if position + 1 < len(ranked) else score
    return threshold, bucc_f1(candidates, gold, threshold)["f1"]
