"""Typology figures: what a reader sees is set by the data."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from xstilts.analysis.plots import fit_with_band, place_labels  # noqa: E402


def test_fit_band_does_not_rescale_the_panel():
    """Nearly equal distances make resampled slopes explode: the band reached +-600 on a
    panel whose points lie within +-5. The axes stay where the points put them."""
    x = np.array([0.5, 0.5, 0.5, 0.5001, 0.5, 0.5002])
    y = np.array([-5.0, 5.0, -4.0, 4.0, 3.0, -3.0])
    fig, ax = plt.subplots()
    ax.scatter(x, y)
    fit_with_band(ax, x, y, seed=0)
    low, high = ax.get_ylim()
    plt.close(fig)
    assert -10 < low < -5 and 5 < high < 10, (low, high)


def test_a_label_at_the_right_edge_goes_left_of_its_point():
    """Labels start right of their point; one that would cross the axes' right edge (a long
    recipe name on the rightmost point) is drawn to the left of it instead."""
    fig, ax = plt.subplots(figsize=(3.6, 3.0))
    ax.set_xlim(0, 10)
    place_labels(ax, np.array([1.0, 9.8]), np.array([0.0, 0.0]), ["left", "hellaswag"])
    align = {t.get_text(): t.get_horizontalalignment() for t in ax.texts}
    assert align == {"left": "left", "hellaswag": "right"}
    plt.close(fig)
