"""Scale (SPEC question 2): does a larger pretrained model amplify or diminish the gain?

Tables
- ``gains``: per model x recipe x target: baseline, gain (mean over languages; sd over seeds of
  that mean), relative gain ``gain / baseline`` and headroom gain ``gain / (100 - baseline)``
  (both in percent, ratios of the language means).
- ``resource``: the same per CC-100 pretraining-size bin of the language (shipped table).
- ``interaction``: per recipe and larger model, the size x recipe interaction on the score:
  a statsmodels MixedLM ``value ~ C(model) * C(recipe)`` (recipe in {none, recipe}) with a random
  intercept per target and a variance component per language within target, and, as a check of
  the same contrast, a sign-flip permutation test and bootstrap CI over languages of the
  per-language difference in gain (larger minus reference model, averaged over targets), for
  the absolute, relative and headroom gains.

Model size: a ``model_size`` column (parameters) or ``sizes={model: parameters}``; without
either, models are ordered by name and the notes say so.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from xstilts.analysis.languages import load_languages
from xstilts.analysis.studies.common import (
    Design,
    Simulation,
    StudyResult,
    cell_means,
    grid_figure,
    interval_text,
    language_gains,
    mean_interval,
    message_figure,
    p_text,
    pending_answer,
    recipe_column,
    sign_flip_p,
    simulate_scores,
)
from xstilts.analysis.tables import BASELINE_RECIPE, ordered_targets

NAME = "scale"
HEADROOM_CEILING = 100.0  # every primary metric is a percentage
TABLES = ("gains", "resource", "interaction")
QUESTION = (
    "Does a larger pretrained model amplify or diminish the (relative) gain from intermediate training?"
)
# CC-100 GiB bin edges (Conneau et al. 2020 Table 6): low < 10 <= mid < 50 <= high.
RESOURCE_BINS = (10.0, 50.0)
NOT_IN_CC100 = "not in CC-100"
ALL_LANGUAGES = "all languages"
GAIN_KINDS = {
    "gain": lambda gain, base: gain,
    "relative_gain": lambda gain, base: 100 * gain / base,
    "headroom_gain": lambda gain, base: 100 * gain / (100 - base),
}


def resource_level(languages, edges=RESOURCE_BINS) -> pd.Series:
    """Bin label per ISO 639-1 code from the shipped CC-100 sizes."""
    sizes = load_languages().set_index("iso639_1")["cc100_gib"]
    low, high = edges
    labels = {}
    for language in languages:
        size = sizes.get(language, np.nan)
        if pd.isna(size):
            labels[language] = NOT_IN_CC100
        elif size < low:
            labels[language] = f"low (<{low:g} GiB)"
        elif size < high:
            labels[language] = f"mid ({low:g}-{high:g} GiB)"
        else:
            labels[language] = f"high (>={high:g} GiB)"
    return pd.Series(labels, dtype=object)


def model_order(scores: pd.DataFrame, sizes: dict | None) -> tuple[list[str], dict, str]:
    """Models smallest first, their sizes, and a note when sizes are unknown."""
    models = sorted(scores["model"].unique())
    known = dict(sizes or {})
    column = recipe_column(scores, "model_size", key="model")
    if column is not None:
        known = {**column.to_dict(), **known}
    if all(model in known and pd.notna(known[model]) for model in models):
        return sorted(models, key=lambda m: (float(known[m]), m)), known, ""
    note = (
        "model sizes not given (a `model_size` column or --model-size NAME=PARAMS): models ordered "
        f"by name, reference model {models[0]}"
        if models
        else ""
    )
    return models, known, note


def _ratios(frame: pd.DataFrame) -> pd.DataFrame:
    frame["relative_gain"] = 100 * frame["gain"] / frame["baseline"]
    frame["headroom_gain"] = 100 * frame["gain"] / (100 - frame["baseline"])
    return frame


def gains_table(gains: pd.DataFrame, models, recipes, targets) -> pd.DataFrame:
    """Per model x recipe x target, every combination listed; missing ones say why."""
    per_seed = gains.groupby(["model", "recipe", "target", "seed"])[["gain", "baseline"]].mean()
    grouped = per_seed.groupby(level=["model", "recipe", "target"])
    table = pd.DataFrame(
        {
            "baseline": grouped["baseline"].mean(),
            "gain": grouped["gain"].mean(),
            "gain_sd_seeds": grouped["gain"].std(ddof=1),
            "n_seeds": grouped["gain"].count(),
        }
    )
    languages = gains.dropna(subset=["gain"]).groupby(["model", "recipe", "target"])["language"].nunique()
    table["n_languages"] = languages
    full = pd.MultiIndex.from_product([models, recipes, targets], names=["model", "recipe", "target"])
    table = _ratios(table.reindex(full)).reset_index()
    has_base = set(
        zip(gains.loc[gains["baseline"].notna(), "model"], gains.loc[gains["baseline"].notna(), "target"])
    )
    table["reason"] = [
        ""
        if pd.notna(row.gain)
        else ("no baseline (none) scores" if (row.model, row.target) not in has_base else "no scores")
        for row in table.itertuples()
    ]
    table["n_seeds"] = table["n_seeds"].fillna(0).astype(int)
    table["n_languages"] = table["n_languages"].fillna(0).astype(int)
    return table


def resource_table(cells: pd.DataFrame, models, recipes) -> pd.DataFrame:
    """Per model x recipe x resource bin over all (target, language) cells with a gain, and
    ``ALL_LANGUAGES``: the model's overall row."""
    cells = cells.dropna(subset=["gain"])
    bins = resource_level(cells["language"].unique())
    binned = cells.assign(resource=cells["language"].map(bins))
    cells = pd.concat([binned, cells.assign(resource=ALL_LANGUAGES)])
    order = sorted(set(bins), key=lambda b: ("low" not in b, "mid" not in b, "high" not in b, b))
    order.append(ALL_LANGUAGES)
    grouped = cells.groupby(["model", "recipe", "resource"])
    table = pd.DataFrame(
        {
            "baseline": grouped["baseline"].mean(),
            "gain": grouped["gain"].mean(),
            "gain_sd_cells": grouped["gain"].std(ddof=1),
            "n_cells": grouped["gain"].count(),
            "languages": grouped["language"].agg(lambda s: " ".join(sorted(set(s)))),
        }
    )
    full = pd.MultiIndex.from_product([models, recipes, order], names=["model", "recipe", "resource"])
    table = _ratios(table.reindex(full)).reset_index()
    table["n_cells"] = table["n_cells"].fillna(0).astype(int)
    return table


