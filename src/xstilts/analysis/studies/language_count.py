"""Language count (SPEC question 5): accuracy vs the number k of intermediate-training languages,
and the k* past which another doubling of k gains less than ``delta`` points.

Recipes of the ``language_count`` family are named ``<task>-k<k>-d<draw>`` (``mnli-k4-d2``: the
second draw of 4 languages); k is the number of the recipe's training languages
(``source_languages`` as results.collect writes them, or ``recipe_languages``) when the scores
carry them, else the name's ``k``. ``budget`` (when present) is reported: with a fixed budget and disjoint
examples more languages add no content, only diversity.

Per model x target x base task: a unit is one (draw, seed) at one k, its score the mean over the
target's languages (those every unit has). The curve is the mean over units per k, its band a
bootstrap that resamples languages and, within each k, units. The fit is a saturating curve in
x = log2 k, ``y = a + b (1 - exp(-x / tau))`` (scipy ``curve_fit``), whose gain per doubling,
``y(x + 1) - y(x) = b (1 - exp(-1/tau)) exp(-x/tau)``, falls below delta at
``x* = tau ln(b (1 - exp(-1/tau)) / delta)``, k* = 2^x*. k* is identified only inside the
observed range of k with at least ``MIN_K`` distinct k values; the bootstrap CI refits every
resample (one that never flattens inside the range counts as beyond the largest k).
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
from scipy import optimize

from xstilts.analysis.stats import rng_for
from xstilts.analysis.studies.common import (
    StudyResult,
    grid_figure,
    language_gains,
    message_figure,
    pending_answer,
    recipe_column,
    recipe_languages,
    split_languages,
)
from xstilts.analysis.tables import BASELINE_RECIPE

NAME = "language-count"
TABLES = ("curve", "k_star", "recipes")
QUESTION = (
    "How does zero-shot accuracy grow with the number k of intermediate-training languages, and "
    "past which k does a doubling of k add less than delta points?"
)
DELTA = 0.5
MIN_K = 4  # three curve parameters need four distinct k
NAME_PATTERN = re.compile(r"^(?P<base>.+)-k(?P<k>\d+)(?:-d(?P<draw>\w+))?$")


def recipe_counts(scores: pd.DataFrame) -> pd.DataFrame:
    """Per recipe of the family: base task, k, draw, budget (NaN when not recorded)."""
    listed = recipe_languages(scores)
    budgets = recipe_column(scores, "budget")
    rows = []
    for recipe in sorted(set(scores["recipe"]) - {BASELINE_RECIPE}):
        match = NAME_PATTERN.match(recipe)
        languages = split_languages(listed.get(recipe)) if listed is not None else ()
        if match is None:
            continue  # not of the family (e.g. the English reference recipe)
        rows.append(
            {
                "recipe": recipe,
                "base": match["base"],
                "k": len(languages) if languages else int(match["k"]),
                "draw": match["draw"] or "1",
                "languages": " ".join(languages),
                "budget": budgets.get(recipe, np.nan) if budgets is not None else np.nan,
            }
        )
    columns = ["recipe", "base", "k", "draw", "languages", "budget"]
    return pd.DataFrame(rows, columns=columns).sort_values(["base", "k", "draw"], ignore_index=True)


def saturating(x, a, b, tau):
    return a + b * (1 - np.exp(-x / tau))


def fit_curve(x, y) -> tuple[tuple | None, str]:
    """((a, b, tau), "") of the saturating fit, or (None, why not)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    distinct = np.unique(x)
    if len(distinct) < MIN_K:
        return None, f"k* not identified: {len(distinct)} distinct k (a saturating fit needs >= {MIN_K})"
    span = distinct[-1] - distinct[0]
    start = (y[x == distinct[0]].mean(), y[x == distinct[-1]].mean() - y[x == distinct[0]].mean(), span / 3)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            params, _ = optimize.curve_fit(
                saturating,
                x,
                y,
                p0=start,
                bounds=([-np.inf, -np.inf, 0.05], [np.inf, np.inf, 50 * max(span, 1)]),
            )
    except (RuntimeError, ValueError) as error:
        return None, f"k* not identified: curve fit failed ({error})"
    return tuple(float(p) for p in params), ""


