"""Regression sentinel: the tiny run shows the effect the embedded world is designed to have.

The synthetic MNLI (8,000 pairs) teaches the NLI relations XNLI tests; the quickstart trains
targets on 500 English examples only, so what the encoder brings from phase 2 shows. The tiny
model transfers little across languages yet: the gain is mostly English's (README).
If the pipeline stops handing the intermediate encoder to phase 3, the mnli recipe's target
training is the baseline's (same seed, data and head), its gains are exactly zero, and this
fails. Margins are well inside what configs/tiny.yaml measures (README: the gains table).
"""

from __future__ import annotations

from xstilts import grid
from xstilts.analysis import tables

MIN_MEAN_GAIN = 3.0  # points of XNLI accuracy, mean over languages and seeds
MIN_EN_GAIN = 10.0  # English, every seed: where the intermediate task was trained


def gains_per_seed(tiny_run):
    primary = tables.primary_scores(tables.load_scores(tiny_run / grid.SCORES))
    return tables.gains_per_seed(tables.language_means_per_seed(primary)), primary


def test_mnli_intermediate_training_transfers_to_xnli(tiny_run):
    gains, _ = gains_per_seed(tiny_run)
    mnli = gains.xs("mnli", level="recipe")["xnli"]
    assert len(mnli) >= 2, "the quickstart runs several seeds"
    assert mnli.mean() >= MIN_MEAN_GAIN, mnli
    assert (mnli > 0).all(), mnli
    assert mnli.mean() > 2 * mnli.std(), f"gain {mnli.mean():.1f} within the seed spread {mnli.std():.1f}"


def test_related_recipe_beats_unrelated_on_xnli(tiny_run):
    """MNLI -> XNLI gains more than SQuAD -> XNLI, in every seed (the paper's direction)."""
    gains, _ = gains_per_seed(tiny_run)
    mnli = gains.xs("mnli", level="recipe")["xnli"]
    squad = gains.xs("squad_v1", level="recipe")["xnli"]
    assert (mnli.to_numpy() > squad.to_numpy()).all(), (mnli, squad)


def test_english_gain_is_large_in_every_seed(tiny_run):
    _, primary = gains_per_seed(tiny_run)
    en = primary[(primary.target == "xnli") & (primary.language == "en")]
    by = en.pivot_table(index="seed", columns="recipe", values="value")
    assert ((by["mnli"] - by["none"]) >= MIN_EN_GAIN).all(), by
