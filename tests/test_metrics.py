"""Tests of xstilts.metrics: hand-computed cases, edge cases, and real benchmark rows.

The real rows come from ../shared/real-samples (skipped when absent). Expected values on them are
computed by literal ports of the official scripts written here, independent of the module.
"""

import collections
import json
import re
import string
import sys
import unicodedata
import zlib
from pathlib import Path

import numpy as np
import pytest
from seqeval.metrics import f1_score as seqeval_v1_f1

from xstilts import metrics as m
from xstilts import results
from xstilts.tasks import TASKS

SAMPLES = Path(__file__).resolve().parents[1].parent / "shared" / "real-samples"


def sample(relative: str) -> Path:
    path = SAMPLES / relative
    if not path.exists():
        pytest.skip(f"real sample {relative} not present")
    return path


# ------------------------------------------------------------ literal ports of the official scripts


def v11_normalize(s):  # evaluate-v1.1.py
    s = s.lower()
    s = "".join(ch for ch in s if ch not in set(string.punctuation))
    s = re.sub(r"\b(a|an|the)\b", " ", s)
    return " ".join(s.split())


PUNCT = {chr(i) for i in range(sys.maxunicode) if unicodedata.category(chr(i)).startswith("P")}
PUNCT = PUNCT.union(string.punctuation)


def mlqa_normalize(s, lang):  # mlqa_evaluation_v1.py
    s = "".join(ch for ch in s.lower() if ch not in PUNCT)
    articles = {
        "en": r"\b(a|an|the)\b",
        "es": r"\b(un|una|unos|unas|el|la|los|las)\b",
        "vi": r"\b(của|là|cái|chiếc|những)\b",
        "de": r"\b(ein|eine|einen|einem|eines|einer|der|die|das|den|dem|des)\b",
        "ar": "\\sال^|ال",
    }
    if lang in articles:
        s = re.sub(articles[lang], " ", s)
    if lang == "zh":
        segs, temp = [], ""
        for char in s:
            if re.search(r"[\u4e00-\u9fa5]", char) or char in PUNCT:
                segs.extend(temp.split())
                temp = ""
                segs.append(char)
            else:
                temp += char
        segs.extend(temp.split())
        tokens = segs
    else:
        tokens = s.split()
    return " ".join(t for t in tokens if t.strip() != "")


def v1_evaluate(references, predictions, normalize):
    """evaluate-v1.1.py / mlqa_evaluation_v1.py evaluate(): max over golds, missing ids score 0."""

    def f1(pred, gold):
        p, g = normalize(pred).split(), normalize(gold).split()
        same = sum((collections.Counter(p) & collections.Counter(g)).values())
        if same == 0:
            return 0
        precision, recall = same / len(p), same / len(g)
        return 2 * precision * recall / (precision + recall)

    em = f1_sum = 0
    for qid, golds in references.items():
        if qid in predictions:
            em += max(normalize(predictions[qid]) == normalize(g) for g in golds)
            f1_sum += max(f1(predictions[qid], g) for g in golds)
    return 100.0 * em / len(references), 100.0 * f1_sum / len(references)


def v2_evaluate(references, preds, na_probs, thresh=1.0):
    """evaluate-v2.0.py main() with a na_prob file (every id predicted)."""
    has_ans = {q: bool(a) for q, a in references.items()}

    def toks(s):
        return v11_normalize(s).split() if s else []

    def f1(gold, pred):
        g, p = toks(gold), toks(pred)
        same = sum((collections.Counter(g) & collections.Counter(p)).values())
        if len(g) == 0 or len(p) == 0:
            return int(g == p)
        if same == 0:
            return 0
        precision, recall = same / len(p), same / len(g)
        return 2 * precision * recall / (precision + recall)

    exact_raw, f1_raw = {}, {}
    for q, answers in references.items():
        golds = [a for a in answers if v11_normalize(a)] or [""]
        exact_raw[q] = max(int(v11_normalize(a) == v11_normalize(preds[q])) for a in golds)
        f1_raw[q] = max(f1(a, preds[q]) for a in golds)

    def apply(scores):
        return {q: float(not has_ans[q]) if na_probs[q] > thresh else s for q, s in scores.items()}

    def best(scores):
        cur = best_score = sum(1 for q in has_ans if not has_ans[q])
        best_t = 0.0
        for q in sorted(na_probs, key=lambda k: na_probs[k]):
            diff = scores[q] if has_ans[q] else (-1 if preds[q] else 0)
            cur += diff
            if cur > best_score:
                best_score, best_t = cur, na_probs[q]
        return 100.0 * best_score / len(scores), best_t

    exact, f1s = apply(exact_raw), apply(f1_raw)
    return {
        "exact": 100.0 * sum(exact.values()) / len(exact),
        "f1": 100.0 * sum(f1s.values()) / len(f1s),
        "best_exact": best(exact_raw),
        "best_f1": best(f1_raw),
    }


