"""Prints how long `snakemake -n` takes on the paper's grid and how many jobs it plans.

python benchmarks/dry_run.py [--configfile config.yaml] [--repeats 3]
"""

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--configfile", default=str(REPO / "config.yaml"))
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    times = []
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory() as workdir:
            start = time.perf_counter()
            out = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "snakemake",
                    "-s",
                    str(REPO / "Snakefile"),
                    "--directory",
                    workdir,
                    "--configfile",
                    args.configfile,
                    "-n",
                    "--quiet",
                    "rules",
                ],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            times.append(time.perf_counter() - start)
    counts = dict(re.findall(r"^(\w+)\s+(\d+)$", out, re.M))
    print(
        f"dry run of {args.configfile}: median {statistics.median(times):.2f} s "
        f"(min {min(times):.2f}, max {max(times):.2f}, n={len(times)})"
    )
    for rule, n in counts.items():
        print(f"  {rule:14s} {n:>6s}")


if __name__ == "__main__":
    main()
