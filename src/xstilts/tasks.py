"""The task registry: every intermediate and target task, declared once.

A task declares where its data lives on the hub, how a hub row becomes the canonical row of
its *format* (see ``xstilts.formats``), its label set, languages, headline metric and recipe
defaults. Loaders read through ``xstilts.hub`` so the hub and a local mirror share one path.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

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

# ISO 639-1 -> the name google/xtreme uses in udpos configs and tydiqa ids.
LANGUAGE_NAMES = {
    "af": "Afrikaans",
    "ar": "Arabic",
    "bg": "Bulgarian",
    "bn": "Bengali",
    "de": "German",
    "el": "Greek",
    "en": "English",
    "es": "Spanish",
    "et": "Estonian",
    "eu": "Basque",
    "fa": "Persian",
    "fi": "Finnish",
    "fr": "French",
    "he": "Hebrew",
    "hi": "Hindi",
    "hu": "Hungarian",
    "id": "Indonesian",
    "it": "Italian",
    "ja": "Japanese",
    "jv": "Javanese",
    "ka": "Georgian",
    "kk": "Kazakh",
    "ko": "Korean",
    "ml": "Malayalam",
    "mr": "Marathi",
    "ms": "Malay",
    "my": "Burmese",
    "nl": "Dutch",
    "pt": "Portuguese",
    "ru": "Russian",
    "sw": "Swahili",
    "ta": "Tamil",
    "te": "Telugu",
    "th": "Thai",
    "tl": "Tagalog",
    "tr": "Turkish",
    "ur": "Urdu",
    "vi": "Vietnamese",
    "yo": "Yoruba",
    "zh": "Chinese",
    # XTREME-R's additions
    "az": "Azerbaijani",
    "gu": "Gujarati",
    "ht": "Haitian",
    "lt": "Lithuanian",
    "pa": "Punjabi",
    "pl": "Polish",
    "qu": "Quechua",
    "ro": "Romanian",
    "uk": "Ukrainian",
    "wo": "Wolof",
}
# ISO 639-1 -> the ISO 639-3 code of google/xtreme's tatoeba configs (LASER's names).
TATOEBA_CODES = {
    "af": "afr",
    "ar": "ara",
    "bg": "bul",
    "bn": "ben",
    "de": "deu",
    "el": "ell",
    "es": "spa",
    "et": "est",
    "eu": "eus",
    "fa": "pes",
    "fi": "fin",
    "fr": "fra",
    "he": "heb",
    "hi": "hin",
    "hu": "hun",
    "id": "ind",
    "it": "ita",
    "ja": "jpn",
    "jv": "jav",
    "ka": "kat",
    "kk": "kaz",
    "ko": "kor",
    "ml": "mal",
    "mr": "mar",
    "nl": "nld",
    "pt": "por",
    "ru": "rus",
    "sw": "swh",
    "ta": "tam",
    "te": "tel",
    "th": "tha",
    "tl": "tgl",
    "tr": "tur",
    "ur": "urd",
    "vi": "vie",
    "zh": "cmn",
}
# XTREME-R's Tatoeba additions, as mteb/tatoeba-bitext-mining names them (<code>-eng configs).
TATOEBA_R_CODES = {"az": "aze", "lt": "lit", "pl": "pol", "uk": "ukr", "ro": "ron"}
# UD 2.7 treebanks of XTREME-R's new UD-POS languages (google/xtreme has UD 2.5 for the others).
# XTREME's preprocessing concatenates every treebank of a language, as these lists do.
UD27_TREEBANKS = {
    "lt": ("lt_alksnis", "lt_hse"),
    "pl": ("pl_lfg", "pl_pdb", "pl_pud"),
    "uk": ("uk_iu",),
    "wo": ("wo_wtb",),
    "ro": ("ro_nonstandard", "ro_rrt", "ro_simonero"),
}

# Hub id -> hidden state (0 = embeddings) that Tatoeba/BUCC pool, mean over tokens. xlm-roberta-
# large: 14, jiant's retrieval_layer default (the paper's code) and XTREME's run_tatoeba.sh
# (--specific_layer 13 of hidden_states[-24:]). mBERT: 8, XTREME's 12-layer setting (7 of
# hidden_states[-12:]). xlm-roberta-base: 8 too; XTREME's scripts give it large's settings (13 of
# 24, 1024 dims), which cannot run on 12 layers. Other models set models.<name>.retrieval_layer.
RETRIEVAL_LAYERS = {
    "FacebookAI/xlm-roberta-large": 14,
    "xlm-roberta-large": 14,
    "FacebookAI/xlm-roberta-base": 8,
    "xlm-roberta-base": 8,
    "google-bert/bert-base-multilingual-cased": 8,
    "bert-base-multilingual-cased": 8,
}

# (layers, hidden, feed-forward) of the same hub ids: `validate` checks the retrieval layer
# against the depth, `xstilts plan` counts parameters, without the network.
MODEL_SHAPES = {
    "FacebookAI/xlm-roberta-large": (24, 1024, 4096),
    "xlm-roberta-large": (24, 1024, 4096),
    "FacebookAI/xlm-roberta-base": (12, 768, 3072),
    "xlm-roberta-base": (12, 768, 3072),
    # Goyal et al. 2021 (arXiv 2105.00572) Table 1: XLM-R XL, 36 layers, hidden 2560, FFN 10240
    "facebook/xlm-roberta-xl": (36, 2560, 10240),
    "google-bert/bert-base-multilingual-cased": (12, 768, 3072),
    "bert-base-multilingual-cased": (12, 768, 3072),
}

XTREME_LANGUAGES = {
    "xnli": "ar bg de el en es fr hi ru sw th tr ur vi zh",
    "pawsx": "de en es fr ja ko zh",
    "udpos": "af ar bg de el en es et eu fa fi fr he hi hu id it ja kk ko mr nl pt ru ta te th tl "
    "tr ur vi yo zh",
    "panx": "af ar bg bn de el en es et eu fa fi fr he hi hu id it ja jv ka kk ko ml mr ms my nl "
    "pt ru sw ta te th tl tr ur vi yo zh",
    "xquad": "ar de el en es hi ru th tr vi zh",
    "mlqa": "ar de en es hi vi zh",
    "tydiqa": "ar bn en fi id ko ru sw te",
    "bucc": "de fr ru zh",
    "tatoeba": " ".join(TATOEBA_CODES),
}

# google-research/xtreme evaluate.py XTREME_R_TASK2LANGS (mewslix and lareqa: their own tasks).
XTREME_R_LANGUAGES = {
    "xnli": XTREME_LANGUAGES["xnli"],
    "udpos": XTREME_LANGUAGES["udpos"] + " lt pl uk wo ro",
    "panx": XTREME_LANGUAGES["panx"] + " qu pl uk az lt pa gu ro",
    "xquad": XTREME_LANGUAGES["xquad"] + " ro",
    "mlqa": XTREME_LANGUAGES["mlqa"],
    "tydiqa": XTREME_LANGUAGES["tydiqa"],
    "tatoeba": XTREME_LANGUAGES["tatoeba"] + " az lt pl uk ro",
    "xcopa": "et ht id it qu sw ta th tr vi zh",
}
# XTREME-R's score (Ruder et al. 2021): categories of the ten tasks.
XTREME_R_CATEGORIES = {
    "classification": ("xnli", "xcopa"),
    "structured_prediction": ("udpos", "panx"),
    "question_answering": ("xquad", "mlqa", "tydiqa"),
    "retrieval": ("tatoeba", "mewslix", "lareqa"),
}
BENCHMARKS = ("xtreme", "xtreme-r")


# XNLI translate-train (facebook/xnli, `train` of each language config): MNLI's 392,702 training
# pairs machine-translated into the 14 non-English XNLI languages. PAWS-X (google-research-
# datasets/paws-x): its train splits are machine-translated except English.
XNLI_TRANSLATE_TRAIN = tuple(lang for lang in XTREME_LANGUAGES["xnli"].split() if lang != "en")
PAWSX_TRANSLATED_TRAIN = tuple(lang for lang in XTREME_LANGUAGES["pawsx"].split() if lang != "en")


@dataclass(frozen=True)
class Source:
    """Where some languages of a task come from when its main source lacks them."""

    name: str  # human-readable, for `xstilts tasks`
    load: Callable  # (hub, split, language) -> canonical rows
    repos: tuple[str, ...]


@dataclass(frozen=True)
class TrainingSource:
    """Where a task's training data (train and dev splits) in some languages comes from."""

    languages: tuple[str, ...]
    source: str  # human-readable, for `xstilts tasks`
    repos: tuple[str, ...]  # hub datasets read (their content decides the data)
    kind: str  # "original", "machine-translated" or "native"


