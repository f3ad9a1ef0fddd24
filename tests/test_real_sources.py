"""Every loader on real rows (issue 22): hub-shaped fixtures in the layouts xstilts/layouts.yaml
records, built from ../shared/real-samples (SOURCES.md there says where each file comes from),
read through `xstilts.stages.load_split` with `Hub(mirror=...)` and checked against what the rows
hold, or against what XTREME's own scripts make of them.

Hub rows are made from the raw files as the hub's own conversion made them (huggingface/datasets
universal_dependencies.py, xtreme.py, anli.py, glue.py, ...: fields stripped, labels mapped to
the script's class names)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import datasets
import networkx as nx
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from xstilts import languages, layouts, loaders, stages
from xstilts.embedded.hub import FEATURES, UD27_UPOS, MirrorWriter
from xstilts.hub import Hub, mirror_path

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO.parent / "shared" / "real-samples"
REAL = SAMPLES / "xtreme-r"
pytestmark = pytest.mark.skipif(
    not REAL.is_dir(), reason=f"real rows not here: {REAL} (the shared real-samples folder) is absent"
)
datasets.disable_progress_bars()

UD_FILES = {
    "lt_alksnis": "lt_alksnis-ud-test.r2.7.first.conllu",
    "pl_pdb": "pl_pdb-ud-test.r2.7.from_first_mwt.conllu",
    "wo_wtb": "wo_wtb-ud-test.r2.7.first.conllu",
}


def conllu_sentences(path: Path) -> list[dict]:
    """CoNLL-U as lines: {'meta': {key: value}, 'lines': [10 columns]} per sentence."""
    out, current = [], {"meta": {}, "lines": []}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            if current["lines"]:
                out.append(current)
            current = {"meta": {}, "lines": []}
        elif line.startswith("#"):
            key, _, value = line[1:].partition("=")
            current["meta"][key.strip()] = value.strip()
        else:
            current["lines"].append(line.split("\t"))
    if current["lines"]:
        out.append(current)
    return out


# ---- the hub's rows: universal_dependencies.py over conllu.parse_incr --------------------------


def _conllu_id(value: str):
    if "-" in value:
        a, b = value.split("-")
        return (int(a), "-", int(b))
    if "." in value:
        a, b = value.split(".")
        return (int(a), ".", int(b))
    return int(value)


def _conllu_dict(value: str):
    return None if value == "_" else dict(p.split("=", 1) for p in value.split("|"))


def _conllu_deps(value: str):
    if value == "_":
        return None
    return [(rel, _conllu_id(head)) for head, rel in (p.split(":", 1) for p in value.split("|"))]


def hub_row(sentence: dict, index: int) -> dict:
    """One row as the script yields it: every line a token (multi-word lines and empty nodes
    too), `_` parsed to None where conllu does, lists and dicts as their str()."""
    lines = sentence["lines"]
    return {
        "idx": sentence["meta"].get("sent_id", str(index)),
        "text": sentence["meta"].get("text", " ".join(c[1] for c in lines)),
        "tokens": [c[1] for c in lines],
        "lemmas": [c[2] for c in lines],
        "upos": [UD27_UPOS.index(c[3]) for c in lines],
        "xpos": [None if c[4] == "_" else c[4] for c in lines],
        "feats": [str(_conllu_dict(c[5])) for c in lines],
        "head": [str(None if c[6] == "_" else int(c[6])) for c in lines],
        "deprel": [str(None if c[7] == "_" else c[7]) for c in lines],
        "deps": [str(_conllu_deps(c[8])) for c in lines],
        "misc": [str(_conllu_dict(c[9])) for c in lines],
    }


# ---- XTREME's words: conllu_to_conll.py --replace_subtokens_with_fused_forms + utils_preprocess --

DEFAULT_RANKS = "VERB NOUN PROPN PRON ADJ NUM ADV INTJ AUX ADP DET PART CCONJ SCONJ X PUNCT ".split(" ")


def xtreme_sentence(sentence: dict) -> tuple[list[str], list[str]]:
    """lib/conll.py read_conll_u builds a graph of basic and enhanced (integer-headed) edges; each
    fused span's head is its node with the fewest ancestors, or by POS rank among ties; that node
    takes the fused form, the span's other nodes go (the reference needs networkx 1.x, so this is
    a reading of it on networkx 3)."""
    graph, nodes, fused = nx.DiGraph(), {}, []
    for cols in sentence["lines"]:
        if "." in cols[0]:
            continue
        if "-" in cols[0]:
            start, end = map(int, cols[0].split("-"))
            fused.append((start, end, cols[1]))
            continue
        node = int(cols[0])
        nodes[node] = {"form": cols[1], "upos": cols[3]}
        graph.add_edge(int(cols[6]), node)
        if cols[8] != "_":
            for pair in cols[8].split("|"):
                head = pair.split(":")[0]
                if head.isdigit():
                    graph.add_edge(int(head), node)
    removed = set()
    for start, end, form in fused:
        span = list(range(start, end + 1))
        depth = [len(nx.ancestors(graph, n)) for n in span]
        if depth.count(min(depth)) == 1:
            head = span[depth.index(min(depth))]
        else:
            tied = [n for n, d in zip(span, depth) if d == min(depth)]
            head = min(tied, key=lambda n: DEFAULT_RANKS.index(nodes[n]["upos"]))
        nodes[head] = {**nodes[head], "form": form}
        removed |= set(span) - {head}
    kept = [nodes[n] for n in sorted(nodes) if n not in removed]
    words = ["".join(n["form"].replace("\u200c", "").split(" ")) for n in kept]
    return words, [n["upos"] for n in kept]


@pytest.fixture(scope="module")
def ud_hub(tmp_path_factory) -> Hub:
    """The real excerpts as the hub lays them out: refs/convert/parquet <treebank>/test/0000.parquet,
    no README."""
    root = tmp_path_factory.mktemp("real-ud")
    branch = mirror_path(root, loaders.UD27, loaders.UD27_REVISION)
    for treebank, name in UD_FILES.items():
        rows = [hub_row(s, i) for i, s in enumerate(conllu_sentences(REAL / "ud27" / name))]
        path = branch / treebank / "test" / "0000.parquet"
        path.parent.mkdir(parents=True)
        pq.write_table(pa.Table.from_pylist(rows, schema=FEATURES["ud27"].arrow_schema), path)
    assert layouts.mirror_disagreements(root) == []
    return Hub(root)


@pytest.mark.parametrize("language,treebank", [("lt", "lt_alksnis"), ("pl", "pl_pdb"), ("wo", "wo_wtb")])
def test_udpos_on_real_ud27_rows_equals_xtreme_words(ud_hub, monkeypatch, language, treebank):
    monkeypatch.setitem(loaders.UD27_TREEBANKS, language, (treebank,))  # the excerpt's one treebank
    sentences = conllu_sentences(REAL / "ud27" / UD_FILES[treebank])
    rows = stages.load_split("udpos", ud_hub, "test", language, {"udpos_words": "surface"})
    expected = [xtreme_sentence(s) for s in sentences]
    assert len(rows) == len(sentences)
    assert rows["tokens"] == [w for w, _ in expected]
    assert rows["tags"] == [t for _, t in expected]
    fused = sum(1 for s in sentences for cols in s["lines"] if "-" in cols[0])
    subtokens = stages.load_split("udpos", ud_hub, "test", language, {"udpos_words": "subtokens"})
    words = [[c[1] for c in s["lines"] if c[0].isdigit()] for s in sentences]
    assert subtokens["tokens"] == words  # the other convention: every syntactic word
    assert (rows["tokens"] == words) == (fused == 0)


def test_fused_forms_take_their_head_words_tag(ud_hub, monkeypatch):
    """zdążyłem: zdążył (VERB, the root) heads em (AUX). dafa = da AUX + mu PRON, both attached to
    the same verb: a tie, broken by the precedence list (PRON before AUX)."""
    monkeypatch.setitem(loaders.UD27_TREEBANKS, "pl", ("pl_pdb",))
    monkeypatch.setitem(loaders.UD27_TREEBANKS, "wo", ("wo_wtb",))
    pl = stages.load_split("udpos", ud_hub, "test", "pl", {"udpos_words": "surface"})
    assert (pl[0]["tokens"], pl[0]["tags"]) == (["Nie", "zdążyłem", "."], ["PART", "VERB", "PUNCT"])
    wo = stages.load_split("udpos", ud_hub, "test", "wo", {"udpos_words": "surface"})
    tagged = {w: t for ws, ts in zip(wo["tokens"], wo["tags"]) for w, t in zip(ws, ts)}
    assert (tagged["dafa"], tagged["dafay"], tagged["seenug"]) == ("PRON", "PRON", "DET")
    assert not {"da", "mu"} & {w for ws in wo["tokens"] for w in ws}


# ---- LAReQA: XQuAD-R's official files (google-research-datasets/lareqa xquad-r/<lang>.json) -----

LAREQA_LANGUAGES = ("en", "th", "de", "zh", "ar")


@pytest.fixture(scope="module")
def lareqa_hub(tmp_path_factory) -> Hub:
    """The real paragraphs where the mirror keeps a GitHub repository's files."""
    root = tmp_path_factory.mktemp("real-lareqa")
    target = root / layouts.GITHUB_DIR / loaders.LAREQA_REPO / "xquad-r"
    target.mkdir(parents=True)
    for lang in LAREQA_LANGUAGES:
        source = REAL / "lareqa" / f"xquad-r.{lang}.first_2_paragraphs.json"
        (target / f"{lang}.json").write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    assert layouts.mirror_disagreements(root) == []
    return Hub(root)