def mixed_interaction(rows: pd.DataFrame, reference: str, larger: str, recipe: str) -> dict:
    """MixedLM coefficient of the larger-model x recipe term (points of score)."""
    import statsmodels.formula.api as smf

    targets = rows["target"].nunique()
    data = rows.assign(
        model=pd.Categorical(rows["model"], categories=[reference, larger]),
        recipe=pd.Categorical(rows["recipe"], categories=[BASELINE_RECIPE, recipe]),
    )
    formula = "value ~ C(model) * C(recipe)"
    if targets >= 2:
        design = "random intercept per target, variance component per language within target"
        model = smf.mixedlm(formula, data, groups="target", vc_formula={"language": "0 + C(language)"})
    else:
        design = "one target: random intercept per language"
        model = smf.mixedlm(formula, data, groups="language")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            fit = model.fit(reml=True, method=["lbfgs", "powell"])
        except (np.linalg.LinAlgError, ValueError) as error:
            return {"mixed_reason": f"MixedLM failed: {error}", "random_effects": design}
    term = f"C(model)[T.{larger}]:C(recipe)[T.{recipe}]"
    low, high = fit.conf_int().loc[term]
    notes = sorted({type(w.message).__name__ for w in caught if "Convergence" in type(w.message).__name__})
    return {
        "mixed_coef": float(fit.params[term]),
        "mixed_se": float(fit.bse[term]),
        "mixed_ci_low": float(low),
        "mixed_ci_high": float(high),
        "mixed_p": float(fit.pvalues[term]),
        "random_effects": design,
        "mixed_reason": ("; ".join(notes) + ": read with care") if notes else "",
    }


