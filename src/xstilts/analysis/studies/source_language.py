"""Source language (docs/science.md question 4): intermediate training in a non-English language vs English,
for zero-shot transfer to Finnish.

Recipes of the ``sources`` family are single-language versions of one intermediate task
(``mnli@de``: MNLI in German). A recipe's source language is its ``source_languages`` entry (as
results.collect writes it; or ``recipe_languages``) when it is one language, else the suffix
after ``@`` in its name, else English (a plain ``mnli`` is the English reference).
Multi-language recipes are not sources.

Primary answer (pre-specified, :data:`ESTIMAND`): the mean, over every zero-shot non-English
source (each base task, each target scored in the target language), of the score difference to
the English recipe of the same base task and seed. Why this one: it is the question as asked
(non-English sources vs English), it uses every source (the most power), and it needs no
choice made after seeing the data (not "the best source", nor a distance picked later). The
unit is the seed: per seed, the differences are averaged (the English run of that seed is
shared by all of them, so they are not independent), and a one-sample t-test over seeds gives
the interval and p (sources are the fixed set the config names). A source in the target
language itself (``tydiqa@fi`` scored on Finnish) is in-language supervision, not zero-shot
transfer: it is left out of the answer and marked ``in-language`` in the tables.

Tables (exploratory: Holm-adjusted over their family)
- ``per_source``: per model x base task x source, the paired difference to English averaged
  over the targets, t-interval over seeds, p and Holm p over the zero-shot sources.
- ``sources``: per model x target x base task x source, the same per target, its mean and sd
  over seeds, gain over ``none``, data kind (machine-translated, native, original).
- ``distance``: per model x target x base task, Spearman/Pearson between distance(source,
  target language) (a given table: source, target, distance) and the gain over English, over
  the zero-shot sources (English included, at 0).
- ``seeds``: the seed-level scores behind them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from xstilts.analysis.stats import correlate
from xstilts.analysis.studies.common import (
    ASSUMED_RUN_SD,
    Answer,
    Design,
    Simulation,
    StudyResult,
    adjust,
    grid_figure,
    language_gains,
    mde,
    message_figure,
    one_seed_answer,
    p_text,
    pairing_caveats,
    recipe_languages,
    simulate_scores,
    split_languages,
    t_interval,
    tested_answer,
    unanswerable,
)
from xstilts.analysis.tables import BASELINE_RECIPE
from xstilts.config import ConfigError
from xstilts.languages import DISTANCE_KINDS

NAME = "source-language"
TABLES = ("per_source", "sources", "distance", "seeds")
REFERENCE_SOURCE = "en"
TARGET_LANGUAGE = "fi"
OPTIONS = {
    "target_language": {
        "$ref": "#/$defs/name",
        "default": TARGET_LANGUAGE,
        "description": "the language transfer is scored in",
        "x-flag": "--target-language",
    },
    "distance": {
        "enum": list(DISTANCE_KINDS),
        "default": "syntactic",
        "description": "URIEL distance of each source from target_language (the shipped table)",
        "x-flag": "--distance-kind",
        "x-flag-default": None,  # the command: no distance unless asked for (or --distances)
    },
}
INPUTS = {"distances": "CSV with source, target, distance (default: the shipped table of --distance-kind)"}
DISTANCE_COLUMNS = ("source", "target", "distance")
ESTIMAND = "mean paired difference, non-English source minus English (points)"
UNIT = "seed"
ZERO_SHOT, IN_LANGUAGE, REFERENCE = "zero-shot", "in-language", "reference"
TRANSLATIONESE = (
    "Translationese: translated sources (XNLI translate-train, PAWS-X) are machine translations "
    "of the English data, so a difference to English mixes the language with translation "
    "artefacts and the loss of original-English phrasing; native sources (TyDiQA) differ in "
    "content too"
)
SOURCE_COLUMNS = [
    "model",
    "target",
    "base",
    "source",
    "recipe",
    "supervision",
    "data",
    "n_seeds",
    "score_mean",
    "score_sd",
    "gain_over_none",
    "gain_over_english",
    "ci_low",
    "ci_high",
    "p_value",
    "p_holm",
    "n_pairs",
    "distance",
    "reason",
]
PER_SOURCE_COLUMNS = [
    "model",
    "base",
    "source",
    "recipe",
    "supervision",
    "data",
    "n_targets",
    "gain_over_english",
    "ci_low",
    "ci_high",
    "p_value",
    "p_holm",
    "n_seeds",
    "reason",
]


def needs(cfg: dict) -> list[str]:
    language, recipes = cfg["study"]["target_language"], cfg["recipes"]
    evaluated = {lang for languages in cfg["targets"].values() for lang in languages}
    if language not in evaluated:
        raise ConfigError(
            f"config key study.target_language: {language!r}, which no target evaluates "
            f"({'; '.join(f'{t}: {ls}' for t, ls in cfg['targets'].items())}), so the "
            f"source-language study has no score to compare. Fix: add {language} to a target's "
            f"languages, or set study.target_language to one of {' '.join(sorted(evaluated))}."
        )
    single = [r["tasks"][0] for r in recipes if len(r["tasks"]) == 1]
    sources = {(t["task"], t["language"]) for t in single if t["language"] != "en"}
    english = {t["task"] for t in single if t["language"] == "en"}
    if not sources:
        return [
            "it compares recipes that train one task in another language with the English one, "
            "and no recipe trains in a language other than en. Fix: add a family (config key "
            "recipes), e.g. {family: sources, task: mnli, languages: [de, ru]}."
        ]
    if not any(task in english for task, _ in sources):
        return [
            f"it measures each source against the same task trained in English, and no recipe "
            f"trains {' or '.join(sorted({t for t, _ in sources}))} alone in en. Fix: add "
            f"{min(sources)[0]} to recipes (or en to the family's languages)."
        ]
    return []


def shipped_distances(kind: str) -> pd.DataFrame:
    """source, target, distance of one URIEL kind from the shipped pairwise table."""
    from xstilts.uriel import load_pairwise_distances

    return load_pairwise_distances()[kind].rename("distance").reset_index()


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


def data_kind(base: str, source: str) -> str:
    """The registry's kind of a task's training data in a language (machine-translated, native,
    original), or "unknown" (local data, unknown task)."""
    from xstilts.tasks import TASKS

    found = TASKS[base].training_source(source) if base in TASKS else None
    return found.kind if found else "unknown"


def check_distances(distances: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in DISTANCE_COLUMNS if c not in distances.columns]
    if missing:
        raise ValueError(
            f"distance table lacks columns {missing}: it needs source, target, distance (ISO 639-1 codes)"
        )
    return distances


def paired_differences(rows: pd.DataFrame, sources: pd.DataFrame) -> pd.DataFrame:
    """Per model x target x base x source x seed: the score minus the English recipe's score of
    the same base task and seed (rows without an English run of that seed are dropped)."""
    frame = rows.merge(sources[["recipe", "base", "source"]], on="recipe")
    english = frame[frame["source"] == REFERENCE_SOURCE].set_index(["model", "target", "base", "seed"])[
        "value"
    ]
    frame = frame.join(english.rename("english"), on=["model", "target", "base", "seed"])
    frame["difference"] = frame["value"] - frame["english"]
    return frame


def _supervision(source: str, target_language: str) -> str:
    if source == REFERENCE_SOURCE:
        return REFERENCE
    return IN_LANGUAGE if source == target_language else ZERO_SHOT


def _versus_english(row: dict, differences: pd.Series, confidence: float) -> dict:
    """A row's paired difference to English (one value per seed): t-interval and p over seeds."""
    if row["source"] == REFERENCE_SOURCE:
        return {**row, "gain_over_english": 0.0, "reason": "reference"}
    if differences.empty:
        return {**row, "reason": "no English reference run with the same seed"}
    est = t_interval(differences, confidence)
    return {**row, "gain_over_english": est.estimate, "ci_low": est.ci_low, "ci_high": est.ci_high,
            "p_value": est.p_value, "n_pairs": len(differences),
            "reason": "" if len(differences) > 1 else "one seed: no interval"}  # fmt: skip