@pytest.mark.parametrize("lang", LAREQA_LANGUAGES)
def test_lareqa_pool_is_the_official_sentences(lareqa_hub, lang):
    """utils_lareqa.load_data: candidate <lang>_<paragraph>_<position> for each official sentence
    (sentence + paragraph, newlines removed); each question keyed to the one holding its answer."""
    squad = json.loads(
        (REAL / "lareqa" / f"xquad-r.{lang}.first_2_paragraphs.json").read_text(encoding="utf-8")
    )
    paragraphs = [p for article in squad["data"] for p in article["paragraphs"]]
    rows = stages.load_split("lareqa", lareqa_hub, "test", lang, {})
    candidates = {
        i: (t, k)
        for kind, i, t, k in zip(rows["kind"], rows["id"], rows["text"], rows["keys"])
        if kind == "candidate"
    }
    expected = {
        f"{lang}_{n}_{pos}": (sentence + p["context"]).replace("\n", "")
        for n, p in enumerate(paragraphs, start=1)
        for pos, sentence in enumerate(p["sentences"])
    }
    assert {i: t for i, (t, _) in candidates.items()} == expected
    questions = [(n, qa) for n, p in enumerate(paragraphs, start=1) for qa in p["qas"]]
    assert sorted(i for kind, i in zip(rows["kind"], rows["id"]) if kind == "query") == sorted(
        f"{qa['id']}_{lang}" for _, qa in questions
    )
    for n, qa in questions:  # every answer lies in the one sentence its question is keyed to
        (keyed,) = [i for i, (_, keys) in candidates.items() if qa["id"] in keys]
        paragraph, pos = paragraphs[n - 1], int(keyed.rsplit("_", 1)[1])
        start, end = paragraph["sentence_breaks"][pos]
        answer = qa["answers"][0]
        assert keyed.startswith(f"{lang}_{n}_")
        assert start <= answer["answer_start"] < answer["answer_start"] + len(answer["text"]) <= end
        assert paragraph["context"][answer["answer_start"] :].startswith(answer["text"])