def language_differences(
    cells: pd.DataFrame, reference: str, larger: str, recipe: str, kind: str
) -> pd.Series:
    """Per language: (larger - reference) in the chosen gain kind, averaged over the targets
    where both models have the cell."""
    pick = cells[(cells["recipe"] == recipe) & cells["model"].isin([reference, larger])].dropna(
        subset=["gain"]
    )
    pick = pick.assign(measure=GAIN_KINDS[kind](pick["gain"], pick["baseline"]))
    wide = pick.pivot_table(index=["target", "language"], columns="model", values="measure")
    if reference not in wide or larger not in wide:
        return pd.Series(dtype=float)
    difference = (wide[larger] - wide[reference]).dropna()
    return difference.groupby(level="language").mean()


def interaction_table(gains, cells, models, recipes, *, n_resamples, seed, confidence) -> pd.DataFrame:
    rows = []
    reference = models[0] if models else None
    for recipe in recipes:
        for larger in models[1:]:
            for kind in GAIN_KINDS:
                row = {"recipe": recipe, "reference_model": reference, "model": larger, "contrast": kind}
                differences = language_differences(cells, reference, larger, recipe, kind)
                key = f"scale/{recipe}/{larger}/{kind}"
                mean, low, high, note = mean_interval(
                    differences, n_resamples=n_resamples, seed=seed, key=key, confidence=confidence
                )
                row.update(
                    n_languages=len(differences),
                    difference=mean,
                    ci_low=low,
                    ci_high=high,
                    permutation_p=sign_flip_p(
                        differences, n_resamples=n_resamples, seed=seed, key=key + "/p"
                    ),
                    reason=note
                    if len(differences) >= 2
                    else f"{len(differences)} language(s) with both models",
                )
                if kind == "gain":
                    row.update(_mixed_for(gains, reference, larger, recipe))
                rows.append(row)
    columns = [
        "recipe", "reference_model", "model", "contrast", "n_languages", "difference", "ci_low", "ci_high",
        "permutation_p", "mixed_coef", "mixed_se", "mixed_ci_low", "mixed_ci_high", "mixed_p",
        "random_effects", "mixed_reason", "reason",
    ]  # fmt: skip
    return pd.DataFrame(rows).reindex(columns=columns)


def _mixed_for(gains: pd.DataFrame, reference: str, larger: str, recipe: str) -> dict:
    """Fit on the (target, language) cells every model/recipe pair has (a balanced contrast)."""
    rows = gains[gains["model"].isin([reference, larger]) & gains["recipe"].isin([BASELINE_RECIPE, recipe])]
    rows = rows.dropna(subset=["value"])
    complete = rows.groupby(["target", "language"])[["model", "recipe"]].apply(
        lambda g: len(set(zip(g["model"], g["recipe"]))) == 4
    )
    keep = complete[complete].index
    rows = rows.set_index(["target", "language"]).loc[lambda f: f.index.isin(keep)].reset_index()
    if rows["language"].nunique() < 3:
        return {
            "mixed_reason": "MixedLM needs >= 3 languages with all four cells, "
            f"has {rows['language'].nunique()}"
        }
    return mixed_interaction(rows, reference, larger, recipe)


