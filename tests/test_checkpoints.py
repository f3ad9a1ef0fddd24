"""Training checkpoints, in process on a tiny random encoder (seconds, no workflow run):
settings fingerprints, the spare state, unreadable states, weights_only loading, full disks."""

from __future__ import annotations

import errno

import datasets
import pytest
import torch
from transformers import XLMRobertaConfig, XLMRobertaModel

from xstilts import atomic, training
from xstilts.atomic import DiskFullError
from xstilts.modeling import MultiTaskModel

SETTINGS = dict(
    lr=1e-3,
    adam_eps=1e-8,
    weight_decay=0.01,
    max_grad_norm=1.0,
    warmup_ratio=0.1,
    max_steps=12,
    grad_accum=1,
    batch_size=4,
    epochs=2,
    checkpoint_every=3,
    early_stopping={"every": 4, "patience": 5, "dev_examples": 16},
)


def _rows(n: int, seed: int) -> datasets.Dataset:
    g = torch.Generator().manual_seed(seed)
    lengths = torch.randint(4, 12, (n,), generator=g).tolist()
    ids = [[0] + torch.randint(3, 50, (k - 2,), generator=g).tolist() + [2] for k in lengths]
    return datasets.Dataset.from_dict(
        {
            "input_ids": ids,
            "attention_mask": [[1] * k for k in lengths],
            "labels": torch.randint(0, 2, (n,), generator=g).tolist(),
        }
    )


TRAIN, DEV = _rows(40, 1), _rows(16, 2)


def _model() -> MultiTaskModel:
    training.seed_everything(0)
    encoder = XLMRobertaModel(
        XLMRobertaConfig(
            vocab_size=50,
            hidden_size=16,
            num_hidden_layers=1,
            num_attention_heads=2,
            intermediate_size=32,
            max_position_embeddings=40,
        ),
        add_pooling_layer=False,
    )
    return MultiTaskModel(encoder, {"pawsx": {"format": "pair_classification", "labels": ["0", "1"]}})


def _train(ckpt, settings=SETTINGS, stop_after=None):
    """One 'process': a fresh model from the seed, trained (or resumed) in `ckpt`.
    Returns (weights, history, log lines)."""
    lines = []
    model = _model()
    history = training.train(
        model,
        {"pawsx": TRAIN},
        {"pawsx": (DEV, None)},
        settings,
        {},
        0,
        torch.device("cpu"),
        1,
        ckpt,
        log=lines.append,
        stop_after=stop_after,
        fingerprint=training.fingerprint({"training": settings, "seed": 0}),
    )
    return model.state_dict(), history, "\n".join(lines)


def _interrupted(ckpt, settings=SETTINGS, after=7):
    with pytest.raises(training.Preempted):
        _train(ckpt, settings, stop_after=after)


def _same(a, b):
    assert a[0].keys() == b[0].keys()
    assert all(torch.equal(a[0][k], b[0][k]) for k in a[0])
    for key in ("steps", "planned_steps", "losses", "early_stopping", "dev"):
        assert a[1][key] == b[1][key], key


@pytest.fixture(scope="module")
def straight(tmp_path_factory):
    return {
        name: _train(tmp_path_factory.mktemp("straight") / "ckpt", settings)
        for name, settings in CHANGED.items()
    }


CHANGED = {
    "same": SETTINGS,
    "lr": {**SETTINGS, "lr": 3e-3},
    "batch_size": {**SETTINGS, "batch_size": 8, "max_steps": None, "epochs": 1},
}


def test_resume_equals_uninterrupted(straight, tmp_path):
    _interrupted(tmp_path)
    resumed = _train(tmp_path)
    assert "resumed from step 7 of 12" in resumed[2]
    _same(straight["same"], resumed)


@pytest.mark.parametrize("change", ["lr", "batch_size"])
def test_a_checkpoint_of_other_settings_is_discarded(straight, tmp_path, change):
    _interrupted(tmp_path)
    (tmp_path / training.BEST).write_bytes(b"best weights of the old settings")
    result = _train(tmp_path, CHANGED[change])
    assert "resumed" not in result[2]
    assert "written under other settings" in result[2]
    _same(straight[change], result)  # as if the old checkpoint had never been there


