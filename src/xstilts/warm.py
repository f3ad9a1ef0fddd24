"""A warm process for evaluation jobs: the heavy imports (torch, transformers, datasets and the
model code) done once, one forked child per job.

An evaluation job's own work can take less time than starting Python and importing torch and
transformers (the tiny grid: ~0.2 s a language against ~7 s of imports). `xstilts evaluate
--warm` therefore hands its command line to a server that has done the imports and forks a
child for it; the child takes the job's working directory, environment, umask and standard
streams (passed over a Unix socket) and runs the same `xstilts evaluate` in-process, so it
computes what a cold process computes. The job's exit status is the child's.

One server per *context*: the Python, the xstilts code and library versions, the environment
variables that libraries read at import time, and the control group (a SLURM job or another
container: a child must run inside the job's own resource limits, and dies with them). The
first job of a context starts the server and waits for it; a stale socket of a dead server is
replaced. The server exits after `IDLE_SECONDS` without a job. Anything that goes wrong before
the child starts (no server, a failed import) falls back to running the job in this process.

The server never touches CUDA or runs a torch operation, so a child initialises its GPU and its
thread pools itself, after taking the job's CUDA_VISIBLE_DEVICES and OMP_NUM_THREADS.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.util
import json
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# A scheduler job's bundle runs its evaluations back to back; a server left behind by a job
# whose scheduler does not kill its processes (proctrack/linuxproc) should not hold memory long.
IDLE_SECONDS = float(os.environ.get("XSTILTS_WARM_IDLE", 15 if "SLURM_JOB_ID" in os.environ else 120))
START_TIMEOUT = 180.0  # imports on a cluster's network file system can take a minute
STARTED_ENV = "XSTILTS_JOB_STARTED"  # the job's own start, which the child reports as its start
PRELOAD = (
    "torch",
    "datasets",
    "transformers",
    "transformers.models.xlm_roberta.modeling_xlm_roberta",
    "xstilts.stages",
    "xstilts.evaluation",
    "xstilts.modeling",
    "xstilts.metrics",
    "xstilts.fetch",
)
# Read by libraries at import time: a server imported under other values must not serve the job.
IMPORT_TIME_ENV = ("HF_", "HUGGINGFACE_", "TRANSFORMERS_", "TORCH", "PYTORCH_", "TOKENIZERS_", "XSTILTS_")
IMPORT_TIME_ENV_NAMES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "PYTHONPATH", "PYTHONHASHSEED", "SLURM_JOB_ID")
NOT_CONTEXT = ("XSTILTS_GPU_POOL", STARTED_ENV)  # read by the child, at run time


def process_started() -> float:
    """When this process started, as wall-clock time: to 10 ms from /proc, where psutil's
    create_time adds a boot time rounded to the second (up to 1 s early)."""
    try:
        ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        uptime_at_start = ticks / os.sysconf("SC_CLK_TCK")
        return time.time() - (time.clock_gettime(time.CLOCK_BOOTTIME) - uptime_at_start)
    except (OSError, ValueError, AttributeError):  # not Linux
        import psutil  # a dependency of snakemake

        return psutil.Process().create_time()


def _code_fingerprint() -> list:
    """The xstilts sources and the directories holding the libraries: any edit or install changes it."""
    package = Path(__file__).parent
    files = sorted(package.rglob("*.py")) + sorted(package.rglob("*.yaml"))
    stamps = [(str(f), f.stat().st_mtime_ns, f.stat().st_size) for f in files]
    for name in ("torch", "transformers", "datasets"):
        spec = importlib.util.find_spec(name)
        if spec and spec.origin:
            stamps.append((name, Path(spec.origin).parent.parent.stat().st_mtime_ns))
    return stamps


def context_key(environ=None) -> str:
    """What a server must share with a job to serve it (see the module docstring)."""
    environ = os.environ if environ is None else environ
    env = {
        k: v
        for k, v in sorted(environ.items())
        if (k.startswith(IMPORT_TIME_ENV) or k in IMPORT_TIME_ENV_NAMES) and k not in NOT_CONTEXT
    }
    with contextlib.suppress(OSError):
        env["cgroup"] = Path("/proc/self/cgroup").read_text()
    blob = json.dumps([sys.executable, sys.version, _code_fingerprint(), env])
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def socket_path(key: str) -> Path:
    name = f"xstilts-warm-{os.getuid()}-{key}.sock"
    base = Path(os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir())
    return base / name if len(str(base / name)) < 100 else Path("/tmp") / name  # sun_path: 108 bytes


# ---- client: one evaluation job -----------------------------------------------------------


def run(argv: list[str]) -> int | None:
    """Run `xstilts <argv>` in a child of the warm server; its exit status, or None when no
    server could take the job (the caller then runs it in-process)."""
    started = process_started()
    path = socket_path(context_key())
    try:
        conn = _connect(path)
    except OSError as error:
        print(f"xstilts: no warm process ({error}); evaluating in this process", file=sys.stderr)
        return None
    with conn:
        request = {"argv": argv, "cwd": os.getcwd(), "env": {**os.environ, STARTED_ENV: str(started)}}
        request["umask"] = os.umask(0o022)  # reading the umask means setting it: put it back
        os.umask(request["umask"])
        fds = [sys.stdin.fileno(), sys.stdout.fileno(), sys.stderr.fileno()]
        sys.stdout.flush()
        sys.stderr.flush()
        socket.send_fds(conn, [json.dumps(request).encode() + b"\n"], fds)
        reader = conn.makefile("r")
        started_line = reader.readline()
        if not started_line:  # the server left before taking the job
            print("xstilts: the warm process left; evaluating in this process", file=sys.stderr)
            return None
        child = json.loads(started_line)["pid"]
        forward = lambda signum, frame: os.kill(child, signum)  # noqa: E731
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(signum, forward)
        line = reader.readline()
    if not line:
        print("xstilts: the warm process ended without the job's exit status", file=sys.stderr)
        return 1
    return int(json.loads(line)["status"])


def _connect(path: Path) -> socket.socket:
    """Connect to the context's server, starting it (one starter at a time) when none listens."""
    try:
        return _dial(path)
    except OSError:
        pass
    with open(f"{path}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another job may be starting it right now
        try:
            return _dial(path)
        except OSError:
            path.unlink(missing_ok=True)  # a server that died leaves its socket behind
        log = open(f"{path}.log", "w")
        server = subprocess.Popen(
            [sys.executable, "-m", "xstilts.warm", str(path)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd="/",
            start_new_session=True,  # outlives this job, not its control group
        )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if server.poll() is not None:
                raise OSError(f"the warm process exited with {server.returncode}; see {path}.log")
            try:
                return _dial(path)
            except OSError:
                time.sleep(0.05)
        raise OSError(f"the warm process did not start in {START_TIMEOUT:.0f} s; see {path}.log")


def _dial(path: Path) -> socket.socket:
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.connect(str(path))
    except OSError:
        conn.close()
        raise
    return conn


# ---- server ----------------------------------------------------------------------------------


def serve(path: Path) -> None:
    """Import, listen, fork a child per job; exit after IDLE_SECONDS without a job."""
    import importlib

    os.environ["PYTORCH_NVML_BASED_CUDA_CHECK"] = "1"  # a CUDA check must not initialise the driver
    for module in PRELOAD:
        importlib.import_module(module)
    with contextlib.suppress(Exception):  # pure Python, built once per process (~0.3 s of regexes)
        from transformers.conversion_mapping import get_checkpoint_conversion_mapping

        get_checkpoint_conversion_mapping("xlm-roberta")
    if sys.modules["torch"].cuda.is_initialized():
        raise SystemExit("an import initialised CUDA: a forked child could not use the GPU")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    temporary = path.with_name(f"{path.name}.{os.getpid()}")
    listener.bind(str(temporary))
    listener.listen(64)
    os.replace(temporary, path)  # clients see a listening socket or none
    bound = path.stat().st_ino
    jobs: dict[int, socket.socket] = {}  # child pid -> its client's connection
    idle_since = time.monotonic()
    while jobs or time.monotonic() - idle_since < IDLE_SECONDS:
        if _step(listener, jobs, timeout=0.05):
            idle_since = time.monotonic()
    with contextlib.suppress(OSError):
        if path.stat().st_ino == bound:  # not a newer server's socket
            path.unlink()
    while jobs or select.select([listener], [], [], 0)[0]:  # jobs that connected meanwhile
        _step(listener, jobs, timeout=0.05)
    listener.close()


def _step(listener: socket.socket, jobs: dict, timeout: float) -> bool:
    """Start the jobs that connected, stop those whose client went away, report those done.
    Whether a job ended."""
    readable, _, _ = select.select([listener, *jobs.values()], [], [], timeout)
    for conn in readable:
        if conn is listener:
            client, _ = listener.accept()
            pid = _fork_job(client, listener)
            if pid:
                jobs[pid] = client
        elif not conn.recv(1, socket.MSG_PEEK):  # the job was killed: so is its child
            pid = next(p for p, c in jobs.items() if c is conn)
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            jobs.pop(pid).close()
    ended = False
    for pid in list(jobs):
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            client = jobs.pop(pid)
            with contextlib.suppress(OSError):
                client.sendall(json.dumps({"status": os.waitstatus_to_exitcode(status)}).encode() + b"\n")
            client.close()
            ended = True
    return ended


def _fork_job(client: socket.socket, listener: socket.socket) -> int | None:
    """Read one job's request with its standard streams and fork the child that runs it."""
    message, fds, _, _ = socket.recv_fds(client, 1 << 20, 3)
    buffered = message
    while not buffered.endswith(b"\n"):
        more = client.recv(1 << 20)
        if not more:
            break
        buffered += more
    try:
        request = json.loads(buffered)
    except json.JSONDecodeError:
        client.close()
        return None
    pid = os.fork()
    if pid:
        for fd in fds:
            os.close(fd)
        client.sendall(json.dumps({"pid": pid}).encode() + b"\n")
        return pid
    listener.close()
    client.close()
    os._exit(_child(request, fds))


def _child(request: dict, fds: list[int]) -> int:
    """The job, in the forked child: its streams, directory, environment and umask, then the CLI."""
    try:
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        os.umask(request["umask"])
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(signum, signal.SIG_DFL)
        from xstilts import cli

        cli.main(request["argv"], warm=False)
        return 0
    except SystemExit as stop:
        code = stop.code
        if code is not None and not isinstance(code, int):
            print(code, file=sys.stderr)
        return code if isinstance(code, int) else (0 if code is None else 1)
    except BaseException:
        import traceback

        traceback.print_exc()
        return 1
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()


if __name__ == "__main__":
    serve(Path(sys.argv[1]))
