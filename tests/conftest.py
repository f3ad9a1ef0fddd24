"""Shared fixtures: the repository, and one run of the embedded default that many tests read."""

import os
import shutil
import subprocess
import sys
import tempfile
import types
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


@pytest.fixture
def other_user():
    """Another user of a shared node: `run(code, *args)` runs Python code as `nobody` (via
    runuser, so the tests must run as root, as in CI), and `shared` is a short sticky directory
    that everyone may write to, as /tmp is."""
    if os.getuid() != 0 or not shutil.which("runuser"):
        pytest.skip("needs root and runuser to act as another user")
    # The venv's interpreter may lie where nobody can read it (under /root): any Python will do.
    candidates = (sys.executable, "/usr/bin/python3", shutil.which("python3"))
    python = next((p for p in candidates if p and _runs_as_nobody([p, "-I", "-S", "-c", "pass"])), None)
    if python is None:
        pytest.skip("no Python interpreter that the user nobody may run")

    def command(code: str, *args) -> list[str]:
        return ["runuser", "-u", "nobody", "--", python, "-I", "-S", "-c", code, *map(str, args)]

    def run(code: str, *args) -> subprocess.CompletedProcess:
        return subprocess.run(command(code, *args), capture_output=True, text=True, timeout=60, cwd="/")

    with tempfile.TemporaryDirectory(dir="/tmp", prefix="xo") as shared:
        os.chmod(shared, 0o1777)
        yield types.SimpleNamespace(command=command, run=run, shared=Path(shared))


def _runs_as_nobody(command: list[str]) -> bool:
    done = subprocess.run(
        ["runuser", "-u", "nobody", "--", *command], capture_output=True, timeout=60, cwd="/"
    )
    return done.returncode == 0
