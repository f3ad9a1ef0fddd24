"""Extractive QA features: gold answers must survive encode -> perfect logits -> postprocess."""

import json
import random
from pathlib import Path

import datasets
import numpy as np
import pytest
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
from transformers import XLMRobertaTokenizerFast

from xstilts.formats.qa import (
    answer_char_span,
    encode_eval,
    encode_train,
    locate_answer,
    postprocess,
    repair_answer_spans,
)

REAL_SAMPLES = Path(__file__).resolve().parents[1].parent / "shared" / "real-samples"
SPECIAL_TOKENS = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]  # XLM-R ids 0..4

# Short multilingual texts: English, German, Chinese, Hindi (Devanagari), Arabic.
TEXTS = {
    "en": "The Normans gave their name to Normandy , a region in France . Paris is the capital of France .",
    "de": "Die Normannen gaben der Normandie ihren Namen . Berlin ist die Hauptstadt von Deutschland .",
    "zh": "诺曼人 是 十世纪 定居 在 诺曼底 的 人 。 北京 是 中国 的 首都 。",
    "hi": "दिल्ली भारत की राजधानी है । गंगा भारत की सबसे लंबी नदी है ।",
    "ar": "القاهرة هي عاصمة مصر . نهر النيل هو أطول نهر في أفريقيا .",
}


def build_tokenizer(texts, vocab_size):
    """A tiny XLM-R-like fast tokenizer (NFKC + Metaspace + Unigram) trained offline."""
    model = Tokenizer(models.Unigram())
    model.normalizer = normalizers.NFKC()
    model.pre_tokenizer = pre_tokenizers.Metaspace()
    model.decoder = decoders.Metaspace()
    trainer = trainers.UnigramTrainer(
        vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS, unk_token="<unk>", show_progress=False
    )
    model.train_from_iterator(texts, trainer)
    return XLMRobertaTokenizerFast(tokenizer_object=model)


@pytest.fixture(scope="module")
def tokenizer():
    rng = random.Random(0)
    sentences = [sentence.strip() + " ." for text in TEXTS.values() for sentence in text.split(" . ")]
    sentences += long_context().split(" . ")
    # Too little text for Unigram to learn many multi-character pieces: the tokens are short,
    # which stresses offsets and windows more than a real vocabulary would.
    corpus = [" ".join(rng.sample(sentences, 3)) for _ in range(300)]
    return build_tokenizer(corpus + list(TEXTS.values()), vocab_size=400)


def qa(example_id, context, answer=None, question="What is it?", occurrence=0):
    """One example in the canonical schema; `answer` is located in `context` (n-th occurrence)."""
    if answer is None:
        return {
            "id": example_id,
            "question": question,
            "context": context,
            "answers": {"text": [], "answer_start": []},
        }
    start = -1
    for _ in range(occurrence + 1):
        start = context.index(answer, start + 1)
    return {
        "id": example_id,
        "question": question,
        "context": context,
        "answers": {"text": [answer], "answer_start": [start]},
    }


def as_batch(examples):
    return {key: [example[key] for example in examples] for key in examples[0]}


def perfect_logits(train_features, high=10.0, low=-10.0):
    """Logits that peak exactly on the training labels of each feature (CLS when no answer)."""
    width = max(len(ids) for ids in train_features["input_ids"])
    count = len(train_features["input_ids"])
    starts = np.full((count, width), low)
    ends = np.full((count, width), low)
    rows = np.arange(count)
    starts[rows, train_features["start_positions"]] = high
    ends[rows, train_features["end_positions"]] = high
    return starts, ends


def round_trip(examples, tokenizer, max_length=384, stride=128, with_null=False, windows="reference"):
    batch = as_batch(examples)
    train = encode_train(batch, tokenizer, max_length, stride, windows)
    evaluation = encode_eval(batch, tokenizer, max_length, stride, windows)
    assert train["input_ids"] == evaluation["input_ids"]
    starts, ends = perfect_logits(train)
    return postprocess(batch, evaluation, starts, ends, with_null=with_null)


def gold_text(example):
    texts = example["answers"]["text"]
    return texts[0].strip() if texts else ""


