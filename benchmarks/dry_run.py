"""Prints how long `snakemake -n` takes on the paper's grid, how many jobs it plans, and how
that compares with a bare Snakefile of the same jobs and shape.

python benchmarks/dry_run.py [--configfile config.yaml] [--repeats 3]

The bare Snakefile is generated from the real dry run: one rule per real rule, with the same
output patterns (wildcards recovered from each job), the same input edges (looked up in a
JSON table, no xstilts code) and no params: the ratio is what xstilts' parse-time work
(validation, settings slices, input functions) adds to Snakemake's own DAG building.
"""

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def snakemake(snakefile, workdir, *args) -> str:
    cmd = [sys.executable, "-m", "snakemake", "-s", str(snakefile), "--directory", str(workdir), "-n", *args]
    return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout


def timed(snakefile, args, repeats) -> tuple[list[float], str]:
    times = []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as workdir:
            start = time.perf_counter()
            out = snakemake(snakefile, workdir, *args, "--quiet", "rules")
            times.append(time.perf_counter() - start)
    return times, out


def planned(out: str) -> list[dict]:
    """Each job of a dry run's output: rule, inputs, outputs, wildcards (in pattern order)."""
    jobs = []
    for block in re.split(r"\n(?=\s*(?:localrule|rule) \w+:)", out):
        head = re.match(r"\s*(?:localrule|rule) (\w+):", block)
        if not head:
            continue

        def field(name, block=block):
            found = re.search(rf"^\s+{name}: (.*)$", block, re.M)
            return found.group(1).split(", ") if found else []

        wildcards = [kv.split("=", 1) for kv in field("wildcards")]
        jobs.append(
            {
                "rule": head.group(1),
                "input": field("input"),
                "output": field("output"),
                "wildcards": wildcards,
            }
        )
    return jobs


def pattern(path: str, wildcards: list) -> str:
    """A job's output path with its wildcard values put back as {name}, left to right."""
    parts, pending = path.split("/"), list(wildcards)
    for i, segment in enumerate(parts):
        if pending and pending[0][1] in segment:
            name, value = pending.pop(0)
            parts[i] = segment.replace(value, "{" + name + "}", 1)
    result = "/".join(parts)
    if pending or result.format(**dict(wildcards)) != path:
        raise ValueError(f"cannot recover the pattern of {path} from {wildcards}")
    return result


def bare_snakefile(jobs: list[dict], directory: Path) -> Path:
    produced = {o for j in jobs for o in j["output"]}
    rules = {}
    for job in jobs:
        rule = rules.setdefault(job["rule"], {"output": None, "input": {}})
        outputs = [pattern(o, job["wildcards"]) for o in job["output"]]
        if rule["output"] not in (None, outputs):
            raise ValueError(f"rule {job['rule']}: outputs of two shapes {rule['output']} {outputs}")
        rule["output"] = outputs
        rule["input"][job["output"][0] if job["output"] else ""] = [i for i in job["input"] if i in produced]
    (directory / "jobs.json").write_text(json.dumps(rules))
    text = [f"import json\n\nJ = json.load(open({str(directory / 'jobs.json')!r}))\n"]
    for name in ["all", *(r for r in rules if r != "all")]:
        if name == "all":
            text.append("rule all:\n    input: J['all']['input']['']\n")
            continue
        text.append(
            f"rule {name}:\n"
            f"    input: lambda w: J[{name!r}]['input'][J[{name!r}]['output'][0].format(**w)]\n"
            f"    output: *J[{name!r}]['output']\n"
            "    shell: 'touch {output}'\n"
        )
    path = directory / "Snakefile"
    path.write_text("\n".join(text))
    return path


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--configfile", default=str(REPO / "config.yaml"))
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    times, out = timed(REPO / "Snakefile", ["--configfile", args.configfile], args.repeats)
    counts = dict(re.findall(r"^(\w+)\s+(\d+)$", out, re.M))
    with tempfile.TemporaryDirectory() as scratch, tempfile.TemporaryDirectory() as workdir:
        full = snakemake(REPO / "Snakefile", workdir, "--configfile", args.configfile)
        bare = bare_snakefile(planned(full), Path(scratch))
        bare_times, bare_out = timed(bare, [], args.repeats)
        bare_counts = dict(re.findall(r"^(\w+)\s+(\d+)$", bare_out, re.M))
    if bare_counts.get("total") != counts.get("total"):
        raise SystemExit(
            f"the bare Snakefile plans {bare_counts.get('total')} jobs, not {counts.get('total')}"
        )
    median, bare_median = statistics.median(times), statistics.median(bare_times)
    print(
        f"dry run of {args.configfile}: median {median:.2f} s "
        f"(min {min(times):.2f}, max {max(times):.2f}, n={len(times)}); bare Snakefile with the same "
        f"{counts.get('total')} jobs: {bare_median:.2f} s; ratio {median / bare_median:.2f}x"
    )
    for rule, n in counts.items():
        print(f"  {rule:18s} {n:>6s}")


if __name__ == "__main__":
    main()