def test_checkpoints_load_with_weights_only(tmp_path):
    _interrupted(tmp_path)
    ckpt = torch.load(tmp_path / training.STATE, weights_only=True)
    assert ckpt["state"]["step"] == 7
    assert torch.load(tmp_path / training.SPARE, weights_only=True)["state"]["step"] == 6


def _truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def test_a_truncated_state_falls_back_to_the_spare(straight, tmp_path):
    _interrupted(tmp_path)
    _truncate(tmp_path / training.STATE)
    result = _train(tmp_path)
    assert "unreadable" in result[2] and "spare" in result[2]
    assert "resumed from step 6 of 12" in result[2]
    _same(straight["same"], result)


def test_unreadable_state_and_spare_mean_a_fresh_start(straight, tmp_path):
    _interrupted(tmp_path)
    _truncate(tmp_path / training.STATE)
    (tmp_path / training.SPARE).write_bytes(b"not a checkpoint")
    result = _train(tmp_path)
    warnings = [line for line in result[2].splitlines() if "unreadable" in line]
    assert len(warnings) == 2 and "resumed" not in result[2]
    assert training.STATE in warnings[0] and training.SPARE in warnings[1]
    _same(straight["same"], result)


def test_stale_temporaries_of_a_killed_save_are_removed(tmp_path):
    tmp_path.mkdir(exist_ok=True)
    stale = tmp_path / f".{training.STATE}{atomic.TEMP_MARK}abc123"
    stale.write_bytes(b"half a checkpoint")
    _interrupted(tmp_path, after=1)
    assert not stale.exists()


def _full_disk_save(obj, f, *args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def _torch_write_failure(obj, f, *args, **kwargs):
    raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 704 vs 598")


def test_full_disk_names_the_directory_and_the_size(tmp_path, monkeypatch):
    _interrupted(tmp_path, after=3)
    kept = (tmp_path / training.STATE).read_bytes()
    monkeypatch.setattr(training.torch, "save", _full_disk_save)
    with pytest.raises(DiskFullError, match=rf"no space left on {tmp_path} \(needs about \d+ MB\)"):
        _train(tmp_path, stop_after=6)
    assert (tmp_path / training.STATE).read_bytes() == kept  # the last good state survives
    assert not [p for p in tmp_path.iterdir() if atomic.TEMP_MARK in p.name]


def test_torch_write_failure_on_a_full_disk(tmp_path, monkeypatch):
    monkeypatch.setattr(training.torch, "save", _torch_write_failure)
    monkeypatch.setattr(atomic, "free_bytes", lambda directory: 4096)
    with pytest.raises(DiskFullError, match="no space left on .* MB"):
        _train(tmp_path, stop_after=3)


def test_torch_write_failure_with_space_left_is_not_called_a_full_disk(tmp_path, monkeypatch):
    monkeypatch.setattr(training.torch, "save", _torch_write_failure)
    with pytest.raises(RuntimeError, match="inline_container") as caught:
        _train(tmp_path, stop_after=3)
    assert not isinstance(caught.value, DiskFullError)


def test_two_processes_never_train_into_one_checkpoint_directory(tmp_path):
    import fcntl
    import os

    tmp_path.mkdir(exist_ok=True)
    with open(tmp_path / training.LOCK, "w") as other:  # another open file: as if another process
        other.write("4242")
        other.flush()
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(RuntimeError, match=r"in use by another training process \(pid 4242\)"):
            _train(tmp_path, stop_after=1)
    assert not (tmp_path / training.STATE).exists()
    _interrupted(tmp_path, after=1)  # free again once the holder is gone
    assert (tmp_path / training.LOCK).read_text() == str(os.getpid())


def test_a_save_never_holds_more_than_two_states_on_disk(tmp_path, monkeypatch):
    real, counts = torch.save, []

    def counting_save(obj, f, *args, **kwargs):
        real(obj, f, *args, **kwargs)
        counts.append(len([p for p in tmp_path.iterdir() if p.name.lstrip(".").startswith("state")]))

    monkeypatch.setattr(training.torch, "save", counting_save)
    _interrupted(tmp_path, after=10)
    assert max(counts) == 2  # the new file beside the current state; the older spare is gone
