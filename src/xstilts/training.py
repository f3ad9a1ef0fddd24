"""The training loop: multi-task sampling, accumulation, early stopping, resumable checkpoints.

A checkpoint holds everything the rest of the run depends on (weights, optimizer, scheduler,
sampler and RNG states, early-stopping state), so a run resumed after SIGTERM or SIGKILL ends
with the same weights as one never interrupted (on CPU, where kernels are deterministic).

It also holds a fingerprint of the job's settings: a checkpoint written under other settings
(a changed lr or batch size) is discarded, never resumed. Each save writes a new file and keeps
the previous one as a spare, so a checkpoint found unreadable (truncated by a crash of the
machine, a full disk) falls back to the spare, then to a fresh start, never to a failing resume.

Data-parallel (`launch`, one process per device, torch DDP): every rank draws the same global
batch from the same sampler and trains on its share; each share's loss is weighted by its share
of the batch's examples (tagging: labelled tokens), so the averaged gradient is the one of the
single-process run with the same batch. Only rank 0 writes checkpoints; all ranks resume from it.
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
from xstilts.modeling import head_kind
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
    rows are visited in a fresh seeded permutation per pass. With `lengths` (task -> length per
    row), each pass is length-grouped as HF Trainer's group_by_length: the permutation is cut into
    mega-batches of up to 50 batches, each sorted by length, so that a batch pads little."""

    def __init__(
        self,
        sizes: dict[str, int],
        batch_size: int,
        seed: int,
        cap: int | None = None,
        temperature: float = 1.0,
        lengths: dict[str, np.ndarray] | None = None,
    ):
        self.tasks = list(sizes)
        self.sizes = sizes
        self.batch_size = batch_size
        self.lengths = lengths
        weights = np.array([min(n, cap) if cap else n for n in sizes.values()], dtype=float)
        weights = weights ** (1.0 / temperature)
        self.probs = weights / weights.sum()
        self.rng = np.random.default_rng(seed)
        self.order = {t: self._pass(t) for t in sizes}
        self.pos = {t: 0 for t in sizes}

    def _pass(self, task: str) -> np.ndarray:
        order = self.rng.permutation(self.sizes[task])
        if self.lengths is None:
            return order
        mega = max(1, min(len(order) // (self.batch_size * 4), 50)) * self.batch_size  # HF's choice
        lengths = self.lengths[task]
        return np.concatenate(
            [
                chunk[np.argsort(-lengths[chunk], kind="stable")]
                for chunk in np.split(order, range(mega, len(order), mega))
            ]
        )

    def next(self) -> tuple[str, list[int]]:
        task = (
            self.tasks[int(self.rng.choice(len(self.tasks), p=self.probs))]
            if len(self.tasks) > 1
            else self.tasks[0]
        )
        out = []
        while len(out) < self.batch_size:
            if self.pos[task] == self.sizes[task]:
                self.order[task], self.pos[task] = self._pass(task), 0
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


def _tokens(row: list) -> int:
    """Tokens of one row's input_ids (multiple choice: of all its choices)."""
    return sum(len(choice) for choice in row) if row and isinstance(row[0], list) else len(row)


def seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)


def _optimizer(model, settings, device):
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
        fused=device.type == "cuda" or None,  # one kernel per step on a GPU; CPU: torch's default
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


def _read_checkpoint(checkpoint_dir: Path, expected: str, steps: int, log) -> tuple[str | None, dict | None]:
    """(file name, the newest usable checkpoint), or (None, None); unusable files are deleted
    with a message."""
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
        return name, ckpt
    _discard(checkpoint_dir, STATE, SPARE, BEST)  # a fresh start owes nothing to old files
    return None, None


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
) -> dict | None:
    """Train in place; return the history (None on ranks other than 0 of a data-parallel run).
    `dev_sets`: task -> (features, examples or None). `fingerprint`: of the job's settings (see
    `fingerprint`), checked against the checkpoint's. `stop_after` simulates a crash after that
    many steps (tests)."""
    rank, world = _world()
    if world > 1 and settings["batch_size"] < world:
        raise ValueError(
            f"training.batch_size {settings['batch_size']} is smaller than the {world} devices of a "
            f"data-parallel job: raise batch_size to at least {world}, or lower resources.gpus"
        )
    contrastive = [t for t in train_sets if head_kind(model.head_specs[t]["format"]) == "dual_encoder"]
    if world > 1 and contrastive:  # in-batch negatives would be each rank's share only
        raise ValueError(
            f"{', '.join(contrastive)} trains a dual encoder with in-batch negatives, which a "
            f"data-parallel job would split across its {world} devices: set resources.gpus to 1"
        )
    if rank:
        log = _quiet
        torch.manual_seed(seed + 1_000_003 * rank)  # own dropout masks; rank 0 keeps the 1-process stream
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    with _holding(checkpoint_dir) if rank == 0 else contextlib.nullcontext():
        if rank == 0:
            remove_stale_temps(checkpoint_dir)
        sizes = {t: len(d) for t, d in train_sets.items()}
        lengths = (
            {t: np.array([_tokens(row) for row in d["input_ids"]]) for t, d in train_sets.items()}
            if settings.get("group_by_length")
            else None
        )
        cap, temperature = sampling.get("cap"), sampling.get("temperature", 1.0)
        sampler = TaskSampler(sizes, settings["batch_size"], seed, cap, temperature, lengths)
        steps = total_steps(sizes, settings, cap)
        optimizer = _optimizer(model, settings, device)
        from transformers import get_linear_schedule_with_warmup

        scheduler = get_linear_schedule_with_warmup(optimizer, int(settings["warmup_ratio"] * steps), steps)
        es = settings.get("early_stopping")
        state = {"step": 0, "best": None, "bad_evals": 0, "history": [], "losses": []}

        # rank 0 picks (and cleans up) the checkpoint; the other ranks read the file it picked
        name, ckpt = _read_checkpoint(checkpoint_dir, fingerprint, steps, log) if rank == 0 else (None, None)
        name = _broadcast(name, world)
        if rank and name is not None:
            ckpt = torch.load(checkpoint_dir / name, map_location="cpu", weights_only=True)
        if ckpt is not None:
            model.load_state_dict(ckpt["model"])
            optimizer.load_state_dict(ckpt["optimizer"])
            scheduler.load_state_dict(ckpt["scheduler"])
            sampler.load_state_dict(ckpt["sampler"])
            rngs = ckpt.get("rank_rngs") or [(ckpt["torch_rng"], ckpt["cuda_rng"])]
            if len(rngs) != world and world > 1:
                log(
                    f"warning: the checkpoint was written by {len(rngs)} process(es), this job has "
                    f"{world}: dropout draws new random masks from here on"
                )
            torch_rng, cuda_rng = rngs[rank] if len(rngs) == world else (ckpt["torch_rng"], ckpt["cuda_rng"])
            if rank == 0 or len(rngs) == world:
                torch.set_rng_state(torch_rng)
                if cuda_rng and torch.cuda.is_available():
                    _set_cuda_rng(cuda_rng, world)
            state = ckpt["state"]
            log(f"resumed from step {state['step']} of {steps}")
            del ckpt
        _barrier(world)  # every rank has read the checkpoint before rank 0 writes the next one

        net = model
        if settings.get("compile"):
            model.encoder.compile()  # in place: state_dict keys stay those of the plain model
        if world > 1:
            from torch.nn.parallel import DistributedDataParallel

            net = DistributedDataParallel(
                model,
                device_ids=[device] if device.type == "cuda" else None,
                find_unused_parameters=len(train_sets) > 1,  # other tasks' heads get no gradient
            )

        position = sampler.state_dict()  # the sampler at the last step boundary: what checkpoints hold

        def save_checkpoint():
            rngs = _gather((torch.get_rng_state(), _cuda_rng(world)), world)
            if rank:
                return
            _save_state(
                {
                    "fingerprint": fingerprint,
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(),
                    "sampler": position,
                    "torch_rng": rngs[0][0],
                    "cuda_rng": rngs[0][1],
                    "rank_rngs": rngs if world > 1 else [],
                    "state": state,
                },
                checkpoint_dir,
            )

        columns = {t: [c for c in MODEL_KEYS if c in d.column_names] for t, d in train_sets.items()}
        labels = {t: model.head_specs[t]["labels"] for t in train_sets}
        grad_accum = settings["grad_accum"]
        pinned = device.type == "cuda"

        def draw():
            """The next step's micro-batches. Built while the GPU still runs the current step;
            on a GPU from pinned memory, so that the copies overlap it too."""
            out = []
            for _ in range(grad_accum):
                task, idx = sampler.next()
                if world > 1:
                    idx = np.array_split(np.asarray(idx), world)[rank].tolist()
                batch = model_batch(train_sets[task], idx, columns[task], pad_id, "cpu" if pinned else device)
                if pinned:
                    batch = {k: v.pin_memory().to(device, non_blocking=True) for k, v in batch.items()}
                out.append((task, batch))
            return out

        started = time.time()
        pending = draw() if state["step"] < steps else []
        with _TermFlag() as term:
            while state["step"] < steps:
                net.train()
                optimizer.zero_grad()
                losses = []
                for i, (task, batch) in enumerate(pending):
                    last = i == len(pending) - 1
                    with contextlib.nullcontext() if world == 1 or last else net.no_sync():
                        with autocast() if autocast else torch.autocast("cpu", enabled=False):
                            loss, _ = net(task, batch)
                        if world > 1:
                            kind = head_kind(model.head_specs[task]["format"])
                            loss = loss * _share_weight(kind, batch, world, device)
                        (loss / grad_accum).backward()
                    losses.append(loss.detach())
                torch.nn.utils.clip_grad_norm_(model.parameters(), settings["max_grad_norm"])
                optimizer.step()
                scheduler.step()
                state["step"] += 1
                position = sampler.state_dict()
                pending = draw() if state["step"] < steps else []
                loss_sum = _step_loss(losses, grad_accum, world)
                state["losses"].append(round(loss_sum, 5))
                if es and state["step"] % es["every"] == 0:
                    improved = None
                    if rank == 0:
                        improved = _early_stopping_eval(
                            model, dev_sets, labels, settings, device, pad_id, autocast, state, checkpoint_dir
                        )
                    state, improved = _broadcast((state, improved), world)
                    log(f"step {state['step']}/{steps} loss {loss_sum:.4f} dev {state['history'][-1]}")
                    if not improved and state["bad_evals"] >= es["patience"]:
                        log(f"early stop at step {state['step']}")
                        break
                stop = _any_rank(term.set, world, device)
                if state["step"] % settings["checkpoint_every"] == 0 or stop:
                    save_checkpoint()
                if stop:
                    _barrier(world)  # the other ranks exit after rank 0 has saved
                    raise Preempted(f"SIGTERM at step {state['step']}: checkpoint saved")
                if stop_after is not None and state["step"] >= stop_after:
                    save_checkpoint()
                    _barrier(world)
                    raise Preempted(f"stopped after {stop_after} steps (test)")
        _barrier(world)  # rank 0 has written best.pt
        if rank:
            return None
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
            "processes": world,
        }