def long_context(sentence_count=40):
    sentence = "Sentence number {} talks about the river and the mountain ."
    return " ".join(sentence.format(i) for i in range(sentence_count))


def test_round_trip_multilingual_and_padded_answers(tokenizer):
    examples = [
        qa("en", TEXTS["en"], "Normandy"),
        qa("en-second", TEXTS["en"], "France", occurrence=1),
        qa("en-spaces", TEXTS["en"], " Paris is the capital "),
        qa("de", TEXTS["de"], "Hauptstadt von Deutschland"),
        qa("zh", TEXTS["zh"], "北京"),
        qa("zh-long", TEXTS["zh"], "十世纪 定居 在 诺曼底"),
        qa("hi", TEXTS["hi"], "गंगा"),
        qa("hi-end", TEXTS["hi"], "सबसे लंबी नदी"),
        qa("ar", TEXTS["ar"], "عاصمة مصر"),
        qa("ar-spaces", TEXTS["ar"], " أطول نهر "),
    ]
    predictions, null_odds = round_trip(examples, tokenizer)
    assert predictions == {example["id"]: gold_text(example) for example in examples}
    assert null_odds == {}


def test_question_leading_whitespace_is_stripped(tokenizer):
    batch = as_batch([qa("a", TEXTS["en"], "Normandy", question="   \n  Where?")])
    stripped = as_batch([qa("a", TEXTS["en"], "Normandy", question="Where?")])
    assert encode_train(batch, tokenizer) == encode_train(stripped, tokenizer)


def test_answer_char_span_drops_edge_whitespace():
    context = "a  Paris  b"
    assert answer_char_span(context, {"text": [" Paris  "], "answer_start": [2]}) == (3, 8)
    assert answer_char_span(context, {"text": ["  "], "answer_start": [1]}) is None
    assert answer_char_span(context, {"text": [], "answer_start": []}) is None


def test_long_context_answers_in_later_windows(tokenizer):
    context = long_context()
    examples = [
        qa("first", context, "number 0 talks"),
        qa("middle", context, "number 17 talks about the river"),
        qa("last", context, "number 39 talks about"),
    ]
    batch = as_batch(examples)
    train = encode_train(batch, tokenizer, max_length=64, stride=24)
    evaluation = encode_eval(batch, tokenizer, max_length=64, stride=24)
    windows_per_example = {name: evaluation["example_id"].count(name) for name in batch["id"]}
    assert min(windows_per_example.values()) >= 4

    # Which window of each example carries the answer label (not CLS)?
    labelled = {}
    for feature_index, example_id in enumerate(evaluation["example_id"]):
        window = evaluation["example_id"][:feature_index].count(example_id)
        if train["start_positions"][feature_index] != 0:
            labelled.setdefault(example_id, []).append(window)
    assert labelled["first"][0] == 0
    assert min(labelled["middle"]) >= 1  # only a later overflow window holds it
    assert windows_per_example["last"] - 1 in labelled["last"]  # the final window

    starts, ends = perfect_logits(train)
    predictions, _ = postprocess(batch, evaluation, starts, ends)
    assert predictions == {example["id"]: gold_text(example) for example in examples}


def test_answer_straddling_a_window_edge_is_labelled_only_where_whole(tokenizer):
    context = long_context()
    batch = as_batch([qa("x", context, "mountain")])
    evaluation = encode_eval(batch, tokenizer, max_length=48, stride=16)
    first_window_end = max(offset[1] for offset in evaluation["offset_mapping"][0] if offset is not None)
    # An answer that begins inside window 0 and ends after it.
    start = first_window_end - 5
    answer = context[start : start + 20]
    example = {**batch, "answers": [{"text": [answer], "answer_start": [start]}]}
    train = encode_train(example, tokenizer, max_length=48, stride=16)
    assert (train["start_positions"][0], train["end_positions"][0]) == (0, 0)
    assert any(position != 0 for position in train["start_positions"][1:])
    starts, ends = perfect_logits(train)
    predictions, _ = postprocess(example, encode_eval(example, tokenizer, 48, 16), starts, ends)
    assert predictions["x"] == answer.strip()


