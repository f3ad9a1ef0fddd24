"""Calibration of the five studies by simulation (issue 21): each study's shipped paper-size design
(configs/studies/<name>.yaml) is simulated under no effect and under a planted one, with run-level
noise, a baseline shared per seed and per-language and per-target offsets (the study module's
``simulate``: see xstilts.analysis.studies.common), analysed by the study's ``analyse``, and
summarised per study:

- false positives: the share of null simulations whose answer.json decision is ``effect``;
- coverage: the share of simulations whose interval holds the true estimand (null and planted);
- power: the share of planted simulations with decision ``effect`` in the planted direction;
- not identifiable: the share answered ``not identifiable``.

    python benchmarks/study_calibration.py                      # every study, 200 simulations each
    python benchmarks/study_calibration.py scale --n 50 --seeds 0   # a one-seed variant of the design
    python benchmarks/study_calibration.py --command --tree /tmp/old  # through `xstilts study` of
                                                                    # another source tree (before)

``--command`` writes each simulated scores table to parquet and runs ``xstilts study NAME --scores
F --out D`` (the held-out check's path), with ``--tree``'s src on PYTHONPATH. A tree whose study
writes no answer.json (before issue 21) is read with :data:`LEGACY` rules: what its caption then
claimed. The simulation pieces always come from this tree.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from xstilts.analysis.studies import STUDIES, common, design_from_config, module

REPO = Path(__file__).resolve().parents[1]
RESAMPLES = 199  # bootstrap resamples where a study still uses them (its exploratory tables)


def _legacy_scale(study_dir: Path, alpha: float) -> dict:
    """Before issue 21 the caption reported the recipe/model contrast with the largest |difference|
    as "amplifies"/"diminishes" with its bootstrap CI and permutation p: an effect claim where that
    p < alpha."""
    table = pd.read_csv(study_dir / "interaction.csv")
    rows = table[(table["contrast"] == "gain") & table["difference"].notna()]
    if rows.empty:
        return {"decision": "not identifiable"}
    row = rows.loc[rows["difference"].abs().idxmax()]
    return _named_contrast(row, "permutation_p", alpha, ("difference", "ci_low", "ci_high"))


def _named_contrast(row, p_column: str, alpha: float, columns: tuple[str, str, str]) -> dict:
    """The one contrast an old caption named, read as an effect claim where its p < alpha;
    `columns`: its estimate, interval low and high."""
    estimate, low, high = (row[c] for c in columns)
    decision = "effect" if row[p_column] < alpha else "no effect detected"
    return {"decision": decision, "estimate": estimate, "ci_low": low, "ci_high": high}


def _legacy_typology(study_dir: Path, alpha: float) -> dict:
    """Before issue 21 the answer was a vote count over the tests: read as an effect claim when
    any test reached q < alpha (the caption's "n reach q < alpha") or 80% agree in sign."""
    table = pd.read_csv(study_dir / "correlations.csv")
    done = table[table["spearman"].notna()]
    if done.empty:
        return {"decision": "not identifiable"}
    agree = max((done["spearman"] < 0).mean(), (done["spearman"] > 0).mean())
    claimed = (done["spearman_q"] < alpha).any() or agree >= 0.8
    return {"decision": "effect" if claimed else "no effect detected"}


LEGACY = {"scale": _legacy_scale, "typology": _legacy_typology}
# inputs a legacy analysis needs computed (its answer was read from them): not passed
LEGACY_COMPUTES = {"typology": ("correlations",)}


def via_command(name: str, simulation: common.Simulation, tree: Path, work: Path, alpha: float) -> dict:
    """answer.json (or the legacy reading) of `xstilts study NAME` run on the simulated scores."""
    if (
        not (tree / "src" / "xstilts" / "analysis" / "studies" / "__init__.py")
        .read_text()
        .count("answer.json")
    ):
        dropped = LEGACY_COMPUTES.get(name, ())
        simulation = common.Simulation(
            simulation.scores,
            simulation.truth,
            {k: v for k, v in simulation.inputs.items() if k not in dropped},
        )
    scores = work / "scores.parquet"
    simulation.scores.to_parquet(scores)
    out = work / "reports"
    command = [sys.executable, "-m", "xstilts.cli", "study", name, "--scores", str(scores), "--out", str(out)]
    command += ["--n-resamples", str(RESAMPLES), *command_flags(name, simulation, work)]
    env = {**os.environ, "PYTHONPATH": str(tree / "src"), "MPLBACKEND": "Agg"}
    subprocess.run(command, check=True, env=env, capture_output=True, text=True)
    study_dir = out / "studies" / name
    if (study_dir / "answer.json").exists():
        return json.loads((study_dir / "answer.json").read_text())
    return LEGACY[name](study_dir, alpha)


def command_flags(name: str, simulation: common.Simulation, work: Path) -> list[str]:
    """The `xstilts study` flags that pass a simulation's extra inputs."""
    flags = []
    for key, value in simulation.inputs.items():
        if key == "model_sizes":
            flags += [f"--model-size={model}={size:.0f}" for model, size in value.items()]
        elif isinstance(value, pd.DataFrame):
            path = work / f"{key}.csv"
            value.to_csv(path, index=False)
            flags += [f"--{key}", str(path)]
        else:
            flags += [f"--{key.replace('_', '-')}={value}"]
    return flags


def _legacy_difficulty(study_dir: Path, alpha: float) -> dict:
    """Before issue 21 the caption named the test (model x target x measure) with the smallest
    permutation p as "the strongest", before any multiplicity correction: an effect claim where
    that p < alpha."""
    table = pd.read_csv(study_dir / "correlations.csv")
    done = table[table["spearman"].notna()]
    if done.empty:
        return {"decision": "not identifiable"}
    row = done.loc[done["spearman_p"].idxmin()]
    return _named_contrast(row, "spearman_p", alpha, ("spearman", "spearman_ci_low", "spearman_ci_high"))


def _legacy_source_language(study_dir: Path, alpha: float) -> dict:
    """Before issue 21 the caption counted the source x target pairs whose bootstrap interval
    excluded 0 ("n beat English, m fall behind it") and named the best source: an effect claim
    where any pair's interval excluded 0. No interval of a mean over sources was given."""
    table = pd.read_csv(study_dir / "sources.csv", keep_default_na=False, na_values=[""])
    compared = table[(table["source"] != "en") & table["gain_over_english"].notna()]
    if compared.empty:
        return {"decision": "not identifiable"}
    claimed = ((compared["ci_low"] > 0) | (compared["ci_high"] < 0)).any()
    return {
        "decision": "effect" if claimed else "no effect detected",
        "estimate": compared["gain_over_english"].mean(),
    }


def _legacy_language_count(study_dir: Path, alpha: float) -> dict:
    """Before issue 21 there was no test of diminishing returns: the caption stated "a doubling of
    k adds less than delta points past k*" whenever the first curve's saturating fit gave a k*
    inside the observed k, read here as its claim of diminishing returns."""
    table = pd.read_csv(study_dir / "k_star.csv", keep_default_na=False, na_values=[""])
    if table.empty:
        return {"decision": "not identifiable"}
    return {"decision": "effect" if pd.notna(table["k_star"].iloc[0]) else "no effect detected"}


LEGACY.update(
    {
        "difficulty": _legacy_difficulty,
        "source-language": _legacy_source_language,
        "language-count": _legacy_language_count,
    }
)


def in_process(name: str, simulation: common.Simulation) -> dict:
    result = module(name).analyse(simulation.scores, **simulation.inputs, n_resamples=RESAMPLES)
    return result.record.to_dict()


def calibrate(name: str, design: common.Design, n: int, rng: np.random.Generator, runner) -> dict:
    study = module(name)
    planted = study.PLANTED_EFFECT
    kinds = ("effect", "covered", "unidentified", "intervals")
    counts = {f"{label}_{kind}": 0 for label in ("null", "planted") for kind in kinds}
    start = time.perf_counter()
    for _ in range(n):
        for label, effect in (("null", 0.0), ("planted", planted)):
            simulation = study.simulate(design, effect, rng)
            answer = runner(name, simulation)
            decision = answer["decision"]
            low, high = answer.get("ci_low"), answer.get("ci_high")
            if low is not None and high is not None and np.isfinite(low) and np.isfinite(high):
                counts[f"{label}_intervals"] += 1
                counts[f"{label}_covered"] += int(low <= simulation.truth <= high)
            counts[f"{label}_unidentified"] += int(decision == "not identifiable")
            estimate = answer.get("estimate")  # a legacy reading may have none: its claim counts
            right_sign = effect == 0 or estimate is None or np.sign(estimate) == np.sign(simulation.truth)
            counts[f"{label}_effect"] += int(decision == "effect" and right_sign)
    share = lambda k, total: counts[k] / total if total else np.nan  # noqa: E731
    return {
        "study": name,
        "design": describe(design),
        "n_sims": n,
        "false_positive_rate": share("null_effect", n),
        "coverage_null": share("null_covered", counts["null_intervals"]),
        "coverage_planted": share("planted_covered", counts["planted_intervals"]),
        "planted_effect": planted,
        "power": share("planted_effect", n),
        "not_identifiable": share("null_unidentified", n),
        "seconds": round(time.perf_counter() - start, 1),
    }


def describe(design: common.Design) -> str:
    cells = sum(len(v) for v in design.targets.values())
    return (
        f"{len(design.models)} model(s) x {len(design.recipes)} recipes x {len(design.targets)} targets "
        f"({cells} target-languages) x {len(design.seeds)} seed(s)"
    )


def main(argv=None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("studies", nargs="*", choices=[[], *STUDIES], default=[])
    parser.add_argument("--n", type=int, default=200, help="simulations per study and condition")
    parser.add_argument("--seeds", type=int, nargs="*", help="replace the config's seeds (e.g. one seed)")
    parser.add_argument("--rng", type=int, default=2026)
    parser.add_argument("--command", action="store_true", help="run `xstilts study` as a subprocess")
    parser.add_argument("--tree", type=Path, default=REPO, help="source tree for --command (default: this)")
    parser.add_argument("--alpha", type=float, default=0.05)
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        if args.command:
            runner = lambda name, sim: via_command(name, sim, args.tree, Path(tmp), args.alpha)  # noqa: E731
        else:
            runner = in_process
        for name in args.studies or STUDIES:
            if not hasattr(module(name), "simulate"):
                print(f"{name}: no simulate() in its module yet: skipped", file=sys.stderr)
                continue
            design = design_from_config(REPO / "configs" / "studies" / f"{name}.yaml")
            if args.seeds is not None:
                design = design.with_seeds(args.seeds)
            rows.append(calibrate(name, design, args.n, np.random.default_rng([args.rng, len(rows)]), runner))
            print(pd.DataFrame(rows[-1:]).to_string(index=False), file=sys.stderr)
    table = pd.DataFrame(rows)
    print(table.to_markdown(index=False, floatfmt=".3f"))
    return table


if __name__ == "__main__":
    main()
