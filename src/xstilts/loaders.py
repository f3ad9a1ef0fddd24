"""Loaders: hub rows -> the canonical rows of a task's format (see ``xstilts.formats``).

One function per task (the registry, ``xstilts.tasks``, names it in its ``Task``), called as
``(hub, split, language, **options)``; they read through ``xstilts.hub`` so the hub and a local
mirror share one path. Also the facts only loaders use: label sets the hub's class ids map to,
hub repositories, and the per-language sources of XTREME-R's added languages.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from xstilts.languages import LANGUAGE_NAMES, TATOEBA_CODES, TATOEBA_R_CODES

# Label sets: a task's `labels` (xstilts.tasks), and the names the hub's class ids become.
XNLI_LABELS = ("entailment", "neutral", "contradiction")
UPOS_TAGS = (
    "ADJ",
    "ADP",
    "ADV",
    "AUX",
    "CCONJ",
    "DET",
    "INTJ",
    "NOUN",
    "NUM",
    "PART",
    "PRON",
    "PROPN",
    "PUNCT",
    "SCONJ",
    "SYM",
    "VERB",
    "X",
)
NER_TAGS = ("O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC")
# UD 2.7 treebanks of XTREME-R's new UD-POS languages (google/xtreme has UD 2.5 for the others).
# XTREME's preprocessing concatenates every treebank of a language, as these lists do.
UD27_TREEBANKS = {
    "lt": ("lt_alksnis", "lt_hse"),
    "pl": ("pl_lfg", "pl_pdb", "pl_pud"),
    "uk": ("uk_iu",),
    "wo": ("wo_wtb",),
    "ro": ("ro_nonstandard", "ro_rrt", "ro_simonero"),
}


@dataclass(frozen=True)
class Source:
    """Where some languages of a task come from when its main source lacks them."""

    name: str  # human-readable, for `xstilts tasks`
    load: Callable  # (hub, split, language) -> canonical rows
    repos: tuple[str, ...]


def _pairs(ds, a: str, b: str, label: str, names=None):
    """Sentence pairs; string labels are mapped to indices of `names`; unlabeled rows dropped."""

    def convert(row):
        y = row[label]
        if names is not None and isinstance(y, str):
            y = names.index(y) if y in names else -1
        return {"text_a": row[a], "text_b": row[b], "label": int(y)}

    ds = ds.map(convert, remove_columns=ds.column_names)
    return ds.filter(lambda r: r["label"] >= 0)


def glue(config, train="train", dev="validation"):
    def load(hub, split, language):
        ds = hub.dataset("nyu-mll/glue", config, split={"train": train, "dev": dev}[split])
        a, b = ("premise", "hypothesis") if config == "mnli" else ("question1", "question2")
        return _pairs(ds, a, b, "label")

    return load


def anli_plus(hub, split, language):
    """ANLI r1-r3 + MNLI + SNLI with one NLI head; dev is ANLI dev r1-r3 (the hard part)."""
    import datasets

    if split not in ("train", "dev"):
        raise ValueError(f"anli_plus has no {split} split (intermediate tasks: train, dev)")
    if split == "dev":
        parts = [hub.dataset("facebook/anli", "plain_text", split=f"dev_r{r}") for r in (1, 2, 3)]
        return datasets.concatenate_datasets([_pairs(p, "premise", "hypothesis", "label") for p in parts])
    parts = [hub.dataset("facebook/anli", "plain_text", split=f"train_r{r}") for r in (1, 2, 3)]
    parts = [_pairs(p, "premise", "hypothesis", "label") for p in parts]
    parts.append(glue("mnli", dev="validation_matched")(hub, "train", language))
    parts.append(
        _pairs(hub.dataset("stanfordnlp/snli", None, split="train"), "premise", "hypothesis", "label")
    )
    return datasets.concatenate_datasets(parts)


def mnli(hub, split, language):
    """English MNLI (GLUE); other languages: XNLI translate-train, with XNLI's (human-translated)
    dev set as dev. facebook/xnli labels are MNLI's: 0 entailment, 1 neutral, 2 contradiction."""
    if language == "en":
        return glue("mnli", dev="validation_matched")(hub, split, language)
    ds = hub.dataset("facebook/xnli", language, split={"train": "train", "dev": "validation"}[split])
    return _pairs(ds, "premise", "hypothesis", "label")


