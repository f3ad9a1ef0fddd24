import numpy as np
import pandas as pd
import pytest
from scipy import stats as scipy_stats

from xstilts.analysis.stats import add_fdr, correlate, residualise, spearman_along_last_axis


def test_perfectly_monotone_gives_rho_one_and_small_p():
    x = np.arange(12.0)
    result = correlate(x, np.exp(x / 3), n_resamples=999, seed=1)
    assert result["spearman"] == pytest.approx(1.0)
    assert result["kendall"] == pytest.approx(1.0)
    assert result["spearman_ci_low"] == pytest.approx(1.0)  # every resample is monotone too
    assert result["spearman_p"] < 0.01
    assert result["pearson"] < 1.0  # not linear


def test_independent_noise_ci_covers_zero_and_p_not_small():
    rng = np.random.default_rng(7)
    result = correlate(rng.normal(size=30), rng.normal(size=30), n_resamples=1999, seed=3)
    assert result["spearman_ci_low"] < 0 < result["spearman_ci_high"]
    assert result["pearson_ci_low"] < 0 < result["pearson_ci_high"]
    assert result["spearman_p"] > 0.1 and result["pearson_p"] > 0.1


def test_spearman_matches_scipy_with_ties():
    x = np.array([1, 1, 2, 3, 3, 3, 4, 5.0])
    y = np.array([2, 1, 4, 3, 6, 5, 8, 7.0])
    assert spearman_along_last_axis(x, y) == pytest.approx(scipy_stats.spearmanr(x, y).statistic)


def test_partial_correlation_removes_a_confounder():
    rng = np.random.default_rng(0)
    size = rng.normal(size=40)  # confounder drives both
    distance = size + 0.3 * rng.normal(size=40)
    gain = size + 0.3 * rng.normal(size=40)
    confounded = correlate(distance, gain, size, n_resamples=999, seed=0)
    assert confounded["spearman"] > 0.7 and confounded["spearman_p"] < 0.01
    assert abs(confounded["partial_spearman"]) < 0.3
    assert confounded["partial_spearman_p"] > 0.05


def test_partial_correlation_recovers_a_planted_relationship():
    rng = np.random.default_rng(1)
    size = rng.normal(size=40)
    distance = rng.normal(size=40)
    gain = 2 * distance - 3 * size + 0.2 * rng.normal(size=40)  # size masks the distance effect
    result = correlate(distance, gain, size, n_resamples=999, seed=0)
    assert abs(result["spearman"]) < abs(result["partial_spearman"])
    assert result["partial_pearson"] > 0.9  # exact linear model
    assert result["partial_spearman"] > 0.7  # ranks: monotone, not linear
    assert result["partial_pearson_p"] < 0.01


def test_residualise_leaves_no_linear_trace():
    rng = np.random.default_rng(2)
    control = rng.normal(size=50)
    residuals = residualise(3 * control + rng.normal(size=50), control)
    assert np.corrcoef(residuals, control)[0, 1] == pytest.approx(0, abs=1e-10)


def test_small_n_and_constant_inputs_give_nan_with_reason():
    small = correlate([0.1, 0.2, 0.3], [1, 2, 3], n_resamples=99)
    assert np.isnan(small["spearman"]) and "n=3" in small["reason"]
    nan_pairs = correlate([0.1, 0.2, np.nan, 0.4, 0.5], [1, 2, 3, np.nan, 5], n_resamples=99)
    assert nan_pairs["n"] == 3 and np.isnan(nan_pairs["pearson"])
    constant = correlate([0.5] * 6, [1, 2, 3, 4, 5, 6], n_resamples=99)
    assert np.isnan(constant["spearman"]) and "constant distance" in constant["reason"]


def test_results_are_seeded():
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=15), rng.normal(size=15)
    first = correlate(x, y, n_resamples=499, seed=11, key="a")
    again = correlate(x, y, n_resamples=499, seed=11, key="a")
    other = correlate(x, y, n_resamples=499, seed=12, key="a")
    assert first["spearman_ci_low"] == again["spearman_ci_low"]
    assert first["spearman_p"] == again["spearman_p"]
    assert first["spearman_ci_low"] != other["spearman_ci_low"]


def test_fdr_keeps_order_and_is_never_below_p():
    frame = pd.DataFrame({"spearman_p": [0.001, 0.04, 0.03, np.nan, 0.5]})
    q = add_fdr(frame, statistics=("spearman",))["spearman_q"].to_numpy()
    p = frame["spearman_p"].to_numpy()
    finite = np.isfinite(p)
    assert np.isnan(q[3])
    assert np.all(q[finite] >= p[finite])
    order = np.argsort(p[finite])
    assert np.all(np.diff(q[finite][order]) >= 0)  # monotone in p
    assert q[0] == pytest.approx(0.004)  # 0.001 * 4 tests / rank 1
