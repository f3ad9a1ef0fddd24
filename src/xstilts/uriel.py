"""Recompute the shipped URIEL+ distance tables offline: from English (``data/uriel_distances.csv``)
and between every two of the 50 languages (``data/uriel_pairwise.csv``).

URIEL+ (package ``urielplus``) ships the URIEL feature matrices; we use its defaults: original
URIEL data without the optional extra databases or imputation, union aggregation over sources,
and the angular distance over the features both languages have values for. A distance resting
on fewer than ``MIN_SHARED_FEATURES`` shared features is left missing, because a handful of
binary features gives an arbitrary angle (Kazakh shares 2 phonological features with English
and comes out at distance 0).
"""

from __future__ import annotations

import functools
import logging

import numpy as np
import pandas as pd

from xstilts.languages import DISTANCE_KINDS, load_languages, read_data_csv

ENGLISH_ISO639_3 = "eng"
MIN_SHARED_FEATURES = 5
# urielplus keeps phylogeny, typology and geography in three matrices (index 0, 1, 2).
_MATRIX_OF_KIND = {"genetic": 0, "geographic": 2}
_TYPOLOGY_PREFIX = {"syntactic": "S_", "phonological": "P_", "inventory": "INV_", "featural": ""}
# URIEL has no family features for these; name the family by hand for plot colours.
_FAMILY_WITHOUT_URIEL_DATA = {"eus": "Basque (isolate)", "que": "Quechuan"}


@functools.cache
def load_pairwise_distances() -> pd.DataFrame:
    """Shipped URIEL+ distances between every two of the 50 languages (ISO 639-1), indexed by
    (source, target): the six kinds and notes, as `compute_pairwise_distances` writes them."""
    return read_data_csv("uriel_pairwise.csv").set_index(["source", "target"])


def pairwise_distance(source: str, target: str, kind: str) -> float:
    """One shipped distance; a clear error for a language outside the table or a missing value."""
    table = load_pairwise_distances()
    if (source, target) not in table.index:
        known = sorted(set(table.index.get_level_values(0)))
        raise KeyError(
            f"no URIEL distance between {source!r} and {target!r}: the shipped table covers the "
            f"50 XTREME-R languages ({' '.join(known)})"
        )
    value = table.loc[(source, target), kind]
    if pd.isna(value):
        raise ValueError(
            f"the {kind} URIEL distance between {source} and {target} is missing "
            f"({table.loc[(source, target), 'notes']}); choose another distance kind"
        )
    return float(value)


def open_urielplus():
    """Load URIEL+ quietly. Its first use copies the feature matrices inside its own install dir."""
    from urielplus.urielplus import URIELPlus

    uriel = URIELPlus()
    logging.getLogger().setLevel(logging.WARNING)  # urielplus logs every distance at INFO
    return uriel


def _language_values(uriel, matrix: int, code: str) -> np.ndarray:
    row = int(np.where(uriel.langs[matrix] == code)[0][0])
    return uriel.data[matrix][row]  # features x sources


def shared_feature_count(uriel, kind: str, code: str, other: str = ENGLISH_ISO639_3) -> int:
    """How many features of this kind both languages have a value for (-1 marks missing)."""
    matrix = _MATRIX_OF_KIND.get(kind, 1)
    prefix = _TYPOLOGY_PREFIX.get(kind, "")
    names = np.asarray(uriel.feats[matrix]).astype(str)
    in_kind = np.char.startswith(names, prefix)
    has_a = (_language_values(uriel, matrix, code) != -1).any(axis=1)
    has_b = (_language_values(uriel, matrix, other) != -1).any(axis=1)
    return int((in_kind & has_a & has_b).sum())


def top_level_family(uriel, code: str) -> str:
    """The language's largest family node in URIEL (e.g. 'Indo-European'), or a hand-set name."""
    if code in _FAMILY_WITHOUT_URIEL_DATA:
        return _FAMILY_WITHOUT_URIEL_DATA[code]
    membership = uriel.data[0][:, :, 0] == 1  # languages x family nodes
    nodes = np.where(_language_values(uriel, 0, code)[:, 0] == 1)[0]
    if len(nodes) == 0:
        return "unknown"
    largest = nodes[np.argmax(membership[:, nodes].sum(axis=0))]
    return str(uriel.feats[0][largest]).removeprefix("F_")


