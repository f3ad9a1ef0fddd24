"""Typology figures: gain vs URIEL distance per target, and a heatmap of Spearman correlations."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; no display on cluster nodes
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from xstilts.analysis.tables import ordered_targets  # noqa: E402
from xstilts.atomic import write_figure  # noqa: E402
from xstilts.languages import DISTANCE_KINDS, load_uriel_distances  # noqa: E402

PANEL_SIZE = (3.4, 2.9)  # inches per panel
FIT_RESAMPLES = 500
# Label offsets (points) tried in turn; the one farthest from labels already placed wins.
LABEL_OFFSETS = [
    (4, 4),
    (4, -10),
    (-14, 4),
    (-14, -10),
    (6, -3),
    (-18, -3),
    (0, 7),
    (0, -13),
    (10, 12),
    (-22, 12),
    (10, -18),
    (-22, -18),
]
LABEL_CLEARANCE = 10  # points between label anchors
LABEL_FONTSIZE = 7


def family_colours() -> dict[str, tuple]:
    """One fixed colour per family of the shipped languages, the same in every figure."""
    families = sorted(load_uriel_distances()["family"].unique())
    palette = plt.get_cmap("tab20").colors
    return {family: palette[i % len(palette)] for i, family in enumerate(families)}


def place_labels(ax, xs, ys, labels) -> None:
    """Annotate points: each label takes the first offset clear of the labels already placed
    (or, if none is clear, the offset farthest from them)."""
    placed = []
    xmin, xmax = ax.get_xlim()
    width = ax.get_position().width * ax.figure.get_figwidth() * 72  # the axes' width in points
    to_pixels = ax.transData.transform
    scale = ax.figure.dpi / 72
    for x, y, label in sorted(zip(xs, ys, labels)):
        anchor = to_pixels((x, y))
        candidates = [anchor + np.array(offset) * scale for offset in LABEL_OFFSETS]
        gaps = [min((np.linalg.norm(c - other) for other in placed), default=np.inf) for c in candidates]
        clear = [i for i, gap in enumerate(gaps) if gap >= LABEL_CLEARANCE * scale]
        choice = clear[0] if clear else int(np.argmax(gaps))
        placed.append(candidates[choice])
        offset, align = LABEL_OFFSETS[choice], "left"
        # a label that would run past the right edge of the axes goes to the left of its point
        # (in points from the axes' left edge; about 0.6 em per character)
        end = (x - xmin) / (xmax - xmin) * width + offset[0] + len(str(label)) * LABEL_FONTSIZE * 0.6
        if xmax > xmin and end > width:
            offset, align = (-LABEL_OFFSETS[0][0], offset[1]), "right"
        ax.annotate(
            label, (x, y), xytext=offset, textcoords="offset points", fontsize=LABEL_FONTSIZE, ha=align
        )


def fit_with_band(ax, x, y, seed: int) -> None:
    """Least-squares line and a 95% pointwise band from resampling languages (pairs bootstrap)."""
    if len(x) < 3 or np.ptp(x) == 0:
        return
    grid = np.linspace(x.min(), x.max(), 50)
    ax.plot(grid, np.polyval(np.polyfit(x, y, 1), grid), color="black", linewidth=1)
    rng = np.random.default_rng(seed)
    lines = []
    for _ in range(FIT_RESAMPLES):
        pick = rng.integers(0, len(x), len(x))
        if np.ptp(x[pick]) > 0:
            lines.append(np.polyval(np.polyfit(x[pick], y[pick], 1), grid))
    if lines:
        low, high = np.percentile(lines, [2.5, 97.5], axis=0)
        limits = ax.get_ylim()  # set by the points: a wild band must not rescale the panel
        ax.fill_between(grid, low, high, color="grey", alpha=0.25, linewidth=0)
        ax.set_ylim(limits)


def panel_title(kind: str, stats_row) -> str:
    if stats_row is None or pd.isna(stats_row["spearman"]):
        reason = "no test" if stats_row is None else str(stats_row["reason"]).split(";")[0]
        return f"{kind}\n{reason}"
    return (
        f"{kind}\nρ={stats_row['spearman']:+.2f} (q={stats_row['spearman_q']:.2f})  "
        f"r={stats_row['pearson']:+.2f}  n={int(stats_row['n'])}"
    )


def draw_panel(ax, rows: pd.DataFrame, kind: str, stats_row, colours: dict, seed: int) -> None:
    shown = rows[rows[kind].notna() & rows["gain"].notna()]
    ax.axhline(0, color="grey", linewidth=0.5)
    ax.margins(x=0.1, y=0.12)  # room for labels at the edges
    ax.scatter(
        shown[kind],
        shown["gain"],
        c=[colours.get(f, "black") for f in shown["family"]],
        s=22,
        edgecolors="black",
        linewidths=0.3,
        zorder=3,
    )
    fit_with_band(ax, shown[kind].to_numpy(float), shown["gain"].to_numpy(float), seed)
    place_labels(ax, shown[kind].to_numpy(float), shown["gain"].to_numpy(float), list(shown["language"]))
    missing = sorted(set(rows["language"]) - set(shown["language"]))
    if missing:
        ax.text(
            0.01,
            0.01,
            "no distance: " + " ".join(missing),
            transform=ax.transAxes,
            fontsize=6,
            color="dimgrey",
            va="bottom",
        )
    ax.set_title(panel_title(kind, stats_row), fontsize=8)
    ax.set_xlabel(f"URIEL {kind} distance from English", fontsize=7)
    ax.tick_params(labelsize=7)


def typology_figure(joined: pd.DataFrame, correlations: pd.DataFrame, target: str, seed: int = 0):
    """Rows: model x intermediate recipe; columns: distance kinds; one point per non-English language."""
    rows = joined[joined["target"] == target]
    pairs = sorted(set(zip(rows["model"], rows["recipe"])))
    if not pairs:
        return _message_figure(f"{target}: no intermediate-task gains for non-English languages")
    several_models = len({model for model, _ in pairs}) > 1
    colours = family_colours()
    width, height = PANEL_SIZE
    figure, axes = plt.subplots(
        len(pairs),
        len(DISTANCE_KINDS),
        squeeze=False,
        layout="constrained",
        figsize=(width * len(DISTANCE_KINDS), height * len(pairs) + 1.2),
    )
    keyed = correlations.set_index(["model", "target", "recipe", "distance"])
    for r, (model, recipe) in enumerate(pairs):
        pair_rows = rows[(rows["model"] == model) & (rows["recipe"] == recipe)]
        for c, kind in enumerate(DISTANCE_KINDS):
            key = (model, target, recipe, kind)
            stats_row = keyed.loc[key] if key in keyed.index else None
            draw_panel(axes[r, c], pair_rows, kind, stats_row, colours, seed)
        name = f"{model}\n{recipe}" if several_models else recipe
        axes[r, 0].set_ylabel(f"{name}: gain over none\n(points, 0-100 scale)", fontsize=8)
    families = sorted(rows["family"].dropna().unique())
    handles = [
        plt.Line2D(
            [],
            [],
            marker="o",
            linestyle="",
            color=colours[f],
            markeredgecolor="black",
            markeredgewidth=0.3,
            label=f,
        )
        for f in families
    ]
    figure.legend(
        handles=handles,
        loc="outside lower center",
        ncol=min(len(handles), 8),
        fontsize=8,
        frameon=False,
        title="language family (URIEL)",
        title_fontsize=8,
    )
    models = ", ".join(sorted({model for model, _ in pairs}))
    figure.suptitle(
        f"{target} ({models}): per-language gain vs typological distance from English\n"
        "ρ Spearman, q its FDR-adjusted permutation p, r Pearson; band: 95% bootstrap of the fit",
        fontsize=10,
    )
    return figure


def heatmap_figure(correlations: pd.DataFrame, alpha: float = 0.05, targets=None):
    """Spearman rho, distance kind x target, one panel per model and recipe; * q<alpha, ** q<alpha/5."""
    tested = correlations.dropna(subset=["spearman"])
    panels = sorted(set(zip(tested["model"], tested["recipe"])))
    if not panels:
        return _message_figure("No correlation could be computed (too few non-English languages).")
    targets = ordered_targets(set(correlations["target"]) | set(targets or []))
    columns = min(len(panels), 3)
    rows = int(np.ceil(len(panels) / columns))
    figure, axes = plt.subplots(
        rows,
        columns,
        squeeze=False,
        layout="constrained",
        figsize=(max(0.75 * len(targets), 2.2) * columns + 3.0, 3.0 * rows + 0.9),
    )
    for ax in axes.flat[len(panels) :]:
        ax.set_visible(False)
    for ax, (model, recipe) in zip(axes.flat, panels):
        subset = correlations[(correlations["model"] == model) & (correlations["recipe"] == recipe)]
        rho = subset.pivot(index="distance", columns="target", values="spearman").reindex(
            index=list(DISTANCE_KINDS), columns=targets
        )
        q = subset.pivot(index="distance", columns="target", values="spearman_q").reindex_like(rho)
        colour_map = plt.get_cmap("RdBu_r").with_extremes(bad="lightgrey")
        image = ax.imshow(rho.to_numpy(float), cmap=colour_map, vmin=-1, vmax=1, aspect="auto")
        for (i, j), value in np.ndenumerate(rho.to_numpy(float)):
            ink = "white" if abs(value) > 0.6 else "black"  # black on the darkest reds/blues is unreadable
            label = _heat_label(value, q.iat[i, j], alpha)
            ax.text(j, i, label, ha="center", va="center", fontsize=7, color=ink)
        ax.set_xticks(range(len(targets)), targets, rotation=45, ha="right", fontsize=8)
        first_column = ax.get_subplotspec().is_first_col()
        ax.set_yticks(range(len(DISTANCE_KINDS)), DISTANCE_KINDS if first_column else [], fontsize=8)
        ax.set_title(f"{recipe} ({model})", fontsize=9)
    figure.colorbar(image, ax=axes, shrink=0.8, label="Spearman ρ (gain vs distance)")
    figure.suptitle(
        f"Per-language gain vs URIEL distance from English: Spearman ρ\n* q<{alpha:g}, "
        f"** q<{alpha / 5:g} (Benjamini-Hochberg over all Spearman tests); grey: not computable",
        fontsize=9,
    )
    return figure


def _heat_label(rho: float, q: float, alpha: float) -> str:
    if np.isnan(rho):
        return "n/a"
    stars = "**" if q < alpha / 5 else "*" if q < alpha else ""
    return f"{rho:+.2f}{stars}"


def _message_figure(message: str):
    figure, ax = plt.subplots(figsize=(6, 1.5))
    ax.axis("off")
    ax.text(0.5, 0.5, message, ha="center", va="center", wrap=True, fontsize=10)
    return figure


def write_figures(
    joined: pd.DataFrame,
    correlations: pd.DataFrame,
    out_dir: str | Path,
    targets=None,
    alpha: float = 0.05,
    seed: int = 0,
) -> list[Path]:
    """figures/typology_<target>.png for every target, and figures/typology_heatmap.png."""
    figure_dir = Path(out_dir) / "figures"
    targets = ordered_targets(set(joined["target"]) | set(targets or []))
    written = []
    for target in targets:
        figure = typology_figure(joined, correlations, target, seed)
        written.append(write_figure(figure_dir / f"typology_{target}.png", figure))
        plt.close(figure)
    figure = heatmap_figure(correlations, alpha, targets)
    written.append(write_figure(figure_dir / "typology_heatmap.png", figure))
    plt.close(figure)
    return written
