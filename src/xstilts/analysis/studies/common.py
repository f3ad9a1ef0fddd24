"""What the five studies share: the answer record, run-level statistics, the writer, and the
calibration interface.

A study is a pure function of the long scores table (``results/scores.parquet``) returning a
:class:`StudyResult`: named tables and one :class:`Answer` (the pre-specified primary answer),
from which the caption, the report section and ``answer.json`` are written. Statistics that
cannot be computed are NaN with a ``reason`` string in the same row; nothing here raises for a
missing cell, only for malformed input.

Rules every study follows (issue 21)
- The training run is the unit of replication. Languages and targets are repeated measures
  inside a run; gains are paired by seed (:func:`language_gains`: recipe seed s minus baseline
  seed s, so the baseline's noise enters every gain) and collapsed to run summaries
  (:func:`run_means`) before a t-based interval (:func:`t_interval`, :func:`two_sample`), or
  modelled with random effects (:func:`mixed_term`).
- Fewer than two runs per arm (one seed): :func:`one_seed_answer`, decision ``not
  identifiable``, no p-value, and the words say that run-to-run variance cannot be estimated.
- One primary answer per study, defined in its module; every other contrast is exploratory and
  carries :func:`adjust` (Holm by default) in its table.
- Every answer has its minimum detectable effect (:func:`mde`, 80% power at alpha, two-sided),
  from the run-level sd measured in the data, or :data:`ASSUMED_RUN_SD` stated in the caveats.
- A tested estimate becomes the answer through :func:`tested_answer` (decision from p at alpha,
  direction words only with an effect); no data: :func:`unanswerable`.

Calibration interface (``benchmarks/study_calibration.py``, ``tests/test_study_calibration.py``)
Each study module defines, besides ``analyse`` and ``figure``:
- ``PLANTED_EFFECT``: the effect (in the estimand's units) the power simulation plants;
- ``simulate(design: Design, effect: float, rng) -> Simulation``: a scores frame of the real
  shape for ``design`` (build it with :func:`simulate_scores`, passing the study's per-cell
  gain), the true value of the estimand, and the extra keyword arguments ``analyse`` needs
  (e.g. a difficulty table; for ``--command`` runs each becomes a flag: a frame is written
  to CSV and passed as ``--<key>``). ``effect=0`` is the null. The simulated ``gain(model,
  recipe, target, language, base)`` receives the cell's noiseless baseline score.
The registry's ``design_from_config`` reads a study config (models, recipes with their source
languages, targets, seeds); :func:`simulate_scores` adds the noise every study shares: per-language and
per-target offsets, a baseline run per model x target x seed, intermediate-run and fine-tuning
run noise, and per-cell noise.
"""

from __future__ import annotations

import json
import math
import re
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from xstilts.analysis.stats import rng_for
from xstilts.analysis.tables import BASELINE_RECIPE, CELL_KEYS, MISSING, primary_scores
from xstilts.atomic import write_csv, write_figure, write_text

CELL = ["model", "recipe", "target", "language"]
RUN = ["model", "recipe", "seed"]  # one intermediate training (and its fine-tunings)
DECISIONS = ("effect", "no effect detected", "not identifiable")
POWER = 0.8
# Run-to-run sd (points) assumed where a design cannot measure it: the 0.5-1.0 points seed
# spread of fine-tuned XLM-R on XTREME tasks (issue 21), its upper end.
ASSUMED_RUN_SD = 1.0
ONE_SEED = (
    "one run per arm (one seed): run-to-run variance cannot be estimated, so no interval or "
    "p-value can tell an effect from seed noise"
)


def _finite(value) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value)


def _number(value: float, digits: int = 2) -> str:
    return "n/a" if value is None or not np.isfinite(value) else f"{value:+.{digits}f}"