def xnli(hub, split, language):
    ds = hub.dataset("google/xtreme", "XNLI", split={"dev": "validation", "test": "test"}[split])
    ds = ds.filter(lambda r: r["language"] == language)
    return _pairs(ds, "sentence1", "sentence2", "gold_label", XNLI_LABELS)


def pawsx(hub, split, language):
    hub_split = {"train": "train", "dev": "validation", "test": "test"}[split]
    if split == "train" and language != "en":  # translated training data: the dataset's own repo
        ds = hub.dataset("google-research-datasets/paws-x", language, split="train")
    else:
        ds = hub.dataset("google/xtreme", f"PAWS-X.{language}", split=hub_split)
    return _pairs(ds, "sentence1", "sentence2", "label", ("0", "1"))


def squad_like(repo, config):
    def load(hub, split, language):
        ds = hub.dataset(repo, config, split={"train": "train", "dev": "validation"}[split])
        return ds.select_columns(["id", "context", "question", "answers"])

    return load


def xquad(hub, split, language):
    # XQuAD has a single split; it is the test set of the zero-shot protocol.
    ds = hub.dataset("google/xtreme", f"XQuAD.{language}", split="validation")
    return ds.select_columns(["id", "context", "question", "answers"])


def mlqa(hub, split, language):
    hub_split = {"dev": "validation", "test": "test"}[split]
    ds = hub.dataset("google/xtreme", f"MLQA.{language}.{language}", split=hub_split)
    return ds.select_columns(["id", "context", "question", "answers"])


def tydiqa_prefix(language: str) -> str:
    return LANGUAGE_NAMES[language].lower() + "-"


def tydiqa(hub, split, language, tydiqa_train="english"):
    """GoldP rows of one language (ids carry the language name). XTREME trains on English
    only; `tydiqa_train: all` is the reference code's choice (multilingual training rows) for
    the English training task. Another language (a recipe's source) reads its own rows."""
    hub_split = {"train": "train", "dev": "validation", "test": "validation"}[split]
    ds = hub.dataset("google/xtreme", "tydiqa", split=hub_split)
    if not (split == "train" and tydiqa_train == "all" and language == "en"):
        prefix = tydiqa_prefix(language)
        ds = ds.filter(lambda r: r["id"].startswith(prefix))
    return ds.select_columns(["id", "context", "question", "answers"])


def _tags(ds, tokens: str, tags: str, names):
    def convert(row):
        return {"tokens": row[tokens], "tags": [names[t] if isinstance(t, int) else t for t in row[tags]]}

    return ds.map(convert, remove_columns=ds.column_names)


UD25 = "lindat/ud-treebanks-v2.5"  # the release XTREME's download_data.sh converts (layouts.yaml)
UD25_FILE = "ud-treebanks-v2.5.tgz"


def _ud25_split(name: str) -> str | None:
    """utils_preprocess.py: a file is train, dev or test by the first of those in its name."""
    return next((s for s in ("train", "dev", "test") if s in name), None)


def udpos(hub, split, language, udpos_words="surface", udpos_source="ud-2.5"):
    """XTREME's 33 languages. `ud-2.5` (default, XTREME's data): the UD 2.5 release tarball,
    streamed once; every treebank file `<language>_*.conllu` of the split, in name order
    (download_data.sh's selection, utils_preprocess.py's order and split by name), converted
    as XTREME converts it (xstilts.ud, `udpos_words`). `google/xtreme`: the hub's udpos.<Language>
    rows, which hold the syntactic words of multi-word tokens (its loading script drops the
    multi-word lines), so `udpos_words` cannot change them."""
    if udpos_source == "ud-2.5":
        return ud25(hub, split, language, udpos_words)
    hub_split = {"train": "train", "dev": "validation", "test": "test"}[split]
    ds = hub.dataset("google/xtreme", f"udpos.{LANGUAGE_NAMES[language]}", split=hub_split)
    return _tags(ds, "tokens", "pos_tags", UPOS_TAGS)


