"""Languages and benchmarks: the codes, names and language lists of XTREME and XTREME-R, and
the shipped language metadata (ISO codes, CC-100 sizes, URIEL distances from English, families)
in ``xstilts/data``. Facts only: the task registry (``xstilts.tasks``), the loaders and the
analyses read them.
"""

from __future__ import annotations

from importlib import resources
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pandas is imported where a table is read: the registry needs none of it
    import pandas as pd

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
# XTREME-R's dual-encoder retrieval targets (their own lists, not in XTREME_R_LANGUAGES)
XTREME_R_RETRIEVAL_LANGUAGES = {
    "lareqa": "ar de el en es hi ru th tr vi zh",  # XQuAD-R
    "mewslix": "ar de en es fa ja pl ro ta tr uk",  # utils_mewslix.MENTION_LANGUAGES
}
# XTREME-R's score (Ruder et al. 2021): categories of the ten tasks.
XTREME_R_CATEGORIES = {
    "classification": ("xnli", "xcopa"),
    "structured_prediction": ("udpos", "panx"),
    "question_answering": ("xquad", "mlqa", "tydiqa"),
    "retrieval": ("tatoeba", "mewslix", "lareqa"),
}
BENCHMARKS = ("xtreme", "xtreme-r")

# ---- the language metadata shipped in xstilts/data (docs in its README.md) --------------------

DISTANCE_KINDS = ("syntactic", "phonological", "inventory", "featural", "genetic", "geographic")


def read_data_csv(name: str) -> pd.DataFrame:
    """A CSV shipped in ``xstilts/data``."""
    import pandas as pd

    # keep_default_na=False + explicit na_values: the ISO code "na" must not become NaN.
    with resources.files("xstilts").joinpath("data", name).open("r", encoding="utf-8") as handle:
        return pd.read_csv(handle, keep_default_na=False, na_values=[""])


def load_languages() -> pd.DataFrame:
    """The 50 XTREME + XTREME-R languages: iso639_1, iso639_3, name, cc100_gib, code_note."""
    return read_data_csv("languages.csv")


def load_uriel_distances() -> pd.DataFrame:
    """Shipped URIEL+ distances from English: iso639_1, iso639_3, family, six kinds, notes."""
    return read_data_csv("uriel_distances.csv")


def language_table() -> pd.DataFrame:
    """Distances, family and pretraining size in one frame indexed by iso639_1."""
    distances = load_uriel_distances()
    languages = load_languages()[["iso639_1", "name", "cc100_gib"]]
    return distances.merge(languages, on="iso639_1", how="left").set_index("iso639_1")