@dataclass(frozen=True)
class Task:
    name: str
    role: str  # "intermediate" or "target"
    format: str  # one of FORMATS
    source: str  # human-readable hub source, for `xstilts tasks`
    metric: str  # key of the headline metric in the metric dict
    load: Callable  # (hub, split, language) -> datasets.Dataset of canonical rows
    languages: tuple[str, ...] = ("en",)
    labels: tuple[str, ...] = ()  # label names; empty = read from the data (ccg)
    train_task: str | None = None  # target tasks: the task whose English train split trains it
    defaults: dict = field(default_factory=dict)  # recipe defaults (docs/science.md section 4)
    category: str | None = None  # XTREME score category (targets)
    eval_splits: tuple[str, ...] = ("test",)  # splits an evaluation reads (bucc: dev too)
    options: tuple[str, ...] = ()  # `hub.*` config keys the loader takes (tydiqa_train)
    repos: tuple[str, ...] = ()  # hub datasets read (their content decides the data)
    ccgbank: bool = False  # reads the licensed CCGbank (hub.ccgbank)
    caveat: str | None = None  # written into every cell's JSON
    scorer: str | None = None  # how the format's predictions are scored (xstilts.evaluation)
    eval_options: tuple[str, ...] = ()  # `evaluation.*` config keys its scoring takes
    # Tasks trained, in order, before train_task (xcopa: SIQA, then COPA); each stage is a job.
    train_chain: tuple[str, ...] = ()
    # XTREME-R's languages where they differ from `languages` (XTREME's); () = not in XTREME-R
    # or the same list. A config may target any language of either.
    xtreme_r_languages: tuple[str, ...] = ()
    language_sources: dict = field(default_factory=dict)  # language -> Source (not `source`)
    pool_languages: tuple[str, ...] = ()  # dual encoder: test splits whose candidates every cell searches
    sources: tuple[TrainingSource, ...] = ()  # training sources beyond English (default: en, `source`)

    @property
    def all_languages(self) -> tuple[str, ...]:
        """XTREME's languages, then XTREME-R's additions."""
        return self.languages + tuple(x for x in self.xtreme_r_languages if x not in self.languages)

    def benchmark_languages(self, benchmark: str) -> tuple[str, ...]:
        """The languages `benchmark` scores this task on (() if it is not one of its tasks)."""
        if benchmark == "xtreme":
            return self.languages if self.name in XTREME_LANGUAGES else ()
        in_r = any(self.name in members for members in XTREME_R_CATEGORIES.values())
        return (self.xtreme_r_languages or self.languages) if in_r else ()

    def repos_for(self, language: str) -> tuple[str, ...]:
        """The hub datasets one language reads."""
        source = self.language_sources.get(language)
        return source.repos if source else self.repos

    @property
    def training_chain(self) -> tuple[str, ...]:
        """Every task that trains this target, in order (() for retrieval targets)."""
        return (*self.train_chain, self.train_task) if self.train_task else ()

    @property
    def reads_encoder(self) -> bool:
        """Retrieval targets train nothing: they embed with the recipe's encoder as is."""
        return self.role == "target" and self.train_task is None

    @property
    def trainable(self) -> bool:
        """Can be a recipe's task: an intermediate task, or a target trained on its own data."""
        return self.role == "intermediate" or self.train_task == self.name

    @property
    def training_sources(self) -> tuple[TrainingSource, ...]:
        english = TrainingSource(("en",), self.source, self.repos, "original")
        return self.sources if self.sources else (english,) if self.trainable else ()

    @property
    def train_languages(self) -> tuple[str, ...]:
        """The languages a recipe can train this task in from the registry's sources."""
        return tuple(lang for src in self.training_sources for lang in src.languages)

    def training_source(self, language: str) -> TrainingSource | None:
        return next((src for src in self.training_sources if language in src.languages), None)


