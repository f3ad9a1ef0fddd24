"""Typology (SPEC question 1): does the gain from intermediate training shrink as the target
language gets further from the source language?

The tests are the typology analysis's own (:func:`xstilts.analysis.typology.correlation_table`:
per model x target x recipe x URIEL distance kind, Spearman as the main statistic, BCa intervals
over languages, permutation p, Benjamini-Hochberg q across the family). This study adds what the
report's "Studies" section needs: per distance kind the tests pooled, and the caption.

Tables
- ``summary``: per distance kind, the number of tests computed (and not), the median Spearman ρ,
  how many are negative, how many intervals lie wholly below or above 0, how many have q < alpha,
  and the range of languages per test.
- ``correlations``: the tests themselves, their Spearman columns (Pearson, Kendall and the
  partial correlations: ``reports/typology/correlations.csv``), with ``significant`` (q < alpha).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from xstilts.analysis.languages import DISTANCE_KINDS, language_table
from xstilts.analysis.studies.common import (
    Design,
    Simulation,
    StudyResult,
    message_figure,
    pending_answer,
    simulate_scores,
)
from xstilts.analysis.typology import REFERENCE_LANGUAGE, correlation_table, zero_shot_gains

NAME = "typology"
PRIMARY_DISTANCE = "syntactic"  # pre-specified: SPEC section 6 lists it first
TABLES = ("summary", "correlations")
SUMMARY_COLUMNS = [
    "distance", "tests", "not_computed", "median_spearman", "negative", "ci_below_0", "ci_above_0",
    "q_below_alpha", "min_languages", "max_languages",
]  # fmt: skip


STUDY_COLUMNS = [
    "model", "target", "recipe", "distance", "distance_from", "n", "spearman", "spearman_ci_low",
    "spearman_ci_high", "spearman_p", "spearman_q", "significant", "languages", "reason",
]  # fmt: skip


def summary_table(correlations: pd.DataFrame, alpha: float) -> pd.DataFrame:
    rows = []
    for kind in DISTANCE_KINDS:
        tests = correlations[correlations["distance"] == kind]
        done = tests[tests["spearman"].notna()]
        rows.append(
            {
                "distance": kind,
                "tests": len(done),
                "not_computed": len(tests) - len(done),
                "median_spearman": done["spearman"].median() if len(done) else np.nan,
                "negative": int((done["spearman"] < 0).sum()),
                "ci_below_0": int((done["spearman_ci_high"] < 0).sum()),
                "ci_above_0": int((done["spearman_ci_low"] > 0).sum()),
                "q_below_alpha": int((done["spearman_q"] < alpha).sum()),
                "min_languages": done["n"].min() if len(done) else np.nan,
                "max_languages": done["n"].max() if len(done) else np.nan,
            }
        )
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


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
    workflow's, so the tests are not run twice); without it, computed from ``scores``."""
    if correlations is None:
        correlations = correlation_table(
            zero_shot_gains(scores), n_resamples=n_resamples, seed=seed, confidence=confidence
        )
    elif "distance_from" not in correlations.columns:  # written before the source variant
        correlations = correlations.assign(distance_from=REFERENCE_LANGUAGE)
    sources = sorted(set(correlations["distance_from"])) or ["en"]
    question = (
        "Does the gain from intermediate training shrink as the target language gets further "
        f"(URIEL distance) from the source language ({', '.join(sources)})?"
    )
    correlations = correlations.assign(significant=correlations["spearman_q"] < alpha)
    correlations = correlations[STUDY_COLUMNS]  # the rest: reports/typology/correlations.csv
    summary = summary_table(correlations, alpha)
    done = correlations[correlations["spearman"].notna()]
    tables = {"summary": summary, "correlations": correlations}
    if done.empty:
        reasons = sorted(set(correlations["reason"].dropna())) or ["no zero-shot gains with distances"]
        return StudyResult(
            NAME,
            tables,
            pending_answer(
                question,
                "Not answerable: no test could be computed.",
                f"Nothing to quantify ({'; '.join(reasons)}).",
            ),
        )
    negative, below, above = (int(summary[c].sum()) for c in ("negative", "ci_below_0", "ci_above_0"))
    significant = int(summary["q_below_alpha"].sum())
    answer = (
        f"Of {len(done)} tests (model x target x recipe x distance kind), {negative} have a negative "
        f"Spearman ρ (median {done['spearman'].median():+.2f}) and {significant} reach q < {alpha:g} "
        f"after false-discovery control; {below} intervals lie wholly below 0 and {above} wholly above."
    )
    widths = done["spearman_ci_high"] - done["spearman_ci_low"]
    uncertainty = (
        f"Each ρ rests on {int(done['n'].min())} to {int(done['n'].max())} languages; its "
        f"{confidence:.0%} BCa interval (languages resampled) is {widths.median():.2f} wide on median"
        + (", so a test this small can miss a real but moderate trend." if done["n"].max() < 10 else ".")
    )
    notes = []
    skipped = correlations[correlations["spearman"].isna()]
    if len(skipped):
        reasons = "; ".join(sorted(set(skipped["reason"].dropna())))
        notes.append(f"{len(skipped)} tests not computed: {reasons}")
    return StudyResult(NAME, tables, pending_answer(question, answer, uncertainty), notes)