def test_training_labels_point_at_answer_tokens(tokenizer):
    example = qa("de", TEXTS["de"], "Berlin")
    train = encode_train(as_batch([example]), tokenizer)
    start, end = train["start_positions"][0], train["end_positions"][0]
    assert 0 < start <= end
    decoded = tokenizer.decode(train["input_ids"][0][start : end + 1])
    assert decoded.strip() == "Berlin"


def test_eval_offsets_are_none_outside_context(tokenizer):
    evaluation = encode_eval(as_batch([qa("en", TEXTS["en"], "Normandy")]), tokenizer)
    offsets = evaluation["offset_mapping"][0]
    assert offsets[0] is None and offsets[-1] is None  # <s> ... </s>
    context_offsets = [offset for offset in offsets if offset is not None]
    assert context_offsets[0][0] == 0 and context_offsets[-1][1] == len(TEXTS["en"])
    question_tokens = len(tokenizer("What is it?")["input_ids"])
    assert all(offset is None for offset in offsets[: question_tokens + 1])


def test_unanswerable_examples(tokenizer):
    context = long_context(12)
    examples = [qa("no", context), qa("yes", context, "number 11 talks")]
    batch = as_batch(examples)
    train = encode_train(batch, tokenizer, max_length=64, stride=24)
    evaluation = encode_eval(batch, tokenizer, max_length=64, stride=24)
    no_answer_features = [i for i, example_id in enumerate(evaluation["example_id"]) if example_id == "no"]
    assert len(no_answer_features) > 1
    assert all(train["start_positions"][i] == train["end_positions"][i] == 0 for i in no_answer_features)

    starts, ends = perfect_logits(train)
    predictions, null_odds = postprocess(batch, evaluation, starts, ends, with_null=True)
    assert predictions == {"no": "", "yes": "number 11 talks"}
    # no: every CLS scores 20, best span -20; yes: its answer window's CLS scores -20, span 20.
    assert null_odds == {"no": 40.0, "yes": -40.0}

    without_null, empty = postprocess(batch, evaluation, starts, ends)
    assert empty == {}
    assert without_null["yes"] == "number 11 talks" and without_null["no"] != ""


def test_null_odds_is_null_score_minus_best_span_score(tokenizer):
    example = qa("q", TEXTS["en"], "Normandy")
    batch = as_batch([example])
    train = encode_train(batch, tokenizer)
    evaluation = encode_eval(batch, tokenizer)
    start, end = train["start_positions"][0], train["end_positions"][0]
    width = len(train["input_ids"][0])
    starts, ends = np.zeros((1, width)), np.zeros((1, width))
    starts[0, 0], ends[0, 0] = 1.0, 0.5
    starts[0, start], ends[0, end] = 2.0, 1.0
    predictions, null_odds = postprocess(batch, evaluation, starts, ends, with_null=True)
    assert null_odds == {"q": pytest.approx(1.5 - 3.0)}
    assert predictions == {"q": "Normandy"}
    starts[0, 0] = 3.0  # null 3.5 now beats the span's 3.0
    predictions, null_odds = postprocess(batch, evaluation, starts, ends, with_null=True)
    assert null_odds == {"q": pytest.approx(0.5)}
    assert predictions == {"q": ""}


def context_logits(tokenizer, example):
    """Eval features of one example and zero logits, plus the positions of its context tokens."""
    batch = as_batch([example])
    evaluation = encode_eval(batch, tokenizer)
    offsets = evaluation["offset_mapping"][0]
    context_tokens = [i for i, offset in enumerate(offsets) if offset is not None]
    width = len(offsets)
    return batch, evaluation, np.zeros((1, width)), np.zeros((1, width)), context_tokens, offsets


def test_max_answer_length_limits_span(tokenizer):
    batch, evaluation, starts, ends, tokens, offsets = context_logits(tokenizer, qa("m", TEXTS["en"]))
    first, last_of_long, last_of_short = tokens[0], tokens[9], tokens[2]
    starts[0, first] = 5.0
    ends[0, last_of_long] = 5.0  # best pair: 10 tokens long
    ends[0, last_of_short] = 4.0  # runner-up: 3 tokens long
    context = TEXTS["en"]
    long_text = context[offsets[first][0] : offsets[last_of_long][1]].strip()
    short_text = context[offsets[first][0] : offsets[last_of_short][1]].strip()
    assert postprocess(batch, evaluation, starts, ends, max_answer_length=10)[0] == {"m": long_text}
    assert postprocess(batch, evaluation, starts, ends, max_answer_length=9)[0] == {"m": short_text}


