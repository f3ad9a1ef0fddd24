"""Loaders on real rows (issue 22): hub-shaped fixtures in the recorded layouts
(xstilts/layouts.yaml), built from ../shared/real-samples/xtreme-r, checked against what XTREME's
own scripts make of the same rows."""

from __future__ import annotations

import json
from pathlib import Path

import datasets
import networkx as nx
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from xstilts import layouts, stages, tasks
from xstilts.embedded.hub import FEATURES, UD27_UPOS
from xstilts.hub import Hub, mirror_path

REPO = Path(__file__).resolve().parents[1]
REAL = REPO.parent / "shared" / "real-samples" / "xtreme-r"
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
    branch = mirror_path(root, tasks.UD27, tasks.UD27_REVISION)
    for treebank, name in UD_FILES.items():
        rows = [hub_row(s, i) for i, s in enumerate(conllu_sentences(REAL / "ud27" / name))]
        path = branch / treebank / "test" / "0000.parquet"
        path.parent.mkdir(parents=True)
        pq.write_table(pa.Table.from_pylist(rows, schema=FEATURES["ud27"].arrow_schema), path)
    assert layouts.mirror_disagreements(root) == []
    return Hub(root)


@pytest.mark.parametrize("language,treebank", [("lt", "lt_alksnis"), ("pl", "pl_pdb"), ("wo", "wo_wtb")])
def test_udpos_on_real_ud27_rows_equals_xtreme_words(ud_hub, monkeypatch, language, treebank):
    monkeypatch.setitem(tasks.UD27_TREEBANKS, language, (treebank,))  # the excerpt's one treebank
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
    monkeypatch.setitem(tasks.UD27_TREEBANKS, "pl", ("pl_pdb",))
    monkeypatch.setitem(tasks.UD27_TREEBANKS, "wo", ("wo_wtb",))
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
    target = root / layouts.GITHUB_DIR / tasks.LAREQA_REPO / "xquad-r"
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
