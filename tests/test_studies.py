"""The five studies (typology, scale, difficulty, source language, language count) on constructed
scores with known answers, their edge cases, the writer and the `xstilts study` command."""

import argparse
import json

import numpy as np
import pandas as pd
import pytest
from test_analysis_helpers import XNLI_LANGUAGES, planted_syntactic_scores

from xstilts.analysis import commands, studies
from xstilts.analysis.studies import common, difficulty, language_count, scale, source_language, typology
from xstilts.analysis.tables import primary_scores
from xstilts.analysis.typology import claims_table, language_gains, with_typology, write_typology
from xstilts.uriel import load_pairwise_distances

LANGUAGES = ("en", "de", "fi", "sw", "ja", "ar", "hi", "ru", "tr", "ko")
RESAMPLES = 300


def make_scores(value, models=("base",), recipes=("none", "mnli"), targets=("udpos", "xnli"),
                languages=LANGUAGES, seeds=(1, 2, 3), extra=None, rng=0):  # fmt: skip
    """The long scores table; ``value(model, recipe, target, language, seed, rng)`` -> score or None."""
    rng = np.random.default_rng(rng)
    rows = []
    for m in models:
        for r in recipes:
            for t in targets:
                for lang in languages:
                    for s in seeds:
                        v = value(m, r, t, lang, s, rng)
                        if v is None:
                            continue
                        row = dict(model=m, recipe=r, target=t, language=lang, seed=s, metric="f1",
                                   value=float(v), primary=True)  # fmt: skip
                        row.update(extra(m, r, t, lang, s) if extra else {})
                        rows.append(row)
    return pd.DataFrame(rows)


LANGUAGE_OFFSET = dict(zip(LANGUAGES, [0, -2, -5, -15, -8, -9, -10, -4, -6, -7]))


def scale_scores(
    interaction: float, seed: int = 0, seeds=(1, 2, 3), recipes=("none", "mnli")
) -> pd.DataFrame:
    """The recipe closes 10% of the headroom (100 - baseline) for base, 10 + interaction percent
    for large, which starts 5 points higher; language, target and model effects."""

    def value(m, r, t, lang, s, rng):
        score = 70 + LANGUAGE_OFFSET[lang] + (5 if m == "large" else 0) + (3 if t == "xnli" else 0)
        if r != "none":
            score += (10 + (interaction if m == "large" else 0)) / 100 * (100 - score)
        return score + rng.normal(0, 1.0)

    return make_scores(value, models=("base", "large"), recipes=recipes, seeds=seeds, rng=seed)


# ---------------------------------------------------------------- scale

SIZES = {"base": 270e6, "large": 560e6}


def test_scale_detects_a_known_relative_interaction():
    result = scale.analyse(scale_scores(5.0), model_sizes=SIZES)
    record = result.record
    assert record.decision == "effect" and record.direction == "amplifies" and record.n_runs == 6
    assert record.estimate == pytest.approx(5.0, abs=1.0) and record.ci_low > 0 and record.p_value < 0.01
    assert "Yes, amplifies" in result.answer and "headroom" in record.estimand
    assert record.minimum_detectable_effect > 0 and "two-sample t over seeds" in result.uncertainty
    contrasts = result.tables["contrasts"].set_index("contrast")
    assert (
        contrasts.loc["headroom gain", "role"] == "primary"
        and contrasts.loc["headroom gain", "model"] == "large"
    )
    exploratory = contrasts[contrasts["role"] == "exploratory"]
    assert exploratory["p_holm"].notna().all() and (exploratory["p_holm"] >= exploratory["p_value"]).all()
    assert "headroom gain per log GiB of pretraining data (low-resource)" in contrasts.index
    gains = result.tables["gains"].set_index(["model", "target"])
    baseline = gains.loc[("large", "xnli"), "baseline"]
    assert gains.loc[("large", "xnli"), "headroom_gain"] == pytest.approx(
        100 * gains.loc[("large", "xnli"), "gain"] / (100 - baseline)
    )


def test_scale_does_not_read_a_smaller_absolute_gain_near_the_ceiling_as_diminishing():
    """The same share of the headroom: the larger model's absolute gain is smaller (it starts
    higher), its relative gain is not."""
    result = scale.analyse(scale_scores(0.0, seed=1), model_sizes=SIZES)
    assert result.record.decision == "no effect detected" and result.record.ci_low < 0 < result.record.ci_high
    assert "diminishes" not in result.answer and "amplifies" not in result.answer
    absolute = result.tables["contrasts"].set_index("contrast").loc["absolute gain", "estimate"]
    assert absolute < 0


def test_scale_with_one_seed_is_not_identifiable_and_says_why():
    result = scale.analyse(scale_scores(5.0, seeds=(1,)), model_sizes=SIZES)
    record = result.record
    assert record.decision == "not identifiable" and record.p_value is None and np.isnan(record.ci_low)
    assert "run-to-run variance cannot be estimated" in result.answer
    assert any("with 3 seeds per model" in caveat for caveat in record.caveats)
    assert "amplifies" not in result.answer