def _has_family_data(uriel, code: str) -> bool:
    return bool((_language_values(uriel, 0, code) == 1).any())


def missing_note(uriel, kind: str, code: str, source: str = ENGLISH_ISO639_3) -> str:
    """Why the distance between two languages (ISO 639-3) is left missing, or ''."""
    if kind == "genetic" and not _has_family_data(uriel, code):
        return "genetic: no family data in URIEL, distance meaningless"
    if kind == "genetic" and not _has_family_data(uriel, source):
        return f"genetic: no family data in URIEL for the source {source}, distance meaningless"
    shared = shared_feature_count(uriel, kind, code, source)
    if shared < MIN_SHARED_FEATURES:
        with_what = "English" if source == ENGLISH_ISO639_3 else source
        return f"{kind}: {shared} features shared with {with_what} (< {MIN_SHARED_FEATURES})"
    return ""


def distance_with_note(uriel, kind: str, code: str, source: str = ENGLISH_ISO639_3) -> tuple[float, str]:
    """One distance from `source` (ISO 639-3; English by default), or NaN and the reason it is
    missing. The distance is symmetric; a language's distance to itself is 0 (urielplus gives
    up to 0.0003 there, float32 rounding that varies with the numpy build)."""
    note = missing_note(uriel, kind, code, source)
    if note:
        return np.nan, note
    if code == source:
        return 0.0, ""
    # urielplus rounds to 4 decimals, partly in float32: round again for a clean CSV.
    return round(float(uriel.new_distance(kind, source, code)), 4), ""


def compute_uriel_distances(iso639_1: list[str] | None = None, uriel=None) -> pd.DataFrame:
    """Rows of ``data/uriel_distances.csv`` for the given languages (default: all 50)."""
    languages = load_languages()
    if iso639_1 is not None:
        languages = languages[languages["iso639_1"].isin(iso639_1)]
    uriel = uriel if uriel is not None else open_urielplus()
    rows = []
    for code1, code3 in zip(languages["iso639_1"], languages["iso639_3"]):
        row = {"iso639_1": code1, "iso639_3": code3, "family": top_level_family(uriel, code3)}
        notes = []
        for kind in DISTANCE_KINDS:
            row[kind], note = distance_with_note(uriel, kind, code3)
            notes.append(note)
        if code3 == ENGLISH_ISO639_3:
            notes.append("reference language: distances are 0 by definition, excluded from statistics")
        row["notes"] = "; ".join(note for note in notes if note)
        rows.append(row)
    return pd.DataFrame(rows)


def compute_pairwise_distances(iso639_1: list[str] | None = None, uriel=None) -> pd.DataFrame:
    """Rows of ``data/uriel_pairwise.csv``: every ordered pair (source, target) of the given
    languages (default: all 50), the six kinds, and why a value is missing. The same rules as
    the table from English (`distance_with_note`), so its `source == en` rows equal that table."""
    languages = load_languages()
    if iso639_1 is not None:
        languages = languages[languages["iso639_1"].isin(iso639_1)]
    uriel = uriel if uriel is not None else open_urielplus()
    codes = list(zip(languages["iso639_1"], languages["iso639_3"]))
    values: dict = {}  # the angle is symmetric: one urielplus call per unordered pair
    rows = []
    for source1, source3 in codes:
        for target1, target3 in codes:
            row = {"source": source1, "target": target1}
            notes = []
            for kind in DISTANCE_KINDS:
                note = missing_note(uriel, kind, target3, source3)
                key = (kind, *sorted((source3, target3)))
                if not note and key not in values:
                    values[key] = distance_with_note(uriel, kind, target3, source3)[0]
                row[kind] = np.nan if note else values[key]
                notes.append(note)
            row["notes"] = "; ".join(note for note in notes if note)
            rows.append(row)
    return pd.DataFrame(rows)
