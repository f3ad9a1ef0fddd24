"""Gain tables like the paper's main table: intermediate recipe x target, gains over ``none``.

Policy for missing cells (documented in the tables' notes):
- a target's score is the mean over *all* languages observed for that model and target (in any
  recipe or seed); a recipe/seed lacking one of them gets no target score (missing, never a
  mean over the languages it happens to have);
- a category average, ``xtreme`` and the XTREME-R score (``xtreme_r`` and its
  ``xtreme_r_<category>`` means; Ruder et al. 2021) exist only where the run scores every
  language of every task they average, as the benchmark defines them (google-research/xtreme
  ``evaluate.py``: ``XTREME_TASK2LANGS``, ``XTREME_R_TASK2LANGS``); each averages only its own
  benchmark's languages (a 48-language PAN-X run keeps XTREME's 40 in ``xtreme``). A run with
  fewer languages gets none: a partial mean under a benchmark's name reads as that benchmark's
  score. ``avg_present`` is the one partial summary (over the targets and languages this run
  has), and the notes count each target's languages of each benchmark's;
- with several seeds a cell is mean +- std over seeds (n seeds); a gain per seed is that seed's
  score minus the baseline's mean over its seeds, so the std is the recipe's seed spread.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from xstilts.atomic import write_csv, write_text
from xstilts.grid import BASELINE as BASELINE_RECIPE
from xstilts.languages import XTREME_R_CATEGORIES
from xstilts.results import XTREME_TASKS
from xstilts.tasks import TASKS
from xstilts.tasks import XTREME_CATEGORIES as TASK_CATEGORIES

XTREME_R_TASKS = tuple(task for tasks in XTREME_R_CATEGORIES.values() for task in tasks)
XTREME_R_PREFIX = "xtreme_r_"
# benchmark -> (its category columns -> tasks, its overall column and tasks)
BENCHMARK_AVERAGES = {
    "xtreme": (dict(TASK_CATEGORIES), ("xtreme", XTREME_TASKS)),
    "xtreme-r": (
        {XTREME_R_PREFIX + c: tasks for c, tasks in XTREME_R_CATEGORIES.items()},
        ("xtreme_r", XTREME_R_TASKS),
    ),
}
SCORE_COLUMNS = ("model", "recipe", "target", "language", "seed", "metric", "value", "primary")
CELL_KEYS = ["model", "recipe", "target", "language", "seed"]
AVERAGE_COLUMNS = tuple(
    name for categories, (overall, _) in BENCHMARK_AVERAGES.values() for name in (*categories, overall)
) + ("avg_present",)
BEST_RECIPE_ROW = "best per target"
MISSING = "–"


def load_scores(path: str | Path) -> pd.DataFrame:
    """Read ``scores.parquet`` and check the columns the analysis relies on."""
    scores = pd.read_parquet(path)
    missing = [column for column in SCORE_COLUMNS if column not in scores.columns]
    if missing:
        raise ValueError(f"{path}: missing columns {missing}")
    return scores


def primary_scores(scores: pd.DataFrame) -> pd.DataFrame:
    """One headline value per model x recipe x target x language x seed."""
    primary = scores[scores["primary"].astype(bool)]
    duplicated = primary.duplicated(CELL_KEYS, keep=False)
    if duplicated.any():
        raise ValueError(f"several primary metrics for cells:\n{primary[duplicated].head()}")
    return primary[[*CELL_KEYS, "metric", "value"]].reset_index(drop=True)


def ordered_targets(targets) -> list[str]:
    """XTREME's task order first, then XTREME-R's new tasks, any other target after, alphabetically."""
    present = set(targets)
    order = [*XTREME_TASKS, *(t for t in XTREME_R_TASKS if t not in XTREME_TASKS)]
    known = [task for task in order if task in present]
    return known + sorted(present - set(known))


def language_means_per_seed(primary: pd.DataFrame) -> pd.DataFrame:
    """Wide frame, index (model, recipe, seed), one column per target: mean over its languages."""
    columns = {}
    for (model, target), cells in primary.groupby(["model", "target"]):
        by_language = cells.pivot_table(index=["recipe", "seed"], columns="language", values="value")
        # skipna=False: a seed lacking any language of the target gets no target score.
        means = by_language.mean(axis=1, skipna=False)
        columns.setdefault(target, []).append(pd.concat({model: means}, names=["model"]))
    wide = pd.DataFrame({target: pd.concat(parts) for target, parts in columns.items()})
    return wide[ordered_targets(wide.columns)].sort_index()


def benchmark_languages(target: str, benchmark: str) -> tuple[str, ...]:
    """The languages ``benchmark`` scores ``target`` on (() for a task outside it)."""
    return TASKS[target].benchmark_languages(benchmark) if target in TASKS else ()


def benchmark_means(primary: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Benchmark -> per-seed target means over that benchmark's languages of each of its tasks,
    for each model and task the run scores in every one of those languages (any other model
    and task stays missing, so nothing built on it is a partial benchmark average)."""
    means = {}
    for benchmark in BENCHMARK_AVERAGES:
        complete = [
            cells[cells["language"].isin(languages)]
            for (_, target), cells in primary.groupby(["model", "target"])
            if (languages := benchmark_languages(target, benchmark))
            and set(languages) <= set(cells["language"])
        ]
        means[benchmark] = language_means_per_seed(pd.concat(complete)) if complete else pd.DataFrame()
    return means