@dataclass
class Answer:
    """The pre-specified primary answer of a study: what ``answer.json`` holds.

    ``estimand`` says in words what ``estimate`` measures and in which units; ``unit`` is the
    replication unit the interval and the test are over (``n_runs`` of them); ``direction``
    names the sign in the question's words (only stated in the text when ``decision ==
    "effect"``); ``detail`` and ``uncertainty_detail``: optional study-specific sentences added
    to the answer and to the uncertainty."""

    question: str
    estimand: str
    estimate: float
    ci_low: float
    ci_high: float
    p_value: float | None
    decision: str
    direction: str | None
    n_runs: int
    unit: str
    minimum_detectable_effect: float
    caveats: list[str] = field(default_factory=list)
    alpha: float = 0.05
    confidence: float = 0.95
    method: str = ""
    detail: str = ""
    uncertainty_detail: str = ""

    def __post_init__(self):
        if self.decision not in DECISIONS:
            raise ValueError(f"decision {self.decision!r}: choose one of {', '.join(DECISIONS)}")

    def to_dict(self) -> dict:
        data = asdict(self)
        for key in ("estimate", "ci_low", "ci_high", "p_value", "minimum_detectable_effect"):
            data[key] = _finite(data[key])
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, allow_nan=False) + "\n"

    @property
    def answer_text(self) -> str:
        if self.decision == "not identifiable":
            text = f"Not identifiable from this grid: {self.caveats[0] if self.caveats else self.estimand}."
            if np.isfinite(self.estimate):
                text += f" The point estimate of the {self.estimand} is {_number(self.estimate)}."
        elif self.decision == "effect":
            text = (
                f"Yes, {self.direction}: the {self.estimand} is {_number(self.estimate)}, "
                f"different from 0 at alpha {self.alpha:g}."
            )
        else:
            text = (
                f"No effect detected: the {self.estimand} is {_number(self.estimate)}, not "
                f"distinguishable from 0 at alpha {self.alpha:g}."
            )
        return " ".join(filter(None, [text, self.detail]))

    @property
    def uncertainty_text(self) -> str:
        mde = (
            f"the smallest effect this design detects with {POWER:.0%} power is "
            f"{abs(self.minimum_detectable_effect):.2f}"
            if np.isfinite(self.minimum_detectable_effect)
            else "its minimum detectable effect cannot be computed"
        )
        if self.decision == "not identifiable":
            text = f"No interval or p-value is given (n = {self.n_runs}, unit: {self.unit}); {mde}."
        else:
            p = "no test" if self.p_value is None else p_text(self.p_value)
            text = (
                f"{interval_text(self.ci_low, self.ci_high, self.confidence, 2)} and {p} over "
                f"n = {self.n_runs} (unit: {self.unit}; {self.method}); {mde}."
            )
        return " ".join(filter(None, [text, self.uncertainty_detail]))

    @property
    def caveats_text(self) -> str:
        rest = self.caveats[1:] if self.decision == "not identifiable" else self.caveats
        sentences = (c[:1].upper() + c[1:] for c in rest)
        return " ".join(c if c.endswith(".") else c + "." for c in sentences) or "None."


def one_seed_answer(question: str, estimand: str, estimate: float, n_runs: int, unit: str, mde: float,
                    caveats: list[str], **fields) -> Answer:  # fmt: skip
    """The answer of a design with fewer than two runs per arm: not identifiable, no p-value."""
    return Answer(
        question=question,
        estimand=estimand,
        estimate=estimate,
        ci_low=np.nan,
        ci_high=np.nan,
        p_value=None,
        decision="not identifiable",
        direction=None,
        n_runs=n_runs,
        unit=unit,
        minimum_detectable_effect=mde,
        caveats=[ONE_SEED, *caveats],
        **fields,
    )


def unanswerable(question: str, estimand: str, why: str, unit: str = "run", caveats=()) -> Answer:
    """No data for the estimand (no scores, one model, ...): not identifiable, and why."""
    return Answer(
        question=question,
        estimand=estimand,
        estimate=np.nan,
        ci_low=np.nan,
        ci_high=np.nan,
        p_value=None,
        decision="not identifiable",
        direction=None,
        n_runs=0,
        unit=unit,
        minimum_detectable_effect=np.nan,
        caveats=[why, *caveats],
    )


