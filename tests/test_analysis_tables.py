import math

import numpy as np
import pandas as pd
import pytest
from test_analysis_helpers import score_rows

from xstilts.analysis.tables import (
    add_averages,
    language_means_per_seed,
    primary_scores,
    summarise,
    write_tables,
)


def constructed_scores() -> pd.DataFrame:
    rows = []
    rows += score_rows("xlmr", "none", "xnli", {"en": 80, "de": 70})
    rows += score_rows("xlmr", "none", "pawsx", {"en": 90, "de": 80})
    rows += score_rows("xlmr", "none", "udpos", {"en": 90, "ja": 60})
    # mnli, two seeds: xnli gains (2, 4) -> 3 and (4, 6) -> 5
    rows += score_rows("xlmr", "mnli", "xnli", {"en": 82, "de": 74}, seed=1)
    rows += score_rows("xlmr", "mnli", "xnli", {"en": 84, "de": 76}, seed=2)
    rows += score_rows("xlmr", "mnli", "pawsx", {"en": 91, "de": 81}, seed=1)
    rows += score_rows("xlmr", "mnli", "pawsx", {"en": 91, "de": 81}, seed=2)
    rows += score_rows("xlmr", "mnli", "udpos", {"en": 91}, seed=1)  # ja missing
    # squad_v1, one seed, better on pawsx
    rows += score_rows("xlmr", "squad_v1", "xnli", {"en": 80, "de": 71})
    rows += score_rows("xlmr", "squad_v1", "pawsx", {"en": 93, "de": 83})
    rows += score_rows("xlmr", "squad_v1", "udpos", {"en": 90, "ja": 62})
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def stats():
    per_seed = add_averages(language_means_per_seed(primary_scores(constructed_scores())))
    return summarise(per_seed)


def test_gain_is_mean_of_per_language_gains(stats):
    _, gains = stats
    assert gains.mean.loc[("xlmr", "squad_v1"), "xnli"] == pytest.approx(0.5)  # (0 + 1) / 2
    assert gains.mean.loc[("xlmr", "squad_v1"), "udpos"] == pytest.approx(1.0)  # (0 + 2) / 2


def test_several_seeds_give_mean_std_and_n(stats):
    scores, gains = stats
    assert gains.mean.loc[("xlmr", "mnli"), "xnli"] == pytest.approx(4.0)
    assert gains.std.loc[("xlmr", "mnli"), "xnli"] == pytest.approx(math.sqrt(2))
    assert gains.n.loc[("xlmr", "mnli"), "xnli"] == 2
    assert scores.mean.loc[("xlmr", "none"), "xnli"] == pytest.approx(75.0)


def test_missing_language_makes_the_cell_missing_not_partial(stats):
    _, gains = stats
    assert np.isnan(gains.mean.loc[("xlmr", "mnli"), "udpos"])
    assert gains.n.loc[("xlmr", "mnli"), "udpos"] == 0
    assert np.isnan(gains.mean.loc[("xlmr", "mnli"), "avg_present"])  # udpos missing -> missing


def test_category_and_xtreme_averages_need_all_their_tasks(stats):
    scores, gains = stats
    assert gains.mean.loc[("xlmr", "squad_v1"), "classification"] == pytest.approx((0.5 + 3.0) / 2)
    assert np.isnan(gains.mean.loc[("xlmr", "squad_v1"), "structured_prediction"])  # panx absent
    assert np.isnan(scores.mean.loc[("xlmr", "none"), "xtreme"])  # only 3 of 9 tasks
    assert gains.mean.loc[("xlmr", "squad_v1"), "avg_present"] == pytest.approx((0.5 + 3.0 + 1.0) / 3)


def test_written_tables(tmp_path):
    write_tables(constructed_scores(), tmp_path, targets=["xnli", "bucc"])
    gains = pd.read_csv(tmp_path / "gains.csv")
    mnli = gains[(gains["recipe"] == "mnli")].iloc[0]
    assert mnli["kind"] == "gain" and mnli["xnli"] == pytest.approx(4.0) and mnli["xnli_n"] == 2
    assert pd.isna(mnli["udpos"]) and pd.isna(mnli["xtreme"])  # missing stays blank, not 0
    none = gains[gains["recipe"] == "none"].iloc[0]
    assert none["kind"] == "score" and none["pawsx"] == pytest.approx(85.0)
    best = gains[gains["recipe"] == "best per target"].iloc[0]
    assert best["xnli"] == pytest.approx(4.0) and best["pawsx"] == pytest.approx(3.0)
    assert best["udpos"] == pytest.approx(1.0)
    assert best["avg_present"] == pytest.approx((4.0 + 3.0 + 1.0) / 3)

    summary = pd.read_csv(tmp_path / "best_per_target.csv")
    chosen = summary.set_index("target")
    assert chosen.loc["xnli", "recipe"] == "mnli" and chosen.loc["pawsx", "recipe"] == "squad_v1"
    assert chosen.loc["pawsx", "score"] == pytest.approx(88.0)

    markdown = (tmp_path / "gains.md").read_text()
    assert "+4.0 ± 1.4 (n=2)" in markdown and "–" in markdown
    assert "| +0.5 |" in markdown.replace("  ", "")  # signs and decimals kept (no re-parsing)
    assert "partial: xnli, pawsx, udpos" in markdown

    target = pd.read_csv(tmp_path / "targets" / "udpos.csv")
    squad = target[(target["recipe"] == "squad_v1") & (target["kind"] == "gain")].iloc[0]
    assert squad["ja"] == pytest.approx(2.0) and squad["en"] == pytest.approx(0.0)
    assert "No scores" in (tmp_path / "targets" / "bucc.md").read_text()
    assert not list(tmp_path.rglob(".*"))  # no temporary files left behind
    assert (tmp_path / "gains.md").stat().st_mode & 0o044  # readable by others, unlike mkstemp files


def test_two_primary_metrics_for_one_cell_is_an_error():
    frame = constructed_scores()
    duplicate = frame[frame["primary"]].iloc[[0]].assign(metric="f1")
    with pytest.raises(ValueError, match="several primary"):
        primary_scores(pd.concat([frame, duplicate]))