def test_lareqa_keeps_the_official_breaks_where_inference_fails(lareqa_hub):
    """Thai has no sentence-final punctuation: the first paragraph's 9 official sentences, and
    its context kept unstripped (U+FEFF first), as the official answers' offsets need."""
    th = stages.load_split("lareqa", lareqa_hub, "test", "th", {})
    first = [
        t
        for kind, i, t in zip(th["kind"], th["id"], th["text"])
        if kind == "candidate" and i.startswith("th_1_")
    ]
    assert len(first) == 9 and first[0].startswith("\ufeff")
    ar = stages.load_split("lareqa", lareqa_hub, "test", "ar", {})
    assert next(t for kind, t in zip(ar["kind"], ar["text"]) if kind == "candidate").startswith(" ")


@pytest.mark.parametrize("name", ["de_gsd-ud-dev.first300.conllu", "en_ewt-ud-dev.first300.conllu"])
def test_xtreme_words_on_current_ud_rows_with_empty_nodes(name):
    """The same conversion on 300 sentences each of current UD German-GSD and English-EWT (their
    multi-word tokens, EWT's enhanced graph with empty nodes), rows shaped as the hub's."""
    from xstilts import ud

    path = REPO.parent / "shared" / "real-samples" / "udpos" / name
    sentences = conllu_sentences(path)
    rows = [hub_row(s, i) for i, s in enumerate(sentences)]
    got = [ud.sentence(row, list(UD27_UPOS), name[:2]) for row in rows]
    assert [(ud.xtreme_words(w), t) for w, t in got] == [xtreme_sentence(s) for s in sentences]
    assert sum(1 for s in sentences for c in s["lines"] if "-" in c[0]) > 40  # fused tokens exercised
    assert any("." in c[0] for s in sentences for c in s["lines"]) == name.startswith("en")