def k_star(x, y, delta: float) -> tuple[float, str, tuple | None]:
    """(k*, reason, fit): reason empty when identified; k* = inf beyond the largest k, the
    smallest k when already flat there; NaN when there is no fit."""
    params, reason = fit_curve(x, y)
    if params is None:
        return np.nan, reason, None
    _, b, tau = params
    low, high = np.min(x), np.max(x)
    per_doubling = b * (1 - np.exp(-1 / tau))
    if per_doubling <= delta * np.exp(low / tau):
        return (
            2**low,
            f"k* not identified: the gain per doubling is below delta already at k={2**low:g}",
            params,
        )
    x_star = tau * np.log(per_doubling / delta)
    if x_star > high:
        near = f" (the fit extrapolates k*={2**x_star:.3g})" if x_star < high + 3 else ""
        return np.inf, f"k* not identified: the curve has not flattened by k={2**high:g}{near}", params
    return float(2**x_star), "", params


def curve_data(rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, list]:
    """(x per unit, unit x language scores, languages): languages every unit has."""
    wide = rows.pivot_table(index=["k", "draw", "seed"], columns="language", values="value")
    wide = wide.dropna(axis=1)
    return np.log2(wide.index.get_level_values("k").to_numpy(float)), wide.to_numpy(), list(wide.columns)


def bootstrap_curve(x, matrix, delta, *, n_resamples, seed, key):
    """Resample languages, and units within each k; returns (curve resamples k x B, k* resamples)."""
    rng = rng_for(seed, key)
    ks = np.unique(x)
    groups = [np.flatnonzero(x == k) for k in ks]
    curves, stars = np.empty((len(ks), n_resamples)), np.empty(n_resamples)
    for b in range(n_resamples):
        languages = rng.integers(0, matrix.shape[1], matrix.shape[1])
        units = np.concatenate([rng.choice(g, len(g)) for g in groups])
        y = matrix[np.ix_(units, languages)].mean(axis=1)
        curves[:, b] = [y[x[units] == k].mean() for k in ks]
        stars[b] = k_star(x[units], y, delta)[0]
    return curves, stars


