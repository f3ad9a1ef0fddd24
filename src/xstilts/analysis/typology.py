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
from xstilts.analysis.stats import add_fdr, correlate
from xstilts.analysis.studies.common import language_gains as paired_gains
from xstilts.analysis.studies.common import recipe_languages, run_means, t_interval, to_markdown
from xstilts.analysis.study_design import MIN_LANGUAGES
from xstilts.atomic import write_csv, write_text
from xstilts.languages import DISTANCE_KINDS, language_table, load_uriel_distances
from xstilts.uriel import load_pairwise_distances

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


# ---------------------------------------------------------------- the paper's headline claims

# Phang et al. 2020 (docs/science.md section 1): (claim, kind, recipe or targets, the paper's figure).
# "average": a recipe's gain averaged over the targets (the figure is the paper's); "best": the
# average over targets of the best recipe per target; "above"/"below": the targets' gain against
# the other targets' (averaged over recipes); "positive": the targets' gain above 0.
PAPER_CLAIMS = (
    ("SQuAD: average gain over targets +8.2 (read as SQuAD 2.0)", "average", "squad_v2", 8.2),
    ("SQuAD: average gain over targets +8.2 (read as SQuAD 1.1)", "average", "squad_v1", 8.2),
    ("MNLI: average gain over targets +7.5", "average", "mnli", 7.5),
    ("HellaSwag: average gain over targets +7.0", "average", "hellaswag", 7.0),
    ("all nine tasks (all9): average gain over targets +8.7", "average", "all9", 8.7),
    ("best recipe per target: XTREME average +5.4", "best", None, 5.4),
    ("large gains on BUCC and Tatoeba (above the other targets)", "above", ("bucc", "tatoeba"), None),
    ("little XNLI benefit (below the other targets)", "below", ("xnli",), None),
    ("consistent TyDiQA gains (above 0)", "positive", ("tydiqa",), None),
)
CLAIM_COLUMNS = ["claim", "paper", "model", "estimate", "ci_low", "ci_high", "n_seeds", "verdict", "reason"]
CONSISTENT, NOT_CONSISTENT, UNIDENTIFIED = "consistent", "not consistent", "not identifiable from this grid"


def target_run_gains(scores_frame: pd.DataFrame) -> pd.DataFrame:
    """Per model x recipe x target x seed: the gain over ``none`` paired by seed, averaged over
    the target's languages (English included: the benchmark's average)."""
    gains = paired_gains(scores_frame)
    return run_means(gains[gains["recipe"] != tables.BASELINE_RECIPE])


def _claim_values(runs: pd.DataFrame, kind: str, what) -> tuple[pd.Series, str]:
    """Per seed, the claim's quantity (and a reason when it cannot be formed)."""
    by_seed = runs.pivot_table(index="seed", columns=["recipe", "target"], values="gain")
    targets = sorted(runs["target"].unique())
    if kind == "average":
        if what not in set(runs["recipe"]):
            return pd.Series(dtype=float), f"recipe {what} not in the grid"
        return by_seed[what].mean(axis=1), ""
    if kind == "best":
        means = runs.groupby(["target", "recipe"])["gain"].mean()
        best = means.groupby(level="target").idxmax()
        columns = [(recipe, target) for target, recipe in best.to_list()]  # idxmax: (target, recipe)
        note = "the best recipe per target is chosen on the same runs: biased upwards"
        return by_seed[columns].mean(axis=1), note
    named = [t for t in what if t in targets]
    if not named:
        return pd.Series(dtype=float), f"target(s) {', '.join(what)} not in the grid"
    per_target = runs.groupby(["seed", "target"])["gain"].mean().unstack("target")  # over recipes
    inside = per_target[named].mean(axis=1)
    if kind == "positive":
        return inside, ""
    others = [t for t in targets if t not in named]
    if not others:
        return pd.Series(dtype=float), "no other target to compare with"
    return inside - per_target[others].mean(axis=1), ""


def claims_table(scores_frame: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """The paper's headline claims beside this grid's estimate (t interval over seeds: a seed's
    value averages its runs, which share that seed's baseline) and a verdict: consistent (the
    interval holds the paper's figure, or lies on the claimed side of 0), not consistent (it
    excludes the figure, or lies on the other side), not identifiable from this grid (one seed,
    a missing recipe or target, or an interval across 0)."""
    runs = target_run_gains(scores_frame)
    rows = []
    for model in sorted(runs["model"].unique()):
        model_runs = runs[runs["model"] == model]
        for claim, kind, what, paper in PAPER_CLAIMS:
            values, reason = _claim_values(model_runs, kind, what)
            estimate = t_interval(values.dropna(), confidence)
            row = {"claim": claim, "paper": paper, "model": model, "estimate": estimate.estimate,
                   "ci_low": estimate.ci_low, "ci_high": estimate.ci_high, "n_seeds": estimate.n}  # fmt: skip
            if not np.isfinite(estimate.ci_low):
                verdict = UNIDENTIFIED
                if len(values):
                    reason = "; ".join(filter(None, [reason, f"{estimate.n} seed(s): no interval"]))
            elif paper is not None:
                verdict = CONSISTENT if estimate.ci_low <= paper <= estimate.ci_high else NOT_CONSISTENT
            else:
                sign = -1 if kind == "below" else 1
                low, high = sorted((sign * estimate.ci_low, sign * estimate.ci_high))
                verdict = CONSISTENT if low > 0 else NOT_CONSISTENT if high < 0 else UNIDENTIFIED
                if verdict == UNIDENTIFIED:
                    reason = "; ".join(filter(None, [reason, "the interval spans 0"]))
            rows.append({**row, "verdict": verdict, "reason": reason})
    return pd.DataFrame(rows, columns=CLAIM_COLUMNS)


def claims_markdown(claims: pd.DataFrame, confidence: float) -> str:
    return (
        "# The paper's headline claims against this grid\n\n"
        "Phang et al. 2020 (docs/science.md section 1; the average gains are the figures quoted in the "
        "literature, unverified against the PDF). Estimate: this grid's gain in points with its "
        f"{confidence:.0%} t interval over seeds (a seed averages its runs, which share the seed's "
        "baseline). Verdict: consistent / not consistent / not identifiable from this grid.\n\n"
        + to_markdown(claims)
        + "\n"
    )


def distances_report() -> pd.DataFrame:
    """The shipped distance table as written to reports/typology/distances.csv."""
    return load_uriel_distances()[["iso639_1", "iso639_3", "family", *DISTANCE_KINDS, "notes"]]


def write_typology(
    scores_frame: pd.DataFrame, out_dir: str | Path, *, n_resamples: int, seed: int, confidence: float
) -> list[Path]:
    """Write typology/distances.csv, language_gains.csv, correlations.csv, and claims.csv with
    claims.md (the paper's headline claims against this grid)."""
    typology_dir = Path(out_dir) / "typology"
    joined = zero_shot_gains(scores_frame)
    correlations = correlation_table(joined, n_resamples=n_resamples, seed=seed, confidence=confidence)
    claims = claims_table(scores_frame, confidence)
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
        write_csv(typology_dir / "claims.csv", claims),
        write_text(typology_dir / "claims.md", claims_markdown(claims, confidence)),
    ]
