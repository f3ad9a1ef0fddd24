"""``xstilts`` subcommands of the analysis layer; ``cli.py`` calls :func:`register`."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

from xstilts.config import schema

# n_resamples, seed, alpha, confidence: defaults from the config schema's `analysis` block
DEFAULTS = {k: v["default"] for k, v in schema()["properties"]["analysis"]["properties"].items()}
ANALYSIS_KEYS = tuple(DEFAULTS)


def analysis_settings(args: argparse.Namespace) -> dict:
    """The schema's defaults, overridden by --analysis-config (the workflow's validated
    slice), then by flags."""
    settings = dict(DEFAULTS)
    settings.update(json.loads(args.analysis_config or "{}"))
    for key in ANALYSIS_KEYS:
        if getattr(args, key, None) is not None:
            settings[key] = getattr(args, key)
    return settings


def run_tables(args: argparse.Namespace) -> None:
    from xstilts.analysis.tables import load_scores, write_tables

    for path in write_tables(load_scores(args.scores), args.out, args.targets):
        print(path)


def run_typology(args: argparse.Namespace) -> None:
    from xstilts.analysis.tables import load_scores
    from xstilts.analysis.typology import write_typology

    settings = analysis_settings(args)
    paths = write_typology(
        load_scores(args.scores),
        args.out,
        n_resamples=int(settings["n_resamples"]),
        seed=int(settings["seed"]),
        confidence=float(settings["confidence"]),
    )
    for path in paths:
        print(path)


def run_figures(args: argparse.Namespace) -> None:
    from xstilts.analysis.plots import write_figures

    settings = analysis_settings(args)
    typology_dir = Path(args.out) / "typology"
    read = dict(keep_default_na=False, na_values=[""])  # ISO codes are text, never NaN
    joined = pd.read_csv(typology_dir / "language_gains.csv", **read)
    correlations = pd.read_csv(typology_dir / "correlations.csv", **read)
    for path in write_figures(
        joined,
        correlations,
        args.out,
        args.targets,
        alpha=float(settings["alpha"]),
        seed=int(settings["seed"]),
    ):
        print(path)


def run_uriel_distances(args: argparse.Namespace) -> None:
    from xstilts.atomic import write_csv
    from xstilts.uriel import compute_uriel_distances

    print(write_csv(Path(args.out), compute_uriel_distances()))


STUDY_RESAMPLES = 1000  # a study refits curves per resample: lighter than typology's default


def run_study(args: argparse.Namespace) -> None:
    """One study of reports/studies/<name>/: tables (CSV + markdown), caption and figure."""
    from xstilts.analysis.studies import command_arguments, common, module
    from xstilts.analysis.tables import load_scores

    config = json.loads(args.analysis_config or "{}")
    settings = {**DEFAULTS, "n_resamples": STUDY_RESAMPLES, **config}
    for key in ("n_resamples", "seed", "confidence"):
        if getattr(args, key, None) is not None:
            settings[key] = getattr(args, key)
    common_settings = {
        "n_resamples": int(settings["n_resamples"]),
        "seed": int(settings["seed"]),
        "confidence": float(settings["confidence"]),
    }
    study = module(args.study)
    try:
        scores = load_scores(args.scores)
        result = study.analyse(
            scores, **command_arguments(args.study, args), alpha=float(settings["alpha"]), **common_settings
        )
    except ValueError as error:  # malformed input tables: one line naming the problem
        raise SystemExit(f"xstilts study {args.study}: {error}") from error
    for path in common.write_study(result, study.figure(result), args.out):
        print(path)


def run_difficulty_measures(args: argparse.Namespace) -> None:
    """The difficulty study's table from the intermediate trainings' training.json: per model,
    single-task recipe and measure, the mean over seeds."""
    from xstilts.analysis.studies.difficulty import measures_from_training
    from xstilts.atomic import write_csv

    options = json.loads(args.options)
    frames = []
    for run in json.loads(args.runs):
        training = json.loads((Path(run["model_dir"]) / "training.json").read_text())
        rows = measures_from_training(run["task"], training, **options)
        frames.append(rows.assign(model=run["model"], task=run["recipe"], seed=run["seed"]))
    columns = ["model", "task", "measure", "value", "reason"]
    table = pd.concat(frames) if frames else pd.DataFrame(columns=[*columns, "seed"])
    # the mean over the seeds that have the measure; a measure no seed has keeps its reason
    table["n_seeds"] = table["seed"].where(table["value"].notna())
    mean = table.groupby(columns[:3], sort=True).agg(
        value=("value", "mean"),
        n_seeds=("n_seeds", "nunique"),
        reason=("reason", lambda r: "; ".join(sorted({x for x in r if x}))),
    )
    print(write_csv(Path(args.out), mean.reset_index()))


def _add_common(parser: argparse.ArgumentParser, scores: bool = True) -> None:
    if scores:
        parser.add_argument("--scores", default="results/scores.parquet", help="scores parquet")
    parser.add_argument("--out", default="reports", help="report directory")
    parser.add_argument(
        "--targets",
        nargs="*",
        default=None,
        help="targets to write outputs for even when absent from the scores",
    )
    parser.add_argument(
        "--analysis-config", default=None, help="JSON object with keys " + ", ".join(ANALYSIS_KEYS)
    )


def register(subparsers) -> None:
    """Add tables, typology, typology-figures, study and uriel-distances to the xstilts CLI."""
    tables = subparsers.add_parser("tables", help="gain tables (markdown + CSV) over the baseline")
    _add_common(tables)
    tables.set_defaults(func=run_tables)

    typology = subparsers.add_parser("typology", help="URIEL distances and gain-distance correlations")
    _add_common(typology)
    typology.add_argument(
        "--n-resamples",
        dest="n_resamples",
        type=int,
        default=None,
        help=f"bootstrap and permutation resamples (default {DEFAULTS['n_resamples']})",
    )
    typology.add_argument("--seed", type=int, default=None, help=f"default {DEFAULTS['seed']}")
    typology.add_argument("--confidence", type=float, default=None, help=f"default {DEFAULTS['confidence']}")
    typology.set_defaults(func=run_typology)

    figures = subparsers.add_parser("typology-figures", help="plots from <out>/typology/*.csv")
    _add_common(figures, scores=False)
    figures.add_argument("--alpha", type=float, default=None, help=f"FDR level (default {DEFAULTS['alpha']})")
    figures.add_argument("--seed", type=int, default=None)
    figures.set_defaults(func=run_figures)

    from xstilts.analysis.studies import STUDIES, add_flags

    study = subparsers.add_parser(
        "study", help="one study's tables, caption and figure (reports/studies/<name>)"
    )
    study.add_argument("study", choices=STUDIES)
    study.add_argument("--scores", default="results/scores.parquet", help="scores parquet")
    study.add_argument("--out", default="reports", help="report directory (writes <out>/studies/<name>/)")
    study.add_argument(
        "--analysis-config", default=None, help="JSON object with keys " + ", ".join(ANALYSIS_KEYS)
    )
    study.add_argument(
        "--n-resamples", dest="n_resamples", type=int, default=None, help=f"default {STUDY_RESAMPLES}"
    )
    study.add_argument("--seed", type=int, default=None, help=f"default {DEFAULTS['seed']}")
    study.add_argument("--confidence", type=float, default=None, help=f"default {DEFAULTS['confidence']}")
    add_flags(study)  # each study's input tables and options (xstilts.analysis.studies)
    study.set_defaults(func=run_study)

    measures = subparsers.add_parser(
        "difficulty-measures", help="difficulty: task, measure, value from intermediate training.json files"
    )
    measures.add_argument("--runs", required=True, help="JSON list of {model, recipe, task, seed, model_dir}")
    measures.add_argument("--options", required=True, help="JSON {budget_step, loss_step, loss_window}")
    measures.add_argument("--out", required=True, help="CSV path to write")
    measures.set_defaults(func=run_difficulty_measures)

    uriel = subparsers.add_parser("uriel-distances", help="recompute the shipped URIEL distance table")
    uriel.add_argument("--out", required=True, help="CSV path to write")
    uriel.set_defaults(func=run_uriel_distances)
