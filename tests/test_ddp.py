"""Data-parallel training (torch DDP, gloo on the CPU, 2 processes) follows the single-process
run with the same effective batch: the same global data order, each rank's share of the loss
weighted so that the averaged gradient is the full batch's. What differs is the order of float
sums (shares padded to their own length, gradients all-reduced), so losses agree to TOLERANCE,
not bit for bit; an interrupted data-parallel run resumes onto the same curve."""

import json

import numpy as np
import pytest
import torch

from xstilts import training

WORLD = 2
STEPS = 8
TOLERANCE = 1e-5  # relative, per step's loss and per weight
SETTINGS = {
    "lr": 1e-3,
    "adam_eps": 1e-8,
    "weight_decay": 0.01,
    "max_grad_norm": 1.0,
    "warmup_ratio": 0.25,
    "epochs": 100,
    "max_steps": STEPS,
    "batch_size": 5,  # shares of 3 and 2 rows: unequal shares are weighted exactly
    "grad_accum": 2,  # the first micro-batch of a step skips the all-reduce (no_sync)
    "checkpoint_every": 2,
    "early_stopping": {"every": 3, "patience": 100, "dev_examples": 20},
}


def _rows(seed: int, n: int, tagging: bool):
    from datasets import Dataset

    rng = np.random.default_rng(seed)
    ids, labels = [], []
    for _ in range(n):
        length = int(rng.integers(4, 24))  # uneven lengths: every share pads differently
        ids.append([0, *rng.integers(5, 90, length - 2).tolist(), 2])
        if tagging:  # some tokens unlabelled, so shares differ in their loss terms
            labels.append([-100 if rng.random() < 0.3 else int(rng.integers(0, 3)) for _ in range(length)])
        else:
            labels.append(int(rng.integers(0, 2)))
    return Dataset.from_dict(
        {"input_ids": ids, "attention_mask": [[1] * len(r) for r in ids], "labels": labels}
    )


def _job(checkpoint_dir, stop_after=None):
    """Model, data and arguments of the job, the same in every process."""
    from transformers import XLMRobertaConfig, XLMRobertaModel

    from xstilts.modeling import MultiTaskModel

    training.seed_everything(0)
    config = XLMRobertaConfig(
        vocab_size=100,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=40,
        type_vocab_size=1,
        pad_token_id=1,
        hidden_dropout_prob=0.0,  # dropout masks are per rank: with them curves agree in law only
        attention_probs_dropout_prob=0.0,
    )
    specs = {
        "pawsx": {"format": "pair_classification", "labels": ["0", "1"]},
        "udpos": {"format": "tagging", "labels": ["A", "B", "C"]},
    }
    model = MultiTaskModel(XLMRobertaModel(config, add_pooling_layer=False), specs)
    train_sets = {"pawsx": _rows(1, 40, False), "udpos": _rows(2, 30, True)}
    dev_sets = {"pawsx": (_rows(3, 20, False), None)}
    return dict(
        model=model,
        train_sets=train_sets,
        dev_sets=dev_sets,
        settings=SETTINGS,
        sampling={},
        seed=0,
        device=torch.device("cpu"),
        pad_id=1,
        checkpoint_dir=checkpoint_dir,
        log=lambda *a: None,
        stop_after=stop_after,
        fingerprint="test",
    )


def _result(job, history) -> dict:
    weights = {k: v.flatten()[:50].tolist() for k, v in job["model"].state_dict().items()}
    return {"history": history, "weights": weights}


def _worker(rank, world, checkpoint_dir, out, stop_after):
    torch.set_num_threads(1)
    job = _job(checkpoint_dir, stop_after)
    history = training.train(**job)
    if rank == 0:
        out.write_text(json.dumps(_result(job, history)))
    else:
        assert history is None


@pytest.fixture(scope="module")
def single(tmp_path_factory):
    job = _job(tmp_path_factory.mktemp("single") / "ckpt")
    return _result(job, training.train(**job))


