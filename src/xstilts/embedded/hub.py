"""Write the synthetic world as a local mirror laid out like the Hugging Face hub.

Hub id `org/name` -> `<root>/org/name` (README.md with `configs` and `dataset_info` YAML,
parquet files where the repo's record in xstilts/layouts.yaml says the hub has them, mostly
`<config>/<split>-00000-of-00001.parquet`); a revision
other than main -> `<root>/org/name@<revision with / as -->`, and the `refs/convert/parquet`
revisions use that branch's layout `<config>/<split>/0000.parquet`. The same
`datasets.load_dataset(<dir>, config, split=...)` call then reads it that reads the hub.
CCG derivations go to `<root>/ccgbank/data/AUTO/<section>/wsj_<section><nn>.auto`.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import yaml
from datasets import ClassLabel, Features, List, Value

from xstilts import layouts
from xstilts.atomic import atomic_dir
from xstilts.embedded import ccg, retrieval
from xstilts.embedded.examples import (
    NLI_LABELS,
    commonsense_item,
    hex_id,
    nli_item,
    nli_reason,
    paws_pair,
    qa_item,
    qa_render,
    qqp_pair,
    render_text,
    script_item,
    verb_phrase,
)
from xstilts.embedded.world import LANGUAGES, Sampler, Token, World, join, stable_index
from xstilts.languages import (
    LANGUAGE_NAMES,
    TATOEBA_CODES,
    TATOEBA_R_CODES,
    XTREME_LANGUAGES,
    XTREME_R_LANGUAGES,
)
from xstilts.loaders import NER_TAGS, UD25, UD25_FILE, UD27, UD27_TREEBANKS, UPOS_TAGS

SIZES = {
    # rows per English training split, per language and evaluation split, per corpus language
    "micro": {"train": 200, "eval": 20, "corpus": 100},  # for fast tests
    "tiny": {"train": 2000, "eval": 200, "corpus": 3000},
    "small": {"train": 10000, "eval": 500, "corpus": 15000},
}
CORPUS_REPO = "xstilts/tiny-corpus"
CODE_SWITCH_RATE = 0.1
# MNLI is the largest intermediate task (393k pairs, 4.5x SQuAD): its NLI relations, the ones
# XNLI tests, are learned from far more data than a low-resource target run sees.
MNLI_TRAIN_FACTOR = 4

_S = Value("string")
# The UD script dataset's upos class order ("_": multi-word token lines), not UPOS_TAGS's.
UD27_UPOS = (
    "NOUN", "PUNCT", "ADP", "NUM", "SYM", "SCONJ", "ADJ", "PART", "DET",
    "CCONJ", "PROPN", "PRON", "X", "_", "ADV", "INTJ", "VERB", "AUX",
)  # fmt: skip
_ANSWERS = {"text": List(_S), "answer_start": List(Value("int32"))}
QA_FEATURES = Features({"id": _S, "title": _S, "context": _S, "question": _S, "answers": _ANSWERS})
NLI_CLASS = ClassLabel(names=list(NLI_LABELS))
FEATURES = {
    "xnli": Features({"language": _S, "sentence1": _S, "sentence2": _S, "gold_label": _S}),
    "pawsx": Features({"sentence1": _S, "sentence2": _S, "label": _S}),
    "udpos": Features({"tokens": List(_S), "pos_tags": List(ClassLabel(names=list(UPOS_TAGS)))}),
    "panx": Features(
        {"tokens": List(_S), "ner_tags": List(ClassLabel(names=list(NER_TAGS))), "langs": List(_S)}
    ),
    "xquad": Features({"id": _S, "context": _S, "question": _S, "answers": _ANSWERS}),
    "qa": QA_FEATURES,
    "pairs": Features({"source_sentence": _S, "target_sentence": _S, "source_lang": _S, "target_lang": _S}),
    "mnli": Features({"premise": _S, "hypothesis": _S, "label": NLI_CLASS, "idx": Value("int32")}),
    "qqp": Features(
        {
            "question1": _S,
            "question2": _S,
            "label": ClassLabel(names=["not_duplicate", "duplicate"]),
            "idx": Value("int32"),
        }
    ),
    "anli": Features({"uid": _S, "premise": _S, "hypothesis": _S, "label": NLI_CLASS, "reason": _S}),
    "snli": Features({"premise": _S, "hypothesis": _S, "label": NLI_CLASS}),
    "hellaswag": Features(
        {
            "ind": Value("int32"),
            "activity_label": _S,
            "ctx_a": _S,
            "ctx_b": _S,
            "ctx": _S,
            "endings": List(_S),
            "source_id": _S,
            "split": _S,
            "split_type": _S,
            "label": _S,
        }
    ),
    "cosmosqa": Features(
        {
            "id": _S,
            "context": _S,
            "question": _S,
            "answer0": _S,
            "answer1": _S,
            "answer2": _S,
            "answer3": _S,
            "label": Value("int32"),
        }
    ),
    "commonsenseqa": Features(
        {
            "id": _S,
            "question": _S,
            "question_concept": _S,
            "choices": {"label": List(_S), "text": List(_S)},
            "answerKey": _S,
        }
    ),
    "corpus": Features({"text": _S}),
    # XTREME-R
    "siqa": Features(
        {"context": _S, "question": _S, "answerA": _S, "answerB": _S, "answerC": _S, "label": _S}
    ),
    "copa": Features(
        {
            "premise": _S,
            "choice1": _S,
            "choice2": _S,
            "question": _S,
            "idx": Value("int32"),
            "label": ClassLabel(names=["choice1", "choice2"]),
        }
    ),
    "xcopa": Features(
        {
            "premise": _S,
            "choice1": _S,
            "choice2": _S,
            "question": _S,
            "label": Value("int32"),
            "idx": Value("int32"),
            "changed": Value("bool"),
        }
    ),
    "wikiann": Features(
        {
            "tokens": List(_S),
            "ner_tags": List(ClassLabel(names=list(NER_TAGS))),
            "langs": List(_S),
            "spans": List(_S),
        }
    ),
    "ud27": Features(
        {
            "idx": _S,
            "text": _S,
            "tokens": List(_S),
            "lemmas": List(_S),
            "upos": List(ClassLabel(names=list(UD27_UPOS))),
            "xpos": List(_S),
            "feats": List(_S),
            "head": List(_S),
            "deprel": List(_S),
            "deps": List(_S),
            "misc": List(_S),
        }
    ),
    "mteb_tatoeba": Features({"sentence1": _S, "sentence2": _S}),
    # translated intermediate data: facebook/xnli (translate-train), google-research-datasets/paws-x
    "xnli_tt": Features({"premise": _S, "hypothesis": _S, "label": NLI_CLASS}),
    "paws-x": Features(
        {"id": Value("int32"), "sentence1": _S, "sentence2": _S, "label": ClassLabel(names=["0", "1"])}
    ),
}


def conllu_lines(tokens: list[Token], sent_id: str, fused: bool) -> str:
    """One CoNLL-U sentence: a chain of heads (1 is the root); `fused`: its first two words are
    also one multi-word token (`1-2`), whose surface form the text spells."""
    words = [t.text for t in tokens]
    text = " ".join([words[0] + words[1], *words[2:]] if fused else words)
    out = [f"# sent_id = {sent_id}", f"# text = {text}"]
    if fused:
        out.append("\t".join(["1-2", words[0] + words[1], *["_"] * 8]))
    for k, t in enumerate(tokens, start=1):
        out.append("\t".join([str(k), t.text, t.text.lower(), t.upos, "_", "_", str(k - 1), "dep", "_", "_"]))
    return "\n".join(out) + "\n\n"


class MirrorWriter:
    """Collects parquet files per repo, then writes each repo's dataset card."""

    def __init__(self, root: Path):
        self.root = root
        self.cards: dict[str, list[dict]] = {}

    def write(self, repo: str, config: str, split: str, rows: list[dict], features: Features):
        """One split as the hub lays it out: the first path the repo's record reads
        (xstilts.layouts), e.g. `{config}/{split}-*.parquet` or lighteval/siqa's `data/{split}-*`."""
        pattern = layouts.get(repo).files[0]
        relative = pattern.format(config=config, split=split).replace("*", "00000-of-00001")
        num_bytes = self._parquet(self.root / repo / relative, rows, features)
        self._register(repo, config, split, relative, len(rows), num_bytes, features)

    def _register(self, repo, config, split, relative, n_rows, num_bytes, features):
        configs = self.cards.setdefault(repo, [])
        entry = next((c for c in configs if c["config_name"] == config), None)
        if entry is None:
            entry = {"config_name": config, "features": features, "splits": []}
            configs.append(entry)
        entry["splits"].append((split, relative, n_rows, num_bytes))

    def write_converted(self, repo: str, split: str, rows: list[dict], features: Features, config="default"):
        """The `refs/convert/parquet` branch: <config>/<split>/0000.parquet and no card, whatever
        the number of configs (xstilts.layouts records it)."""
        branch = f"{repo}@refs--convert--parquet"
        self._parquet(self.root / branch / config / split / "0000.parquet", rows, features)

    @staticmethod
    def _parquet(path: Path, rows: list[dict], features: Features) -> int:
        """Write rows with the hub's features (kept in the schema metadata, as the hub's
        parquet files do); returns the table's size in memory (the card's num_bytes)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        table = pa.Table.from_pylist(rows, schema=features.arrow_schema)
        pq.write_table(table, path)
        return table.nbytes

    def write_cards(self, summary: str):
        for repo, configs in self.cards.items():
            card = {
                "configs": [
                    {
                        "config_name": c["config_name"],
                        "data_files": [{"split": s, "path": p} for s, p, _, _ in c["splits"]],
                    }
                    for c in configs
                ],
                "dataset_info": [
                    {
                        "config_name": c["config_name"],
                        "features": c["features"]._to_yaml_list(),
                        "splits": [
                            {"name": s, "num_bytes": b, "num_examples": n} for s, _, n, b in c["splits"]
                        ],
                    }
                    for c in configs
                ],
            }
            text = "---\n" + yaml.safe_dump(card, sort_keys=False, allow_unicode=True) + "---\n"
            text += f"# {repo} (synthetic)\n\n{summary}\n"
            (self.root / repo / "README.md").write_text(text, encoding="utf-8")


def build_hub_mirror(root: Path, languages: list[str], seed: int = 0, size: str = "tiny") -> None:
    """Write every repo the tasks read into `root`, atomically (temp dir, then rename)."""
    root = Path(root)
    unknown = set(languages) - set(LANGUAGES)
    if unknown:
        raise ValueError(f"languages not in the synthetic world {LANGUAGES}: {sorted(unknown)}")
    if "en" not in languages:
        raise ValueError("the synthetic world needs English (the training language)")
    languages = [code for code in LANGUAGES if code in set(languages)]
    with atomic_dir(root) as tmp:
        Builder(World(tuple(languages), seed), SIZES[size], MirrorWriter(tmp)).build()


class Builder:
    def __init__(self, world: World, size: dict, writer: MirrorWriter):
        self.world, self.size, self.out = world, size, writer
        self.en = world.lang["en"]

    def sampler(self, name: str) -> Sampler:
        """An independent stream per dataset: adding one does not shift the others."""
        return Sampler(np.random.default_rng([self.world.seed, stable_index(name, 2**31)]))

    def langs(self, task: str) -> list[str]:
        wanted = set(XTREME_LANGUAGES[task].split())
        return [code for code in self.world.languages if code in wanted]

    def added_langs(self, task: str, sources) -> list[str]:
        """XTREME-R's languages of a task served by another source (`sources` keys)."""
        wanted = set(XTREME_R_LANGUAGES[task].split()) & set(sources)
        return [code for code in self.world.languages if code in wanted]

    def build(self):
        for step in (
            self.xnli,
            self.pawsx,
            self.udpos,
            self.panx,
            self.xquad,
            self.mlqa,
            self.tydiqa,
            self.bucc,
            self.tatoeba,
            self.glue,
            self.translated_intermediate,
            self.anli,
            self.snli,
            self.squad,
            self.hellaswag,
            self.cosmosqa,
            self.commonsenseqa,
            self.ccgbank,
            self.corpus,
            self.siqa,
            self.copa,
            self.xcopa,
            self.wikiann,
            self.ud27,
            self.tatoeba_mteb,
            self.xquad_google,
            lambda: retrieval.build(self),  # XTREME-R's XQuAD-R (official files) and Mewsli-X
        ):
            step()
        self.out.write_cards(
            "Generated by xstilts.embedded from a seeded synthetic "
            f"multilingual world (seed {self.world.seed}); the repo id, "
            "configs, splits and features mirror the Hugging Face hub."
        )

    # -- XTREME --------------------------------------------------------------------------
    def xnli(self):
        s = self.sampler("xnli")
        self.xnli_items = {}
        for split in ("validation", "test"):
            items = [nli_item(s, n_premise=int(s.rng.integers(1, 3))) for _ in range(self.size["eval"])]
            self.xnli_items[split] = items
            rows = [
                {
                    "language": code,
                    "sentence1": render_text(lang, item.premise),
                    "sentence2": render_text(lang, [item.hypothesis]),
                    "gold_label": NLI_LABELS[item.label],
                }
                for code in self.langs("xnli")
                for lang in [self.world.lang[code]]
                for item in items
            ]
            self.out.write("google/xtreme", "XNLI", split, rows, FEATURES["xnli"])

    def pawsx(self):
        s = self.sampler("pawsx")
        splits = {"train": self.size["train"], "validation": self.size["eval"], "test": self.size["eval"]}
        for split, n in splits.items():
            pairs = [paws_pair(s) for _ in range(n)]
            if split == "train":
                self.paws_train = pairs  # rendered in every language: translated_intermediate
            for code in self.langs("pawsx"):
                if split == "train" and code != "en":
                    continue  # XTREME trains on English only (the hub's translated train is not used)
                lang = self.world.lang[code]
                rows = [
                    {
                        "sentence1": render_text(lang, [a]),
                        "sentence2": render_text(lang, [b]),
                        "label": str(label),
                    }
                    for a, b, label in pairs
                ]
                self.out.write("google/xtreme", f"PAWS-X.{code}", split, rows, FEATURES["pawsx"])

    def tagged_sentences(self, s: Sampler, n: int):
        """Events, sometimes negated or with two agents, sometimes as questions."""
        for _ in range(n):
            event = s.event(place_p=0.5, time_p=0.3)
            r = s.rng.random()
            if r < 0.15:
                event = replace(event, agents=event.agents + (self.other_person(s, event),))
            elif r < 0.3:
                event = replace(event, negated=True)
            yield event, (s.choice(("agent", "place", "patient")) if s.rng.random() < 0.15 else None)

    @staticmethod
    def other_person(s: Sampler, event):
        while True:
            person = s.person()
            if person.name[0] != event.agents[0].name[0]:
                return person

    def render_tokens(self, code: str, event, question) -> list[Token]:
        lang = self.world.lang[code]
        if (
            question == "place"
            and event.place is None
            or question == "patient"
            and not hasattr(event.patients[0], "noun")
        ):
            question = "agent"
        return lang.question(event, question) if question else lang.sentence(event)

    def udpos(self):
        """google/xtreme's udpos rows and, from the same sentences, the UD 2.5 release tarball
        (one treebank per language) where ~10% of sentences start with a multi-word token
        spanning their first two words, as in Romance treebanks."""
        s, fuse = self.sampler("udpos"), self.sampler("ud25")
        conllu = {}
        for split in ("train", "validation", "test"):
            n = self.size["train"] if split == "train" else self.size["eval"]
            meanings = list(self.tagged_sentences(s, n))
            for code in self.langs("udpos"):
                if split == "train" and code != "en":
                    continue
                rows, lines = [], []
                for i, (event, question) in enumerate(meanings):
                    tokens = [t for t in self.render_tokens(code, event, question)]
                    rows.append(
                        {
                            "tokens": [t.text for t in tokens],
                            "pos_tags": [UPOS_TAGS.index(t.upos) for t in tokens],
                        }
                    )
                    fused = len(tokens) > 2 and fuse.rng.random() < 0.1
                    lines.append(conllu_lines(tokens, f"{split}-{i}", fused))
                self.out.write(
                    "google/xtreme", f"udpos.{LANGUAGE_NAMES[code]}", split, rows, FEATURES["udpos"]
                )
                name = f"{code}_embedded-ud-{'dev' if split == 'validation' else split}.conllu"
                conllu[f"UD_{LANGUAGE_NAMES[code]}-Embedded/{name}"] = "".join(lines)
        if conllu:
            path = self.out.root / layouts.FILES_DIR / UD25 / UD25_FILE
            retrieval.write_tarball(path, {f"ud-treebanks-v2.5/{k}": v for k, v in sorted(conllu.items())})

    def panx(self):
        s = self.sampler("panx")
        for split in ("train", "validation", "test"):
            n = self.size["train"] if split == "train" else self.size["eval"]
            meanings = list(self.tagged_sentences(s, n))
            for code in self.langs("panx"):
                # the hub has PAN-X train for every language; non-English ones stay small
                subset = meanings if split != "train" or code == "en" else meanings[: self.size["eval"]]
                rows = [self.panx_row(code, self.render_tokens(code, e, q)) for e, q in subset]
                self.out.write("google/xtreme", f"PAN-X.{code}", split, rows, FEATURES["panx"])

    def panx_row(self, code: str, tokens: list[Token]) -> dict:
        words, tags = [], []
        for token in tokens:
            if code in ("zh", "ja"):  # PAN-X zh/ja are tokenised into characters
                for i, ch in enumerate(token.text):
                    words.append(ch)
                    tags.append(token.ner if i == 0 or token.ner == "O" else "I-" + token.ner[2:])
            else:
                words.append(token.text)
                tags.append(token.ner)
        return {"tokens": words, "ner_tags": [NER_TAGS.index(t) for t in tags], "langs": [code] * len(words)}

    def qa_rows(self, code: str, items, ids, titles, with_title=True) -> list[dict]:
        lang = self.world.lang[code]
        rows = []
        for item, id_, title in zip(items, ids, titles):
            context, question, texts, starts = qa_render(lang, item)
            row = {
                "id": id_,
                "context": context,
                "question": question,
                "answers": {"text": texts, "answer_start": starts},
            }
            if with_title:
                row["title"] = title
            rows.append(row)
        return rows

    def qa_items(self, s: Sampler, n: int, unanswerable_p: float = 0.0):
        items = [qa_item(s, unanswerable=bool(s.rng.random() < unanswerable_p)) for _ in range(n)]
        titles = ["_".join(item.events[0].agents[0].name) for item in items]
        return items, titles

    def xquad(self):
        s = self.sampler("xquad")
        items, titles = self.qa_items(s, self.size["eval"])
        ids = [hex_id(s, 24) for _ in items]
        for code in self.langs("xquad"):
            rows = self.qa_rows(code, items, ids, titles, with_title=False)
            self.out.write("google/xtreme", f"XQuAD.{code}", "validation", rows, FEATURES["xquad"])

    def mlqa(self):
        s = self.sampler("mlqa")
        for split in ("validation", "test"):
            items, titles = self.qa_items(s, self.size["eval"])
            ids = [hex_id(s, 40) for _ in items]
            for code in self.langs("mlqa"):
                rows = self.qa_rows(code, items, ids, titles)
                self.out.write("google/xtreme", f"MLQA.{code}.{code}", split, rows, FEATURES["qa"])

    def tydiqa(self):
        """One config, languages mixed; ids start with the lowercase language name. TyDiQA is
        not parallel: every language gets its own questions."""
        s = self.sampler("tydiqa")
        for split in ("train", "validation"):
            rows = []
            for code in self.langs("tydiqa"):
                n = self.size["train"] if split == "train" and code == "en" else self.size["eval"]
                items, titles = self.qa_items(s, n)
                prefix = LANGUAGE_NAMES[code].lower()
                ids = [f"{prefix}-{int(s.rng.integers(1, 2**62))}-{i % 3}" for i in range(n)]
                rows += self.qa_rows(code, items, ids, titles)
            if split == "train":
                rows += self.tydiqa_native_train()
            self.out.write("google/xtreme", "tydiqa", split, rows, FEATURES["qa"])

    def tydiqa_native_train(self) -> list[dict]:
        """More native GoldP training rows in each non-English language (Finnish included), up
        to the English count: intermediate training in the language from native data. Their
        own stream, appended: the rows above (and every other dataset) stay as they were."""
        s = self.sampler("tydiqa.native")
        rows = []
        for code in self.langs("tydiqa"):
            n = self.size["train"] - self.size["eval"]
            if code == "en" or n <= 0:
                continue
            items, titles = self.qa_items(s, n)
            prefix = LANGUAGE_NAMES[code].lower()
            ids = [f"{prefix}-n{int(s.rng.integers(1, 2**62))}-{i % 3}" for i in range(n)]
            rows += self.qa_rows(code, items, ids, titles)
        return rows

    def translation_pairs(self, name: str, code: str, n: int) -> list[dict]:
        """Distinct meanings rendered in `code` (source) and English (target)."""
        s = self.sampler(f"{name}.{code}")
        lang = self.world.lang[code]
        rows, seen = [], set()
        while len(rows) < n:
            event = s.event(place_p=0.6, time_p=0.4)
            target = render_text(self.en, [event])
            if target in seen:
                continue
            seen.add(target)
            rows.append(
                {
                    "source_sentence": render_text(lang, [event]),
                    "target_sentence": target,
                    "source_lang": code,
                    "target_lang": "en",
                }
            )
        return rows

    def bucc(self):
        for code in self.langs("bucc"):
            for split in ("validation", "test"):
                rows = self.translation_pairs(f"bucc.{split}", code, self.size["eval"])
                self.out.write("google/xtreme", f"bucc18.{code}", split, rows, FEATURES["pairs"])

    def tatoeba(self):
        for code in self.langs("tatoeba"):
            if code == "en":
                continue
            rows = self.translation_pairs("tatoeba", code, self.size["eval"])
            for row in rows:  # the hub's tatoeba rows carry ISO 639-3 codes
                row["source_lang"], row["target_lang"] = TATOEBA_CODES[code], "eng"
            self.out.write(
                "google/xtreme", f"tatoeba.{TATOEBA_CODES[code]}", "validation", rows, FEATURES["pairs"]
            )

    # -- English intermediate tasks -----------------------------------------------------------
    def nli_rows(self, s: Sampler, n: int, n_premise=(1, 3), org_p=0.15) -> list:
        return [nli_item(s, int(s.rng.integers(*n_premise)), org_p) for _ in range(n)]

    def glue(self):
        s = self.sampler("glue.mnli")
        splits = {
            "train": (MNLI_TRAIN_FACTOR * self.size["train"], 0.15),
            "validation_matched": (self.size["eval"], 0.15),
            "validation_mismatched": (self.size["eval"], 0.6),
        }  # mismatched: organisations
        for split, (n, org_p) in splits.items():
            items = self.nli_rows(s, n, org_p=org_p)
            if split == "train":
                self.mnli_train = items  # rendered in every XNLI language: translated_intermediate
            rows = [
                {
                    "premise": render_text(self.en, it.premise),
                    "hypothesis": render_text(self.en, [it.hypothesis]),
                    "label": it.label,
                    "idx": i,
                }
                for i, it in enumerate(items)
            ]
            self.out.write("nyu-mll/glue", "mnli", split, rows, FEATURES["mnli"])
        s = self.sampler("glue.qqp")
        for split, n in (("train", self.size["train"]), ("validation", self.size["eval"])):
            rows = [
                {"question1": a, "question2": b, "label": label, "idx": i}
                for i, (a, b, label) in enumerate(qqp_pair(s, self.en) for _ in range(n))
            ]
            self.out.write("nyu-mll/glue", "qqp", split, rows, FEATURES["qqp"])

    def translated_intermediate(self):
        """Each intermediate example "translated": the same example rendered in every language
        (the generator's translation is exact). facebook/xnli: MNLI train in each XNLI
        language (translate-train), dev and test the XNLI items; google-research-datasets/
        paws-x: PAWS-X's English train pairs in each PAWS-X language."""
        for code in self.langs("xnli"):
            lang = self.world.lang[code]
            splits = {"train": self.mnli_train, **self.xnli_items}
            for split, items in splits.items():
                rows = [
                    {
                        "premise": render_text(lang, item.premise),
                        "hypothesis": render_text(lang, [item.hypothesis]),
                        "label": item.label,
                    }
                    for item in items
                ]
                self.out.write("facebook/xnli", code, split, rows, FEATURES["xnli_tt"])
        for code in self.langs("pawsx"):
            lang = self.world.lang[code]
            rows = [
                {
                    "id": i + 1,
                    "sentence1": render_text(lang, [a]),
                    "sentence2": render_text(lang, [b]),
                    "label": label,
                }
                for i, (a, b, label) in enumerate(self.paws_train)
            ]
            self.out.write("google-research-datasets/paws-x", code, "train", rows, FEATURES["paws-x"])

    def anli(self):
        """Rounds get longer premises (harder), like ANLI's adversarial rounds."""
        s = self.sampler("anli")
        per_round = max(self.size["train"] // 3, 1)
        for r in (1, 2, 3):
            for part, n in (("train", per_round), ("dev", self.size["eval"]), ("test", self.size["eval"])):
                items = self.nli_rows(s, n, n_premise=(r + 1, r + 2))
                rows = [
                    {
                        "uid": hex_id(s, 8) + "-" + hex_id(s, 4) + "-" + hex_id(s, 12),
                        "premise": render_text(self.en, it.premise),
                        "hypothesis": render_text(self.en, [it.hypothesis]),
                        "label": it.label,
                        "reason": nli_reason(it, self.en) if part != "train" else "",
                    }
                    for it in items
                ]
                self.out.write("facebook/anli", "plain_text", f"{part}_r{r}", rows, FEATURES["anli"])

    def snli(self):
        """Single-sentence premises; ~2% rows without gold label (-1), like the real SNLI."""
        s = self.sampler("snli")
        for split in ("train", "validation", "test"):
            n = self.size["train"] if split == "train" else self.size["eval"]
            rows = [
                {
                    "premise": render_text(self.en, it.premise),
                    "hypothesis": render_text(self.en, [it.hypothesis]),
                    "label": -1 if s.rng.random() < 0.02 else it.label,
                }
                for it in self.nli_rows(s, n, n_premise=(1, 2))
            ]
            self.out.write("stanfordnlp/snli", "plain_text", split, rows, FEATURES["snli"])

    def squad(self):
        for repo, config, unanswerable_p in (
            ("rajpurkar/squad", "plain_text", 0.0),
            ("rajpurkar/squad_v2", "squad_v2", 1 / 3),
        ):
            s = self.sampler(repo)
            for split in ("train", "validation"):
                n = self.size["train"] if split == "train" else self.size["eval"]
                items, titles = self.qa_items(s, n, unanswerable_p)
                ids = [hex_id(s, 24) for _ in items]
                self.out.write(repo, config, split, self.qa_rows("en", items, ids, titles), FEATURES["qa"])

    def hellaswag(self):
        s = self.sampler("hellaswag")
        ind = 0
        for split, tag in (("train", "train"), ("validation", "val"), ("test", "test")):
            rows = []
            for _ in range(self.size["train"] if split == "train" else self.size["eval"]):
                item = script_item(s)
                ctx_a = render_text(self.en, item.context)
                ctx_b = " ".join(item.context[0].agents[0].name)
                rows.append(
                    {
                        "ind": ind,
                        "activity_label": item.activity,
                        "ctx_a": ctx_a,
                        "ctx_b": ctx_b,
                        "ctx": f"{ctx_a} {ctx_b}",
                        "endings": [verb_phrase(self.en, e) for e in item.endings],
                        "source_id": f"activitynet~v_{hex_id(s, 11)}",
                        "split": tag,
                        "split_type": "indomain" if s.rng.random() < 0.5 else "zeroshot",
                        "label": "" if split == "test" else str(item.label),
                    }
                )
                ind += 1
            self.out.write_converted("Rowan/hellaswag", split, rows, FEATURES["hellaswag"])

    def cosmosqa(self):
        s = self.sampler("cosmosqa")
        for split in ("train", "validation", "test"):
            rows = []
            for _ in range(self.size["train"] if split == "train" else self.size["eval"]):
                item = script_item(s, n_context=int(s.rng.integers(2, 4)))
                name = " ".join(item.context[0].agents[0].name)
                answers = [render_text(self.en, [e]) for e in item.endings]
                rows.append(
                    {
                        "id": hex_id(s, 30),
                        "context": render_text(self.en, item.context),
                        "question": f"What did {name} probably do next?",
                        **{f"answer{i}": a for i, a in enumerate(answers)},
                        "label": -1 if split == "test" else item.label,
                    }
                )
            self.out.write_converted("allenai/cosmos_qa", split, rows, FEATURES["cosmosqa"])

    def commonsenseqa(self):
        s = self.sampler("commonsenseqa")
        for split in ("train", "validation", "test"):
            rows = []
            for _ in range(self.size["train"] if split == "train" else self.size["eval"]):
                question, concept, choices, label = commonsense_item(s)
                rows.append(
                    {
                        "id": hex_id(s, 32),
                        "question": question,
                        "question_concept": concept,
                        "choices": {"label": list("ABCDE"), "text": choices},
                        "answerKey": "" if split == "test" else "ABCDE"[label],
                    }
                )
            self.out.write("tau/commonsense_qa", "default", split, rows, FEATURES["commonsenseqa"])

    def ccgbank(self):
        """Sections 00 (dev), 23 (test) and 02, 03, ... (train, ten files a section),
        100 sentences a file, named like CCGbank's wsj_<section><nn>.auto."""
        s = self.sampler("ccgbank")
        n_eval = max(self.size["eval"] // 100, 1)
        files = [("00", i + 1) for i in range(n_eval)] + [("23", i + 1) for i in range(n_eval)]
        files += [(f"{2 + i // 10:02d}", i % 10 + 1) for i in range(max(self.size["train"] // 100, 1))]
        base = self.out.root / "ccgbank" / "data" / "AUTO"
        for section, number in files:
            file_id = f"wsj_{section}{number:02d}"
            events = [event for event, _ in self.tagged_sentences(s, 100)]
            path = base / section / f"{file_id}.auto"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(ccg.auto_file(file_id, events), encoding="utf-8")

    # -- pretraining corpus ---------------------------------------------------------------------
    def corpus(self):
        """Monolingual text per language (config = language code, one split `train`), the same
        number of rows everywhere; CODE_SWITCH_RATE of the non-English rows swap some content
        words for English ones, as web text does."""
        for code in self.world.languages:
            s = self.sampler(f"corpus.{code}")
            lang = self.world.lang[code]
            rows = []
            for _ in range(self.size["corpus"]):
                events = [s.event(place_p=0.5, time_p=0.3) for _ in range(int(s.rng.integers(1, 4)))]
                if s.rng.random() < 0.15:
                    events[0] = replace(events[0], negated=True)
                if code != "en" and s.rng.random() < CODE_SWITCH_RATE:
                    rows.append({"text": self.code_switched(s, lang, events[0])})
                elif s.rng.random() < 0.1:
                    slot = "agent" if s.rng.random() < 0.5 else "patient"
                    tokens = self.render_tokens(code, events[0], slot)
                    rows.append({"text": join(lang, tokens)[0]})
                else:
                    rows.append({"text": render_text(lang, events)})
            self.out.write(CORPUS_REPO, code, "train", rows, FEATURES["corpus"])

    def code_switched(self, s: Sampler, lang, event) -> str:
        english = {t.slot: t.text for t in self.en.sentence(event) if t.slot.endswith((".noun", ".adj"))}
        tokens = [
            t
            if t.slot not in english or s.rng.random() < 0.5
            else Token(english[t.slot], t.upos, t.ner, t.slot)
            for t in lang.sentence(event)
        ]
        return join(lang, tokens)[0]

    # -- XTREME-R -------------------------------------------------------------------------------
    def copa_item(self, s: Sampler):
        """(premise, question, correct, wrong): an activity's step causes the next one; the
        wrong alternative is a step of another activity."""
        item = script_item(s, n_context=1)
        first, right = item.context[0], item.endings[item.label]
        wrong = [e for e in item.endings if e is not right][1]  # [done, other activity, wrong thing]
        if s.rng.random() < 0.5:
            return first, "effect", right, wrong
        return right, "cause", replace(first, place=None), wrong

    def copa_rows(self, s: Sampler, n: int, code: str, labelled: bool = True) -> list[dict]:
        lang = self.world.lang[code]
        rows = []
        for i in range(n):
            premise, question, right, wrong = self.copa_item(s)
            label = int(s.rng.integers(2))
            choices = [right, wrong] if label == 0 else [wrong, right]
            rows.append(
                {
                    "premise": render_text(lang, [premise]),
                    "choice1": render_text(lang, [choices[0]]),
                    "choice2": render_text(lang, [choices[1]]),
                    "question": question,
                    "idx": i,
                    "label": label if labelled else -1,
                }
            )
        return rows

    def siqa(self):
        """lighteval/siqa: three answers, string labels "1"-"3"."""
        s = self.sampler("siqa")
        for split in ("train", "validation"):
            rows = []
            for _ in range(self.size["train"] if split == "train" else self.size["eval"]):
                item = script_item(s, n_context=2)
                right = item.endings[item.label]
                wrong = [e for e in item.endings if e is not right][1:]
                label = int(s.rng.integers(3))
                answers = wrong[:label] + [right] + wrong[label:]
                name = " ".join(item.context[0].agents[0].name)
                rows.append(
                    {
                        "context": render_text(self.en, item.context),
                        "question": f"What will {name} want to do next?",
                        **{f"answer{k}": verb_phrase(self.en, e) for k, e in zip("ABC", answers)},
                        "label": str(label + 1),
                    }
                )
            self.out.write("lighteval/siqa", "default", split, rows, FEATURES["siqa"])

    def copa(self):
        """aps/super_glue copa: 400 train / 100 validation / 500 unlabeled test in the real one;
        here the size's train and eval counts."""
        s = self.sampler("copa")
        for split in ("train", "validation", "test"):
            n = self.size["train"] if split == "train" else self.size["eval"]
            rows = self.copa_rows(s, n, "en", labelled=split != "test")
            self.out.write("aps/super_glue", "copa", split, rows, FEATURES["copa"])

    def xcopa(self):
        """cambridgeltl/xcopa: parallel items per language; validation and test, labelled."""
        s = self.sampler("xcopa")
        for split in ("validation", "test"):
            state = s.rng.bit_generator.state
            for code in [c for c in self.world.languages if c in XTREME_R_LANGUAGES["xcopa"].split()]:
                s.rng.bit_generator.state = state  # the same items in every language
                rows = [{**r, "changed": False} for r in self.copa_rows(s, self.size["eval"], code)]
                self.out.write("cambridgeltl/xcopa", code, split, rows, FEATURES["xcopa"])

    def wikiann(self):
        from xstilts.loaders import PANX_SOURCES

        s = self.sampler("wikiann")
        for split in ("train", "validation", "test"):
            meanings = list(self.tagged_sentences(s, self.size["eval"]))
            for code in self.added_langs("panx", PANX_SOURCES):
                rows = []
                for event, question in meanings:
                    row = self.panx_row(code, self.render_tokens(code, event, question))
                    tags = [NER_TAGS[t] for t in row["ner_tags"]]
                    spans = [
                        f"{tag[2:]}: {word}" for word, tag in zip(row["tokens"], tags) if tag.startswith("B-")
                    ]
                    rows.append({**row, "spans": spans})
                self.out.write("unimelb-nlp/wikiann", code, split, rows, FEATURES["wikiann"])

    def ud27(self):
        """UD 2.7 treebanks (refs/convert/parquet of the script dataset); ~10% of sentences start
        with a multi-word token line (upos "_", head None) spanning their first two words, as in
        Romance treebanks; `text` holds the surface words, as in UD."""
        s = self.sampler("ud27")
        for code in self.added_langs("udpos", UD27_TREEBANKS):
            for treebank in UD27_TREEBANKS[code]:
                # the hub's splits, lt_hse's repeated ones included (xstilts.layouts)
                splits = layouts.get(UD27).config(treebank)["splits"]
                for split in splits:
                    rows = []
                    for i, (event, question) in enumerate(self.tagged_sentences(s, self.size["eval"])):
                        tokens = self.render_tokens(code, event, question)
                        words = [t.text for t in tokens]
                        upos = [UD27_UPOS.index(t.upos) for t in tokens]
                        text = " ".join(words)  # the surface words: a fused form replaces its words
                        head = [str(k) for k in range(len(words))]  # a chain: 1 is the root
                        if len(words) > 2 and s.rng.random() < 0.1:
                            text = " ".join([words[0] + words[1], *words[2:]])
                            words.insert(0, words[0] + words[1])
                            upos.insert(0, UD27_UPOS.index("_"))
                            head.insert(0, "None")  # conllu: a multi-word line has no head
                        n = len(words)
                        rows.append(
                            {
                                "idx": f"{treebank}-{split}-{i}",
                                "text": text,
                                "tokens": words,
                                "lemmas": [w.lower() for w in words],
                                "upos": upos,
                                "xpos": ["_"] * n,
                                "feats": ["None"] * n,
                                "head": head,
                                "deprel": ["dep"] * n,
                                "deps": ["None"] * n,
                                "misc": ["None"] * n,
                            }
                        )
                    self.out.write_converted(UD27, split, rows, FEATURES["ud27"], config=treebank)

    def tatoeba_mteb(self):
        for code in self.added_langs("tatoeba", TATOEBA_R_CODES):
            rows = self.translation_pairs("tatoeba", code, self.size["eval"])
            rows = [{"sentence1": r["source_sentence"], "sentence2": r["target_sentence"]} for r in rows]
            self.out.write(
                "mteb/tatoeba-bitext-mining",
                f"{TATOEBA_R_CODES[code]}-eng",
                "test",
                rows,
                FEATURES["mteb_tatoeba"],
            )

    def xquad_google(self):
        """google/xquad xquad.<lang>: the same questions as XQuAD (it is parallel)."""
        from xstilts.loaders import XQUAD_SOURCES

        s = self.sampler("xquad")  # XQuAD's own stream: the same items and ids
        items, titles = self.qa_items(s, self.size["eval"])
        ids = [hex_id(s, 24) for _ in items]
        for code in self.added_langs("xquad", XQUAD_SOURCES):
            rows = self.qa_rows(code, items, ids, titles, with_title=False)
            self.out.write("google/xquad", f"xquad.{code}", "validation", rows, FEATURES["xquad"])