def tested_answer(question: str, estimand: str, estimate: Estimate, *, n_runs: int, unit: str, mde: float,
                  caveats: list[str], words: tuple[str, str], alpha: float, confidence: float, method: str,
                  why_untested: str = "the test could not be computed") -> Answer:  # fmt: skip
    """The answer of a tested estimate: decision from its p at ``alpha``, ``words`` = (positive,
    negative) direction only with an effect; an untested one is not identifiable, and why."""
    p = estimate.p_value if np.isfinite(estimate.p_value) else None
    decision = decide(p, alpha)
    if decision == "not identifiable":
        caveats = [why_untested, *caveats]
    return Answer(
        question=question,
        estimand=estimand,
        estimate=estimate.estimate,
        ci_low=estimate.ci_low,
        ci_high=estimate.ci_high,
        p_value=p,
        decision=decision,
        direction=direction_word(decision, estimate.estimate, *words),
        n_runs=n_runs,
        unit=unit,
        minimum_detectable_effect=mde,
        caveats=caveats,
        alpha=alpha,
        confidence=confidence,
        method=method,
    )


PENDING = "this study's primary answer is not pre-specified yet (issue 21, part B)"


def pending_answer(question: str, answer: str, uncertainty: str) -> Answer:
    """Transitional, for the studies issue 21 part B rewrites: their former caption sentences
    as the detail of a ``not identifiable`` answer (no decision is claimed)."""
    answer_record = unanswerable(question, "primary answer", PENDING)
    answer_record.detail, answer_record.uncertainty_detail = answer, uncertainty
    return answer_record


def direction_word(decision: str, estimate: float, positive: str, negative: str) -> str | None:
    """The sign in the question's words, only for an effect (None otherwise)."""
    if decision != "effect":
        return None
    return positive if estimate > 0 else negative


def decide(p_value: float | None, alpha: float) -> str:
    if p_value is None or not np.isfinite(p_value):
        return "not identifiable"
    return "effect" if p_value < alpha else "no effect detected"


@dataclass
class StudyResult:
    """Tables of one study and its answer; ``notes`` are shown under the caption."""

    name: str
    tables: dict[str, pd.DataFrame]
    record: Answer
    notes: list[str] = field(default_factory=list)

    @property
    def question(self) -> str:
        return self.record.question

    @property
    def answer(self) -> str:
        return self.record.answer_text

    @property
    def uncertainty(self) -> str:
        return self.record.uncertainty_text

    @property
    def caption(self) -> str:
        return (
            f"Question: {self.question} Answer: {self.answer} Uncertainty: {self.uncertainty} "
            f"Caveats: {self.record.caveats_text}"
        )


# ---------------------------------------------------------------- scores -> gains


SEEDS_UNPAIRED = (
    "some recipe seeds have no baseline (none) run with the same seed: their gains are over "
    "the baseline's mean over its seeds, so the baseline's run noise is not paired there"
)


def language_gains(scores: pd.DataFrame) -> pd.DataFrame:
    """Per model x recipe x target x language x seed: value, the baseline (``none``) value of
    the same seed, and gain = value - baseline; ``paired`` is False where the baseline has no
    run with that seed and its mean over seeds stands in (:data:`SEEDS_UNPAIRED` says so);
    ``baseline_seeds``: how many runs the baseline has there. The baseline rows themselves are
    kept with gain NaN."""
    primary = primary_scores(scores)
    keys = ["model", "target", "language"]
    base_rows = primary[primary["recipe"] == BASELINE_RECIPE]
    same_seed = base_rows.set_index([*keys, "seed"])["value"].rename("baseline")
    mean = base_rows.groupby(keys)["value"].mean().rename("baseline_mean")
    seeds = base_rows.groupby(keys)["seed"].nunique().rename("baseline_seeds")
    frame = primary.join(same_seed, on=[*keys, "seed"]).join(mean, on=keys).join(seeds, on=keys)
    frame["paired"] = frame["baseline"].notna()
    frame["baseline"] = frame["baseline"].fillna(frame.pop("baseline_mean"))
    is_base = frame["recipe"] == BASELINE_RECIPE
    frame["gain"] = np.where(is_base, np.nan, frame["value"] - frame["baseline"])
    frame.loc[is_base, "paired"] = True
    return frame