def test_n_best_limits_candidates_and_best_sum_wins(tokenizer):
    batch, evaluation, starts, ends, tokens, offsets = context_logits(tokenizer, qa("n", TEXTS["en"]))
    context = TEXTS["en"]
    # Top start (token 6) lies after the top end (token 4): an invalid pair.
    starts[0, tokens[6]], starts[0, tokens[2]] = 9.0, 3.0
    ends[0, tokens[4]], ends[0, tokens[8]] = 9.0, 1.0
    # n_best=1 sees only (6, 4): nothing valid -> empty prediction.
    assert postprocess(batch, evaluation, starts, ends, n_best=1)[0] == {"n": ""}
    # n_best=2: valid pairs (2,4)=12, (6,8)=10, (2,8)=4 -> (2,4) wins although 6 is the top start.
    expected = context[offsets[tokens[2]][0] : offsets[tokens[4]][1]].strip()
    assert postprocess(batch, evaluation, starts, ends, n_best=2)[0] == {"n": expected}
    # No valid span at all: SQuAD 2.0 odds are +inf and the prediction is null.
    predictions, null_odds = postprocess(batch, evaluation, starts, ends, n_best=1, with_null=True)
    assert predictions == {"n": ""} and null_odds == {"n": np.inf}


def test_padded_logits_and_datasets_map(tokenizer):
    """Through `datasets.map` (arrow keeps the None offsets) with Dataset inputs and -100 padding."""
    context = long_context(20)
    examples = datasets.Dataset.from_list(
        [qa("a", context, "number 13 talks"), qa("b", TEXTS["zh"], "诺曼底"), qa("c", context)]
    )
    kwargs = {
        "batched": True,
        "remove_columns": examples.column_names,
        "fn_kwargs": {"tokenizer": tokenizer, "max_length": 64, "stride": 24},
    }
    train = examples.map(encode_train, **kwargs)
    evaluation = examples.map(encode_eval, **kwargs)
    assert evaluation[0]["offset_mapping"][0] is None
    starts, ends = perfect_logits(train[:])
    padded_starts = np.pad(starts, ((0, 0), (0, 7)), constant_values=-100.0)
    padded_ends = np.pad(ends, ((0, 0), (0, 7)), constant_values=-100.0)
    predictions, null_odds = postprocess(examples, evaluation, padded_starts, padded_ends, with_null=True)
    assert predictions == {"a": "number 13 talks", "b": "诺曼底", "c": ""}
    assert null_odds["c"] > 0 > null_odds["a"]


def squad_json_examples(path, limit):
    """Flatten a SQuAD-format JSON file into canonical examples (first `limit` questions)."""
    examples = []
    for article in json.loads(path.read_text(encoding="utf-8"))["data"]:
        for paragraph in article["paragraphs"]:
            for question in paragraph["qas"]:
                answers = {
                    "text": [answer["text"] for answer in question["answers"]],
                    "answer_start": [answer["answer_start"] for answer in question["answers"]],
                }
                examples.append(
                    {
                        "id": question["id"],
                        "question": question["question"],
                        "context": paragraph["context"],
                        "answers": answers,
                    }
                )
    return examples[:limit]