def seqeval_0012_f1(y_true, y_pred):
    """seqeval 0.0.12 f1_score: tag = first char, type = text after the last '-' (whole tag if none)."""

    def entities(seqs):
        seq = [t for s in seqs for t in s + ["O"]]
        chunks, prev_tag, prev_type, begin = [], "O", "", 0
        for i, chunk in enumerate(seq + ["O"]):
            tag, type_ = chunk[0], chunk.split("-")[-1]
            end = (
                prev_tag in "ES"
                or (prev_tag in "BI" and tag in "BSO")
                or (prev_tag not in "O." and prev_type != type_)
            )
            if end:
                chunks.append((prev_type, begin, i - 1))
            start = (
                tag in "BS"
                or (prev_tag in "ES" and tag in "EI")
                or (prev_tag == "O" and tag in "EI")
                or (tag not in "O." and prev_type != type_)
            )
            if start:
                begin = i
            prev_tag, prev_type = tag, type_
        return set(chunks)

    gold, pred = entities(y_true), entities(y_pred)
    correct = len(gold & pred)
    p = correct / len(pred) if pred else 0
    r = correct / len(gold) if gold else 0
    return 100.0 * 2 * p * r / (p + r) if p + r else 0.0


def xtreme_mine_bitext(x, y, k=4):
    """utils_retrieve.mine_bitext (cosine, ratio margin, retrieval 'max', threshold 0) with full sorts."""
    x = x / np.linalg.norm(x, axis=1, keepdims=True)
    y = y / np.linalg.norm(y, axis=1, keepdims=True)

    def knn(a, b, kk):
        sims = a @ b.T
        ind = np.argsort(-sims, axis=1, kind="stable")[:, :kk]
        return np.take_along_axis(sims, ind, axis=1), ind

    x2y_sim, x2y_ind = knn(x, y, min(len(y), k))
    y2x_sim, y2x_ind = knn(y, x, min(len(x), k))
    x2y_mean, y2x_mean = x2y_sim.mean(axis=1), y2x_sim.mean(axis=1)

    def score_candidates(a, b, inds, fwd_mean, bwd_mean):
        scores = np.zeros(inds.shape)
        for i in range(scores.shape[0]):
            for j in range(scores.shape[1]):
                kk = inds[i, j]
                scores[i, j] = a[i].dot(b[kk]) / ((fwd_mean[i] + bwd_mean[kk]) / 2)
        return scores

    fwd_scores = score_candidates(x, y, x2y_ind, x2y_mean, y2x_mean)
    bwd_scores = score_candidates(y, x, y2x_ind, y2x_mean, x2y_mean)
    fwd_best = x2y_ind[np.arange(x.shape[0]), fwd_scores.argmax(axis=1)]
    bwd_best = y2x_ind[np.arange(y.shape[0]), bwd_scores.argmax(axis=1)]
    indices = np.stack(
        (
            np.concatenate((np.arange(x.shape[0]), bwd_best)),
            np.concatenate((fwd_best, np.arange(y.shape[0]))),
        ),
        axis=1,
    )
    scores = np.concatenate((fwd_scores.max(axis=1), bwd_scores.max(axis=1)))
    seen_src, seen_trg, out = set(), set(), []
    for i in np.argsort(-scores, kind="stable"):
        src_ind, trg_ind = indices[i]
        if src_ind not in seen_src and trg_ind not in seen_trg:
            seen_src.add(src_ind)
            seen_trg.add(trg_ind)
            if scores[i] > 0:
                out.append((int(src_ind), int(trg_ind), float(scores[i])))
    return out


# ----------------------------------------------------------------------------- classification


def test_accuracy_hand_computed():
    assert m.accuracy([1, 0, 2], [1, 1, 2]) == pytest.approx(200 / 3)
    assert m.accuracy(["entailment", "neutral"], ["entailment", "neutral"]) == 100.0


@pytest.mark.parametrize("predictions, labels", [([], []), ([1], [1, 0])])
def test_accuracy_rejects_empty_or_mismatched(predictions, labels):
    with pytest.raises(ValueError):
        m.accuracy(predictions, labels)