UD25_FILES = {  # member of the release -> the real rows it holds here
    "UD_German-GSD/de_gsd-ud-dev.conllu": "de_gsd-ud-dev.first300.conllu",
    "UD_English-EWT/en_ewt-ud-dev.conllu": "en_ewt-ud-dev.first300.conllu",
    "UD_English-PUD/en_pud-ud-test.conllu": "en_ewt-ud-dev.first300.conllu",  # another split
}


@pytest.fixture(scope="module")
def ud25_hub(tmp_path_factory) -> Hub:
    """The real CoNLL-U in the UD 2.5 release's layout (ud-treebanks-v2.5/UD_<treebank>/...) where
    the mirror keeps a file published at an address."""
    from xstilts.embedded.retrieval import write_tarball

    root = tmp_path_factory.mktemp("real-ud25")
    write_tarball(
        root / layouts.FILES_DIR / loaders.UD25 / loaders.UD25_FILE,
        {
            f"ud-treebanks-v2.5/{member}": (SAMPLES / "udpos" / name).read_text(encoding="utf-8")
            for member, name in UD25_FILES.items()
        },
    )
    assert layouts.mirror_disagreements(root) == []
    return Hub(root)


@pytest.mark.parametrize("language", ["de", "en"])
def test_udpos_reads_the_ud25_release_in_xtreme_words(ud25_hub, language):
    """XTREME's languages read the UD 2.5 release as download_data.sh + utils_preprocess.py do:
    the language's files of the split only, converted to surface words."""
    (member,) = [m for m in UD25_FILES if f"/{language}_" in m and m.endswith("-dev.conllu")]
    sentences = conllu_sentences(SAMPLES / "udpos" / UD25_FILES[member])
    expected = [xtreme_sentence(s) for s in sentences]
    rows = stages.load_split(
        "udpos", ud25_hub, "dev", language, {"udpos_words": "surface", "udpos_source": "ud-2.5"}
    )
    assert rows["tokens"] == [w for w, _ in expected]
    assert rows["tags"] == [t for _, t in expected]
    words = [[c[1] for c in s["lines"] if c[0].isdigit()] for s in sentences]
    assert rows["tokens"] != words  # multi-word tokens were fused
    subtokens = stages.load_split(
        "udpos", ud25_hub, "dev", language, {"udpos_words": "subtokens", "udpos_source": "ud-2.5"}
    )
    assert subtokens["tokens"] == words
    test = stages.load_split(
        "udpos", ud25_hub, "test", "en", {"udpos_words": "surface", "udpos_source": "ud-2.5"}
    )
    assert len(test) == len(sentences)  # en_pud's test file, not EWT's dev
    with pytest.raises(ValueError, match="UD 2.5 has no de_"):
        stages.load_split(
            "udpos", ud25_hub, "test", "de", {"udpos_words": "surface", "udpos_source": "ud-2.5"}
        )


# ---- the other sources ---------------------------------------------------------------------


