"""The task registry: every intermediate and target task, declared once.

A task declares where its data lives on the hub, how a hub row becomes the canonical row of
its *format* (see ``xstilts.formats``), its label set, languages, headline metric and recipe
defaults. Loaders read through ``xstilts.hub`` so the hub and a local mirror share one path.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

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

# XNLI translate-train (facebook/xnli, `train` of each language config): MNLI's 392,702 training
# pairs machine-translated into the 14 non-English XNLI languages. PAWS-X (google-research-
# datasets/paws-x): its train splits are machine-translated except English.
XNLI_TRANSLATE_TRAIN = tuple(lang for lang in XTREME_LANGUAGES["xnli"].split() if lang != "en")
PAWSX_TRANSLATED_TRAIN = tuple(lang for lang in XTREME_LANGUAGES["pawsx"].split() if lang != "en")


@dataclass(frozen=True)
class Source:
    """Where a task's training data (train and dev splits) in some languages comes from."""

    languages: tuple[str, ...]
    source: str  # human-readable, for `xstilts tasks`
    repos: tuple[str, ...]  # hub datasets read (their content decides the data)
    kind: str  # "original", "machine-translated" or "native"


FORMATS = ("pair_classification", "multiple_choice", "extractive_qa", "tagging", "retrieval")


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
    defaults: dict = field(default_factory=dict)  # recipe defaults (SPEC section 4)
    category: str | None = None  # XTREME score category (targets)
    eval_splits: tuple[str, ...] = ("test",)  # splits an evaluation reads (bucc: dev too)
    options: tuple[str, ...] = ()  # `hub.*` config keys the loader takes (tydiqa_train)
    repos: tuple[str, ...] = ()  # hub datasets read (their content decides the data)
    ccgbank: bool = False  # reads the licensed CCGbank (hub.ccgbank)
    caveat: str | None = None  # written into every cell's JSON
    scorer: str | None = None  # how the format's predictions are scored (xstilts.evaluation)
    eval_options: tuple[str, ...] = ()  # `evaluation.*` config keys its scoring takes
    sources: tuple[Source, ...] = ()  # training sources beyond English (default: en, `source`)

    @property
    def reads_encoder(self) -> bool:
        """Retrieval targets train nothing: they embed with the recipe's encoder as is."""
        return self.role == "target" and self.train_task is None

    @property
    def trainable(self) -> bool:
        """Can be a recipe's task: an intermediate task, or a target trained on its own data."""
        return self.role == "intermediate" or self.train_task == self.name

    @property
    def training_sources(self) -> tuple[Source, ...]:
        english = Source(("en",), self.source, self.repos, "original")
        return self.sources if self.sources else (english,) if self.trainable else ()

    @property
    def train_languages(self) -> tuple[str, ...]:
        """The languages a recipe can train this task in from the registry's sources."""
        return tuple(lang for src in self.training_sources for lang in src.languages)

    def training_source(self, language: str) -> Source | None:
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


def _load_udpos(hub, split, language):
    hub_split = {"train": "train", "dev": "validation", "test": "test"}[split]
    ds = hub.dataset("google/xtreme", f"udpos.{LANGUAGE_NAMES[language]}", split=hub_split)
    return _tags(ds, "tokens", "pos_tags", UPOS_TAGS)


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
    ds = hub.dataset("google/xtreme", f"tatoeba.{TATOEBA_CODES[language]}", split="validation")
    return ds.map(
        lambda r: {"source": r["source_sentence"], "target": r["target_sentence"]},
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


# ---- the registry ------------------------------------------------------------------------

_INTERMEDIATE = dict(lr=1e-5, epochs=3, batch_size=4, max_length=256)
_QA = dict(max_length=384, doc_stride=128)
XTREME = ("google/xtreme",)


def _langs(task):
    return tuple(XTREME_LANGUAGES[task].split())


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
                Source(("en",), "nyu-mll/glue mnli", ("nyu-mll/glue",), "original"),
                Source(
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
                Source(("en",), "google/xtreme PAWS-X.en", XTREME, "original"),
                Source(
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
            "google/xtreme udpos.<Language>",
            "f1",
            _load_udpos,
            _langs("udpos"),
            UPOS_TAGS,
            train_task="udpos",
            defaults=dict(lr=1e-5, epochs=10, batch_size=32, max_length=256),
            category="structured_prediction",
            repos=XTREME,
            scorer="udpos_f1",
        ),
        Task(
            "panx",
            "target",
            "tagging",
            "google/xtreme PAN-X.<lang>",
            "f1",
            _load_panx,
            _langs("panx"),
            NER_TAGS,
            train_task="panx",
            defaults=dict(lr=1e-5, epochs=10, batch_size=32, max_length=256),
            category="structured_prediction",
            repos=XTREME,
            scorer="seqeval_f1",
        ),
        Task(
            "xquad",
            "target",
            "extractive_qa",
            "google/xtreme XQuAD.<lang>",
            "em_f1_mean",
            _load_xquad,
            _langs("xquad"),
            train_task="squad_v1",
            defaults=dict(lr=1e-5, epochs=2, batch_size=16, **_QA),
            category="question_answering",
            repos=XTREME,
            scorer="squad",
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
                Source(
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
            _load_tatoeba,
            _langs("tatoeba"),
            defaults=dict(max_length=512),
            category="retrieval",
            repos=XTREME,
            scorer="tatoeba_accuracy",
        ),
    ]
}

INTERMEDIATE_TASKS = tuple(n for n, t in TASKS.items() if t.role == "intermediate")
TARGET_TASKS = tuple(n for n, t in TASKS.items() if t.role == "target")
XTREME_CATEGORIES = {
    category: tuple(n for n, t in TASKS.items() if t.category == category)
    for category in ("classification", "structured_prediction", "question_answering", "retrieval")
}


def training_task(target: str) -> str | None:
    """The task whose English training split trains `target` (None: retrieval, no training)."""
    return TASKS[target].train_task


def training_tasks(targets) -> list[str]:
    """Distinct training tasks of some targets, in registry order (xquad+mlqa share squad_v1)."""
    wanted = {training_task(t) for t in targets} - {None}
    return [n for n in TASKS if n in wanted]


def table() -> list[dict]:
    """The registry as rows for `xstilts tasks`."""
    return [
        dict(
            name=t.name,
            role=t.role,
            format=t.format,
            source=t.source,
            languages=" ".join(t.languages)
            if len(t.languages) < 8
            else f"{len(t.languages)} ({' '.join(t.languages[:5])} ...)",
            metric=t.metric,
            trained_on=t.train_task or "-",
            source_languages=" ".join(t.train_languages) if t.trainable else "-",
        )
        for t in TASKS.values()
    ]