def test_scale_with_three_sizes_answers_the_largest_against_the_smallest():
    def value(m, r, t, lang, s, rng):
        score = 70 + LANGUAGE_OFFSET[lang] + {"base": 0, "large": 5, "xl": 8}[m]
        share = {"base": 10, "large": 12, "xl": 16}[m] if r != "none" else 0
        return score + share / 100 * (100 - score) + rng.normal(0, 1.0)

    scores = make_scores(value, models=("base", "large", "xl"))
    result = scale.analyse(scores, model_sizes={"base": 270e6, "large": 560e6, "xl": 3.5e9})
    assert result.record.estimate == pytest.approx(6.0, abs=1.5) and result.record.decision == "effect"
    rows = result.tables["contrasts"].set_index(["contrast", "model"])
    assert rows.loc[("headroom gain", "xl"), "role"] == "primary"
    assert rows.loc[("headroom gain", "large"), "role"] == "exploratory"
    assert rows.loc[("headroom gain", "large"), "estimate"] == pytest.approx(2.0, abs=1.5)


def test_scale_figure_has_two_panels_per_recipe():
    result = scale.analyse(scale_scores(5.0, recipes=("none", "mnli", "qqp")), model_sizes=SIZES)
    figure = scale.figure(result)
    assert len([ax for ax in figure.axes if ax.get_visible()]) == 4
    assert "headroom gain large − base" in figure.axes[2].get_title()


def test_scale_orders_models_by_size_and_says_when_sizes_are_unknown():
    scores = scale_scores(3.0)
    by_size = scale.analyse(scores.assign(model_size=scores["model"].map({"base": 9e9, "large": 1e8})))
    assert by_size.tables["contrasts"]["reference_model"].iloc[0] == "large"  # the smaller one
    unknown = scale.analyse(scores)
    assert any("model sizes not given" in caveat for caveat in unknown.record.caveats)


def test_scale_resource_bins_come_from_the_shipped_table():
    bins = scale.resource_level(["sw", "ar", "de", "yo"])
    assert bins["sw"].startswith("low") and bins["ar"].startswith("mid") and bins["de"].startswith("high")
    assert bins["yo"] == scale.NOT_IN_CC100


def test_scale_on_a_subset_shows_missing_cells_and_says_why():
    scores = scale_scores(3.0)
    scores = scores[
        ~((scores["model"] == "large") & (scores["target"] == "udpos") & (scores["recipe"] == "none"))
    ]
    result = scale.analyse(scores[scores["model"] == "base"])
    assert "only one model" in result.answer and result.record.decision == "not identifiable"
    result = scale.analyse(scores)
    gains = result.tables["gains"].set_index(["model", "target"])
    assert np.isnan(gains.loc[("large", "udpos"), "gain"])
    assert gains.loc[("large", "udpos"), "reason"] == "no baseline (none) scores"
    assert any("over the 1 recipe x target cells" in caveat for caveat in result.record.caveats)


# ---------------------------------------------------------------- difficulty

TASKS = [f"task{i}" for i in range(9)]
ERROR = dict(zip(TASKS, [5, 12, 20, 25, 33, 40, 48, 55, 60]))


def difficulty_scores(slope: float, seeds=(1, 2, 3)) -> pd.DataFrame:
    def value(m, r, t, lang, s, rng):
        if r == "none":
            return 60 + LANGUAGE_OFFSET[lang]
        return 60 + LANGUAGE_OFFSET[lang] + 1 + slope * ERROR[r] + rng.normal(0, 0.5)

    return make_scores(value, recipes=("none", *TASKS), seeds=seeds)


def difficulty_table(tasks=TASKS, measure="error_at_budget") -> pd.DataFrame:
    return pd.DataFrame([{"task": t, "measure": measure, "value": ERROR[t]} for t in tasks])


def test_difficulty_finds_a_known_correlation_over_tasks():
    result = difficulty.analyse(difficulty_scores(0.1), difficulty_table(), n_resamples=RESAMPLES)
    record, rows = result.record, result.tables["correlations"]
    assert record.decision == "effect" and record.direction == "harder tasks give larger gains"
    assert record.estimate > 0.9 and record.p_value < 0.01 and record.ci_low > 0.5
    assert record.n_runs == 9 and record.unit == "intermediate task"
    assert record.minimum_detectable_effect == pytest.approx(np.tanh(2.8016 * np.sqrt(1.06 / 6)), abs=1e-3)
    primary = rows[rows["role"] == "primary"]
    assert len(primary) == 1 and primary["target"].iloc[0] == "pooled" and primary["n_tasks"].iloc[0] == 9
    per_target = rows[rows["role"] == "exploratory"]
    assert (
        set(per_target["target"]) == {"udpos", "xnli"}
        and (per_target["p_holm"] >= per_target["p_value"]).all()
    )