class Mirror:
    """A hub mirror in the layouts xstilts/layouts.yaml records: `add` files rows where the repo's
    record puts a split (a README names the configs) or, `converted=True`, on its
    refs/convert/parquet branch (no README)."""

    def __init__(self, root: Path):
        self.writer = MirrorWriter(root)
        self.root = root

    def add(self, repo, config, split, rows, features, converted=False):
        if converted:
            self.writer.write_converted(repo, split, rows, FEATURES[features], config=config)
        else:
            self.writer.write(repo, config, split, rows, FEATURES[features])
        return self

    def hub(self) -> Hub:
        self.writer.write_cards("real rows (tests/test_real_sources.py)")
        assert layouts.mirror_disagreements(self.root) == []  # the recorded layouts, nothing else
        return Hub(self.root)


@pytest.fixture
def mirror(tmp_path):
    return Mirror(tmp_path / "mirror")


def load(task, hub, split, language, **data):
    return stages.load_split(
        task, hub, split, language, {"tydiqa_train": "english", "mewslix_dir": None, **data}
    )


def tsv(path, **kwargs):
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE, **kwargs))


def squad_rows(path, with_title=True, strip=True):
    """SQuAD-format JSON -> hub rows as xtreme.py yields them (context, question and answer texts
    stripped, answer_start unchanged) or, `strip=False`, as squad.py / squad_v2.py do."""

    def clean(text):
        return text.strip() if strip else text

    rows = []
    for article in json.loads(Path(path).read_text(encoding="utf-8"))["data"]:
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                answers = qa["answers"]
                row = {
                    "id": qa["id"],
                    "context": clean(paragraph["context"]),
                    "question": clean(qa["question"]),
                    "answers": {
                        "text": [clean(a["text"]) for a in answers],
                        "answer_start": [a["answer_start"] for a in answers],
                    },
                }
                rows.append({"title": clean(article.get("title", "")), **row} if with_title else row)
    return rows


# ---- XTREME targets (google/xtreme, main: <config>/<split>-00000-of-00001.parquet + README) ------


def test_xnli_labels_and_sentences(mirror):
    raw = tsv(SAMPLES / "xnli" / "xnli.dev.en.first400.tsv")
    rows = [
        {
            "language": "en",
            "sentence1": r["sentence1_en"],
            "sentence2": r["sentence2_en"],
            "gold_label": r["label"],
        }
        for r in raw
    ]
    hub = mirror.add("google/xtreme", "XNLI", "validation", rows, "xnli").hub()
    ds = load("xnli", hub, "dev", "en")
    assert len(ds) == len(raw) == 400  # every real label is one of XNLI_LABELS: none dropped
    assert ds["text_a"] == [r["sentence1_en"] for r in raw]
    assert [loaders.XNLI_LABELS[y] for y in ds["label"]] == [r["label"] for r in raw]


def test_pawsx_string_labels(mirror):
    raw = tsv(SAMPLES / "pawsx" / "pawsx.de.dev_2k.from_SuperGLEBer.tsv")[:300]
    rows = [{"sentence1": r["sentence1"], "sentence2": r["sentence2"], "label": r["label"]} for r in raw]
    hub = mirror.add("google/xtreme", "PAWS-X.de", "validation", rows, "pawsx").hub()
    ds = load("pawsx", hub, "dev", "de")
    assert len(ds) == len(raw)
    assert ds["label"] == [int(r["label"]) for r in raw] and set(ds["label"]) == {0, 1}
    assert ds["text_b"] == [r["sentence2"] for r in raw]


def test_panx_tokens_and_tags(mirror):
    """xtreme.py: `de:Anton\tB-PER` -> token Anton (prefix stripped), lang de, tag B-PER."""
    sentences, current = [], []
    for line in (SAMPLES / "panx" / "hf_dummy_xtreme_PAN-X.de_raw" / "dev").read_text().splitlines():
        if line.strip():
            token, tag = line.split("\t")
            current.append((token[3:], token[:2], tag))
        elif current:
            sentences, current = [*sentences, current], []
    sentences += [current] if current else []
    rows = [
        {
            "tokens": [t for t, _, _ in s],
            "ner_tags": [loaders.NER_TAGS.index(tag) for _, _, tag in s],
            "langs": [lang for _, lang, _ in s],
        }
        for s in sentences
    ]
    hub = mirror.add("google/xtreme", "PAN-X.de", "validation", rows, "panx").hub()
    ds = load("panx", hub, "dev", "de")
    assert ds["tokens"][0] == ["Anton", "Wilhelm", "von", "Zuccalmaglio", "."]
    assert ds["tags"][0] == ["B-PER", "I-PER", "I-PER", "I-PER", "O"]


