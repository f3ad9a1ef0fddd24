import argparse

import numpy as np
import pandas as pd
import pytest
from test_analysis_helpers import planted_syntactic_scores

from xstilts.analysis import commands
from xstilts.analysis.tables import primary_scores
from xstilts.analysis.typology import language_gains, with_typology, write_typology
from xstilts.languages import DISTANCE_KINDS, load_languages, load_uriel_distances

XTREME_R_LANGUAGES = set(
    "af ar bg bn de el en es et eu fa fi fr he hi hu id it ja jv ka kk ko ml mr ms my nl pt ru sw ta te "
    "th tl tr ur vi yo zh az gu ht lt pa pl qu ro uk wo".split()
)


def main(argv):
    parser = argparse.ArgumentParser(prog="xstilts")
    commands.register(parser.add_subparsers(required=True))
    args = parser.parse_args(argv)
    args.func(args)


def test_shipped_language_data_covers_all_50_languages():
    distances = load_uriel_distances()
    assert set(distances["iso639_1"]) == XTREME_R_LANGUAGES
    assert set(load_languages()["iso639_1"]) == XTREME_R_LANGUAGES
    by_code = distances.set_index("iso639_1")
    assert by_code.loc["tl", "iso639_3"] == "tgl"
    assert by_code.loc[["eu", "qu"], "genetic"].isna().all()
    assert "no family data" in by_code.loc["eu", "notes"]
    assert (by_code.loc["en", list(DISTANCE_KINDS[:5])] == 0).all()
    non_english = by_code.drop(index="en")[list(DISTANCE_KINDS)]
    assert ((non_english > 0) & (non_english <= 1) | non_english.isna()).all().all()
    sizes = load_languages().set_index("iso639_1")["cc100_gib"]
    assert sizes["en"] == pytest.approx(300.8) and np.isnan(sizes["yo"])


def test_shipped_distances_match_a_recomputation():
    pytest.importorskip("urielplus")
    from xstilts.uriel import compute_uriel_distances

    sample = ["de", "eu", "kk", "zh"]
    fresh = compute_uriel_distances(sample).set_index("iso639_1")
    shipped = load_uriel_distances().set_index("iso639_1").loc[sample]
    for kind in DISTANCE_KINDS:
        np.testing.assert_allclose(fresh[kind].to_numpy(float), shipped[kind].to_numpy(float), atol=1e-4)
    assert list(fresh["family"]) == list(shipped["family"])
    assert list(fresh["notes"].fillna("")) == list(shipped["notes"].fillna(""))


def test_planted_syntactic_gain_is_recovered_and_english_excluded():
    joined = with_typology(language_gains(primary_scores(planted_syntactic_scores(slope=10.0))))
    assert "en" not in set(joined["language"])
    syntactic = joined.set_index("language")["syntactic"]
    np.testing.assert_allclose(joined.set_index("language")["gain"], 10.0 * syntactic, atol=1e-9)


def test_typology_cli_writes_correlations_and_figures(tmp_path):
    scores = planted_syntactic_scores(slope=10.0, noise=0.3, seeds=(1, 2), recipes=("mnli", "squad_v1"))
    scores_path = tmp_path / "scores.parquet"
    scores.to_parquet(scores_path)
    out = tmp_path / "reports"
    main(["typology", "--scores", str(scores_path), "--out", str(out), "--n-resamples", "499", "--seed", "3"])
    correlations = pd.read_csv(out / "typology" / "correlations.csv")
    assert len(correlations) == 2 * len(DISTANCE_KINDS)
    syntactic = correlations[correlations["distance"] == "syntactic"].iloc[0]
    assert syntactic["n"] == 14 and syntactic["spearman"] > 0.9 and syntactic["spearman_q"] < 0.05
    assert syntactic["spearman_ci_low"] <= syntactic["spearman"] <= syntactic["spearman_ci_high"]
    assert syntactic["n_partial"] == 14  # all XNLI languages have a CC-100 size
    distances = pd.read_csv(out / "typology" / "distances.csv", keep_default_na=False, na_values=[""])
    assert list(distances.columns[:2]) == ["iso639_1", "iso639_3"] and "notes" in distances.columns

    main(
        [
            "typology-figures",
            "--out",
            str(out),
            "--targets",
            "xnli",
            "bucc",
            "--analysis-config",
            '{"alpha": 0.1}',
        ]
    )
    for name in ("typology_xnli.png", "typology_bucc.png", "typology_heatmap.png"):
        image = out / "figures" / name
        assert image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_too_few_languages_gives_nan_rows_not_a_crash(tmp_path):
    scores = planted_syntactic_scores()
    scores = scores[scores["language"].isin(["en", "de", "fr", "zh"])]
    write_typology(scores, tmp_path, n_resamples=99, seed=0, confidence=0.95)
    correlations = pd.read_csv(tmp_path / "typology" / "correlations.csv")
    assert correlations["spearman"].isna().all()
    assert correlations["reason"].str.contains("n=3 < 4").all()