def pairing_caveats(gains: pd.DataFrame) -> list[str]:
    """:data:`SEEDS_UNPAIRED` when some gain was not paired by seed."""
    with_gain = gains[gains["gain"].notna()]
    return [SEEDS_UNPAIRED] if len(with_gain) and not with_gain["paired"].all() else []


def run_means(gains: pd.DataFrame, by=(*RUN, "target"), value: str = "gain") -> pd.DataFrame:
    """Languages collapsed inside a run: the mean of ``value`` per ``by`` (default: one
    fine-tuning run, model x recipe x seed x target), with the number of languages."""
    rows = gains.dropna(subset=[value])
    grouped = rows.groupby(list(by), sort=True)
    return pd.DataFrame(
        {value: grouped[value].mean(), "n_languages": grouped["language"].nunique()}
    ).reset_index()


def runs_per_arm(gains: pd.DataFrame, arms=("model", "recipe")) -> int:
    """The fewest seeds any arm with a gain has, the baseline's counted too (its one run would
    enter every gain alike): below 2 the run-to-run variance is unknown."""
    rows = gains.dropna(subset=["gain"])
    if rows.empty:
        return 0
    fewest = int(rows.groupby(list(arms))["seed"].nunique().min())
    return min(fewest, int(rows["baseline_seeds"].min())) if "baseline_seeds" in rows else fewest


def cell_means(gains: pd.DataFrame) -> pd.DataFrame:
    """Mean over seeds per model x recipe x target x language (value, baseline, gain, n_seeds)."""
    grouped = gains.groupby(CELL, sort=True)
    return pd.DataFrame(
        {
            "value": grouped["value"].mean(),
            "baseline": grouped["baseline"].mean(),
            "gain": grouped["gain"].mean(),
            "gain_sd": grouped["gain"].std(ddof=1),
            "n_seeds": grouped["seed"].nunique(),
        }
    ).reset_index()


def split_languages(value) -> tuple[str, ...]:
    """A ``recipe_languages`` entry (list/array, or a space/comma separated string) as a tuple."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ()
    if isinstance(value, str):
        return tuple(part for part in re.split(r"[\s,]+", value) if part)
    return tuple(str(part) for part in value)


# A recipe's training languages: results.collect writes `source_languages`; `recipe_languages`
# is the name the studies' own tables and older scores use.
LANGUAGE_COLUMNS = ("source_languages", "recipe_languages")


def recipe_languages(scores: pd.DataFrame) -> pd.Series | None:
    """Per recipe, its training languages as one space-separated string (None without a column)."""
    for column in LANGUAGE_COLUMNS:
        found = recipe_column(scores, column)
        if found is not None:
            return found
    return None


def recipe_column(scores: pd.DataFrame, column: str, key: str = "recipe") -> pd.Series | None:
    """Per recipe (or per ``key``), the one value of an optional column (None when the column is
    absent). Several different values for one recipe are an error: the column must describe the
    recipe, not the cell."""
    if column not in scores.columns:
        return None
    values = scores[[key, column]].copy()
    values[column] = values[column].map(
        lambda v: " ".join(split_languages(v)) if column in LANGUAGE_COLUMNS else v
    )
    distinct = values.drop_duplicates()
    clash = distinct[distinct[key].duplicated(keep=False)]
    if not clash.empty:
        raise ValueError(
            f"column {column!r} has several values for {key}(s) {sorted(set(clash[key]))}: "
            f"it must be one value per {key} (fix the rows that collect.py wrote for them)"
        )
    return distinct.set_index(key)[column]


# ---------------------------------------------------------------- intervals and tests


@dataclass
class Estimate:
    """A run-level estimate: value, interval, two-sided p, units, degrees of freedom, and the
    sd of one unit's value (what :func:`mde` needs)."""

    estimate: float
    ci_low: float
    ci_high: float
    p_value: float
    n: int
    df: float
    sd: float
    se: float
    method: str