@pytest.mark.parametrize(
    ("task", "repo", "config", "path", "language", "n"),
    [
        ("xquad", "google/xtreme", "XQuAD.de", "xquad/xquad.de.json", "de", 1190),
        ("xquad", "google/xtreme", "XQuAD.en", "xquad/xquad.en.json", "en", 1190),
        ("xquad", "google/xquad", "xquad.ro", "xquad/xquad.de.json", "ro", 1190),  # XTREME-R's ro source
        ("tydiqa", "google/xtreme", "tydiqa", "tydiqa/tydiqa-goldp-v1.1-dev.hf_dummy.json", "ar", 1),
    ],
)
def test_extractive_qa_answers_point_into_contexts(mirror, task, repo, config, path, language, n):
    """xtreme.py strips contexts without shifting answer_start (xquad.en has two contexts with
    leading whitespace): prepare's repair_answer_spans puts every answer back on its text."""
    from xstilts.formats.qa import repair_answer_spans

    rows = squad_rows(SAMPLES / path, with_title=task == "tydiqa")
    features = "qa" if task == "tydiqa" else "xquad"
    hub = mirror.add(repo, config, "validation", rows, features).hub()
    ds = load(task, hub, "test", language)
    assert len(ds) == n and ds.column_names == ["id", "context", "question", "answers"]
    ds, counts = repair_answer_spans(ds, drop_unrecoverable=False)
    assert counts["unrecoverable"] == 0
    for row in ds:
        for text, start in zip(row["answers"]["text"], row["answers"]["answer_start"]):
            assert row["context"][start : start + len(text)] == text


def test_mlqa_real_validation_rows(mirror):
    import datasets

    real = datasets.load_from_disk(str(SAMPLES / "mlqa" / "hf_save_to_disk_mlqa.de.de_validation"))
    rows = [{"title": "", **{k: r[k] for k in ("id", "context", "question", "answers")}} for r in real]
    hub = mirror.add("google/xtreme", "MLQA.de.de", "validation", rows, "qa").hub()
    ds = load("mlqa", hub, "dev", "de")
    assert len(ds) == len(real) == 512
    assert ds["id"] == real["id"] and ds["answers"] == [dict(a) for a in real["answers"]]


def test_tatoeba_source_is_the_language(mirror):
    """xtreme.py: source_sentence from tatoeba.<l>-eng.<l>, target from .eng, one split
    `validation`, each line as read (newline kept): the loader strips it, as LASER's reader does."""
    source, target = (
        (SAMPLES / "tatoeba" / f"tatoeba.deu-eng.{side}").read_text(encoding="utf-8").splitlines(True)[:100]
        for side in ("deu", "eng")
    )
    rows = [
        {"source_sentence": s, "target_sentence": t, "source_lang": "deu", "target_lang": "eng"}
        for s, t in zip(source, target)
    ]
    hub = mirror.add("google/xtreme", "tatoeba.deu", "validation", rows, "pairs").hub()
    ds = load("tatoeba", hub, "test", "de")
    assert ds["source"] == [s.strip() for s in source] and ds["target"] == [t.strip() for t in target]


@pytest.mark.parametrize("language", sorted(languages.TATOEBA_R_CODES))
def test_tatoeba_mteb_sentence1_is_the_language(mirror, language):
    """mteb/tatoeba-bitext-mining <iso>-eng: sentence1 the language, sentence2 English (mteb's
    Tatoeba metadata lists each subset as [<iso>-<script>, eng-Latn])."""
    code = languages.TATOEBA_R_CODES[language]
    source, target = (
        (REAL / "tatoeba" / f"tatoeba.{code}-eng.{side}.first200").read_text(encoding="utf-8").splitlines()
        for side in (code, "eng")
    )
    rows = [{"sentence1": s, "sentence2": t} for s, t in zip(source, target)]
    hub = mirror.add("mteb/tatoeba-bitext-mining", f"{code}-eng", "test", rows, "mteb_tatoeba").hub()
    ds = load("tatoeba", hub, "test", language)
    assert ds["source"] == source and ds["target"] == target and len(ds) == 200