def _close(a: dict, b: dict) -> None:
    losses_a, losses_b = np.array(a["history"]["losses"]), np.array(b["history"]["losses"])
    assert len(losses_a) == len(losses_b) == STEPS
    np.testing.assert_allclose(losses_a, losses_b, rtol=TOLERANCE, atol=1e-5)  # losses are rounded to 1e-5
    assert a["history"]["early_stopping"] == b["history"]["early_stopping"]
    for name, values in a["weights"].items():
        np.testing.assert_allclose(values, b["weights"][name], rtol=TOLERANCE, atol=1e-6, err_msg=name)


def test_two_processes_follow_the_single_process_curve_across_an_interruption(single, tmp_path):
    """Steps 1-5 run, are interrupted (checkpoint by rank 0 only), 6-8 resume on both ranks."""
    out = tmp_path / "ddp.json"
    with pytest.raises(training.Preempted):
        training.launch(_worker, WORLD, (tmp_path / "ckpt", out, 5), backend="gloo")
    assert not out.exists()
    saved = torch.load(tmp_path / "ckpt" / training.STATE, weights_only=True)
    assert saved["state"]["step"] == 5 and len(saved["rank_rngs"]) == WORLD
    training.launch(_worker, WORLD, (tmp_path / "ckpt", out, None), backend="gloo")
    ddp = json.loads(out.read_text())
    assert ddp["history"]["processes"] == WORLD and single["history"]["processes"] == 1
    _close(ddp, single)


def test_a_failing_rank_stops_the_job_with_its_exit_code(tmp_path):
    with pytest.raises(RuntimeError, match=r"rank \d of a 2-process training job failed"):
        training.launch(_fail_on_rank_1, WORLD, (), backend="gloo")


def _fail_on_rank_1(rank, world):
    if rank == 1:
        raise ValueError("rank 1 fails")
    torch.distributed.barrier()  # would wait forever: launch must end it


def test_a_sigterm_to_the_launcher_reaches_every_rank_and_reads_as_preemption():
    import os
    import signal
    import threading

    timer = threading.Timer(8, os.kill, (os.getpid(), signal.SIGTERM))  # once the ranks run
    timer.start()
    try:
        with pytest.raises(training.Preempted):
            training.launch(_sleep, WORLD, (), backend="gloo")  # the ranks would sleep 10 minutes
    finally:
        timer.cancel()


def _sleep(rank, world):
    import time

    time.sleep(600)


def test_length_grouped_passes_visit_every_row_once_and_pad_less():
    lengths = np.random.default_rng(0).integers(5, 200, 1000)
    plain = training.TaskSampler({"t": 1000}, 8, seed=0)
    grouped = training.TaskSampler({"t": 1000}, 8, seed=0, lengths={"t": lengths})

    def padded(sampler):
        batches = [sampler.next()[1] for _ in range(125)]  # one pass
        assert sorted(i for b in batches for i in b) == list(range(1000))
        return sum(len(b) * lengths[b].max() for b in batches)

    assert padded(grouped) < 0.7 * padded(plain)
    state = grouped.state_dict()  # resumes mid-pass with the same grouped order
    expected = [grouped.next()[1] for _ in range(130)]
    fresh = training.TaskSampler({"t": 1000}, 8, seed=0, lengths={"t": lengths})
    fresh.load_state_dict(state)
    assert [fresh.next()[1] for _ in range(130)] == expected


def test_a_dual_encoder_is_refused_data_parallel(monkeypatch, tmp_path):
    """In-batch negatives would be each rank's share: a clear error, not a wrong loss."""
    from transformers import XLMRobertaConfig, XLMRobertaModel

    from xstilts.modeling import MultiTaskModel

    config = XLMRobertaConfig(
        vocab_size=100, hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64
    )
    model = MultiTaskModel(
        XLMRobertaModel(config, add_pooling_layer=False), {"lareqa": {"format": "dual_encoder", "labels": []}}
    )
    monkeypatch.setattr(training, "_world", lambda: (0, WORLD))
    with pytest.raises(ValueError, match="lareqa trains a dual encoder .* set resources.gpus to 1"):
        training.train(
            model,
            {"lareqa": None},
            {},
            SETTINGS,
            {},
            0,
            torch.device("cpu"),
            1,
            tmp_path,
            None,
            fingerprint="x",
        )
