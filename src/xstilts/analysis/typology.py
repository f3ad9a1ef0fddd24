"""Per-language gains joined with URIEL distances from English, and their correlations.

English is excluded from every test: its distance is 0 by definition and its gain is the
in-language (not zero-shot) gain, so it would anchor every correlation at the origin.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from xstilts.analysis import tables
from xstilts.analysis.languages import DISTANCE_KINDS, language_table, load_uriel_distances
from xstilts.analysis.stats import MIN_LANGUAGES, add_fdr, correlate
from xstilts.atomic import write_csv

REFERENCE_LANGUAGE = "en"
CORRELATION_COLUMNS = [
    "model",
    "target",
    "recipe",
    "distance",
    "n",
    "spearman",
    "spearman_ci_low",
    "spearman_ci_high",
    "spearman_p",
    "spearman_q",
    "pearson",
    "pearson_ci_low",
    "pearson_ci_high",
    "pearson_p",
    "pearson_q",
    "kendall",
    "kendall_p",
    "kendall_q",
    "n_partial",
    "partial_spearman",
    "partial_spearman_p",
    "partial_spearman_q",
    "partial_pearson",
    "partial_pearson_p",
    "partial_pearson_q",
    "languages",
    "reason",
]


def language_gains(primary: pd.DataFrame) -> pd.DataFrame:
    """One row per model x recipe x target x language: gain over `none` (mean, std, n seeds)."""
    frames = []
    for target in tables.ordered_targets(primary["target"].unique()):
        _, gains = tables.per_target_tables(primary, target)
        if gains.mean.empty:
            continue
        long = {
            name: getattr(gains, name).drop(columns="avg").stack(future_stack=True)
            for name in ("mean", "std", "n")
        }
        frame = pd.DataFrame({"gain": long["mean"], "gain_std": long["std"], "n_seeds": long["n"]})
        frame = frame.reset_index().assign(target=target)
        frames.append(frame[frame["n_seeds"] > 0])
    columns = ["model", "recipe", "target", "language", "gain", "gain_std", "n_seeds"]
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True)[columns]


def with_typology(gains: pd.DataFrame) -> pd.DataFrame:
    """Gains of non-English languages with distances, family and log CC-100 size attached."""
    languages = language_table().reset_index()
    unknown = sorted(set(gains["language"]) - set(languages["iso639_1"]) - {REFERENCE_LANGUAGE})
    joined = gains[gains["language"] != REFERENCE_LANGUAGE].merge(
        languages, left_on="language", right_on="iso639_1", how="left"
    )
    joined["log_cc100_gib"] = np.log(joined["cc100_gib"])
    joined.attrs["unknown_languages"] = unknown  # no URIEL row: distances NaN, reported below
    return joined


def correlation_table(
    joined: pd.DataFrame, n_resamples: int, seed: int, confidence: float = 0.95, min_n: int = MIN_LANGUAGES
) -> pd.DataFrame:
    """One row per model x target x recipe x distance kind, with FDR q-values per statistic."""
    rows = []
    for (model, target, recipe), group in joined.groupby(["model", "target", "recipe"], sort=True):
        for kind in DISTANCE_KINDS:
            key = f"{model}/{target}/{recipe}/{kind}"
            result = correlate(
                group[kind],
                group["gain"],
                group["log_cc100_gib"],
                n_resamples=n_resamples,
                seed=seed,
                key=key,
                confidence=confidence,
                min_n=min_n,
            )
            used = group.loc[group[kind].notna() & group["gain"].notna(), "language"]
            rows.append(
                {
                    "model": model,
                    "target": target,
                    "recipe": recipe,
                    "distance": kind,
                    "languages": " ".join(sorted(used)),
                    **result,
                }
            )
    if not rows:
        return pd.DataFrame(columns=CORRELATION_COLUMNS)
    return add_fdr(pd.DataFrame(rows))[CORRELATION_COLUMNS]


def distances_report() -> pd.DataFrame:
    """The shipped distance table as written to reports/typology/distances.csv."""
    return load_uriel_distances()[["iso639_1", "iso639_3", "family", *DISTANCE_KINDS, "notes"]]


def write_typology(
    scores_frame: pd.DataFrame, out_dir: str | Path, *, n_resamples: int, seed: int, confidence: float
) -> list[Path]:
    """Write typology/distances.csv, typology/language_gains.csv and typology/correlations.csv."""
    typology_dir = Path(out_dir) / "typology"
    joined = with_typology(language_gains(tables.primary_scores(scores_frame)))
    correlations = correlation_table(joined, n_resamples=n_resamples, seed=seed, confidence=confidence)
    gains_columns = [
        "model",
        "recipe",
        "target",
        "language",
        "family",
        "gain",
        "gain_std",
        "n_seeds",
        *DISTANCE_KINDS,
        "cc100_gib",
    ]
    return [
        write_csv(typology_dir / "distances.csv", distances_report()),
        write_csv(typology_dir / "language_gains.csv", joined[gains_columns]),
        write_csv(typology_dir / "correlations.csv", correlations),
    ]