def test_accuracy_and_f1_hand_computed():
    scores = m.accuracy_and_f1([1, 1, 0, 0, 1, 1], [1, 0, 0, 1, 1, 0])
    # tp=2, 4 predicted positive, 3 actual positive: P=1/2, R=2/3, F1 = 2*2/(4+3)
    assert scores == pytest.approx({"accuracy": 50.0, "f1": 400 / 7, "accuracy_f1_mean": (50 + 400 / 7) / 2})


def test_accuracy_and_f1_without_positives_is_zero_f1():
    assert m.accuracy_and_f1([0, 0], [0, 0]) == {"accuracy": 100.0, "f1": 0.0, "accuracy_f1_mean": 50.0}


# ----------------------------------------------------------------------------- SQuAD v1.1 / MLQA


def test_squad_normalisation_and_max_over_golds():
    references = {"q1": ["Eiffel tower"], "q2": ["Eiffel Tower", "the tower"], "q3": ["1889"]}
    predictions = {"q1": "The Eiffel Tower!", "q2": "Eiffel", "q3": "in 1889"}
    scores = m.squad_scores(predictions, references)
    # q1 exact; q2 best gold "Eiffel Tower": P=1 R=1/2 -> 2/3; q3: P=1/2 R=1 -> 2/3
    assert scores["exact_match"] == pytest.approx(100 / 3)
    assert scores["f1"] == pytest.approx(100 * (1 + 2 / 3 + 2 / 3) / 3)
    assert scores["em_f1_mean"] == pytest.approx((scores["exact_match"] + scores["f1"]) / 2)


def test_squad_missing_and_empty_predictions_score_zero():
    references = {"q1": ["Paris"], "q2": ["Rome"]}
    assert m.squad_scores({"q1": "Paris"}, references) == {
        "exact_match": 50.0,
        "f1": 50.0,
        "em_f1_mean": 50.0,
    }
    assert m.squad_scores({}, references) == {"exact_match": 0.0, "f1": 0.0, "em_f1_mean": 0.0}
    assert m.squad_scores({"q1": "", "q2": ""}, references)["f1"] == 0.0


def test_squad_rejects_unanswerable_and_empty_references():
    with pytest.raises(ValueError):
        m.squad_scores({"q": ""}, {"q": []})
    with pytest.raises(ValueError):
        m.squad_scores({}, {})


@pytest.mark.parametrize(
    "language, prediction, gold",
    [
        ("en", "the dog", "dog"),
        ("de", "der Hund", "Hund"),
        ("de", "einem Haus", "Haus"),
        ("es", "la casa", "casa"),
        ("es", "unos perros", "perros"),
        ("vi", "những con mèo", "con mèo"),
        ("ar", "الكتاب", "كتاب"),
    ],
)
def test_mlqa_removes_each_languages_articles(language, prediction, gold):
    assert m.squad_scores({"q": prediction}, {"q": [gold]}, language=language)["exact_match"] == 100.0
    # SQuAD's English-only normalisation keeps them (except English's own articles)
    expected_squad = 100.0 if language == "en" else 0.0
    assert m.squad_scores({"q": prediction}, {"q": [gold]})["exact_match"] == expected_squad


def test_mlqa_keeps_other_languages_articles():
    # "the" is no article in German or Hindi: it stays a token
    assert m.squad_scores({"q": "the Hund"}, {"q": ["Hund"]}, language="de")["exact_match"] == 0.0
    assert m.squad_scores({"q": "the x"}, {"q": ["x"]}, language="hi")["exact_match"] == 0.0


def test_mlqa_removes_unicode_punctuation_squad_does_not():
    assert m.squad_scores({"q": "«Berlin»"}, {"q": ["Berlin"]}, language="de")["exact_match"] == 100.0
    assert m.squad_scores({"q": "«Berlin»"}, {"q": ["Berlin"]})["exact_match"] == 0.0


def test_zh_mixed_segmentation():
    assert m.mixed_segmentation("iphone 手机很好abc def") == ["iphone", "手", "机", "很", "好", "abc", "def"]
    assert m.mixed_segmentation("a,b 「c」") == ["a", ",", "b", "「", "c", "」"]
    # char-level tokens: 2 of 4 characters shared -> P=1, R=1/2, F1=2/3; SQuAD sees one token each -> 0
    assert m.squad_scores({"q": "北京"}, {"q": ["北京大学"]}, language="zh")["f1"] == pytest.approx(200 / 3)
    assert m.squad_scores({"q": "北京"}, {"q": ["北京大学"]})["f1"] == 0.0
    # full-width punctuation is dropped before segmenting
    assert m.squad_scores({"q": "北京。"}, {"q": ["北京"]}, language="zh")["exact_match"] == 100.0


