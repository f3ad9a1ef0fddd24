import math

import numpy as np
import pandas as pd
import pytest
import yaml
from test_analysis_helpers import score_rows

from conftest import REPO
from xstilts.analysis.tables import (
    AVERAGE_COLUMNS,
    averaged_per_seed,
    primary_scores,
    summarise,
    write_tables,
)
from xstilts.languages import XTREME_LANGUAGES


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
    per_seed = averaged_per_seed(primary_scores(constructed_scores()))
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


def test_category_and_xtreme_averages_need_every_benchmark_language(stats):
    scores, gains = stats
    # xnli and pawsx are both there, but in 2 of XTREME's 15 and 7 languages: no partial category
    assert np.isnan(gains.mean.loc[("xlmr", "squad_v1"), "classification"])
    assert np.isnan(gains.mean.loc[("xlmr", "squad_v1"), "structured_prediction"])  # panx absent
    assert np.isnan(scores.mean.loc[("xlmr", "none"), "xtreme"])
    assert np.isnan(scores.mean.loc[("xlmr", "none"), "xtreme_r_classification"])
    # avg_present is the one partial summary
    assert gains.mean.loc[("xlmr", "squad_v1"), "avg_present"] == pytest.approx((0.5 + 3.0 + 1.0) / 3)


def complete_classification_scores(drop: str | None = None) -> pd.DataFrame:
    """XNLI and PAWS-X in every XTREME language, plus ro (in neither benchmark's XNLI), two
    seeds; mnli gains +2 on XTREME's XNLI languages, +10 on ro, +1 on PAWS-X."""
    xnli, pawsx = XTREME_LANGUAGES["xnli"].split(), XTREME_LANGUAGES["pawsx"].split()
    rows = []
    for seed in (1, 2):
        for recipe, bump, ro_bump, pawsx_bump in (("none", 0, 0, 0), ("mnli", 2 + seed, 10, 1)):
            values = {lang: 50.0 + i + bump for i, lang in enumerate(xnli)} | {"ro": 30.0 + ro_bump}
            rows += score_rows("xlmr", recipe, "xnli", values, seed)
            values = {lang: 70.0 + i + pawsx_bump for i, lang in enumerate(pawsx) if lang != drop}
            rows += score_rows("xlmr", recipe, "pawsx", values, seed)
    return pd.DataFrame(rows)


def test_complete_category_equals_hand_computation(tmp_path):
    per_seed = averaged_per_seed(primary_scores(complete_classification_scores()))
    # XNLI over XTREME's 15 languages: 50..64 -> 57 (ro stays out); PAWS-X: 70..76 -> 73
    assert per_seed.loc[("xlmr", "none", 1), "classification"] == pytest.approx((57.0 + 73.0) / 2)
    # seed 2: XNLI 57 + 4, PAWS-X 73 + 1
    assert per_seed.loc[("xlmr", "mnli", 2), "classification"] == pytest.approx((61.0 + 74.0) / 2)
    # the xnli column and avg_present average every language run, ro included
    assert per_seed.loc[("xlmr", "none", 1), "xnli"] == pytest.approx((57.0 * 15 + 30.0) / 16)
    assert np.isnan(per_seed.loc[("xlmr", "none", 1), "xtreme"])  # 2 of 9 tasks
    assert np.isnan(per_seed.loc[("xlmr", "none", 1), "xtreme_r_classification"])  # no xcopa

    write_tables(complete_classification_scores(), tmp_path)
    gains = pd.read_csv(tmp_path / "gains.csv").set_index("recipe")
    # mnli's gain: XNLI (3 + 4) / 2 = 3.5 on XTREME's languages, PAWS-X 1
    assert gains.loc["mnli", "classification"] == pytest.approx((3.5 + 1.0) / 2)
    assert gains.loc["mnli", "classification_n"] == 2
    # the best row's category averages the chosen recipe's gains over XTREME's languages,
    # not its gain over every language run (xnli there: (15 * 3.5 + 10) / 16)
    assert gains.loc["best per target", "xnli"] == pytest.approx((15 * 3.5 + 10) / 16)
    assert gains.loc["best per target", "classification"] == pytest.approx((3.5 + 1.0) / 2)
    markdown = (tmp_path / "gains.md").read_text()
    assert "- `xnli` (ar bg de el en es fr hi ro ru sw th tr ur vi zh): 15 of 15 XTREME" in markdown
    assert "classification" in markdown_tables(markdown)[1].columns
    best = pd.read_csv(tmp_path / "best_per_target.csv").set_index("target")
    assert best.loc["classification", "gain"] == pytest.approx(2.25)
    assert best.loc["classification", "score"] == pytest.approx(65.0 + 2.25)

    # one PAWS-X language short: no category, whatever the other languages say
    lacking = averaged_per_seed(primary_scores(complete_classification_scores(drop="ko")))
    assert lacking["classification"].isna().all() and lacking["pawsx"].notna().all()