def _exploratory(rows: list[dict], columns: list[str]) -> pd.DataFrame:
    """The rows as a table, Holm over the zero-shot sources, in-language rows marked."""
    table = pd.DataFrame(rows).reindex(columns=columns)
    zero_shot = table["supervision"] == ZERO_SHOT
    table.loc[zero_shot, "p_holm"] = adjust(table.loc[zero_shot, "p_value"])
    table.loc[table["supervision"] == IN_LANGUAGE, "reason"] = "in-language supervision: not in the answer"
    return table


def source_rows(frame: pd.DataFrame, target_language: str, confidence: float) -> pd.DataFrame:
    """The ``sources`` table: one row per model x target x base x source."""
    out = []
    for (model, target, base, source), rows in frame.groupby(
        ["model", "target", "base", "source"], sort=True
    ):
        values = rows["value"]
        row = {"model": model, "target": target, "base": base, "source": source,
               "recipe": rows["recipe"].iloc[0], "supervision": _supervision(source, target_language),
               "data": data_kind(base, source),
               "n_seeds": rows["seed"].nunique(), "score_mean": values.mean(),
               "score_sd": values.std(ddof=1) if len(values) > 1 else np.nan,
               "gain_over_none": rows["gain"].mean()}  # fmt: skip
        out.append(_versus_english(row, rows["difference"].dropna(), confidence))
    return _exploratory(out, SOURCE_COLUMNS)