# ---- loaders: hub rows -> canonical rows ---------------------------------------------------


def _pairs(ds, a: str, b: str, label: str, names=None):
    """Sentence pairs; string labels are mapped to indices of `names`; unlabeled rows dropped."""

    def convert(row):
        y = row[label]
        if names is not None and isinstance(y, str):
            y = names.index(y) if y in names else -1
        return {"text_a": row[a], "text_b": row[b], "label": int(y)}

    ds = ds.map(convert, remove_columns=ds.column_names)
    return ds.filter(lambda r: r["label"] >= 0)


def _glue(config, train="train", dev="validation"):
    def load(hub, split, language):
        ds = hub.dataset("nyu-mll/glue", config, split={"train": train, "dev": dev}[split])
        a, b = ("premise", "hypothesis") if config == "mnli" else ("question1", "question2")
        return _pairs(ds, a, b, "label")

    return load


def _load_anli_plus(hub, split, language):
    """ANLI r1-r3 + MNLI + SNLI with one NLI head; dev is ANLI dev r1-r3 (the hard part)."""
    import datasets

    if split not in ("train", "dev"):
        raise ValueError(f"anli_plus has no {split} split (intermediate tasks: train, dev)")
    if split == "dev":
        parts = [hub.dataset("facebook/anli", "plain_text", split=f"dev_r{r}") for r in (1, 2, 3)]
        return datasets.concatenate_datasets([_pairs(p, "premise", "hypothesis", "label") for p in parts])
    parts = [hub.dataset("facebook/anli", "plain_text", split=f"train_r{r}") for r in (1, 2, 3)]
    parts = [_pairs(p, "premise", "hypothesis", "label") for p in parts]
    parts.append(_glue("mnli", dev="validation_matched")(hub, "train", language))
    parts.append(
        _pairs(hub.dataset("stanfordnlp/snli", None, split="train"), "premise", "hypothesis", "label")
    )
    return datasets.concatenate_datasets(parts)


