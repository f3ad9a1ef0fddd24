"""GPU slot pool: real concurrent processes on a fake pool of 4 slots."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from xstilts import devices, stages
from xstilts.devices import GpuPoolError, acquire_gpus, describe_device, lock_scope, torch_device_and_dtype

SRC = Path(__file__).resolve().parents[1] / "src"

# Acquire n slots, append {"ids", "start", "end"} to a JSON-lines file, hold for a while.
RECORDING_WORKER = """
import json, sys, time
from xstilts.devices import acquire_gpus
n, hold, record_path, lock_dir = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3], sys.argv[4]
with acquire_gpus(n, lock_dir=lock_dir, timeout=30) as ids:
    start = time.time()
    import os
    visible = os.environ["CUDA_VISIBLE_DEVICES"]
    time.sleep(hold)
    end = time.time()
with open(record_path, "a") as record:
    record.write(json.dumps({"n": n, "ids": ids, "visible": visible, "start": start, "end": end}) + "\\n")
"""

# Acquire n slots, say which, then hold them until killed.
HOLDING_WORKER = """
import sys, time
from xstilts.devices import acquire_gpus
with acquire_gpus(int(sys.argv[1]), lock_dir=sys.argv[2], timeout=30) as ids:
    print("held " + ",".join(ids), flush=True)
    time.sleep(600)
