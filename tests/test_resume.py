"""Preemption safety: a training job killed mid-way and run again ends exactly where an
uninterrupted run ends (CPU, deterministic); SIGTERM saves a checkpoint and exits 75."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch
from safetensors.torch import load_file

from conftest import REPO
from xstilts import config, grid, settings
from xstilts.cli import EXIT_PREEMPTED

CFG = config.load(REPO / "configs/tiny.yaml")
DATA = grid.training_data(CFG, "tiny-xlmr", [("pawsx", "en")])


def _settings(tiny_run):
    s = settings.finetune(CFG, "tiny-xlmr", "none", "pawsx", 0)
    s["training"].update(
        max_steps=60, checkpoint_every=5, early_stopping={"every": 20, "patience": 5, "dev_examples": 50}
    )
    return s


def _train(tiny_run, settings, out, **popen):
    cmd = [
        sys.executable,
        "-m",
        "xstilts.cli",
        "train",
        "--settings",
        json.dumps(settings),
        "--train",
        *DATA["train"],
        "--dev",
        *DATA["dev"],
        "--mirror",
        CFG["hub"]["mirror"],
        "--out",
        str(out),
        "--checkpoint-dir",
        str(out) + ".ckpt",
        "--gpus",
        "0",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(
        cmd, cwd=tiny_run, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **popen
    )


def _interrupt(tiny_run, settings, out, sig):
    """Start a run, send `sig` once it has saved a checkpoint; return its exit code."""
    proc = _train(tiny_run, settings, out)
    state = out.with_name(out.name + ".ckpt") / "state.pt"
    deadline = time.time() + 300
    while not state.exists():
        assert proc.poll() is None, proc.stdout.read()
        assert time.time() < deadline
        time.sleep(0.05)
    proc.send_signal(sig)
    proc.wait(timeout=300)
    assert not out.exists(), "an interrupted job must not leave its output"
    return proc.returncode, proc.stdout.read()


def _finish(tiny_run, settings, out):
    proc = _train(tiny_run, settings, out)
    log, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0, log
    return log


def _same_model(a, b):
    wa, wb = load_file(a / "model.safetensors"), load_file(b / "model.safetensors")
    assert wa.keys() == wb.keys()
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    ha, hb = torch.load(a / "heads.pt"), torch.load(b / "heads.pt")
    assert all(torch.equal(ha[k], hb[k]) for k in ha)
    ta, tb = (json.loads((p / "training.json").read_text())["history"] for p in (a, b))
    assert ta["dev"] == tb["dev"] and ta["losses"] == tb["losses"]
    assert ta["early_stopping"] == tb["early_stopping"]


@pytest.fixture(scope="module")
def uninterrupted(tiny_run, tmp_path_factory):
    out = tmp_path_factory.mktemp("resume") / "straight"
    _finish(tiny_run, _settings(tiny_run), out)
    return out


def test_sigkill_then_rerun_equals_uninterrupted(tiny_run, uninterrupted, tmp_path):
    out = tmp_path / "killed"
    code, _ = _interrupt(tiny_run, _settings(tiny_run), out, signal.SIGKILL)
    assert code == -signal.SIGKILL
    log = _finish(tiny_run, _settings(tiny_run), out)
    assert "resumed from step" in log
    _same_model(uninterrupted, out)
    assert not (tmp_path / "killed.ckpt").exists(), "checkpoints are removed once the model is saved"


def test_sigterm_saves_and_exits_requeueable(tiny_run, uninterrupted, tmp_path):
    out = tmp_path / "termed"
    code, log = _interrupt(tiny_run, _settings(tiny_run), out, signal.SIGTERM)
    assert code == EXIT_PREEMPTED, log
    assert "checkpoint saved" in log
    log = _finish(tiny_run, _settings(tiny_run), out)
    assert "resumed from step" in log
    _same_model(uninterrupted, out)


def test_a_checkpoint_of_other_settings_is_not_resumed(tiny_run, tmp_path):
    """Through the CLI: stages.train fingerprints the settings it is given."""
    out = tmp_path / "changed"
    _interrupt(tiny_run, _settings(tiny_run), out, signal.SIGKILL)
    changed = _settings(tiny_run)
    changed["training"]["lr"] *= 2
    log = _finish(tiny_run, changed, out)
    assert "written under other settings" in log and "resumed" not in log
    record = json.loads((out / "training.json").read_text())
    assert record["history"]["steps"] == record["history"]["planned_steps"]
    assert record["settings"]["training"]["lr"] == changed["training"]["lr"]
    assert record["device"]["fallback_to_cpu"] is False  # --gpus 0 asks for the CPU