def _load_mnli(hub, split, language):
    """English MNLI (GLUE); other languages: XNLI translate-train, with XNLI's (human-translated)
    dev set as dev. facebook/xnli labels are MNLI's: 0 entailment, 1 neutral, 2 contradiction."""
    if language == "en":
        return _glue("mnli", dev="validation_matched")(hub, split, language)
    ds = hub.dataset("facebook/xnli", language, split={"train": "train", "dev": "validation"}[split])
    return _pairs(ds, "premise", "hypothesis", "label")


def _load_xnli(hub, split, language):
    ds = hub.dataset("google/xtreme", "XNLI", split={"dev": "validation", "test": "test"}[split])
    ds = ds.filter(lambda r: r["language"] == language)
    return _pairs(ds, "sentence1", "sentence2", "gold_label", XNLI_LABELS)


def _load_pawsx(hub, split, language):
    hub_split = {"train": "train", "dev": "validation", "test": "test"}[split]
    if split == "train" and language != "en":  # translated training data: the dataset's own repo
        ds = hub.dataset("google-research-datasets/paws-x", language, split="train")
    else:
        ds = hub.dataset("google/xtreme", f"PAWS-X.{language}", split=hub_split)
    return _pairs(ds, "sentence1", "sentence2", "label", ("0", "1"))


def _squad_like(repo, config):
    def load(hub, split, language):
        ds = hub.dataset(repo, config, split={"train": "train", "dev": "validation"}[split])
        return ds.select_columns(["id", "context", "question", "answers"])

    return load


def _load_xquad(hub, split, language):
    # XQuAD has a single split; it is the test set of the zero-shot protocol.
    ds = hub.dataset("google/xtreme", f"XQuAD.{language}", split="validation")
    return ds.select_columns(["id", "context", "question", "answers"])


def _load_mlqa(hub, split, language):
    hub_split = {"dev": "validation", "test": "test"}[split]
    ds = hub.dataset("google/xtreme", f"MLQA.{language}.{language}", split=hub_split)
    return ds.select_columns(["id", "context", "question", "answers"])


def tydiqa_prefix(language: str) -> str:
    return LANGUAGE_NAMES[language].lower() + "-"


def _load_tydiqa(hub, split, language, tydiqa_train="english"):
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


def _load_udpos(hub, split, language, udpos_words="surface", udpos_source="ud-2.5"):
    """XTREME's 33 languages. `ud-2.5` (default, XTREME's data): the UD 2.5 release tarball,
    streamed once; every treebank file `<language>_*.conllu` of the split, in name order
    (download_data.sh's selection, utils_preprocess.py's order and split by name), converted
    as XTREME converts it (xstilts.ud, `udpos_words`). `google/xtreme`: the hub's udpos.<Language>
    rows, which hold the syntactic words of multi-word tokens (its loading script drops the
    multi-word lines), so `udpos_words` cannot change them."""
    if udpos_source == "ud-2.5":
        return _load_ud25(hub, split, language, udpos_words)
    hub_split = {"train": "train", "dev": "validation", "test": "test"}[split]
    ds = hub.dataset("google/xtreme", f"udpos.{LANGUAGE_NAMES[language]}", split=hub_split)
    return _tags(ds, "tokens", "pos_tags", UPOS_TAGS)


def _load_ud25(hub, split, language, udpos_words):
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


def _load_panx(hub, split, language):
    hub_split = {"train": "train", "dev": "validation", "test": "test"}[split]
    ds = hub.dataset("google/xtreme", f"PAN-X.{language}", split=hub_split)
    return _tags(ds, "tokens", "ner_tags", NER_TAGS)


def _load_ccg(hub, split, language):
    import datasets

    from xstilts.ccgbank import read_ccgbank

    return datasets.Dataset.from_list(read_ccgbank(hub.ccgbank_root(), split))


def _choices(ds, convert):
    ds = ds.map(convert, remove_columns=ds.column_names)
    return ds.filter(lambda r: r["label"] >= 0)


def _load_hellaswag(hub, split, language):
    ds = hub.dataset(
        "Rowan/hellaswag",
        "default",
        revision="refs/convert/parquet",
        split={"train": "train", "dev": "validation"}[split],
    )
    # jiant's framing: context = ctx_a, each choice = ctx_b + ending.
    return _choices(
        ds,
        lambda r: {
            "context": r["ctx_a"],
            "choices": [f"{r['ctx_b']} {e}".strip() for e in r["endings"]],
            "label": int(r["label"]) if r["label"] not in ("", None) else -1,
        },
    )


def _load_cosmosqa(hub, split, language):
    ds = hub.dataset(
        "allenai/cosmos_qa",
        "default",
        revision="refs/convert/parquet",
        split={"train": "train", "dev": "validation"}[split],
    )
    return _choices(
        ds,
        lambda r: {
            "context": f"{r['context']} {r['question']}",
            "choices": [r[f"answer{i}"] for i in range(4)],
            "label": int(r["label"]),
        },
    )


