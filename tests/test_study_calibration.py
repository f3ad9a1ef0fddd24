"""The studies' shared run-level statistics, the answer record, and their calibration by simulation
(a fast version of benchmarks/study_calibration.py: a few dozen simulations per study)."""

import json
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.power import TTestIndPower, TTestPower

from xstilts.analysis.studies import STUDIES, common, design_from_config, module
from xstilts.analysis.tables import SCORE_COLUMNS

REPO = Path(__file__).resolve().parents[1]
CONFIGS = REPO / "configs" / "studies"


def answer(**fields):
    base = dict(question="Q?", estimand="difference in gain (points)", estimate=1.5, ci_low=0.5, ci_high=2.5,
                p_value=0.01, decision="effect", direction="amplifies", n_runs=6, unit="run",
                minimum_detectable_effect=1.2, caveats=["a caveat"])  # fmt: skip
    return common.Answer(**{**base, **fields})


def test_answer_json_writes_nan_as_null_and_refuses_an_unknown_decision():
    record = answer(ci_low=np.nan, ci_high=np.nan, p_value=None, decision="not identifiable")
    data = json.loads(record.to_json())
    assert data["ci_low"] is None and data["p_value"] is None and data["decision"] == "not identifiable"
    assert {"question", "estimand", "estimate", "ci_low", "ci_high", "p_value", "decision", "direction",
            "n_runs", "unit", "minimum_detectable_effect", "caveats"} <= set(data)  # fmt: skip
    with pytest.raises(ValueError, match="decision 'significant'"):
        answer(decision="significant")


def test_direction_words_only_with_an_effect_and_one_seed_says_why():
    assert "amplifies" in answer().answer_text
    assert "amplifies" not in answer(decision="no effect detected", p_value=0.4).answer_text
    one = common.one_seed_answer("Q?", "slope", 0.3, 1, "seed", 2.0, ["more"])
    assert one.decision == "not identifiable" and one.p_value is None
    assert "run-to-run variance cannot be estimated" in one.answer_text
    assert "No interval or p-value" in one.uncertainty_text and one.caveats_text == "More."


def test_gains_are_paired_by_seed_and_the_fallback_is_said():
    rows = [("none", 1, 50.0), ("none", 2, 54.0), ("mnli", 1, 53.0), ("mnli", 2, 55.0), ("mnli", 3, 60.0)]
    scores = pd.DataFrame(
        [
            dict(
                model="m", recipe=r, target="xnli", language="de", seed=s, metric="acc", value=v, primary=True
            )
            for r, s, v in rows
        ]  # fmt: skip
    )
    gains = common.language_gains(scores).set_index(["recipe", "seed"])
    assert gains.loc[("mnli", 1), "gain"] == 3.0 and gains.loc[("mnli", 2), "gain"] == 1.0
    assert gains.loc[("mnli", 3), "gain"] == 8.0 and not gains.loc[("mnli", 3), "paired"]  # mean 52
    assert common.pairing_caveats(gains.reset_index()) == [common.SEEDS_UNPAIRED]
    assert common.pairing_caveats(gains.reset_index().query("seed < 3")) == []
    assert common.runs_per_arm(gains.reset_index()) == 2  # the baseline's two runs
    one_baseline = common.language_gains(scores[~((scores["recipe"] == "none") & (scores["seed"] == 2))])
    assert common.runs_per_arm(one_baseline) == 1


def test_intervals_and_power_agree_with_scipy_and_statsmodels():
    values = np.array([1.0, 2.5, 0.5, 1.8])
    one = common.t_interval(values)
    test = stats.ttest_1samp(values, 0)
    assert one.p_value == pytest.approx(test.pvalue) and (one.ci_low, one.ci_high) == pytest.approx(
        tuple(test.confidence_interval())
    )
    two = common.two_sample([1.0, 2.0, 3.0], [2.0, 4.0, 5.0])
    reference = stats.ttest_ind([2.0, 4.0, 5.0], [1.0, 2.0, 3.0])
    assert two.estimate == pytest.approx(5 / 3) and two.p_value == pytest.approx(reference.pvalue)
    assert (two.ci_low, two.ci_high) == pytest.approx(tuple(reference.confidence_interval()))
    assert math.isnan(common.t_interval([1.0]).p_value)  # one run: no test
    mde = common.mde(1.0, 3)
    assert TTestPower().power(effect_size=mde, nobs=3, alpha=0.05) == pytest.approx(0.8, abs=1e-3)
    mde2 = common.mde(0.5, 3, n2=3)
    assert TTestIndPower().power(effect_size=mde2 / 0.5, nobs1=3, alpha=0.05, ratio=1) == pytest.approx(
        0.8, abs=1e-3
    )
    assert math.isnan(common.mde(1.0, 1))
    holm = common.adjust([0.01, 0.04, np.nan, 0.03])
    assert holm[0] == pytest.approx(0.03) and np.isnan(holm[2]) and holm[1] == pytest.approx(0.06)


