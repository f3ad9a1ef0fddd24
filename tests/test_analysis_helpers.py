"""Constructed scores frames for the analysis tests (imported by the other test_analysis_* files)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from xstilts.languages import load_uriel_distances

XNLI_LANGUAGES = ["en", "ar", "bg", "de", "el", "es", "fr", "hi", "ru", "sw", "th", "tr", "ur", "vi", "zh"]


def score_rows(model, recipe, target, language_values: dict, seed=1, metric="accuracy") -> list[dict]:
    """One primary row per language plus a non-primary companion metric that must be ignored."""
    rows = []
    for language, value in language_values.items():
        cell = dict(model=model, recipe=recipe, target=target, language=language, seed=seed)
        rows.append({**cell, "metric": metric, "value": float(value), "primary": True})
        rows.append({**cell, "metric": "other", "value": -1.0, "primary": False})
    return rows


def planted_syntactic_scores(slope=10.0, noise=0.0, seeds=(1,), recipes=("mnli",)) -> pd.DataFrame:
    """XNLI scores whose gain over `none` is slope * syntactic distance (+ noise)."""
    distance = load_uriel_distances().set_index("iso639_1")["syntactic"]
    rng = np.random.default_rng(0)
    rows = []
    for seed in seeds:
        rows += score_rows("xlmr", "none", "xnli", {lang: 70.0 for lang in XNLI_LANGUAGES}, seed)
        for recipe in recipes:
            values = {lang: 70.0 + slope * distance[lang] + noise * rng.normal() for lang in XNLI_LANGUAGES}
            rows += score_rows("xlmr", recipe, "xnli", values, seed)
    return pd.DataFrame(rows)


def test_helpers_build_valid_frames():
    frame = planted_syntactic_scores(seeds=(1, 2))
    assert frame.groupby(["recipe", "seed"])["primary"].sum().eq(len(XNLI_LANGUAGES)).all()