def _load_commonsenseqa(hub, split, language):
    ds = hub.dataset("tau/commonsense_qa", None, split={"train": "train", "dev": "validation"}[split])
    return _choices(
        ds,
        lambda r: {
            "context": r["question"],
            "choices": list(r["choices"]["text"]),
            "label": r["choices"]["label"].index(r["answerKey"]) if r["answerKey"] else -1,
        },
    )


def _load_tatoeba(hub, split, language):
    """google/xtreme tatoeba.<iso639-3>, one split `validation`: source_sentence from LASER's
    tatoeba.<l>-eng.<l>, target_sentence from its .eng (xtreme.py). xtreme.py kept each line as
    read, newline included; it is stripped, as XTREME's reader of the LASER files does."""
    ds = hub.dataset("google/xtreme", f"tatoeba.{TATOEBA_CODES[language]}", split="validation")
    return ds.map(
        lambda r: {"source": r["source_sentence"].strip(), "target": r["target_sentence"].strip()},
        remove_columns=ds.column_names,
    )


def _load_bucc(hub, split, language):
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


def _load_siqa(hub, split, language):
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


def _load_copa(hub, split, language):
    """English COPA, aps/super_glue config copa: premise, choice1, choice2, question, idx,
    label (ClassLabel choice1/choice2); train 400, validation 100, test 500 (label -1)."""
    ds = hub.dataset("aps/super_glue", "copa", split={"train": "train", "dev": "validation"}[split])
    return _copa_rows(ds)


def _load_xcopa(hub, split, language):
    """cambridgeltl/xcopa, one config per language (et ht id it qu sw ta th tr vi zh): COPA's
    columns plus `changed`; validation 100 and test 500 rows, labelled. `question` stays the
    English "cause"/"effect", so the framing is English in every language, as in the reference."""
    ds = hub.dataset("cambridgeltl/xcopa", language, split={"dev": "validation", "test": "test"}[split])
    return _copa_rows(ds)


# ---- XTREME-R's extra languages: other sources than google/xtreme -------------------------


def _by_language(default: Callable, sources: dict) -> Callable:
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


def _load_wikiann(hub, split, language):
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


def _load_ud27(hub, split, language, udpos_words="surface", udpos_source=None):
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


def _load_tatoeba_mteb(hub, split, language):
    """mteb/tatoeba-bitext-mining, config <iso639-3>-eng (LASER's Tatoeba test sets, 1,000
    pairs), split test: sentence1 in the language, sentence2 its English translation."""
    ds = hub.dataset("mteb/tatoeba-bitext-mining", f"{TATOEBA_R_CODES[language]}-eng", split="test")
    return ds.map(
        lambda r: {"source": r["sentence1"], "target": r["sentence2"]}, remove_columns=ds.column_names
    )


def _load_xquad_google(hub, split, language):
    """google/xquad config xquad.<lang> (xquad.ro is not in google/xtreme): id, context,
    question, answers; one split, validation (1,190 questions)."""
    ds = hub.dataset("google/xquad", f"xquad.{language}", split="validation")
    return ds.select_columns(["id", "context", "question", "answers"])


def _sources(languages, name, load, repo) -> dict:
    return {lang: Source(name, load, (repo,)) for lang in languages}


PANX_SOURCES = _sources(
    "qu pl uk az lt pa gu ro".split(), "unimelb-nlp/wikiann <lang>", _load_wikiann, "unimelb-nlp/wikiann"
)
UDPOS_SOURCES = _sources(UD27_TREEBANKS, f"{UD27} (UD 2.7) <treebanks>", _load_ud27, UD27)
TATOEBA_SOURCES = _sources(
    TATOEBA_R_CODES,
    "mteb/tatoeba-bitext-mining <iso639-3>-eng",
    _load_tatoeba_mteb,
    "mteb/tatoeba-bitext-mining",
)
XQUAD_SOURCES = _sources(["ro"], "google/xquad xquad.<lang>", _load_xquad_google, "google/xquad")


# ---- XTREME-R dual-encoder retrieval: LAReQA and Mewsli-X -----------------------------------

XTREME_R_RETRIEVAL_LANGUAGES = {
    "lareqa": "ar de el en es hi ru th tr vi zh",  # XQuAD-R
    "mewslix": "ar de en es fa ja pl ro ta tr uk",  # utils_mewslix.MENTION_LANGUAGES
}
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


def _load_lareqa(hub, split, language):
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


def _load_mewslix(hub, split, language, mewslix_dir=None):
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


# ---- the registry ------------------------------------------------------------------------

_INTERMEDIATE = dict(lr=1e-5, epochs=3, batch_size=4, max_length=256)
_QA = dict(max_length=384, doc_stride=128)
XTREME = ("google/xtreme",)