def test_difficulty_without_a_relation_is_not_an_effect():
    result = difficulty.analyse(difficulty_scores(0.0), difficulty_table(), n_resamples=RESAMPLES)
    assert result.record.decision == "no effect detected"
    assert result.record.ci_low < 0 < result.record.ci_high and "harder" not in result.answer


def test_difficulty_with_one_seed_or_too_few_tasks_is_not_identifiable():
    one = difficulty.analyse(difficulty_scores(0.1, seeds=(1,)), difficulty_table(), n_resamples=99)
    assert one.record.decision == "not identifiable" and one.record.p_value is None
    assert "run-to-run variance cannot be estimated" in one.answer
    few = difficulty.analyse(difficulty_scores(0.1), difficulty_table(TASKS[:3]), n_resamples=99)
    assert few.record.decision == "not identifiable" and "n=3 tasks < 4" in few.answer
    assert "no difficulty table" in difficulty.analyse(difficulty_scores(0.1), None).answer
    with pytest.raises(ValueError, match="lacks columns"):
        difficulty.analyse(difficulty_scores(0.1), pd.DataFrame({"task": ["a"], "value": [1.0]}))
    older = pd.concat(
        [difficulty_table(measure="final_dev_error"), difficulty_table(measure="dev_at_budget")]
    )
    older["value"] = np.where(older["measure"] == "dev_at_budget", 100 - older["value"], older["value"])
    read = difficulty.analyse(difficulty_scores(0.1), older, n_resamples=99)  # a table from before issue 21
    assert read.record.estimate > 0.9 and difficulty.OLD_FINAL in read.record.caveats
    assert set(read.tables["correlations"]["measure"]) == {"error_at_budget"}


def test_difficulty_compares_losses_only_within_one_format():
    table = pd.concat([difficulty_table(), difficulty_table(measure="loss_at_step")])
    rows = difficulty.analyse(difficulty_scores(0.1), table, n_resamples=99).tables["correlations"]
    losses = rows[rows["measure"] == "loss_at_step"]
    assert losses["spearman"].isna().all() and (losses["format"] == "unknown").all()
    named = {"mnli": 3, "qqp": 1, "anli_plus": 2, "hellaswag": 4, "cosmosqa": 5}
    assert difficulty._groups("loss_at_step", sorted(named)) == [("multiple_choice pair_classification", [])]
    four = ["mnli", "qqp", "anli_plus", "xnli"]  # xnli's format is pair classification too
    assert difficulty._groups("loss_at_step", sorted(four)) == [("pair_classification", sorted(four))]


def test_difficulty_outcome_is_f1_where_the_target_reports_it():
    scores = pd.DataFrame(
        [dict(model="m", recipe=r, target="xquad", language="de", seed=1, metric=metric, value=v, primary=p)
         for r, base in (("none", 0), ("mnli", 10)) for metric, v, p in
         (("em_f1_mean", 50 + base, True), ("f1", 60 + 2 * base, False), ("exact_match", 40, False))]
        + [dict(model="m", recipe=r, target="xnli", language="de", seed=1, metric="accuracy", value=v,
                primary=True) for r, v in (("none", 70), ("mnli", 73))]
    )  # fmt: skip
    outcomes, _ = difficulty.task_outcomes(scores, "en")
    gains = outcomes.set_index("target")["gain"]
    assert gains["xquad"] == 20 and gains["xnli"] == 3 and gains["pooled"] == 11.5


def test_difficulty_measures_from_a_training_record():
    chance = 100 / 3
    training = {
        "history": {
            "early_stopping": [{"step": 100, "dev": 50.0}, {"step": 200, "dev": 70.0}],
            "dev": {"mnli": {"accuracy": 90.0}},  # the subset that picked the checkpoint: not read
            "held_out": {"mnli": {"examples": 900, "scores": {"accuracy": 80.0}}},
            "chance": {"mnli": chance},
            "losses": [1.0] * 150 + [0.5] * 50,
        }
    }
    rows = difficulty.measures_from_training("mnli", training, budget_step=100, loss_step=200, loss_window=50)
    values = rows.set_index("measure")["value"]
    assert values["error_at_budget"] == pytest.approx(100 * 50 / (100 - chance))
    assert values["held_out_error"] == pytest.approx(100 * 20 / (100 - chance))
    assert values["loss_at_step"] == pytest.approx(0.5)
    del training["history"]["held_out"]  # the subset was the whole split: the chance level is known
    whole = difficulty.measures_from_training("mnli", training, budget_step=100, loss_step=200)
    assert whole["value"].notna().tolist() == [True, False, True]
    del training["history"]["chance"]
    older = difficulty.measures_from_training("mnli", training, budget_step=300, loss_step=500)
    reasons = older.set_index("measure")["reason"]
    assert older["value"].isna().all() and "at step 300" in reasons["error_at_budget"]
    assert "no held-out dev record" in reasons["held_out_error"] and "500" in reasons["loss_at_step"]


