"""Dual-encoder retrieval (XTREME-R's LAReQA and Mewsli-X): mAP@k against the official code,
the loaders on the embedded twins, the in-batch contrastive loss, and the multilingual pool."""

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from xstilts import config, grid, loaders, metrics, modeling, tasks
from xstilts.formats import dual_encoder
from xstilts.hub import Hub

REPO = Path(__file__).resolve().parents[1]

# ---- oracles: transcribed from google-research/xtreme @838c13b69daafb9328785d16caae2711e4012123


def official_average_precision_at_k(targets, ranked_predictions, k=None):
    """third_party/utils_lareqa.py average_precision_at_k, verbatim."""
    if k:
        ranked_predictions = ranked_predictions[:k]
    score = 0.0
    hits = 0.0
    for i, pred in enumerate(ranked_predictions):
        if pred in targets and pred not in ranked_predictions[:i]:
            hits += 1.0
            score += hits / (i + 1.0)
    divisor = min(len(targets), k) if k else len(targets)
    return score / divisor


def official_mean_avg_prec_at_k(question_encodings, candidate_matrix, correct, k=None):
    """third_party/utils_lareqa.py mean_avg_prec_at_k: its loop over questions with the
    Question/CandidateSet objects replaced by arrays (correct[i]: candidate rows of question i)
    and the mean returned instead of printed."""
    ap_scores = []
    for q, cands in zip(question_encodings, correct):
        question_vec = np.expand_dims(q, 0)
        scores = question_vec.dot(candidate_matrix.T)
        y_true = np.zeros(scores.shape[1])
        for ans in cands:
            y_true[ans] = 1
        ap_scores.append(
            official_average_precision_at_k(np.where(y_true == 1)[0], np.squeeze(scores).argsort()[::-1], k)
        )
    return np.mean(ap_scores)


def official_mewslix_mrr(golds, predictions, k=20):
    """third_party/utils_mewslix.py mean_reciprocal_rank, with evaluate's top-k truncation."""

    def _reciprocal_rank(labels):
        for rank, label in enumerate(labels, start=1):
            if label:
                return 1.0 / rank
        return 0.0

    reciprocal_ranks = []
    for gold, prediction_list in zip(golds, predictions):
        labels = [int(p == gold) for p in prediction_list[:k]]
        reciprocal_ranks.append(_reciprocal_rank(labels))
    return sum(reciprocal_ranks) / len(reciprocal_ranks)


def _unit(x):
    return x / np.linalg.norm(x, axis=1, keepdims=True)


# ---- mAP@k -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "relevant, ranked, k",
    [
        ({3}, [5, 3, 1, 0], 20),
        ({0, 1, 2}, [0, 9, 1, 8, 2], 2),  # fewer slots than answers: divisor min(3, k)
        ({4, 7}, [7, 7, 4, 1], 20),  # a repeated item counts once
        ({4, 7}, [1, 2, 3, 4, 5, 6, 7], None),
        ({9}, list(range(30)), 20),  # the answer beyond the top k
    ],
)
def test_average_precision_equals_the_official_function(relevant, ranked, k):
    assert metrics.average_precision_at_k(relevant, ranked, k) == pytest.approx(
        official_average_precision_at_k(np.array(sorted(relevant)), np.array(ranked), k)
    )


def test_map_at_20_equals_the_official_lareqa_computation():
    rng = np.random.default_rng(0)
    questions, candidates = _unit(rng.normal(size=(40, 16))), _unit(rng.normal(size=(300, 16)))
    # 1 to 11 answers each (LAReQA: one per language), some hard to find
    correct = [set(rng.choice(300, size=int(rng.integers(1, 12)), replace=False).tolist()) for _ in questions]
    ours = metrics.mean_average_precision_at_k(questions, candidates, correct, k=20)
    official = 100 * official_mean_avg_prec_at_k(questions, candidates, correct, k=20)
    assert 0 < ours < 100
    assert ours == pytest.approx(official, abs=1e-9)


def test_map_at_20_with_one_answer_is_mewslix_mrr():
    rng = np.random.default_rng(1)
    mentions, entities = _unit(rng.normal(size=(50, 8))), _unit(rng.normal(size=(120, 8)))
    gold = rng.integers(120, size=50)
    ranked = np.argsort(-(mentions @ entities.T), axis=1)[:, :20]  # faiss IndexFlatIP top 20
    official = official_mewslix_mrr(gold.tolist(), ranked.tolist())
    ours = metrics.mean_average_precision_at_k(mentions, entities, [{int(g)} for g in gold], k=20)
    assert ours == pytest.approx(100 * official)


