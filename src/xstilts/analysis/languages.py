"""Shipped language metadata: ISO codes, URIEL distances from English, families, CC-100 sizes."""

from __future__ import annotations

from importlib import resources

import pandas as pd

DISTANCE_KINDS = ("syntactic", "phonological", "inventory", "featural", "genetic", "geographic")


def _read_data_csv(name: str) -> pd.DataFrame:
    # keep_default_na=False + explicit na_values: the ISO code "na" must not become NaN.
    with resources.files("xstilts.analysis").joinpath("data", name).open("r", encoding="utf-8") as handle:
        return pd.read_csv(handle, keep_default_na=False, na_values=[""])


def load_languages() -> pd.DataFrame:
    """The 50 XTREME + XTREME-R languages: iso639_1, iso639_3, name, cc100_gib, code_note."""
    return _read_data_csv("languages.csv")


def load_uriel_distances() -> pd.DataFrame:
    """Shipped URIEL+ distances from English: iso639_1, iso639_3, family, six kinds, notes."""
    return _read_data_csv("uriel_distances.csv")


def language_table() -> pd.DataFrame:
    """Distances, family and pretraining size in one frame indexed by iso639_1."""
    distances = load_uriel_distances()
    languages = load_languages()[["iso639_1", "name", "cc100_gib"]]
    return distances.merge(languages, on="iso639_1", how="left").set_index("iso639_1")