def test_chance_levels_are_what_a_constant_predictor_scores():
    from xstilts.evaluation import chance_score

    qqp = {"labels": [0] * 63 + [1] * 37}  # QQP's dev split: the all-duplicate predictor wins on acc/F1
    assert chance_score("qqp", qqp, ("0", "1")) == pytest.approx((37 + 100 * 2 * 37 / 137) / 2)
    assert chance_score("mnli", {"labels": [0, 0, 1, 2]}, ("e", "n", "c")) == 50.0
    examples = {
        "id": ["a", "b", "c", "d"],
        "answers": [{"text": ["x"]}, {"text": []}, {"text": []}, {"text": ["y"]}],
    }
    assert chance_score("squad_v2", {}, (), examples) == 50.0  # "no answer" everywhere
    assert chance_score("squad_v1", {}, (), {"id": ["a"], "answers": [{"text": ["x"]}]}) == 0.0
    ccg = {"sentence": [0, 0, 1], "tags": [["N", "N", "S"], ["N", "N", "S"], ["N", "NP"]]}  # 0 has 2 windows
    assert chance_score("ccg", ccg, ()) == pytest.approx(60.0)


def test_held_out_dev_rows_follow_the_early_stopping_subset():
    import datasets

    from xstilts.prepared import subset

    rows = datasets.Dataset.from_dict({"x": list(range(20))})
    chosen, _ = subset(rows, None, 5, seed=3)
    rest, _ = subset(rows, None, 100, seed=3, start=5)
    assert len(rest) == 15 and not set(chosen["x"]) & set(rest["x"])
    # early stopping used the whole split (the tiny twins' 200 of 200): none held out, no error
    assert len(subset(rows, None, 100, seed=3, start=20)[0]) == 0


# ---------------------------------------------------------------- source language

SOURCES = {"mnli": 0.0, "mnli@de": 2.0, "mnli@et": 1.0, "mnli@ru": -1.0, "mnli@hu": 0.5, "tydiqa@en": 0.0,
           "tydiqa@fi": 10.0}  # fmt: skip
SEED_EFFECT = {1: -3.0, 2: 0.0, 3: 3.0}


def source_scores(seeds=(1, 2, 3)) -> pd.DataFrame:
    def value(m, r, t, lang, s, rng):
        if lang != "fi" and t == "xnli":
            return 60.0
        if r == "none":
            return 50 + SEED_EFFECT[s]
        return 55 + SOURCES[r] + SEED_EFFECT[s] + rng.normal(0, 0.05)  # a shared seed effect: paired

    scores = make_scores(value, recipes=("none", *SOURCES), targets=("udpos", "xnli"), languages=("en", "fi"),
                         seeds=seeds)  # fmt: skip
    return scores[~((scores["target"] == "xnli") & (scores["language"] == "fi"))]


DISTANCES = pd.DataFrame({"source": ["en", "de", "et", "ru", "hu", "fi"], "target": "fi",
                          "distance": [0.6, 0.55, 0.1, 0.5, 0.3, 0.0]})  # fmt: skip


def test_source_language_answers_the_mean_paired_difference_over_seeds():
    result = source_language.analyse(source_scores(), DISTANCES, n_resamples=RESAMPLES)
    record = result.record
    assert record.estimate == pytest.approx((2.0 + 1.0 - 1.0 + 0.5) / 4, abs=0.1)  # tydiqa@fi left out
    assert record.decision == "effect" and record.direction == "non-English sources beat English"
    assert record.n_runs == 3 and record.unit == "seed" and record.ci_low > 0
    assert any("Translationese" in c for c in record.caveats)
    assert any("in-language" in c and "tydiqa@fi" in c for c in record.caveats)
    table = result.tables["sources"].set_index("source")
    assert set(table["target"]) == {"udpos"} and any("xnli" in note for note in result.notes)
    german = table.loc["de"]
    assert german["gain_over_english"] == pytest.approx(2.0, abs=0.15)
    assert german["ci_low"] > 1.5 and german["ci_high"] < 2.5  # the seed effect cancels in pairs
    assert german["score_sd"] == pytest.approx(3.0, abs=0.2)  # but shows in the spread over seeds
    assert german["data"] == "machine-translated" and german["distance"] == 0.55
    assert table.loc["fi", "supervision"] == "in-language" and np.isnan(table.loc["fi", "p_holm"])
    per_source = result.tables["per_source"].set_index("source")
    assert per_source.loc["de", "p_holm"] >= per_source.loc["de", "p_value"]
    distance = result.tables["distance"].set_index("base").loc["mnli"]
    assert distance["n"] == 5 and "fi" not in result.tables["distance"]["sources"].str.cat(sep=" ").split()


