"""Typology figures: what a reader sees is set by the data."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from xstilts.analysis.plots import fit_with_band  # noqa: E402


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
