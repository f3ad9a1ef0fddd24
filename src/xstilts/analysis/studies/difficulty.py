"""Task difficulty (SPEC question 3): is a harder intermediate task a better one for zero-shot
transfer?

Inputs: the scores table and a difficulty table with columns ``task``, ``measure``, ``value``
(optionally ``model``: then per model). ``task`` is the name of a single-task recipe in the
scores. The measures, recorded by the intermediate training (``training.json`` of the
recipe's intermediate model; :func:`measures_from_training` reads them), not recomputed:

- ``dev_at_budget``: the pretrained encoder's headline dev score on the task after a fixed
  budget of intermediate steps, chance-corrected, ``100 * (score - chance) / (100 - chance)``;
  needs an early-stopping evaluation at exactly that step (``intermediate.early_stopping.every``
  must divide the budget), read from ``history.early_stopping``. Lower = harder.
- ``final_dev_error``: ``100 -`` the final headline dev score (``history.dev[task][metric]``).
  Higher = harder.
- ``loss_at_step``: the mean training loss over the ``loss_window`` steps ending at a fixed step
  (``history.losses``). Higher = harder; comparable only between tasks of one format (losses of
  different heads are on different scales).

Per model x target x measure: Spearman and Kendall between the task's difficulty and its mean
zero-shot gain over the target's non-English languages, a permutation p-value (over tasks), and
a percentile bootstrap CI resampling languages (the tasks' difficulties held fixed).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from xstilts.analysis.stats import rng_for, spearman_along_last_axis
from xstilts.analysis.studies.common import (
    StudyResult,
    cell_means,
    grid_figure,
    interval_text,
    language_gains,
    message_figure,
    p_text,
    pending_answer,
)
from xstilts.analysis.tables import BASELINE_RECIPE, ordered_targets

NAME = "difficulty"
TABLES = ("correlations", "tasks")
QUESTION = (
    "Does the difficulty of the intermediate task (measured on the task itself) predict its "
    "zero-shot gain on the non-English languages?"
)
DIFFICULTY_COLUMNS = ("task", "measure", "value")
HARDER_WHEN = {"dev_at_budget": "lower", "final_dev_error": "higher", "loss_at_step": "higher"}
MIN_TASKS = 4
REFERENCE_LANGUAGE = "en"


def check_difficulty(difficulty: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in DIFFICULTY_COLUMNS if c not in difficulty.columns]
    if missing:
        raise ValueError(
            f"difficulty table lacks columns {missing}: it needs task, measure, value (one row per "
            "intermediate task and measure; see xstilts.analysis.studies.difficulty)"
        )
    keys = ["model", "task", "measure"] if "model" in difficulty.columns else ["task", "measure"]
    duplicated = difficulty.duplicated(keys, keep=False)
    if duplicated.any():
        raise ValueError(
            f"difficulty table has several values for {difficulty[duplicated][keys].head().values.tolist()}"
        )
    return difficulty.assign(value=pd.to_numeric(difficulty["value"], errors="raise"))


def measures_from_training(
    task: str,
    training: dict,
    *,
    budget_step: int,
    loss_step: int,
    loss_window: int = 50,
    chance: float | None = None,
) -> pd.DataFrame:
    """Difficulty rows of one single-task recipe from its ``training.json`` (dict). ``chance``
    defaults to 100 / number of labels (0 for tasks without a label set: QA spans, tags).
    A measure the history cannot give (no evaluation at the budget, too few steps) is left out."""
    from xstilts.tasks import TASKS

    history = training["history"]
    if chance is None:
        labels = TASKS[task].labels
        chance = 100.0 / len(labels) if labels else 0.0
    rows = []
    at_budget = [e["dev"] for e in history.get("early_stopping", []) if e["step"] == budget_step]
    if at_budget:
        rows.append(("dev_at_budget", 100 * (at_budget[0] - chance) / (100 - chance)))
    final = history.get("dev", {}).get(task, {}).get(TASKS[task].metric)
    if final is not None:
        rows.append(("final_dev_error", 100 - float(final)))
    losses = history.get("losses", [])
    if len(losses) >= loss_step:
        rows.append(("loss_at_step", float(np.mean(losses[max(0, loss_step - loss_window) : loss_step]))))
    return pd.DataFrame(
        [{"task": task, "measure": m, "value": v} for m, v in rows], columns=list(DIFFICULTY_COLUMNS)
    )


def critical_rho(n: int, seed: int = 0, draws: int = 20000) -> float:
    """|Spearman rho| a two-sided permutation test at 5% needs with n tasks (Monte Carlo)."""
    rng = np.random.default_rng(seed)
    ranks = np.arange(n, dtype=float)
    null = spearman_along_last_axis(ranks, rng.permuted(np.tile(ranks, (draws, 1)), axis=1))
    return float(np.quantile(np.abs(null), 0.95))


def small_n_sentence(n: int) -> str:
    if n < MIN_TASKS:
        return f"With n={n} tasks no correlation can be tested (at least {MIN_TASKS} are needed)."
    return (
        f"With n={n} tasks only |rho| >= {critical_rho(n):.2f} reaches p < 0.05 (two-sided permutation), "
        "so a moderate relation cannot be told from none and one task can flip the sign: "
        "read these correlations as descriptive."
    )


def task_gains(scores: pd.DataFrame, reference_language: str) -> pd.DataFrame:
    """Per model x recipe x target x non-reference language: mean gain over seeds."""
    cells = cell_means(language_gains(scores))
    return cells[(cells["recipe"] != BASELINE_RECIPE) & (cells["language"] != reference_language)].dropna(
        subset=["gain"]
    )


def _permutation_p(x, y, statistic: str, n_resamples: int, rng) -> float:
    if statistic == "spearman":
        function, vectorized = (lambda xs, axis: spearman_along_last_axis(np.moveaxis(xs, axis, -1), y)), True
    else:
        function, vectorized = (lambda xs: stats.kendalltau(xs, y).statistic), False
    result = stats.permutation_test(
        (x,), function, permutation_type="pairings", vectorized=vectorized, n_resamples=n_resamples, rng=rng
    )
    return float(result.pvalue)


def correlate_tasks(x, matrix, *, n_resamples: int, seed: int, key: str, confidence: float) -> dict:
    """x: difficulty per task; matrix: gains, tasks x languages (complete). Point estimates on
    the per-task mean gains; CIs resample languages."""
    x = np.asarray(x, dtype=float)
    y = matrix.mean(axis=1)
    n, n_languages = len(x), matrix.shape[1]
    result = {"n_tasks": n, "n_languages": n_languages}
    if n < MIN_TASKS:
        return {**result, "reason": f"n={n} tasks < {MIN_TASKS}"}
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return {
            **result,
            "reason": "constant " + ("difficulty" if np.ptp(x) == 0 else "gain") + " over tasks",
        }
    result["spearman"] = float(stats.spearmanr(x, y).statistic)
    result["kendall"] = float(stats.kendalltau(x, y).statistic)
    tail = 100 * (1 - confidence) / 2
    reasons = []
    rng = rng_for(seed, f"{key}/languages")
    picks = rng.integers(0, n_languages, (n_resamples, n_languages))
    means = matrix[:, picks].mean(axis=2).T  # resamples x tasks
    for name in ("spearman", "kendall"):
        result[f"{name}_p"] = _permutation_p(x, y, name, n_resamples, rng_for(seed, f"{key}/{name}/p"))
        if n_languages < 2:
            reasons.append("one language: no bootstrap over languages")
            continue
        if name == "spearman":
            resampled = spearman_along_last_axis(x, means)
        else:
            resampled = np.array([stats.kendalltau(x, row).statistic for row in means])
        resampled = resampled[np.isfinite(resampled)]
        result[f"{name}_ci_low"], result[f"{name}_ci_high"] = np.percentile(resampled, [tail, 100 - tail])
    result["reason"] = "; ".join(dict.fromkeys(reasons))
    return result


def analyse(
    scores: pd.DataFrame,
    difficulty: pd.DataFrame | None,
    *,
    reference_language: str = REFERENCE_LANGUAGE,
    n_resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> StudyResult:
    columns = [
        "model", "target", "measure", "harder_when", "n_tasks", "n_languages", "spearman", "spearman_ci_low",
        "spearman_ci_high", "spearman_p", "kendall", "kendall_ci_low", "kendall_ci_high", "kendall_p",
        "tasks", "reason",
    ]  # fmt: skip
    if difficulty is None:
        why = "no difficulty table given (task, measure, value recorded by the intermediate training)"
        empty = pd.DataFrame(columns=columns)
        tables = {
            "correlations": empty,
            "tasks": pd.DataFrame(columns=["model", "target", "task", "mean_gain"]),
        }
        return StudyResult(NAME, tables, pending_answer(QUESTION, f"Not answerable here: {why}.", "None."))
    difficulty = check_difficulty(difficulty)
    gains = task_gains(scores, reference_language)
    models = sorted(gains["model"].unique())
    targets = ordered_targets(gains["target"].unique())
    measures = sorted(difficulty["measure"].unique())
    task_rows, rows = [], []
    for model in models:
        model_difficulty = difficulty[difficulty["model"] == model] if "model" in difficulty else difficulty
        wide = model_difficulty.pivot(index="task", columns="measure", values="value")
        for target in targets:
            pick = gains[(gains["model"] == model) & (gains["target"] == target)]
            matrix = pick.pivot(index="recipe", columns="language", values="gain")
            for task in sorted(wide.index):  # recipes without a difficulty are not in this study
                row = {"model": model, "target": target, "task": task}
                row["mean_gain"] = matrix.loc[task].mean() if task in matrix.index else np.nan
                row["n_languages"] = int(matrix.loc[task].notna().sum()) if task in matrix.index else 0
                row.update({m: wide.at[task, m] if task in wide.index else np.nan for m in measures})
                task_rows.append(row)
            for measure in measures:
                x = wide[measure].dropna() if measure in wide else pd.Series(dtype=float)
                tasks = sorted(set(x.index) & set(matrix.index))
                complete = matrix.loc[tasks].dropna(axis=1) if tasks else matrix.iloc[:0]
                result = correlate_tasks(
                    x.loc[tasks].to_numpy(),
                    complete.to_numpy(),
                    n_resamples=n_resamples,
                    seed=seed,
                    key=f"difficulty/{model}/{target}/{measure}",
                    confidence=confidence,
                )
                dropped = matrix.shape[1] - complete.shape[1]
                if dropped and tasks:
                    result["reason"] = "; ".join(
                        filter(None, [result.get("reason"), f"{dropped} language(s) lack a task: left out"])
                    )
                rows.append(
                    {
                        "model": model,
                        "target": target,
                        "measure": measure,
                        "harder_when": HARDER_WHEN.get(measure, "unknown"),
                        "tasks": " ".join(tasks),
                        **result,
                    }
                )
    correlations = pd.DataFrame(rows).reindex(columns=columns)
    tasks_table = pd.DataFrame(task_rows).reindex(
        columns=["model", "target", "task", "mean_gain", "n_languages", *measures]
    )
    n = int(correlations["n_tasks"].max()) if correlations["n_tasks"].notna().any() else 0
    notes = [
        small_n_sentence(n),
        f"gains: mean over seeds and over the target's languages other than {reference_language!r}; "
        "languages lacking any task are left out of that test.",
        "CIs: percentile bootstrap over languages with the tasks' difficulties fixed (task sampling "
        "is not in them); p: permutation over tasks.",
    ]
    answer, uncertainty = _summary(correlations, n, confidence)
    return StudyResult(
        NAME,
        {"correlations": correlations, "tasks": tasks_table},
        pending_answer(QUESTION, answer, uncertainty),
        notes,
    )


def _summary(correlations: pd.DataFrame, n: int, confidence: float) -> tuple[str, str]:
    tested = correlations.dropna(subset=["spearman"])
    if tested.empty:
        why = correlations["reason"].dropna().iloc[0] if correlations["reason"].notna().any() else "no scores"
        return f"Not answerable here: {why}.", small_n_sentence(n)
    # "harder" direction: flip the sign for measures where lower means harder
    known = tested[tested["harder_when"] != "unknown"]
    signed = known["spearman"] * np.where(known["harder_when"] == "lower", -1, 1)
    row = tested.loc[tested["spearman_p"].idxmin()]
    strongest = (
        f"the strongest is {row['measure']} on {row['target']} (Spearman {row['spearman']:+.2f}, "
        f"Kendall {row['kendall']:+.2f})."
    )
    if len(known):
        share = f"Harder tasks go with larger gains in {(signed > 0).mean():.0%} of {len(known)} tests"
    else:
        share = f"No measure has a known direction ({', '.join(HARDER_WHEN)} do); over {len(tested)} tests"
    answer = f"{share} (model x target x measure); {strongest}"
    uncertainty = (
        f"{interval_text(row['spearman_ci_low'], row['spearman_ci_high'], confidence, 2)} over languages, "
        f"permutation {p_text(row['spearman_p'])} before any multiplicity correction; "
        + small_n_sentence(int(row["n_tasks"]))[0].lower()
        + small_n_sentence(int(row["n_tasks"]))[1:]
    )
    return answer, uncertainty


def figure(result: StudyResult):
    """One panel per model x target x measure: mean gain vs difficulty, points labelled by task."""
    from xstilts.analysis.plots import place_labels

    correlations, tasks = result.tables["correlations"], result.tables.get("tasks")
    if tasks is None or tasks.empty or correlations.empty:
        return message_figure("Difficulty: " + result.answer)
    panels = list(correlations.itertuples())
    several_models = correlations["model"].nunique() > 1
    fig, axes = grid_figure(len(panels), columns=min(3, correlations["measure"].nunique() or 1))
    for ax, row in zip(axes, panels):
        pick = tasks[(tasks["model"] == row.model) & (tasks["target"] == row.target)]
        pick = pick.dropna(subset=[row.measure, "mean_gain"])
        ax.scatter(
            pick[row.measure], pick["mean_gain"], s=22, color="tab:blue", edgecolors="black", linewidths=0.3
        )
        ax.margins(x=0.15, y=0.15)
        place_labels(
            ax, pick[row.measure].to_numpy(float), pick["mean_gain"].to_numpy(float), list(pick["task"])
        )
        ax.axhline(0, color="grey", linewidth=0.5)
        if pd.notna(row.spearman):
            stat = (
                f"ρ={row.spearman:+.2f} [{row.spearman_ci_low:+.2f}, {row.spearman_ci_high:+.2f}] "
                f"{p_text(row.spearman_p)}\n"
                f"τ={row.kendall:+.2f} {p_text(row.kendall_p)}  n={int(row.n_tasks)}"
            )
        else:
            stat = str(row.reason)
        where = f"{row.model} " if several_models else ""
        ax.set_title(f"{where}{row.target}\n{stat}", fontsize=8)
        ax.set_xlabel(f"{row.measure} ({row.harder_when} = harder)", fontsize=8)
        ax.set_ylabel("mean gain over none, non-English (points)", fontsize=7)
        ax.tick_params(labelsize=7)
    fig.suptitle(
        "Intermediate-task difficulty vs zero-shot gain; [ ]: 95% bootstrap CI over languages, "
        "p: permutation over tasks",
        fontsize=9,
    )
    return fig
