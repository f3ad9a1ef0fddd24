"""Runs through a real SLURM cluster with profiles/slurm (CI: .ci/slurm-up starts one).

Skipped unless `sinfo` answers. The cluster must offer GRES gpu (real or faked as
.ci/slurm-up does), because the rules ask for gpu=1.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from conftest import REPO, snakemake
from xstilts import config, grid

SLURM_PROFILE = REPO / "profiles" / "slurm"
# The profile's 40 s first status check suits real clusters; a test wants answers sooner.
FAST_STATUS = ["--slurm-init-seconds-before-status-checks", "1"]


def slurm_is_up() -> bool:
    if shutil.which("sinfo") is None:
        return False
    try:
        probe = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return False
    return probe.returncode == 0 and any(
        state.startswith(("idle", "mix", "alloc")) for state in probe.stdout.split()
    )


pytestmark = [
    pytest.mark.slurm,
    pytest.mark.skipif(not slurm_is_up(), reason="no SLURM cluster answers `sinfo` (CI: run .ci/slurm-up)"),
]

# Each job takes a GPU slot as xstilts jobs do, and records what SLURM and the pool gave it.
PROBE = """
import json, os, sys
from xstilts.devices import acquire_gpus
scheduler_visible = os.environ.get("CUDA_VISIBLE_DEVICES")
with acquire_gpus(1, timeout=120) as held:
    record = {
        "slurm_job_id": os.environ.get("SLURM_JOB_ID"),
        "scheduler_visible": scheduler_visible,
        "held": held,
        "visible": os.environ["CUDA_VISIBLE_DEVICES"],
    }
with open(sys.argv[1], "w") as out:
    json.dump(record, out)
"""

SNAKEFILE = """
LANGUAGES = ["de", "sw"]

rule all:
    input: "model.json", expand("eval_{{language}}.json", language=LANGUAGES)

rule train:
    output: "model.json"
    resources: gpu=1, runtime=10, mem_mb=1000
    shell: "{python} probe.py {{output}}"

rule evaluate:
    input: "model.json"
    output: "eval_{{language}}.json"
    group: "evaluate"
    resources: gpu=1, runtime=5, mem_mb=1000
    shell: "{python} probe.py {{output}}"
"""


def test_gpu_rules_run_as_slurm_jobs_through_the_profile(tmp_path, monkeypatch):
    (tmp_path / "Snakefile").write_text(SNAKEFILE.format(python=sys.executable))
    (tmp_path / "probe.py").write_text(PROBE)
    monkeypatch.setenv("XSTILTS_LOCK_DIR", str(tmp_path / "locks"))  # exported to the jobs

    snakemake(
        "--profile",
        SLURM_PROFILE,
        *FAST_STATUS,
        workdir=tmp_path,
        snakefile=tmp_path / "Snakefile",
        timeout=600,
    )

    train = json.loads((tmp_path / "model.json").read_text())
    evaluations = [json.loads((tmp_path / f"eval_{lang}.json").read_text()) for lang in ("de", "sw")]
    for record in [train, *evaluations]:
        assert record["slurm_job_id"] and record["slurm_job_id"].isdigit(), record
        # SLURM chose the GPU (--gpus=1) and the slot pool took exactly that one.
        assert record["scheduler_visible"] and len(record["scheduler_visible"].split(",")) == 1, record
        assert record["held"] == [record["scheduler_visible"]] == [record["visible"]], record
    # The profile bundles the two evaluations (group "evaluate") into one SLURM job.
    assert evaluations[0]["slurm_job_id"] == evaluations[1]["slurm_job_id"] != train["slurm_job_id"]


def read_scores(workdir: Path) -> pd.DataFrame:
    scores = pd.read_parquet(workdir / "results" / "scores.parquet")
    keys = [column for column in scores.columns if column != "value"]
    return scores.sort_values(keys).reset_index(drop=True)


def test_tiny_workflow_on_slurm_scores_like_a_local_run(tmp_path, tiny_run):
    # Everything is built again through SLURM, the embedded hub and model too: the two runs
    # share no file, so equal scores show the whole build is reproducible across schedulers.
    snakemake(
        "--configfile",
        REPO / "configs/tiny.yaml",
        "--profile",
        SLURM_PROFILE,
        *FAST_STATUS,
        workdir=tmp_path,
        timeout=3600,
    )
    on_slurm, local = read_scores(tmp_path), read_scores(tiny_run)
    assert len(on_slurm) > 0
    keys = [column for column in local.columns if column != "value"]
    pd.testing.assert_frame_equal(on_slurm[keys], local[keys])
    assert (on_slurm["value"] - local["value"]).abs().max() <= 1e-6
    # Jobs really went through SLURM, the evaluations bundled into fewer submissions.
    cfg = config.load(REPO / "configs/tiny.yaml")
    own_jobs = (
        2 + len(grid.intermediate_jobs(cfg)) + len(grid.finetune_jobs(cfg)) + len(grid.prepare_jobs(cfg))
    )
    log = max((tmp_path / ".snakemake" / "log").glob("*.snakemake.log")).read_text()
    submitted = log.count("has been submitted with SLURM jobid")
    assert own_jobs < submitted < own_jobs + len(grid.eval_groups(cfg)), submitted