def per_source_rows(frame: pd.DataFrame, target_language: str, confidence: float) -> pd.DataFrame:
    """The ``per_source`` table: each source's paired difference averaged over targets per seed,
    t over seeds, Holm over the zero-shot sources (the exploratory family)."""
    out = []
    for (model, base, source), rows in frame.groupby(["model", "base", "source"], sort=True):
        per_seed = rows.dropna(subset=["difference"]).groupby("seed")["difference"].mean()
        row = {"model": model, "base": base, "source": source, "recipe": rows["recipe"].iloc[0],
               "supervision": _supervision(source, target_language), "data": data_kind(base, source),
               "n_targets": rows["target"].nunique(), "n_seeds": len(per_seed)}  # fmt: skip
        out.append(_versus_english(row, per_seed, confidence))
    return _exploratory(out, PER_SOURCE_COLUMNS)


def primary_answer(frame, question, target_language, *, alpha, confidence, caveats) -> Answer:
    """:data:`ESTIMAND` over seeds (see the module docstring)."""
    zero_shot = frame[(frame["source"] != REFERENCE_SOURCE) & (frame["source"] != target_language)]
    zero_shot = zero_shot.dropna(subset=["difference"])
    if zero_shot.empty:
        why = (
            f"no {target_language} scores"
            if frame.empty
            else "no zero-shot non-English source recipe with an English reference run of the same seed"
        )
        return unanswerable(question, ESTIMAND, why, UNIT, caveats)
    per_seed = zero_shot.groupby("seed")["difference"].mean()
    n_sources = zero_shot.groupby(["model", "base", "source"]).ngroups
    method = f"one-sample t over seeds of the mean difference over {n_sources} source(s)"
    est = t_interval(per_seed, confidence)
    if len(per_seed) < 2:
        # with 3 seeds, at the assumed run sd (the shared English run dominates a seed's mean)
        would = mde(ASSUMED_RUN_SD * np.sqrt(1 + 1 / n_sources), 3, alpha=alpha)
        return one_seed_answer(
            question,
            ESTIMAND,
            est.estimate,
            len(per_seed),
            UNIT,
            np.nan,
            [
                *caveats,
                f"With 3 seeds and a run sd of {ASSUMED_RUN_SD:g} point(s) (assumed) the design "
                f"would detect {would:.2f} points",
            ],
            alpha=alpha,
            confidence=confidence,
            method=method,
        )
    return tested_answer(
        question, ESTIMAND, est, n_runs=len(per_seed), unit=UNIT, mde=mde(est.sd, len(per_seed), alpha=alpha),
        caveats=caveats, words=("non-English sources beat English", "English beats non-English sources"),
        alpha=alpha, confidence=confidence, method=method,
    )  # fmt: skip


