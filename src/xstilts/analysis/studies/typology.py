"""Typology (docs/science.md question 1): does the gain from intermediate training shrink as the target
language gets further from the source language?

Pre-specified primary answer: the pooled slope of the zero-shot gain (points) on the
:data:`PRIMARY_DISTANCE` URIEL distance from the recipe's source, holding the language's log
CC-100 pretraining size fixed (the confound: far languages also have less pretraining data), from
a statsmodels MixedLM. Its data: per model x source x target x language, the gain over ``none``
paired by seed, averaged over the recipes of that source (they share the seed's baseline) and
the seeds; a fixed effect per model x source x target (the runs' and the baseline's shifts), a
random intercept per language, and the residual per language x target holding the seed noise
with the language x target variation.
Languages are the level distance varies at; seeds replicate the runs. One seed: not identifiable
(seed noise and language x target variation cannot be told apart).

Exploratory (never the answer): the same slope for the other distance kinds (Holm over the
five), and the typology analysis's per model x target x recipe x kind correlations (BH q over
the family: :func:`xstilts.analysis.typology.correlation_table`).

Tables
- ``slopes``: per distance kind, the pooled slope (and, for the primary kind, without the size control), its
  interval and p (Holm-adjusted for the exploratory kinds), the languages used, and the
  correlation of the distance with log pretraining size over those languages.
- ``correlations``: the exploratory tests (Spearman columns; the rest in
  ``reports/typology/correlations.csv``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from xstilts.analysis.studies.common import (
    Answer,
    Design,
    Simulation,
    StudyResult,
    adjust,
    language_gains,
    mde,
    message_figure,
    mixed_term,
    one_seed_answer,
    pairing_caveats,
    recipe_languages,
    runs_per_arm,
    simulate_scores,
    tested_answer,
    unanswerable,
)
from xstilts.analysis.study_design import MIN_LANGUAGES
from xstilts.analysis.tables import BASELINE_RECIPE
from xstilts.analysis.typology import REFERENCE_LANGUAGE, correlation_table, with_typology, zero_shot_gains
from xstilts.grid import typology_outputs
from xstilts.languages import DISTANCE_KINDS, language_table

NAME = "typology"
PRIMARY_DISTANCE = "syntactic"  # pre-specified: docs/science.md section 6 lists it first
TABLES = ("slopes", "correlations")
SLOPE_COLUMNS = [
    "distance", "role", "slope", "ci_low", "ci_high", "p_value", "p_holm", "slope_without_size",
    "size_correlation", "n_languages", "n_runs", "note",
]  # fmt: skip
STUDY_COLUMNS = [
    "model", "target", "recipe", "distance", "distance_from", "n", "spearman", "spearman_ci_low",
    "spearman_ci_high", "spearman_p", "spearman_q", "languages", "reason",
]  # fmt: skip
UNIT = "intermediate-training run"
METHOD = (
    "MixedLM: gain ~ distance + log CC-100 size + target, seeds averaged, random intercept per "
    "language, t on languages - 3 df"
)


INPUTS = {"correlations": "the typology analysis's correlations.csv (default: computed)"}


def inputs(cfg: dict, agg) -> dict:
    """The tests of the typology analysis (reports/typology): read, not run again."""
    return {"correlations": typology_outputs(agg.reports)["correlations"]}


def needs(cfg: dict) -> list[str]:
    most = max(len([lang for lang in ls if lang != "en"]) for ls in cfg["targets"].values())
    if most >= MIN_LANGUAGES:
        return []
    return [
        f"it correlates gains with typology over the languages of a target, and no target "
        f"evaluates {MIN_LANGUAGES} languages other than en (the most: {most}). Fix: give a "
        f"target at least {MIN_LANGUAGES} non-English languages (config key targets)."
    ]


def question(sources) -> str:
    return (
        "Does the gain from intermediate training shrink as the target language gets further "
        f"(URIEL distance) from the source language ({', '.join(sources)})?"
    )


def seed_gains(scores: pd.DataFrame) -> pd.DataFrame:
    """Zero-shot gains paired by seed with distances and log size: per model x recipe x target x
    language x seed (``with_typology``: English and a recipe's own sources left out)."""
    gains = language_gains(scores)
    gains = gains[(gains["recipe"] != BASELINE_RECIPE) & gains["gain"].notna()]
    columns = ["model", "recipe", "target", "language", "seed", "gain", "paired", "baseline_seeds"]
    return with_typology(gains[columns], recipe_languages(scores))


def pooled_slope(joined: pd.DataFrame, kind: str, control: bool = True, confidence: float = 0.95) -> dict:
    """The MixedLM slope of gain on one distance kind (see the module docstring)."""
    needed = [kind, "log_cc100_gib"] if control else [kind]
    rows = joined.dropna(subset=["gain", *needed])
    # recipes of one source share the seed's baseline, seeds replicate: both averaged (a
    # two-stage fit); the residual per model x target x language holds the seed noise with the
    # language x target variation, and each model x source x target is a fixed effect (its runs'
    # and the baseline's shifts): estimated with the slope, not centred out, because a target's
    # mean over few languages carries their language effects
    keys = ["model", "distance_from", "target", "language"]
    data = rows.groupby(keys, sort=True)[["gain", *needed]].mean().reset_index()
    data["block"] = data["model"] + "/" + data["distance_from"] + "/" + data["target"]
    data = data.rename(columns={kind: "distance", "log_cc100_gib": "log_size"})
    blocks = " + C(block)" if data["block"].nunique() > 1 else ""
    formula = ("gain ~ distance + log_size" if control else "gain ~ distance") + blocks
    # intercept, distance and log size vary between languages only
    estimate, note = mixed_term(
        data, formula, "distance", "language", confidence=confidence, group_terms=3 if control else 2
    )
    languages = sorted(set(rows["language"]))
    size = joined.drop_duplicates("language").set_index("language").reindex(languages)
    return {
        "estimate": estimate,
        "note": note,
        "languages": languages,
        "size_correlation": size[kind].corr(size["log_cc100_gib"]) if len(languages) > 2 else np.nan,
    }


def slopes_table(joined: pd.DataFrame, n_runs: int, confidence: float) -> tuple[pd.DataFrame, dict]:
    rows, primary = [], {}
    for kind in DISTANCE_KINDS:
        fit = pooled_slope(joined, kind, confidence=confidence)
        without = np.nan  # the confound's size, stated for the primary kind
        if kind == PRIMARY_DISTANCE:
            primary = fit
            without = pooled_slope(joined, kind, control=False, confidence=confidence)["estimate"].estimate
        e = fit["estimate"]
        rows.append(
            {
                "distance": kind,
                "role": "primary" if kind == PRIMARY_DISTANCE else "exploratory",
                "slope": e.estimate,
                "ci_low": e.ci_low,
                "ci_high": e.ci_high,
                "p_value": e.p_value,
                "slope_without_size": without,
                "size_correlation": fit["size_correlation"],
                "n_languages": len(fit["languages"]),
                "n_runs": n_runs,
                "note": fit["note"],
            }
        )
    table = pd.DataFrame(rows)
    exploratory = table["role"] == "exploratory"
    table["p_holm"] = np.nan
    table.loc[exploratory, "p_holm"] = adjust(table.loc[exploratory, "p_value"])
    return table[SLOPE_COLUMNS], primary


def excluded_caveats(scores: pd.DataFrame, joined: pd.DataFrame, used: list[str]) -> list[str]:
    """The evaluated languages the primary slope could not use, and why (never silently)."""
    evaluated = set(scores["language"]) - {REFERENCE_LANGUAGE}
    table = language_table()
    unknown = sorted(evaluated - set(table.index))
    no_distance = sorted(set(joined.loc[joined[PRIMARY_DISTANCE].isna(), "language"]) - set(unknown))
    no_size = sorted(
        set(joined.loc[joined["cc100_gib"].isna(), "language"]) - set(unknown) - set(no_distance)
    )
    caveats = []
    if unknown:
        caveats.append(f"languages without URIEL data, left out: {', '.join(unknown)}")
    if no_distance:
        caveats.append(f"languages without a {PRIMARY_DISTANCE} distance, left out: {', '.join(no_distance)}")
    if no_size:
        caveats.append(f"languages without a CC-100 size (the size control), left out: {', '.join(no_size)}")
    missing = sorted(evaluated - set(used) - set(unknown) - set(no_distance) - set(no_size))
    if missing:
        caveats.append(
            f"languages with no zero-shot gain (only a recipe's own sources), left out: {', '.join(missing)}"
        )
    return caveats


def _answer(joined, slopes, primary, scores, confidence, alpha, sources) -> Answer:
    q = question(sources)
    estimand = (
        f"pooled slope of the zero-shot gain on {PRIMARY_DISTANCE} distance (points per unit "
        "distance, log pretraining size held fixed)"
    )
    row = slopes.set_index("distance").loc[PRIMARY_DISTANCE]
    estimate = primary["estimate"]
    n_runs = int(joined[["model", "recipe", "seed"]].drop_duplicates().shape[0])
    caveats = [
        *excluded_caveats(scores, joined, primary["languages"]),
        *pairing_caveats(joined),
        f"confound: {PRIMARY_DISTANCE} distance and log CC-100 pretraining size correlate "
        f"(r = {row['size_correlation']:+.2f} over these languages); without the size control the "
        f"slope is {row['slope_without_size']:+.2f}",
        "distance varies between languages only: the slope rests on "
        f"{int(row['n_languages'])} languages, a fixed sample, whatever the number of runs",
    ]
    if primary["note"]:
        caveats.append(primary["note"])
    effect = mde(np.nan, se=estimate.se, df=estimate.df, alpha=alpha) if np.isfinite(estimate.se) else np.nan
    settings = dict(alpha=alpha, confidence=confidence, method=METHOD)
    if runs_per_arm(joined) < 2:
        caveats.append(
            "the minimum detectable effect uses the fit's standard error, in which seed noise and "
            "language x target variation cannot be told apart with one seed"
        )
        return one_seed_answer(q, estimand, estimate.estimate, n_runs, UNIT, effect, caveats, **settings)
    return tested_answer(
        q, estimand, estimate, n_runs=n_runs, unit=UNIT, mde=effect, caveats=caveats,
        words=("grows with distance", "shrinks with distance"), why_untested=primary["note"] or "no fit",
        **settings,
    )  # fmt: skip


def analyse(
    scores: pd.DataFrame,
    correlations: pd.DataFrame | None = None,
    *,
    n_resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
    alpha: float = 0.05,
) -> StudyResult:
    """``correlations``: the typology analysis's table (reports/typology/correlations.csv: the
    workflow's, so the exploratory tests are not run twice); without it, computed from ``scores``."""
    if correlations is None:
        correlations = correlation_table(
            zero_shot_gains(scores), n_resamples=n_resamples, seed=seed, confidence=confidence
        )
    elif "distance_from" not in correlations.columns:  # written before the source variant
        correlations = correlations.assign(distance_from=REFERENCE_LANGUAGE)
    correlations = correlations[STUDY_COLUMNS]
    joined = seed_gains(scores) if len(scores) else pd.DataFrame(columns=["distance_from"])
    sources = sorted(set(joined["distance_from"])) or [REFERENCE_LANGUAGE]
    notes = [
        "The per-test correlations are exploratory (BH q over their family): no count of them is the answer.",
        "Gains are paired by seed: each recipe's seed-s score minus the baseline's seed-s score.",
    ]
    if joined.empty:
        slopes = pd.DataFrame(columns=SLOPE_COLUMNS)
        why = "no zero-shot gains with distances (a baseline and a recipe are needed)"
        record = unanswerable(
            question(sources), f"pooled slope of the gain on {PRIMARY_DISTANCE} distance", why
        )
        return StudyResult(NAME, {"slopes": slopes, "correlations": correlations}, record, notes)
    n_runs = int(joined[["model", "recipe", "seed"]].drop_duplicates().shape[0])
    slopes, primary = slopes_table(joined, n_runs, confidence)
    record = _answer(joined, slopes, primary, scores, confidence, alpha, sources)
    return StudyResult(NAME, {"slopes": slopes, "correlations": correlations}, record, notes)


def figure(result: StudyResult):
    """The pooled slope per distance kind with its interval (the primary kind filled), and
    without the size control (grey)."""
    import matplotlib.pyplot as plt

    slopes = result.tables["slopes"]
    done = slopes[slopes["slope"].notna()]
    if done.empty:
        return message_figure(f"{result.name}: {result.answer}")
    figure, ax = plt.subplots(figsize=(7.5, 0.45 * len(done) + 1.8), layout="constrained")
    y = np.arange(len(done))
    ax.errorbar(done["slope"], y, xerr=[done["slope"] - done["ci_low"], done["ci_high"] - done["slope"]],
                fmt="none", ecolor="0.4", elinewidth=1)  # fmt: skip
    primary = (done["role"] == "primary").to_numpy()
    faces = np.where(primary, "tab:blue", "white")
    label = "controlling log pretraining size"
    ax.scatter(done["slope"], y, s=36, zorder=3, color="tab:blue", facecolors=faces, label=label)
    ax.scatter(done["slope_without_size"], y, s=18, marker="x", color="0.5", label="without the control")
    ax.axvline(0, color="0.3", linewidth=0.8)
    ax.set_yticks(y, [f"{k} ({r})" for k, r in zip(done["distance"], done["role"])])
    ax.invert_yaxis()
    ax.set_xlabel("pooled slope: gain points per unit URIEL distance")
    ax.legend(fontsize=8, loc="best")
    ax.set_title(_wrap(result.answer), fontsize=8)
    return figure


def _wrap(text: str, width: int = 100) -> str:
    import textwrap

    return textwrap.fill(text, width)


# ---------------------------------------------------------------- calibration (benchmarks/)

PLANTED_EFFECT = -8.0  # points of gain per unit of the primary distance (about 1 point per sd)


def simulate(design: Design, effect: float, rng: np.random.Generator) -> Simulation:
    """Gains of ``effect`` x the primary distance from English, plus a gain per recipe, per
    target and per language (sd 1, 1 and 0.5 points: heterogeneity that distance does not
    explain), under :func:`common.simulate_scores`' run noise."""
    distance = language_table()[PRIMARY_DISTANCE].fillna(0.0)
    recipe_gain = dict(zip(design.recipes, rng.normal(3.0, 1.0, len(design.recipes))))
    target_gain = dict(zip(design.targets, rng.normal(0.0, 1.0, len(design.targets))))
    languages = sorted({lang for langs in design.targets.values() for lang in langs})
    language_gain = dict(zip(languages, rng.normal(0.0, 0.5, len(languages))))

    def gain(model, recipe, target, language, base):
        return (
            recipe_gain[recipe] + target_gain[target] + language_gain[language] + effect * distance[language]
        )

    # the exploratory per-test correlations are not the answer: given empty, not computed
    no_tests = pd.DataFrame(columns=STUDY_COLUMNS)
    return Simulation(simulate_scores(design, gain, rng), truth=effect, inputs={"correlations": no_tests})