"""

SCHEDULER_VARIABLES = [
    "CUDA_VISIBLE_DEVICES",
    devices.POOL_ENV,
    "XSTILTS_GPUS_HELD",  # what older versions read to skip the locks
    devices.LOCK_DIR_ENV,
    "SLURM_JOB_ID",
    "SLURM_STEP_ID",
    "SLURM_STEP_GPUS",
    "SLURM_JOB_GPUS",
]


@pytest.fixture(autouse=True)
def fake_pool(monkeypatch):
    """A fake pool of 4 slots and no scheduler, unless a test says otherwise."""
    for name in SCHEDULER_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(devices.POOL_ENV, "0,1,2,3")


def worker_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SCHEDULER_VARIABLES}
    env["PYTHONPATH"] = str(SRC)
    env[devices.POOL_ENV] = "0,1,2,3"
    env.update(extra)
    return env


@pytest.fixture
def start_holder():
    """start_holder(n, lock_dir, **env): a process holding n slots, returned once it holds them.

    Holders still alive when the test ends (e.g. after a failed assertion) are killed.
    """
    started: list[subprocess.Popen] = []

    def start(n: int, lock_dir: Path, **env: str) -> tuple[subprocess.Popen, list[str]]:
        process = subprocess.Popen(
            [sys.executable, "-c", HOLDING_WORKER, str(n), str(lock_dir)],
            env=worker_env(**env),
            stdout=subprocess.PIPE,
            text=True,
        )
        started.append(process)
        line = process.stdout.readline().strip()
        assert line.startswith("held"), f"holder did not start: {line!r}"
        return process, line.removeprefix("held ").split(",")

    yield start
    for process in started:
        kill(process)


def kill(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    process.stdout.close()


def test_concurrent_processes_never_share_a_slot(tmp_path):
    record_path = tmp_path / "holds.jsonl"
    requests = [1, 2, 1, 2, 1, 1, 2, 1, 2, 1]
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                RECORDING_WORKER,
                str(n),
                "0.3",
                str(record_path),
                str(tmp_path / "locks"),
            ],
            env=worker_env(),
        )
        for n in requests
    ]
    assert [worker.wait(timeout=60) for worker in workers] == [0] * len(requests)

    holds = [json.loads(line) for line in record_path.read_text().splitlines()]
    assert sorted(hold["n"] for hold in holds) == sorted(requests)
    for hold in holds:
        assert len(set(hold["ids"])) == hold["n"], hold
        assert set(hold["ids"]) <= {"0", "1", "2", "3"}
        assert hold["visible"] == ",".join(hold["ids"])

    for slot in "0123":
        intervals = sorted((h["start"], h["end"]) for h in holds if slot in h["ids"])
        for (_, previous_end), (next_start, _) in zip(intervals, intervals[1:]):
            assert next_start >= previous_end, f"slot {slot} held twice at once"

    # The test means something only if holds really overlapped in time.
    most_at_once = max(
        sum(h["start"] <= moment < h["end"] for h in holds) for moment in (h["start"] for h in holds)
    )
    assert most_at_once >= 2


def test_two_slots_are_two_distinct_ids_and_visible(tmp_path):
    with acquire_gpus(2, lock_dir=tmp_path) as ids:
        assert len(ids) == 2 and len(set(ids)) == 2
        assert os.environ["CUDA_VISIBLE_DEVICES"] == ",".join(ids)
    assert "CUDA_VISIBLE_DEVICES" not in os.environ


def test_sigkilled_holder_releases_its_slots(tmp_path, start_holder):
    holder, held = start_holder(4, tmp_path)
    assert held == ["0", "1", "2", "3"]
    with pytest.raises(GpuPoolError):
        with acquire_gpus(1, lock_dir=tmp_path, timeout=0.3):
            pass
    kill(holder)
    with acquire_gpus(4, lock_dir=tmp_path, timeout=5) as ids:
        assert ids == ["0", "1", "2", "3"]


def test_waits_for_a_slot_to_free_up(tmp_path, start_holder):
    holder, _ = start_holder(4, tmp_path)
    killer = subprocess.Popen(["sh", "-c", f"sleep 0.5; kill -9 {holder.pid}"])
    started = time.monotonic()
    with acquire_gpus(1, lock_dir=tmp_path, timeout=20) as ids:
        waited = time.monotonic() - started
    killer.wait()
    assert ids == ["0"]
    assert 0.4 < waited < 10


def test_no_partial_hold_while_waiting(tmp_path, start_holder):
    holder, held = start_holder(3, tmp_path)
    assert held == ["0", "1", "2"]
    with pytest.raises(GpuPoolError, match="within"):
        with acquire_gpus(2, lock_dir=tmp_path, timeout=0.3):
            pass
    # The failed request must not keep slot 3.
    with acquire_gpus(1, lock_dir=tmp_path, timeout=0) as ids:
        assert ids == ["3"]
    kill(holder)


def test_scheduler_visible_devices_are_the_pool(tmp_path, monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "5,7")
    with acquire_gpus(1, lock_dir=tmp_path) as ids:
        assert ids == ["5"]
        assert os.environ["CUDA_VISIBLE_DEVICES"] == "5"
    with acquire_gpus(2, lock_dir=tmp_path) as ids:
        assert ids == ["5", "7"]
    assert os.environ["CUDA_VISIBLE_DEVICES"] == "5,7"
    with pytest.raises(GpuPoolError, match="only 2"):
        with acquire_gpus(3, lock_dir=tmp_path):
            pass


def test_scheduler_slot_is_locked_across_processes(tmp_path, start_holder, monkeypatch):
    holder, held = start_holder(1, tmp_path, CUDA_VISIBLE_DEVICES="6")
    assert held == ["6"]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "6")
    with pytest.raises(GpuPoolError):
        with acquire_gpus(1, lock_dir=tmp_path, timeout=0.2):
            pass
    kill(holder)


def test_more_slots_than_the_pool_fail_at_once(tmp_path):
    started = time.monotonic()
    with pytest.raises(GpuPoolError, match="asked for 5 GPUs but the pool has only 4"):
        with acquire_gpus(5, lock_dir=tmp_path, timeout=30):
            pass
    assert time.monotonic() - started < 1


def test_empty_pool_means_cpu(tmp_path, monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    with acquire_gpus(1, lock_dir=tmp_path) as ids:
        assert ids == []
        assert os.environ["CUDA_VISIBLE_DEVICES"] == ""
    assert describe_device([])["type"] == "cpu"


def test_a_gpu_job_falling_back_to_cpu_says_so(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    with acquire_gpus(1, lock_dir=tmp_path) as ids:
        assert torch_device_and_dtype(ids)[0].type == "cpu"
        record = describe_device(ids)
    warning = capsys.readouterr().err
    assert "WARNING" in warning and "asked for 1 GPU(s) but none is available" in warning
    assert record["fallback_to_cpu"] is True and record["type"] == "cpu"
    assert "CUDA_VISIBLE_DEVICES='' hides every GPU" in record["fallback_reason"]


def test_a_machine_without_gpus_is_named_as_the_reason(tmp_path, monkeypatch):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    monkeypatch.delenv(devices.POOL_ENV)
    with acquire_gpus(1, lock_dir=tmp_path) as ids:
        record = describe_device(ids)
    assert record["fallback_to_cpu"] and "sees no GPU on this machine" in record["fallback_reason"]


def test_a_cpu_job_is_no_fallback(tmp_path, capsys):
    with acquire_gpus(0, lock_dir=tmp_path) as ids:
        torch_device_and_dtype(ids)
        record = describe_device(ids)
    assert record["fallback_to_cpu"] is False and "fallback_reason" not in record
    assert capsys.readouterr().err == ""


def test_slots_torch_cannot_use_are_a_fallback(tmp_path, capsys):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with acquire_gpus(1, lock_dir=tmp_path) as ids:
        torch_device_and_dtype(ids)
        record = describe_device(ids)
    assert record["fallback_to_cpu"] is True and "cannot use CUDA" in record["fallback_reason"]
    assert "cannot use CUDA" in capsys.readouterr().err


def test_the_held_variable_hands_out_no_slot_without_its_lock(tmp_path, start_holder, monkeypatch):
    """XSTILTS_GPUS_HELD once let any process naming the pool skip the locks."""
    start_holder(4, tmp_path)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1,2,3")
    monkeypatch.setenv("XSTILTS_GPUS_HELD", "0,1,2,3")
    with pytest.raises(GpuPoolError, match="within"):
        with acquire_gpus(1, lock_dir=tmp_path, timeout=0.3):
            pass


def test_a_nested_acquire_fails_instead_of_waiting_for_itself(tmp_path):
    with acquire_gpus(1, lock_dir=tmp_path):
        with pytest.raises(GpuPoolError, match="already holds GPU slot"):
            with acquire_gpus(1, lock_dir=tmp_path, timeout=5):
                pass
    with acquire_gpus(1, lock_dir=tmp_path, timeout=0) as ids:  # released on the way out
        assert ids == ["0"]


def test_a_job_holding_n_usable_gpus_trains_in_n_processes(monkeypatch):
    torch = pytest.importorskip("torch")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert devices.data_parallel_size(devices.Slots(["3", "5"], 2)) == 2
    assert devices.data_parallel_size(devices.Slots(["3"], 1)) == 1
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.raises(GpuPoolError, match="torch sees 1 of them"):
        devices.data_parallel_size(devices.Slots(["3", "5"], 2))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # CPU fallback: one process
    assert devices.data_parallel_size(devices.Slots(["3", "5"], 2)) == 1
    assert devices.data_parallel_size(devices.Slots([], 2, "empty pool")) == 1


def test_train_launches_one_nccl_process_per_gpu(tmp_path, monkeypatch):
    from xstilts import training

    monkeypatch.setenv(devices.LOCK_DIR_ENV, str(tmp_path))
    monkeypatch.setattr(devices, "data_parallel_size", lambda ids: len(ids))
    launched = []
    monkeypatch.setattr(training, "launch", lambda *call, backend: launched.append((*call, backend)))
    (tmp_path / "ckpt").mkdir()
    stages.train({"seed": 0}, str(tmp_path / "out"), str(tmp_path / "ckpt"), {}, "src", gpus=2)
    [(fn, world, job, backend)] = launched
    assert (fn, world, backend) == (stages._train_process, 2, "nccl") and job[5] == ["0", "1"]
    assert not (tmp_path / "ckpt").exists()  # done: the checkpoints go, as after one process


def test_precision_is_checked_and_the_cpu_runs_fp32():
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU; the CPU branch is what is tested here")
    assert torch_device_and_dtype([], "bf16") == (torch.device("cpu"), torch.float32)
    assert torch_device_and_dtype(["0", "1"], "bf16", rank=1) == (torch.device("cpu"), torch.float32)
    with pytest.raises(ValueError, match="precision 'fp16' is unknown: use one of fp32, bf16"):
        torch_device_and_dtype([], "fp16")


def test_slurm_renumbered_devices_lock_by_global_id(tmp_path, start_holder, monkeypatch):
    """With cgroup-constrained devices, every job sees CUDA_VISIBLE_DEVICES=0."""
    job_on_gpu2 = dict(CUDA_VISIBLE_DEVICES="0", SLURM_JOB_ID="101", SLURM_STEP_ID="0", SLURM_STEP_GPUS="2")
    job_on_gpu3 = dict(CUDA_VISIBLE_DEVICES="0", SLURM_JOB_ID="102", SLURM_STEP_ID="0", SLURM_STEP_GPUS="3")
    start_holder(1, tmp_path, **job_on_gpu2)
    _, held = start_holder(1, tmp_path, **job_on_gpu3)  # times out if it blocked falsely
    assert held == ["0"]
    for name, value in {**job_on_gpu2, "SLURM_JOB_ID": "103"}.items():
        monkeypatch.setenv(name, value)  # a third job given the same physical GPU 2
    with pytest.raises(GpuPoolError):
        with acquire_gpus(1, lock_dir=tmp_path, timeout=0.2):
            pass
    assert sorted(path.name for path in tmp_path.rglob("*.lock")) == ["gpu-2.lock", "gpu-3.lock"]


def test_slurm_without_global_ids_scopes_locks_to_the_job_step(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")
    monkeypatch.setenv("SLURM_JOB_ID", "77")
    monkeypatch.setenv("SLURM_STEP_ID", "3")
    scope, names = lock_scope(["0", "1"])
    assert scope.endswith("-slurm77.3") and names == ["0", "1"]
    monkeypatch.setenv("SLURM_JOB_GPUS", "4,6")
    monkeypatch.delenv("SLURM_STEP_ID")
    scope, names = lock_scope(["0", "1"])
    assert "slurm" not in scope and names == ["4", "6"]


def test_lock_dir_defaults_to_the_environment_variable(tmp_path, monkeypatch):
    monkeypatch.setenv(devices.LOCK_DIR_ENV, str(tmp_path / "shared-locks"))
    with acquire_gpus(1) as ids:
        assert ids == ["0"]
    assert list((tmp_path / "shared-locks").rglob("gpu-0.lock"))


def test_describe_device_names_the_slots(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "1,3")
    record = describe_device(["1", "3"])
    assert record["slots"] == ["1", "3"] and record["CUDA_VISIBLE_DEVICES"] == "1,3"


def test_cpu_gets_fp32_and_fake_slots_do_not_pretend_to_be_cuda():
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU; the CPU branch is what is tested here")
    assert torch_device_and_dtype([]) == (torch.device("cpu"), torch.float32)
    assert torch_device_and_dtype(["0"]) == (torch.device("cpu"), torch.float32)


@pytest.mark.parametrize("hidden", ["-1", "NoDevFiles"])
def test_values_that_hide_all_gpus_mean_cpu(tmp_path, monkeypatch, hidden):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", hidden)
    with acquire_gpus(1, lock_dir=tmp_path) as ids:
        assert ids == []


def test_bf16_evaluation_is_an_opt_in_that_changes_the_cell_settings():
    from xstilts import config, settings

    cfg = config.load(Path(__file__).resolve().parents[1] / "configs/tiny.yaml")
    assert cfg["evaluation"]["precision"] == "fp32"
    default = settings.evaluate(cfg, "tiny-xlmr", "none", "pawsx", "de", 0)
    assert "precision" not in default["evaluation"]  # existing cells stay current
    cfg["evaluation"]["precision"] = "bf16"
    opted = settings.evaluate(cfg, "tiny-xlmr", "none", "pawsx", "de", 0)
    assert opted["evaluation"]["precision"] == "bf16"  # reruns the cells it may change


# Another user makes the default lock directory first, open to all, and creates and holds every slot.
HOLD_EVERY_SLOT = """
import fcntl, os, sys
base, host, slots = sys.argv[1], sys.argv[2], int(sys.argv[3])
os.makedirs(os.path.join(base, host))
for directory in (base, os.path.join(base, host)):
    os.chmod(directory, 0o777)