def test_a_query_without_an_answer_in_the_pool_is_an_error():
    with pytest.raises(ValueError, match="no relevant candidate"):
        metrics.mean_average_precision_at_k(np.eye(2), np.eye(2), [{0}, set()])


# ---- the in-batch contrastive loss -------------------------------------------------------------


def test_in_batch_loss_equals_a_hand_computed_value():
    head = modeling.DualEncoderHead(2)
    with torch.no_grad():
        head.logit_scale.fill_(2.0)
    queries = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    candidates = torch.tensor([[1.0, 0.0], [0.6, 0.8]])
    loss, logits = head.in_batch_loss(queries, candidates)
    # rows: similarities x 2; label of query i is candidate i
    row1 = -2.0 + math.log(math.exp(2.0) + math.exp(1.2))
    row2 = -1.6 + math.log(math.exp(0.0) + math.exp(1.6))
    assert logits.flatten().tolist() == pytest.approx([2.0, 1.2, 0.0, 1.6])
    assert loss.item() == pytest.approx((row1 + row2) / 2)
    assert head.logit_scale.requires_grad  # learned, as XTREME-R's BertForRetrieval


def test_the_model_embeds_both_sides_with_one_tower():
    from transformers import XLMRobertaConfig, XLMRobertaModel

    torch.manual_seed(0)
    cfg = XLMRobertaConfig(
        vocab_size=50, hidden_size=8, num_hidden_layers=1, num_attention_heads=2, intermediate_size=16
    )
    model = modeling.MultiTaskModel(
        XLMRobertaModel(cfg, add_pooling_layer=False), {"t": {"format": "dual_encoder", "labels": []}}
    )
    model.eval()
    ids = torch.tensor([[0, 5, 6, 2], [0, 7, 2, 1]])
    mask = (ids != 1).long()
    cand = torch.tensor([[0, 9, 2, 1], [0, 11, 12, 2]])
    batch = {
        "query_input_ids": ids,
        "query_attention_mask": mask,
        "candidate_input_ids": cand,
        "candidate_attention_mask": (cand != 1).long(),
    }
    loss, _ = model("t", batch)
    _, q = model("t", {"input_ids": ids, "attention_mask": mask})
    _, c = model("t", {"input_ids": cand, "attention_mask": (cand != 1).long()})
    assert torch.allclose(q.norm(dim=1), torch.ones(2))
    assert loss.item() == pytest.approx(model.heads["t"].in_batch_loss(q, c)[0].item(), rel=1e-5)


# ---- text conventions (utils_mewslix / utils_lareqa) ----------------------------------------


def test_mention_markup_follows_the_reference_docstring():
    first = "The verdict came back for {Smith}? No. "
    second = "The verdict came back for Smith, who stepped down as AG of Fictitious County."
    text = first + second
    start = len(first) + second.index("Smith")
    context = {
        "text": text,
        "sentence_spans": [{"start": 0, "end": len(first) - 1}, {"start": len(first), "end": len(text)}],
    }
    mention = {"example_id": "x", "mention_span": {"start": start, "end": start + 5, "text": "Smith"}}
    # the docstring's example, with the space the code's f"{left} { {text} } {right}" puts before ","
    assert dual_encoder.mewslix_mention(context, mention) == (
        "Smith: The verdict came back for { Smith } , who stepped down as AG of Fictitious County."
    )
    braces = {"text": first, "sentence_spans": [{"start": 0, "end": len(first) - 1}]}
    m = {"example_id": "y", "mention_span": {"start": 0, "end": 3, "text": "The"}}
    assert dual_encoder.mewslix_mention(braces, m) == "The: { The } verdict came back for (Smith)? No."


def test_lareqa_candidates_concatenate_sentence_and_paragraph():
    rows = {
        "id": ["q1", "q2"],
        "context": ["Tom ate. Ann ran home."] * 2,
        "question": ["Who ate?", "Who ran?"],
        "answers": [{"text": ["Tom"], "answer_start": [0]}, {"text": ["Ann"], "answer_start": [9]}],
    }
    out = dual_encoder.squad_retrieval_rows(rows)
    candidates = [
        (i, t, k)
        for kind, i, t, k in zip(out["kind"], out["id"], out["text"], out["keys"])
        if kind == "candidate"
    ]
    assert candidates == [
        ("en_1_0", "Tom ate.Tom ate. Ann ran home.", ["q1"]),
        ("en_1_1", "Ann ran home.Tom ate. Ann ran home.", ["q2"]),
    ]
    assert out["id"][:2] == ["q1_en", "q2_en"] and out["keys"][:2] == [["q1"], ["q2"]]


