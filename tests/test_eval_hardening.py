"""Scoring paths that used to give silently wrong numbers: tagging windows, SQuAD 2.0's threshold
search, the retrieval layer per model, and BUCC's duplicate sentences."""

import json
from pathlib import Path

import datasets
import numpy as np
import pytest
from test_qa_format import REAL_SAMPLES, TEXTS, as_batch, build_tokenizer, qa

from xstilts import config, evaluation, metrics, settings, stages
from xstilts.formats import FORMATS, retrieval, tagging
from xstilts.formats import qa as qa_format
from xstilts.loaders import UPOS_TAGS
from xstilts.pretrained import RETRIEVAL_LAYERS
from xstilts.tasks import TASKS

REPO = Path(__file__).resolve().parents[1]
WORDS = "the river runs past the old mountain and the town sleeps under a quiet sky".split()


@pytest.fixture(scope="module")
def tokenizer():
    corpus = [" ".join(WORDS[i:] + WORDS[:i]) for i in range(len(WORDS))] * 20
    return build_tokenizer(corpus + list(TEXTS.values()), vocab_size=120)


def tagging_features(tokenizer, sentences, max_length):
    rows = [
        {"tokens": words, "tags": [UPOS_TAGS[(7 + i) % len(UPOS_TAGS)] for i in range(len(words))]}
        for words in sentences
    ]
    examples = datasets.Dataset.from_list(rows)
    encode = FORMATS["tagging"].encoder(tokenizer, {"max_length": max_length}, list(UPOS_TAGS), "test")
    return examples.map(encode, batched=True, with_indices=True, remove_columns=examples.column_names)


def perfect_tag_logits(features):
    """One-hot logits on each word's first sub-word label; other sub-words predict label 0."""
    out = []
    for labels in features["labels"]:
        logits = np.zeros((len(labels), len(UPOS_TAGS)))
        for position, label in enumerate(labels):
            logits[position, label if label >= 0 else 0] = 1.0
        out.append(logits)
    return out


# ----------------------------------------------------------------------------- tagging


def test_long_sentences_are_windowed_and_every_word_is_scored(tokenizer):
    long_sentence = WORDS * 4  # ~60 words, several sub-words each: far over 24 tokens
    features = tagging_features(tokenizer, [long_sentence, WORDS[:3], long_sentence[:20]], max_length=24)
    assert max(map(len, features["input_ids"])) <= 24
    assert features["sentence"].count(0) > 2  # the long sentence spans several windows
    scores = evaluation.score("udpos", perfect_tag_logits(features), features, list(UPOS_TAGS))
    assert scores["token_accuracy"] == 100.0 and scores["f1"] == 100.0
    coverage = tagging.coverage(features)
    assert coverage == {
        "sentences": 3,
        "windows": len(features),
        "split_sentences": 1 + (features["sentence"].count(2) > 1),
        "words": len(long_sentence) + 3 + 20,
        "words_unscored": 0,
    }


def test_windows_hold_whole_words_with_the_tokenizers_special_tokens(tokenizer):
    features = tagging_features(tokenizer, [WORDS * 3], max_length=20)
    for ids, word_ids in zip(features["input_ids"], features["word_ids"]):
        assert ids[0] == tokenizer.cls_token_id and ids[-1] == tokenizer.sep_token_id
        assert word_ids[0] == word_ids[-1] == -1
    # no word is split over two windows
    window_of = {}
    for window, word_ids in enumerate(features["word_ids"]):
        for w in word_ids:
            if w >= 0:
                assert window_of.setdefault(w, window) == window


def test_word_without_sub_words_becomes_unknown_and_is_scored(tokenizer):
    features = tagging_features(tokenizer, [["river", "", "town"]], max_length=32)
    assert tokenizer.unk_token_id in features["input_ids"][0]
    assert set(features["word_ids"][0]) >= {0, 1, 2}
    assert (
        evaluation.score("udpos", perfect_tag_logits(features), features, list(UPOS_TAGS))["token_accuracy"]
        == 100.0
    )