def tiny_xtreme_r_scores() -> pd.DataFrame:
    """Scores shaped like configs/tiny-xtreme-r.yaml's run: its model, recipes, targets and
    languages, one seed (values made up: only the shape matters)."""
    cfg = yaml.safe_load((REPO / "configs/tiny-xtreme-r.yaml").read_text())
    rows = []
    for model in cfg["models"]:
        for r, recipe in enumerate(cfg["recipes"]):
            for t, (target, languages) in enumerate(cfg["targets"].items()):
                values = {lang: 20.0 + 5 * t + 3 * r + i for i, lang in enumerate(languages)}
                rows += score_rows(model, recipe, target, values, seed=cfg["seeds"][0])
    return pd.DataFrame(rows)


def markdown_tables(text: str) -> list[pd.DataFrame]:
    """Every pipe table of a markdown text, cells as stripped strings."""
    tables, block = [], []
    for line in [*text.splitlines(), ""]:
        if line.startswith("|"):
            block.append([cell.strip() for cell in line.strip("|").split("|")])
        elif block:
            tables.append(pd.DataFrame(block[2:], columns=block[0]))
            block = []
    return tables


def test_tiny_xtreme_r_run_has_no_benchmark_value_and_no_column_of_dashes(tmp_path):
    write_tables(tiny_xtreme_r_scores(), tmp_path)
    gains = pd.read_csv(tmp_path / "gains.csv")
    benchmark_columns = [c for c in AVERAGE_COLUMNS if c != "avg_present"]
    assert set(AVERAGE_COLUMNS) <= set(gains.columns)  # stable schema
    assert gains[benchmark_columns].isna().all().all(), gains[benchmark_columns]
    assert gains["avg_present"].notna().all()
    markdown = (tmp_path / "gains.md").read_text()
    shown = markdown_tables(markdown)
    assert len(shown) == 2
    for table in shown:
        assert not set(benchmark_columns) & set(table.columns)
        dashes = [c for c in table.columns if (table[c] == "–").all()]
        assert not dashes, dashes
    assert "- `udpos` (en ro): 1 of 33 XTREME languages, 2 of 38 XTREME-R languages" in markdown
    assert "- `xcopa` (sw tr zh): not an XTREME task, 3 of 11 XTREME-R languages" in markdown
    assert "`xtreme_r` (`gains.csv` keeps their columns, empty)" in markdown
    best_md = (tmp_path / "best_per_target.md").read_text()
    assert "xtreme_r" not in best_md and "classification" not in best_md and "avg_present" in best_md
    best = pd.read_csv(tmp_path / "best_per_target.csv")
    assert set(benchmark_columns) <= set(best["target"])  # every row kept, empty
    assert best[best["target"].isin(benchmark_columns)][["gain", "baseline"]].isna().all().all()
    udpos = (tmp_path / "targets" / "udpos.md").read_text()
    assert "Languages scored: `udpos` (en ro): 1 of 33 XTREME languages" in udpos


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
    assert "mean over this run's targets (xnli, pawsx, udpos)" in markdown
    assert "- `udpos` (en ja): 2 of 33 XTREME languages" in markdown
    assert "xtreme" not in markdown_tables(markdown)[1].columns  # no value: left out
    assert pd.isna(gains["classification"]).all() and "classification" in gains.columns

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