# ---- loaders on the embedded twins ---------------------------------------------------------


@pytest.fixture(scope="module")
def mirror(tmp_path_factory):
    from xstilts.embedded.hub import build_hub_mirror

    root = tmp_path_factory.mktemp("hub") / "mirror"
    build_hub_mirror(root, ["en", "de", "zh", "ja", "ru"], size="micro")
    return Hub(root)


def test_lareqa_loaders_give_canonical_rows(mirror):
    train = tasks.TASKS["lareqa"].load(mirror, "train", "en")
    assert train.column_names == ["query", "candidate"] and len(train) > 100
    pool = {lang: tasks.TASKS["lareqa"].load(mirror, "test", lang) for lang in ("en", "de", "zh", "ru")}
    for lang, rows in pool.items():
        assert rows.column_names == list(dual_encoder.EVAL_COLUMNS)
        assert set(rows["language"]) == {lang} and set(rows["kind"]) == {"query", "candidate"}
    # 11-way parallel: a question's key is answered by one candidate in every language
    answered = {
        lang: {k for kind, keys in zip(r["kind"], r["keys"]) if kind == "candidate" for k in keys}
        for lang, r in pool.items()
    }
    questions = {
        k for kind, keys in zip(pool["zh"]["kind"], pool["zh"]["keys"]) if kind == "query" for k in keys
    }
    assert all(questions <= keys for keys in answered.values())


def test_mewslix_loaders_give_canonical_rows(mirror, monkeypatch):
    import tarfile

    task = tasks.TASKS["mewslix"]
    train = task.load(mirror, "train", "en")
    assert train.column_names == ["query", "candidate"]
    assert "{" in train[0]["query"] and train[0]["query"].split(":")[0] in train[0]["candidate"]
    mentions = task.load(mirror, "test", "ja")
    candidates = task.load(mirror, "test", loaders.MEWSLIX_CANDIDATES)
    assert set(mentions["kind"]) == {"query"} and set(mentions["language"]) == {"ja"}
    assert set(candidates["kind"]) == {"candidate"}
    assert {k for keys in mentions["keys"] for k in keys} <= set(candidates["id"])
    # dev (the fine-tuning's early stopping): wikipedia_pairs-dev as retrieval among its pairs'
    # entities, as train_mewslix.sh's --predict_file; not the candidate set; one tarball pass
    opened = []
    real_open = tarfile.open
    monkeypatch.setattr(tarfile, "open", lambda *a, **k: opened.append(a) or real_open(*a, **k))
    dev = task.load(mirror, "dev", "en")
    assert len(opened) == 1
    path = mirror.mirror / loaders.MEWSLIX_REPO / "raw.tar.gz"
    with real_open(path) as tar:
        member = next(m for m in tar if m.name.endswith("wikipedia_pairs-dev.jsonl"))
        pairs = [json.loads(line) for line in tar.extractfile(member).read().decode().splitlines()]
    queries = [i for i, kind in enumerate(dev["kind"]) if kind == "query"]
    mentions = [p["contextual_mention"]["mention"] for p in pairs]
    assert [dev["id"][i] for i in queries] == [m["example_id"] for m in mentions]
    assert [dev["keys"][i] for i in queries] == [[p["entity"]["entity_id"]] for p in pairs]
    pool = [c for c, kind in zip(dev["id"], dev["kind"]) if kind == "candidate"]
    assert pool == list(dict.fromkeys(p["entity"]["entity_id"] for p in pairs))
    assert len(pool) < len(candidates)