def test_mlqa_unknown_language_raises():
    with pytest.raises(ValueError):
        m.squad_scores({"q": "x"}, {"q": ["x"]}, language="fr")


def read_squad_json(path):
    data = json.loads(path.read_text(encoding="utf-8"))["data"]
    qas = [qa for article in data for paragraph in article["paragraphs"] for qa in paragraph["qas"]]
    return {qa["id"]: [answer["text"] for answer in qa["answers"]] for qa in qas}


def perturbed_predictions(references, article):
    """Deterministic damage: drop a word, blank, swap in another question's answer, or add an article."""
    ids = list(references)
    predictions = {}
    for position, qid in enumerate(ids):
        gold = references[qid][0]
        if position % 11 == 0:
            continue  # missing prediction
        if position % 5 == 0:
            predictions[qid] = ""
        elif position % 3 == 0:
            predictions[qid] = " ".join(gold.split()[:-1]) or gold + " extra"
        elif position % 7 == 0:
            predictions[qid] = references[ids[position - 1]][0]
        else:
            predictions[qid] = f"{article} {gold}."
    return predictions


def test_xquad_de_real_rows_gold_scores_100_and_perturbed_matches_official():
    references = read_squad_json(sample("xquad/xquad.de.json"))
    assert len(references) == 1190
    gold = {qid: answers[0] for qid, answers in references.items()}
    assert m.squad_scores(gold, references) == {"exact_match": 100.0, "f1": 100.0, "em_f1_mean": 100.0}
    predictions = perturbed_predictions(references, "the")
    scores = m.squad_scores(predictions, references)
    expected_em, expected_f1 = v1_evaluate(references, predictions, v11_normalize)
    assert scores["exact_match"] == pytest.approx(expected_em)
    assert scores["f1"] == pytest.approx(expected_f1)
    assert (round(scores["exact_match"], 4), round(scores["f1"], 4)) == (41.6807, 59.7828)


def read_mlqa_de_arrow():
    pyarrow = pytest.importorskip("pyarrow")
    path = sample("mlqa/hf_save_to_disk_mlqa.de.de_validation/data-00000-of-00001.arrow")
    rows = pyarrow.ipc.open_stream(path).read_all().to_pylist()
    return {row["id"]: row["answers"]["text"] for row in rows}


def test_mlqa_de_real_rows_match_official_script():
    references = read_mlqa_de_arrow()
    assert len(references) == 512
    gold = {qid: answers[0] for qid, answers in references.items()}
    assert m.squad_scores(gold, references, language="de")["em_f1_mean"] == 100.0
    predictions = perturbed_predictions(references, "der")
    scores = m.squad_scores(predictions, references, language="de")
    expected_em, expected_f1 = v1_evaluate(references, predictions, lambda s: mlqa_normalize(s, "de"))
    assert scores["exact_match"] == pytest.approx(expected_em)
    assert scores["f1"] == pytest.approx(expected_f1)
    # only MLQA's German normalisation drops the added "der"
    assert scores["exact_match"] > 30.0
    assert m.squad_scores(predictions, references)["exact_match"] < 5.0


# ----------------------------------------------------------------------------- SQuAD 2.0


def test_squad_v2_hand_computed():
    references = {"a": ["Paris"], "b": [], "c": ["blue whale"], "d": []}
    predictions = {"a": "Paris", "b": "", "c": "whale", "d": "London"}
    null_odds = {"a": -2.0, "b": 3.0, "c": 0.5, "d": 0.8}
    scores = m.squad_v2_scores(predictions, references, null_odds)
    assert scores["exact_match"] == pytest.approx(50.0)
    assert scores["f1"] == pytest.approx(100 * (1 + 1 + 2 / 3) / 4)
    assert (scores["has_ans_exact_match"], scores["has_ans_f1"]) == pytest.approx(
        (50.0, 100 * (1 + 2 / 3) / 2)
    )
    assert (scores["no_ans_exact_match"], scores["no_ans_f1"]) == pytest.approx((50.0, 50.0))
    assert (scores["total"], scores["has_ans_total"], scores["no_ans_total"]) == (4, 2, 2)
    # sweep by ascending odds a, c, d, b from "abstain everywhere" = 2 right:
    # exact: a +1 -> 3 (best, thresh -2), c +0, d -1 ("London" on a NoAns question), b +0
    assert (scores["best_exact"], scores["best_exact_thresh"]) == pytest.approx((75.0, -2.0))
    # f1: a +1 -> 3, c +2/3 -> 3.67 (best, thresh 0.5), d -1
    assert (scores["best_f1"], scores["best_f1_thresh"]) == pytest.approx((100 * (3 + 2 / 3) / 4, 0.5))
    assert scores["em_f1_mean"] == pytest.approx((75.0 + 100 * (3 + 2 / 3) / 4) / 2)


