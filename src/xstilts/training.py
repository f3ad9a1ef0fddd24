"""The training loop: multi-task sampling, accumulation, early stopping, resumable checkpoints.

A checkpoint holds everything the rest of the run depends on (weights, optimizer, scheduler,
sampler and RNG states, early-stopping state), so a run resumed after SIGTERM or SIGKILL ends
with the same weights as one never interrupted (on CPU, where kernels are deterministic).

It also holds a fingerprint of the job's settings: a checkpoint written under other settings
(a changed lr or batch size) is discarded, never resumed. Each save writes a new file and keeps
the previous one as a spare, so a checkpoint found unreadable (truncated by a crash of the
machine, a full disk) falls back to the spare, then to a fresh start, never to a failing resume.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import math
import os
import signal
import time
from pathlib import Path

import numpy as np
import torch

from xstilts.atomic import atomic_file, payload_bytes, remove_stale_temps
from xstilts.evaluation import MODEL_KEYS, model_batch, predict, score
from xstilts.tasks import TASKS

STATE = "state.pt"
SPARE = "state.prev.pt"  # the state before the latest save
BEST = "best.pt"
LOCK = "lock"  # held by the training process while it uses the directory
CHECKPOINT_KEYS = (
    "fingerprint",
    "model",
    "optimizer",
    "scheduler",
    "sampler",
    "torch_rng",
    "cuda_rng",
    "state",
)


class Preempted(Exception):
    """SIGTERM arrived (SLURM preemption or time limit): the checkpoint is saved, run again."""


class TaskSampler:
    """Examples-proportional sampling over tasks (optionally capped, or tempered); each task's
    rows are visited in a fresh seeded permutation per pass."""

    def __init__(
        self,
        sizes: dict[str, int],
        batch_size: int,
        seed: int,
        cap: int | None = None,
        temperature: float = 1.0,
    ):
        self.tasks = list(sizes)
        self.sizes = sizes
        self.batch_size = batch_size
        weights = np.array([min(n, cap) if cap else n for n in sizes.values()], dtype=float)
        weights = weights ** (1.0 / temperature)
        self.probs = weights / weights.sum()
        self.rng = np.random.default_rng(seed)
        self.order = {t: self.rng.permutation(n) for t, n in sizes.items()}
        self.pos = {t: 0 for t in sizes}

    def next(self) -> tuple[str, list[int]]:
        task = (
            self.tasks[int(self.rng.choice(len(self.tasks), p=self.probs))]
            if len(self.tasks) > 1
            else self.tasks[0]
        )
        out = []
        while len(out) < self.batch_size:
            if self.pos[task] == self.sizes[task]:
                self.order[task], self.pos[task] = self.rng.permutation(self.sizes[task]), 0
            take = min(self.batch_size - len(out), self.sizes[task] - self.pos[task])
            out.extend(self.order[task][self.pos[task] : self.pos[task] + take].tolist())
            self.pos[task] += take
        return task, out

    def state_dict(self) -> dict:
        """Plain types and tensors only, so that checkpoints load with weights_only=True."""
        return {
            "rng": self.rng.bit_generator.state,
            "pos": dict(self.pos),
            "order": {t: torch.from_numpy(o) for t, o in self.order.items()},
        }

    def load_state_dict(self, state: dict) -> None:
        self.rng.bit_generator.state = state["rng"]
        self.order = {t: o.numpy() for t, o in state["order"].items()}
        self.pos = dict(state["pos"])


def total_steps(sizes: dict[str, int], settings: dict, cap: int | None) -> int:
    examples = sum(min(n, cap) if cap else n for n in sizes.values())
    per_epoch = math.ceil(examples / (settings["batch_size"] * settings["grad_accum"]))
    steps = math.ceil(settings["epochs"] * per_epoch)
    return min(steps, settings["max_steps"]) if settings["max_steps"] else steps


def seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)


def _optimizer(model, settings):
    decay, no_decay = [], []
    for p in model.parameters():
        if p.requires_grad:
            (no_decay if p.ndim == 1 else decay).append(p)
    return torch.optim.AdamW(
        [
            {"params": decay, "weight_decay": settings["weight_decay"]},
            {"params": no_decay, "weight_decay": 0.0},
        ],
        lr=settings["lr"],
        eps=settings["adam_eps"],
    )


def fingerprint(settings: dict) -> str:
    """Hash of a job's settings (sorted JSON): a checkpoint resumes only under the same one."""
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()