def test_old_truncated_features_drop_cut_words_instead_of_scoring_them_as_the_first_label(tokenizer):
    """Data prepared by the truncating encoder (no `sentence` column): XTREME drops cut words."""
    features = tagging_features(tokenizer, [WORDS * 4], max_length=24).select([0])
    features = features.remove_columns("sentence")
    coverage = tagging.coverage(features)
    assert coverage["words"] == len(WORDS) * 4 and coverage["words_unscored"] > 0
    gold, pred = tagging.word_tags(perfect_tag_logits(features), features, list(UPOS_TAGS))
    assert gold == pred and len(gold[0]) == coverage["words"] - coverage["words_unscored"]


def read_conllu(path):
    """(words, UPOS tags) per sentence; multi-word tokens (1-2) and empty nodes (1.1) skipped."""
    sentences, words, tags = [], [], []
    for line in path.read_text(encoding="utf-8").splitlines() + [""]:
        if not line.strip():
            if words:
                sentences.append((words, tags))
            words, tags = [], []
        elif not line.startswith("#"):
            cols = line.split("\t")
            if cols[0].isdigit():
                words.append(cols[1])
                tags.append(cols[3])
    return sentences


@pytest.mark.parametrize("treebank", ["en_ewt-ud-dev.first300.conllu", "de_gsd-ud-dev.first300.conllu"])
def test_real_treebank_windows_score_every_word(treebank):
    path = REAL_SAMPLES / "udpos" / treebank
    if not path.exists():
        pytest.skip(f"real sample {path} not present")
    sentences = read_conllu(path)
    tokenizer = build_tokenizer([" ".join(words) for words, _ in sentences], vocab_size=1000)
    examples = datasets.Dataset.from_list([{"tokens": w, "tags": t} for w, t in sentences])
    encode = FORMATS["tagging"].encoder(tokenizer, {"max_length": 32}, list(UPOS_TAGS), "test")
    features = examples.map(encode, batched=True, with_indices=True, remove_columns=examples.column_names)
    coverage = tagging.coverage(features)
    print(f"{treebank}: {coverage}")
    assert coverage["split_sentences"] > 0 and coverage["words_unscored"] == 0
    assert coverage["words"] == sum(len(w) for w, _ in sentences)
    scores = evaluation.score("udpos", perfect_tag_logits(features), features, list(UPOS_TAGS))
    assert scores == {"f1": 100.0, "token_accuracy": 100.0}


# ----------------------------------------------------------------------------- SQuAD 2.0


def test_squad_v2_best_threshold_searches_positive_null_odds(tokenizer):
    examples = datasets.Dataset.from_list([qa("a", TEXTS["en"], "Normandy"), qa("b", TEXTS["de"])])
    features = examples.map(
        lambda b: qa_format.encode_eval(b, tokenizer), batched=True, remove_columns=examples.column_names
    )
    train = qa_format.encode_train(as_batch(examples.to_list()), tokenizer)
    width = max(map(len, features["input_ids"]))
    starts, ends = np.zeros((2, width)), np.zeros((2, width))
    # a: the right span scores 2, CLS 2.5 -> null odds +0.5; b (unanswerable): a span, odds +2
    starts[0, train["start_positions"][0]] = ends[0, train["end_positions"][0]] = 1.0
    starts[0, 0] = ends[0, 0] = 1.25
    context_token = next(i for i, o in enumerate(features["offset_mapping"][1]) if o is not None)
    starts[1, context_token] = ends[1, context_token] = 0.5
    starts[1, 0] = ends[1, 0] = 1.5
    scores = evaluation.score("squad_v2", list(zip(starts, ends)), features, None, examples)
    # threshold 0 (the model's own decision): a abstains (wrong), b abstains (right)
    assert (scores["exact_match"], scores["has_ans_exact_match"], scores["no_ans_exact_match"]) == (
        50.0,
        0.0,
        100.0,
    )
    # the official search answers a at threshold 0.5: both right
    assert (scores["best_exact"], scores["best_exact_thresh"]) == pytest.approx((100.0, 0.5))
    assert (scores["best_f1"], scores["best_f1_thresh"]) == pytest.approx((100.0, 0.5))


