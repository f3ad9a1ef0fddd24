"""Scale (docs/science.md question 2): does a larger pretrained model amplify or diminish the (relative) gain?

Relative gain: the share of the remaining headroom the intermediate task closes,
``100 * gain / (HEADROOM_CEILING - baseline)`` with the ceiling 100 (every primary metric is a
percentage), per fine-tuning run as the ratio of its language means. Why not ``gain /
baseline``: a larger model starts higher, so the same absolute gain is a larger share of what
is left to gain; the headroom share is what a ceiling-bound score can show (an absolute gain
that shrinks only because the larger model is nearer 100 is not "diminishing").

Pre-specified primary answer: the difference in headroom gain between the largest and the
smallest model (percentage points of headroom), over the recipes and targets both models have.
Its unit is a seed of a model: the recipes of one seed share that seed's baseline, so per model
and seed the headroom gains of all its runs are averaged, and the two models' seeds are compared
with a two-sample t (pooled variance). Fewer than two seeds per model: not identifiable.

Exploratory (Holm over the family): each other larger model against the smallest, the same
difference per recipe, the difference in absolute gain (points), and the low-resource question:
the difference between the models in the slope of the per-language headroom gain on the
language's log CC-100 pretraining size (negative: the larger model's relative gain leans more to
low-resource languages).

Tables
- ``contrasts``: the primary contrast and the exploratory ones (estimate, interval, p, Holm p).
- ``gains``: per model x recipe x target: baseline, gain (mean over languages; sd over seeds of
  that mean), relative gain ``gain / baseline`` and headroom gain (both in percent, ratios of the
  language means).
- ``resource``: the same per CC-100 pretraining-size bin of the language (shipped table).

Model size: a ``model_size`` column (parameters) or ``model_sizes={model: parameters}``; without
either, models are ordered by name and the caveats say so.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from xstilts.analysis.studies.common import (
    ASSUMED_RUN_SD,
    Answer,
    Design,
    Estimate,
    Simulation,
    StudyResult,
    adjust,
    cell_means,
    grid_figure,
    interval_text,
    language_gains,
    mde,
    message_figure,
    one_seed_answer,
    p_text,
    pairing_caveats,
    recipe_column,
    runs_per_arm,
    simulate_scores,
    tested_answer,
    two_sample,
    unanswerable,
)
from xstilts.analysis.tables import BASELINE_RECIPE, ordered_targets
from xstilts.config import ConfigError
from xstilts.languages import load_languages

NAME = "scale"
OPTIONS = {
    "model_sizes": {
        "type": "object",
        "default": {},
        "propertyNames": {"$ref": "#/$defs/name"},
        "additionalProperties": {"$ref": "#/$defs/positive_number"},
        "description": "model name -> parameters; a model left out takes its non-embedding parameters "
        "from xstilts.pretrained.MODEL_SHAPES (known hub ids), else the study orders models by name",
        "x-flag": "--model-size",
    },
}
HEADROOM_CEILING = 100.0  # every primary metric is a percentage
TABLES = ("contrasts", "gains", "resource")
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


def model_sizes(hub_ids: dict[str, str], given: dict | None = None) -> dict[str, float]:
    """Per model name, its size: ``given`` (study.model_sizes), else the non-embedding
    parameters of a known hub id (xstilts.pretrained.MODEL_SHAPES); unknown models are left out."""
    from xstilts.plan import non_embedding_params
    from xstilts.pretrained import MODEL_SHAPES

    given = given or {}
    return {
        model: given.get(model) or non_embedding_params(*MODEL_SHAPES[hub_id])
        for model, hub_id in hub_ids.items()
        if model in given or hub_id in MODEL_SHAPES
    }


def command_values(cfg: dict) -> dict:
    """--model-size of every model whose size is known (:func:`model_sizes`)."""
    hub_ids = {model: m["hub_id"] for model, m in cfg["models"].items()}
    return {"model_sizes": model_sizes(hub_ids, cfg["study"]["model_sizes"])}


def validate(cfg: dict) -> None:
    """study.model_sizes names models of the config."""
    for model in cfg["study"]["model_sizes"]:
        if model not in cfg["models"]:
            raise ConfigError(
                f"config key study.model_sizes.{model}: not a model of this config. Fix: use one of "
                f"{', '.join(cfg['models'])}."
            )


def needs(cfg: dict) -> list[str]:
    if len(cfg["models"]) < 2:
        raise ConfigError(
            f"config key models: the scale study compares model sizes, and the config has one "
            f"model ({next(iter(cfg['models']))}). Fix: add a larger (or smaller) model."
        )
    return []


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


UNIT = "seed of a model (the mean over its runs)"


def run_headroom(gains: pd.DataFrame) -> pd.DataFrame:
    """Per fine-tuning run (model x recipe x target x seed): mean gain, mean headroom
    (ceiling - baseline) over its languages and the headroom gain in percent."""
    rows = gains.dropna(subset=["gain"]).assign(headroom=lambda f: HEADROOM_CEILING - f["baseline"])
    runs = rows.groupby(["model", "recipe", "target", "seed"])[["gain", "headroom"]].mean().reset_index()
    runs["headroom_gain"] = 100 * runs["gain"] / runs["headroom"]
    return runs


def shared_cells(runs: pd.DataFrame, models) -> pd.DataFrame:
    """The runs of the recipe x target cells every one of ``models`` has (a balanced contrast)."""
    pick = runs[runs["model"].isin(models)]
    have = pick.groupby(["recipe", "target"])["model"].nunique()
    keep = have[have == len(models)].index
    return pick.set_index(["recipe", "target"]).loc[lambda f: f.index.isin(keep)].reset_index()


def seed_means(runs: pd.DataFrame, column: str) -> pd.DataFrame:
    """Per model x seed: the mean of ``column`` over its runs (the unit of replication)."""
    return runs.groupby(["model", "seed"])[column].mean().reset_index()


def _contrast(units: pd.DataFrame, column: str, small: str, large: str, confidence: float) -> Estimate:
    by = units.groupby("model")[column]
    values = {model: group.to_numpy() for model, group in by}
    return two_sample(values.get(small, []), values.get(large, []), confidence)


def resource_slopes(gains: pd.DataFrame, models, cells: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Per model x seed: the OLS slope over languages of the language's headroom gain (its gains
    and headroom averaged over the shared recipe x target cells) on log CC-100 size."""
    sizes = load_languages().set_index("iso639_1")["cc100_gib"]
    rows = gains.dropna(subset=["gain"]).merge(cells[["recipe", "target"]].drop_duplicates())
    rows = rows[rows["model"].isin(models)].assign(headroom=lambda f: HEADROOM_CEILING - f["baseline"])
    per_language = rows.groupby(["model", "seed", "language"])[["gain", "headroom"]].mean().reset_index()
    per_language["log_size"] = np.log(per_language["language"].map(sizes))
    unsized = sorted(set(per_language.loc[per_language["log_size"].isna(), "language"]))
    per_language = per_language.dropna(subset=["log_size"])
    per_language["headroom_gain"] = 100 * per_language["gain"] / per_language["headroom"]
    slopes = []
    for (model, seed), group in per_language.groupby(["model", "seed"]):
        if group["log_size"].nunique() >= 3:
            slope = np.polyfit(group["log_size"], group["headroom_gain"], 1)[0]
            slopes.append({"model": model, "seed": seed, "slope": slope})
    return pd.DataFrame(slopes, columns=["model", "seed", "slope"]), unsized