def analyse(
    scores: pd.DataFrame,
    distances: pd.DataFrame | None = None,
    *,
    target_language: str = TARGET_LANGUAGE,
    distance: str | None = None,
    n_resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
    alpha: float = 0.05,
) -> StudyResult:
    """``distances``: source, target, distance; without it, the shipped URIEL table of kind
    ``distance``; without both, no distance column."""
    if distances is None and distance is not None:
        distances = shipped_distances(distance)
    question = (
        f"Does intermediate training in a non-English source language beat English for zero-shot "
        f"transfer to {target_language}?"
    )
    sources = recipe_sources(scores)
    single = sources.dropna(subset=["source"])
    gains = language_gains(scores)
    with_target = gains[(gains["language"] == target_language) & gains["recipe"].isin(single["recipe"])]
    targets_without = sorted(set(gains["target"]) - set(with_target["target"]))
    frame = paired_differences(with_target, single)
    table = source_rows(frame, target_language, confidence)
    per_source = per_source_rows(frame, target_language, confidence)
    if distances is not None:
        to_target = (
            check_distances(distances).query("target == @target_language").set_index("source")["distance"]
        )
        table["distance"] = table["source"].map(to_target)
    distance_table = pd.DataFrame(
        [
            _distance_row(rows, distances is not None, n_resamples, seed, confidence)
            for _, rows in table.groupby(["model", "target", "base"], sort=False)
        ]
    ).reindex(
        columns=[
            "model",
            "target",
            "base",
            "n",
            "spearman",
            "spearman_ci_low",
            "spearman_ci_high",
            "spearman_p",
            "pearson",
            "pearson_ci_low",
            "pearson_ci_high",
            "pearson_p",
            "sources",
            "reason",
        ]
    )
    in_language = sorted(set(table.loc[table["supervision"] == IN_LANGUAGE, "recipe"]))
    caveats = [TRANSLATIONESE]
    if in_language:
        caveats.append(
            f"Left out as in-language supervision (trained on {target_language} data, not zero-shot): "
            + ", ".join(in_language)
        )
    caveats += pairing_caveats(gains)
    notes = [
        f"scores: primary metric on {target_language}; gain_over_english: per-seed difference to the English "
        "recipe of the same base task (paired by seed), t-interval over seeds.",
        "per-source and per-target rows are exploratory: p_holm is Holm-adjusted over the zero-shot sources "
        "of the table; the distance correlations are exploratory too.",
    ]
    if targets_without:
        notes.append(f"targets without {target_language} scores (left out): {', '.join(targets_without)}")
    skipped = sorted(sources.loc[sources["source"].isna(), "recipe"])
    if skipped:
        notes.append(f"multi-language recipes left out: {', '.join(skipped)}")
    record = primary_answer(
        frame, question, target_language, alpha=alpha, confidence=confidence, caveats=caveats
    )
    best = per_source[per_source["supervision"] == ZERO_SHOT].dropna(subset=["p_holm"])
    if record.decision != "not identifiable":
        found = best[best["p_holm"] < alpha]
        record.detail = (
            f"Exploratory, per source (Holm over {len(best)}): "
            + (
                ", ".join(f"{r.source} ({r.base}) {r.gain_over_english:+.2f}" for r in found.itertuples())
                if len(found)
                else "no single source differs from English"
            )
            + "."
        )
    seeds = frame[["model", "target", "base", "source", "recipe", "seed", "value", "difference"]]
    tables = {"per_source": per_source, "sources": table, "distance": distance_table, "seeds": seeds}
    return StudyResult(NAME, tables, record, notes)


def _distance_row(table: pd.DataFrame, have_distances: bool, n_resamples: int, seed: int, confidence: float):
    keys = {k: table[k].iloc[0] for k in ("model", "target", "base")}
    if not have_distances:
        return {**keys, "reason": "no distance table given (columns source, target, distance)"}
    usable = table[table["supervision"] != IN_LANGUAGE].dropna(subset=["distance", "gain_over_english"])
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


# ---------------------------------------------------------------- calibration

PLANTED_EFFECT = 3.0  # points: every zero-shot non-English source beats English by this much
ENGLISH_GAIN = 2.0  # the English recipe's gain over none
IN_LANGUAGE_GAIN = 8.0  # in-language supervision (tydiqa@fi on Finnish): must not enter the answer
SOURCE_SPREAD = 1.5  # sd of the sources' own effects, centred so that their mean is the effect