# ----------------------------------------------------------------------------- retrieval layer


def raw_config(hub_id, **model):
    return {"models": {"m": {"hub_id": hub_id, **model}}, "recipes": ["none"], "targets": {"tatoeba": ["de"]}}


def test_retrieval_layer_defaults_from_the_reference_table():
    assert RETRIEVAL_LAYERS["FacebookAI/xlm-roberta-large"] == 14
    assert RETRIEVAL_LAYERS["bert-base-multilingual-cased"] == 8
    assert RETRIEVAL_LAYERS["FacebookAI/xlm-roberta-base"] == 8
    for hub_id, layer in RETRIEVAL_LAYERS.items():
        assert config.validate(raw_config(hub_id))["models"]["m"]["retrieval_layer"] == layer
    assert (
        config.validate(raw_config("xlm-roberta-large", retrieval_layer=20))["models"]["m"]["retrieval_layer"]
        == 20
    )
    assert config.load(REPO / "configs/tiny.yaml")["models"]["tiny-xlmr"]["retrieval_layer"] == 2
    assert config.load(REPO / "configs/tiny-all.yaml")["models"]["tiny-xlmr"]["retrieval_layer"] == 2


def test_unknown_model_needs_an_explicit_retrieval_layer():
    with pytest.raises(config.ConfigError, match=r"models\.m\.retrieval_layer.*my/encoder.*Fix"):
        config.validate(raw_config("my/encoder"))
    no_retrieval = {**raw_config("my/encoder"), "targets": {"xnli": ["de"]}}
    assert config.validate(no_retrieval)["models"]["m"]["retrieval_layer"] is None
    assert config.validate(raw_config("my/encoder", retrieval_layer=0))["models"]["m"]["retrieval_layer"] == 0


def test_qa_windows_is_a_data_setting_of_extractive_qa_only():
    cfg = config.validate(raw_config("xlm-roberta-large"))
    assert settings.data(cfg, "xquad")["qa_windows"] == "reference"
    assert settings.data(cfg, "squad_v2")["qa_windows"] == "reference"
    assert "qa_windows" not in settings.data(cfg, "xnli")
    cfg = config.validate({**raw_config("xlm-roberta-large"), "data": {"qa_windows": "hf_run_qa"}})
    assert settings.data(cfg, "tydiqa")["qa_windows"] == "hf_run_qa"
    with pytest.raises(config.ConfigError, match="qa_windows"):
        config.validate({**raw_config("xlm-roberta-large"), "data": {"qa_windows": "overlap"}})


# ----------------------------------------------------------------------------- retrieval cells


@pytest.fixture(scope="module")
def tiny_encoder(tokenizer, tmp_path_factory):
    import torch
    from transformers import XLMRobertaConfig, XLMRobertaModel

    torch.manual_seed(0)
    cfg = XLMRobertaConfig(
        vocab_size=len(tokenizer),
        hidden_size=16,
        num_hidden_layers=4,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=80,
        pad_token_id=tokenizer.pad_token_id,
    )
    path = tmp_path_factory.mktemp("encoder")
    XLMRobertaModel(cfg).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return str(path)


def prepared(tokenizer, path, pairs):
    examples = datasets.Dataset.from_list([{"source": s, "target": t} for s, t in pairs])
    encode = FORMATS["retrieval"].encoder(tokenizer, {"max_length": 64}, [], "test")
    examples.map(encode, batched=True, with_indices=True, remove_columns=examples.column_names).save_to_disk(
        path / "features"
    )
    (path / "labels.json").write_text("[]")
    return str(path)


BUCC_PAIRS = [
    ("the river runs", "river the runs"),
    ("the river runs", "the runs river"),
    ("old mountain sleeps", "sleeps old mountain"),
    ("a quiet town", "town a quiet"),
    ("under the sky", "sky under the"),
    ("past the town", "town past the"),
]


