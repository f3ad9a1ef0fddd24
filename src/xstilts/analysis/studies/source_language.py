"""Source language (SPEC question 4): intermediate training in a non-English language vs English,
for zero-shot transfer to Finnish.

Recipes of the ``sources`` family are single-language versions of one intermediate task
(``mnli@de``: MNLI in German). A recipe's source language is its ``source_languages`` entry (as
results.collect writes it; or ``recipe_languages``) when it is one language, else the suffix
after ``@`` in its name, else English (a plain ``mnli`` is the English reference).
Multi-language recipes are not sources.

Tables
- ``sources``: per model x target x base task x source language, the Finnish score's mean and sd
  over seeds, the gain over ``none`` and the gain over the English recipe paired by seed, with a
  bootstrap CI over seeds (English's own row: 0 by definition).
- ``seeds``: the seed-level scores behind ``sources``.
- ``distance``: per model x target x base task, Spearman/Pearson between distance(source,
  Finnish) (a given table: source, target, distance) and the gain over English, over the source
  languages (English included), with BCa CIs and permutation p-values (``stats.correlate``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from xstilts.analysis.stats import correlate
from xstilts.analysis.studies.common import (
    StudyResult,
    grid_figure,
    interval_text,
    language_gains,
    mean_interval,
    message_figure,
    p_text,
    pending_answer,
    recipe_languages,
    split_languages,
)
from xstilts.analysis.tables import BASELINE_RECIPE, ordered_targets

NAME = "source-language"
TABLES = ("sources", "distance", "seeds")
REFERENCE_SOURCE = "en"
TARGET_LANGUAGE = "fi"
DISTANCE_COLUMNS = ("source", "target", "distance")
SOURCE_COLUMNS = [
    "model", "target", "base", "source", "recipe", "n_seeds", "score_mean", "score_sd", "gain_over_none",
    "gain_over_english", "ci_low", "ci_high", "n_pairs", "distance", "reason",
]  # fmt: skip


def recipe_sources(scores: pd.DataFrame) -> pd.DataFrame:
    """Per intermediate recipe: base task and single source language (NaN for multi-language)."""
    listed = recipe_languages(scores)
    rows = []
    for recipe in sorted(set(scores["recipe"]) - {BASELINE_RECIPE}):
        base, _, suffix = recipe.partition("@")
        languages = split_languages(listed.get(recipe)) if listed is not None else ()
        if not languages:
            languages = tuple(part for part in suffix.split("+") if part) or (REFERENCE_SOURCE,)
        rows.append(
            {
                "recipe": recipe,
                "base": base,
                "source": languages[0] if len(languages) == 1 else np.nan,
                "n_source_languages": len(languages),
            }
        )
    return pd.DataFrame(rows, columns=["recipe", "base", "source", "n_source_languages"])


def check_distances(distances: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in DISTANCE_COLUMNS if c not in distances.columns]
    if missing:
        raise ValueError(
            f"distance table lacks columns {missing}: it needs source, target, distance (ISO 639-1 codes)"
        )
    return distances


def source_table(gains, sources, model, target, base, *, n_resamples, seed, confidence) -> pd.DataFrame:
    rows = gains[(gains["model"] == model) & (gains["target"] == target)]
    recipes = sources[sources["base"] == base].set_index("source")["recipe"]
    english = rows[rows["recipe"] == recipes.get(REFERENCE_SOURCE)].set_index("seed")["value"]
    out = []
    for source, recipe in recipes.items():
        per_seed = rows[rows["recipe"] == recipe].set_index("seed")["value"]
        gain = rows.loc[rows["recipe"] == recipe, "gain"]
        row = {
            "model": model,
            "target": target,
            "base": base,
            "source": source,
            "recipe": recipe,
            "n_seeds": len(per_seed),
            "score_mean": per_seed.mean() if len(per_seed) else np.nan,
            "score_sd": per_seed.std(ddof=1) if len(per_seed) > 1 else np.nan,
            "gain_over_none": gain.mean() if len(gain) else np.nan,
        }
        if source == REFERENCE_SOURCE:
            row.update(gain_over_english=0.0 if len(per_seed) else np.nan, reason="reference")
        elif english.empty or per_seed.empty:
            row.update(reason="no English reference scores" if english.empty else "no scores")
        else:
            paired = (per_seed - english).dropna()
            mean, low, high, note = mean_interval(
                paired, n_resamples=n_resamples, seed=seed, key=f"source/{model}/{target}/{recipe}",
                confidence=confidence,
            )  # fmt: skip
            unpaired = len(per_seed) + len(english) - 2 * len(paired)
            row.update(
                gain_over_english=mean,
                ci_low=low,
                ci_high=high,
                n_pairs=len(paired),
                reason="; ".join(
                    filter(None, [note, f"{unpaired} unpaired seed(s) left out" if unpaired else ""])
                ),
            )
        out.append(row)
    return pd.DataFrame(out).reindex(columns=SOURCE_COLUMNS)


def analyse(
    scores: pd.DataFrame,
    distances: pd.DataFrame | None = None,
    *,
    target_language: str = TARGET_LANGUAGE,
    n_resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> StudyResult:
    question = (
        f"Does intermediate training in a non-English source language beat English for zero-shot "
        f"transfer to {target_language}, and does the source's distance from {target_language} matter?"
    )
    sources = recipe_sources(scores)
    single = sources.dropna(subset=["source"])
    gains = language_gains(scores)
    with_target = gains[gains["language"] == target_language]
    targets_without = sorted(set(gains["target"]) - set(with_target["target"]))
    columns = SOURCE_COLUMNS
    frames, distance_rows = [], []
    if distances is not None:
        distances = check_distances(distances)
        to_target = distances[distances["target"] == target_language].set_index("source")["distance"]
    for model in sorted(with_target["model"].unique()):
        for target in ordered_targets(with_target["target"].unique()):
            for base in sorted(single["base"].unique()):
                table = source_table(
                    with_target,
                    single,
                    model,
                    target,
                    base,
                    n_resamples=n_resamples,
                    seed=seed,
                    confidence=confidence,
                )
                if distances is not None:
                    table["distance"] = table["source"].map(to_target)
                frames.append(table)
                distance_rows.append(
                    _distance_row(table, distances is not None, n_resamples, seed, confidence)
                )
    table = (
        pd.concat(frames, ignore_index=True).reindex(columns=columns)
        if frames
        else pd.DataFrame(columns=columns)
    )
    distance_table = pd.DataFrame(distance_rows).reindex(
        columns=["model", "target", "base", "n", "spearman", "spearman_ci_low", "spearman_ci_high",
                 "spearman_p", "pearson", "pearson_ci_low", "pearson_ci_high", "pearson_p", "sources",
                 "reason"]
    )  # fmt: skip
    notes = [
        f"scores: primary metric on {target_language}; gain_over_english: per-seed difference to the English "
        "recipe of the same base task (paired by seed), bootstrap CI over seeds (few seeds: coarse).",
    ]
    if targets_without:
        notes.append(f"targets without {target_language} scores (left out): {', '.join(targets_without)}")
    skipped = sorted(sources.loc[sources["source"].isna(), "recipe"])
    if skipped:
        notes.append(f"multi-language recipes left out: {', '.join(skipped)}")
    answer, uncertainty = _summary(table, distance_table, target_language, confidence)
    seeds = with_target.merge(single[["recipe", "base", "source"]], on="recipe")
    seeds = seeds[["model", "target", "base", "source", "recipe", "seed", "value"]]
    tables = {"sources": table, "distance": distance_table, "seeds": seeds}
    return StudyResult(NAME, tables, pending_answer(question, answer, uncertainty), notes)


def _distance_row(table: pd.DataFrame, have_distances: bool, n_resamples: int, seed: int, confidence: float):
    keys = {k: table[k].iloc[0] for k in ("model", "target", "base")} if len(table) else {}
    if not have_distances:
        return {**keys, "reason": "no distance table given (columns source, target, distance)"}
    usable = table.dropna(subset=["distance", "gain_over_english"])
    result = correlate(
        usable["distance"],
        usable["gain_over_english"],
        n_resamples=n_resamples,
        seed=seed,
        key="source/" + "/".join(map(str, keys.values())),
        confidence=confidence,
    )
    shown = {
        k: result[k] for k in result if k.split("_")[0] in ("spearman", "pearson") or k in ("n", "reason")
    }
    return {**keys, **shown, "sources": " ".join(usable["source"])}


def _summary(table, distance_table, target_language, confidence) -> tuple[str, str]:
    compared = table.dropna(subset=["gain_over_english"])
    compared = compared[compared["source"] != REFERENCE_SOURCE]
    if compared.empty:
        why = (
            f"no {target_language} scores"
            if table.empty
            else "no non-English source recipe with an English reference on the same seeds"
        )
        return f"Not answerable here: {why}.", "None."
    better = compared[compared["ci_low"] > 0]
    worse = compared[compared["ci_high"] < 0]
    best = compared.loc[compared["gain_over_english"].idxmax()]
    answer = (
        f"The best source is {best['source']} ({best['recipe']} on {best['target']}: "
        f"{best['gain_over_english']:+.2f} points over English); {len(better)} of {len(compared)} "
        f"source/target pairs beat English and {len(worse)} fall behind it, with intervals excluding 0."
    )
    tested = (
        distance_table.dropna(subset=["spearman"])
        if "spearman" in distance_table
        else distance_table.iloc[:0]
    )
    if tested.empty:
        reasons = distance_table["reason"].dropna()
        distance_text = f"distance relation not tested ({reasons.iloc[0] if len(reasons) else 'no rows'})"
    else:
        row = tested.loc[tested["spearman_p"].idxmin()]
        distance_text = (
            f"distance to {target_language} vs gain on {row['target']}: Spearman {row['spearman']:+.2f} "
            f"({p_text(row['spearman_p'])}, n={int(row['n'])} sources)"
        )
    few = " (so few pairs: the bootstrap understates the spread)" if best["n_pairs"] < 5 else ""
    uncertainty = (
        f"Best source: {interval_text(best['ci_low'], best['ci_high'], confidence, 2)} over "
        f"{int(best['n_pairs'])} paired seeds{few}; {distance_text}."
    )
    return answer, uncertainty


def figure(result: StudyResult):
    """One panel per model x target x base task: one column per source language (by distance
    when known), seeds as small points, mean +- sd, English and ``none`` as reference lines."""
    table, distance = result.tables["sources"], result.tables["distance"]
    if table.empty or table["score_mean"].notna().sum() == 0:
        return message_figure("Source language: " + result.answer)
    panels = list(table.groupby(["model", "target", "base"], sort=False))
    several_models = table["model"].nunique() > 1
    fig, axes = grid_figure(len(panels), columns=2, panel=(4.6, 3.3))
    seeds = result.tables.get("seeds")
    for ax, ((model, target, base), rows) in zip(axes, panels):
        order = rows.assign(english=rows["source"] != REFERENCE_SOURCE)
        keys = (
            ["distance", "source"]
            if "distance" in order and order["distance"].notna().any()
            else ["english", "source"]
        )
        order = order.sort_values(keys, na_position="last").reset_index(drop=True)
        x = np.arange(len(order))
        if seeds is not None:
            for i, recipe in enumerate(order["recipe"]):
                values = seeds[
                    (seeds["model"] == model) & (seeds["target"] == target) & (seeds["recipe"] == recipe)
                ]
                jitter = np.linspace(-0.06, 0.06, len(values)) if len(values) > 1 else np.zeros(len(values))
                ax.scatter(i - 0.2 + jitter, values["value"], s=12, color="tab:grey", alpha=0.8, zorder=2)
        ax.errorbar(x, order["score_mean"], yerr=order["score_sd"].fillna(0), fmt="o", color="tab:blue",
                    ecolor="black", capsize=3, markersize=5, zorder=3)  # fmt: skip
        english = order.loc[order["source"] == REFERENCE_SOURCE, "score_mean"]
        if len(english) and pd.notna(english.iloc[0]):
            ax.axhline(
                english.iloc[0], color="tab:red", linestyle="--", linewidth=0.8, label="English source"
            )
        else:
            ax.text(0.5, 0.98, "no English reference scores", transform=ax.transAxes, ha="center", va="top",
                    fontsize=7, color="tab:red")  # fmt: skip
        baseline = order["score_mean"] - order["gain_over_none"]
        if baseline.notna().any():
            ax.axhline(baseline.dropna().iloc[0], color="grey", linestyle=":", linewidth=0.8, label="none")
        labels = [
            f"{s}\nd={d:.2f}" if pd.notna(d) else s
            for s, d in zip(order["source"], order.get("distance", pd.Series(np.nan, index=order.index)))
        ]
        ax.set_xticks(x, labels, fontsize=7)
        for i, value in enumerate(order["score_mean"]):
            if pd.isna(value):
                ax.text(
                    i,
                    0.02,
                    "missing",
                    transform=ax.get_xaxis_transform(),
                    ha="center",
                    fontsize=6,
                    rotation=90,
                )
        ax.set_xlim(-0.6, len(order) - 0.4)
        ax.tick_params(axis="y", labelsize=7)
        ax.set_ylabel("score on target language", fontsize=8)
        ax.set_xlabel("source language (d: distance to target language)", fontsize=7)
        match = distance[
            (distance["model"] == model) & (distance["target"] == target) & (distance["base"] == base)
        ]
        stat = ""
        if len(match) and pd.notna(match["spearman"].iloc[0]):
            rho, p = match["spearman"].iloc[0], match["spearman_p"].iloc[0]
            stat = f"\nρ(distance, gain over en)={rho:+.2f} {p_text(p)}"
        where = f"{model} " if several_models else ""
        ax.set_title(f"{where}{target}, {base}{stat}", fontsize=8)
        ax.legend(fontsize=7, frameon=False, loc="best")
    fig.suptitle(
        "Score per source language of the intermediate task (grey, left: seeds; blue: mean ± sd over seeds)",
        fontsize=9,
    )
    return fig