# ---- XTREME-R: XCOPA, Mewsli-X -------------------------------------------------------------


@pytest.mark.parametrize("language", ["et", "ht", "qu", "zh"])
def test_xcopa_validation_files(mirror, language):
    raw = [json.loads(x) for x in (REAL / "xcopa" / f"val.{language}.jsonl").read_text().splitlines()]
    hub = mirror.add("cambridgeltl/xcopa", language, "validation", raw, "xcopa").hub()
    ds = load("xcopa", hub, "dev", language)
    assert len(ds) == len(raw) == 100
    assert ds["label"] == [r["label"] for r in raw]
    assert ds["choices"] == [[r["choice1"], r["choice2"]] for r in raw]
    # run_xcopa.py: f"{premise} What was the {question}?", the question English in every language
    assert ds["context"] == [f"{r['premise']} What was the {r['question']}?" for r in raw]


def test_mewslix_real_wikinews_mentions(tmp_path):
    """Two real WikiNews documents in the wikinews_mentions-*.jsonl schema (google-research
    mewsli_x testdata), test: every mention a query keyed by its gold entity, in its sentence."""
    from xstilts.embedded.retrieval import write_tarball

    documents = [
        json.loads(x) for x in (REAL / "mewslix" / "example_mentions.jsonl").read_text().splitlines()
    ]
    mentions = [m for d in documents for m in d["mentions"]]
    entities = [
        {"entity_id": m["entity_id"], "description": "A.", "sentence_spans": [{"start": 0, "end": 2}]}
        | {"description_language": "en"}
        for m in mentions
    ]
    files = {"wikinews_mentions-test.jsonl": documents, "candidate_set_entities.jsonl": entities}
    write_tarball(tmp_path / loaders.MEWSLIX_REPO / "raw.tar.gz", files)
    assert layouts.mirror_disagreements(tmp_path) == []
    for language in ("en", "ar"):
        ds = load("mewslix", Hub(tmp_path), "test", language)
        queries = [i for i, kind in enumerate(ds["kind"]) if kind == "query"]
        gold = [m for d in documents if d["context"]["language"] == language for m in d["mentions"]]
        assert [ds["id"][i] for i in queries] == [m["example_id"] for m in gold]
        assert [ds["keys"][i] for i in queries] == [[m["entity_id"]] for m in gold]
        for i, m in zip(queries, gold):
            span = m["mention_span"]["text"]
            assert ds["text"][i].startswith(f"{span}: ") and f"{{ {span} }}" in ds["text"][i]


# ---- intermediate tasks ---------------------------------------------------------------------

NLI = {"e": 0, "n": 1, "c": 2}  # anli.py: e/n/c -> ClassLabel entailment, neutral, contradiction


def test_anli_dev_rounds(mirror):
    raw = {}
    for r in (1, 2, 3):
        lines = (SAMPLES / "anli" / "hf_dummy_anli_v0.1_raw" / f"R{r}" / "dev.jsonl").read_text().splitlines()
        raw[r] = [json.loads(x) for x in lines]
        rows = [
            {"uid": x["uid"], "premise": x["context"], "hypothesis": x["hypothesis"]}
            | {"label": NLI[x["label"]], "reason": x["reason"]}
            for x in raw[r]
        ]
        mirror.add("facebook/anli", "plain_text", f"dev_r{r}", rows, "anli")
    ds = load("anli_plus", mirror.hub(), "dev", "en")
    every = [x for r in (1, 2, 3) for x in raw[r]]
    assert ds["text_a"] == [x["context"] for x in every] and ds["text_b"] == [x["hypothesis"] for x in every]
    assert ds["label"] == [NLI[x["label"]] for x in every]


