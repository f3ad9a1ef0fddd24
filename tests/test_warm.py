"""The warm evaluation process (xstilts.warm): a job run in a forked child of the server scores
exactly as a cold process, reports its own start-up, gets its status and errors back, and the
server replaces a dead one's socket and leaves when idle."""

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from test_eval_groups import SETTINGS, tagger  # noqa: F401
from test_eval_hardening import tiny_encoder, tokenizer  # noqa: F401

from xstilts import cli


@pytest.fixture
def runtime_dir():
    """A short private directory for the sockets (a Unix socket path has 108 bytes)."""
    with tempfile.TemporaryDirectory(dir="/tmp", prefix="xw") as directory:
        yield Path(directory)


def _argv(model_dir, data, outs, languages):
    return (
        ["evaluate", "--settings", json.dumps(SETTINGS), "--model", str(model_dir), "--gpus", "0"]
        + ["--batch-size", "4", "--languages", *languages]
        + ["--data", *(str(data[lang]) for lang in languages), "--out", *map(str, outs)]
    )


def _env(runtime_dir, idle):
    private = {"XDG_RUNTIME_DIR": str(runtime_dir), "XSTILTS_WARM_IDLE": str(idle), "OMP_NUM_THREADS": "1"}
    return {**os.environ, **private}


def _command(argv):
    return [sys.executable, "-m", "xstilts.cli", *argv, "--warm"]


def _warm(argv, runtime_dir, idle=30):
    return subprocess.run(
        _command(argv), env=_env(runtime_dir, idle), capture_output=True, text=True, timeout=300
    )


def _servers(runtime_dir):
    return sorted(runtime_dir.glob("xstilts-*/warm-*.sock"))


def test_warm_jobs_score_like_a_cold_one_and_share_the_server(tagger, runtime_dir, tmp_path):  # noqa: F811
    model_dir, data = tagger
    languages = list(data)
    cold = [tmp_path / f"cold-{lang}.json" for lang in languages]
    cli.main(_argv(model_dir, data, cold, languages), warm=False)
    # one job starts the server; then three at once, each handed to the spare child forked after the last
    runs = [["first"], ["second", "third", "fourth"]]
    for batch in runs:
        outs = {run: [tmp_path / f"{run}-{lang}.json" for lang in languages] for run in batch}
        env = _env(runtime_dir, 30)
        jobs = [
            subprocess.Popen(
                _command(_argv(model_dir, data, outs[run], languages)),
                env=env,
                stderr=subprocess.PIPE,
                text=True,
            )
            for run in batch
        ]
        for job in jobs:
            errors = job.communicate(timeout=300)[1]
            assert job.returncode == 0, errors
            assert "no warm process" not in errors
        for run in batch:
            for cold_out, out in zip(cold, outs[run]):
                cell, reference = json.loads(out.read_text()), json.loads(cold_out.read_text())
                assert cell["job"]["warm"] is True and reference["job"]["warm"] is False
                assert cell["metrics"] == reference["metrics"] and cell["settings"] == reference["settings"]
                assert cell["job"]["startup_seconds"] > 0  # counted from the job's own process start
    assert len(_servers(runtime_dir)) == 1  # the later jobs found the first one's server


def test_a_failing_job_returns_its_status_and_error(tagger, runtime_dir, tmp_path):  # noqa: F811
    model_dir, data = tagger
    argv = _argv(model_dir, {"de": tmp_path / "missing"}, [tmp_path / "de.json"], ["de"])
    done = _warm(argv, runtime_dir)
    assert done.returncode == 1
    assert "missing" in done.stderr and "Traceback" in done.stderr  # the child's stderr is the job's
    assert not (tmp_path / "de.json").exists()


def test_a_dead_servers_socket_is_replaced_and_an_idle_server_leaves(tagger, runtime_dir, tmp_path):  # noqa: F811
    model_dir, data = tagger
    argv = _argv(model_dir, data, [tmp_path / "de.json"], ["de"])
    key = subprocess.run(
        [sys.executable, "-c", "from xstilts import warm; print(warm.socket_path(warm.context_key()))"],
        env=_env(runtime_dir, 1),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    Path(key).write_text("")  # what a killed server leaves: a path nobody listens on
    done = _warm(argv, runtime_dir, idle=1)
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "de.json").read_text())["job"]["warm"] is True
    served = Path(key).stat().st_ino
    for _ in range(3):  # back to back for longer than the idle second: the same server serves them
        assert _warm(argv, runtime_dir, idle=1).returncode == 0
    assert Path(key).stat().st_ino == served
    deadline = time.monotonic() + 30
    while _servers(runtime_dir) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _servers(runtime_dir)  # idle for a second: gone, its socket with it