def contrasts_table(gains, models, confidence) -> tuple[pd.DataFrame, dict]:
    """The primary contrast (largest - smallest model, headroom gain) and the exploratory ones."""
    small, large = models[0], models[-1]
    runs = run_headroom(gains)
    cells = shared_cells(runs, [small, large])
    rows, extra = [], {}

    def add(name, role, units, estimate: Estimate, model=large):
        rows.append(
            {
                "contrast": name, "role": role, "units": units, "reference_model": small, "model": model,
                "estimate": estimate.estimate, "ci_low": estimate.ci_low, "ci_high": estimate.ci_high,
                "p_value": estimate.p_value, "n_units": estimate.n, "unit_sd": estimate.sd,
            }
        )  # fmt: skip

    primary = _contrast(seed_means(cells, "headroom_gain"), "headroom_gain", small, large, confidence)
    add("headroom gain", "primary", "percentage points of headroom", primary)
    extra["primary"], extra["cells"] = primary, cells
    extra["n_cells"] = len(cells[["recipe", "target"]].drop_duplicates())
    for middle in models[1:-1]:
        pair = shared_cells(runs, [small, middle])
        estimate = _contrast(seed_means(pair, "headroom_gain"), "headroom_gain", small, middle, confidence)
        add("headroom gain", "exploratory", "percentage points of headroom", estimate, model=middle)
    add("absolute gain", "exploratory", "points",
        _contrast(seed_means(cells, "gain"), "gain", small, large, confidence))  # fmt: skip
    for recipe in sorted(cells["recipe"].unique()):
        units = seed_means(cells[cells["recipe"] == recipe], "headroom_gain")
        add(f"headroom gain, {recipe}", "exploratory", "percentage points of headroom",
            _contrast(units, "headroom_gain", small, large, confidence))  # fmt: skip
    slopes, extra["unsized"] = resource_slopes(gains, [small, large], cells)
    low_resource = _contrast(slopes, "slope", small, large, confidence)
    name = "headroom gain per log GiB of pretraining data (low-resource)"
    add(name, "exploratory", "percentage points of headroom per log GiB", low_resource)
    table = pd.DataFrame(rows)
    exploratory = table["role"] == "exploratory"
    table["p_holm"] = np.nan
    table.loc[exploratory, "p_holm"] = adjust(table.loc[exploratory, "p_value"])
    return table, extra


