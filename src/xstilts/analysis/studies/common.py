"""What the four studies share: per-language gains, recipe metadata, intervals, the writer.

A study is a pure function of the long scores table (``results/scores.parquet``) returning a
:class:`StudyResult`: named tables, and a caption of three sentences (the question, the answer,
its uncertainty). Statistics that cannot be computed are NaN with a ``reason`` string in the
same row; nothing here raises for a missing cell, only for malformed input.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from xstilts.analysis.stats import rng_for
from xstilts.analysis.tables import BASELINE_RECIPE, MISSING, primary_scores
from xstilts.atomic import write_csv, write_figure, write_text

CELL = ["model", "recipe", "target", "language"]


@dataclass
class StudyResult:
    """Tables of one study and its caption; ``notes`` are shown under the caption."""

    name: str
    tables: dict[str, pd.DataFrame]
    question: str
    answer: str
    uncertainty: str
    notes: list[str] = field(default_factory=list)

    @property
    def caption(self) -> str:
        return f"Question: {self.question} Answer: {self.answer} Uncertainty: {self.uncertainty}"


# ---------------------------------------------------------------- scores -> gains


def language_gains(scores: pd.DataFrame) -> pd.DataFrame:
    """Per model x recipe x target x language x seed: value, the baseline (``none``) mean over
    its seeds for that model/target/language, and gain = value - baseline (NaN without one).

    The baseline rows themselves are kept (gain 0 by construction is not useful: they get NaN).
    """
    primary = primary_scores(scores)
    base = (
        primary[primary["recipe"] == BASELINE_RECIPE]
        .groupby(["model", "target", "language"])["value"]
        .mean()
        .rename("baseline")
    )
    frame = primary.join(base, on=["model", "target", "language"])
    frame["gain"] = np.where(frame["recipe"] == BASELINE_RECIPE, np.nan, frame["value"] - frame["baseline"])
    return frame


def cell_means(gains: pd.DataFrame) -> pd.DataFrame:
    """Mean over seeds per model x recipe x target x language (value, baseline, gain, n_seeds)."""
    grouped = gains.groupby(CELL, sort=True)
    return pd.DataFrame(
        {
            "value": grouped["value"].mean(),
            "baseline": grouped["baseline"].first(),
            "gain": grouped["gain"].mean(),
            "gain_sd": grouped["gain"].std(ddof=1),
            "n_seeds": grouped["seed"].nunique(),
        }
    ).reset_index()


def split_languages(value) -> tuple[str, ...]:
    """A ``recipe_languages`` entry (list/array, or a space/comma separated string) as a tuple."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ()
    if isinstance(value, str):
        return tuple(part for part in re.split(r"[\s,]+", value) if part)
    return tuple(str(part) for part in value)


# A recipe's training languages: results.collect writes `source_languages`; `recipe_languages`
# is the name the studies' own tables and older scores use.
LANGUAGE_COLUMNS = ("source_languages", "recipe_languages")


def recipe_languages(scores: pd.DataFrame) -> pd.Series | None:
    """Per recipe, its training languages as one space-separated string (None without a column)."""
    for column in LANGUAGE_COLUMNS:
        found = recipe_column(scores, column)
        if found is not None:
            return found
    return None


def recipe_column(scores: pd.DataFrame, column: str, key: str = "recipe") -> pd.Series | None:
    """Per recipe (or per ``key``), the one value of an optional column (None when the column is
    absent). Several different values for one recipe are an error: the column must describe the
    recipe, not the cell."""
    if column not in scores.columns:
        return None
    values = scores[[key, column]].copy()
    values[column] = values[column].map(
        lambda v: " ".join(split_languages(v)) if column in LANGUAGE_COLUMNS else v
    )
    distinct = values.drop_duplicates()
    clash = distinct[distinct[key].duplicated(keep=False)]
    if not clash.empty:
        raise ValueError(
            f"column {column!r} has several values for {key}(s) {sorted(set(clash[key]))}: "
            f"it must be one value per {key} (fix the rows that collect.py wrote for them)"
        )
    return distinct.set_index(key)[column]


# ---------------------------------------------------------------- intervals and tests


