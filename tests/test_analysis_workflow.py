"""Runs workflow/rules/report.smk with Snakemake on a constructed scores.parquet, then --report."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from test_analysis_helpers import planted_syntactic_scores

REPO = Path(__file__).resolve().parents[1]
SHIM = """#!{python}
import argparse, sys
sys.path.insert(0, {src!r})
from xstilts.analysis import commands
parser = argparse.ArgumentParser(prog="xstilts")
commands.register(parser.add_subparsers(required=True))
args = parser.parse_args()
args.func(args)
"""
SNAKEFILE = """from xstilts import config as xconfig, grid

# What workflow/rules/common.smk provides to report.smk, for a grid of two targets.
TARGETS = ["xnli", "bucc"]
ENV = "../../envs/xstilts.yaml"
analysis = {{"n_resamples": 199, "seed": 1, "alpha": 0.05, "confidence": 0.95}}
CFG = {{"models": {{}}, "analysis": {{**analysis, **config.get("analysis", {{}})}}}}
AGG = grid.aggregates(CFG)
STUDY = None

include: {rules!r}

rule all:
    input:
        grid.analysis_outputs(TARGETS),
"""


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    if shutil.which("snakemake") is None and not (Path(sys.executable).parent / "snakemake").exists():
        pytest.skip("snakemake not installed")
    root = tmp_path_factory.mktemp("workflow")
    shim = root / "bin" / "xstilts"  # stands in for the installed console script
    shim.parent.mkdir()
    shim.write_text(SHIM.format(python=sys.executable, src=str(REPO / "src")))
    shim.chmod(0o755)
    (root / "Snakefile").write_text(SNAKEFILE.format(rules=str(REPO / "workflow" / "rules" / "report.smk")))
    (root / "results").mkdir()
    planted_syntactic_scores(noise=0.5, recipes=("mnli", "squad_v1")).to_parquet(
        root / "results" / "scores.parquet"
    )
    return root


def snakemake(workdir, *args):
    env = dict(os.environ, PATH=f"{workdir / 'bin'}:{Path(sys.executable).parent}:{os.environ['PATH']}")
    return subprocess.run(
        [sys.executable, "-m", "snakemake", "--cores", "1", "--snakefile", "Snakefile", *args],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_rules_build_everything_and_a_self_contained_report(workdir):
    run = snakemake(workdir)
    assert run.returncode == 0, run.stderr[-3000:]
    for name in (
        "gains.md",
        "targets/bucc.md",
        "typology/correlations.csv",
        "figures/typology_xnli.png",
        "figures/typology_heatmap.png",
    ):
        assert (workdir / "reports" / name).stat().st_size > 0

    nothing_to_do = snakemake(workdir, "--dry-run")
    assert "Nothing to be done" in nothing_to_do.stdout + nothing_to_do.stderr

    report = snakemake(workdir, "--report", "reports/report.html")
    assert report.returncode == 0, report.stderr[-3000:]
    html = (workdir / "reports" / "report.html").read_text(encoding="utf-8")
    assert "typology_xnli.png" in html and "gains.md" in html
    # self-contained: no script, stylesheet or image fetched from elsewhere
    assert not re.search(r'<(script|img|link)[^>]+(src|href)="https?://', html)


def test_changed_analysis_config_reruns_only_the_statistics(workdir):
    run = snakemake(workdir, "--dry-run", "--config", "analysis={'n_resamples': 99, 'seed': 1}")
    output = run.stdout + run.stderr
    assert "analysis_typology" in output and "analysis_figures" in output
    assert "analysis_tables" not in output
