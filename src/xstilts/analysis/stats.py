"""Correlation statistics over languages: Spearman (main), Pearson, Kendall, with BCa bootstrap
intervals, permutation p-values, partial correlations and Benjamini-Hochberg FDR control.

Everything is scipy: ``bootstrap(method="BCa", paired=True)`` resamples languages (x and y
together), ``permutation_test(permutation_type="pairings")`` shuffles which gain goes with which
distance, ``false_discovery_control`` adjusts p-values across a family of tests.
"""

from __future__ import annotations

import warnings
import zlib

import numpy as np
from scipy import stats

from xstilts.analysis.study_design import MIN_LANGUAGES

STATISTICS = ("spearman", "pearson", "kendall", "partial_spearman", "partial_pearson")


def pearson_along_last_axis(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pearson r over the last axis, broadcasting; NaN where either side is constant."""
    x = x - x.mean(axis=-1, keepdims=True)
    y = y - y.mean(axis=-1, keepdims=True)
    denominator = np.sqrt((x * x).sum(axis=-1) * (y * y).sum(axis=-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, (x * y).sum(axis=-1) / denominator, np.nan)


def spearman_along_last_axis(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Spearman rho = Pearson r of average ranks (ties share their mean rank)."""
    return pearson_along_last_axis(stats.rankdata(x, axis=-1), stats.rankdata(y, axis=-1))


_CORRELATIONS = {"spearman": spearman_along_last_axis, "pearson": pearson_along_last_axis}


def residualise(values: np.ndarray, control: np.ndarray) -> np.ndarray:
    """Residuals of an ordinary least-squares fit of values on control (with intercept)."""
    design = np.column_stack([np.ones_like(control), control])
    coefficients, *_ = np.linalg.lstsq(design, values, rcond=None)
    return values - design @ coefficients


def rng_for(seed: int, key: str) -> np.random.Generator:
    """A generator fixed by the seed and the test's name, so one test's numbers do not depend
    on which other tests run in the same batch."""
    return np.random.default_rng([seed, zlib.crc32(key.encode("utf-8"))])


def permutation_p(x: np.ndarray, y: np.ndarray, name: str, n_resamples: int, rng) -> float:
    """Two-sided permutation p-value of a correlation (exact when n! <= n_resamples)."""
    correlation = _CORRELATIONS[name]
    result = stats.permutation_test(
        (x,),
        lambda xs, axis: correlation(np.moveaxis(xs, axis, -1), y),
        permutation_type="pairings",
        vectorized=True,
        n_resamples=n_resamples,
        rng=rng,
    )
    return float(result.pvalue)


def bca_interval(
    x: np.ndarray, y: np.ndarray, name: str, n_resamples: int, rng, confidence: float
) -> tuple[float, float, str]:
    """BCa bootstrap interval resampling (x, y) pairs, and a note when BCa cannot be used.

    BCa is undefined when the bootstrap distribution is a single point (a perfectly monotone
    sample: every resample has rho = 1; the interval is then that point) or when some resamples
    are constant on one side (small n, tied distances); for the latter we fall back to the
    percentile interval of the defined resamples and say so.
    """
    correlation = _CORRELATIONS[name]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = stats.bootstrap(
            (x, y),
            lambda xs, ys, axis: correlation(np.moveaxis(xs, axis, -1), np.moveaxis(ys, axis, -1)),
            paired=True,
            vectorized=True,
            method="BCa",
            n_resamples=n_resamples,
            confidence_level=confidence,
            rng=rng,
        )
    low, high = float(result.confidence_interval.low), float(result.confidence_interval.high)
    if not (np.isnan(low) or np.isnan(high)):
        return low, high, (f"{name} CI: {str(caught[0].message).splitlines()[0]}" if caught else "")
    resamples = result.bootstrap_distribution
    defined = resamples[np.isfinite(resamples)]
    if len(defined) == len(resamples) and np.ptp(defined) == 0:
        return float(defined[0]), float(defined[0]), ""
    tail = 100 * (1 - confidence) / 2
    low, high = np.percentile(defined, [tail, 100 - tail])
    undefined = len(resamples) - len(defined)
    return (
        float(low),
        float(high),
        (
            f"{name} CI: percentile interval, BCa undefined "
            f"({undefined} of {len(resamples)} resamples constant)"
        ),
    )


def _empty_result(n: int, n_partial: int, reason: str) -> dict:
    result = {"n": n, "n_partial": n_partial, "reason": reason}
    for name in STATISTICS:
        result[name] = np.nan
        result[f"{name}_p"] = np.nan
    for name in _CORRELATIONS:
        result[f"{name}_ci_low"] = result[f"{name}_ci_high"] = np.nan
    return result


def correlate(
    x,
    y,
    control=None,
    *,
    n_resamples: int = 9999,
    seed: int = 0,
    key: str = "",
    confidence: float = 0.95,
    min_n: int = MIN_LANGUAGES,
) -> dict:
    """All statistics for one (distance, gain) sample; pairs with a NaN are dropped first.

    ``control`` (e.g. log pretraining size) is used for the partial correlations only, on the
    languages where it is known. Returns a flat dict; unusable cases give NaN and a ``reason``.
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    control = np.full_like(x, np.nan) if control is None else np.asarray(control, dtype=float)
    keep = ~(np.isnan(x) | np.isnan(y))
    x, y, control = x[keep], y[keep], control[keep]
    with_control = ~np.isnan(control)
    n, n_partial = len(x), int(with_control.sum())
    if n < min_n:
        return _empty_result(n, n_partial, f"n={n} < {min_n} languages")
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        side = "distance" if np.ptp(x) == 0 else "gain"
        return _empty_result(n, n_partial, f"constant {side} over languages")

    result = _empty_result(n, n_partial, "")
    reasons = []
    for name in _CORRELATIONS:
        result[name] = float(_CORRELATIONS[name](x, y))
        result[f"{name}_p"] = permutation_p(x, y, name, n_resamples, rng_for(seed, f"{key}/{name}/p"))
        low, high, reason = bca_interval(
            x, y, name, n_resamples, rng_for(seed, f"{key}/{name}/ci"), confidence
        )
        result[f"{name}_ci_low"], result[f"{name}_ci_high"] = low, high
        reasons.append(reason)
    kendall = stats.kendalltau(x, y)
    result["kendall"], result["kendall_p"] = float(kendall.statistic), float(kendall.pvalue)
    reasons.append(
        _partial(
            result, x[with_control], y[with_control], control[with_control], n_resamples, seed, key, min_n
        )
    )
    result["reason"] = "; ".join(reason for reason in reasons if reason)
    return result


def _partial(result: dict, x, y, control, n_resamples: int, seed: int, key: str, min_n: int) -> str:
    """Partial correlations: correlate the residuals of x and y after regressing out control.

    Spearman version works on ranks (rank x, y and control, then residualise). Its p-value is a
    permutation test on the residuals, a common approximation.
    """
    # One more language than the plain test: the control costs a degree of freedom.
    if len(x) < min_n + 1:
        return f"partial: n={len(x)} languages with a known control < {min_n + 1}"
    if np.ptp(control) == 0:
        return "partial: constant control"
    for name, transform in (("spearman", stats.rankdata), ("pearson", np.asarray)):
        control_t = transform(control)
        rx, ry = residualise(transform(x), control_t), residualise(transform(y), control_t)
        result[f"partial_{name}"] = float(pearson_along_last_axis(rx, ry))
        if not np.isnan(result[f"partial_{name}"]):
            result[f"partial_{name}_p"] = permutation_p(
                rx, ry, "pearson", n_resamples, rng_for(seed, f"{key}/partial_{name}/p")
            )
    return ""


def add_fdr(frame, statistics=STATISTICS, suffix: str = "_q"):
    """Benjamini-Hochberg q-values per statistic, over all rows with a finite p (one family
    per statistic: the Spearman tests are one family, the Pearson tests another, ...)."""
    frame = frame.copy()
    for name in statistics:
        p = frame[f"{name}_p"].to_numpy(dtype=float)
        q = np.full_like(p, np.nan)
        finite = np.isfinite(p)
        if finite.any():
            q[finite] = stats.false_discovery_control(p[finite], method="bh")
        frame[f"{name}{suffix}"] = q
    return frame