def simulate(design: Design, effect: float, rng: np.random.Generator) -> Simulation:
    """The shipped design with every zero-shot source ``effect`` points above English on
    average (each source its own offset around it), in-language sources far above, run noise
    from :func:`common.simulate_scores`."""
    target_language = design.study.get("target_language", TARGET_LANGUAGE)
    zero_shot = [r for r, s in design.recipes.items() if s not in ("", REFERENCE_SOURCE, target_language)]
    offsets = rng.normal(0, SOURCE_SPREAD, len(zero_shot))
    offset = dict(zip(zero_shot, offsets - offsets.mean()))

    def gain(model, recipe, target, language, base):
        source = design.recipes[recipe]
        if source == target_language and language == target_language:
            return IN_LANGUAGE_GAIN
        return ENGLISH_GAIN + (effect + offset[recipe] if recipe in offset else 0.0)

    return Simulation(
        simulate_scores(design, gain, rng), truth=effect, inputs={"target_language": target_language}
    )


# ---------------------------------------------------------------- figure


def figure(result: StudyResult):
    """One panel per model x target x base task: one column per source language (by distance
    when known), seeds as small points, mean +- sd, English and ``none`` as reference lines;
    in-language sources hatched grey."""
    table, distance = result.tables["sources"], result.tables["distance"]
    if table.empty or table["score_mean"].notna().sum() == 0:
        return message_figure("Source language: " + result.answer)
    panels = list(table.groupby(["model", "target", "base"], sort=False))
    several_models = table["model"].nunique() > 1
    fig, axes = grid_figure(len(panels), columns=2, panel=(4.6, 3.3))
    seeds = result.tables.get("seeds")
    for ax, ((model, target, base), rows) in zip(axes, panels):
        order = rows.assign(english=rows["source"] != REFERENCE_SOURCE)
        keys = ["distance", "source"] if order["distance"].notna().any() else ["english", "source"]
        order = order.sort_values(keys, na_position="last").reset_index(drop=True)
        x = np.arange(len(order))
        for i, recipe in enumerate(order["recipe"]):
            values = seeds[
                (seeds["model"] == model) & (seeds["target"] == target) & (seeds["recipe"] == recipe)
            ]
            jitter = np.linspace(-0.06, 0.06, len(values)) if len(values) > 1 else np.zeros(len(values))
            ax.scatter(i - 0.2 + jitter, values["value"], s=12, color="tab:grey", alpha=0.8, zorder=2)
        colours = ["tab:grey" if s == IN_LANGUAGE else "tab:blue" for s in order["supervision"]]
        for i, (mean, sd, colour) in enumerate(
            zip(order["score_mean"], order["score_sd"].fillna(0), colours)
        ):
            ax.errorbar(
                i, mean, yerr=sd, fmt="o", color=colour, ecolor="black", capsize=3, markersize=5, zorder=3
            )
        english = order.loc[order["source"] == REFERENCE_SOURCE, "score_mean"]
        if len(english) and pd.notna(english.iloc[0]):
            ax.axhline(
                english.iloc[0], color="tab:red", linestyle="--", linewidth=0.8, label="English source"
            )
        baseline = (order["score_mean"] - order["gain_over_none"]).dropna()
        if len(baseline):
            ax.axhline(baseline.iloc[0], color="grey", linestyle=":", linewidth=0.8, label="none")
        labels = [
            f"{s}{'*' if sup == IN_LANGUAGE else ''}" + (f"\nd={d:.2f}" if pd.notna(d) else "")
            for s, sup, d in zip(order["source"], order["supervision"], order["distance"])
        ]
        ax.set_xticks(x, labels, fontsize=7)
        ax.set_xlim(-0.6, len(order) - 0.4)
        ax.tick_params(axis="y", labelsize=7)
        ax.set_ylabel("score on target language", fontsize=8)
        ax.set_xlabel("source language (*: in-language, not zero-shot; d: distance)", fontsize=7)
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
        "Score per source language (grey, left: seeds; mean ± sd over seeds). "
        + result.record.answer_text.split(":")[0],
        fontsize=9,
    )
    return fig