def test_squad_v2_threshold_forces_abstention():
    references = {"a": ["Paris"], "b": []}
    scores = m.squad_v2_scores(
        {"a": "Paris", "b": "Rome"}, references, {"a": 5.0, "b": 5.0}, na_prob_thresh=1.0
    )
    # both forced to "": a (answerable) wrong, b (unanswerable) right
    assert (scores["has_ans_exact_match"], scores["no_ans_exact_match"]) == (0.0, 100.0)


def test_squad_v2_missing_prediction_scores_zero_and_odds_required():
    references = {"a": ["Paris"], "b": []}
    scores = m.squad_v2_scores({"a": "Paris"}, references, {"a": 0.0})
    assert scores["exact_match"] == 50.0 and scores["no_ans_exact_match"] == 0.0
    assert scores["best_exact"] == 50.0
    with pytest.raises(ValueError):
        m.squad_v2_scores({"a": "Paris"}, references, {})


def test_squad_v2_drops_golds_that_normalise_to_nothing():
    # evaluate-v2.0.py keeps only golds with text left after normalisation: "the" is no gold here
    scores = m.squad_v2_scores({"q": ""}, {"q": ["the", "Paris"]}, {"q": 0.0})
    assert (scores["exact_match"], scores["f1"]) == (0.0, 0.0)


def test_squad_v2_only_answerable_has_no_no_ans_breakdown():
    scores = m.squad_v2_scores({"a": "Paris"}, {"a": ["Paris"]}, {"a": 0.0})
    assert scores["no_ans_exact_match"] is None and scores["no_ans_total"] == 0
    assert scores["best_exact"] == 100.0


def test_squad_v2_real_first_article_matches_official_script():
    references = read_squad_json(sample("squad20/dev-v2.0.first_article_Normans.json"))
    assert len(references) == 208 and sum(not a for a in references.values()) == 112
    predictions, null_odds = {}, {}
    for position, (qid, answers) in enumerate(references.items()):
        if answers:  # answer well, half-answer, or wrongly abstain
            predictions[qid] = answers[0] if position % 3 else ("" if position % 2 else answers[0].split()[0])
        else:  # abstain, or invent an answer
            predictions[qid] = "" if position % 4 else "the Normans"
        null_odds[qid] = ((position * 37) % 101) / 33.0 - 1.0  # deterministic, in [-1, 2]: some above 1
    scores = m.squad_v2_scores(predictions, references, null_odds)
    official = v2_evaluate(references, predictions, null_odds)
    assert scores["exact_match"] == pytest.approx(official["exact"])
    assert scores["f1"] == pytest.approx(official["f1"])
    assert (scores["best_exact"], scores["best_exact_thresh"]) == pytest.approx(official["best_exact"])
    assert (scores["best_f1"], scores["best_f1_thresh"]) == pytest.approx(official["best_f1"])
    # xstilts scores un-blanked answers with the model's own cut (odds > 0 abstain): --na-prob-thresh 0
    at_zero = m.squad_v2_scores(predictions, references, null_odds, na_prob_thresh=0.0)
    official_at_zero = v2_evaluate(references, predictions, null_odds, thresh=0.0)
    assert (at_zero["exact_match"], at_zero["f1"]) == pytest.approx(
        (official_at_zero["exact"], official_at_zero["f1"])
    )
    assert at_zero["best_f1"] == pytest.approx(official["best_f1"][0])
    # jiant passed no null odds: all 0.0 in reference order
    zero_odds = dict.fromkeys(references, 0.0)
    jiant_like = m.squad_v2_scores(predictions, references, zero_odds)
    official_zero = v2_evaluate(references, predictions, zero_odds)
    assert jiant_like["best_f1"] == pytest.approx(official_zero["best_f1"][0])


# ----------------------------------------------------------------------------- tagging


