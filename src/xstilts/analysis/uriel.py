"""Recompute the shipped URIEL+ distance table (``data/uriel_distances.csv``) offline.

URIEL+ (package ``urielplus``) ships the URIEL feature matrices; we use its defaults: original
URIEL data without the optional extra databases or imputation, union aggregation over sources,
and the angular distance over the features both languages have values for. A distance resting
on fewer than ``MIN_SHARED_FEATURES`` shared features is left missing, because a handful of
binary features gives an arbitrary angle (Kazakh shares 2 phonological features with English
and comes out at distance 0).
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from xstilts.analysis.languages import DISTANCE_KINDS, load_languages

ENGLISH_ISO639_3 = "eng"
MIN_SHARED_FEATURES = 5
# urielplus keeps phylogeny, typology and geography in three matrices (index 0, 1, 2).
_MATRIX_OF_KIND = {"genetic": 0, "geographic": 2}
_TYPOLOGY_PREFIX = {"syntactic": "S_", "phonological": "P_", "inventory": "INV_", "featural": ""}
# URIEL has no family features for these; name the family by hand for plot colours.
_FAMILY_WITHOUT_URIEL_DATA = {"eus": "Basque (isolate)", "que": "Quechuan"}


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


def distance_with_note(uriel, kind: str, code: str) -> tuple[float, str]:
    """One distance from English, or NaN and the reason it is missing."""
    if kind == "genetic" and not _has_family_data(uriel, code):
        return np.nan, "genetic: no family data in URIEL, distance meaningless"
    shared = shared_feature_count(uriel, kind, code)
    if shared < MIN_SHARED_FEATURES:
        return np.nan, f"{kind}: {shared} features shared with English (< {MIN_SHARED_FEATURES})"
    # urielplus rounds to 4 decimals, partly in float32: round again for a clean CSV.
    return round(float(uriel.new_distance(kind, ENGLISH_ISO639_3, code)), 4), ""


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