def ud25(hub, split, language, udpos_words):
    import tarfile

    import datasets

    from xstilts import ud

    texts = {}
    with tarfile.open(hub.url_file(UD25, UD25_FILE), "r|gz") as tar:
        for member in tar:
            name = member.name.rsplit("/", 1)[-1]
            if (
                member.isfile()
                and name.endswith(".conllu")
                and name.split("_")[0] == language
                and _ud25_split(name) == split
            ):
                texts[name] = tar.extractfile(member).read().decode("utf-8")
    if not texts:
        raise ValueError(f"udpos {language}: UD 2.5 has no {language}_*-{split}.conllu file")
    keep = ud.kept if udpos_words == "surface" else len  # utils_preprocess drops all-`_` sentences
    rows = {"tokens": [], "tags": []}
    for name in sorted(texts):
        for lines in ud.read_conllu(texts[name].splitlines()):
            words, tags = ud.conllu_sentence(lines, language, udpos_words)
            if udpos_words == "surface":
                words = ud.xtreme_words(words)
            if words and keep(words):
                rows["tokens"].append(words)
                rows["tags"].append(tags)
    return datasets.Dataset.from_dict(rows)


def panx(hub, split, language):
    hub_split = {"train": "train", "dev": "validation", "test": "test"}[split]
    ds = hub.dataset("google/xtreme", f"PAN-X.{language}", split=hub_split)
    return _tags(ds, "tokens", "ner_tags", NER_TAGS)


def ccg(hub, split, language):
    import datasets

    from xstilts.ccgbank import read_ccgbank

    return datasets.Dataset.from_list(read_ccgbank(hub.ccgbank_root(), split))


def _choices(ds, convert):
    ds = ds.map(convert, remove_columns=ds.column_names)
    return ds.filter(lambda r: r["label"] >= 0)


def _parquet_branch(hub, repo: str, split: str):
    """A script dataset's train or dev split from its parquet conversion (refs/convert/parquet)."""
    return hub.dataset(
        repo, "default", revision="refs/convert/parquet", split={"train": "train", "dev": "validation"}[split]
    )


def hellaswag(hub, split, language):
    ds = _parquet_branch(hub, "Rowan/hellaswag", split)
    # jiant's framing: context = ctx_a, each choice = ctx_b + ending.
    return _choices(
        ds,
        lambda r: {
            "context": r["ctx_a"],
            "choices": [f"{r['ctx_b']} {e}".strip() for e in r["endings"]],
            "label": int(r["label"]) if r["label"] not in ("", None) else -1,
        },
    )


def cosmosqa(hub, split, language):
    ds = _parquet_branch(hub, "allenai/cosmos_qa", split)
    return _choices(
        ds,
        lambda r: {
            "context": f"{r['context']} {r['question']}",
            "choices": [r[f"answer{i}"] for i in range(4)],
            "label": int(r["label"]),
        },
    )


def commonsenseqa(hub, split, language):
    ds = hub.dataset("tau/commonsense_qa", None, split={"train": "train", "dev": "validation"}[split])
    return _choices(
        ds,
        lambda r: {
            "context": r["question"],
            "choices": list(r["choices"]["text"]),
            "label": r["choices"]["label"].index(r["answerKey"]) if r["answerKey"] else -1,
        },
    )