def test_source_language_with_one_seed_or_without_english_is_not_identifiable():
    one = source_language.analyse(source_scores(seeds=(1,)), None, n_resamples=99)
    assert one.record.decision == "not identifiable" and one.record.p_value is None
    assert any("would detect" in c for c in one.record.caveats)
    english_missing = source_language.analyse(
        source_scores().query("recipe != 'mnli'"), DISTANCES, n_resamples=99
    )
    mnli = english_missing.tables["sources"].query("base == 'mnli'")
    assert (mnli["reason"] == "no English reference run with the same seed").all()


def test_source_language_reads_recipe_languages():
    scores = source_scores()
    scores["recipe_languages"] = scores["recipe"].map(
        {"none": "", "mnli": "en", "mnli@de": "de", "mnli@et": "et", "mnli@ru": "ru", "mnli@hu": ["hu"],
         "tydiqa@en": "en", "tydiqa@fi": "fi"}
    )  # fmt: skip
    names = {"de": "german", "et": "estonian", "ru": "russian", "hu": "hungarian"}
    scores["recipe"] = scores["recipe"].replace({f"mnli@{k}": f"mnli@{v}" for k, v in names.items()})
    result = source_language.analyse(scores, None, n_resamples=99)
    assert set(result.tables["sources"]["source"]) == {"en", "de", "et", "ru", "hu", "fi"}
    assert result.tables["distance"]["reason"].str.contains("no distance table").all()


# ---------------------------------------------------------------- language count

KS = (1, 2, 4, 8, 16, 32)


def count_scores(curve, ks=KS, noise=0.4, seeds=(1, 2, 3), english=False) -> pd.DataFrame:
    def value(m, r, t, lang, s, rng):
        if r == "none":
            return 55.0
        if r == "mnli":
            return curve(0.0) - 1 + LANGUAGE_OFFSET[lang] / 10 + rng.normal(0, noise)
        k = int(r.split("-k")[1].split("-")[0])
        return curve(np.log2(k)) + LANGUAGE_OFFSET[lang] / 10 + rng.normal(0, noise)

    recipes = ("none", *(["mnli"] if english else []), *(f"mnli-k{k}-d{d}" for k in ks for d in (1, 2, 3)))
    return make_scores(value, recipes=recipes, targets=("xnli",), languages=LANGUAGES[:6], seeds=seeds,
                       extra=lambda *_: {"budget": 20000})  # fmt: skip


def saturating_curve(x, a=60.0, b=10.0, tau=1.5):
    return a + b * (1 - np.exp(-x / tau))


def test_language_count_finds_diminishing_returns_and_a_knee_within_its_interval():
    b, tau, delta = 10.0, 1.5, 0.5
    true_k = 2 ** (tau * np.log(b * (1 - np.exp(-1 / tau)) / delta))
    result = language_count.analyse(count_scores(saturating_curve, english=True), n_resamples=200)
    record = result.record
    assert record.decision == "effect" and record.direction.startswith("diminishing")
    assert (
        record.estimate < 0 and record.ci_high < 0 and record.n_runs == 18 and record.unit == "language draw"
    )
    assert any("15 residual df" in c for c in record.caveats)
    row = result.tables["k_star"].iloc[0]
    assert row["reason"] == "" and row["k_star"] == pytest.approx(true_k, rel=0.2)
    assert row["ci_low"] <= true_k <= row["ci_high"] and row["ci_high"] < 32 and row["failed_refits"] == 0
    assert "0 of 200 refits failed" in result.answer
    curve = result.tables["curve"]
    assert list(curve["k"]) == [0, *KS] and (curve["n_draws"].iloc[1:] == 3).all()
    assert curve["gain_over_english"].iloc[1] == pytest.approx(1.0, abs=0.3)  # k=1 over English only
    family = curve.iloc[1:]
    assert (family["band_low"] <= family["score"]).all() and (family["score"] <= family["band_high"]).all()


def test_language_count_linear_in_log_k_is_no_bend():
    result = language_count.analyse(count_scores(lambda x: 60 + 2 * x), n_resamples=30)
    assert result.record.decision == "no effect detected"
    assert "has not flattened by k=32" in result.tables["k_star"]["reason"].iloc[0]


@pytest.mark.parametrize(
    "curve, ks, reason",
    [
        (lambda x: 60 + 3 * x, (1, 2), "2 distinct k: a bend needs >= 3"),
        (lambda x: 60.0 + 0 * x, KS, "below delta already at k=1"),
    ],
)
def test_language_count_says_when_a_bend_or_k_star_is_not_identified(curve, ks, reason):
    result = language_count.analyse(count_scores(curve, ks, noise=0.1), n_resamples=30)
    text = result.answer + " ".join(result.tables["k_star"]["reason"]) + " ".join(result.record.caveats)
    assert reason in text


