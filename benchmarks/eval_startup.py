"""Prints how much of an evaluation job's wall time is spent outside evaluation, for cold
processes and for the warm process (xstilts.warm), side by side on the same jobs.

python benchmarks/eval_startup.py --workdir W --configfile configs/tiny.yaml [--target T] [--repeats 2]

W holds a finished run of the config. The target (default: the config's target with the most
languages) has its evaluation jobs run again by Snakemake (`--forcerun evaluate_<T> --until
evaluate_<T>`), once with `evaluation.warm_process: false` and once with it on; a job's wall
time is Snakemake's benchmark (`s`, the shell command as the cluster would time it) and its
evaluation time the sum of its cells' `evaluation_seconds` (prediction + scoring). The warm
runs after the first find the process already started, as the jobs of a grid do.
"""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


def rerun(configfile: Path, workdir: Path, target: str, warm: bool) -> list[dict]:
    """Run the target's evaluation jobs again; per job: wall seconds and evaluation seconds."""
    config = yaml.safe_load(configfile.read_text())
    config.setdefault("evaluation", {})["warm_process"] = warm
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as changed:
        yaml.safe_dump(config, changed)
        changed.flush()
        rule = f"evaluate_{target}"
        command = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-d", str(workdir)]
        command += ["--configfile", changed.name, "--cores", "1", "--quiet", "all"]
        command += ["--forcerun", rule, "--until", rule]
        subprocess.run(command, check=True, capture_output=True, text=True)
    jobs = []
    for benchmark in sorted(workdir.glob(f"results/*/*/seed*/eval/{target}/benchmark.tsv")):
        wall = float(benchmark.read_text().splitlines()[1].split("\t")[0])
        cells = [json.loads(p.read_text()) for p in benchmark.parent.glob("*.json")]
        evaluation = sum(c["evaluation_seconds"] for c in cells)
        jobs.append({"wall": wall, "evaluation": evaluation, "cells": len(cells)})
    return jobs


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--configfile", type=Path, required=True)
    parser.add_argument("--target", default=None)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    targets = yaml.safe_load(args.configfile.read_text())["targets"]
    target = args.target or max(targets, key=lambda t: len(targets[t]))
    print(f"target {target}: {len(targets[target])} languages per job")
    summary = {}
    for warm in (False, True):
        walls, evaluations = [], []
        for _ in range(args.repeats):
            jobs = rerun(args.configfile, args.workdir, target, warm)
            walls += [j["wall"] for j in jobs]
            evaluations += [j["evaluation"] for j in jobs]
        outside = [1 - e / w for e, w in zip(evaluations, walls)]
        name = "warm process" if warm else "cold process"
        summary[name] = statistics.mean(walls)
        print(
            f"{name:13s} {len(walls):3d} jobs  wall {statistics.mean(walls):6.2f} s  evaluation "
            f"{statistics.mean(evaluations):5.2f} s  outside evaluation {statistics.mean(outside):6.1%}"
            f" (median {statistics.median(outside):.1%}, max {max(outside):.1%})"
        )
    print(f"job wall time, cold / warm: {summary['cold process'] / summary['warm process']:.2f}x")


if __name__ == "__main__":
    main()
