"""Task difficulty (docs/science.md question 3): is a harder intermediate task a better one for zero-shot
transfer to the non-English languages?

Inputs: the scores table and a difficulty table with columns ``task``, ``measure``, ``value``
(optionally ``model``: then per model; ``n_seeds``, ``reason``). ``task`` is the name of a
single-task recipe in the scores. The measures are recorded by the intermediate training
(``training.json`` of the recipe's intermediate model; :func:`measures_from_training` reads
them), not recomputed, and every one is oriented "higher = harder":

- ``error_at_budget``: the share of the task's above-chance headroom not reached after a fixed
  budget of intermediate steps, ``100 (100 - score) / (100 - chance)``, from the early-stopping
  evaluation at exactly that step (``intermediate.early_stopping.every`` must divide the
  budget). The step is fixed in advance, so the checkpoint choice does not touch it.
- ``held_out_error``: the same for the chosen checkpoint, on dev examples early stopping did
  not see (``history.held_out``: the dev examples after the early-stopping subset, at most
  ``stages.HELD_OUT_EXAMPLES``). The final dev score of the subset that picked the checkpoint
  is biased upwards and is not used.
- ``loss_at_step``: the mean training loss over the ``loss_window`` steps ending at a fixed
  step. Losses of different heads are on different scales: compared only between tasks of one
  format (and only where one format has enough tasks).

``chance`` is what the best constant predictor scores on the task's dev split
(:func:`xstilts.evaluation.chance_score`: the majority class, QQP's best constant for its
accuracy/F1 mean, the most frequent CCG tag, "no answer" on SQuAD 2.0), recorded by the
training (``history.chance``) from the data it evaluates on.

Outcome per task: its gain over ``none`` (paired by seed) on the targets' non-English
languages, in F1 where the target reports an F1 (QA: its F1 rather than (EM+F1)/2; tagging and
BUCC: their F1), else its primary metric; per seed the mean over each target's languages, then
over targets, then over seeds.

Primary answer (pre-specified, :data:`ESTIMAND`): Spearman's rho over tasks (the unit) between
``error_at_budget`` (docs/science.md's measure: dev score after a fixed budget) and the outcome, pooled
over targets; p from a permutation test over tasks, interval from Fisher's z with the
Bonett-Wright variance ``(1 + rho^2 / 2) / (n - 3)``. Other measures and per-target rows are
exploratory (Holm over them). One seed: not identifiable (a task's difficulty and its gain come
from the same intermediate run, so a lucky run moves both; with one run per task that luck
cannot be told from the tasks' own relation).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from xstilts import grid, settings
from xstilts.analysis.stats import permutation_p, rng_for
from xstilts.analysis.studies.common import (
    Answer,
    Design,
    Estimate,
    Noise,
    Simulation,
    Step,
    StudyResult,
    adjust,
    grid_figure,
    language_gains,
    message_figure,
    one_seed_answer,
    p_text,
    pairing_caveats,
    simulate_scores,
    tested_answer,
    unanswerable,
)
from xstilts.analysis.study_design import MIN_TASKS
from xstilts.analysis.tables import BASELINE_RECIPE, ordered_targets
from xstilts.config import ALL9, ConfigError

NAME = "difficulty"
LOSS_WINDOW = 50
OPTIONS = {
    "budget_step": {
        "type": "integer",
        "minimum": 1,
        "default": 1000,
        "description": "the intermediate step whose dev score gives error_at_budget, the pre-specified "
        "difficulty measure (intermediate.early_stopping.every must divide it)",
    },
    "loss_step": {
        "type": "integer",
        "minimum": 1,
        "default": 1000,
        "description": "the step of loss_at_step",
    },
    "loss_window": {
        "type": "integer",
        "minimum": 1,
        "default": LOSS_WINDOW,
        "description": "steps of training loss averaged up to loss_step",
    },
}  # read by `xstilts difficulty-measures` (:func:`steps`), not by analyse
INPUTS = {"difficulty": "CSV with task, measure, value (optional model)"}
TABLES = ("correlations", "tasks")
QUESTION = (
    "Does the difficulty of the English intermediate task (measured on the task itself) predict its "
    "zero-shot gain (F1 where the target reports it) on the non-English languages?"
)
MEASURES = ("error_at_budget", "held_out_error", "loss_at_step")
PRIMARY_MEASURE = "error_at_budget"
ESTIMAND = (
    "Spearman correlation over intermediate tasks between difficulty (chance-corrected dev error after "
    "the step budget) and mean zero-shot gain on non-English languages"
)
UNIT = "intermediate task"
POOLED = "pooled"
DIFFICULTY_COLUMNS = ("task", "measure", "value")
# measures of tables written before issue 21 (rebuild them with xstilts difficulty-measures)
OLD_AT_BUDGET = (
    "error_at_budget read as 100 - dev_at_budget of an older table, whose chance level was 100 / labels "
    "(0 for QA and tagging): rebuild the table with xstilts difficulty-measures"
)
OLD_FINAL = (
    "final_dev_error of an older table left out: it was read on the dev examples that picked the "
    "checkpoint (held_out_error replaces it)"
)
REFERENCE_LANGUAGE = "en"
SAME_RUN = (
    "A task's difficulty and its gain come from the same intermediate runs: run-to-run luck moves both, "
    "averaged over the seeds"
)


# ---- the workflow: the measures of each single-task recipe, from its intermediate training


def runs(cfg: dict) -> list[dict]:
    """The intermediate trainings the difficulty measures come from: every single-task recipe
    (its `task` is the recipe's one task), per model and seed."""
    return [
        {**j, "task": tasks[0][0], "model_dir": grid.path(grid.INTERMEDIATE.model, **j)}
        for j in grid.intermediate_jobs(cfg)
        if len(tasks := grid.intermediate_tasks(cfg, j["recipe"])) == 1
    ]


def steps(cfg: dict, agg) -> list[Step]:
    """`xstilts difficulty-measures`: the measures of every run of :func:`runs` (their mean
    over seeds), in one table."""
    found = runs(cfg)
    return [
        Step(
            rule="study_difficulty_measures",
            command="difficulty-measures",
            inputs=[run["model_dir"] for run in found],
            args={"runs": found, "options": {key: cfg["study"][key] for key in OPTIONS}},
            output=agg.table("difficulty_measures"),
            log=agg.analysis_log("difficulty_measures"),
        )
    ]


def inputs(cfg: dict, agg) -> dict:
    return {"difficulty": steps(cfg, agg)[0].output}


def needs(cfg: dict) -> list[str]:
    """Refused: training that never records a measure (:func:`measures_from_training`) at the
    steps the options name. Warned: fewer single-task recipes than a correlation needs."""
    single = [r for r in cfg["recipes"] if len(r["tasks"]) == 1]  # as :func:`runs` reads them
    _check_measures(cfg, single)
    if len(single) >= MIN_TASKS:
        return []
    return [
        f"it correlates over single-task recipes and needs at least {MIN_TASKS}; the config "
        f"has {len(single)} ({', '.join(r['name'] for r in single) or 'none'}). Fix: add "
        f"single-task recipes (config key recipes), e.g. "
        f"{', '.join(t for t in ALL9 if t not in [r['name'] for r in single])[:60]}."
    ]


def _layer_key(label: str, key: str) -> str:
    """The config key a layer of settings.intermediate_layers sets `key` at (where to fix it)."""
    if label.startswith(("tasks.", "recipes.")) and "," not in label:
        return f"{label}.{key}"
    return f"intermediate.{key}"


def _winner(layers: list[tuple[str, dict]], key: str) -> str:
    return _layer_key(next((lbl for lbl, values in reversed(layers) if key in values), "default"), key)


def _divisor(step: int) -> int:
    """An evaluation interval that divides `step`, near the paper's 1000."""
    return max(d for d in range(1, min(step, 1000) + 1) if step % d == 0)


def _check_measures(cfg: dict, single: list[dict]) -> None:
    """A dev evaluation at exactly study.budget_step, and the loss of every step up to
    study.loss_step, in each single-task recipe's intermediate training."""
    study = cfg["study"]
    budget, loss = study["budget_step"], study["loss_step"]
    if study["loss_window"] > loss:
        raise ConfigError(
            f"config key study.loss_window: {study['loss_window']} steps ending at study.loss_step "
            f"{loss} would start before step 1, so loss_at_step would average fewer steps than asked. "
            f"Fix: set loss_window to at most {loss}."
        )
    for recipe in single:
        layers = settings.intermediate_layers(cfg, recipe)
        training = settings.intermediate_training(cfg, recipe)
        name, es, key = recipe["name"], training["early_stopping"], _winner(layers, "early_stopping")
        if es is None:
            raise ConfigError(
                f"config key {key}: null, so intermediate training of {name} evaluates on dev only at "
                f"its end, and the difficulty study's dev_at_budget (the dev score at "
                f"study.budget_step {budget}) is never recorded. Fix: set {key}: "
                f"{{every: {_divisor(budget)}, patience: 30, dev_examples: 500}} (every must divide "
                f"study.budget_step)."
            )
        if budget % es["every"]:
            raise ConfigError(
                f"config key study.budget_step: {budget} is not a multiple of "
                f"{key}.every ({es['every']}), so no dev evaluation of "
                f"{name} falls on it and dev_at_budget is never recorded. Fix: set budget_step to a "
                f"multiple of {es['every']} (e.g. {max(1, budget // es['every']) * es['every']}), or "
                f"early_stopping.every to a divisor of {budget}."
            )
        for option, step in (("budget_step", budget), ("loss_step", loss)):
            cap = training["max_steps"]
            if cap is not None and step > cap:
                raise ConfigError(
                    f"config key study.{option}: {step} is beyond {_winner(layers, 'max_steps')} ({cap}), "
                    f"where intermediate training of {name} ends, so the measure at step {step} is never "
                    f"recorded. Fix: set study.{option} to at most {cap}, or raise max_steps."
                )
            earliest = es["every"] * (es["patience"] + 1)  # no improvement `patience` times after the first
            if earliest < step:
                raise ConfigError(
                    f"config key study.{option}: {step} is beyond step {earliest}, where early stopping of "
                    f"{name} may end its training ({key}: every {es['every']} x (patience "
                    f"{es['patience']} + 1)), so the measure may never be recorded. Fix: raise early_stopping"
                    f".patience to at least {-(-step // es['every']) - 1}, or lower study.{option}."
                )


# ---- the analysis


def check_difficulty(difficulty: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """The table with its values numeric and older tables' measures translated, and caveats."""
    missing = [c for c in DIFFICULTY_COLUMNS if c not in difficulty.columns]
    if missing:
        raise ValueError(
            f"difficulty table lacks columns {missing}: it needs task, measure, value (one row per "
            "intermediate task and measure; see xstilts.analysis.studies.difficulty)"
        )
    caveats = []
    if (difficulty["measure"] == "final_dev_error").any():
        difficulty = difficulty[difficulty["measure"] != "final_dev_error"]
        caveats.append(OLD_FINAL)
    old = difficulty["measure"] == "dev_at_budget"
    if old.any() and not (difficulty["measure"] == PRIMARY_MEASURE).any():
        values = 100 - pd.to_numeric(difficulty.loc[old, "value"], errors="raise")
        difficulty = difficulty.assign(value=difficulty["value"].where(~old, values))
        difficulty = difficulty.assign(measure=difficulty["measure"].where(~old, PRIMARY_MEASURE))
        caveats.append(OLD_AT_BUDGET)
    keys = ["model", "task", "measure"] if "model" in difficulty.columns else ["task", "measure"]
    duplicated = difficulty.duplicated(keys, keep=False)
    if duplicated.any():
        raise ValueError(
            f"difficulty table has several values for {difficulty[duplicated][keys].head().values.tolist()}"
        )
    return difficulty.assign(value=pd.to_numeric(difficulty["value"], errors="raise")), caveats


def chance_corrected_error(score: float, chance: float) -> float:
    """The share (0-100) of the above-chance headroom not reached: 100 (100 - s) / (100 - c)."""
    return 100 * (100 - score) / (100 - chance)


def measures_from_training(
    task: str, training: dict, *, budget_step: int, loss_step: int, loss_window: int = LOSS_WINDOW
) -> pd.DataFrame:
    """Difficulty rows (task, measure, value, reason) of one single-task recipe from its
    ``training.json`` (dict). A measure the record cannot give has value NaN and says why."""
    from xstilts.tasks import TASKS

    history = training["history"]
    metric = TASKS[task].metric
    held_out = (history.get("held_out") or {}).get(task)
    chance = (history.get("chance") or {}).get(task, np.nan)
    older = (
        "a training.json from before issue 21, or early stopping without dev_examples: retrain with "
        "intermediate.early_stopping.dev_examples set"
    )
    rows = []
    at_budget = [e["dev"] for e in history.get("early_stopping", []) if e["step"] == budget_step]
    if not at_budget:
        rows.append(("error_at_budget", np.nan, f"no early-stopping evaluation at step {budget_step}"))
    elif not np.isfinite(chance):
        rows.append(("error_at_budget", np.nan, f"no chance level recorded ({older})"))
    else:
        rows.append(("error_at_budget", chance_corrected_error(at_budget[0], chance), ""))
    if held_out and np.isfinite(chance):
        rows.append(("held_out_error", chance_corrected_error(held_out["scores"][metric], chance), ""))
    elif np.isfinite(chance):
        rows.append(("held_out_error", np.nan, "early stopping's dev subset is the whole dev split"))
    else:
        rows.append(("held_out_error", np.nan, f"no held-out dev record ({older})"))
    losses = history.get("losses", [])
    if len(losses) >= loss_step:
        rows.append(("loss_at_step", float(np.mean(losses[max(0, loss_step - loss_window) : loss_step])), ""))
    else:
        rows.append(("loss_at_step", np.nan, f"training stopped at step {len(losses)} < {loss_step}"))
    return pd.DataFrame(
        [{"task": task, "measure": m, "value": v, "reason": r} for m, v, r in rows],
        columns=[*DIFFICULTY_COLUMNS, "reason"],
    )


def outcome_scores(scores: pd.DataFrame) -> pd.DataFrame:
    """The scores with ``primary`` moved to the ``f1`` row of every target that reports one
    (the question asks about F1), else left on its primary metric."""
    with_f1 = set(scores.loc[scores["metric"] == "f1", "target"])
    primary = np.where(
        scores["target"].isin(with_f1), scores["metric"] == "f1", scores["primary"].astype(bool)
    )
    return scores.assign(primary=primary)


def task_outcomes(scores: pd.DataFrame, reference_language: str) -> pd.DataFrame:
    """Per model x recipe x seed x target (and ``pooled``: the mean over targets): the mean gain
    over the target's languages other than the reference language."""
    gains = language_gains(outcome_scores(scores))
    gains = gains[(gains["recipe"] != BASELINE_RECIPE) & (gains["language"] != reference_language)]
    per_target = (
        gains.dropna(subset=["gain"])
        .groupby(["model", "recipe", "seed", "target"])["gain"]
        .mean()
        .reset_index()
    )
    pooled = (
        per_target.groupby(["model", "recipe", "seed"])["gain"].mean().reset_index().assign(target=POOLED)
    )
    return pd.concat([pooled, per_target], ignore_index=True), gains


def spearman_test(x, y, *, n_resamples: int, rng, confidence: float) -> dict:
    """Spearman rho over tasks, permutation p, Fisher-z interval (Bonett-Wright variance)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    n = len(x)
    if n < MIN_TASKS:
        return {"n_tasks": n, "reason": f"n={n} tasks < {MIN_TASKS}"}
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return {
            "n_tasks": n,
            "reason": "constant " + ("difficulty" if np.ptp(x) == 0 else "gain") + " over tasks",
        }
    rho = float(stats.spearmanr(x, y).statistic)
    half = stats.norm.ppf(0.5 + confidence / 2) * np.sqrt((1 + rho**2 / 2) / (n - 3))
    z = np.arctanh(np.clip(rho, -0.999999, 0.999999))
    return {
        "n_tasks": n,
        "spearman": rho,
        "ci_low": float(np.tanh(z - half)),
        "ci_high": float(np.tanh(z + half)),
        "p_value": permutation_p(x, y, "spearman", n_resamples, rng),
        "reason": "",
    }


def rho_mde(n: int, alpha: float, power: float = 0.8) -> float:
    """|rho| a two-sided test over n tasks detects with ``power``: Fisher z with Fieller et al.'s
    variance of Spearman's z, 1.06 / (n - 3) (a little optimistic at n = 9: docs/studies.md)."""
    if n <= 3:
        return np.nan
    return float(np.tanh((stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)) * np.sqrt(1.06 / (n - 3))))


def task_format(task: str) -> str:
    from xstilts.tasks import TASKS

    return TASKS[task].format if task in TASKS else "unknown"


def analyse(
    scores: pd.DataFrame,
    difficulty: pd.DataFrame | None,
    *,
    reference_language: str = REFERENCE_LANGUAGE,
    n_resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
    alpha: float = 0.05,
) -> StudyResult:
    columns = [
        "model",
        "measure",
        "target",
        "format",
        "role",
        "n_tasks",
        "spearman",
        "ci_low",
        "ci_high",
        "p_value",
        "p_holm",
        "tasks",
        "reason",
    ]
    if difficulty is None:
        why = "no difficulty table given (task, measure, value recorded by the intermediate training)"
        tables = {
            "correlations": pd.DataFrame(columns=columns),
            "tasks": pd.DataFrame(columns=["model", "task"]),
        }
        return StudyResult(NAME, tables, unanswerable(QUESTION, ESTIMAND, why, UNIT))
    difficulty, caveats = check_difficulty(difficulty)
    outcomes, gains = task_outcomes(scores, reference_language)
    caveats = [SAME_RUN, *caveats, *pairing_caveats(gains)]
    unavailable = difficulty[difficulty["value"].isna()]
    if "reason" in unavailable and len(unavailable):
        caveats += sorted(
            {f"{m} not available: {r}" for m, r in zip(unavailable["measure"], unavailable["reason"])}
        )
    rows, task_rows = [], []
    for model in sorted(outcomes["model"].unique()):
        model_difficulty = difficulty[difficulty["model"] == model] if "model" in difficulty else difficulty
        wide = model_difficulty.pivot(index="task", columns="measure", values="value")
        mine = outcomes[outcomes["model"] == model]
        means = mine.groupby(["target", "recipe"])["gain"].mean()
        seeds = mine[mine["target"] == POOLED].groupby("recipe")["seed"].nunique()
        for task in sorted(set(wide.index) & set(mine["recipe"])):
            task_rows.append(
                {
                    "model": model,
                    "task": task,
                    "format": task_format(task),
                    "mean_gain": means.get((POOLED, task), np.nan),
                    "n_seeds": seeds.get(task, 0),
                    **wide.loc[task].to_dict(),
                }
            )
        for measure in [m for m in MEASURES if m in wide] + sorted(set(wide) - set(MEASURES)):
            x = wide[measure].dropna()
            for target in [POOLED, *ordered_targets(set(mine["target"]) - {POOLED})]:
                y = means[target] if target in means.index.get_level_values(0) else pd.Series(dtype=float)
                for group, tasks in _groups(measure, sorted(set(x.index) & set(y.index))):
                    key = f"difficulty/{model}/{measure}/{target}/{group}"
                    result = spearman_test(
                        x[tasks],
                        y[tasks],
                        n_resamples=n_resamples,
                        rng=rng_for(seed, key),
                        confidence=confidence,
                    )
                    primary = measure == PRIMARY_MEASURE and target == POOLED
                    rows.append(
                        {
                            "model": model,
                            "measure": measure,
                            "target": target,
                            "format": group,
                            "role": "primary" if primary else "exploratory",
                            "tasks": " ".join(tasks),
                            **result,
                        }
                    )
    correlations = pd.DataFrame(rows).reindex(columns=columns)
    explore = correlations["role"] == "exploratory"
    correlations.loc[explore, "p_holm"] = adjust(correlations.loc[explore, "p_value"])
    tasks_table = pd.DataFrame(task_rows)
    if correlations["model"].nunique() > 1:
        caveats.append(f"Several models: the answer is {correlations['model'].iloc[0]}'s; see correlations")
    record = _answer(correlations, tasks_table, alpha, confidence, caveats)
    notes = [
        "outcome: per task, its gain over none (paired by seed) averaged over each target's non-English "
        "languages, then over targets and seeds; F1 where the target reports it.",
        "rows with role exploratory: other measures and per-target rows, p_holm Holm-adjusted over them; "
        "loss_at_step only within one format (losses of different heads are on different scales).",
        f"interval: Fisher z with the Bonett-Wright variance; p: permutation over tasks ({n_resamples} "
        "resamples).",
    ]
    return StudyResult(NAME, {"correlations": correlations, "tasks": tasks_table}, record, notes)


def _groups(measure: str, tasks: list[str]) -> list[tuple[str, list[str]]]:
    """The task sets a measure is correlated over: all tasks, or for the loss one set per format
    (with a reason row where no format has enough tasks)."""
    if measure != "loss_at_step":
        return [("all", tasks)]
    formats = {}
    for task in tasks:
        formats.setdefault(task_format(task), []).append(task)
    kept = [(f, ts) for f, ts in sorted(formats.items()) if f != "unknown" and len(ts) >= MIN_TASKS]
    return kept or [(" ".join(sorted(formats)) or "none", [])]


def _answer(correlations, tasks_table, alpha, confidence, caveats) -> Answer:
    primary = correlations[correlations["role"] == "primary"]
    if primary.empty:
        why = f"no {PRIMARY_MEASURE} values for tasks with scores"
        return unanswerable(QUESTION, ESTIMAND, why, UNIT, caveats)
    row = primary.iloc[0]
    n = int(row["n_tasks"]) if pd.notna(row["n_tasks"]) else 0
    used = tasks_table[tasks_table["task"].isin(str(row["tasks"]).split())]
    method = "Spearman over tasks, permutation p, Fisher-z interval"
    if pd.isna(row["spearman"]):
        return unanswerable(QUESTION, ESTIMAND, row["reason"], UNIT, caveats)
    if used["n_seeds"].min() < 2:
        return one_seed_answer(
            QUESTION,
            ESTIMAND,
            row["spearman"],
            n,
            UNIT,
            rho_mde(n, alpha),
            caveats,
            alpha=alpha,
            confidence=confidence,
            method=method,
        )
    est = Estimate(
        row["spearman"], row["ci_low"], row["ci_high"], row["p_value"], n, n - 2, np.nan, np.nan, method
    )
    return tested_answer(
        QUESTION, ESTIMAND, est, n_runs=n, unit=UNIT, mde=rho_mde(n, alpha), caveats=caveats,
        words=("harder tasks give larger gains", "easier tasks give larger gains"), alpha=alpha,
        confidence=confidence, method=method,
    )  # fmt: skip


# ---------------------------------------------------------------- calibration

PLANTED_EFFECT = 0.85  # Spearman rho: about the design's minimum detectable effect (0.83 at n = 9)
TASK_SD = 1.5  # points: the tasks' own gains beyond what difficulty predicts


def simulate(design: Design, effect: float, rng: np.random.Generator) -> Simulation:
    """Tasks with difficulties z ~ N(0, 1) (error_at_budget = 50 + 15 z) and gains beta z + u
    (u ~ N(0, TASK_SD)); beta makes the population Spearman between difficulty and a task's
    observed mean gain equal ``effect`` (bivariate normal: rho_s = 6/pi asin(r/2), r attenuated
    by the run noise left in a mean over the seeds)."""
    tasks = [r for r in design.recipes if r != BASELINE_RECIPE]
    seeds, targets, noise = len(design.seeds), len(design.targets), Noise()
    left = noise.run**2 / seeds + noise.finetune**2 / (seeds * targets)  # the baseline's noise is shared
    r = 2 * np.sin(np.pi * effect / 6)
    beta = r * np.sqrt((TASK_SD**2 + left) / (1 - r**2))
    z = dict(zip(tasks, rng.normal(0, 1, len(tasks))))
    own = dict(zip(tasks, rng.normal(0, TASK_SD, len(tasks))))

    def gain(model, recipe, target, language, base):
        return 2.0 + beta * z[recipe] + own[recipe]

    table = pd.DataFrame(
        {"task": tasks, "measure": PRIMARY_MEASURE, "value": [50 + 15 * z[t] for t in tasks]}
    )
    return Simulation(simulate_scores(design, gain, rng, noise), truth=effect, inputs={"difficulty": table})


# ---------------------------------------------------------------- figure


def figure(result: StudyResult):
    """One panel per model x measure (pooled over targets): mean gain vs difficulty, by task."""
    from xstilts.analysis.plots import place_labels

    correlations, tasks = result.tables["correlations"], result.tables["tasks"]
    panels = correlations[correlations["target"] == POOLED].drop_duplicates(["model", "measure"])
    if tasks.empty or panels.empty:
        return message_figure("Difficulty: " + result.answer)
    fig, axes = grid_figure(len(panels), columns=min(3, len(panels)))
    for ax, row in zip(axes, panels.itertuples()):
        pick = tasks[tasks["model"] == row.model].dropna(subset=[row.measure, "mean_gain"])
        ax.scatter(
            pick[row.measure], pick["mean_gain"], s=22, color="tab:blue", edgecolors="black", linewidths=0.3
        )
        ax.margins(x=0.15, y=0.15)
        place_labels(
            ax, pick[row.measure].to_numpy(float), pick["mean_gain"].to_numpy(float), list(pick["task"])
        )
        ax.axhline(0, color="grey", linewidth=0.5)
        if pd.notna(row.spearman):
            interval = f"[{row.ci_low:+.2f}, {row.ci_high:+.2f}]"
            stat = f"ρ={row.spearman:+.2f} {interval} {p_text(row.p_value)} n={int(row.n_tasks)}"
        else:
            stat = str(row.reason)
        ax.set_title(f"{row.model}, {row.role}\n{stat}", fontsize=8)
        ax.set_xlabel(f"{row.measure} (higher = harder)", fontsize=8)
        ax.set_ylabel("mean gain over none, non-English (points)", fontsize=7)
        ax.tick_params(labelsize=7)
    fig.suptitle(
        "Intermediate-task difficulty vs zero-shot gain, pooled over targets (exploratory: see Holm p)\n"
        + result.record.answer_text.split(":")[0],
        fontsize=9,
    )
    return fig