def test_language_count_with_one_seed_is_not_identifiable():
    result = language_count.analyse(count_scores(saturating_curve, seeds=(1,)), n_resamples=30)
    assert result.record.decision == "not identifiable" and result.record.p_value is None
    assert "k* (gain per doubling < 0.5)" in result.answer


def test_language_count_drops_languages_the_recipes_trained_on_by_default():
    scores = count_scores(saturating_curve, english=True)
    trained = {1: "de", 2: "de ru", 4: "de ru ja ar", 8: "de ru ja ar " + " ".join(f"x{i}" for i in range(4))}
    k_of = scores["recipe"].str.extract(r"-k(\d+)-")[0].astype(float)
    scores["recipe_languages"] = [
        ("en" if r == "mnli" else "")
        if pd.isna(k)
        else trained.get(int(k), trained[8] + " " + " ".join(f"y{i}" for i in range(int(k) - 8)))
        for r, k in zip(scores["recipe"], k_of)
    ]
    kept = language_count.analyse(scores, zero_shot_only=False, n_resamples=20)
    assert kept.tables["curve"].set_index("k").loc[4, "in_training"] == pytest.approx(3 / 6)
    assert any("zero_shot_only is off" in c for c in kept.record.caveats)
    dropped = language_count.analyse(scores, n_resamples=20)  # zero_shot_only is the default
    assert (dropped.tables["curve"]["in_training"] == 0).all()
    assert dropped.tables["curvature"]["languages"].iloc[0] == "xnli: fi sw"  # en: the English point's
    collected = scores.rename(columns={"recipe_languages": "source_languages"})
    again = language_count.analyse(collected, n_resamples=20)
    assert again.tables["curvature"]["languages"].iloc[0] == "xnli: fi sw"
    unknown = language_count.analyse(count_scores(saturating_curve), n_resamples=20)
    assert any("training languages are unknown" in c for c in unknown.record.caveats)


def test_language_count_takes_k_from_recipe_languages():
    scores = count_scores(lambda x: 60 + x, ks=(1, 2))
    scores["recipe_languages"] = scores["recipe"].map(lambda r: "de fr ru" if "-k2-" in r else "")
    recipes = language_count.recipe_counts(scores).set_index("recipe")
    assert recipes.loc["mnli-k2-d1", "k"] == 3 and recipes.loc["mnli-k1-d1", "k"] == 1
    assert recipes.loc["mnli-k1-d1", "budget"] == 20000


# ---------------------------------------------------------------- typology


def test_typology_finds_a_planted_trend_and_says_how_sure():
    result = typology.analyse(
        planted_syntactic_scores(slope=-10.0, noise=1.0, seeds=(1, 2, 3)), n_resamples=99
    )
    record = result.record
    assert record.decision == "effect" and record.direction == "shrinks with distance"
    assert record.ci_low < -10.0 < record.ci_high and record.p_value < 0.001
    assert "(en)" in result.question and "Yes, shrinks with distance" in result.answer
    assert record.n_runs == 3 and "MixedLM" in result.uncertainty
    slopes = result.tables["slopes"].set_index("distance")
    assert slopes.loc["syntactic", "role"] == "primary" and slopes.loc["syntactic", "n_languages"] == 14
    assert (slopes.drop(index="syntactic")["role"] == "exploratory").all()
    assert any("confound" in caveat and "without the size control" in caveat for caveat in record.caveats)


def test_typology_with_one_seed_is_not_identifiable():
    result = typology.analyse(planted_syntactic_scores(slope=-10.0, noise=1.0), n_resamples=99)
    assert result.record.decision == "not identifiable" and result.record.p_value is None
    assert "run-to-run variance cannot be estimated" in result.answer and "shrinks" not in result.answer


def test_typology_lists_the_languages_it_cannot_use():
    scores = planted_syntactic_scores(slope=-10.0, noise=1.0, seeds=(1, 2))
    extra = scores[scores["language"] == "de"].assign(language="xx")  # no URIEL row
    yoruba = scores[scores["language"] == "de"].assign(language="yo")  # no CC-100 size
    caveats = typology.analyse(pd.concat([scores, extra, yoruba]), n_resamples=99).record.caveats
    assert "languages without URIEL data, left out: xx" in caveats
    assert "languages without a CC-100 size (the size control), left out: yo" in caveats


def test_typology_reads_the_typology_analysis_tests(tmp_path):
    """The workflow passes reports/typology/correlations.csv: the same exploratory tests as
    running them again with the analysis's resamples and seed, and the same answer."""
    scores = planted_syntactic_scores(slope=-10.0, noise=1.0, seeds=(1, 2))
    write_typology(scores, tmp_path, n_resamples=199, seed=3, confidence=0.95)
    written = pd.read_csv(tmp_path / "typology" / "correlations.csv", keep_default_na=False, na_values=[""])
    read = typology.analyse(scores, written)
    computed = typology.analyse(scores, n_resamples=199, seed=3)
    read_tests, computed_tests = (
        r.tables["correlations"].astype({"reason": object}).fillna({"reason": ""}) for r in (read, computed)
    )
    pd.testing.assert_frame_equal(read_tests, computed_tests, check_dtype=False)
    assert read.record == computed.record