@pytest.mark.parametrize("windows", ["reference", "hf_run_qa"])
@pytest.mark.parametrize(
    "relative_path, limit, with_null, floor",
    [
        ("xquad/xquad.de.json", 400, False, 0.95),  # measured 389/400 (97.2%)
        ("squad20/dev-v2.0.first_article_Normans.json", 1000, True, 0.95),  # all 208: 207 (99.5%)
    ],
)
def test_real_sample_gold_answers_round_trip(relative_path, limit, with_null, floor, windows):
    """Real XQuAD-de / SQuAD 2.0 questions, tokenizer trained on their own texts.

    Misses are tokenization-boundary cases: a gold answer that starts or ends inside a
    piece cannot be cut out by whole tokens. All misses measured here are punctuation that
    this small vocabulary glued to a word: "Oscar" -> "Oscar-", "LA Galaxy" -> "(LA Galaxy",
    "1018" -> "1018,". Unanswerable questions must all come back as "".
    """
    path = REAL_SAMPLES / relative_path
    if not path.exists():
        pytest.skip(f"real sample {path} not present")
    examples = squad_json_examples(path, limit)
    texts = sorted({example[key] for example in examples for key in ("context", "question")})
    tokenizer = build_tokenizer(texts, vocab_size=2000)
    predictions, _ = round_trip(examples, tokenizer, with_null=with_null, windows=windows)
    exact = [predictions[example["id"]] == gold_text(example) for example in examples]
    fraction = sum(exact) / len(exact)
    print(f"{relative_path}: {sum(exact)}/{len(exact)} gold answers reconstructed exactly ({fraction:.1%})")
    unanswerable = [example for example in examples if not example["answers"]["text"]]
    assert all(predictions[example["id"]] == "" for example in unanswerable)
    assert fraction >= floor


# ----------------------------------------------------------------------------- answer spans


def test_locate_answer_keeps_right_spans_and_takes_nearest_occurrence():
    context = "Paris is big. Paris is old. Paris is far."
    assert locate_answer(context, "Paris", 14) == 14  # right already
    assert locate_answer(context, "Paris", 11) == 14  # nearest of 0, 14, 28
    assert locate_answer(context, "Paris", 26) == 28
    assert locate_answer(context, "Rome", 3) is None


def hub_tydiqa_row(example_id, raw_context, answer, occurrence=0):
    """A google/xtreme TyDiQA row as the hub ships it: context and text stripped, answer_start
    still counted in the unstripped context (e.g. GoldP train finnish-8742325368463988542-0)."""
    row = qa(example_id, raw_context, answer, occurrence=occurrence)
    return {
        **row,
        "context": raw_context.strip(),
        "answers": {"text": [answer.strip()], "answer_start": row["answers"]["answer_start"]},
    }


def test_repair_shifted_tydiqa_spans_then_labels_point_at_the_answer(tokenizer):
    raw = "\n\n  " + TEXTS["de"]
    rows = [
        hub_tydiqa_row("shifted", raw, "Berlin"),
        hub_tydiqa_row("right", TEXTS["en"], "Normandy"),
        {**hub_tydiqa_row("lost", raw, "Berlin"), "answers": {"text": ["Rom"], "answer_start": [3]}},
        qa("unanswerable", TEXTS["en"]),
    ]
    examples = datasets.Dataset.from_list(rows)
    shifted = examples[0]
    assert shifted["context"][shifted["answers"]["answer_start"][0] :][:6] != "Berlin"  # the hub's bug

    fixed, counts = repair_answer_spans(examples, drop_unrecoverable=True)
    assert counts == {"rows": 4, "repaired": 1, "unrecoverable": 1, "dropped": 1}
    assert fixed["id"] == ["shifted", "right", "unanswerable"]
    assert fixed[0]["answers"]["answer_start"] == [TEXTS["de"].index("Berlin")]
    assert fixed[1]["answers"] == examples[1]["answers"]
    train = encode_train(as_batch(fixed.to_list()), tokenizer)
    start, end = train["start_positions"][0], train["end_positions"][0]
    assert tokenizer.decode(train["input_ids"][0][start : end + 1]).strip() == "Berlin"

    kept, counts = repair_answer_spans(examples, drop_unrecoverable=False)  # eval splits keep rows
    assert len(kept) == 4 and counts["dropped"] == 0 and counts["unrecoverable"] == 1