def _langs(task):
    return tuple(XTREME_LANGUAGES[task].split())


def _langs_r(task):
    return tuple(XTREME_R_LANGUAGES[task].split())


# XTREME-R's train_xcopa.sh for xlm-roberta-large: lr 3e-5, batch 2 x 16 accumulation, 5 epochs,
# max length 128, for SIQA and COPA alike (mBERT/base: lr 2e-5, 8 x 4).
_XCOPA = dict(lr=3e-5, epochs=5, batch_size=32, max_length=128)


TASKS: dict[str, Task] = {
    t.name: t
    for t in [
        # intermediate (English)
        Task(
            "anli_plus",
            "intermediate",
            "pair_classification",
            "facebook/anli r1-r3 + nyu-mll/glue mnli + stanfordnlp/snli",
            "accuracy",
            _load_anli_plus,
            labels=XNLI_LABELS,
            defaults=_INTERMEDIATE,
            repos=("facebook/anli", "nyu-mll/glue", "stanfordnlp/snli"),
        ),
        Task(
            "mnli",
            "intermediate",
            "pair_classification",
            "nyu-mll/glue mnli",
            "accuracy",
            _load_mnli,
            labels=XNLI_LABELS,
            defaults=_INTERMEDIATE,
            repos=("nyu-mll/glue",),
            sources=(
                TrainingSource(("en",), "nyu-mll/glue mnli", ("nyu-mll/glue",), "original"),
                TrainingSource(
                    XNLI_TRANSLATE_TRAIN,
                    "facebook/xnli <lang> train (XNLI translate-train)",
                    ("facebook/xnli",),
                    "machine-translated",
                ),
            ),
        ),
        Task(
            "qqp",
            "intermediate",
            "pair_classification",
            "nyu-mll/glue qqp",
            "accuracy_f1_mean",
            _glue("qqp"),
            labels=("not_duplicate", "duplicate"),
            defaults=_INTERMEDIATE,
            repos=("nyu-mll/glue",),
        ),
        Task(
            "squad_v2",
            "intermediate",
            "extractive_qa",
            "rajpurkar/squad_v2",
            "em_f1_mean",
            _squad_like("rajpurkar/squad_v2", "squad_v2"),
            defaults={**_INTERMEDIATE, **_QA},
            repos=("rajpurkar/squad_v2",),
            scorer="squad_v2",
        ),
        Task(
            "squad_v1",
            "intermediate",
            "extractive_qa",
            "rajpurkar/squad",
            "em_f1_mean",
            _squad_like("rajpurkar/squad", "plain_text"),
            defaults={**_INTERMEDIATE, **_QA},
            repos=("rajpurkar/squad",),
            scorer="squad",
        ),
        Task(
            "hellaswag",
            "intermediate",
            "multiple_choice",
            "Rowan/hellaswag@refs/convert/parquet",
            "accuracy",
            _load_hellaswag,
            labels=tuple("0123"),
            defaults=_INTERMEDIATE,
            repos=("Rowan/hellaswag",),
        ),
        Task(
            "ccg",
            "intermediate",
            "tagging",
            "CCGbank AUTO files (user-supplied path)",
            "token_accuracy",
            _load_ccg,
            defaults=_INTERMEDIATE,
            ccgbank=True,
        ),
        Task(
            "cosmosqa",
            "intermediate",
            "multiple_choice",
            "allenai/cosmos_qa@refs/convert/parquet",
            "accuracy",
            _load_cosmosqa,
            labels=tuple("0123"),
            defaults=_INTERMEDIATE,
            repos=("allenai/cosmos_qa",),
        ),
        Task(
            "commonsenseqa",
            "intermediate",
            "multiple_choice",
            "tau/commonsense_qa",
            "accuracy",
            _load_commonsenseqa,
            labels=tuple("01234"),
            defaults=_INTERMEDIATE,
            repos=("tau/commonsense_qa",),
        ),
        # XTREME targets (zero-shot: trained on English, scored per language)
        Task(
            "xnli",
            "target",
            "pair_classification",
            "google/xtreme XNLI",
            "accuracy",
            _load_xnli,
            _langs("xnli"),
            XNLI_LABELS,
            train_task="mnli",
            defaults=dict(lr=1e-5, epochs=2, batch_size=32, max_length=256),
            category="classification",
            repos=XTREME,
        ),
        Task(
            "pawsx",
            "target",
            "pair_classification",
            "google/xtreme PAWS-X.<lang>",
            "accuracy",
            _load_pawsx,
            _langs("pawsx"),
            ("0", "1"),
            train_task="pawsx",
            defaults=dict(lr=1e-5, epochs=5, batch_size=32, max_length=256),
            category="classification",
            repos=XTREME,
            sources=(
                TrainingSource(("en",), "google/xtreme PAWS-X.en", XTREME, "original"),
                TrainingSource(
                    PAWSX_TRANSLATED_TRAIN,
                    "google-research-datasets/paws-x <lang> train (dev: google/xtreme)",
                    ("google-research-datasets/paws-x", *XTREME),
                    "machine-translated",
                ),
            ),
        ),
        Task(
            "udpos",
            "target",
            "tagging",
            "UD 2.5 release (lindat ud-treebanks-v2.5.tgz) <lang>_* treebanks",
            "f1",
            _by_language(_load_udpos, UDPOS_SOURCES),
            _langs("udpos"),
            UPOS_TAGS,
            train_task="udpos",
            defaults=dict(lr=1e-5, epochs=10, batch_size=32, max_length=256),
            category="structured_prediction",
            repos=(UD25, *XTREME),
            scorer="udpos_f1",
            xtreme_r_languages=_langs_r("udpos"),
            language_sources=UDPOS_SOURCES,
            options=("udpos_words", "udpos_source"),
            caveat="XTREME's languages read the UD 2.5 release as XTREME does (hub.udpos_source: "
            "ud-2.5); hub.udpos_source: google/xtreme reads the hub's udpos rows instead, which hold "
            "the syntactic words of multi-word tokens, whatever hub.udpos_words says",
        ),
        Task(
            "panx",
            "target",
            "tagging",
            "google/xtreme PAN-X.<lang>",
            "f1",
            _by_language(_load_panx, PANX_SOURCES),
            _langs("panx"),
            NER_TAGS,
            train_task="panx",
            defaults=dict(lr=1e-5, epochs=10, batch_size=32, max_length=256),
            category="structured_prediction",
            repos=XTREME,
            scorer="seqeval_f1",
            xtreme_r_languages=_langs_r("panx"),
            language_sources=PANX_SOURCES,
        ),
        Task(
            "xquad",
            "target",
            "extractive_qa",
            "google/xtreme XQuAD.<lang>",
            "em_f1_mean",
            _by_language(_load_xquad, XQUAD_SOURCES),
            _langs("xquad"),
            train_task="squad_v1",
            defaults=dict(lr=1e-5, epochs=2, batch_size=16, **_QA),
            category="question_answering",
            repos=XTREME,
            scorer="squad",
            xtreme_r_languages=_langs_r("xquad"),
            language_sources=XQUAD_SOURCES,
        ),
        Task(
            "mlqa",
            "target",
            "extractive_qa",
            "google/xtreme MLQA.<lang>.<lang>",
            "em_f1_mean",
            _load_mlqa,
            _langs("mlqa"),
            train_task="squad_v1",
            defaults=dict(lr=1e-5, epochs=2, batch_size=16, **_QA),
            category="question_answering",
            repos=XTREME,
            scorer="mlqa",
        ),
        Task(
            "tydiqa",
            "target",
            "extractive_qa",
            "google/xtreme tydiqa (GoldP)",
            "em_f1_mean",
            _load_tydiqa,
            _langs("tydiqa"),
            train_task="tydiqa",
            defaults=dict(lr=1e-5, epochs=2, batch_size=16, **_QA),
            category="question_answering",
            repos=XTREME,
            options=("tydiqa_train",),
            scorer="squad",
            sources=(
                TrainingSource(
                    _langs("tydiqa"),
                    "google/xtreme tydiqa GoldP rows of the language (ids start with its name)",
                    XTREME,
                    "native",
                ),
            ),
        ),
        Task(
            "bucc",
            "target",
            "retrieval",
            "google/xtreme bucc18.<lang> (gold pairs only)",
            "f1",
            _load_bucc,
            _langs("bucc"),
            defaults=dict(max_length=512),
            category="retrieval",
            repos=XTREME,
            eval_splits=("test", "dev"),
            caveat="hub bucc18 holds gold pairs only (no distractors): mining is easier than BUCC 2018",
            scorer="bucc_mining",
            eval_options=("bucc_k",),
        ),
        Task(
            "tatoeba",
            "target",
            "retrieval",
            "google/xtreme tatoeba.<iso639-3>",
            "accuracy",
            _by_language(_load_tatoeba, TATOEBA_SOURCES),
            _langs("tatoeba"),
            defaults=dict(max_length=512),
            category="retrieval",
            repos=XTREME,
            scorer="tatoeba_accuracy",
            xtreme_r_languages=_langs_r("tatoeba"),
            language_sources=TATOEBA_SOURCES,
        ),
        # XTREME-R's training-only English tasks (not recipes) and its new classification target
        Task(
            "siqa",
            "training",
            "multiple_choice",
            "lighteval/siqa",
            "accuracy",
            _load_siqa,
            labels=tuple("012"),
            defaults=_XCOPA,
            repos=("lighteval/siqa",),
        ),
        Task(
            "copa",
            "training",
            "multiple_choice",
            "aps/super_glue copa",
            "accuracy",
            _load_copa,
            labels=tuple("01"),
            defaults=_XCOPA,
            repos=("aps/super_glue",),
        ),
        Task(
            "xcopa",
            "target",
            "multiple_choice",
            "cambridgeltl/xcopa <lang>",
            "accuracy",
            _load_xcopa,
            _langs_r("xcopa"),
            tuple("01"),
            train_task="copa",
            train_chain=("siqa",),
            defaults=_XCOPA,
            category="classification",
            repos=("cambridgeltl/xcopa",),
        ),
        # XTREME-R dual-encoder retrieval (scripts/train_{lareqa,mewslix}.sh): trained on English,
        # queries of each language retrieve from a multilingual pool, mAP@20
        Task(
            "lareqa",
            "target",
            "dual_encoder",
            "google-research-datasets/lareqa xquad-r/<lang>.json (GitHub; test); trained on rajpurkar/squad",
            "map_at_20",
            _load_lareqa,
            tuple(XTREME_R_RETRIEVAL_LANGUAGES["lareqa"].split()),
            train_task="lareqa",
            # query 96 and answer+paragraph 256 tokens (train_lareqa.sh's MAX_SEQ_LEN 352 is
            # their sum, unused by its code); per-step batch 4 x 4 accumulated, in-batch
            # negatives within each step's 4; no warm-up, no weight decay
            defaults=dict(
                lr=2e-5,
                epochs=3,
                batch_size=4,
                grad_accum=4,
                warmup_ratio=0.0,
                weight_decay=0.0,
                max_length=256,
                query_length=96,
            ),
            category="retrieval",
            repos=("rajpurkar/squad", LAREQA_REPO),
            pool_languages=tuple(XTREME_R_RETRIEVAL_LANGUAGES["lareqa"].split()),
        ),
        Task(
            "mewslix",
            "target",
            "dual_encoder",
            "izhx/mewsli-x raw.tar.gz or hub.mewslix_dir (google-research/xtreme download)",
            "map_at_20",
            _load_mewslix,
            tuple(XTREME_R_RETRIEVAL_LANGUAGES["mewslix"].split()),
            train_task="mewslix",
            # train_mewslix.sh for xlm-roberta-large: lr 1e-5, batch 8 x 4 accumulated (mBERT:
            # 2e-5, 64), 2 epochs, 64 tokens each side, no warm-up, no weight decay
            defaults=dict(
                lr=1e-5,
                epochs=2,
                batch_size=8,
                grad_accum=4,
                warmup_ratio=0.0,
                weight_decay=0.0,
                max_length=64,
                query_length=64,
            ),
            category="retrieval",
            repos=(MEWSLIX_REPO,),
            options=("mewslix_dir",),
            pool_languages=(MEWSLIX_CANDIDATES,),
        ),
    ]
}