def _quiet(*args, **kwargs) -> None:
    """The log of ranks other than 0: rank 0 speaks for the job."""


def _world() -> tuple[int, int]:
    """(rank, number of processes) of this data-parallel job; (0, 1) outside one."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _barrier(world: int) -> None:
    if world > 1:
        torch.distributed.barrier()


def _broadcast(obj, world: int):
    """Rank 0's object, on every rank."""
    if world == 1:
        return obj
    box = [obj]
    torch.distributed.broadcast_object_list(box, src=0)
    return box[0]


def _gather(obj, world: int) -> list:
    """Every rank's object, in rank order."""
    if world == 1:
        return [obj]
    out = [None] * world
    torch.distributed.all_gather_object(out, obj)
    return out


def _cuda_rng(world: int):
    """The CUDA generator state(s) a checkpoint keeps: all devices for one process, the own one
    for a rank of a data-parallel job."""
    if not torch.cuda.is_initialized():
        return []
    return torch.cuda.get_rng_state() if world > 1 else torch.cuda.get_rng_state_all()


def _set_cuda_rng(saved, world: int) -> None:
    if world > 1 and isinstance(saved, torch.Tensor):
        torch.cuda.set_rng_state(saved)
    elif world == 1 and isinstance(saved, list):
        torch.cuda.set_rng_state_all(saved)