def tatoeba(hub, split, language):
    """google/xtreme tatoeba.<iso639-3>, one split `validation`: source_sentence from LASER's
    tatoeba.<l>-eng.<l>, target_sentence from its .eng (xtreme.py). xtreme.py kept each line as
    read, newline included; it is stripped, as XTREME's reader of the LASER files does."""
    ds = hub.dataset("google/xtreme", f"tatoeba.{TATOEBA_CODES[language]}", split="validation")
    return ds.map(
        lambda r: {"source": r["source_sentence"].strip(), "target": r["target_sentence"].strip()},
        remove_columns=ds.column_names,
    )


def bucc(hub, split, language):
    """Gold pairs only (the hub's bucc18 has no distractors): dev chooses the threshold."""
    ds = hub.dataset(
        "google/xtreme", f"bucc18.{language}", split={"dev": "validation", "test": "test"}[split]
    )
    return ds.map(
        lambda r: {"source": r["source_sentence"], "target": r["target_sentence"]},
        remove_columns=ds.column_names,
    )


# ---- XTREME-R: XCOPA and its training chain (SIQA, then COPA) -----------------------------


def _copa_rows(ds):
    """COPA-shaped rows (premise, choice1, choice2, question "cause"/"effect", label 0/1; -1 on
    unlabeled test rows, dropped) framed as XTREME-R's run_xcopa.py does: context = premise +
    " What was the cause?" (or effect), the choices as the second segment."""
    return _choices(
        ds,
        lambda r: {
            "context": f"{r['premise']} What was the {r['question']}?",
            "choices": [r["choice1"], r["choice2"]],
            "label": int(r["label"]),
        },
    )


def siqa(hub, split, language):
    """Social IQa as parquet in lighteval/siqa (allenai/social_i_qa is script-only). Schema:
    context, question, answerA, answerB, answerC (strings), label the string "1"/"2"/"3"
    (1-based); splits train (33,410) and validation (1,954). run_xcopa.py's framing: context =
    context + " " + question, the three answers as choices."""
    ds = hub.dataset("lighteval/siqa", "default", split={"train": "train", "dev": "validation"}[split])
    return _choices(
        ds,
        lambda r: {
            "context": f"{r['context']} {r['question']}",
            "choices": [r["answerA"], r["answerB"], r["answerC"]],
            "label": int(r["label"]) - 1 if str(r["label"]).strip() in ("1", "2", "3") else -1,
        },
    )


def copa(hub, split, language):
    """English COPA, aps/super_glue config copa: premise, choice1, choice2, question, idx,
    label (ClassLabel choice1/choice2); train 400, validation 100, test 500 (label -1)."""
    ds = hub.dataset("aps/super_glue", "copa", split={"train": "train", "dev": "validation"}[split])
    return _copa_rows(ds)


def xcopa(hub, split, language):
    """cambridgeltl/xcopa, one config per language (et ht id it qu sw ta th tr vi zh): COPA's
    columns plus `changed`; validation 100 and test 500 rows, labelled. `question` stays the
    English "cause"/"effect", so the framing is English in every language, as in the reference."""
    ds = hub.dataset("cambridgeltl/xcopa", language, split={"dev": "validation", "test": "test"}[split])
    return _copa_rows(ds)


# ---- XTREME-R's extra languages: other sources than google/xtreme -------------------------


def by_language(default: Callable, sources: dict) -> Callable:
    """A loader that reads `sources[language]` where declared, else the task's main source."""

    def load(hub, split, language, **options):
        source = sources.get(language)
        return (source.load if source else default)(hub, split, language, **options)

    return load


def _class_names(ds, column: str) -> list[str]:
    """The names of a sequence-of-ClassLabel column (the hub's own order)."""
    feature = getattr(ds.features[column], "feature", None)
    names = getattr(feature, "names", None)
    if not names:
        raise ValueError(f"column {column!r} is not a sequence of class labels: {ds.features[column]}")
    return list(names)