def test_bucc_cell_records_its_layer_and_merges_duplicate_sentences(tokenizer, tiny_encoder, tmp_path):
    data = prepared(tokenizer, tmp_path / "test", BUCC_PAIRS)
    dev = prepared(tokenizer, tmp_path / "dev", BUCC_PAIRS[2:])
    settings = {
        "target": "bucc",
        "model_name": "tiny",
        "recipe": "none",
        "language": "de",
        "seed": 0,
        "model": {"hub_id": "x", "retrieval_layer": 2},
        "evaluation": {"max_examples": None, "batch_size": 4, "bucc_k": 2},
    }
    stages.evaluate(settings, tiny_encoder, data, str(tmp_path / "cell.json"), 4, gpus=0, dev_data=dev)
    cell = json.loads((tmp_path / "cell.json").read_text())
    assert cell["retrieval_layer"] == 2
    # "the river runs" occurs under ids 0 and 1: XTREME maps it to no id, so neither gold pair
    # (0, 0), (1, 1) can be found: recall <= 4 / 6.
    assert cell["metrics"]["recall"] <= 100 * 4 / 6 + 1e-9
    with pytest.raises(ValueError, match="retrieval_layer 5 does not exist in a 4-layer model"):
        settings["model"]["retrieval_layer"] = 5
        stages.evaluate(settings, tiny_encoder, data, str(tmp_path / "cell5.json"), 4, gpus=0, dev_data=dev)


def test_bucc_scores_use_the_texts_like_xtreme():
    rng = np.random.default_rng(0)
    base = rng.normal(size=(6, 8))
    src, tgt = base.copy(), base + 0.01 * rng.normal(size=base.shape)
    src_texts = ["A", "A", "B", "C", "D", "E"]
    tgt_texts = ["a", "a2", "b", "c", "d", "e"]
    embeddings = {"test": (src, tgt), "dev": (src, tgt)}
    texts = {"test": (src_texts, tgt_texts), "dev": (src_texts, tgt_texts)}
    result = retrieval.scores(TASKS["bucc"], embeddings, 4, texts)
    ids = [str(i) for i in range(6)]
    mined = metrics.bucc_candidates(src, tgt, ids, ids, k=4, src_texts=src_texts, tgt_texts=tgt_texts)
    assert {s for s, _, _ in mined} == {"2", "3", "4", "5"}  # "A" under two ids: no pair
    assert result["recall"] == pytest.approx(100 * 4 / 6) and result["precision"] == 100.0
    with pytest.raises(ValueError, match="texts"):
        retrieval.scores(TASKS["bucc"], embeddings, 4)


def test_tagging_cell_counts_windows_and_scores_every_word(tokenizer, tiny_encoder, tmp_path):
    from xstilts import modeling

    model = modeling.MultiTaskModel(
        modeling.load_encoder(tiny_encoder), {"udpos": {"format": "tagging", "labels": list(UPOS_TAGS)}}
    )
    modeling.save(model, tokenizer, tmp_path / "model", with_heads=True)
    data = tmp_path / "data"
    tagging_features(tokenizer, [WORDS * 3, WORDS[:4]], max_length=24).save_to_disk(data / "features")
    (data / "labels.json").write_text(json.dumps(list(UPOS_TAGS)))
    settings = {
        "target": "udpos",
        "train_task": "udpos",
        "model_name": "tiny",
        "recipe": "none",
        "language": "de",
        "seed": 0,
        "model": {"hub_id": "x", "retrieval_layer": 2},
        "evaluation": {"max_examples": None, "batch_size": 4},
    }
    stages.evaluate(settings, str(tmp_path / "model"), str(data), str(tmp_path / "cell.json"), 4, gpus=0)
    cell = json.loads((tmp_path / "cell.json").read_text())
    assert cell["n_examples"] == 2
    assert cell["tagging"]["words"] == len(WORDS) * 3 + 4 and cell["tagging"]["words_unscored"] == 0
    assert cell["tagging"]["split_sentences"] == 1 and cell["tagging"]["windows"] > 3
    assert set(cell["metrics"]) == {"f1", "token_accuracy"}