def _any_rank(flag: bool, world: int, device) -> bool:
    """True when any rank's flag is set (a SIGTERM may reach only some ranks)."""
    if world == 1:
        return flag
    value = torch.tensor([float(flag)], device=device)
    torch.distributed.all_reduce(value, op=torch.distributed.ReduceOp.MAX)
    return bool(value.item())


def _share_weight(head: str, batch: dict, world: int, device) -> torch.Tensor:
    """world x this rank's share of the global batch's loss terms (labelled tokens for a token
    head, rows otherwise): DDP averages gradients over ranks, so the shares' means weighted by it
    give the single-process mean exactly, also when the shares are unequal."""
    if head == "token":
        units = (batch["labels"] != -100).sum().to(device, torch.float64)
    else:
        units = torch.tensor(float(batch["input_ids"].shape[0]), dtype=torch.float64, device=device)
    total = units.clone()
    torch.distributed.all_reduce(total)
    return (units * world / total).float()


def _step_loss(losses: list, grad_accum: int, world: int) -> float:
    """The step's mean training loss (one host sync, after the next batch is on its way)."""
    if world == 1:
        loss_sum = 0.0
        for loss in losses:
            loss_sum += loss.item() / grad_accum
        return loss_sum
    total = torch.stack([loss.float() for loss in losses]).sum() / (grad_accum * world)
    torch.distributed.all_reduce(total)
    return total.item()