INTERMEDIATE_TASKS = tuple(n for n, t in TASKS.items() if t.role == "intermediate")
TARGET_TASKS = tuple(n for n, t in TASKS.items() if t.role == "target")
XTREME_CATEGORIES = {  # the nine XTREME targets (XTREME-R's retrieval tasks are scored apart)
    category: tuple(n for n, t in TASKS.items() if t.category == category and n in XTREME_LANGUAGES)
    for category in ("classification", "structured_prediction", "question_answering", "retrieval")
}


def training_task(target: str) -> str | None:
    """The task whose English training split trains `target` (None: retrieval, no training)."""
    return TASKS[target].train_task


def training_tasks(targets) -> list[str]:
    """Distinct training tasks of some targets, chains included, in registry order (xquad+mlqa
    share squad_v1; xcopa needs siqa and copa)."""
    wanted = {task for t in targets for task in TASKS[t].training_chain}
    return [n for n in TASKS if n in wanted]


def table() -> list[dict]:
    """The registry as rows for `xstilts tasks`."""
    return [
        dict(
            name=t.name,
            role=t.role,
            format=t.format,
            source=t.source,
            languages=_languages_cell(t),
            metric=t.metric,
            trained_on=" -> ".join(t.training_chain) or "-",
            other_sources="; ".join(f"{' '.join(langs)}: {name}" for name, langs in _by_source(t).items())
            or "-",
            source_languages=" ".join(t.train_languages) if t.trainable else "-",
        )
        for t in TASKS.values()
    ]


def _languages_cell(t: Task) -> str:
    def show(langs):
        return " ".join(langs) if len(langs) < 8 else f"{len(langs)} ({' '.join(langs[:5])} ...)"

    text = show(t.languages)
    if t.xtreme_r_languages and t.xtreme_r_languages != t.languages:
        text += f"; XTREME-R {len(t.xtreme_r_languages)} (+{' '.join(t.all_languages[len(t.languages) :])})"
    return text


def _by_source(t: Task) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for language, source in t.language_sources.items():
        grouped.setdefault(source.name, []).append(language)
    return grouped
