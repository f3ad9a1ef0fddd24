"""Per-language gains joined with URIEL distances from the source language, and their correlations.

The source is English, or for a recipe trained in other languages (``source_languages``, as
results.collect records it) the nearest of those (URIEL+ pairwise table): ``distance_from``
names it. English and a recipe's own source languages are excluded from its tests: their
distance is 0 by definition and their gain is in-language (not zero-shot), so they would
anchor every correlation at the origin.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from xstilts.analysis import tables
from xstilts.analysis.languages import DISTANCE_KINDS, language_table, load_uriel_distances
from xstilts.analysis.stats import MIN_LANGUAGES, add_fdr, correlate
from xstilts.analysis.studies.common import recipe_languages
from xstilts.analysis.uriel import load_pairwise_distances
from xstilts.atomic import write_csv

REFERENCE_LANGUAGE = "en"
CORRELATION_COLUMNS = [
    "model",
    "target",
    "recipe",
    "distance",
    "distance_from",
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


def with_typology(gains: pd.DataFrame, sources: pd.Series | None = None) -> pd.DataFrame:
    """Zero-shot gains with distances from the source, family and log CC-100 size attached.
    ``sources``: per recipe its training languages, space-separated (a recipe not in it, or
    trained in English only, is measured from English)."""
    languages = language_table().reset_index()
    unknown = sorted(set(gains["language"]) - set(languages["iso639_1"]) - {REFERENCE_LANGUAGE})
    joined = gains[gains["language"] != REFERENCE_LANGUAGE].merge(
        languages, left_on="language", right_on="iso639_1", how="left"
    )
    joined["distance_from"] = REFERENCE_LANGUAGE
    for recipe, listed in (sources if sources is not None else pd.Series(dtype=object)).items():
        trained = str(listed).split() if isinstance(listed, str) else []
        own = sorted(set(trained) - {REFERENCE_LANGUAGE})
        if not own:
            continue
        joined = joined[~((joined["recipe"] == recipe) & joined["language"].isin(own))]  # not zero-shot
        rows = joined["recipe"] == recipe
        nearest = nearest_source_distances(joined.loc[rows, "language"], trained)
        joined.loc[rows, list(DISTANCE_KINDS)] = nearest.to_numpy()
        joined.loc[rows, "distance_from"] = "+".join(own)
    joined["log_cc100_gib"] = np.log(joined["cc100_gib"])
    joined.attrs["unknown_languages"] = unknown  # no URIEL row: distances NaN, reported below
    return joined.reset_index(drop=True)


def zero_shot_gains(scores_frame: pd.DataFrame) -> pd.DataFrame:
    """What the typology tests read: per-language gains over ``none`` with the distances from
    each recipe's source (``with_typology``)."""
    return with_typology(language_gains(tables.primary_scores(scores_frame)), recipe_languages(scores_frame))


def nearest_source_distances(languages: pd.Series, sources: list[str]) -> pd.DataFrame:
    """Per language and distance kind, the distance from the nearest source (URIEL+ pairwise
    table; NaN where the table has no value for any source)."""
    pairwise = load_pairwise_distances()[list(DISTANCE_KINDS)]
    per_source = [
        pairwise.reindex(pd.MultiIndex.from_arrays([[s] * len(languages), list(languages)]))
        .reset_index(drop=True)
        .astype(float)
        for s in sources
    ]
    return pd.concat(per_source).groupby(level=0).min()  # min skips NaN: the nearest with a value


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
                    "distance_from": group["distance_from"].iloc[0],
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
    joined = zero_shot_gains(scores_frame)
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
        "distance_from",
        *DISTANCE_KINDS,
        "cc100_gib",
    ]
    return [
        write_csv(typology_dir / "distances.csv", distances_report()),
        write_csv(typology_dir / "language_gains.csv", joined[gains_columns]),
        write_csv(typology_dir / "correlations.csv", correlations),
    ]