def test_seqeval_f1_hand_computed():
    true = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG"]]
    pred = [["B-PER", "I-PER", "O", "B-ORG"], ["B-ORG"]]
    # 2 of 3 predicted entities right, 2 of 3 gold found
    assert m.seqeval_f1(true, pred) == pytest.approx(200 / 3)


def test_seqeval_f1_defined_edge_cases():
    assert m.seqeval_f1([], []) == 0.0
    assert m.seqeval_f1([[]], [[]]) == 0.0
    assert m.seqeval_f1([["O", "O"]], [["O", "O"]]) == 0.0  # no entity anywhere: undefined -> 0
    assert m.seqeval_f1([["O", "O"]], [["B-PER", "O"]]) == 0.0
    with pytest.raises(ValueError):
        m.seqeval_f1([["O", "O"]], [["O"]])


def test_udpos_f1_merges_runs_like_xtreme():
    true, pred = [["NOUN", "NOUN", "VERB"]], [["NOUN", "VERB", "VERB"]]
    # gold spans NOUN(0-1) VERB(2); predicted NOUN(0) VERB(1-2): none equal
    assert m.udpos_f1(true, pred) == 0.0
    assert m.token_accuracy(true, pred) == pytest.approx(200 / 3)
    # SYM/SCONJ start with "S": every token is its own span (gold SYM(0) SYM(1); 1 of 2 right each way)
    assert m.udpos_f1([["SYM", "SYM"]], [["SYM", "X"]]) == 50.0
    assert m.udpos_f1([["NOUN", "NOUN"]], [["NOUN", "X"]]) == 0.0


def test_udpos_f1_keeps_cconj_and_sconj_apart():
    # seqeval >= 1.0 on raw tags reads both as type "CONJ" and calls this right
    with pytest.warns(UserWarning, match="seems not to be NE tag"):
        assert 100.0 * seqeval_v1_f1([["CCONJ"]], [["SCONJ"]]) == 100.0
    assert m.udpos_f1([["CCONJ"]], [["SCONJ"]]) == 0.0