def test_prepare_repairs_spans_and_reports_them_in_info_json(tokenizer, tmp_path, monkeypatch):
    from xstilts import stages

    tokenizer.save_pretrained(tmp_path / "tok")
    rows = [
        hub_tydiqa_row("finnish-1-0", "  \n" + TEXTS["en"], "France", occurrence=1),
        hub_tydiqa_row("finnish-2-0", TEXTS["en"], "Paris"),
    ]
    monkeypatch.setattr(stages, "load_split", lambda *args: datasets.Dataset.from_list(rows))
    settings = {
        "task": "tydiqa",
        "split": "train",
        "language": "fi",
        "tokenizer": str(tmp_path / "tok"),
        "data": {"max_length": 64, "doc_stride": 16, "qa_windows": "reference", "tydiqa_train": "english"},
    }
    stages.prepare(settings, str(tmp_path / "out"), type("H", (), {"model": lambda self, i: i})())
    info = json.loads((tmp_path / "out" / "info.json").read_text())
    assert info["answer_spans"] == {"rows": 2, "repaired": 1, "unrecoverable": 0, "dropped": 0}
    features = datasets.load_from_disk(tmp_path / "out" / "features")
    answers = {
        tokenizer.decode(f["input_ids"][f["start_positions"] : f["end_positions"] + 1]).strip()
        for f in features
        if f["start_positions"]
    }
    assert answers == {"France", "Paris"}


# ----------------------------------------------------------------------------- window protocols


def context_token_starts(evaluation, context, tokenizer):
    """Index (in the context's own tokenization) of the first context token of each window."""
    doc_starts = [
        start
        for start, _ in tokenizer(context, add_special_tokens=False, return_offsets_mapping=True)[
            "offset_mapping"
        ]
    ]
    firsts = [next(o for o in offsets if o is not None)[0] for offsets in evaluation["offset_mapping"]]
    return [doc_starts.index(first) for first in firsts]


def test_reference_windows_advance_by_doc_stride(tokenizer):
    context = long_context()
    batch = as_batch([qa("x", context, "number 17 talks")])
    evaluation = encode_eval(batch, tokenizer, max_length=64, stride=24)
    starts = context_token_starts(evaluation, context, tokenizer)
    assert len(starts) >= 4 and starts == [24 * k for k in range(len(starts))]
    last = [o for o in evaluation["offset_mapping"][-1] if o is not None]
    assert last[-1][1] == len(context) and len(evaluation["input_ids"][-2]) == 64
    # XLM-R layout: <s> question </s></s> context </s>
    # The first window is exactly the tokenizer's own pair encoding (<s> q </s></s> c </s>).
    assert (
        evaluation["input_ids"][0]
        == tokenizer(batch["question"][0], context, truncation="only_second", max_length=64)["input_ids"]
    )


def test_hf_run_qa_windows_overlap_by_doc_stride(tokenizer):
    context = long_context()
    batch = as_batch([qa("x", context, "number 17 talks")])
    evaluation = encode_eval(batch, tokenizer, max_length=64, stride=24, windows="hf_run_qa")
    starts = context_token_starts(evaluation, context, tokenizer)
    room = sum(o is not None for o in evaluation["offset_mapping"][0])
    assert starts == [(room - 24) * k for k in range(len(starts))]
    assert all(
        all(flag == (o is not None) for flag, o in zip(flags, offsets))
        for flags, offsets in zip(evaluation["max_context"], evaluation["offset_mapping"])
    )


def test_reference_max_context_flags_each_token_in_exactly_one_window(tokenizer):
    context = long_context()
    evaluation = encode_eval(as_batch([qa("x", context)]), tokenizer, max_length=64, stride=24)
    flagged = []
    for start, offsets, flags in zip(
        context_token_starts(evaluation, context, tokenizer),
        evaluation["offset_mapping"],
        evaluation["max_context"],
    ):
        assert all(offset is not None for offset, flag in zip(offsets, flags) if flag)
        in_context = [flag for offset, flag in zip(offsets, flags) if offset is not None]
        flagged += [start + j for j, flag in enumerate(in_context) if flag]
    n_doc = len(tokenizer(context, add_special_tokens=False)["input_ids"])
    assert sorted(flagged) == list(range(n_doc))