def wikiann(hub, split, language):
    """unimelb-nlp/wikiann (Rahimi et al.'s splits, the data PAN-X comes from), config = the
    language code: tokens, ner_tags (ClassLabel O B-PER I-PER B-ORG I-ORG B-LOC I-LOC), langs,
    spans; splits train, validation, test."""
    hub_split = {"train": "train", "dev": "validation", "test": "test"}[split]
    ds = hub.dataset("unimelb-nlp/wikiann", language, split=hub_split)
    names = _class_names(ds, "ner_tags")
    if set(names) != set(NER_TAGS):
        raise ValueError(f"unimelb-nlp/wikiann {language}: tags {names}, expected {list(NER_TAGS)}")
    return _tags(ds, "tokens", "ner_tags", names)


UD27 = "universal-dependencies/universal_dependencies"
UD27_REVISION = "refs/convert/parquet"
# The hub splits xstilts reads per treebank (default: train, validation, test). PUD treebanks are
# test sets only; the hub's lt_hse validation and test repeat its train file (the script's
# _UD_DATASETS points all three at lt_hse-ud-train.conllu), so only its train is read.
UD27_SPLITS = {"pl_pud": ("test",), "lt_hse": ("train",)}


def ud27(hub, split, language, udpos_words="surface", udpos_source=None):
    """UD 2.7 treebanks (UD27_TREEBANKS) from the parquet conversion of the script dataset:
    `<treebank>/<split>/*.parquet` on refs/convert/parquet, which has no README (so no configs:
    the files are named). Columns idx, text, tokens, lemmas, upos (ClassLabel in the script's
    own order, read from the features), xpos, feats, head, deprel, deps, misc; splits train,
    validation, test. Words follow XTREME (`udpos_words: surface`, xstilts.ud): a multi-word
    token is one word, its surface form, tagged as conllu_to_conll.py tags it; `subtokens` keeps
    the syntactic words instead and drops the multi-word lines. `udpos_source` chooses XTREME's
    languages' source only: these have one."""
    import datasets

    from xstilts import ud

    hub_split = {"train": "train", "dev": "validation", "test": "test"}[split]
    keep = ud.kept if udpos_words == "surface" else len  # utils_preprocess drops all-`_` sentences
    read = {  # every treebank first: `xstilts fetch` records the reads before the rows are used
        treebank: hub.dataset(
            UD27,
            None,
            split=hub_split,
            revision=UD27_REVISION,
            data_files={hub_split: f"{treebank}/{hub_split}/*.parquet"},
        )
        for treebank in UD27_TREEBANKS[language]
        if hub_split in UD27_SPLITS.get(treebank, ("train", "validation", "test"))
    }
    parts = []
    for treebank, ds in read.items():
        names = _class_names(ds, "upos")
        unknown = set(names) - set(UPOS_TAGS) - {ud.MULTIWORD}
        if unknown:
            raise ValueError(f"{UD27} {treebank}: unknown UPOS tags {sorted(unknown)}")

        def convert(row, names=names, treebank=treebank):
            try:
                words, tags = ud.sentence(row, names, treebank.split("_")[0], udpos_words)
            except ud.Unaligned as error:
                raise ValueError(
                    f"{UD27} {treebank} {hub_split} sentence {row['idx']}: {error}. Fix: set "
                    f"hub.udpos_words: subtokens to read its syntactic words instead"
                ) from None
            if udpos_words == "surface":
                words = ud.xtreme_words(words)
            return {"tokens": words, "tags": tags}

        rows = ds.map(convert, remove_columns=ds.column_names)
        parts.append(rows.filter(lambda r: len(r["tokens"]) > 0 and keep(r["tokens"])))
    if not parts:
        raise ValueError(f"udpos {language}: no UD 2.7 treebank has a {split} split")
    return datasets.concatenate_datasets(parts)


def tatoeba_mteb(hub, split, language):
    """mteb/tatoeba-bitext-mining, config <iso639-3>-eng (LASER's Tatoeba test sets, 1,000
    pairs), split test: sentence1 in the language, sentence2 its English translation."""
    ds = hub.dataset("mteb/tatoeba-bitext-mining", f"{TATOEBA_R_CODES[language]}-eng", split="test")
    return ds.map(
        lambda r: {"source": r["sentence1"], "target": r["sentence2"]}, remove_columns=ds.column_names
    )