def add_averages(per_seed: pd.DataFrame, means: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Category averages and the overall score of XTREME (nine tasks) and XTREME-R (ten) from
    ``means`` (see :func:`benchmark_means`: complete tasks only), each only where all its tasks
    are there, and ``avg_present``, the mean over ``per_seed``'s targets."""
    result = per_seed.copy()
    for benchmark, (categories, overall) in BENCHMARK_AVERAGES.items():
        frame = means.get(benchmark, pd.DataFrame())
        for name, tasks in (*categories.items(), overall):
            if all(task in frame.columns for task in tasks):
                result[name] = frame[list(tasks)].mean(axis=1, skipna=False).reindex(per_seed.index)
            else:
                result[name] = np.nan
    result["avg_present"] = per_seed.mean(axis=1, skipna=False)
    return result


def averaged_per_seed(primary: pd.DataFrame) -> pd.DataFrame:
    """Per-seed target means (all languages) with both benchmarks' averages."""
    return add_averages(language_means_per_seed(primary), benchmark_means(primary))


@dataclass
class CellStats:
    """Mean, standard deviation and number of seeds; same shape, index (model, recipe)."""

    mean: pd.DataFrame
    std: pd.DataFrame
    n: pd.DataFrame


def _baseline_first(frame: pd.DataFrame) -> pd.DataFrame:
    order = sorted(frame.index, key=lambda key: (key[0], key[1] != BASELINE_RECIPE, key[1]))
    return frame.reindex(order)


def _over_seeds(per_seed: pd.DataFrame) -> CellStats:
    grouped = per_seed.groupby(level=["model", "recipe"])
    return CellStats(
        *(_baseline_first(frame) for frame in (grouped.mean(), grouped.std(ddof=1), grouped.count()))
    )


def baseline_means(per_seed: pd.DataFrame) -> pd.DataFrame:
    """Baseline mean over seeds, index model (all-NaN row for a model without a baseline)."""
    models = per_seed.index.unique("model")
    if BASELINE_RECIPE not in per_seed.index.unique("recipe"):
        return pd.DataFrame(np.nan, index=models, columns=per_seed.columns)
    baseline = per_seed.xs(BASELINE_RECIPE, level="recipe").groupby(level="model").mean()
    return baseline.reindex(models)


def gains_per_seed(per_seed: pd.DataFrame) -> pd.DataFrame:
    """Each intermediate recipe's per-seed value minus the baseline's mean over seeds."""
    baseline = baseline_means(per_seed)
    recipes = per_seed[per_seed.index.get_level_values("recipe") != BASELINE_RECIPE]
    reference = baseline.reindex(recipes.index.get_level_values("model"))
    return recipes - reference.to_numpy()


def summarise(per_seed: pd.DataFrame) -> tuple[CellStats, CellStats]:
    """(scores of every recipe, gains of the intermediate recipes), mean/std/n over seeds."""
    return _over_seeds(per_seed), _over_seeds(gains_per_seed(per_seed))


def best_recipes(gains: CellStats, targets: list[str]) -> pd.DataFrame:
    """Per model and target, the recipe with the largest mean gain (ties: first by name).

    As in the paper, the choice is made on the evaluated split itself (an oracle upper bound).
    """
    rows = []
    for model, model_gains in gains.mean.groupby(level="model"):
        for target in targets:
            column = model_gains[target].dropna()
            if column.empty:
                continue
            recipe = column.sort_index().idxmax()[1]
            rows.append(
                {
                    "model": model,
                    "target": target,
                    "recipe": recipe,
                    "gain": column.loc[(model, recipe)],
                    "gain_std": gains.std.loc[(model, recipe), target],
                    "n_seeds": int(gains.n.loc[(model, recipe), target]),
                }
            )
    return pd.DataFrame(rows, columns=["model", "target", "recipe", "gain", "gain_std", "n_seeds"])


def _best_wide(best: pd.DataFrame, values: list[float], targets: list[str]) -> pd.DataFrame:
    """``values`` (one per row of ``best``) as a wide frame, index (model, BEST_RECIPE_ROW)."""
    wide = best.assign(value=values).pivot(index="model", columns="target", values="value")
    wide = wide.reindex(columns=targets)
    wide.index = pd.MultiIndex.from_arrays(
        [wide.index, [BEST_RECIPE_ROW] * len(wide)], names=["model", "recipe"]
    )
    return wide


def best_row(best: pd.DataFrame, targets: list[str], means: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Gains of the best recipe per target and their averages, index (model, BEST_RECIPE_ROW).

    ``means``: :func:`benchmark_means`; a benchmark's averages take the chosen recipe's gain over
    that benchmark's languages, so they follow the same rule as every other row's."""
    wide = _best_wide(best, list(best["gain"]), targets)
    best_means = {}
    for benchmark, frame in means.items():
        if frame.empty:
            continue
        gains = _over_seeds(gains_per_seed(frame)).mean
        values = [
            gains.at[(row.model, row.recipe), row.target]
            if row.target in gains.columns and (row.model, row.recipe) in gains.index
            else np.nan
            for row in best.itertuples()
        ]
        best_means[benchmark] = _best_wide(best, values, [t for t in targets if t in frame.columns])
    return add_averages(wide, best_means)


# ---------------------------------------------------------------- formatting


def format_cell(mean: float, std: float, n: float, signed: bool) -> str:
    """'+1.2 ± 0.3 (n=3)', '79.2' with one seed, '–' when missing."""
    if pd.isna(mean):
        return MISSING
    text = f"{mean:+.1f}" if signed else f"{mean:.1f}"
    if not pd.isna(n) and n > 1:
        text += f" ± {std:.1f} (n={int(n)})"
    return text


def stats_to_csv_frame(stats: CellStats, kind: str) -> pd.DataFrame:
    """Wide CSV rows: model, recipe, kind, then <column>, <column>_std, <column>_n per column."""
    parts = []
    for column in stats.mean.columns:
        parts += [
            stats.mean[column].rename(column),
            stats.std[column].rename(f"{column}_std"),
            stats.n[column].astype("Int64").rename(f"{column}_n"),
        ]
    frame = pd.concat(parts, axis=1).reset_index()
    frame.insert(2, "kind", kind)
    return frame


def stats_to_markdown(stats: CellStats, signed: bool, label: str = "recipe") -> str:
    """One markdown table, rows (model, recipe) without the model level."""
    cells = {
        column: [
            format_cell(m, s, n, signed)
            for m, s, n in zip(stats.mean[column], stats.std[column], stats.n[column])
        ]
        for column in stats.mean.columns
    }
    table = pd.DataFrame(cells, index=stats.mean.index.get_level_values("recipe").rename(label))
    return table.to_markdown(stralign="right", disable_numparse=True)


def _select_model(stats: CellStats, model: str) -> CellStats:
    pick = stats.mean.index.get_level_values("model") == model
    return CellStats(stats.mean[pick], stats.std[pick], stats.n[pick])


def _with_best(gains: CellStats, best_wide: pd.DataFrame, best: pd.DataFrame) -> CellStats:
    """Append the best-per-target row; its std/n come from the chosen recipe per target."""
    std = pd.DataFrame(np.nan, index=best_wide.index, columns=best_wide.columns)
    n = std.copy()
    for row in best.itertuples():
        std.loc[(row.model, BEST_RECIPE_ROW), row.target] = row.gain_std
        n.loc[(row.model, BEST_RECIPE_ROW), row.target] = row.n_seeds
    return CellStats(pd.concat([gains.mean, best_wide]), pd.concat([gains.std, std]), pd.concat([gains.n, n]))


def language_coverage(target: str, languages) -> str:
    """'`xnli` (de en): 2 of 15 XTREME languages, 2 of 15 XTREME-R languages'."""
    counts = []
    for benchmark in BENCHMARK_AVERAGES:
        wanted = benchmark_languages(target, benchmark)
        name = benchmark.upper()
        scored = len(set(wanted) & set(languages))
        counts.append(f"{scored} of {len(wanted)} {name} languages" if wanted else f"not an {name} task")
    return f"`{target}` ({' '.join(sorted(languages))}): {', '.join(counts)}"


def _columns_with_values(*frames: pd.DataFrame) -> list[str]:
    """The columns (first frame's order) holding a value in any of ``frames``."""
    return [c for c in frames[0].columns if any(f[c].notna().any() for f in frames if c in f)]


def _select_columns(stats: CellStats, columns: list[str]) -> CellStats:
    return CellStats(stats.mean[columns], stats.std[columns], stats.n[columns])


def _tasks_note(categories: dict[str, tuple[str, ...]]) -> str:
    """'classification: xnli pawsx | structured_prediction: udpos panx | ...'."""
    return " | ".join(
        f"{name.removeprefix(XTREME_R_PREFIX)}: {' '.join(tasks)}" for name, tasks in categories.items()
    )


def _footnotes(targets: list[str], shown: list[str]) -> str:
    left_out = [c for c in AVERAGE_COLUMNS if c not in shown]
    notes = [
        f"- `avg_present`: mean over this run's targets ({', '.join(targets)}), each over the "
        "languages this run scores (counted under each model): a summary of this run, not a "
        "benchmark score.",
        "- XTREME's category averages and `xtreme` ("
        + _tasks_note(BENCHMARK_AVERAGES["xtreme"][0])
        + "), and XTREME-R's `xtreme_r_<category>` and `xtreme_r` ("
        + _tasks_note(BENCHMARK_AVERAGES["xtreme-r"][0])
        + ") are given only where the run scores every language of every task they average, "
        "as the benchmark defines them (google-research/xtreme `evaluate.py`), and average "
        "only those languages.",
    ]
    if left_out:
        notes.append(
            f"- Left out, no value in this run: {', '.join(f'`{c}`' for c in left_out)} "
            "(`gains.csv` keeps their columns, empty)."
        )
    return "\n".join(
        notes
        + [
            "- A target score is the mean over all its languages in this run; a run missing one is `–`.",
            f"- Row `{BASELINE_RECIPE}`: absolute scores (0-100); "
            f"other rows: gains over `{BASELINE_RECIPE}`.",
            f"- Row `{BEST_RECIPE_ROW}`: best intermediate recipe per target, chosen on the same split "
            "(as in the paper); its averages average those recipes' gains.",
            "- Several seeds: mean ± std over seeds (n seeds); one seed: the value alone.",
        ]
    )


def gains_markdown(
    scores: CellStats,
    gains: CellStats,
    best: pd.DataFrame,
    best_wide: pd.DataFrame,
    targets: list[str],
    languages: dict[tuple[str, str], list[str]],
) -> str:
    """``languages``: (model, target) -> the languages this run scores (for the notes)."""
    baseline_pick = scores.mean.index.get_level_values("recipe") == BASELINE_RECIPE
    baseline = CellStats(scores.mean[baseline_pick], scores.std[baseline_pick], scores.n[baseline_pick])
    with_best = _with_best(gains, best_wide, best)
    shown = _columns_with_values(baseline.mean, with_best.mean)
    sections = ["# Gains over the baseline (primary metric, 0-100)", _footnotes(targets, shown)]
    for model in scores.mean.index.unique("model"):
        chosen = best[best["model"] == model]
        choice = ", ".join(f"{row.target}: {row.recipe}" for row in chosen.itertuples()) or "none"
        coverage = [
            f"- {language_coverage(t, languages[(model, t)])}" for t in targets if (model, t) in languages
        ]
        sections += [
            f"## {model}",
            "Languages scored per target, of each benchmark's:\n" + "\n".join(coverage),
            "Baseline scores:",
            stats_to_markdown(_select_columns(_select_model(baseline, model), shown), signed=False),
            "Gains:",
            stats_to_markdown(_select_columns(_select_model(with_best, model), shown), signed=True),
            f"Best recipe per target: {choice}.",
        ]
    return "\n\n".join(sections) + "\n"


def best_summary_table(best: pd.DataFrame, best_wide: pd.DataFrame, baseline: pd.DataFrame) -> pd.DataFrame:
    """Per model: chosen recipe and gain per target, plus averages; baseline and resulting score."""
    rows = [best.assign(baseline=[baseline.loc[r.model, r.target] for r in best.itertuples()])]
    for (model, _), values in best_wide.iterrows():
        for column in AVERAGE_COLUMNS:
            rows.append(
                pd.DataFrame(
                    [
                        {
                            "model": model,
                            "target": column,
                            "recipe": BEST_RECIPE_ROW,
                            "gain": values[column],
                            "gain_std": np.nan,
                            "n_seeds": pd.NA,
                            "baseline": baseline.loc[model, column],
                        }
                    ]
                )
            )
    table = pd.concat(rows, ignore_index=True)
    table["score"] = table["baseline"] + table["gain"]
    return table


def per_target_tables(primary: pd.DataFrame, target: str) -> tuple[CellStats, CellStats]:
    """Recipe x language scores and gains (mean/std/n over seeds) for one target."""
    cells = primary[primary["target"] == target]
    per_seed = cells.pivot_table(index=["model", "recipe", "seed"], columns="language", values="value")
    per_seed = per_seed[sorted(per_seed.columns)]
    per_seed["avg"] = per_seed.mean(axis=1, skipna=False)
    return summarise(per_seed)


def per_target_markdown(target: str, scores: CellStats, gains: CellStats) -> str:
    sections = [
        f"# {target}: scores and gains per language",
        "`avg` is the mean over all languages shown (missing when one is missing), not a "
        "benchmark's task score unless they are exactly its languages; several seeds: mean ± std (n seeds).",
    ]
    for model in scores.mean.index.unique("model"):
        model_scores = _select_model(scores, model)
        languages = [
            c for c in model_scores.mean.columns if c != "avg" and model_scores.mean[c].notna().any()
        ]
        sections += [
            f"## {model}",
            f"Languages scored: {language_coverage(target, languages)}.",
            "Scores:",
            stats_to_markdown(model_scores, signed=False),
        ]
        model_gains = _select_model(gains, model)
        if model_gains.mean.empty:
            sections.append(f"No intermediate recipe to compare with `{BASELINE_RECIPE}`.")
        else:
            sections += ["Gains over `none`:", stats_to_markdown(model_gains, signed=True)]
    return "\n\n".join(sections) + "\n"


def write_tables(
    scores_frame: pd.DataFrame, out_dir: str | Path, targets: list[str] | None = None
) -> list[Path]:
    """Write gains.md/.csv, best_per_target.md/.csv and targets/<target>.md/.csv under out_dir.

    ``targets``: targets to write per-target tables for even when absent from the scores
    (the workflow knows them up front); defaults to the targets present.
    """
    out_dir = Path(out_dir)
    primary = primary_scores(scores_frame)
    present = ordered_targets(primary["target"].unique())
    written = []
    if present:
        means = benchmark_means(primary)
        per_seed = add_averages(language_means_per_seed(primary), means)
        scores, gains = summarise(per_seed)
        best = best_recipes(gains, present)
        best_wide = best_row(best, present, means).reindex(columns=per_seed.columns)
        table = pd.concat(
            [
                stats_to_csv_frame(scores, "score"),
                stats_to_csv_frame(_with_best(gains, best_wide, best), "gain"),
            ]
        )
        table = table[(table["kind"] == "gain") | (table["recipe"] == BASELINE_RECIPE)]
        written.append(write_csv(out_dir / "gains.csv", table))
        languages = primary.groupby(["model", "target"])["language"].unique().to_dict()
        markdown = gains_markdown(scores, gains, best, best_wide, present, languages)
        written.append(write_text(out_dir / "gains.md", markdown))
        summary = best_summary_table(best, best_wide, baseline_means(per_seed))
        written.append(write_csv(out_dir / "best_per_target.csv", summary))
        written.append(write_text(out_dir / "best_per_target.md", _best_markdown(summary)))
    else:
        written.append(write_text(out_dir / "gains.md", "# Gains over the baseline\n\nNo primary scores.\n"))
        written.append(write_csv(out_dir / "gains.csv", pd.DataFrame(columns=["model", "recipe", "kind"])))
    for target in ordered_targets(set(present) | set(targets or [])):
        written += _write_target(primary, target, out_dir / "targets")
    return written


def _best_markdown(summary: pd.DataFrame) -> str:
    # the CSV keeps every average row; here only those with a value
    empty = summary["target"].isin(AVERAGE_COLUMNS) & summary["gain"].isna() & summary["baseline"].isna()
    shown = summary[~empty].copy()
    for column in ("gain", "baseline", "score"):
        signed = column == "gain"
        shown[column] = [format_cell(v, np.nan, 1, signed) for v in shown[column]]
    shown["gain_std"] = [MISSING if pd.isna(v) else f"{v:.1f}" for v in shown["gain_std"]]
    shown["n_seeds"] = [MISSING if pd.isna(v) else str(int(v)) for v in shown["n_seeds"]]
    return (
        "# Best intermediate recipe per target\n\n"
        "Chosen on the evaluated split, as in the paper. `score` = baseline + gain; the "
        "average rows average the best gains over their tasks, under the rules of `gains.md` "
        "(a category or benchmark row only where the run scores every language of its tasks; "
        "`best_per_target.csv` keeps every row, empty where there is no value).\n\n"
        + shown.to_markdown(index=False, stralign="right", disable_numparse=True)
        + "\n"
    )


def _write_target(primary: pd.DataFrame, target: str, target_dir: Path) -> list[Path]:
    if not (primary["target"] == target).any():
        text = f"# {target}\n\nNo scores for this target in this run.\n"
        return [
            write_text(target_dir / f"{target}.md", text),
            write_csv(target_dir / f"{target}.csv", pd.DataFrame(columns=["model", "recipe", "kind"])),
        ]
    scores, gains = per_target_tables(primary, target)
    table = pd.concat([stats_to_csv_frame(scores, "score"), stats_to_csv_frame(gains, "gain")])
    return [
        write_text(target_dir / f"{target}.md", per_target_markdown(target, scores, gains)),
        write_csv(target_dir / f"{target}.csv", table),
    ]