def figure(result: StudyResult):
    """Spearman ρ with its interval per test, one panel per distance kind; filled: significant."""
    import matplotlib.pyplot as plt

    correlations = result.tables["correlations"]
    done = correlations[correlations["spearman"].notna()]
    if done.empty:
        return message_figure(f"{result.name}: {result.answer}")
    labels = sorted({f"{r.model} / {r.target} / {r.recipe}" for r in done.itertuples()})
    kinds = [k for k in DISTANCE_KINDS if (done["distance"] == k).any()]
    columns = min(3, len(kinds))
    rows_of_panels = -(-len(kinds) // columns)
    figure, grid = plt.subplots(
        rows_of_panels, columns, sharey=True, squeeze=False, layout="constrained",
        figsize=(2.8 * columns + 2.6, rows_of_panels * (0.3 * len(labels) + 1.2) + 0.5),
    )  # fmt: skip
    for ax in grid.flat[len(kinds) :]:
        ax.set_visible(False)
    axes = [list(grid.flat[: len(kinds)])]
    for ax, kind in zip(axes[0], kinds, strict=True):
        rows = done[done["distance"] == kind]
        y = [labels.index(f"{r.model} / {r.target} / {r.recipe}") for r in rows.itertuples()]
        ax.errorbar(
            rows["spearman"], y,
            xerr=[rows["spearman"] - rows["spearman_ci_low"], rows["spearman_ci_high"] - rows["spearman"]],
            fmt="none", ecolor="0.5", elinewidth=1,
        )  # fmt: skip
        for filled in (False, True):
            chosen = rows[rows["significant"] == filled]
            ax.scatter(
                chosen["spearman"],
                [labels.index(f"{r.model} / {r.target} / {r.recipe}") for r in chosen.itertuples()],
                s=28, zorder=3, color="tab:blue", facecolors="tab:blue" if filled else "white",
            )  # fmt: skip
        ax.axvline(0, color="0.3", linewidth=0.8)
        ax.set_xlim(-1.05, 1.05)
        ax.set_title(kind, fontsize=10)
        ax.set_xlabel("Spearman ρ")
    axes[0][0].set_yticks(range(len(labels)), labels)
    axes[0][0].invert_yaxis()  # shared: every panel
    for ax in axes[0]:
        ax.tick_params(axis="y", labelsize=8)
    figure.suptitle(
        "Gain vs distance from the source language: Spearman ρ and its interval (filled: FDR q < α)",
        fontsize=10,
    )
    return figure


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

    return Simulation(simulate_scores(design, gain, rng), truth=effect)