def test_mixed_term_recovers_a_slope_with_group_intercepts():
    rng = np.random.default_rng(0)
    groups = np.repeat(np.arange(12), 10)
    x = rng.normal(size=groups.size)
    y = 2.0 * x + rng.normal(0, 1, 12)[groups] + rng.normal(0, 0.5, groups.size)
    estimate, note = common.mixed_term(pd.DataFrame({"y": y, "x": x, "g": groups}), "y ~ x", "x", "g")
    assert estimate.ci_low < 2.0 < estimate.ci_high and estimate.p_value < 1e-6 and note == ""
    few, why = common.mixed_term(
        pd.DataFrame({"y": y[:20], "x": x[:20], "g": groups[:20]}), "y ~ x", "x", "g"
    )
    assert math.isnan(few.estimate) and "needs >= 3 g groups, has 2" in why


@pytest.mark.parametrize("name", STUDIES)
def test_the_shipped_designs_are_read_and_simulated_in_the_collect_shape(name):
    design = design_from_config(CONFIGS / f"{name}.yaml")
    assert design.recipes["none"] == "" and design.targets and design.seeds
    scores = common.simulate_scores(design.with_seeds([0, 1]), lambda *cell: 0.0, np.random.default_rng(0))
    assert set(SCORE_COLUMNS) <= set(scores.columns) and "source_languages" in scores
    cells = sum(map(len, design.targets.values())) * len(design.recipes) * len(design.models) * 2
    assert len(scores) == cells and scores["value"].between(0, 100).all()


def test_source_language_recipes_carry_their_training_languages():
    design = design_from_config(CONFIGS / "source-language.yaml")
    assert design.recipes["mnli"] == "en" and design.recipes["mnli@de"] == "de"


# ---------------------------------------------------------------- calibration


sys.path.insert(0, str(REPO / "benchmarks"))
CALIBRATED = [name for name in STUDIES if hasattr(module(name), "simulate")]
from study_calibration import calibrate  # noqa: E402

SIMULATIONS = 10


def reduced(design: common.Design, n_targets: int = 3, n_recipes: int = 4) -> common.Design:
    """The shipped design on its largest targets and first recipes (the test's time budget)."""
    targets = sorted(design.targets, key=lambda t: (-len(design.targets[t]), t))[:n_targets]
    recipes = list(design.recipes)[:n_recipes]
    return common.Design(
        design.models,
        {r: design.recipes[r] for r in recipes},
        {t: design.targets[t] for t in targets},
        design.seeds,
        design.study,
    )


# studies whose own design must stay whole (their recipes or targets are the question)
WHOLE = {"source-language", "language-count", "difficulty"}


def design_for(name: str) -> common.Design:
    design = design_from_config(CONFIGS / f"{name}.yaml")
    return design if name in WHOLE else reduced(design)


@pytest.mark.parametrize("name", CALIBRATED)
def test_a_study_finds_planted_effects_and_rarely_a_null_one(name):
    row = calibrate(name, design_for(name), SIMULATIONS, np.random.default_rng(5), _in_process)
    assert row["false_positive_rate"] <= 0.25, row  # nominal 0.05: loose for 10 draws
    assert row["power"] >= 0.6, row
    assert row["coverage_null"] >= 0.75 and row["coverage_planted"] >= 0.6, row


@pytest.mark.parametrize("name", CALIBRATED)
def test_a_one_seed_design_never_claims_an_effect(name):
    design = design_for(name).with_seeds([0])
    row = calibrate(name, design, 4, np.random.default_rng(6), _in_process)
    assert row["false_positive_rate"] == 0 and row["power"] == 0 and row["not_identifiable"] == 1, row


def _in_process(name, simulation):
    from study_calibration import in_process

    return in_process(name, simulation)