def _atomic_save(obj, path: Path) -> None:
    with atomic_file(path, size_hint=payload_bytes(obj)) as tmp:
        torch.save(obj, tmp)


def _save_state(obj, checkpoint_dir: Path) -> None:
    """Write a new state file, keep the previous one as the spare (atomic_file fsyncs the
    directory after its rename, which makes both renames durable). The older spare goes first,
    so the disk holds at most two states at any time."""
    if (checkpoint_dir / STATE).exists():
        _discard(checkpoint_dir, SPARE)
    with atomic_file(checkpoint_dir / STATE, size_hint=payload_bytes(obj)) as tmp:
        torch.save(obj, tmp)
        if (checkpoint_dir / STATE).exists():
            os.replace(checkpoint_dir / STATE, checkpoint_dir / SPARE)


@contextlib.contextmanager
def _holding(checkpoint_dir: Path):
    """Hold the checkpoint directory for this process (the kernel frees it when the process
    dies): a job orphaned by a killed Snakemake may still be training into it."""
    fd = os.open(checkpoint_dir / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(fd, 32).decode(errors="replace").strip() or "?"
        os.close(fd)
        raise RuntimeError(
            f"{checkpoint_dir} is in use by another training process (pid {holder}), "
            "e.g. a job left running by a killed Snakemake: let it finish or kill it, "
            "then run again"
        ) from None
    os.ftruncate(fd, 0)
    os.write(fd, str(os.getpid()).encode())
    try:
        yield
    finally:
        os.close(fd)


def _discard(checkpoint_dir: Path, *names: str) -> None:
    for name in names:
        (checkpoint_dir / name).unlink(missing_ok=True)


def _read_checkpoint(checkpoint_dir: Path, expected: str, steps: int, log) -> dict | None:
    """The newest usable checkpoint, or None; unusable files are deleted with a message."""
    for name in (STATE, SPARE):
        path = checkpoint_dir / name
        if not path.exists():
            continue
        try:
            ckpt = torch.load(path, map_location="cpu", weights_only=True)
            missing = [k for k in CHECKPOINT_KEYS if k not in ckpt]
            if missing:
                raise ValueError(f"no {', '.join(missing)} in it (written by an older xstilts?)")
        except Exception as error:  # truncated, corrupt or foreign: any reason means unusable
            first_line = (str(error).splitlines() or [""])[0][:200]
            log(
                f"warning: checkpoint {path} is unreadable ({type(error).__name__}: {first_line}); "
                "discarding it"
            )
            _discard(checkpoint_dir, name)
            continue
        if ckpt["fingerprint"] != expected or ckpt["state"]["step"] > steps:
            log(
                f"warning: checkpoint {path} was written under other settings (fingerprint "
                f"{ckpt['fingerprint'][:12]}, this job's is {expected[:12]}); discarding it and "
                f"{BEST}, training from the start"
            )
            break
        if name == SPARE:
            log(f"resuming from the spare checkpoint {path}")
        return ckpt
    _discard(checkpoint_dir, STATE, SPARE, BEST)  # a fresh start owes nothing to old files
    return None


class _TermFlag:
    """Turns SIGTERM into a flag checked between optimizer steps."""

    def __init__(self):
        self.set = False
        self.previous = None

    def __enter__(self):
        self.previous = signal.signal(signal.SIGTERM, self._handle)
        return self

    def _handle(self, signum, frame):
        self.set = True

    def __exit__(self, *exc):
        signal.signal(signal.SIGTERM, self.previous)


def dev_score(model, task, dev, batch_size, device, pad_id, autocast, labels) -> float:
    """The task's headline dev metric."""
    features, examples = dev
    logits = predict(model, task, features, batch_size, device, pad_id, autocast)
    result = score(task, logits, features, labels, examples)
    return result[TASKS[task].metric], result


def train(
    model,
    train_sets: dict,
    dev_sets: dict,
    settings: dict,
    sampling: dict,
    seed: int,
    device,
    pad_id: int,
    checkpoint_dir: Path,
    autocast=None,
    log=print,
    stop_after: int | None = None,
    *,
    fingerprint: str,
) -> dict:
    """Train in place; return the history. `dev_sets`: task -> (features, examples or None).
    `fingerprint`: of the job's settings (see `fingerprint`), checked against the checkpoint's.
    `stop_after` simulates a crash after that many steps (tests)."""
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    with _holding(checkpoint_dir):
        remove_stale_temps(checkpoint_dir)
        sizes = {t: len(d) for t, d in train_sets.items()}
        sampler = TaskSampler(
            sizes, settings["batch_size"], seed, sampling.get("cap"), sampling.get("temperature", 1.0)
        )
        steps = total_steps(sizes, settings, sampling.get("cap"))
        optimizer = _optimizer(model, settings)
        from transformers import get_linear_schedule_with_warmup

        scheduler = get_linear_schedule_with_warmup(optimizer, int(settings["warmup_ratio"] * steps), steps)
        es = settings.get("early_stopping")
        state = {"step": 0, "best": None, "bad_evals": 0, "history": [], "losses": []}

        ckpt = _read_checkpoint(checkpoint_dir, fingerprint, steps, log)
        if ckpt is not None:
            model.load_state_dict(ckpt["model"])
            optimizer.load_state_dict(ckpt["optimizer"])
            scheduler.load_state_dict(ckpt["scheduler"])
            sampler.load_state_dict(ckpt["sampler"])
            torch.set_rng_state(ckpt["torch_rng"])
            if ckpt["cuda_rng"] and torch.cuda.is_available():
                torch.cuda.set_rng_state_all(ckpt["cuda_rng"])
            state = ckpt["state"]
            log(f"resumed from step {state['step']} of {steps}")
            del ckpt

        def save_checkpoint():
            cuda_rng = torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else []
            _save_state(
                {
                    "fingerprint": fingerprint,
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(),
                    "sampler": sampler.state_dict(),
                    "torch_rng": torch.get_rng_state(),
                    "cuda_rng": cuda_rng,
                    "state": state,
                },
                checkpoint_dir,
            )

        columns = {t: [c for c in MODEL_KEYS if c in d.column_names] for t, d in train_sets.items()}
        labels = {t: model.head_specs[t]["labels"] for t in train_sets}
        started = time.time()
        with _TermFlag() as term:
            while state["step"] < steps:
                model.train()
                optimizer.zero_grad()
                loss_sum = 0.0
                for _ in range(settings["grad_accum"]):
                    task, idx = sampler.next()
                    batch = model_batch(train_sets[task], idx, columns[task], pad_id, device)
                    with autocast() if autocast else torch.autocast("cpu", enabled=False):
                        loss, _ = model(task, batch)
                    (loss / settings["grad_accum"]).backward()
                    loss_sum += loss.item() / settings["grad_accum"]
                torch.nn.utils.clip_grad_norm_(model.parameters(), settings["max_grad_norm"])
                optimizer.step()
                scheduler.step()
                state["step"] += 1
                state["losses"].append(round(loss_sum, 5))
                if es and state["step"] % es["every"] == 0:
                    improved = _early_stopping_eval(
                        model, dev_sets, labels, settings, device, pad_id, autocast, state, checkpoint_dir
                    )
                    log(f"step {state['step']}/{steps} loss {loss_sum:.4f} dev {state['history'][-1]}")
                    if not improved and state["bad_evals"] >= es["patience"]:
                        log(f"early stop at step {state['step']}")
                        break
                if state["step"] % settings["checkpoint_every"] == 0 or term.set:
                    save_checkpoint()
                if term.set:
                    raise Preempted(f"SIGTERM at step {state['step']}: checkpoint saved")
                if stop_after is not None and state["step"] >= stop_after:
                    save_checkpoint()
                    raise Preempted(f"stopped after {stop_after} steps (test)")
        if state["best"] is not None:
            model.load_state_dict(torch.load(checkpoint_dir / BEST, weights_only=True))
        dev = {
            t: dev_score(model, t, d, settings["batch_size"] * 2, device, pad_id, autocast, labels[t])[1]
            for t, d in dev_sets.items()
        }
        return {
            "steps": state["step"],
            "planned_steps": steps,
            "losses": state["losses"],
            "early_stopping": state["history"],
            "dev": dev,
            "train_seconds": round(time.time() - started, 2),
        }


def _early_stopping_eval(
    model, dev_sets, labels, settings, device, pad_id, autocast, state, checkpoint_dir
) -> bool:
    """Mean headline dev metric over the tasks; keeps the best weights on disk."""
    scores = [
        dev_score(model, t, d, settings["batch_size"] * 2, device, pad_id, autocast, labels[t])[0]
        for t, d in dev_sets.items()
    ]
    value = float(np.mean(scores))
    state["history"].append({"step": state["step"], "dev": round(value, 4)})
    if state["best"] is None or value > state["best"]:
        state["best"], state["bad_evals"] = value, 0
        _atomic_save(model.state_dict(), checkpoint_dir / BEST)
        return True
    state["bad_evals"] += 1
    return False
