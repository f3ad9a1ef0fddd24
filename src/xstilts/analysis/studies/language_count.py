"""Language count (docs/science.md question 5): accuracy vs the number k of intermediate-training languages:
are the returns diminishing, and past which k does a doubling of k add less than ``delta``?

Recipes of the ``language_count`` family are named ``<task>-k<k>-d<draw>`` (``mnli-k4-d2``: the
second draw of 4 languages); k is the number of the recipe's training languages
(``source_languages`` as results.collect writes them, or ``recipe_languages``) when the scores
carry them, else the name's ``k``. The English recipe of the same task (``mnli``), when in the
grid, is the k = 0 point (English only): shown, not in the test. ``budget`` (when present) is
reported: with a fixed budget and disjoint examples more languages add no content, only
diversity.

Zero-shot only (the default): every evaluation language that some recipe of the curve trained
on (English included, for the k = 0 point) is left out, for every k, so each point averages
the same languages and in-language translate-train data cannot make a curve rise.

The unit is the draw (one recipe: a language subset), its value the mean over its seeds of the
score averaged over the targets (each target's mean over the languages every run has). Seed
effects shared by all recipes cancel in a curve's shape; draws are the replicates that tell a
curve's bend from chance (the run noise of their seeds is inside them).

Primary answer (pre-specified, :data:`ESTIMAND`): the change of the gain per doubling from one
doubling to the next, ``2 c`` of an OLS fit ``y = a + b x + c x^2`` over the draws with
``x = log2 k``, pooled over targets; t-interval and p on the fit's residual degrees of freedom
(draws - 3). Negative: diminishing returns on the doubling scale itself.

k*: a saturating fit ``y = a + b (1 - exp(-x / tau))`` (scipy ``curve_fit``) whose gain per
doubling ``b (1 - exp(-1/tau)) exp(-x/tau)`` falls below delta at
``x* = tau ln(b (1 - exp(-1/tau)) / delta)``, k* = 2^x*, on the draws (>= ``MIN_K`` distinct k
and >= 1 residual degree of freedom). Its interval is a run-level bootstrap: seeds resampled
as wholes, then draws within each k; every resample is refitted, a resample that never flattens
inside the observed k counts as beyond the largest k, and refits that fail are counted and
reported (they are not in the interval).
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
from scipy import optimize

from xstilts.analysis.stats import rng_for
from xstilts.analysis.studies.common import (
    Answer,
    Design,
    Estimate,
    Simulation,
    StudyResult,
    adjust,
    grid_figure,
    mde,
    message_figure,
    one_seed_answer,
    recipe_column,
    recipe_languages,
    simulate_scores,
    split_languages,
    tested_answer,
    unanswerable,
)
from xstilts.analysis.study_design import MIN_K
from xstilts.analysis.tables import BASELINE_RECIPE, primary_scores

NAME = "language-count"
TABLES = ("curvature", "curve", "k_star", "recipes")
QUESTION = (
    "Does zero-shot accuracy grow with diminishing returns in the number k of intermediate-training "
    "languages, and past which k does a doubling of k add less than delta points?"
)
ESTIMAND = "change of the gain per doubling of k from one doubling to the next (points)"
UNIT = "language draw"
DIMINISHING = "diminishing: each doubling of k adds less than the one before"
ACCELERATING = "accelerating: each doubling of k adds more than the one before"
DELTA = 0.5
ZERO_SHOT_ONLY = True
OPTIONS = {
    "delta": {
        "$ref": "#/$defs/positive_number",
        "default": DELTA,
        "description": "points per doubling of k below which returns count as diminished",
        "x-flag": "--delta",
    },
    "zero_shot_only": {
        "type": "boolean",
        "default": ZERO_SHOT_ONLY,
        "description": "leave out, at every k, the evaluation languages any recipe of the curve "
        "trained on (English too, for the English-only point), so that translate-train data cannot "
        "make the curve rise; false keeps them (the curve's in_training column says how many)",
        "x-flag": "--zero-shot-only",
    },
}
POOLED = "pooled"
NAME_PATTERN = re.compile(r"^(?P<base>.+)-k(?P<k>\d+)(?:-d(?P<draw>\w+))?$")
UNKNOWN_LANGUAGES = (
    "The recipes' training languages are unknown (no source_languages column): in-language "
    "scores could not be left out, so translate-train data may make the curve rise"
)


def needs(cfg: dict) -> list[str]:
    ks = {len(r["tasks"]) for r in cfg["recipes"] if (r.get("family") or {}).get("kind") == "language_count"}
    if not ks:
        return [
            "it reads recipes of a language_count family, and the config has none. Fix: add "
            "{family: language_count, task: mnli, pool: [...], k: [1, 2, 4, 8], budget: fixed} "
            "to recipes."
        ]
    if len(ks) < MIN_K:
        return [
            f"it fits a curve in k and needs at least {MIN_K} distinct k; the language_count "
            f"families give {sorted(ks)}. Fix: list more values in k of the family (config key "
            f"recipes), e.g. [1, 2, 4, 8]."
        ]
    return []


def recipe_counts(scores: pd.DataFrame) -> pd.DataFrame:
    """Per recipe of the family, and the English recipe of its task (k = 0): base task, k,
    draw, training languages, budget (NaN when not recorded)."""
    listed = recipe_languages(scores)
    budgets = recipe_column(scores, "budget")
    rows = []
    for recipe in sorted(set(scores["recipe"]) - {BASELINE_RECIPE}):
        match = NAME_PATTERN.match(recipe)
        if match is None:
            continue  # not of the family; the English reference is added below
        languages = split_languages(listed.get(recipe)) if listed is not None else ()
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
    for base in sorted({row["base"] for row in rows} & set(scores["recipe"])):
        languages = split_languages(listed.get(base)) if listed is not None else ()
        if languages in ((), ("en",)):
            rows.append(
                {
                    "recipe": base,
                    "base": base,
                    "k": 0,
                    "draw": "1",
                    "languages": "en",
                    "budget": budgets.get(base, np.nan) if budgets is not None else np.nan,
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
    if len(x) - 3 < 1:
        return None, f"k* not identified: {len(x)} draws leave no residual degree of freedom for 3 parameters"
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


def curvature(x, y, confidence: float) -> dict:
    """OLS ``y ~ 1 + x + x^2`` over draws: the estimand 2c, its t-interval, p, se, df."""
    import statsmodels.api as sm

    x, y = np.asarray(x, float), np.asarray(y, float)
    n_k, df = len(np.unique(x)), len(x) - 3
    if n_k < 3:
        return {"n_draws": len(x), "n_k": n_k, "df": df, "reason": f"{n_k} distinct k: a bend needs >= 3"}
    if df < 1:
        return {
            "n_draws": len(x),
            "n_k": n_k,
            "df": df,
            "reason": f"{len(x)} draws: no residual degree of freedom",
        }
    fit = sm.OLS(y, np.column_stack([np.ones_like(x), x, x**2])).fit()
    low, high = fit.conf_int(alpha=1 - confidence)[2]
    return {
        "n_draws": len(x),
        "n_k": n_k,
        "df": df,
        "estimate": 2 * fit.params[2],
        "ci_low": 2 * low,
        "ci_high": 2 * high,
        "se": 2 * fit.bse[2],
        "p_value": float(fit.pvalues[2]),
        "reason": "",
    }


def zero_shot_rows(rows: pd.DataFrame, recipes: pd.DataFrame) -> pd.DataFrame:
    """Leave out, per model x target x base, every language some recipe of the curve trained on."""
    trained = recipes.groupby("base")["languages"].agg(lambda v: set(" ".join(v).split()))
    keep = [lang not in trained.get(base, set()) for base, lang in zip(rows["base"], rows["language"])]
    return rows[keep]


def run_values(rows: pd.DataFrame, targets=None) -> tuple[pd.Series, dict]:
    """Per (recipe, k, draw, seed) run: the mean over targets of the mean over the target's
    languages that every run has; and per target the languages used."""
    wide = rows.pivot_table(
        index=["recipe", "k", "draw", "seed"], columns=["target", "language"], values="value"
    )
    wide = wide.dropna(axis=1)
    if targets is not None:
        wide = wide.loc[:, wide.columns.get_level_values("target").isin(targets)]
    if wide.shape[1] == 0:
        return pd.Series(dtype=float), {}
    per_target = wide.T.groupby(level="target").mean().T
    used = {t: list(wide[t].columns) for t in per_target.columns}
    return per_target.mean(axis=1), used


def draw_values(units: pd.Series) -> pd.DataFrame:
    """Per draw (recipe): k, the mean over its seeds, and its number of seeds."""
    frame = units.rename("value").reset_index()
    grouped = frame.groupby(["recipe", "k", "draw"], sort=True)
    out = grouped["value"].agg(["mean", "count"]).rename(columns={"mean": "value", "count": "n_seeds"})
    return out.reset_index()


def bootstrap_k_star(units: pd.Series, delta: float, *, n_resamples: int, seed: int, key: str):
    """Seeds resampled as wholes, then draws within each k; every resample refitted. Returns
    (k* per resample, NaN for a failed refit; per-k means per resample, k x B)."""
    table = units[units.index.get_level_values("k") > 0].unstack("seed")  # draws x seeds
    ks = table.index.get_level_values("k").to_numpy()
    x_all = np.log2(ks.astype(float))
    matrix = table.to_numpy()
    rng = rng_for(seed, key)
    groups = [np.flatnonzero(ks == k) for k in np.unique(ks)]
    stars, curves = np.full(n_resamples, np.nan), np.full((len(groups), n_resamples), np.nan)
    for b in range(n_resamples):
        columns = rng.integers(0, matrix.shape[1], matrix.shape[1])
        picks = np.concatenate([rng.choice(g, len(g)) for g in groups])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a draw without the picked seeds
            y = np.nanmean(matrix[np.ix_(picks, columns)], axis=1)
        x, ok = x_all[picks], np.isfinite(y)
        curves[:, b] = [
            y[ok & (ks[picks] == k)].mean() if (ok & (ks[picks] == k)).any() else np.nan
            for k in np.unique(ks)
        ]
        stars[b] = k_star(x[ok], y[ok], delta)[0]
    return stars, curves


def _interval(stars: np.ndarray, confidence: float) -> tuple[float, float]:
    done = stars[~np.isnan(stars)]
    if not len(done):
        return np.nan, np.nan
    tail = (1 - confidence) / 2
    low, high = np.quantile(done, [tail, 1 - tail], method="inverted_cdf")
    return float(low), float(high)


def analyse(
    scores: pd.DataFrame,
    *,
    delta: float = DELTA,
    zero_shot_only: bool = ZERO_SHOT_ONLY,
    n_resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
    alpha: float = 0.05,
) -> StudyResult:
    """``zero_shot_only``: leave out every evaluation language that some recipe of the curve
    trained on (needs the recipes' training languages; without them a caveat says so);
    otherwise the ``in_training`` column of the curve says what share of the averaged scores
    are not zero-shot."""
    recipes = recipe_counts(scores)
    rows = primary_scores(scores).merge(recipes, on="recipe")
    rows["in_training"] = [lang in langs.split() for lang, langs in zip(rows["language"], rows["languages"])]
    known = recipes.loc[recipes["k"] > 0, "languages"].str.len().all() if len(recipes) else False
    caveats = []
    if zero_shot_only and known:
        rows = zero_shot_rows(rows, recipes)
    elif zero_shot_only:
        caveats.append(UNKNOWN_LANGUAGES)
    else:
        caveats.append("zero_shot_only is off: scores in languages a recipe trained on are in the curve")
    budget = " ".join(sorted({str(v) for v in recipes["budget"].dropna()})) or "not recorded"
    caveats.append(
        f"Budget: {budget} (with a fixed budget over disjoint examples more languages add diversity, not "
        "content; translated data is parallel, so without it they add neither)"
    )
    curve_rows, curvature_rows, star_rows, primary = [], [], [], None
    for (model, base), group in rows.groupby(["model", "base"], sort=True):
        targets = sorted(group["target"].unique())
        for target in [POOLED, *targets]:
            units, used = run_values(group, None if target == POOLED else [target])
            identity = {"model": model, "base": base, "target": target}
            if units.empty:
                curvature_rows.append({**identity, "reason": "no language scored by every run"})
                continue
            draws = draw_values(units)
            family = draws[draws["k"] > 0]
            x = np.log2(family["k"].to_numpy(float))
            bend = {**identity, **curvature(x, family["value"].to_numpy(), confidence)}
            bend["min_seeds"] = int(family["n_seeds"].min()) if len(family) else 0
            bend["languages"] = "; ".join(f"{t}: {' '.join(langs)}" for t, langs in used.items())
            curvature_rows.append(bend)
            if target != POOLED:
                continue
            if primary is None:
                primary = (bend, units)
            key = f"count/{model}/{base}"
            stars, curves = bootstrap_k_star(units, delta, n_resamples=n_resamples, seed=seed, key=key)
            curve_rows += _curve_rows(identity, draws, group, curves, confidence)
            estimate, reason, params = k_star(x, family["value"].to_numpy(), delta)
            low, high = _interval(stars, confidence)
            finite = stars[~np.isnan(stars)]
            star_rows.append(
                {
                    **identity,
                    "delta": delta,
                    "k_star": np.nan if reason else estimate,
                    "ci_low": low,
                    "ci_high": high,
                    "n_resamples": n_resamples,
                    "failed_refits": int(np.isnan(stars).sum()),
                    "share_not_flat": float(np.isinf(finite).mean()) if len(finite) else np.nan,
                    "n_k": bend.get("n_k"),
                    "n_draws": len(family),
                    "residual_df": len(family) - 3,
                    "fit_a": params[0] if params else np.nan,
                    "fit_b": params[1] if params else np.nan,
                    "fit_tau": params[2] if params else np.nan,
                    "budget": budget,
                    "reason": reason,
                }
            )
    curve = pd.DataFrame(curve_rows).reindex(
        columns=[
            "model",
            "base",
            "k",
            "score",
            "band_low",
            "band_high",
            "gain_per_doubling",
            "gain_over_english",
            "n_draws",
            "n_seeds",
            "in_training",
        ]
    )
    bends = pd.DataFrame(curvature_rows).reindex(
        columns=[
            "model",
            "base",
            "target",
            "estimate",
            "ci_low",
            "ci_high",
            "p_value",
            "p_holm",
            "se",
            "df",
            "n_draws",
            "n_k",
            "min_seeds",
            "languages",
            "reason",
        ]
    )
    per_target = bends["target"] != POOLED
    bends.loc[per_target, "p_holm"] = adjust(bends.loc[per_target, "p_value"])
    star = pd.DataFrame(star_rows).reindex(
        columns=[
            "model",
            "base",
            "target",
            "delta",
            "k_star",
            "ci_low",
            "ci_high",
            "n_resamples",
            "failed_refits",
            "share_not_flat",
            "n_k",
            "n_draws",
            "residual_df",
            "budget",
            "fit_a",
            "fit_b",
            "fit_tau",
            "reason",
        ]
    )
    if rows["model"].nunique() > 1 or rows["base"].nunique() > 1:
        first = bends[bends["target"] == POOLED].iloc[0]
        caveats.append(
            f"Several curves: the answer is the first ({first['model']}, {first['base']}); see curvature"
        )
    record = _answer(primary, star, delta, alpha, confidence, caveats)
    notes = [
        "unit: one draw (recipe), its value the mean over its seeds of the score averaged over targets "
        "(each target's mean over the languages every run has); k = 0 is the English recipe (not in the "
        "tests).",
        "curvature rows per target are exploratory (p_holm: Holm over the targets); the pooled row is "
        "the answer.",
        f"k*: where a saturating fit in log2 k gains less than delta={delta:g} points per doubling; "
        "interval: bootstrap over seeds then draws within k, each resample refitted (inf: never "
        "flattens inside the observed k; failed refits counted, not in the interval).",
        "in_training: share of the averaged scores whose language the recipe trained on; "
        + ("left out (zero_shot_only)." if zero_shot_only else "kept (zero_shot_only off)."),
    ]
    return StudyResult(
        NAME, {"curvature": bends, "curve": curve, "k_star": star, "recipes": recipes}, record, notes
    )


def _curve_rows(identity, draws, group, curves, confidence) -> list[dict]:
    tail = 100 * (1 - confidence) / 2
    out, english = [], draws.loc[draws["k"] == 0, "value"]
    english = english.iloc[0] if len(english) else np.nan
    ks = sorted(draws["k"].unique())
    family_ks = [k for k in ks if k > 0]
    for k in ks:
        at = draws[draws["k"] == k]
        score = at["value"].mean()
        row = {
            "model": identity["model"],
            "base": identity["base"],
            "k": int(k),
            "score": score,
            "n_draws": len(at),
            "n_seeds": int(at["n_seeds"].max()),
            "gain_over_english": score - english if k > 0 else np.nan,
            "in_training": group.loc[group["k"] == k, "in_training"].mean(),
        }
        if k > 0:
            band = curves[family_ks.index(k)]
            band = band[np.isfinite(band)]
            if len(band):
                row["band_low"], row["band_high"] = np.percentile(band, [tail, 100 - tail])
            if out and out[-1]["k"] > 0:
                row["gain_per_doubling"] = (score - out[-1]["score"]) / (np.log2(k) - np.log2(out[-1]["k"]))
        out.append(row)
    return out


def _k_text(value: float) -> str:
    return "n/a" if np.isnan(value) else ("> max k" if np.isinf(value) else f"{value:.3g}")


def _answer(primary, star, delta, alpha, confidence, caveats) -> Answer:
    if primary is None:
        family = "the language_count family (<task>-k<k>-d<draw>)"
        return unanswerable(QUESTION, ESTIMAND, f"no recipe of {family} has scores", UNIT, caveats)
    bend, units = primary
    row = star.iloc[0]
    k_text = (
        f"k* (gain per doubling < {delta:g}) = {_k_text(row['k_star'])}"
        if pd.notna(row["k_star"])
        else str(row["reason"]).replace(
            "k* not identified", f"k* (gain per doubling < {delta:g}) not identified"
        )
    )
    k_text += (
        f", bootstrap {confidence:.0%} interval [{_k_text(row['ci_low'])}, {_k_text(row['ci_high'])}] "
        f"over seeds and draws ({row['failed_refits']} of {row['n_resamples']} refits failed, not in it)."
    )
    caveats = [
        *caveats,
        f"Saturating fit: {int(row['n_draws'])} draws, {int(row['residual_df'])} residual df",
    ]
    method = f"OLS of score on log2 k and its square over draws, t on {bend.get('df')} residual df"
    n = int(bend.get("n_draws", 0))
    if "estimate" not in bend:
        return unanswerable(QUESTION, ESTIMAND, bend["reason"], UNIT, caveats)
    if bend["min_seeds"] < 2:
        answer = one_seed_answer(
            QUESTION,
            ESTIMAND,
            bend["estimate"],
            n,
            UNIT,
            np.nan,
            caveats,
            alpha=alpha,
            confidence=confidence,
            method=method,
        )
        answer.detail = k_text
        return answer
    est = Estimate(bend["estimate"], bend["ci_low"], bend["ci_high"], bend["p_value"], n, bend["df"], np.nan,
                   bend["se"], method)  # fmt: skip
    detectable = mde(np.nan, se=bend["se"], df=bend["df"], alpha=alpha)
    answer = tested_answer(
        QUESTION, ESTIMAND, est, n_runs=n, unit=UNIT, mde=detectable, caveats=caveats,
        words=(ACCELERATING, DIMINISHING), alpha=alpha, confidence=confidence, method=method,
    )  # fmt: skip
    answer.detail = k_text
    return answer


# ---------------------------------------------------------------- calibration

PLANTED_EFFECT = -1.5  # points: each doubling adds 1.5 points less than the one before
SLOPE = 3.5  # the null's rise per doubling (linear in log2 k: no bend)
DRAW_SD = 0.5  # a language subset's own effect
IN_LANGUAGE_GAIN = 3.0  # a language the recipe trained on (translate-train): must not shape the curve


def simulate(design: Design, effect: float, rng: np.random.Generator) -> Simulation:
    """The shipped design with a curve ``SLOPE x + effect / 2 x^2`` (x = log2 k: the estimand is
    ``effect``), each draw its own offset, and a bonus on the languages a recipe trained on."""
    k_of = {r: len(s.split()) for r, s in design.recipes.items() if NAME_PATTERN.match(r)}
    offset = dict(zip(k_of, rng.normal(0, DRAW_SD, len(k_of))))

    def gain(model, recipe, target, language, base):
        bonus = IN_LANGUAGE_GAIN if language in design.recipes[recipe].split() else 0.0
        if recipe not in k_of:
            return 1.0 + bonus  # the English recipe
        x = np.log2(k_of[recipe])
        return SLOPE * x + effect / 2 * x**2 + offset[recipe] + bonus

    return Simulation(simulate_scores(design, gain, rng), truth=effect, inputs={})


# ---------------------------------------------------------------- figure


def figure(result: StudyResult):
    """One panel per model x base task: draws, mean curve with band, quadratic and saturating
    fits, k*, and the English-only point at k = 0 (drawn at k = 1/2)."""
    curve, star = result.tables["curve"], result.tables["k_star"]
    if curve.empty:
        return message_figure("Language count: " + result.answer)
    panels = list(curve.groupby(["model", "base"], sort=False))
    fig, axes = grid_figure(len(panels), columns=3, panel=(3.8, 3.1))
    for ax, ((model, base), rows) in zip(axes, panels):
        family, english = rows[rows["k"] > 0], rows[rows["k"] == 0]
        ax.fill_between(
            family["k"], family["band_low"], family["band_high"], color="tab:blue", alpha=0.2, linewidth=0
        )
        ax.plot(family["k"], family["score"], "o-", color="tab:blue", markersize=4, label="mean over draws")
        if len(english):
            ax.plot([0.5], english["score"], "s", color="tab:red", markersize=5, label="English only (k=0)")
        match = star[(star["model"] == model) & (star["base"] == base)].iloc[0]
        if pd.notna(match["fit_tau"]):
            grid = np.geomspace(family["k"].min(), family["k"].max(), 60)
            fitted = saturating(np.log2(grid), match["fit_a"], match["fit_b"], match["fit_tau"])
            ax.plot(grid, fitted, "--", color="black", linewidth=0.8, label="saturating fit")
        if pd.notna(match["k_star"]):
            ax.axvline(match["k_star"], color="tab:red", linewidth=1, label=f"k*={match['k_star']:.2g}")
            high = match["ci_high"] if np.isfinite(match["ci_high"]) else family["k"].max()
            ax.axvspan(match["ci_low"], high, color="tab:red", alpha=0.1, linewidth=0)
            title = f"k*={match['k_star']:.2g} [{_k_text(match['ci_low'])}, {_k_text(match['ci_high'])}]"
        else:
            title = str(match["reason"]).replace("k* not identified: ", "k* not identified:\n")
        ticks = [*([0.5] if len(english) else []), *family["k"]]
        ax.set_xscale("log", base=2)
        ax.set_xticks(ticks, [*(["0"] if len(english) else []), *(str(k) for k in family["k"])])
        ax.set_title(f"{model}, {base}\n{title}", fontsize=8)
        ax.set_xlabel("k (intermediate languages)", fontsize=8)
        ax.set_ylabel("score (mean over targets' zero-shot languages)", fontsize=7)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=7, framealpha=0.8, edgecolor="none", loc="best")
    fig.suptitle(
        "Score vs number of intermediate languages; band: bootstrap over seeds and draws\n"
        + result.record.answer_text.split(":")[0],
        fontsize=9,
    )
    return fig