def analyse(
    scores: pd.DataFrame,
    *,
    sizes: dict | None = None,
    n_resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> StudyResult:
    models, known_sizes, size_note = model_order(scores, sizes)
    gains = language_gains(scores)
    cells = cell_means(gains)
    recipes = sorted(set(gains["recipe"]) - {BASELINE_RECIPE})
    targets = ordered_targets(gains["target"].unique())
    tables = {
        "gains": gains_table(gains, models, recipes, targets),
        "resource": resource_table(cells, models, recipes),
        "interaction": interaction_table(
            gains, cells, models, recipes, n_resamples=n_resamples, seed=seed, confidence=confidence
        ),
    }
    notes = [n for n in [size_note] if n]
    if known_sizes:
        notes.append(
            "model sizes: " + ", ".join(f"{m} {known_sizes[m]:.3g}" for m in models if m in known_sizes)
        )
    notes += [
        "relative_gain = 100 * gain / baseline; headroom_gain = 100 * gain / (100 - baseline) (percent).",
        "interaction: positive = the larger model gains more than the reference model; "
        "`difference`/CI/permutation_p: per-language differences averaged over targets, resampled "
        "over languages.",
    ]
    answer, uncertainty = _summary(tables["interaction"], models, confidence)
    return StudyResult(NAME, tables, pending_answer(QUESTION, answer, uncertainty), notes)


def _summary(interaction: pd.DataFrame, models, confidence) -> tuple[str, str]:
    if len(models) < 2:
        why = f"only one model ({models[0]})" if models else "no scores"
        return f"Not answerable here: {why}; the study needs at least two model sizes.", "None: no contrast."
    rows = interaction[(interaction["contrast"] == "gain") & interaction["difference"].notna()]
    if rows.empty:
        return "Not answerable here: no recipe has gains for two models on shared languages.", "None."
    row = rows.loc[rows["difference"].abs().idxmax()]
    direction = "amplifies" if row["difference"] > 0 else "diminishes"
    headroom = interaction[
        (interaction["contrast"] == "headroom_gain")
        & (interaction["recipe"] == row["recipe"])
        & (interaction["model"] == row["model"])
    ]
    relative = (
        f" (headroom gain {headroom['difference'].iloc[0]:+.1f} percent points)"
        if not headroom.empty and pd.notna(headroom["difference"].iloc[0])
        else ""
    )
    answer = (
        f"For {row['recipe']}, {row['model']} {direction} the gain relative to {row['reference_model']} "
        f"(difference {row['difference']:+.2f} points per language{relative})"
        + (f"; {len(rows)} recipe/model contrasts in all." if len(rows) > 1 else ".")
    )
    mixed = (
        f"; MixedLM interaction {row['mixed_coef']:+.2f} ({p_text(row['mixed_p'])})"
        if pd.notna(row.get("mixed_coef"))
        else f"; MixedLM: {row.get('mixed_reason') or 'not fitted'}"
    )
    uncertainty = (
        f"{interval_text(row['ci_low'], row['ci_high'], confidence, 2)} "
        f"over {int(row['n_languages'])} languages, "
        f"permutation {p_text(row['permutation_p'])}{mixed}."
    )
    return answer, uncertainty


def figure(result: StudyResult):
    """Per recipe: gain per target (left) and per resource bin (right), one colour per model."""
    import matplotlib.pyplot as plt

    gains, resource = result.tables["gains"], result.tables["resource"]
    recipes = sorted(gains["recipe"].unique())
    if gains["gain"].notna().sum() == 0:
        return message_figure("Scale: no intermediate-task gains to plot.")
    models = list(dict.fromkeys(gains["model"]))
    colours = dict(zip(models, plt.get_cmap("tab10").colors))
    fig, axes = grid_figure(2 * len(recipes), columns=2, panel=(5.2, 3.2), extra_height=1.0)
    width = 0.8 / max(1, len(models))
    interaction = result.tables["interaction"]
    for r, recipe in enumerate(recipes):
        contrasts = interaction[(interaction["recipe"] == recipe) & (interaction["contrast"] == "gain")]
        lines = [
            f"{c.model} − {c.reference_model}: {c.difference:+.2f} [{c.ci_low:+.2f}, {c.ci_high:+.2f}], "
            f"perm {p_text(c.permutation_p)}, MixedLM {p_text(c.mixed_p)}"
            for c in contrasts.itertuples()
            if pd.notna(c.difference)
        ]
        left_title = "\n".join(["gain per target (error bar: sd over seeds)", *lines])
        right_title = "headroom gain per CC-100 resource level of the language"
        for ax, table, column, measure, error, title, unit in (
            (axes[2 * r], gains, "target", "gain", "gain_sd_seeds", left_title, "gain over none (points)"),
            (axes[2 * r + 1], resource, "resource", "headroom_gain", None, right_title,
             "gain / (100 - baseline), %"),
        ):  # fmt: skip
            rows = table[table["recipe"] == recipe]
            categories = list(dict.fromkeys(rows[column]))
            for i, model in enumerate(models):
                pick = rows[rows["model"] == model].set_index(column).reindex(categories)
                x = np.arange(len(categories)) + (i - (len(models) - 1) / 2) * width
                bars = ax.bar(x, pick[measure], width, color=colours[model], label=model)
                # values on the bars: a gain of exactly 0 draws no bar and would read as missing
                labels = ["" if pd.isna(v) else f"{v:+.1f}" for v in pick[measure]]
                ax.bar_label(bars, labels=labels, fontsize=6, padding=1)
                if error:
                    ax.errorbar(x, pick[measure], yerr=pick[error], fmt="none", ecolor="black", linewidth=0.8)
                for xi, value in zip(x, pick[measure]):
                    if pd.isna(value):
                        ax.text(xi, 0.02, "missing", transform=ax.get_xaxis_transform(), ha="center",
                                va="bottom", fontsize=7, rotation=90, color=colours[model])  # fmt: skip
            ax.set_xlim(-0.6, len(categories) - 0.4)
            ax.axhline(0, color="grey", linewidth=0.6)
            ax.set_xticks(np.arange(len(categories)), categories, rotation=30, ha="right", fontsize=7)
            ax.tick_params(axis="y", labelsize=7)
            ax.set_ylabel(f"{recipe}: {unit}", fontsize=8)
            ax.set_title(title, fontsize=8)
    handles = [plt.Rectangle((0, 0), 1, 1, color=colours[m]) for m in models]
    fig.legend(
        handles, models, loc="outside lower center", ncol=min(len(models), 6), fontsize=8, frameon=False
    )
    fig.suptitle(_wrap(f"{QUESTION}\n{result.answer}"), fontsize=9)
    return fig


def _wrap(text: str, width: int = 110) -> str:
    import textwrap

    return "\n".join(textwrap.fill(line, width) for line in text.split("\n"))


# ---------------------------------------------------------------- calibration (benchmarks/)

PLANTED_EFFECT = 4.0  # percentage points of headroom: the largest model's share minus the smallest's
MODEL_GAP = 6.0  # points: each larger model's baseline above the next smaller one


def simulate(design: Design, effect: float, rng: np.random.Generator) -> Simulation:
    """Each recipe closes a share of the headroom (about 10%, varying by recipe and language);
    the largest model's share is ``effect`` percentage points above the smallest's (linear in
    log size between), and each larger model starts :data:`MODEL_GAP` points higher, so under
    the null the larger model's absolute gain is smaller."""
    from xstilts.analysis.studies import model_sizes

    sizes = model_sizes(design.models, design.study.get("model_sizes"))
    models = sorted(design.models, key=lambda m: (sizes.get(m, 0), m))
    logs = np.log([sizes.get(m, i + 1) for i, m in enumerate(models)])
    position = dict(zip(models, (logs - logs[0]) / (logs[-1] - logs[0]) if len(models) > 1 else [0.0]))
    recipe_share = dict(zip(design.recipes, rng.normal(10.0, 2.0, len(design.recipes))))
    languages = sorted({lang for langs in design.targets.values() for lang in langs})
    language_share = dict(zip(languages, rng.normal(0.0, 1.0, len(languages))))

    def gain(model, recipe, target, language, base):
        share = recipe_share[recipe] + language_share[language] + effect * position[model]
        return share / 100 * (HEADROOM_CEILING - base)

    offsets = {model: MODEL_GAP * i for i, model in enumerate(models)}
    scores = simulate_scores(design, gain, rng, model_offset=offsets)
    return Simulation(scores, truth=effect, inputs={"sizes": {m: sizes[m] for m in models if m in sizes}})