NO_ESTIMATE = dict(ci_low=np.nan, ci_high=np.nan, p_value=np.nan, df=np.nan, sd=np.nan, se=np.nan)


def t_interval(values, confidence: float = 0.95) -> Estimate:
    """One-sample t interval and test of mean = 0 over run-level values (n >= 2)."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    n = len(values)
    if n < 2:
        return Estimate(float(values.mean()) if n else np.nan, n=n, method="t over runs", **NO_ESTIMATE)
    sd = float(values.std(ddof=1))
    if sd == 0:
        mean = float(values.mean())
        return Estimate(mean, mean, mean, 1.0 if mean == 0 else 0.0, n, n - 1, 0.0, 0.0, "t over runs")
    test = stats.ttest_1samp(values, 0.0)
    low, high = test.confidence_interval(confidence)
    return Estimate(float(values.mean()), float(low), float(high), float(test.pvalue), n, n - 1, sd,
                    sd / math.sqrt(n), "t over runs")  # fmt: skip


def two_sample(values_a, values_b, confidence: float = 0.95) -> Estimate:
    """mean(b) - mean(a) with a pooled-variance t interval over independent runs (>= 2 each);
    ``sd`` is the pooled run-level sd."""
    a = np.asarray(values_a, dtype=float)
    b = np.asarray(values_b, dtype=float)
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    n = len(a) + len(b)
    estimate = float(b.mean() - a.mean()) if len(a) and len(b) else np.nan
    if len(a) < 2 or len(b) < 2:
        return Estimate(estimate, n=n, method="two-sample t over runs", **NO_ESTIMATE)
    df = n - 2
    sd = math.sqrt(((len(a) - 1) * a.var(ddof=1) + (len(b) - 1) * b.var(ddof=1)) / df)
    se = sd * math.sqrt(1 / len(a) + 1 / len(b))
    if se == 0:
        return Estimate(estimate, estimate, estimate, float(estimate == 0), n, df, 0.0, 0.0,
                        "two-sample t over runs")  # fmt: skip
    half = stats.t.ppf(0.5 + confidence / 2, df) * se
    p = 2 * stats.t.sf(abs(estimate) / se, df)
    return Estimate(estimate, estimate - half, estimate + half, float(p), n, df, sd, se,
                    "two-sample t over runs")  # fmt: skip


def _no_fit(n_groups: int, why: str) -> tuple[Estimate, str]:
    return Estimate(np.nan, n=int(n_groups), method="MixedLM", **NO_ESTIMATE), why


def mixed_term(data: pd.DataFrame, formula: str, term: str, groups: str, vc: dict | None = None,
               confidence: float = 0.95, group_terms: int = 1) -> tuple[Estimate, str]:  # fmt: skip
    """A statsmodels MixedLM fit (REML) and one fixed-effect ``term``: (Estimate, note); the
    note names convergence trouble or why no fit (then the estimate is NaN). ``groups``: the
    random-intercept grouping column; ``vc``: variance components nested in it
    ({name: "0 + C(column)"}). The interval and p use a t distribution on (groups -
    ``group_terms``) degrees of freedom (the fixed terms that vary between groups only, the
    intercept included), not the normal one: with a few dozen groups the Wald z is too narrow."""
    import statsmodels.formula.api as smf

    n_groups = data[groups].nunique() if len(data) else 0
    if n_groups < group_terms + 2:
        return _no_fit(n_groups, f"MixedLM needs >= {group_terms + 2} {groups} groups, has {n_groups}")
    model = smf.mixedlm(formula, data, groups=groups, vc_formula=vc or None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            fit = model.fit(reml=True, method=["lbfgs", "powell"])
        except (np.linalg.LinAlgError, ValueError) as error:
            return _no_fit(n_groups, f"MixedLM failed: {error}")
    if term not in fit.params.index or not np.isfinite(fit.bse.get(term, np.nan)):
        return _no_fit(n_groups, f"MixedLM: {term} not estimable")
    trouble = sorted({type(w.message).__name__ for w in caught if "Convergence" in type(w.message).__name__})
    note = f"MixedLM {', '.join(trouble)}: read with care" if trouble else ""
    df = int(n_groups) - group_terms
    estimate, se = float(fit.params[term]), float(fit.bse[term])
    half = stats.t.ppf(0.5 + confidence / 2, df) * se
    p = 2 * stats.t.sf(abs(estimate) / se, df) if se > 0 else float(estimate == 0)
    low, high = estimate - half, estimate + half
    sd = se * math.sqrt(n_groups)
    return Estimate(estimate, low, high, float(p), int(n_groups), df, sd, se, "MixedLM"), note


def mde(sd: float, n: int | None = None, *, alpha: float = 0.05, power: float = POWER, n2: int | None = None,
        se: float | None = None, df: float | None = None) -> float:  # fmt: skip
    """Minimum detectable effect (two-sided, ``power`` at ``alpha``) in the units of ``sd``:
    one sample of ``n`` runs (statsmodels TTestPower), two independent samples of ``n`` and
    ``n2`` runs (TTestIndPower), or a coefficient with standard error ``se`` on ``df``
    degrees of freedom. NaN where it cannot be computed."""
    from statsmodels.stats.power import TTestIndPower, TTestPower

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            if se is not None:
                nobs = max(int(df or 1), 1) + 1
                d = TTestPower().solve_power(nobs=nobs, alpha=alpha, power=power, alternative="two-sided")
                return float(d * math.sqrt(nobs) * se)
            if not (sd is not None and np.isfinite(sd) and n and n >= 2):
                return np.nan
            if n2 is not None:
                if n2 < 2:
                    return np.nan
                d = TTestIndPower().solve_power(nobs1=n, ratio=n2 / n, alpha=alpha, power=power)
            else:
                d = TTestPower().solve_power(nobs=n, alpha=alpha, power=power, alternative="two-sided")
        except (ValueError, RuntimeError, ZeroDivisionError):
            return np.nan
    return float(d * sd)


def adjust(p_values, method: str = "holm") -> np.ndarray:
    """Multiplicity-adjusted p-values of a family of exploratory contrasts (statsmodels
    multipletests: ``holm`` or ``fdr_bh``); NaN stays NaN."""
    from statsmodels.stats.multitest import multipletests

    p = np.asarray(p_values, dtype=float)
    out = np.full_like(p, np.nan)
    finite = np.isfinite(p)
    if finite.any():
        out[finite] = multipletests(p[finite], method=method)[1]
    return out


def mean_interval(values, *, n_resamples: int, seed: int, key: str, confidence: float) -> tuple:
    """(mean, low, high, note): bootstrap interval of a mean (BCa; percentile where BCa is
    undefined). Fewer than 2 values: no interval, and the note says so."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    n = len(values)
    if n == 0:
        return np.nan, np.nan, np.nan, "no values"
    mean = float(values.mean())
    if n < 2:
        return mean, np.nan, np.nan, "n=1: no interval"
    if np.ptp(values) == 0:
        return mean, mean, mean, f"n={n}, all equal"
    note = f"n={n}: coarse interval (only {n} units resampled)" if n < 5 else ""
    for method in ("BCa", "percentile"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = stats.bootstrap(
                (values,),
                np.mean,
                n_resamples=n_resamples,
                confidence_level=confidence,
                method=method,
                rng=rng_for(seed, key),
            )
        low, high = float(result.confidence_interval.low), float(result.confidence_interval.high)
        if np.isfinite(low) and np.isfinite(high):
            if method != "BCa":
                note = "; ".join(filter(None, [note, "percentile interval (BCa undefined)"]))
            return mean, low, high, note
    return mean, np.nan, np.nan, "bootstrap undefined"


def sign_flip_p(values, *, n_resamples: int, seed: int, key: str) -> float:
    """Two-sided permutation p of mean(values) = 0 by flipping signs (paired differences)."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if len(values) < 2 or np.all(values == 0):
        return np.nan
    result = stats.permutation_test(
        (values,),
        lambda x, axis: np.mean(x, axis=axis),
        permutation_type="samples",
        vectorized=True,
        n_resamples=n_resamples,
        rng=rng_for(seed, key),
    )
    return float(result.pvalue)


def p_text(p: float) -> str:
    if not np.isfinite(p):
        return "p n/a"
    return "p<0.001" if p < 0.001 else f"p={p:.3f}"


def interval_text(low: float, high: float, confidence: float, digits: int = 1) -> str:
    if not (np.isfinite(low) and np.isfinite(high)):
        return "no interval"
    return f"{confidence:.0%} CI [{low:+.{digits}f}, {high:+.{digits}f}]"


# ---------------------------------------------------------------- writing


def to_markdown(frame: pd.DataFrame, digits: int = 2) -> str:
    """A table with numbers rounded and missing values shown as the tables' dash."""
    if frame.empty:
        return "(empty)"
    shown = frame.copy()
    for column in shown.columns:
        if pd.api.types.is_float_dtype(shown[column]):
            shown[column] = [MISSING if pd.isna(v) else f"{v:.{digits}f}" for v in shown[column]]
        else:
            shown[column] = [
                MISSING if (v is None or (np.isscalar(v) and pd.isna(v))) else str(v) for v in shown[column]
            ]
    return shown.to_markdown(index=False, stralign="right", disable_numparse=True)


def study_markdown(result: StudyResult) -> str:
    record = result.record
    fields = pd.DataFrame(
        {"field": list(record.to_dict()), "value": [json.dumps(v) for v in record.to_dict().values()]}
    )
    sections = [
        f"# Study: {result.name.replace('-', ' ')}",
        f"**Question.** {result.question}",
        f"**Answer.** {result.answer}",
        f"**Uncertainty.** {result.uncertainty}",
        f"**Caveats.** {record.caveats_text}",
    ]
    if result.notes:
        sections.append("\n".join(f"- {note}" for note in result.notes))
    sections += ["## answer.json", fields.to_markdown(index=False)]
    for name, table in result.tables.items():
        sections += [f"## {name}", to_markdown(table)]
    return "\n\n".join(sections) + "\n"


def write_study(result: StudyResult, figure, out_dir: str | Path) -> list[Path]:
    """``<out>/studies/<name>/``: one CSV per table, ``answer.json`` (the primary answer),
    ``<name>.md`` (caption, notes, tables), ``caption.rst`` (question, answer, uncertainty and
    caveats, for the Snakemake report) and ``<name>.png``. Each file is written atomically."""
    import matplotlib.pyplot as plt

    study_dir = Path(out_dir) / "studies" / result.name
    written = [write_csv(study_dir / f"{name}.csv", table) for name, table in result.tables.items()]
    written.append(write_text(study_dir / "answer.json", result.record.to_json()))
    written.append(write_text(study_dir / f"{result.name}.md", study_markdown(result)))
    written.append(write_text(study_dir / "caption.rst", result.caption + "\n"))
    written.append(write_figure(study_dir / f"{result.name}.png", figure))
    plt.close(figure)
    return written


def message_figure(message: str):
    import matplotlib.pyplot as plt

    figure, ax = plt.subplots(figsize=(6.5, 1.6))
    ax.axis("off")
    ax.text(0.5, 0.5, message, ha="center", va="center", wrap=True, fontsize=10)
    return figure


def grid_figure(n_panels: int, columns: int = 3, panel=(3.6, 3.0), extra_height: float = 0.9):
    """A constrained-layout grid of panels; unused axes hidden. Returns (figure, axes list)."""
    import matplotlib.pyplot as plt

    columns = max(1, min(columns, n_panels))
    rows = int(np.ceil(n_panels / columns))
    figure, axes = plt.subplots(
        rows,
        columns,
        squeeze=False,
        layout="constrained",
        figsize=(panel[0] * columns, panel[1] * rows + extra_height),
    )
    for ax in axes.flat[n_panels:]:
        ax.set_visible(False)
    return figure, list(axes.flat[:n_panels])


# ---------------------------------------------------------------- calibration by simulation


@dataclass(frozen=True)
class Design:
    """What a study config grows: model names (with hub ids), recipes with their training
    languages (space-separated, as results.collect writes ``source_languages``), targets with
    their languages, seeds, and the study block."""

    models: dict[str, str]
    recipes: dict[str, str]
    targets: dict[str, tuple[str, ...]]
    seeds: tuple[int, ...]
    study: dict = field(default_factory=dict, hash=False)

    def with_seeds(self, seeds) -> Design:
        return Design(self.models, self.recipes, self.targets, tuple(seeds), self.study)


@dataclass
class Simulation:
    """A simulated scores frame, the true value of the study's estimand, and the other keyword
    arguments its ``analyse`` takes (e.g. a difficulty table)."""

    scores: pd.DataFrame
    truth: float
    inputs: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Noise:
    """sd (points) of each source of variation :func:`simulate_scores` draws."""

    run: float = 0.75  # per intermediate run (model x recipe x seed), shared by its targets
    finetune: float = 0.5  # per fine-tuning run (model x recipe x target x seed), all its languages
    cell: float = 0.5  # per language inside one run
    language: float = 6.0  # per language (the same in every run: cancels in a gain)
    target: float = 8.0  # per target


@dataclass(frozen=True)
class Step:
    """A job that makes a table a study reads (a study module's ``steps``): ``xstilts <command>
    --<key> <JSON of value>... --out <output>``, run where snakemake runs."""

    rule: str
    command: str
    inputs: list
    args: dict
    output: str
    log: str


def simulate_scores(design: Design, gain: Callable[..., float], rng: np.random.Generator,
                    noise: Noise = Noise(), model_offset: dict | None = None) -> pd.DataFrame:  # fmt: skip
    """A scores frame of results.collect's shape for ``design``: per model x recipe x target x
    language x seed, a base score (50 + model, target and language offsets) + ``gain(model,
    recipe, target, language, base)`` (0 for the baseline) + noise: an intermediate-run draw per
    model x recipe x seed (the baseline has none), a fine-tuning draw per model x recipe x target
    x seed and a per-cell draw; the baseline's draws are its own per seed and enter every gain of
    that seed. Scores are clipped to [0, 100]."""
    languages = sorted({lang for langs in design.targets.values() for lang in langs})
    language_offset = dict(zip(languages, rng.normal(0, noise.language, len(languages))))
    target_offset = dict(zip(design.targets, rng.normal(0, noise.target, len(design.targets))))
    rows = []
    for model in design.models:
        for recipe, sources in design.recipes.items():
            for seed in design.seeds:
                run = 0.0 if recipe == BASELINE_RECIPE else rng.normal(0, noise.run)
                for target, target_languages in design.targets.items():
                    finetune = rng.normal(0, noise.finetune)
                    for language in target_languages:
                        base = 50 + (model_offset or {}).get(model, 0.0) + target_offset[target]
                        base += language_offset[language]
                        effect = (
                            0.0 if recipe == BASELINE_RECIPE else gain(model, recipe, target, language, base)
                        )
                        value = float(
                            np.clip(base + effect + run + finetune + rng.normal(0, noise.cell), 0, 100)
                        )
                        rows.append((model, recipe, target, language, seed, value, sources))
    frame = pd.DataFrame(rows, columns=[*CELL_KEYS, "value", "source_languages"])
    return frame.assign(metric="score", primary=True)[
        ["model", "recipe", "target", "language", "seed", "metric", "value", "primary", "source_languages"]
    ]