for slot in range(slots):
    lock = os.open(os.path.join(base, host, f"gpu-{slot}.lock"), os.O_RDONLY | os.O_CREAT, 0o644)
    fcntl.flock(lock, fcntl.LOCK_EX)
print("holding", flush=True)
sys.stdin.read()
"""


def test_another_user_can_neither_squat_nor_hold_the_gpu_locks(other_user, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(other_user.shared))  # the default's <tmp>
    base = devices.default_lock_dir()
    host, _ = lock_scope(["0"])
    command = other_user.command(HOLD_EVERY_SLOT, base, host, 4)
    holder = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "holding\n"
        started = time.monotonic()
        with pytest.raises(GpuPoolError) as refused, acquire_gpus(1, timeout=30):
            pass
        assert time.monotonic() - started < 5  # refused at once, not waited for
        fix = f"set {devices.LOCK_DIR_ENV} to a directory of your own"
        assert (
            str(refused.value) == f"GPU lock directory {base} belongs to uid 65534, not to you (uid 0): {fix}"
        )
    finally:
        holder.kill()
        holder.wait()
    # the fix: a directory of the user's own, made private whatever the umask
    mine = other_user.shared / "mine"
    monkeypatch.setenv(devices.LOCK_DIR_ENV, str(mine))
    old = os.umask(0)
    try:
        with acquire_gpus(4, timeout=0) as ids:
            assert ids == ["0", "1", "2", "3"]
    finally:
        os.umask(old)
    modes = {p: stat.S_IMODE(p.stat().st_mode) for p in (mine, mine / host, *(mine / host).iterdir())}
    assert set(modes.values()) == {0o700, 0o600} and len(modes) == 6
    lock = mine / host / "gpu-0.lock"
    tries = other_user.run(f"import os; os.open({str(lock)!r}, os.O_RDONLY)")
    assert tries.returncode == 1 and "PermissionError" in tries.stderr