def analyse(
    scores: pd.DataFrame,
    *,
    delta: float = DELTA,
    zero_shot_only: bool = False,
    n_resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> StudyResult:
    """``zero_shot_only``: leave out every evaluation language that some recipe of the curve
    trained on (needs ``recipe_languages``); otherwise the ``in_training`` column of the curve
    says what share of the averaged scores are not zero-shot."""
    recipes = recipe_counts(scores)
    gains = language_gains(scores)
    rows = gains.merge(recipes, on="recipe")
    rows["in_training"] = [lang in langs.split() for lang, langs in zip(rows["language"], rows["languages"])]
    if zero_shot_only:
        if not recipes["languages"].str.len().any():
            raise ValueError(
                "zero_shot_only needs the recipes' training languages: a source_languages column "
                "in the scores (results.collect writes it) or recipe_languages"
            )
        seen = rows[rows["in_training"]].groupby(["model", "target", "base"])["language"].agg(set)
        rows = rows[[lang not in seen.get(key, set()) for key, lang in
                     zip(zip(rows["model"], rows["target"], rows["base"]), rows["language"])]]  # fmt: skip
    baseline = gains[gains["recipe"] == BASELINE_RECIPE]
    tail = 100 * (1 - confidence) / 2
    curve_rows, star_rows = [], []
    for (model, target, base), group in rows.groupby(["model", "target", "base"], sort=False):
        x, matrix, languages = curve_data(group)
        key = f"count/{model}/{target}/{base}"
        identity = {"model": model, "target": target, "base": base}
        if matrix.size == 0:
            why = "no language scored by every draw and seed"
            star_rows.append({**identity, "delta": delta, "reason": why})
            continue
        y = matrix.mean(axis=1)
        ks = np.unique(x)
        curves, stars = bootstrap_curve(x, matrix, delta, n_resamples=n_resamples, seed=seed, key=key)
        base_score = baseline[(baseline["model"] == model) & (baseline["target"] == target)]
        base_score = base_score[base_score["language"].isin(languages)].groupby("seed")["value"].mean().mean()
        log_k = np.log2(group["k"])
        for i, k in enumerate(ks):
            units = group[(log_k == k) & group["language"].isin(languages)]
            low, high = np.nanpercentile(curves[i], [tail, 100 - tail])
            score = y[x == k].mean()
            row = {**identity, "k": int(round(2**k)), "score": score, "band_low": low, "band_high": high}
            row.update(n_draws=units["draw"].nunique(), n_seeds=units["seed"].nunique())
            row["in_training"] = units["in_training"].mean()
            row["gain_over_none"] = score - base_score
            if i:  # per doubling: the step between successive k, divided by how many doublings it spans
                row["gain_per_doubling"] = (score - curve_rows[-1]["score"]) / (k - ks[i - 1])
            curve_rows.append(row)
        estimate, reason, params = k_star(x, y, delta)
        finite = stars[~np.isnan(stars)]
        low, high = (
            np.quantile(finite, [tail / 100, 1 - tail / 100], method="inverted_cdf")
            if len(finite)
            else (np.nan, np.nan)
        )
        row = {**identity, "delta": delta, "k_star": np.nan if reason else estimate, "ci_low": low}
        row.update(ci_high=high, share_not_flat=float(np.isinf(finite).mean()) if len(finite) else np.nan)
        row.update(n_k=len(ks), n_languages=len(languages), languages=" ".join(languages), reason=reason)
        row["budget"] = " ".join(sorted({str(v) for v in group["budget"].dropna()})) or "not recorded"
        row.update(zip(("fit_a", "fit_b", "fit_tau"), params or (np.nan,) * 3))
        star_rows.append(row)
    curve = pd.DataFrame(curve_rows).reindex(
        columns=["model", "target", "base", "k", "score", "band_low", "band_high", "gain_per_doubling",
                 "gain_over_none", "n_draws", "n_seeds", "in_training"]
    )  # fmt: skip
    star = pd.DataFrame(star_rows).reindex(
        columns=["model", "target", "base", "delta", "k_star", "ci_low", "ci_high", "share_not_flat",
                 "n_k", "n_languages", "budget", "languages", "fit_a", "fit_b", "fit_tau", "reason"]
    )  # fmt: skip
    notes = [
        "score: mean over the target's languages every draw and seed has; band: bootstrap over languages and "
        "over (draw, seed) units within each k.",
        f"k*: where a saturating fit in log2 k gains less than delta={delta:g} points per doubling; "
        "CI: refit on each resample (inf: the resample never flattens inside the observed k).",
        "in_training: share of the averaged scores whose language the recipe trained on (not zero-shot); "
        + ("left out (zero_shot_only)." if zero_shot_only else "kept (zero_shot_only=False)."),
        "budget: "
        + ("; ".join(sorted(set(star["budget"].dropna()))) if len(star) else "no recipes")
        + " (fixed budget + disjoint examples: more languages add diversity, not content).",
    ]
    answer, uncertainty = _summary(star, curve, delta, confidence)
    return StudyResult(
        NAME,
        {"curve": curve, "k_star": star, "recipes": recipes},
        pending_answer(QUESTION, answer, uncertainty),
        notes,
    )


def _k_text(value: float) -> str:
    return "n/a" if np.isnan(value) else ("> max k" if np.isinf(value) else f"{value:.3g}")


def _summary(star, curve, delta, confidence) -> tuple[str, str]:
    if curve.empty:
        family = "the language_count family (<task>-k<k>-d<draw>)"
        return f"Not answerable here: no recipe of {family} has scores.", "None."
    identified = star.dropna(subset=["k_star"])
    if identified.empty:
        first = star.iloc[0]
        why = str(first["reason"]).replace("k* not identified: ", "")
        interval = f"[{_k_text(first['ci_low'])}, {_k_text(first['ci_high'])}]"
        beyond = " (> max k: resamples that never flatten)" if "> max k" in interval else ""
        return (
            f"k* not identified for delta={delta:g} on {first['target']} ({first['base']}): {why}.",
            f"Bootstrap {confidence:.0%} interval of k*: {interval}{beyond}.",
        )
    row = identified.iloc[0]
    more = f" ({len(identified)} of {len(star)} curves identified)" if len(star) > 1 else ""
    return (
        f"On {row['target']} ({row['base']}), a doubling of k adds less than {delta:g} points past "
        f"k*={row['k_star']:.3g}{more}.",
        f"Bootstrap {confidence:.0%} interval of k* [{_k_text(row['ci_low'])}, {_k_text(row['ci_high'])}] "
        f"over {int(row['n_languages'])} languages and the draws and seeds; "
        f"{row['share_not_flat']:.0%} of resamples never flatten.",
    )


def figure(result: StudyResult):
    """One panel per model x target x base task: units, mean curve with band, fit, k*."""
    curve, star = result.tables["curve"], result.tables["k_star"]
    if curve.empty:
        return message_figure("Language count: " + result.answer)
    panels = list(curve.groupby(["model", "target", "base"], sort=False))
    several_models = curve["model"].nunique() > 1
    fig, axes = grid_figure(len(panels), columns=3, panel=(3.8, 3.1))
    for ax, ((model, target, base), rows) in zip(axes, panels):
        ax.fill_between(
            rows["k"], rows["band_low"], rows["band_high"], color="tab:blue", alpha=0.2, linewidth=0
        )
        width = (rows["band_high"] - rows["band_low"]).max()
        # a band of zero width (one language, draw and seed per k) would look like a sure curve
        label = "mean over draws, seeds" + ("" if width > 0 else "\n(no band: nothing to resample)")
        ax.plot(rows["k"], rows["score"], "o-", color="tab:blue", markersize=4, label=label)
        match = star[(star["model"] == model) & (star["target"] == target) & (star["base"] == base)].iloc[0]
        if pd.notna(match["fit_tau"]):
            grid = np.geomspace(rows["k"].min(), rows["k"].max(), 60)
            fitted = saturating(np.log2(grid), match["fit_a"], match["fit_b"], match["fit_tau"])
            ax.plot(grid, fitted, "--", color="black", linewidth=0.8, label="saturating fit")
        if pd.notna(match["k_star"]):
            ax.axvline(match["k_star"], color="tab:red", linewidth=1, label=f"k*={match['k_star']:.2g}")
            high = match["ci_high"] if np.isfinite(match["ci_high"]) else rows["k"].max()
            ax.axvspan(match["ci_low"], high, color="tab:red", alpha=0.1, linewidth=0)
            title = f"k*={match['k_star']:.2g} [{_k_text(match['ci_low'])}, {_k_text(match['ci_high'])}]"
        else:
            title = str(match["reason"]).replace("k* not identified: ", "k* not identified:\n")
        ax.set_xscale("log", base=2)
        ax.set_xticks(rows["k"], [str(k) for k in rows["k"]])
        where = f"{model} " if several_models else ""
        ax.set_title(f"{where}{target}, {base}\n{title}", fontsize=8)
        ax.set_xlabel("k (intermediate languages)", fontsize=8)
        ax.set_ylabel("score (mean over languages)", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=7, framealpha=0.8, edgecolor="none", loc="best")  # "lower right" hid curves
    fig.suptitle(
        f"Score vs number of intermediate languages\nband: bootstrap over languages, draws and seeds; "
        f"k*: gain per doubling < {star['delta'].dropna().iloc[0] if len(star) else DELTA:g} points",
        fontsize=9,
    )
    return fig