ESTIMAND = (
    "difference in headroom gain, largest minus smallest model (percentage points of the "
    "headroom 100 - baseline that the intermediate task closes)"
)


def _answer(gains, models, known_sizes, size_note, confidence, alpha, contrasts, extra) -> Answer:
    primary: Estimate = extra["primary"]
    cells = extra["cells"]
    small, large = models[0], models[-1]
    sizes = ", ".join(f"{m} {known_sizes[m]:.3g}" for m in models if m in known_sizes)
    caveats = [c for c in [size_note] if c] + pairing_caveats(gains)
    caveats.append(
        f"{large} against {small}{f' (parameters: {sizes})' if sizes else ''}, over the "
        f"{extra['n_cells']} recipe x target cells both have; a larger model also differs in "
        "pretraining data and steps, so size is not the only difference"
    )
    if extra["unsized"]:
        caveats.append(
            f"low-resource contrast: languages without a CC-100 size left out: {', '.join(extra['unsized'])}"
        )
    n_per_model = cells.groupby("model")["seed"].nunique()
    n_units = int(n_per_model.sum())
    settings = dict(alpha=alpha, confidence=confidence, method="two-sample t over seeds, pooled variance")
    if n_per_model.min() < 2 or runs_per_arm(gains[gains["model"].isin([small, large])]) < 2:
        headroom = float(cells["headroom"].mean()) if len(cells) else np.nan
        assumed = 100 * ASSUMED_RUN_SD / headroom if headroom else np.nan
        three = mde(assumed, 3, n2=3, alpha=alpha)
        caveats.append(
            f"with 3 seeds per model and an assumed seed-to-seed sd of {ASSUMED_RUN_SD:g} point "
            f"({assumed:.1f} percentage points of the mean headroom {headroom:.0f}) the minimum "
            f"detectable effect would be {three:.1f} percentage points"
        )
        return one_seed_answer(
            QUESTION, ESTIMAND, primary.estimate, n_units, UNIT, np.nan, caveats, **settings
        )
    effect = mde(primary.sd, int(n_per_model[small]), n2=int(n_per_model[large]), alpha=alpha)
    return tested_answer(
        QUESTION, ESTIMAND, primary, n_runs=n_units, unit=UNIT, mde=effect, caveats=caveats,
        words=("amplifies", "diminishes"), **settings,
    )  # fmt: skip