PREEMPTED_EXIT = 75  # a rank that stopped on SIGTERM (see `launch`)


def launch(fn, world: int, args: tuple, backend: str) -> None:
    """Run fn(rank, world, *args) in `world` fresh processes joined by torch.distributed
    (backend: nccl on GPUs, gloo on the CPU). A SIGTERM to this process reaches every rank, which
    saves the checkpoint and stops: Preempted is raised here then. A rank that fails stops them
    all and raises RuntimeError (its traceback is on stderr)."""
    import multiprocessing.connection
    import socket

    import torch.multiprocessing as mp

    with socket.socket() as probe:  # a free port for the rendezvous on this machine
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    context = mp.start_processes(
        _rank_main, args=(fn, world, backend, port, args), nprocs=world, join=False, start_method="spawn"
    )
    processes = context.processes
    stopping = []  # once a SIGTERM came, a rank it killed before training (or one that lost its
    # peers then) counts as stopped: the checkpoint on disk is whole either way

    def forward(signum, frame):
        stopping.append(signum)
        for process in processes:
            if process.is_alive():
                os.kill(process.pid, signal.SIGTERM)

    previous = signal.signal(signal.SIGTERM, forward)
    try:
        running = list(processes)
        while running:
            multiprocessing.connection.wait([p.sentinel for p in running])
            for process in [p for p in running if not p.is_alive()]:
                running.remove(process)
                if process.exitcode not in (0, PREEMPTED_EXIT) and not stopping:
                    for other in running:
                        other.terminate()
                    for other in running:
                        other.join()
                    raise RuntimeError(
                        f"rank {processes.index(process)} of a {world}-process training job failed "
                        f"(exit code {process.exitcode}); its traceback is above"
                    )
    finally:
        signal.signal(signal.SIGTERM, previous)
    if stopping or any(p.exitcode == PREEMPTED_EXIT for p in processes):
        raise Preempted("SIGTERM reached the data-parallel job: checkpoint saved")


def _rank_main(rank: int, fn, world: int, backend: str, port: int, args: tuple) -> None:
    import sys
    import traceback

    import torch.distributed as dist

    if backend == "nccl":
        torch.cuda.set_device(rank)
    torch.set_num_threads(max(1, torch.get_num_threads() // world))  # the job's CPUs, shared
    dist.init_process_group(backend, init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
    try:
        fn(rank, world, *args)
    except Preempted as stop:
        print(f"xstilts: rank {rank}: {stop}", file=sys.stderr, flush=True)
        sys.exit(PREEMPTED_EXIT)
    except BaseException:
        traceback.print_exc()
        sys.exit(1)
    finally:
        dist.destroy_process_group()


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