def mean_interval(values, *, n_resamples: int, seed: int, key: str, confidence: float) -> tuple:
    """(mean, low, high, note): bootstrap interval of a mean (BCa; percentile where BCa is
    undefined). Fewer than 2 values: no interval, and the note says so."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    n = len(values)
    if n == 0:
        return np.nan, np.nan, np.nan, "no values"
    mean = float(values.mean())
    if n < 2:
        return mean, np.nan, np.nan, "n=1: no interval"
    if np.ptp(values) == 0:
        return mean, mean, mean, f"n={n}, all equal"
    note = f"n={n}: coarse interval (only {n} units resampled)" if n < 5 else ""
    for method in ("BCa", "percentile"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = stats.bootstrap(
                (values,),
                np.mean,
                n_resamples=n_resamples,
                confidence_level=confidence,
                method=method,
                rng=rng_for(seed, key),
            )
        low, high = float(result.confidence_interval.low), float(result.confidence_interval.high)
        if np.isfinite(low) and np.isfinite(high):
            if method != "BCa":
                note = "; ".join(filter(None, [note, "percentile interval (BCa undefined)"]))
            return mean, low, high, note
    return mean, np.nan, np.nan, "bootstrap undefined"


def sign_flip_p(values, *, n_resamples: int, seed: int, key: str) -> float:
    """Two-sided permutation p of mean(values) = 0 by flipping signs (paired differences)."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if len(values) < 2 or np.all(values == 0):
        return np.nan
    result = stats.permutation_test(
        (values,),
        lambda x, axis: np.mean(x, axis=axis),
        permutation_type="samples",
        vectorized=True,
        n_resamples=n_resamples,
        rng=rng_for(seed, key),
    )
    return float(result.pvalue)


def p_text(p: float) -> str:
    if not np.isfinite(p):
        return "p n/a"
    return "p<0.001" if p < 0.001 else f"p={p:.3f}"


def interval_text(low: float, high: float, confidence: float, digits: int = 1) -> str:
    if not (np.isfinite(low) and np.isfinite(high)):
        return "no interval"
    return f"{confidence:.0%} CI [{low:+.{digits}f}, {high:+.{digits}f}]"


# ---------------------------------------------------------------- writing


def to_markdown(frame: pd.DataFrame, digits: int = 2) -> str:
    """A table with numbers rounded and missing values shown as the tables' dash."""
    if frame.empty:
        return "(empty)"
    shown = frame.copy()
    for column in shown.columns:
        if pd.api.types.is_float_dtype(shown[column]):
            shown[column] = [MISSING if pd.isna(v) else f"{v:.{digits}f}" for v in shown[column]]
        else:
            shown[column] = [
                MISSING if (v is None or (np.isscalar(v) and pd.isna(v))) else str(v) for v in shown[column]
            ]
    return shown.to_markdown(index=False, stralign="right", disable_numparse=True)


def study_markdown(result: StudyResult) -> str:
    sections = [
        f"# Study: {result.name.replace('-', ' ')}",
        f"**Question.** {result.question}",
        f"**Answer.** {result.answer}",
        f"**Uncertainty.** {result.uncertainty}",
    ]
    if result.notes:
        sections.append("\n".join(f"- {note}" for note in result.notes))
    for name, table in result.tables.items():
        sections += [f"## {name}", to_markdown(table)]
    return "\n\n".join(sections) + "\n"


def write_study(result: StudyResult, figure, out_dir: str | Path) -> list[Path]:
    """``<out>/studies/<name>/``: one CSV per table, ``<name>.md`` (caption, notes, tables),
    ``caption.rst`` (the three sentences, for the Snakemake report) and ``<name>.png``.
    Each file is written atomically."""
    import matplotlib.pyplot as plt

    study_dir = Path(out_dir) / "studies" / result.name
    written = [write_csv(study_dir / f"{name}.csv", table) for name, table in result.tables.items()]
    written.append(write_text(study_dir / f"{result.name}.md", study_markdown(result)))
    written.append(write_text(study_dir / "caption.rst", result.caption + "\n"))
    written.append(write_figure(study_dir / f"{result.name}.png", figure))
    plt.close(figure)
    return written


def message_figure(message: str):
    import matplotlib.pyplot as plt

    figure, ax = plt.subplots(figsize=(6.5, 1.6))
    ax.axis("off")
    ax.text(0.5, 0.5, message, ha="center", va="center", wrap=True, fontsize=10)
    return figure


def grid_figure(n_panels: int, columns: int = 3, panel=(3.6, 3.0), extra_height: float = 0.9):
    """A constrained-layout grid of panels; unused axes hidden. Returns (figure, axes list)."""
    import matplotlib.pyplot as plt

    columns = max(1, min(columns, n_panels))
    rows = int(np.ceil(n_panels / columns))
    figure, axes = plt.subplots(
        rows,
        columns,
        squeeze=False,
        layout="constrained",
        figsize=(panel[0] * columns, panel[1] * rows + extra_height),
    )
    for ax in axes.flat[n_panels:]:
        ax.set_visible(False)
    return figure, list(axes.flat[:n_panels])