def xquad_google(hub, split, language):
    """google/xquad config xquad.<lang> (xquad.ro is not in google/xtreme): id, context,
    question, answers; one split, validation (1,190 questions)."""
    ds = hub.dataset("google/xquad", f"xquad.{language}", split="validation")
    return ds.select_columns(["id", "context", "question", "answers"])


def _sources(languages, name, load, repo) -> dict:
    return {lang: Source(name, load, (repo,)) for lang in languages}


PANX_SOURCES = _sources(
    "qu pl uk az lt pa gu ro".split(), "unimelb-nlp/wikiann <lang>", wikiann, "unimelb-nlp/wikiann"
)
UDPOS_SOURCES = _sources(UD27_TREEBANKS, f"{UD27} (UD 2.7) <treebanks>", ud27, UD27)
TATOEBA_SOURCES = _sources(
    TATOEBA_R_CODES,
    "mteb/tatoeba-bitext-mining <iso639-3>-eng",
    tatoeba_mteb,
    "mteb/tatoeba-bitext-mining",
)
XQUAD_SOURCES = _sources(["ro"], "google/xquad xquad.<lang>", xquad_google, "google/xquad")


# ---- XTREME-R dual-encoder retrieval: LAReQA and Mewsli-X -----------------------------------

MEWSLIX_REPO = "izhx/mewsli-x"
# XQuAD-R with its sentence breaks: a GitHub repository, read at the commit its record pins
LAREQA_REPO = "google-research-datasets/lareqa"
MEWSLIX_CANDIDATES = "candidates"  # the pool "language" of Mewsli-X's one candidate set


def _dual_encoder_rows(columns: dict):
    """Canonical dual-encoder rows (xstilts.formats.dual_encoder) as a Dataset."""
    import datasets

    if "kind" not in columns:
        return datasets.Dataset.from_dict(columns)
    s = datasets.Value("string")
    features = datasets.Features({"kind": s, "id": s, "text": s, "keys": datasets.List(s), "language": s})
    return datasets.Dataset.from_dict(columns, features=features)


def lareqa(hub, split, language):
    """Train: SQuAD v1.1 train as question -> answer sentence + paragraph pairs (dev: SQuAD v1.1
    validation as English retrieval, sentences by sb_sed); test: XQuAD-R, the official file
    google-research/xtreme's download script fetches (google-research-datasets/lareqa
    xquad-r/<language>.json at the commit xstilts.layouts records) with its `sentence_breaks`
    and answers at their original offsets; the pool of all languages is assembled at evaluation."""
    import json

    from xstilts.formats import dual_encoder

    if split == "train":
        ds = hub.dataset("rajpurkar/squad", "plain_text", split="train")
        return _dual_encoder_rows(dual_encoder.squad_pairs(ds.to_dict()))
    if split == "dev":
        ds = hub.dataset("rajpurkar/squad", "plain_text", split="validation")
        return _dual_encoder_rows(dual_encoder.squad_retrieval_rows(ds.to_dict()))
    from xstilts import layouts

    commit = layouts.get(LAREQA_REPO).revision
    path = hub.github_file(LAREQA_REPO, commit, f"xquad-r/{language}.json")
    squad = json.loads(path.read_text(encoding="utf-8"))
    return _dual_encoder_rows(dual_encoder.xquad_r_rows(squad, language))