def test_mnli_and_qqp_glue_rows(mirror):
    mnli = tsv(SAMPLES / "mnli" / "hf_dummy_glue_MNLI_dev_matched.tsv")
    rows = [
        {"premise": r["sentence1"], "hypothesis": r["sentence2"], "idx": i}
        | {"label": loaders.XNLI_LABELS.index(r["gold_label"])}
        for i, r in enumerate(mnli)
    ]
    mirror.add("nyu-mll/glue", "mnli", "validation_matched", rows, "mnli")
    qqp = tsv(SAMPLES / "qqp" / "hf_dummy_glue_QQP_dev.tsv")
    rows = [
        {"question1": r["question1"], "question2": r["question2"], "label": int(r["is_duplicate"]), "idx": i}
        for i, r in enumerate(qqp)
    ]
    hub = mirror.add("nyu-mll/glue", "qqp", "validation", rows, "qqp").hub()
    ds = load("mnli", hub, "dev", "en")
    assert [loaders.XNLI_LABELS[y] for y in ds["label"]] == [r["gold_label"] for r in mnli]
    assert ds["text_a"] == [r["sentence1"] for r in mnli]
    ds = load("qqp", hub, "dev", "en")
    assert ds["label"] == [int(r["is_duplicate"]) for r in qqp] and ds["text_b"] == [
        r["question2"] for r in qqp
    ]


@pytest.mark.parametrize(
    ("task", "repo", "config", "path", "n", "unanswerable"),
    [
        (
            "squad_v2",
            "rajpurkar/squad_v2",
            "squad_v2",
            "squad20/dev-v2.0.first_article_Normans.json",
            208,
            112,
        ),
        (
            "squad_v1",
            "rajpurkar/squad",
            "plain_text",
            "squad11/xquad.en.is_squad_v1.1_dev_subset.json",
            1190,
            0,
        ),
    ],
)
def test_squad_validation(mirror, task, repo, config, path, n, unanswerable):
    hub = mirror.add(repo, config, "validation", squad_rows(SAMPLES / path, strip=False), "qa").hub()
    ds = load(task, hub, "dev", "en")
    assert len(ds) == n and sum(not a["text"] for a in ds["answers"]) == unanswerable
    for row in ds:
        for text, start in zip(row["answers"]["text"], row["answers"]["answer_start"]):
            assert row["context"][start : start + len(text)] == text


def test_hellaswag_parquet_branch(mirror):
    """Rowan/hellaswag is a loading script: its refs/convert/parquet branch, label a string."""
    raw = [json.loads(x) for x in (SAMPLES / "hellaswag" / "hellaswag_val.jsonl").read_text().splitlines()]
    rows = [{**r, "label": str(r["label"])} for r in raw]
    hub = mirror.add("Rowan/hellaswag", "default", "validation", rows, "hellaswag", converted=True).hub()
    ds = load("hellaswag", hub, "dev", "en")
    assert ds["label"] == [r["label"] for r in raw]
    assert ds["context"] == [r["ctx_a"] for r in raw]  # jiant: ctx_a, then ctx_b + ending per choice
    assert ds["choices"] == [[f"{r['ctx_b']} {e}".strip() for e in r["endings"]] for r in raw]


def test_cosmosqa_parquet_branch(mirror):
    with open(SAMPLES / "cosmosqa" / "valid.first400.csv", encoding="utf-8", newline="") as f:
        raw = list(csv.DictReader(f))
    rows = [{**r, "label": int(r["label"])} for r in raw]
    hub = mirror.add("allenai/cosmos_qa", "default", "validation", rows, "cosmosqa", converted=True).hub()
    ds = load("cosmosqa", hub, "dev", "en")
    assert len(ds) == 400 and ds["label"] == [int(r["label"]) for r in raw]
    assert ds["choices"][0] == [raw[0][f"answer{i}"] for i in range(4)]
    assert ds["context"][0] == f"{raw[0]['context']} {raw[0]['question']}"


def test_commonsenseqa_answer_keys(mirror):
    raw = [
        json.loads(x)
        for x in (SAMPLES / "commonsenseqa" / "dev_rand_split.hfformat.jsonl").read_text().splitlines()
    ]
    hub = mirror.add("tau/commonsense_qa", "default", "validation", raw, "commonsenseqa").hub()
    ds = load("commonsenseqa", hub, "dev", "en")
    assert len(ds) == len(raw) == 1221
    assert ds["label"] == ["ABCDE".index(r["answerKey"]) for r in raw]
    assert ds["choices"] == [r["choices"]["text"] for r in raw]