def test_mewslix_directory_of_the_download_script(tmp_path):
    """XTREME-R's preprocessed layout (utils_preprocess.py mewslix_preprocess): sharded mentions;
    dev keeps its gold ids, test's are blanked (in wikinews_labels too), so test cannot load;
    the fine-tuning's dev reads wikipedia_pairs-dev.jsonl."""
    load = tasks.TASKS["mewslix"].load
    for split, gold in (("dev", "Q7"), ("test", "")):
        doc = {
            "context": {"language": "de", "text": "Anna lief.", "sentence_spans": [{"start": 0, "end": 10}]},
            "mentions": [
                {
                    "example_id": "e1",
                    "mention_span": {"start": 0, "end": 4, "text": "Anna"},
                    "entity_id": gold,
                }
            ],
        }
        (tmp_path / "wikinews_mentions").mkdir(exist_ok=True)
        (tmp_path / "wikinews_labels").mkdir(exist_ok=True)
        (tmp_path / "wikinews_mentions" / f"{split}-de.jsonl").write_text(json.dumps(doc) + "\n")
        (tmp_path / "wikinews_labels" / f"{split}-de.json").write_text(json.dumps({"e1": [gold]}))
    entity = {"entity_id": "Q7", "description": "Anna ist eine Person.", "description_language": "de"}
    entity["sentence_spans"] = [{"start": 0, "end": 21}]
    (tmp_path / "candidate_set_entities.jsonl").write_text(json.dumps(entity) + "\n")
    mention = {**doc["mentions"][0], "entity_id": "Q7"}
    pair = {"contextual_mention": {"context": doc["context"], "mention": mention}, "entity": entity}
    (tmp_path / "wikipedia_pairs-dev.jsonl").write_text(json.dumps(pair) + "\n")
    rows = load(Hub(None), "dev", "de", mewslix_dir=str(tmp_path))
    assert rows["kind"] == ["query", "candidate"] and rows["keys"] == [["Q7"], ["Q7"]]
    assert rows["text"] == ["Anna: { Anna } lief.", "Anna ist eine Person."]
    with pytest.raises(ValueError, match="removes the test labels"):
        load(Hub(None), "test", "de", mewslix_dir=str(tmp_path))


# ---- the pool: every language's candidates --------------------------------------------------


def _cfg(embedded: bool):
    raw = {
        "models": {"m": {"hub_id": "FacebookAI/xlm-roberta-large"}},
        "recipes": ["none"],
        "targets": {"lareqa": ["de"], "mewslix": ["ja"]},
    }
    if embedded:
        raw["hub"] = {"mirror": "resources/hub"}
        raw["embedded"] = {"languages": ["en", "de", "es", "ru", "zh", "ja", "tr"]}
        raw["models"] = {"m": {"hub_id": "xstilts/tiny-xlmr", "retrieval_layer": 2}}
    return config.validate(raw)


@pytest.mark.parametrize("embedded", [False, True])
def test_a_cell_reads_every_pool_language(embedded):
    cfg = _cfg(embedded)
    inputs = grid.evaluation_inputs(cfg, "m", "none", "lareqa", "de", 0)
    pool = [Path(p).parts[-2] for p in inputs["pool"]]
    expected = "ar de el en es hi ru th tr vi zh" if not embedded else "de en es ru tr zh"
    assert sorted(pool) == expected.split()
    prepared = {(j["task"], j["language"]) for j in grid.prepare_jobs(cfg) if j["split"] == "test"}
    assert {("lareqa", lang) for lang in pool} <= prepared
    mewslix = grid.evaluation_inputs(cfg, "m", "none", "mewslix", "ja", 0)
    assert [Path(p).parts[-2] for p in mewslix["pool"]] == [loaders.MEWSLIX_CANDIDATES]
    assert ("mewslix", loaders.MEWSLIX_CANDIDATES) in prepared


def test_pool_scoring_searches_other_languages():
    """German questions whose answers sit in the English and Chinese splits only."""
    de = {"kind": ["query", "query", "candidate"], "keys": [["a"], ["b"], []]}
    en = {"kind": ["candidate", "candidate"], "keys": [["a"], ["b"]]}
    zh = {"kind": ["candidate"], "keys": [["b"]]}
    vectors = {
        "de": np.array([[1.0, 0], [0, 1.0], [0.7, 0.7]]),
        "en": np.array([[1.0, 0], [0.9, 0.45]]),
        "zh": np.array([[0, 1.0]]),
    }
    pool = [(de, vectors["de"]), (en, vectors["en"]), (zh, vectors["zh"])]
    score = dual_encoder.scores(tasks.TASKS["lareqa"], [(de, vectors["de"])], pool)["map_at_20"]
    # query a: its answer first (AP 1); query b: zh answer first, en answer third -> (1 + 2/3) / 2
    assert score == pytest.approx(100 * (1 + (1 + 2 / 3) / 2) / 2)
    with pytest.raises(ValueError, match="no relevant candidate"):
        dual_encoder.scores(tasks.TASKS["lareqa"], [(de, vectors["de"])], [(de, vectors["de"])])