def test_the_paper_claims_get_an_estimate_and_a_verdict():
    gain = {"mnli": 7.5, "squad_v2": 2.0}
    extra_target = {"bucc": 3.0, "xnli": -3.0, "tydiqa": 0.0}  # mean 0 over the targets

    def value(m, r, t, lang, s, rng):
        return 60 + (0 if r == "none" else gain[r] + extra_target[t]) + rng.normal(0, 0.3)

    scores = make_scores(value, recipes=("none", "mnli", "squad_v2"), targets=("xnli", "tydiqa", "bucc"))
    claims = claims_table(scores).set_index("claim")
    verdict = claims["verdict"].to_dict()
    assert verdict["MNLI: average gain over targets +7.5"] == "consistent"
    assert claims.loc["MNLI: average gain over targets +7.5", "estimate"] == pytest.approx(7.5, abs=0.3)
    assert verdict["SQuAD: average gain over targets +8.2 (read as SQuAD 2.0)"] == "not consistent"
    assert (
        verdict["all nine tasks (all9): average gain over targets +8.7"] == "not identifiable from this grid"
    )
    assert (
        claims.loc["all nine tasks (all9): average gain over targets +8.7", "reason"]
        == "recipe all9 not in the grid"
    )
    assert verdict["large gains on BUCC and Tatoeba (above the other targets)"] == "consistent"
    assert verdict["little XNLI benefit (below the other targets)"] == "consistent"
    assert verdict["consistent TyDiQA gains (above 0)"] == "consistent"
    one_seed = claims_table(scores[scores["seed"] == 1])
    assert set(one_seed["verdict"]) == {"not identifiable from this grid"}


def test_typology_measures_a_non_english_source_from_itself():
    """A German-trained recipe: distances from German (the shipped pairwise table), German and
    English left out; the English recipe stays measured from English."""
    scores = planted_syntactic_scores(slope=-10.0, recipes=("mnli", "mnli@de"))
    scores["source_languages"] = scores["recipe"].map({"none": "", "mnli": "en", "mnli@de": "de"})
    correlations = typology.analyse(scores, n_resamples=99).tables["correlations"]
    german = correlations[(correlations["recipe"] == "mnli@de") & (correlations["distance"] == "syntactic")]
    assert list(german["distance_from"]) == ["de"] and "de" not in german["languages"].iloc[0].split()
    assert german["n"].iloc[0] == len(XNLI_LANGUAGES) - 2
    joined = with_typology(language_gains(primary_scores(scores)), common.recipe_languages(scores))
    from_german = joined[joined["recipe"] == "mnli@de"].set_index("language")["syntactic"]
    pairwise = load_pairwise_distances()["syntactic"]
    assert from_german["fr"] == pytest.approx(pairwise[("de", "fr")])
    assert set(correlations.loc[correlations["recipe"] == "mnli", "distance_from"]) == {"en"}


# ---------------------------------------------------------------- writers, figures, CLI


@pytest.fixture(scope="module")
def results():
    return {
        "typology": typology.analyse(planted_syntactic_scores(slope=-10.0, noise=1.0), n_resamples=99),
        "scale": scale.analyse(scale_scores(3.0), model_sizes=SIZES),
        "difficulty": difficulty.analyse(difficulty_scores(0.1), difficulty_table(), n_resamples=99),
        "source-language": source_language.analyse(source_scores(), DISTANCES, n_resamples=99),
        "language-count": language_count.analyse(
            count_scores(lambda x: 60 + 10 * (1 - np.exp(-x / 1.5))), n_resamples=50
        ),
    }


MODULES = {"typology": typology, "scale": scale, "difficulty": difficulty, "source-language": source_language,
           "language-count": language_count}  # fmt: skip


@pytest.mark.parametrize("name", list(MODULES))
def test_each_study_writes_tables_caption_and_figure(results, name, tmp_path):
    result = results[name]
    written = common.write_study(result, MODULES[name].figure(result), tmp_path)
    study_dir = tmp_path / "studies" / name
    assert {p.name for p in written} >= {f"{name}.md", "caption.rst", f"{name}.png"}
    assert all(p.parent == study_dir and p.stat().st_size > 0 for p in written)
    caption = (study_dir / "caption.rst").read_text()
    assert caption.startswith("Question: ") and " Answer: " in caption and " Uncertainty: " in caption
    assert "nan" not in result.answer.lower()
    markdown = (study_dir / f"{name}.md").read_text()
    for table in result.tables:
        assert f"## {table}" in markdown and (study_dir / f"{table}.csv").exists()
    assert not list(study_dir.glob(".*"))  # no temporaries left
    assert sorted(str(p.relative_to(tmp_path)) for p in written) == sorted(studies.outputs(name))


