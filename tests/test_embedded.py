"""The synthetic world and its hub mirror: determinism, hub layout and features, labels."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import datasets
import numpy as np
import pyarrow.parquet as pq
import pytest
import yaml

from xstilts.ccgbank import read_ccgbank
from xstilts.embedded import examples
from xstilts.embedded.hub import build_hub_mirror
from xstilts.embedded.world import LANGUAGES, Entity, Event, Language, Sampler, Thing, World, join
from xstilts.loaders import NER_TAGS, UPOS_TAGS
from xstilts.tasks import TASKS

datasets.disable_progress_bars()
SCRIPTS = {
    "ru": "\u0400-\u04ff",
    "zh": "\u4e00-\u9fff",
    "ja": "\u30a0-\u30ff",
    "ar": "\u0600-\u06ff",
    "hi": "\u0900-\u097f",
}


@pytest.fixture(scope="module")
def mirror(micro_mirror) -> Path:
    return micro_mirror


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> str:
    return str(tmp_path_factory.mktemp("hf-cache"))


def load(mirror, cache, repo, config=None, split=None):
    return datasets.load_dataset(str(mirror / repo), config, split=split, cache_dir=cache)


def parquet_digests(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


# ---- world --------------------------------------------------------------------------------


def test_languages_have_their_own_scripts_and_share_names_and_digits():
    world = World(LANGUAGES, seed=0)
    anna = Entity("PER", ("Anna",))
    event = Event((anna,), "buy", (Thing("apple", "red", 3),), Entity("LOC", ("Lima",)))
    texts = {code: world.render(code, event) for code in LANGUAGES}
    for code, text in texts.items():
        assert "3" in text, code
        if code in SCRIPTS:
            assert re.search(f"[{SCRIPTS[code]}]", text), (code, text)
            assert "Anna" not in text  # transliterated
        else:
            assert "Anna" in text and "Lima" in text, (code, text)
    assert texts["en"] == "Anna bought 3 red apples in Lima."
    assert len(set(texts.values())) == len(LANGUAGES)


def test_word_order_follows_typology():
    world = World(LANGUAGES, seed=0)
    event = Event((Entity("PER", ("Anna",)),), "help", (Entity("PER", ("Omar",)),))
    tokens = {code: [t.upos for t in world.lang[code].sentence(event)] for code in LANGUAGES}
    verb_last = {code for code, tags in tokens.items() if tags[-2] == "VERB"}
    verb_first = {code for code, tags in tokens.items() if tags[0] == "VERB"}
    assert verb_last == {"hi", "ja", "tr"}
    assert verb_first == {"ar"}


def test_lexicon_is_deterministic_and_seeded():
    assert Language("fi", 0).lexicon == Language("fi", 0).lexicon
    assert Language("fi", 0).lexicon != Language("fi", 1).lexicon


def test_join_spans_point_at_tokens():
    for code in LANGUAGES:
        lang = Language(code, 0)
        event = Sampler(np.random.default_rng(3)).event(place_p=1.0, time_p=1.0)
        tokens = lang.sentence(event)
        text, spans = join(lang, tokens)
        assert [text[a:b] for a, b in spans] == [t.text for t in tokens]


# ---- meanings -> labels -------------------------------------------------------------------


def test_nli_labels_follow_from_meanings():
    s = Sampler(np.random.default_rng(0))
    for _ in range(300):
        item = examples.nli_item(s, n_premise=2)
        h = item.hypothesis
        same = [e for e in item.premise if e.agents == h.agents and e.verb == h.verb]
        if item.label == 0:  # entailment: a premise event with h's facts as a subset
            (e,) = same
            assert not h.negated and h.patients[0].__class__ == e.patients[0].__class__
            assert h.place in (None, e.place) and h.time in (None, e.time)
        elif item.label == 2:  # contradiction: same event, negated or a conflicting value
            (e,) = same
            assert h.negated or h.patients != e.patients
        else:  # neutral: new agent, verb, or an added modifier
            assert (
                not same
                or any(getattr(h, p) and not getattr(same[0], p) for p in ("place", "time"))
                or h.patients != same[0].patients
            )


def test_paws_pairs_share_words_and_label_meaning():
    s = Sampler(np.random.default_rng(0))
    en = Language("en", 0)
    for _ in range(100):
        a, b, label = examples.paws_pair(s)
        ta, tb = examples.render_text(en, [a]), examples.render_text(en, [b])
        assert sorted(ta.rstrip(".").split()) == sorted(tb.rstrip(".").split())
        assert ta != tb
        if label == 1:
            assert set(a.agents) == set(b.agents) and set(a.patients) == set(b.patients)
        else:
            assert (a.agents, a.patients) != (b.agents, b.patients)


# ---- the mirror ---------------------------------------------------------------------------


def test_build_is_deterministic_and_seeded(mirror, tmp_path):
    build_hub_mirror(tmp_path / "again", list(LANGUAGES), seed=0, size="micro")
    build_hub_mirror(tmp_path / "other", list(LANGUAGES), seed=1, size="micro")
    first = parquet_digests(mirror)
    assert first == parquet_digests(tmp_path / "again")
    other = parquet_digests(tmp_path / "other")
    assert other.keys() == first.keys()
    assert all(other[k] != first[k] for k in first if k.endswith(".parquet"))
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp dirs left


def test_unknown_language_is_rejected(tmp_path):
    with pytest.raises(ValueError, match="xx"):
        build_hub_mirror(tmp_path / "m", ["en", "xx"], size="micro")
    assert not (tmp_path / "m").exists()


def card_configs(repo_dir: Path) -> list[dict]:
    text = (repo_dir / "README.md").read_text(encoding="utf-8")
    return yaml.safe_load(text.split("---")[1])["dataset_info"]


def test_every_config_has_hub_features(mirror):
    """Each parquet file the card names carries the card's features (the hub's do too)."""
    n_configs = 0
    for card in sorted(mirror.rglob("README.md")):
        text = card.read_text(encoding="utf-8").split("---")[1]
        files = {
            (c["config_name"], f["split"]): f["path"]
            for c in yaml.safe_load(text)["configs"]
            for f in c["data_files"]
        }
        for info in card_configs(card.parent):
            expected = datasets.Features._from_yaml_list(info["features"])
            for split in info["splits"]:
                path = card.parent / files[info["config_name"], split["name"]]
                assert datasets.Features.from_arrow_schema(pq.read_schema(path)) == expected
                assert pq.read_metadata(path).num_rows == split["num_examples"] > 0
            n_configs += 1
    assert n_configs > 60


@pytest.mark.parametrize(
    "repo, config",
    [
        ("google/xtreme", "XNLI"),
        ("google/xtreme", "udpos.Japanese"),
        ("google/xtreme", "MLQA.de.de"),
        ("google/xtreme", "tatoeba.jpn"),
        ("nyu-mll/glue", "qqp"),
        ("facebook/anli", "plain_text"),
        ("rajpurkar/squad", "plain_text"),
        ("tau/commonsense_qa", "default"),
        ("xstilts/tiny-corpus", "hi"),
    ],
)
def test_configs_load_with_load_dataset(mirror, cache, repo, config):
    info = next(i for i in card_configs(mirror / repo) if i["config_name"] == config)
    data = load(mirror, cache, repo, config)
    assert sorted(data) == sorted(s["name"] for s in info["splits"])
    for split in data.values():
        assert split.features == datasets.Features._from_yaml_list(info["features"])


def test_xtreme_configs_are_named_like_the_hub(mirror):
    names = {c["config_name"] for c in card_configs(mirror / "google" / "xtreme")}
    for name in (
        "XNLI",
        "PAWS-X.de",
        "udpos.English",
        "udpos.German",
        "PAN-X.sw",
        "XQuAD.zh",
        "MLQA.hi.hi",
        "tydiqa",
        "bucc18.fr",
        "tatoeba.deu",
        "tatoeba.cmn",
        "tatoeba.swh",
    ):
        assert name in names
    assert not {n for n in names if n.startswith("bucc18.")} - {f"bucc18.{c}" for c in "de fr ru zh".split()}
    assert "udpos.Swahili" not in names and "PAWS-X.ru" not in names  # not XTREME languages


def test_hub_features_are_classlabels_where_the_hub_has_them(mirror, cache):
    mnli = load(mirror, cache, "nyu-mll/glue", "mnli", "train")
    assert mnli.features["label"].names == ["entailment", "neutral", "contradiction"]
    udpos = load(mirror, cache, "google/xtreme", "udpos.English", "train")
    assert udpos.features["pos_tags"].feature.names == list(UPOS_TAGS)
    panx = load(mirror, cache, "google/xtreme", "PAN-X.de", "validation")
    assert panx.features["ner_tags"].feature.names == list(NER_TAGS)
    xnli = load(mirror, cache, "google/xtreme", "XNLI", "test")
    assert set(xnli["gold_label"]) == {"entailment", "neutral", "contradiction"}
    assert xnli.features["gold_label"].dtype == "string"
    assert set(xnli["language"]) == set("ar de en es fr hi ru sw tr zh".split())


@pytest.mark.parametrize("repo", ["Rowan/hellaswag", "allenai/cosmos_qa"])
def test_converted_parquet_revisions_load(mirror, cache, repo):
    directory = mirror / f"{repo}@refs--convert--parquet"
    assert (directory / "default" / "train" / "0000.parquet").is_file()
    plain = datasets.load_dataset(str(directory), cache_dir=cache)
    named = datasets.load_dataset(str(directory), "default", split="validation", cache_dir=cache)
    assert set(plain) == {"train", "validation", "test"}
    assert plain["validation"].to_list() == named.to_list()
    if repo == "Rowan/hellaswag":
        assert set(plain["test"]["label"]) == {""}
        assert set(plain["train"]["label"]) <= set("0123")
        assert all(len(e) == 4 for e in plain["train"]["endings"])


def test_qa_answers_are_spans_of_the_context(mirror, cache):
    for repo, config in [
        ("google/xtreme", "XQuAD.zh"),
        ("google/xtreme", "MLQA.ar.ar"),
        ("google/xtreme", "tydiqa"),
        ("rajpurkar/squad", "plain_text"),
        ("rajpurkar/squad_v2", "squad_v2"),
    ]:
        for split in load(mirror, cache, repo, config).values():
            for row in split:
                for text, start in zip(row["answers"]["text"], row["answers"]["answer_start"]):
                    assert row["context"][start : start + len(text)] == text
    v2 = load(mirror, cache, "rajpurkar/squad_v2", "squad_v2", "train")
    unanswerable = sum(not r["text"] for r in v2["answers"]) / len(v2)
    assert 0.2 < unanswerable < 0.5


def test_parallel_sets_are_translations(mirror, cache):
    en = load(mirror, cache, "google/xtreme", "XQuAD.en", "validation")
    de = load(mirror, cache, "google/xtreme", "XQuAD.de", "validation")
    assert en["id"] == de["id"]
    pairs = load(mirror, cache, "google/xtreme", "tatoeba.rus", "validation")
    assert set(pairs["source_lang"]) == {"rus"} and set(pairs["target_lang"]) == {"eng"}
    bucc = load(mirror, cache, "google/xtreme", "bucc18.de", "test")
    for row in bucc:  # names and digits are the shared anchors
        assert set(re.findall(r"\d+", row["source_sentence"])) == set(
            re.findall(r"\d+", row["target_sentence"])
        )


def test_tydiqa_ids_carry_the_language_name(mirror, cache):
    ids = load(mirror, cache, "google/xtreme", "tydiqa", "validation")["id"]
    prefixes = {i.split("-")[0] for i in ids}
    assert prefixes == {"english", "arabic", "finnish", "russian", "swahili"}


def test_tags_are_the_words_categories(mirror, cache):
    panx = load(mirror, cache, "google/xtreme", "PAN-X.en", "train")
    names = panx.features["ner_tags"].feature.names
    for row in panx:
        tags = [names[t] for t in row["ner_tags"]]
        for prev, tag in zip(["O"] + tags, tags):
            assert not tag.startswith("I-") or prev[2:] == tag[2:]  # valid BIO
        assert row["langs"] == ["en"] * len(row["tokens"])
    udpos = load(mirror, cache, "google/xtreme", "udpos.English", "train")
    upos = udpos.features["pos_tags"].feature.names
    tagged = {(w, upos[t]) for row in udpos for w, t in zip(row["tokens"], row["pos_tags"])}
    assert ("the", "DET") in tagged and (".", "PUNCT") in tagged and ("bought", "VERB") in tagged
    zh = load(mirror, cache, "google/xtreme", "PAN-X.zh", "validation")
    assert all(len(t) == 1 for row in zh["tokens"] for t in row)  # PAN-X zh is per character


def test_label_conventions_of_the_real_datasets(mirror, cache):
    snli = load(mirror, cache, "stanfordnlp/snli", "plain_text")
    assert all(set(s["label"]) <= {-1, 0, 1, 2} for s in snli.values())
    anli = load(mirror, cache, "facebook/anli", "plain_text")
    assert set(anli) == {f"{p}_r{r}" for p in ("train", "dev", "test") for r in (1, 2, 3)}
    csqa = load(mirror, cache, "tau/commonsense_qa", "default")
    assert set(csqa["test"]["answerKey"]) == {""}
    for row in csqa["train"]:
        assert row["choices"]["label"] == list("ABCDE") and row["answerKey"] in "ABCDE"
    cosmos = load(mirror, cache, "allenai/cosmos_qa@refs--convert--parquet")
    assert set(cosmos["test"]["label"]) == {-1} and set(cosmos["train"]["label"]) <= {0, 1, 2, 3}
    corpus = load(mirror, cache, "xstilts/tiny-corpus", "sw", "train")
    assert len(corpus) == len(load(mirror, cache, "xstilts/tiny-corpus", "zh", "train"))


def test_task_loaders_read_the_mirror(mirror):
    from xstilts.hub import Hub

    hub = Hub(mirror)
    assert len(TASKS["xnli"].load(hub, "test", "sw")) > 0
    assert len(TASKS["ccg"].load(hub, "train", "en")) > 0
    hellaswag = TASKS["hellaswag"].load(hub, "dev", "en")
    assert set(hellaswag["label"]) <= {0, 1, 2, 3}


def test_synthetic_ccgbank_has_the_standard_layout(mirror):
    auto = mirror / "ccgbank" / "data" / "AUTO"
    assert (auto / "00" / "wsj_0001.auto").is_file() and (auto / "23" / "wsj_2301.auto").is_file()
    train = read_ccgbank(mirror / "ccgbank", "train")
    assert train and all(len(s["tokens"]) == len(s["tags"]) for s in train)
    tags = {(w, t) for s in train for w, t in zip(s["tokens"], s["tags"])}
    assert ("the", "NP[nb]/N") in tags and (".", ".") in tags
    assert any(t == r"(S[dcl]\NP)/NP" for _, t in tags)