def xtreme_is_max_context(doc_spans, cur_span_index, position):
    """Literal port of XTREME's third_party/processors/squad.py `_new_check_is_max_context`."""
    best_score = None
    best_span_index = None
    for span_index, doc_span in enumerate(doc_spans):
        end = doc_span["start"] + doc_span["length"] - 1
        if position < doc_span["start"]:
            continue
        if position > end:
            continue
        num_left_context = position - doc_span["start"]
        num_right_context = end - position
        score = min(num_left_context, num_right_context) + 0.01 * doc_span["length"]
        if best_score is None or score > best_score:
            best_score = score
            best_span_index = span_index
    return cur_span_index == best_span_index


@pytest.mark.parametrize("max_length, stride", [(64, 24), (48, 8), (40, 30)])
def test_reference_max_context_matches_xtreme(tokenizer, max_length, stride):
    context = long_context(12)
    evaluation = encode_eval(as_batch([qa("x", context)]), tokenizer, max_length=max_length, stride=stride)
    starts = context_token_starts(evaluation, context, tokenizer)
    lengths = [sum(o is not None for o in offsets) for offsets in evaluation["offset_mapping"]]
    spans = [{"start": start, "length": length} for start, length in zip(starts, lengths)]
    for window, (span, flags) in enumerate(zip(spans, evaluation["max_context"])):
        expected = [xtreme_is_max_context(spans, window, span["start"] + j) for j in range(span["length"])]
        assert [
            flag for flag, o in zip(flags, evaluation["offset_mapping"][window]) if o is not None
        ] == expected


def test_reference_prediction_ignores_span_starting_outside_its_max_context(tokenizer):
    context = long_context()
    batch = as_batch([qa("x", context)])
    evaluation = encode_eval(batch, tokenizer, max_length=64, stride=24)
    offsets, flags = evaluation["offset_mapping"][0], evaluation["max_context"][0]
    # The last context token of window 0 also lies in window 1, where it has more context.
    edge = max(i for i, o in enumerate(offsets) if o is not None)
    assert not flags[edge]
    width = max(len(ids) for ids in evaluation["input_ids"])
    starts = np.zeros((len(evaluation["input_ids"]), width))
    ends = np.zeros_like(starts)
    starts[0, edge], ends[0, edge] = 9.0, 9.0  # window 0's best span starts at its edge token
    inner = next(i for i, flag in enumerate(flags) if flag)
    starts[0, inner], ends[0, inner] = 1.0, 1.0
    predictions, _ = postprocess(batch, evaluation, starts, ends)
    assert predictions["x"] == context[offsets[inner][0] : offsets[inner][1]].strip()
    hf = encode_eval(batch, tokenizer, max_length=64, stride=24, windows="hf_run_qa")
    hf_offsets = hf["offset_mapping"][0]
    hf_edge = max(i for i, o in enumerate(hf_offsets) if o is not None)
    hf_starts = np.zeros((len(hf["input_ids"]), max(len(ids) for ids in hf["input_ids"])))
    hf_ends = np.zeros_like(hf_starts)
    hf_starts[0, hf_edge], hf_ends[0, hf_edge] = 9.0, 9.0
    predictions, _ = postprocess(batch, hf, hf_starts, hf_ends)
    assert predictions["x"] == context[hf_offsets[hf_edge][0] : hf_offsets[hf_edge][1]].strip()


def test_reference_question_is_cut_to_64_tokens(tokenizer):
    question = " ".join(f"river {i}" for i in range(25))
    assert 64 < len(tokenizer(question, add_special_tokens=False)["input_ids"]) < 384 - 128 - 4
    example = qa("q", TEXTS["en"], "Normandy", question=question)
    evaluation = encode_eval(as_batch([example]), tokenizer)
    head = next(i for i, o in enumerate(evaluation["offset_mapping"][0]) if o is not None)
    assert head == 1 + 64 + 2  # <s> + 64 question tokens + </s></s>
    hf = encode_eval(as_batch([example]), tokenizer, windows="hf_run_qa")
    assert next(i for i, o in enumerate(hf["offset_mapping"][0]) if o is not None) > head


def test_unknown_window_protocol_is_an_error(tokenizer):
    with pytest.raises(ValueError, match="hf_run_qa"):
        encode_eval(as_batch([qa("a", TEXTS["en"])]), tokenizer, windows="squad")
