"""GPU slots for jobs that Snakemake or SLURM start.

Snakemake's `--resources gpu=N` only caps how many GPU jobs run at once; it never
says *which* GPU a job gets. So each job takes its own slots here: one lock file
per device, held with a non-blocking `fcntl.flock` that the kernel releases when
the process dies (even on SIGKILL), and `CUDA_VISIBLE_DEVICES` set to the held
ids before the caller touches CUDA.

The pool, first match wins:
1. `CUDA_VISIBLE_DEVICES`, when a scheduler (SLURM) or the user set it;
2. `XSTILTS_GPU_POOL`, comma-separated ids (tests use it for fake slots);
3. ids 0..N-1 of the GPUs torch can see.

Lock names identify physical devices, so that jobs on one node never share a
GPU and never block each other falsely. Under SLURM with cgroup-constrained
devices every job may see `CUDA_VISIBLE_DEVICES=0` for a different physical GPU;
SLURM then also exports the global ids (`SLURM_STEP_GPUS`, or `SLURM_JOB_GPUS` in
the batch step), and those name the lock files. When SLURM gives no global ids
that match the pool, the locks are scoped to the job and step (`SLURM_JOB_ID`,
`SLURM_STEP_ID`): SLURM already keeps allocations apart, the locks only have to
keep the processes inside one allocation apart.

The lock files (0600) and their directory are the user's own (xstilts.private): another user who
could open a lock file could hold its slot.

Slots are only ever handed out by taking their locks: a child process that calls
`acquire_gpus` while its parent holds the slots waits for them like any other job.
A job that asked for GPUs but runs on the CPU (empty pool, or a torch that cannot
use CUDA) warns on stderr and says so in its device record (`describe_device`).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from xstilts import private

POOL_ENV = "XSTILTS_GPU_POOL"
LOCK_DIR_ENV = "XSTILTS_LOCK_DIR"
VISIBLE_ENV = "CUDA_VISIBLE_DEVICES"

logger = logging.getLogger(__name__)


class GpuPoolError(RuntimeError):
    """The requested GPU slots cannot be had (too many asked, or timed out)."""


class Slots(list):
    """The held ids, plus how many GPUs were asked for and, when none could be had, why."""

    def __init__(self, ids: list[str], requested: int, empty_reason: str | None = None):
        super().__init__(ids)
        self.requested = requested
        self.empty_reason = empty_reason


# Slots this process holds: a nested acquire_gpus would wait for its own locks forever.
_held_here: list[str] = []


def split_ids(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


# Values that hide every GPU: CUDA's "-1", and what some SLURM versions set for
# jobs that asked for no GPU.
NO_GPU_VALUES = (["-1"], ["NoDevFiles"])


def gpu_pool() -> list[str]:
    """Device ids this process may use, as strings (see the module docstring)."""
    return _pool_and_reason()[0]


def _pool_and_reason() -> tuple[list[str], str | None]:
    """(pool, why it is empty or None)."""
    if VISIBLE_ENV in os.environ:
        ids = split_ids(os.environ[VISIBLE_ENV])
        pool = [] if ids in NO_GPU_VALUES else ids
        return pool, None if pool else f"{VISIBLE_ENV}={os.environ[VISIBLE_ENV]!r} hides every GPU"
    if POOL_ENV in os.environ:
        pool = split_ids(os.environ[POOL_ENV])
        return pool, None if pool else f"{POOL_ENV} is empty"
    pool = [str(i) for i in range(count_torch_gpus())]
    if pool:
        return pool, None
    import torch

    return pool, f"torch {torch.__version__} (CUDA build: {torch.version.cuda}) sees no GPU on this machine"


def count_torch_gpus() -> int:
    """Number of GPUs torch sees, counted in a child process.

    Counting in this process may initialise the CUDA driver (torch falls back to
    cudaGetDeviceCount when NVML is missing), which reads CUDA_VISIBLE_DEVICES
    once: the slots set afterwards would then be silently ignored.
    """
    import torch

    if torch.version.cuda is None and torch.version.hip is None:
        return 0  # a CPU-only build: nothing to count, no child process needed
    command = [sys.executable, "-c", "import torch; print(torch.cuda.device_count())"]
    try:
        result = subprocess.run(command, capture_output=True, text=True, check=True, timeout=120)
    except (OSError, subprocess.SubprocessError) as error:
        logger.warning("could not count GPUs with torch, using none: %s", error)
        return 0
    return int(result.stdout.strip().splitlines()[-1])


def default_lock_dir() -> Path:
    if os.environ.get(LOCK_DIR_ENV):
        return Path(os.environ[LOCK_DIR_ENV])
    return Path(tempfile.gettempdir()) / f"xstilts-gpu-locks-{os.getuid()}"


def lock_directory(base: Path, scope: str) -> Path:
    """base/scope, both the user's own (xstilts.private): another user who could write there, or
    who made the default directory first, could hold every slot."""
    fix = f"set {LOCK_DIR_ENV} to a directory of your own"
    try:
        return Path(private.private_directory(Path(private.private_directory(base, fix)) / scope, fix))
    except private.NotPrivate as error:
        raise GpuPoolError(f"GPU lock directory {error.strerror}") from None


def lock_scope(pool: list[str]) -> tuple[str, list[str]]:
    """(sub-directory, lock name per pool entry) naming physical devices where known."""
    host = socket.gethostname()
    if VISIBLE_ENV in os.environ and os.environ.get("SLURM_JOB_ID"):
        global_ids = split_ids(os.environ.get("SLURM_STEP_GPUS") or os.environ.get("SLURM_JOB_GPUS") or "")
        if len(global_ids) == len(pool):
            return host, global_ids
        step = os.environ.get("SLURM_STEP_ID", "batch")
        return f"{host}-slurm{os.environ['SLURM_JOB_ID']}.{step}", pool
    return host, pool


def try_lock(path: Path) -> int | None:
    """File descriptor holding an exclusive lock on path, or None if taken."""
    # Read-only is enough for flock; anyone who can open it can hold the slot, hence 0600.
    fd = os.open(path, os.O_RDONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def release(fds: list[int]) -> None:
    for fd in fds:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def try_lock_slots(n: int, pool: list[str], lock_paths: list[Path]) -> tuple[list[str], list[int]] | None:
    """Lock n free slots, or none at all: never wait while holding a lock, so no deadlock."""
    ids, fds = [], []
    for device_id, path in zip(pool, lock_paths):
        fd = try_lock(path)
        if fd is None:
            continue
        ids.append(device_id)
        fds.append(fd)
        if len(ids) == n:
            return ids, fds
    release(fds)
    return None


def check_cuda_not_initialised() -> None:
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_initialized():
        raise GpuPoolError(
            "CUDA is already initialised in this process, so CUDA_VISIBLE_DEVICES "
            "can no longer select GPUs: enter acquire_gpus before using CUDA"
        )


@contextlib.contextmanager
def set_visible_devices(ids: list[str]) -> Iterator[None]:
    saved = os.environ.get(VISIBLE_ENV)
    os.environ[VISIBLE_ENV] = ",".join(ids)
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop(VISIBLE_ENV, None)
        else:
            os.environ[VISIBLE_ENV] = saved


def held_slots(stage: str, gpus: int) -> int:
    """GPU slots a job holds: a training job all of its model's `gpus` (data-parallel), an
    evaluation one at most (it runs on one device)."""
    return min(gpus, 1) if stage == "evaluate" else gpus


def data_parallel_size(ids: list[str]) -> int:
    """Processes a training job runs: one per held GPU when torch can use them all (torch DDP,
    see training.launch), else one (a CPU fallback trains in one process, as with one GPU)."""
    if len(ids) < 2 or cpu_fallback(ids):
        return 1
    import torch

    if torch.cuda.device_count() < len(ids):
        raise GpuPoolError(
            f"holds GPU slots {','.join(ids)} but torch sees {torch.cuda.device_count()} of them: "
            f"check {VISIBLE_ENV} and the driver"
        )
    return len(ids)


@contextlib.contextmanager
def acquire_gpus(
    n: int, lock_dir: str | Path | None = None, timeout: float | None = None
) -> Iterator[list[str]]:
    """Hold n GPU slots; yields their ids (strings), [] when the pool is empty (CPU).

    While held, CUDA_VISIBLE_DEVICES lists exactly these ids, so the caller must
    import/initialise CUDA only after entering. Waits (polling with backoff) for
    free slots until `timeout` seconds (None: forever), then raises GpuPoolError.
    """
    if n < 0:
        raise ValueError(f"cannot acquire a negative number of GPUs: {n}")
    check_cuda_not_initialised()
    pool, empty_reason = _pool_and_reason()
    if n == 0 or not pool:
        with set_visible_devices([]):
            yield Slots([], n, empty_reason)
        return
    if _held_here:
        raise GpuPoolError(
            f"this process already holds GPU slot(s) {','.join(_held_here)}: "
            "a nested acquire_gpus would wait for its own locks"
        )
    if n > len(pool):
        raise GpuPoolError(f"asked for {n} GPUs but the pool has only {len(pool)}: {','.join(pool)}")

    scope, names = lock_scope(pool)
    directory = lock_directory(Path(lock_dir) if lock_dir is not None else default_lock_dir(), scope)
    # Old MIG ids contain "/"; lock files must stay in this directory.
    lock_paths = [directory / f"gpu-{name.replace('/', '_')}.lock" for name in names]

    ids, fds = wait_for_slots(n, pool, lock_paths, timeout)
    _held_here[:] = ids
    try:
        with set_visible_devices(ids):
            yield Slots(ids, n)
    finally:
        _held_here.clear()
        release(fds)


def wait_for_slots(
    n: int, pool: list[str], lock_paths: list[Path], timeout: float | None
) -> tuple[list[str], list[int]]:
    deadline = None if timeout is None else time.monotonic() + timeout
    delay = 0.05
    logged = False
    while True:
        held = try_lock_slots(n, pool, lock_paths)
        if held is not None:
            return held
        if deadline is not None and time.monotonic() >= deadline:
            raise GpuPoolError(f"no {n} free GPU slots of {','.join(pool)} within {timeout} s")
        if not logged:
            logger.info("waiting for %d free GPU slot(s) of %s", n, ",".join(pool))
            logged = True
        # Jitter keeps two waiting multi-GPU jobs from retrying in lockstep.
        pause = delay * random.uniform(0.5, 1.5)
        if deadline is not None:
            pause = max(0.0, min(pause, deadline - time.monotonic()))
        time.sleep(pause)
        delay = min(delay * 1.5, 2.0)


def cpu_fallback(ids: list[str]) -> str | None:
    """Why a job that asked for GPUs runs on the CPU, or None when it runs where it asked."""
    requested = getattr(ids, "requested", len(ids))
    if requested == 0:
        return None
    if not ids:
        reason = getattr(ids, "empty_reason", None) or "the GPU pool is empty"
        return f"asked for {requested} GPU(s) but none is available: {reason}"
    import torch

    if torch.cuda.is_available():
        return None
    return (
        f"holds GPU slot(s) {','.join(ids)} but torch {torch.__version__} cannot use CUDA here "
        f"(CUDA build: {torch.version.cuda}; no driver or device visible)"
    )


def describe_device(ids: list[str]) -> dict:
    """The job's device record (for its JSON): the slots held, the GPUs' names, and
    `fallback_to_cpu` with the reason when it asked for GPUs but runs on the CPU."""
    fallback = cpu_fallback(ids)
    record = {
        "slots": list(ids),
        "requested_gpus": getattr(ids, "requested", len(ids)),
        VISIBLE_ENV: os.environ.get(VISIBLE_ENV),
        "fallback_to_cpu": fallback is not None,
    }
    if fallback:
        record["fallback_reason"] = fallback
    torch = sys.modules.get("torch")
    on_gpu = bool(ids) and not fallback and torch is not None and torch.cuda.is_available()
    record["type"] = "cuda" if on_gpu else "cpu"
    if on_gpu:
        record["names"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    return record


PRECISIONS = ("fp32", "bf16")


def torch_device_and_dtype(ids: list[str], precision: str = "fp32", rank: int = 0):
    """(torch.device, autocast dtype) of one process: GPU `rank` of the held ones (renumbered
    from 0 by CUDA_VISIBLE_DEVICES), or the CPU. bf16 only where asked for (`precision`; the
    reference code trains in fp32) and on a GPU that supports it; the CPU always runs fp32.
    A job that asked for GPUs and falls back to the CPU says so on stderr.

    Use as `torch.autocast(device.type, dtype=dtype, enabled=dtype != torch.float32)`.
    """
    import torch

    if precision not in PRECISIONS:
        raise ValueError(f"precision {precision!r} is unknown: use one of {', '.join(PRECISIONS)}")
    fallback = cpu_fallback(ids)
    if fallback and rank == 0:
        print(
            f"xstilts: WARNING: {fallback}. Running on the CPU, which is far slower; "
            "the job's JSON records fallback_to_cpu.",
            file=sys.stderr,
            flush=True,
        )
    if ids and torch.cuda.is_available():
        device = torch.device("cuda", rank)
        bf16 = precision == "bf16" and torch.cuda.is_bf16_supported(including_emulation=False)
        return device, torch.bfloat16 if bf16 else torch.float32
    return torch.device("cpu"), torch.float32