def test_study_figures_render_without_scores(tmp_path):
    empty = pd.DataFrame(
        columns=["model", "recipe", "target", "language", "seed", "metric", "value", "primary"]
    )
    for name, module in MODULES.items():
        result = (
            module.analyse(empty, n_resamples=99)
            if name not in ("difficulty", "source-language")
            else (module.analyse(empty, None, n_resamples=99))
        )
        assert result.record.decision == "not identifiable" and result.record.p_value is None
        written = common.write_study(result, module.figure(result), tmp_path)
        assert sorted(str(p.relative_to(tmp_path)) for p in written) == sorted(studies.outputs(name))


def main(argv):
    parser = argparse.ArgumentParser(prog="xstilts")
    commands.register(parser.add_subparsers(required=True))
    args = parser.parse_args(argv)
    args.func(args)


def test_study_command_writes_under_reports_studies(tmp_path, capsys):
    scores_path = tmp_path / "scores.parquet"
    scale_scores(3.0).to_parquet(scores_path)
    main(["study", "scale", "--scores", str(scores_path), "--out", str(tmp_path / "reports"),
          "--model-size", "base=270e6", "--model-size", "large=560e6", "--n-resamples", "99"])  # fmt: skip
    answer = json.loads((tmp_path / "reports" / "studies" / "scale" / "answer.json").read_text())
    assert answer["decision"] == "effect" and answer["direction"] == "amplifies" and answer["n_runs"] == 6
    assert (tmp_path / "reports" / "studies" / "scale" / "contrasts.csv").exists()
    assert "scale.png" in capsys.readouterr().out
    bad = tmp_path / "difficulty.csv"
    pd.DataFrame({"task": ["mnli"], "score": [1.0]}).to_csv(bad, index=False)
    with pytest.raises(SystemExit, match=r"study difficulty: difficulty table lacks columns \['measure'"):
        main(["study", "difficulty", "--scores", str(scores_path), "--difficulty", str(bad)])
    with pytest.raises(SystemExit, match="NAME=NUMBER"):
        main(["study", "scale", "--scores", str(scores_path), "--model-size", "base"])


def test_source_language_reads_the_shipped_distances(tmp_path):
    scores_path = tmp_path / "scores.parquet"
    source_scores().to_parquet(scores_path)
    out = tmp_path / "reports"
    main(["study", "source-language", "--scores", str(scores_path), "--out", str(out),
          "--distance-kind", "syntactic", "--n-resamples", "99"])  # fmt: skip
    table = pd.read_csv(out / "studies" / "source-language" / "sources.csv")
    assert table.set_index("source")["distance"].notna().all()


def test_language_count_command_is_zero_shot_only_unless_told(tmp_path):
    scores_path = tmp_path / "scores.parquet"
    scores = count_scores(saturating_curve, ks=(1, 2, 4, 8))
    scores.assign(source_languages=scores["recipe"].map(lambda r: "de" if "-k" in r else "")).to_parquet(
        scores_path
    )
    for flags, said in (([], "training languages"), (["--no-zero-shot-only"], "zero_shot_only is off")):
        out = tmp_path / "reports" / str(len(flags))
        main(["study", "language-count", "--scores", str(scores_path), "--out", str(out),
              "--n-resamples", "20", *flags])  # fmt: skip
        answer = json.loads((out / "studies" / "language-count" / "answer.json").read_text())
        assert answer["decision"] in common.DECISIONS and answer["unit"] == "language draw"
        assert (said == "zero_shot_only is off") == any(said in c for c in answer["caveats"])
    cfg = {"study": {"name": "language-count", "delta": 0.5, "zero_shot_only": False}}
    assert studies.command_options(cfg) == ["--delta=0.5", "--no-zero-shot-only"]


def test_a_per_recipe_column_must_have_one_value_per_recipe():
    scores = count_scores(lambda x: 60 + x, ks=(1, 2))
    scores["budget"] = np.where(scores["seed"] == 1, 20000, 40000)
    with pytest.raises(ValueError, match="'budget' has several values for recipe"):
        language_count.analyse(scores, n_resamples=10)


def test_difficulty_can_differ_per_model():
    scores = pd.concat([difficulty_scores(0.1), difficulty_scores(0.1).assign(model="large")])
    table = pd.concat(
        [
            difficulty_table().assign(model="base"),
            difficulty_table().assign(model="large", value=lambda f: -f["value"]),
        ]
    )
    rows = difficulty.analyse(scores, table, n_resamples=99).tables["correlations"].set_index("model")
    assert (rows.loc["base", "spearman"] > 0.9).all() and (rows.loc["large", "spearman"] < -0.9).all()