def read_upos(path):
    sentences, current = [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            if current:
                sentences.append(current)
            current = []
        elif not line.startswith("#"):
            columns = line.split("\t")
            if columns[0].isdigit():  # skip multiword ranges and empty nodes
                current.append(columns[3])
    if current:
        sentences.append(current)
    return sentences


@pytest.mark.parametrize("treebank", ["en_ewt-ud-dev.first300.conllu", "de_gsd-ud-dev.first300.conllu"])
def test_udpos_real_treebank_matches_seqeval_0012(treebank):
    true = read_upos(sample(f"udpos/{treebank}"))
    assert len(true) == 300
    tagset = sorted({tag for sentence in true for tag in sentence})
    pred = [
        [
            tagset[(tagset.index(tag) + 1) % len(tagset)] if (i * 31 + j) % 9 == 0 else tag
            for j, tag in enumerate(sentence)
        ]
        for i, sentence in enumerate(true)
    ]
    assert m.udpos_f1(true, true) == 100.0
    assert m.udpos_f1(true, pred) == pytest.approx(seqeval_0012_f1(true, pred))
    # span F1 punishes a wrong token inside a run, so it is below the per-token score
    assert m.udpos_f1(true, pred) < m.token_accuracy(true, pred) < 100.0


def test_token_accuracy_hand_computed_and_mismatch():
    assert m.token_accuracy([["N", "S/N"], ["NP"]], [["N", "N"], ["NP"]]) == pytest.approx(200 / 3)
    with pytest.raises(ValueError):
        m.token_accuracy([["N"]], [["N", "N"]])


# ----------------------------------------------------------------------------- Tatoeba retrieval


def test_retrieval_accuracy_identity_permutation_and_ties():
    emb = np.eye(4)
    assert m.retrieval_accuracy(emb, emb * 3) == 100.0  # cosine ignores scale
    assert m.retrieval_accuracy(emb, emb[[1, 0, 2, 3]]) == 50.0
    # equal targets: both sources take target 0 (lowest index), so only source 0 is right
    tied = np.array([[1.0, 0.0], [1.0, 0.0]])
    assert m.retrieval_accuracy(tied, tied) == 50.0
    # a zero vector is as close to everything (0): it takes target 0
    assert m.retrieval_accuracy(np.array([[0.0, 0.0], [0.0, 0.0]]), np.eye(2)) == 50.0


def test_retrieval_accuracy_rejects_bad_shapes():
    with pytest.raises(ValueError):
        m.retrieval_accuracy(np.eye(3), np.eye(3)[:2])
    with pytest.raises(ValueError):
        m.retrieval_accuracy(np.zeros((0, 3)), np.eye(3))


def char_trigram_embeddings(lines, dim=4096):
    emb = np.zeros((len(lines), dim))
    for row, line in enumerate(lines):
        text = f" {line.lower()} "
        for start in range(len(text) - 2):
            emb[row, zlib.crc32(text[start : start + 3].encode()) % dim] += 1
    return emb


def test_tatoeba_deu_eng_bag_of_characters_beats_chance():
    german = sample("tatoeba/tatoeba.deu-eng.deu").read_text(encoding="utf-8").splitlines()
    english = sample("tatoeba/tatoeba.deu-eng.eng").read_text(encoding="utf-8").splitlines()
    assert len(german) == len(english) == 1000
    score = m.retrieval_accuracy(char_trigram_embeddings(english), char_trigram_embeddings(german))
    # chance is 0.1 %; shared names and cognates carry a bag of character trigrams to ~16 %
    assert 10.0 < score < 30.0
    shuffled = char_trigram_embeddings(german)[np.random.default_rng(0).permutation(1000)]
    assert m.retrieval_accuracy(char_trigram_embeddings(english), shuffled) < 1.0


# ----------------------------------------------------------------------------- BUCC


def test_bucc_candidates_match_xtreme_mine_bitext():
    rng = np.random.default_rng(1)
    src = rng.normal(size=(30, 16))
    tgt = np.vstack([src[:20] + 0.6 * rng.normal(size=(20, 16)), rng.normal(size=(15, 16))])  # 15 distractors
    src_ids = [f"de-{i:03d}" for i in range(30)]
    tgt_ids = [f"en-{i:03d}" for i in range(35)]
    mined = m.bucc_candidates(src, tgt, src_ids, tgt_ids, k=4)
    expected = [(src_ids[i], tgt_ids[j], score) for i, j, score in xtreme_mine_bitext(src, tgt, k=4)]
    assert [(s, t) for s, t, _ in mined] == [(s, t) for s, t, _ in expected]
    assert [score for _, _, score in mined] == pytest.approx([score for _, _, score in expected])
    # one-to-one: every sentence appears at most once
    assert len({s for s, _, _ in mined}) == len({t for _, t, _ in mined}) == len(mined)


def test_bucc_margin_hand_computed():
    # two orthogonal pairs, k=1: every knn mean is 1 (the partner), so margin = cos / 1
    src, tgt = np.eye(2), np.eye(2)
    mined = m.bucc_candidates(src, tgt, ["s0", "s1"], ["t0", "t1"], k=1)
    assert sorted(mined) == [("s0", "t0", 1.0), ("s1", "t1", 1.0)]
    # k=2: knn means are (1 + 0) / 2 = 0.5 each way, margin = 1 / ((0.5 + 0.5) / 2) = 2
    mined = m.bucc_candidates(src, tgt, ["s0", "s1"], ["t0", "t1"], k=2)
    assert sorted(mined) == [("s0", "t0", 2.0), ("s1", "t1", 2.0)]


def test_bucc_keeps_only_positive_margins():
    # x0 has only negative-cosine neighbours: its best pair (x0, y0) scores < 0 and is dropped
    x = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    y = np.array([[-0.1, 0.99, 0.0], [-0.3, 0.95, 0.0]])
    mined = m.bucc_candidates(x, y, ["x0", "x1"], ["y0", "y1"], k=2)
    assert [(s, t) for s, t, _ in mined] == [("x1", "y1")]
    assert [(i, j) for i, j, _ in xtreme_mine_bitext(x, y, k=2)] == [(1, 1)]


def test_bucc_duplicate_sentences_are_dropped_like_xtreme():
    src = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    tgt = np.array([[1.0, 0.1], [0.1, 1.0]])
    mined = m.bucc_candidates(
        src,
        tgt,
        ["s0", "s1", "s2"],
        ["t0", "t1"],
        k=2,
        src_texts=["Hallo", "Hallo", "Welt"],
        tgt_texts=["hello", "world"],
    )
    assert [(s, t) for s, t, _ in mined] == [("s2", "t1")]  # "Hallo" has two ids: no pair for it


def test_bucc_best_threshold_hand_computed():
    candidates = [("a", "x", 3.0), ("b", "y", 2.0), ("c", "z", 1.0)]
    gold = [("a", "x"), ("c", "z")]
    # cut after 1: F1 2/3 (threshold 2.5); after 3: P 2/3 R 1 F1 0.8 -> keeps all, threshold = last score
    threshold, f1 = m.bucc_best_threshold(candidates, gold)
    assert (threshold, f1) == pytest.approx((1.0, 80.0))
    assert m.bucc_f1(candidates, gold, 2.5) == pytest.approx(
        {"precision": 100.0, "recall": 50.0, "f1": 200 / 3}
    )
    threshold, f1 = m.bucc_best_threshold(candidates, [("a", "x")])
    assert (threshold, f1) == pytest.approx((2.5, 100.0))


def test_bucc_no_correct_candidate():
    assert m.bucc_best_threshold([("a", "x", 1.0)], [("a", "y")]) == (0.0, 0.0)
    assert m.bucc_best_threshold([], [("a", "y")]) == (0.0, 0.0)
    assert m.bucc_f1([("a", "x", 1.0)], [], 0.0) == {"precision": 0.0, "recall": 0.0, "f1": 0.0}


def test_bucc_real_gold_ids_recovered_from_aligned_embeddings():
    lines = sample("bucc/xtreme_mock_labels_bucc2018_test-de.tsv").read_text().split("\n")
    gold = [tuple(line.split("\t")) for line in lines if line.strip()]
    rng = np.random.default_rng(2)
    base = rng.normal(size=(len(gold), 32))
    src = base + 0.3 * rng.normal(size=base.shape)
    tgt = np.vstack([base[::-1] + 0.3 * rng.normal(size=base.shape), rng.normal(size=(5, 32))])
    tgt_ids = [en for _, en in gold][::-1] + [f"en-distractor-{i}" for i in range(5)]
    candidates = m.bucc_candidates(src, tgt, [de for de, _ in gold], tgt_ids)
    threshold, f1 = m.bucc_best_threshold(candidates, gold)
    assert f1 == 100.0
    assert m.bucc_f1(candidates, gold, threshold)["f1"] == 100.0


# ----------------------------------------------------------------------------- XTREME score


def full_scores():
    """Every XTREME language of the nine tasks, centred on a per-task value (its exact mean)."""
    values = {
        "xnli": 80,
        "pawsx": 86,
        "udpos": 76,
        "panx": 64,
        "xquad": 70,
        "mlqa": 60,
        "tydiqa": 55,
        "bucc": 66,
        "tatoeba": 57,
    }
    scores = {}
    for task, value in values.items():
        languages = TASKS[task].benchmark_languages("xtreme")
        scores[task] = {lang: value + i - (len(languages) - 1) / 2 for i, lang in enumerate(languages)}
    return scores


def test_xtreme_score_full_grid():
    result = results.xtreme_score(full_scores())
    assert result["tasks"]["xnli"] == 80.0
    assert result["classification"] == 83.0
    assert result["structured_prediction"] == 70.0
    assert result["question_answering"] == pytest.approx(185 / 3)
    assert result["retrieval"] == 61.5
    assert result["xtreme"] == pytest.approx(614 / 9)
    assert result["missing_tasks"] == [] and result["incomplete_tasks"] == {}


def test_xtreme_score_missing_task_never_partial():
    scores = full_scores()
    del scores["bucc"]
    scores["xcopa"] = {"et": 50.0}
    result = results.xtreme_score(scores)
    assert "bucc" not in result["tasks"] and result["tasks"]["xcopa"] == 50.0
    assert result["retrieval"] is None and result["xtreme"] is None
    assert result["classification"] == 83.0
    assert result["missing_tasks"] == ["bucc"]


def test_xtreme_score_incomplete_languages():
    scores = full_scores()
    del scores["xnli"]["sw"]  # 14 of XNLI's 15: no partial task mean, so no category
    result = results.xtreme_score(scores)
    assert result["tasks"]["xnli"] is None and result["incomplete_tasks"] == {"xnli": ["sw"]}
    assert result["classification"] is None and result["xtreme"] is None
    assert result["missing_tasks"] == ["xnli"]
    assert results.xtreme_score({})["missing_tasks"] == list(results.XTREME_TASKS)
    # a language outside XTREME's (ro: XTREME-R's udpos) stays out of the task mean
    scores = full_scores()
    scores["udpos"]["ro"] = 0.0
    assert results.xtreme_score(scores)["tasks"]["udpos"] == 76.0
    # expected_languages overrides XTREME's list of a task
    result = results.xtreme_score(full_scores(), expected_languages={"xnli": ["en", "de", "xx"]})
    assert result["tasks"]["xnli"] is None and result["incomplete_tasks"] == {"xnli": ["xx"]}