class _MewsliXFiles:
    """Mewsli-X's JSON(L) files, from a directory (google-research/xtreme's download script:
    candidate_set_entities.jsonl, wikipedia_pairs-{train,dev}.jsonl, wikinews_mentions/
    <split>-<lang>.jsonl; or get-mewsli-x.sh's raw output with wikinews_mentions-<split>.jsonl)
    or from the raw.tar.gz of the hub copy izhx/mewsli-x (the raw files), read in one pass."""

    def __init__(self, hub, directory: str | None):
        self.directory = Path(directory) if directory else None
        self.tarball = None if directory else self._tarball(hub)

    @staticmethod
    def _tarball(hub) -> Path:
        from xstilts.hub import HubError

        try:
            return hub.dataset_file(MEWSLIX_REPO, "raw.tar.gz")
        except HubError as error:
            raise HubError(
                f"{error} Or set hub.mewslix_dir to the directory google-research/xtreme's download "
                "script writes."
            ) from None

    def read(self, *names: str) -> dict:
        """{name: a .json file's object or a .jsonl file's objects (a list)} of the `names` that
        exist; a tarball is decompressed once for all of them (it is 316 MB)."""
        import json
        import tarfile

        texts = {}
        if self.directory is not None:
            texts = {
                n: (self.directory / n).read_text(encoding="utf-8")
                for n in names
                if (self.directory / n).is_file()
            }
        else:
            with tarfile.open(self.tarball, mode="r|*") as tar:  # a stream: one pass, no seeking back
                for member in tar:
                    name = next((n for n in names if ("/" + member.name).endswith("/" + n)), None)
                    if member.isfile() and name is not None and name not in texts:
                        texts[name] = tar.extractfile(member).read().decode("utf-8")
                        if len(texts) == len(names):
                            break
        return {
            name: json.loads(text)
            if name.endswith(".json")
            else [json.loads(x) for x in text.splitlines() if x.strip()]
            for name, text in texts.items()
        }

    def missing(self, names) -> FileNotFoundError:
        return FileNotFoundError(
            f"Mewsli-X file {' or '.join(names)} is not in {self.directory or self.tarball}. Fix: point "
            "hub.mewslix_dir at the directory google-research/xtreme's download script writes (or the "
            "raw files)"
        )


def mewslix(hub, split, language, mewslix_dir=None):
    """Train: wikipedia_pairs-train (XTREME-R's fine-tuning data). Dev (the fine-tuning's early
    stopping): wikipedia_pairs-dev, the --predict_file train_mewslix.sh gives run_retrieval_el.py
    for evaluation during training, as retrieval among its pairs' entities (xstilts stops on the
    headline metric; the reference logs the in-batch loss and keeps the last model); the WikiNews
    dev mentions against the ~1M-entity candidate set would embed that set at every dev
    evaluation, and no xstilts score reads them. Test: the WikiNews mentions of `language`
    (utils_preprocess.py shards wikinews_mentions-test.jsonl into wikinews_mentions/test-<lang>.jsonl),
    whose pool is the language `candidates`. The gold entity is each mention's entity_id:
    XTREME-R's preprocessing blanks it in test, and its wikinews_labels/test-<lang>.json holds
    the same blanks, so a withheld test cannot be scored (read the raw files instead)."""
    from xstilts.formats import dual_encoder

    files = _MewsliXFiles(hub, mewslix_dir)
    if split in ("train", "dev"):
        name = f"wikipedia_pairs-{split}.jsonl"
        found = files.read(name)
        if name not in found:
            raise files.missing([name])
        convert = dual_encoder.mewslix_pairs if split == "train" else dual_encoder.mewslix_pair_rows
        return _dual_encoder_rows(convert(found[name]))
    candidates = "candidate_set_entities.jsonl"
    if language == MEWSLIX_CANDIDATES:
        found = files.read(candidates)
        if candidates not in found:
            raise files.missing([candidates])
        return _dual_encoder_rows(dual_encoder.mewslix_candidate_rows(found[candidates]))
    mentions = (f"wikinews_mentions/{split}-{language}.jsonl", f"wikinews_mentions-{split}.jsonl")
    found = files.read(*mentions)
    documents = next((found[name] for name in mentions if name in found), None)
    if documents is None:
        raise files.missing(mentions)
    return _dual_encoder_rows(dual_encoder.mewslix_mention_rows(documents, language))