def analyse(
    scores: pd.DataFrame,
    *,
    model_sizes: dict | None = None,
    n_resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
    alpha: float = 0.05,
) -> StudyResult:
    """``n_resamples`` and ``seed`` are accepted for the common study interface; every interval
    here is a t interval over seeds."""
    models, known_sizes, size_note = model_order(scores, model_sizes)
    gains = language_gains(scores)
    cells = cell_means(gains)
    recipes = sorted(set(gains["recipe"]) - {BASELINE_RECIPE})
    targets = ordered_targets(gains["target"].unique())
    tables = {
        "contrasts": pd.DataFrame(columns=CONTRAST_COLUMNS),
        "gains": gains_table(gains, models, recipes, targets),
        "resource": resource_table(cells, models, recipes),
    }
    notes = [
        "relative_gain = 100 * gain / baseline; headroom_gain = 100 * gain / (100 - baseline) (percent).",
        "contrasts: positive = the larger model closes a larger share of the headroom; role "
        "exploratory rows carry Holm-adjusted p (p_holm) and are not the answer.",
    ]
    if len(models) < 2 or gains["gain"].notna().sum() == 0:
        why = (
            f"only one model ({models[0]}): the study needs at least two model sizes"
            if models
            else "no scores"
        )
        if models and len(models) >= 2:
            why = "no recipe has gains (a `none` baseline and a recipe are needed)"
        return StudyResult(NAME, tables, unanswerable(QUESTION, ESTIMAND, why, UNIT), notes)
    contrasts, extra = contrasts_table(gains, models, confidence)
    tables["contrasts"] = contrasts.reindex(columns=CONTRAST_COLUMNS)
    if extra["cells"].empty:
        why = f"no recipe x target cell has gains for both {models[0]} and {models[-1]}"
        return StudyResult(NAME, tables, unanswerable(QUESTION, ESTIMAND, why, UNIT), notes)
    record = _answer(gains, models, known_sizes, size_note, confidence, alpha, contrasts, extra)
    return StudyResult(NAME, tables, record, notes)


CONTRAST_COLUMNS = [
    "contrast", "role", "units", "reference_model", "model", "estimate", "ci_low", "ci_high", "p_value",
    "p_holm", "n_units", "unit_sd",
]  # fmt: skip


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
    all_contrasts = result.tables["contrasts"]
    for r, recipe in enumerate(recipes):
        contrasts = all_contrasts[all_contrasts["contrast"] == f"headroom gain, {recipe}"]
        lines = [
            f"headroom gain {c.model} − {c.reference_model}: {c.estimate:+.2f} "
            f"{interval_text(c.ci_low, c.ci_high, result.record.confidence, 2)}, Holm {p_text(c.p_holm)} "
            "(exploratory)"
            for c in contrasts.itertuples()
            if pd.notna(c.estimate)
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
    """Each recipe closes a share of the headroom (about 10%, varying by recipe and target);
    the largest model's share is ``effect`` percentage points above the smallest's (linear in
    log size between), and each larger model starts :data:`MODEL_GAP` points higher, so under
    the null the larger model's absolute gain is smaller."""
    sizes = model_sizes(design.models, design.study.get("model_sizes"))
    models = sorted(design.models, key=lambda m: (sizes.get(m, 0), m))
    logs = np.log([sizes.get(m, i + 1) for i, m in enumerate(models)])
    position = dict(zip(models, (logs - logs[0]) / (logs[-1] - logs[0]) if len(models) > 1 else [0.0]))
    recipe_share = dict(zip(design.recipes, rng.normal(10.0, 2.0, len(design.recipes))))
    # by target, not by language: a run's ratio of language means is then its share exactly
    target_share = dict(zip(design.targets, rng.normal(0.0, 1.0, len(design.targets))))

    def gain(model, recipe, target, language, base):
        share = recipe_share[recipe] + target_share[target] + effect * position[model]
        return share / 100 * (HEADROOM_CEILING - base)

    offsets = {model: MODEL_GAP * i for i, model in enumerate(models)}
    scores = simulate_scores(design, gain, rng, model_offset=offsets)
    return Simulation(
        scores, truth=effect, inputs={"model_sizes": {m: sizes[m] for m in models if m in sizes}}
    )
