"""The task registry: every intermediate and target task, declared once.

A task declares where its data lives on the hub, its loader (``xstilts.loaders``: a hub row ->
the canonical row of its *format*, see ``xstilts.formats``), its label set, languages, headline
metric, recipe defaults, and the sizes ``xstilts plan`` estimates from before a split is prepared.
The language lists come from ``xstilts.languages``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from xstilts import loaders
from xstilts.languages import (
    XTREME_LANGUAGES,
    XTREME_R_CATEGORIES,
    XTREME_R_LANGUAGES,
    XTREME_R_RETRIEVAL_LANGUAGES,
)
from xstilts.loaders import (
    LAREQA_REPO,
    MEWSLIX_CANDIDATES,
    MEWSLIX_REPO,
    NER_TAGS,
    PANX_SOURCES,
    TATOEBA_SOURCES,
    UD25,
    UDPOS_SOURCES,
    UPOS_TAGS,
    XNLI_LABELS,
    XQUAD_SOURCES,
)

# XNLI translate-train (facebook/xnli, `train` of each language config): MNLI's 392,702 training
# pairs machine-translated into the 14 non-English XNLI languages. PAWS-X (google-research-
# datasets/paws-x): its train splits are machine-translated except English.
XNLI_TRANSLATE_TRAIN = tuple(lang for lang in XTREME_LANGUAGES["xnli"].split() if lang != "en")
PAWSX_TRANSLATED_TRAIN = tuple(lang for lang in XTREME_LANGUAGES["pawsx"].split() if lang != "en")


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
    format: str  # a key of xstilts.formats.FORMATS
    source: str  # human-readable hub source, for `xstilts tasks`
    metric: str  # key of the headline metric in the metric dict
    load: Callable  # (hub, split, language) -> datasets.Dataset of canonical rows
    languages: tuple[str, ...] = ("en",)
    labels: tuple[str, ...] = ()  # label names; empty = read from the data (ccg)
    # Targets: the tasks that train it, in order, each on its English train split, each stage a
    # job (xcopa: SIQA, then COPA); () for retrieval targets, which read the encoder as is.
    training_chain: tuple[str, ...] = ()
    defaults: dict = field(default_factory=dict)  # recipe defaults (docs/science.md section 4)
    category: str | None = None  # XTREME score category (targets)
    eval_splits: tuple[str, ...] = ("test",)  # splits an evaluation reads (bucc: dev too)
    options: tuple[str, ...] = ()  # `hub.*` config keys the loader takes (tydiqa_train)
    repos: tuple[str, ...] = ()  # hub datasets read (their content decides the data)
    ccgbank: bool = False  # reads the licensed CCGbank (hub.ccgbank)
    caveat: str | None = None  # written into every cell's JSON
    scorer: str | None = None  # how the format's predictions are scored (xstilts.evaluation)
    eval_options: tuple[str, ...] = ()  # `evaluation.*` config keys its scoring takes
    # XTREME-R's languages where they differ from `languages` (XTREME's); () = not in XTREME-R
    # or the same list. A config may target any language of either.
    xtreme_r_languages: tuple[str, ...] = ()
    language_sources: dict = field(default_factory=dict)  # language -> loaders.Source (not `source`)
    pool_languages: tuple[str, ...] = ()  # dual encoder: test splits whose candidates every cell searches
    sources: tuple[TrainingSource, ...] = ()  # training sources beyond English (default: en, `source`)
    # What `xstilts plan` estimates a split from before it is prepared (None: no estimate):
    # English training examples (the dataset cards, docs/science.md sections 2-3), test examples
    # per language (the XTREME paper's table 1, means over languages where they differ), and
    # mean real (non-pad) XLM-R sentencepiece tokens per example, all sides and choices together
    # (a multiple-choice example encodes each choice; QA counts context + question).
    train_examples: int | None = None
    eval_examples: int | None = None
    mean_tokens: int | None = None

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
    def train_task(self) -> str | None:
        """The last task of the training chain: the one whose model the cells read."""
        return self.training_chain[-1] if self.training_chain else None

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
            loaders.anli_plus,
            labels=XNLI_LABELS,
            defaults=_INTERMEDIATE,
            repos=("facebook/anli", "nyu-mll/glue", "stanfordnlp/snli"),
            train_examples=1_105_719,  # ANLI r1-r3 (162,865) + MNLI (392,702) + SNLI (550,152)
            mean_tokens=50,
        ),
        Task(
            "mnli",
            "intermediate",
            "pair_classification",
            "nyu-mll/glue mnli",
            "accuracy",
            loaders.mnli,
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
            train_examples=392_702,
            mean_tokens=45,
        ),
        Task(
            "qqp",
            "intermediate",
            "pair_classification",
            "nyu-mll/glue qqp",
            "accuracy_f1_mean",
            loaders.glue("qqp"),
            labels=("not_duplicate", "duplicate"),
            defaults=_INTERMEDIATE,
            repos=("nyu-mll/glue",),
            train_examples=363_846,
            mean_tokens=30,
        ),
        Task(
            "squad_v2",
            "intermediate",
            "extractive_qa",
            "rajpurkar/squad_v2",
            "em_f1_mean",
            loaders.squad_like("rajpurkar/squad_v2", "squad_v2"),
            defaults={**_INTERMEDIATE, **_QA},
            repos=("rajpurkar/squad_v2",),
            scorer="squad_v2",
            train_examples=130_319,
            mean_tokens=190,
        ),
        Task(
            "squad_v1",
            "intermediate",
            "extractive_qa",
            "rajpurkar/squad",
            "em_f1_mean",
            loaders.squad_like("rajpurkar/squad", "plain_text"),
            defaults={**_INTERMEDIATE, **_QA},
            repos=("rajpurkar/squad",),
            scorer="squad",
            train_examples=87_599,
            mean_tokens=190,
        ),
        Task(
            "hellaswag",
            "intermediate",
            "multiple_choice",
            "Rowan/hellaswag@refs/convert/parquet",
            "accuracy",
            loaders.hellaswag,
            labels=tuple("0123"),
            defaults=_INTERMEDIATE,
            repos=("Rowan/hellaswag",),
            train_examples=39_905,
            mean_tokens=240,
        ),
        Task(
            "ccg",
            "intermediate",
            "tagging",
            "CCGbank AUTO files (user-supplied path)",
            "token_accuracy",
            loaders.ccg,
            defaults=_INTERMEDIATE,
            ccgbank=True,
            train_examples=39_604,  # CCGbank sections 02-21, ~39,604 sentences
            mean_tokens=30,
        ),
        Task(
            "cosmosqa",
            "intermediate",
            "multiple_choice",
            "allenai/cosmos_qa@refs/convert/parquet",
            "accuracy",
            loaders.cosmosqa,
            labels=tuple("0123"),
            defaults=_INTERMEDIATE,
            repos=("allenai/cosmos_qa",),
            train_examples=25_262,
            mean_tokens=440,
        ),
        Task(
            "commonsenseqa",
            "intermediate",
            "multiple_choice",
            "tau/commonsense_qa",
            "accuracy",
            loaders.commonsenseqa,
            labels=tuple("01234"),
            defaults=_INTERMEDIATE,
            repos=("tau/commonsense_qa",),
            train_examples=9_741,
            mean_tokens=100,
        ),
        # XTREME targets (zero-shot: trained on English, scored per language)
        Task(
            "xnli",
            "target",
            "pair_classification",
            "google/xtreme XNLI",
            "accuracy",
            loaders.xnli,
            _langs("xnli"),
            XNLI_LABELS,
            training_chain=("mnli",),
            defaults=dict(lr=1e-5, epochs=2, batch_size=32, max_length=256),
            category="classification",
            repos=XTREME,
            eval_examples=5_010,
            mean_tokens=45,
        ),
        Task(
            "pawsx",
            "target",
            "pair_classification",
            "google/xtreme PAWS-X.<lang>",
            "accuracy",
            loaders.pawsx,
            _langs("pawsx"),
            ("0", "1"),
            training_chain=("pawsx",),
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
            train_examples=49_401,
            eval_examples=2_000,
            mean_tokens=55,
        ),
        Task(
            "udpos",
            "target",
            "tagging",
            "UD 2.5 release (lindat ud-treebanks-v2.5.tgz) <lang>_* treebanks",
            "f1",
            loaders.by_language(loaders.udpos, UDPOS_SOURCES),
            _langs("udpos"),
            UPOS_TAGS,
            training_chain=("udpos",),
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
            train_examples=21_253,
            eval_examples=1_500,
            mean_tokens=25,
        ),
        Task(
            "panx",
            "target",
            "tagging",
            "google/xtreme PAN-X.<lang>",
            "f1",
            loaders.by_language(loaders.panx, PANX_SOURCES),
            _langs("panx"),
            NER_TAGS,
            training_chain=("panx",),
            defaults=dict(lr=1e-5, epochs=10, batch_size=32, max_length=256),
            category="structured_prediction",
            repos=XTREME,
            scorer="seqeval_f1",
            xtreme_r_languages=_langs_r("panx"),
            language_sources=PANX_SOURCES,
            train_examples=20_000,
            eval_examples=10_000,
            mean_tokens=15,
        ),
        Task(
            "xquad",
            "target",
            "extractive_qa",
            "google/xtreme XQuAD.<lang>",
            "em_f1_mean",
            loaders.by_language(loaders.xquad, XQUAD_SOURCES),
            _langs("xquad"),
            training_chain=("squad_v1",),
            defaults=dict(lr=1e-5, epochs=2, batch_size=16, **_QA),
            category="question_answering",
            repos=XTREME,
            scorer="squad",
            xtreme_r_languages=_langs_r("xquad"),
            language_sources=XQUAD_SOURCES,
            eval_examples=1_190,
            mean_tokens=200,
        ),
        Task(
            "mlqa",
            "target",
            "extractive_qa",
            "google/xtreme MLQA.<lang>.<lang>",
            "em_f1_mean",
            loaders.mlqa,
            _langs("mlqa"),
            training_chain=("squad_v1",),
            defaults=dict(lr=1e-5, epochs=2, batch_size=16, **_QA),
            category="question_answering",
            repos=XTREME,
            scorer="mlqa",
            eval_examples=6_000,
            mean_tokens=200,
        ),
        Task(
            "tydiqa",
            "target",
            "extractive_qa",
            "google/xtreme tydiqa (GoldP)",
            "em_f1_mean",
            loaders.tydiqa,
            _langs("tydiqa"),
            training_chain=("tydiqa",),
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
            train_examples=3_696,
            eval_examples=700,
            mean_tokens=250,
        ),
        Task(
            "bucc",
            "target",
            "retrieval",
            "google/xtreme bucc18.<lang> (gold pairs only)",
            "f1",
            loaders.bucc,
            _langs("bucc"),
            defaults=dict(max_length=512),
            category="retrieval",
            repos=XTREME,
            eval_splits=("test", "dev"),
            caveat="hub bucc18 holds gold pairs only (no distractors): mining is easier than BUCC 2018",
            scorer="bucc_mining",
            eval_options=("bucc_k",),
            eval_examples=3_000,  # the hub's gold pairs: test + the dev sample its threshold is tuned on
            mean_tokens=60,
        ),
        Task(
            "tatoeba",
            "target",
            "retrieval",
            "google/xtreme tatoeba.<iso639-3>",
            "accuracy",
            loaders.by_language(loaders.tatoeba, TATOEBA_SOURCES),
            _langs("tatoeba"),
            defaults=dict(max_length=512),
            category="retrieval",
            repos=XTREME,
            scorer="tatoeba_accuracy",
            xtreme_r_languages=_langs_r("tatoeba"),
            language_sources=TATOEBA_SOURCES,
            eval_examples=1_000,
            mean_tokens=30,
        ),
        # XTREME-R's training-only English tasks (not recipes) and its new classification target
        Task(
            "siqa",
            "training",
            "multiple_choice",
            "lighteval/siqa",
            "accuracy",
            loaders.siqa,
            labels=tuple("012"),
            defaults=_XCOPA,
            repos=("lighteval/siqa",),
            train_examples=33_410,  # lighteval/siqa
            mean_tokens=110,
        ),
        Task(
            "copa",
            "training",
            "multiple_choice",
            "aps/super_glue copa",
            "accuracy",
            loaders.copa,
            labels=tuple("01"),
            defaults=_XCOPA,
            repos=("aps/super_glue",),
            train_examples=400,  # COPA-en
            mean_tokens=45,
        ),
        Task(
            "xcopa",
            "target",
            "multiple_choice",
            "cambridgeltl/xcopa <lang>",
            "accuracy",
            loaders.xcopa,
            _langs_r("xcopa"),
            tuple("01"),
            training_chain=("siqa", "copa"),
            defaults=_XCOPA,
            category="classification",
            repos=("cambridgeltl/xcopa",),
            eval_examples=500,
            mean_tokens=45,
        ),
        # XTREME-R dual-encoder retrieval (scripts/train_{lareqa,mewslix}.sh): trained on English,
        # queries of each language retrieve from a multilingual pool, mAP@20
        Task(
            "lareqa",
            "target",
            "dual_encoder",
            "google-research-datasets/lareqa xquad-r/<lang>.json (GitHub; test); trained on rajpurkar/squad",
            "map_at_20",
            loaders.lareqa,
            tuple(XTREME_R_RETRIEVAL_LANGUAGES["lareqa"].split()),
            training_chain=("lareqa",),
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
            train_examples=87_599,  # SQuAD v1.1 question-sentence pairs
            eval_examples=1_190,  # XQuAD-R questions per language (the answer pool not counted)
            mean_tokens=170,
        ),
        Task(
            "mewslix",
            "target",
            "dual_encoder",
            "izhx/mewsli-x raw.tar.gz or hub.mewslix_dir (google-research/xtreme download)",
            "map_at_20",
            loaders.mewslix,
            tuple(XTREME_R_RETRIEVAL_LANGUAGES["mewslix"].split()),
            training_chain=("mewslix",),
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
            train_examples=167_719,  # English wikipedia_pairs (google-research mewsli-x.md)
            # WikiNews test mentions, 14,624 over 11 languages (the candidate pool not counted)
            eval_examples=1_330,
            mean_tokens=120,
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
