"""Fixtures for workflow runs, shared by the SLURM tests and the tiny end-to-end tests.

Not a conftest.py (yet): test modules import the fixtures they use, e.g.
`from conftest_slurm import tiny_local_run`. Moved into tests/conftest.py they
would be found without the import.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TINY_CONFIG = REPO / "configs" / "tiny.yaml"


def workflow_env() -> dict[str, str]:
    """Environment for snakemake runs: xstilts importable even when not installed."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO / "src"), env.get("PYTHONPATH")]))
    return env


def snakemake_command(*args: str) -> list[str]:
    # The snakemake next to this Python, so that jobs use the same environment.
    return [sys.executable, "-m", "snakemake", *args]


def run_snakemake(args: list[str], cwd: Path, timeout: float) -> subprocess.CompletedProcess:
    result = subprocess.run(
        snakemake_command(*args), cwd=cwd, env=workflow_env(), capture_output=True, text=True, timeout=timeout
    )
    if result.returncode != 0:
        pytest.fail(f"snakemake {' '.join(args)} failed:\n{result.stdout[-6000:]}\n{result.stderr[-6000:]}")
    return result


def tiny_workflow_args(workdir: Path) -> list[str]:
    return ["-s", str(REPO / "Snakefile"), "--configfile", str(TINY_CONFIG), "--directory", str(workdir)]


@pytest.fixture(scope="session")
def tiny_local_run(tmp_path_factory) -> Path:
    """Working directory of the tiny workflow run locally on 2 cores (once per session)."""
    if not TINY_CONFIG.exists():
        pytest.skip(f"{TINY_CONFIG} does not exist yet")
    if shutil.which("snakemake") is None and not _snakemake_importable():
        pytest.skip("snakemake is not installed")
    workdir = tmp_path_factory.mktemp("tiny-local")
    run_snakemake([*tiny_workflow_args(workdir), "--cores", "2"], cwd=workdir, timeout=3600)
    return workdir


def _snakemake_importable() -> bool:
    try:
        import snakemake  # noqa: F401
    except ImportError:
        return False
    return True
