"""Shared fixtures: the repository, and one run of the embedded default that many tests read."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


def snakemake(*args, workdir, snakefile=REPO / "Snakefile", check=True, timeout=1800):
    """Run a Snakefile (the project's by default) in `workdir`; return the completed process."""
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "-s",
        str(snakefile),
        "--directory",
        str(workdir),
        *map(str, args),
    ]
    result = subprocess.run(
        cmd, capture_output=True, text=True, timeout=timeout, env={**os.environ, "PYTHONUNBUFFERED": "1"}
    )
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed:\n{result.stdout[-4000:]}\n{result.stderr[-6000:]}")
    return result


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """The tiny grid run once, locally, on 2 cores (the README's first command).
    XSTILTS_TINY_RUN=DIR reuses (and completes) a run in DIR, to iterate on tests quickly."""
    reuse = os.environ.get("XSTILTS_TINY_RUN")
    workdir = Path(reuse) if reuse else tmp_path_factory.mktemp("tiny")
    snakemake("--configfile", REPO / "configs/tiny.yaml", "--cores", 2, workdir=workdir)
    return workdir


@pytest.fixture(scope="session")
def micro_mirror(tmp_path_factory):
    """The embedded hub mirror of every world language, micro size, built once (read only)."""
    from xstilts.embedded.hub import build_hub_mirror
    from xstilts.embedded.world import LANGUAGES

    root = tmp_path_factory.mktemp("micro-hub") / "mirror"
    build_hub_mirror(root, list(LANGUAGES), seed=0, size="micro")
    return root


STAND_IN_XSTILTS = f"""#!{sys.executable}
import pathlib, sys
args = sys.argv[1:]
if args[0].startswith("embedded-"):
    sys.exit(0)  # the rule copies its log to the build marker
out = pathlib.Path(args[args.index("--out") + 1])
if args[0] in ("evaluate", "collect"):
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("{{}}")
else:
    out.mkdir(parents=True, exist_ok=True)
"""


@pytest.fixture
def stand_in_xstilts(tmp_path, monkeypatch):
    """An `xstilts` first on PATH that only creates each job's outputs: Snakemake plans, runs
    and records the jobs' settings as in a real run, in seconds."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "xstilts"
    fake.write_text(STAND_IN_XSTILTS)
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return fake
