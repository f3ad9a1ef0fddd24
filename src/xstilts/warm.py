"""A warm process for evaluation jobs: the heavy imports (torch, transformers, datasets and the
model code) done once, one forked child per job.

An evaluation job's own work can take less time than starting Python and importing torch and
transformers (the tiny grid: ~0.2 s a language against ~7 s of imports). `xstilts evaluate
--warm` therefore hands its command line to a server that has done the imports; a child forked
ahead of the job (the spare: the fork and its first touches of the copied heap are off the job's
clock) takes the job's working directory, environment, umask and standard streams (passed over a
Unix socket) and runs the same `xstilts evaluate` in-process, so it computes what a cold process
computes. The job's exit status is the child's, sent by the child as it ends (by the server
when the child died).

One server per *context*: the Python, the xstilts code and library versions, the environment
variables that libraries read at import time, and the control group (a SLURM job or another
container: a child must run inside the job's own resource limits, and dies with them). The
first job of a context starts the server and waits for it; a stale socket of a dead server is
replaced. The server exits after `IDLE_SECONDS` without a job. Anything that goes wrong before
the child starts (no server, a failed import) falls back to running the job in this process.

The server never touches CUDA or runs a torch operation (a spare builds its model on the meta
device), so a child initialises its GPU and its thread pools itself, after taking the job's
CUDA_VISIBLE_DEVICES and OMP_NUM_THREADS.

A child runs as the user who started the server, so on a shared node nobody else may reach it or
stand in for it: the socket, its lock and its log live in the user's private directory
(`private_dir`, checked by xstilts.private; a job that finds it squatted runs in its own process),
the socket is 0600 whatever the job's umask, the server serves only connections from its own uid
and the client talks only to a server of its own uid (SO_PEERCRED), and a request runs only an
`xstilts evaluate` command line that the evaluate parser accepts (what a workflow rule passes).

The command line hands this module what the server runs (`Runner`: the job's entry function, the
check of a request, the imports to do once): warm imports nothing of xstilts above it.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import select
import signal
import socket
import struct
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from xstilts import private

# A scheduler job's bundle runs its evaluations back to back; a server left behind by a job
# whose scheduler does not kill its processes (proctrack/linuxproc) should not hold memory long.
IDLE_SECONDS = float(os.environ.get("XSTILTS_WARM_IDLE", 15 if "SLURM_JOB_ID" in os.environ else 120))
START_TIMEOUT = 180.0  # imports on a cluster's network file system can take a minute
STARTED_ENV = "XSTILTS_JOB_STARTED"  # the job's own start, which the child reports as its start
# The libraries every job imports (the runner's `preload` adds the xstilts modules).
PRELOAD = ("torch", "datasets", "transformers", "transformers.models.xlm_roberta.modeling_xlm_roberta")
# Read by libraries at import time: a server imported under other values must not serve the job.
IMPORT_TIME_ENV = ("HF_", "HUGGINGFACE_", "TRANSFORMERS_", "TORCH", "PYTORCH_", "TOKENIZERS_", "XSTILTS_")
IMPORT_TIME_ENV_NAMES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "PYTHONPATH", "PYTHONHASHSEED", "SLURM_JOB_ID")
NOT_CONTEXT = ("XSTILTS_GPU_POOL", STARTED_ENV)  # read by the child, at run time


@dataclass(frozen=True)
class Runner:
    """What the server runs, handed over by the command line: `run(argv)`, one job in this
    process; `refusal(argv)`, why argv is no job a workflow rule passes (None: it is one);
    `preload()`, the imports and one-time builds a job should not pay."""

    run: Callable[[list[str]], None]
    refusal: Callable[[list[str]], str | None]
    preload: Callable[[], None]


def process_started() -> float:
    """When this process started, as wall-clock time: to 10 ms from /proc, where psutil's
    create_time adds a boot time rounded to the second (up to 1 s early)."""
    try:
        with open("/proc/self/stat") as stat:
            ticks = int(stat.read().rsplit(")", 1)[1].split()[19])
        uptime_at_start = ticks / os.sysconf("SC_CLK_TCK")
        return time.time() - (time.clock_gettime(time.CLOCK_BOOTTIME) - uptime_at_start)
    except (OSError, ValueError, AttributeError):  # not Linux
        import psutil  # a dependency of snakemake

        return psutil.Process().create_time()


def _code_fingerprint() -> list:
    """The xstilts sources and the directories holding the libraries: any edit or install changes
    it. (os.path, not pathlib or importlib.util: every job's client computes it.)"""
    stamps = []
    for folder, _, names in sorted(os.walk(os.path.dirname(os.path.abspath(__file__)))):
        for name in sorted(n for n in names if n.endswith((".py", ".yaml"))):
            info = os.stat(os.path.join(folder, name))
            stamps.append((os.path.join(folder, name), info.st_mtime_ns, info.st_size))
    for name in ("torch", "transformers", "datasets"):
        found = next((d for d in sys.path if os.path.isdir(os.path.join(d, name))), None)
        if found:
            stamps.append((name, os.stat(found).st_mtime_ns))
    return stamps


def context_key(environ=None) -> str:
    """What a server must share with a job to serve it (see the module docstring)."""
    environ = os.environ if environ is None else environ
    env = {
        k: v
        for k, v in sorted(environ.items())
        if (k.startswith(IMPORT_TIME_ENV) or k in IMPORT_TIME_ENV_NAMES) and k not in NOT_CONTEXT
    }
    with contextlib.suppress(OSError), open("/proc/self/cgroup") as cgroup:
        env["cgroup"] = cgroup.read()
    blob = json.dumps([sys.executable, sys.version, _code_fingerprint(), env])
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def private_dir() -> str:
    """Where the user's warm sockets, locks and logs go: `xstilts-<uid>` in the first of
    $XDG_RUNTIME_DIR, $TMPDIR and /tmp that exists (a SLURM job may inherit a login node's
    XDG_RUNTIME_DIR), or in /tmp when a socket's path there would be too long."""
    given = (os.environ.get("XDG_RUNTIME_DIR"), os.environ.get("TMPDIR"))
    base = next((d for d in given if d and os.path.isdir(d)), "/tmp")
    name = f"xstilts-{os.getuid()}"
    too_long = len(os.path.join(base, name, "warm-0123456789abcdef.sock")) >= 100  # sun_path: 108 bytes
    return os.path.join("/tmp" if too_long else base, name)


def socket_path(key: str) -> str:
    """The context's socket, in the user's private directory (made here; NotPrivate when it is
    not the user's own)."""
    fix = "set XDG_RUNTIME_DIR to a directory of your own"
    return os.path.join(private.private_directory(private_dir(), fix), f"warm-{key}.sock")


# ---- client: one evaluation job -----------------------------------------------------------


def run(argv: list[str], server: tuple[str, ...]) -> int | None:
    """Run `xstilts <argv>` in a child of the warm server (started, where none listens, by the
    command `server` + the socket's path, which calls `serve`); its exit status, or None when
    no server could take the job (the caller then runs it in-process)."""
    started = process_started()
    try:
        if not hasattr(socket, "SO_PEERCRED"):  # not Linux: no telling who is at the other end
            raise OSError("this system cannot tell who serves a socket (no SO_PEERCRED)")
        conn = _connect(socket_path(context_key()), server)
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
        child = None
        # {"pid": ...} from the server and {"status": ...} from the child as it ends (or from the
        # server when the child died), in either order
        for line in conn.makefile("r"):
            message = json.loads(line)
            if "refused" in message:
                refused = message["refused"]
                print(
                    f"xstilts: the warm process refused the job ({refused}); evaluating in this process",
                    file=sys.stderr,
                )
                return None
            if "status" in message:
                return int(message["status"])
            child = message["pid"]
            forward = lambda signum, frame, pid=child: os.kill(pid, signum)  # noqa: E731
            for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                signal.signal(signum, forward)
    if child is None:  # the server left before taking the job
        print("xstilts: the warm process left; evaluating in this process", file=sys.stderr)
        return None
    print("xstilts: the warm process ended without the job's exit status", file=sys.stderr)
    return 1


def _connect(path: str, command: tuple[str, ...]) -> socket.socket:
    """Connect to the context's server, starting it (one starter at a time) when none listens."""
    try:
        return _dial(path)
    except OSError:
        pass
    with open(_private_file(f"{path}.lock", os.O_RDWR)) as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another job may be starting it right now
        try:
            return _dial(path)
        except OSError:
            with contextlib.suppress(FileNotFoundError):  # a server that died leaves its socket behind
                os.unlink(path)
        import subprocess  # only the job that starts the server

        with open(_private_file(f"{path}.log", os.O_WRONLY | os.O_TRUNC), "w") as log:
            server = subprocess.Popen(
                [*command, path],
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


def _private_file(path: str, flags: int) -> int:
    """A descriptor of a file in the private directory, 0600 and never through a symlink."""
    return os.open(path, flags | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)


def _dial(path: str) -> socket.socket:
    """A connection to the server at path, if it runs as this user."""
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.connect(path)
        uid = _peer(conn)[1]
        if uid != os.getuid():
            raise PermissionError(f"{path} is served by uid {uid}, not by you (uid {os.getuid()})")
    except OSError:
        conn.close()
        raise
    return conn


def _peer(conn: socket.socket) -> tuple[int, int, int]:
    """(pid, uid, gid) of the process at the other end of a Unix socket, from the kernel."""
    return struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")))


# ---- server ----------------------------------------------------------------------------------


def serve(path: str, runner: Runner) -> None:
    """Import, listen, hand each job to a forked child running `runner`; exit after
    IDLE_SECONDS without a job."""
    import importlib

    os.environ["PYTORCH_NVML_BASED_CUDA_CHECK"] = "1"  # a CUDA check must not initialise the driver
    for module in PRELOAD:
        importlib.import_module(module)
    with contextlib.suppress(Exception):  # pure Python, built once per process (~0.3 s of regexes)
        from transformers.conversion_mapping import get_checkpoint_conversion_mapping

        get_checkpoint_conversion_mapping("xlm-roberta")
    runner.preload()
    if sys.modules["torch"].cuda.is_initialized():
        raise SystemExit("an import initialised CUDA: a forked child could not use the GPU")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    temporary = f"{path}.{os.getpid()}"
    os.umask(0o177)  # the socket 0600 whatever the job's umask (each child sets its job's own)
    listener.bind(temporary)
    listener.listen(64)
    os.replace(temporary, path)  # clients see a listening socket or none
    bound = os.stat(path).st_ino
    server = _Server(listener, runner)
    idle_since = time.monotonic()
    while server.jobs or time.monotonic() - idle_since < IDLE_SECONDS:
        if server.step(timeout=0.05):
            idle_since = time.monotonic()
    with contextlib.suppress(OSError):
        if os.stat(path).st_ino == bound:  # not a newer server's socket
            os.unlink(path)
    while server.jobs or select.select([listener], [], [], 0)[0]:  # jobs that connected meanwhile
        server.step(timeout=0.05)
    server.close()


class _Server:
    """The jobs running (child pid -> its client's connection and pidfd) and a spare child:
    forked ahead of the next job, so that the fork and the child's first touches of the heap
    (copy-on-write) happen while the server waits, not on the job's clock."""

    def __init__(self, listener: socket.socket, runner: Runner):
        self.listener = listener
        self.runner = runner
        self.jobs: dict[int, tuple[socket.socket, int | None]] = {}
        self.spare = self._fork_spare()

    def step(self, timeout: float) -> bool:
        """Start the jobs that connected, stop those whose client went away, report those done.
        Whether a job ended. A child's pidfd wakes the server the moment it exits."""
        ended = False
        clients = [client for client, _ in self.jobs.values()]
        pidfds = [pidfd for _, pidfd in self.jobs.values() if pidfd is not None]
        readable, _, _ = select.select([self.listener, *clients, *pidfds], [], [], timeout)
        for conn in readable:
            if conn is self.listener:
                self._start(self.listener.accept()[0])
            elif conn in clients and not conn.recv(1, socket.MSG_PEEK):  # the client left: killed, or told
                # the status by an ending child; either way the child goes too
                pid = next(p for p, (c, _) in self.jobs.items() if c is conn)
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                _close(*self.jobs.pop(pid))
                ended = True
        for pid in list(self.jobs):
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                client, pidfd = self.jobs.pop(pid)
                with contextlib.suppress(OSError):
                    client.sendall(json.dumps({"status": os.waitstatus_to_exitcode(status)}).encode() + b"\n")
                _close(client, pidfd)
                ended = True
        return ended

    def _start(self, client: socket.socket) -> None:
        """Hand one job's request and standard streams to the spare, then fork the next spare;
        refuse (one line in the log) another user's connection or a request that is no job."""
        sender, uid, _ = _peer(client)
        if uid != os.getuid():
            _refuse(client, f"a connection from pid {sender} of uid {uid}: only uid {os.getuid()} may use it")
            return
        request, fds = _receive(client)
        try:
            if not request:  # the job left before sending it
                client.close()
                return
            refusal = _not_a_job(request, self.runner)
            if refusal:
                _refuse(client, f"a request from pid {sender}: {refusal}")
                return
            pid, conn = self.spare
            try:
                socket.send_fds(conn, [request], [*fds, client.fileno()])
            except OSError:  # the spare died: a fresh one takes the job
                conn.close()
                os.waitpid(pid, 0)
                pid, conn = self._fork_spare()
                socket.send_fds(conn, [request], [*fds, client.fileno()])
            conn.close()
            client.sendall(json.dumps({"pid": pid}).encode() + b"\n")
            self.jobs[pid] = (client, _pidfd(pid))
        finally:
            for fd in fds:
                os.close(fd)
        self.spare = self._fork_spare()

    def _fork_spare(self) -> tuple[int, socket.socket]:
        ours, theirs = socket.socketpair()
        pid = os.fork()
        if pid:
            theirs.close()
            return pid, ours
        self.listener.close()
        ours.close()
        for client, pidfd in self.jobs.values():
            _close(client, pidfd)
        _touch_model_code()
        request, fds = _receive(theirs)  # blocks until a job comes; nothing when the server left
        theirs.close()
        if not request:
            os._exit(0)
        *streams, client = fds
        status = _child(json.loads(request), streams, self.runner)
        with contextlib.suppress(OSError):  # the job's client learns it now, not once the server reaps us
            socket.socket(fileno=client).sendall(json.dumps({"status": status}).encode() + b"\n")
        os._exit(status)

    def close(self) -> None:
        pid, conn = self.spare
        conn.close()  # the spare reads the end of its socket and exits
        os.waitpid(pid, 0)
        self.listener.close()


def _refuse(client: socket.socket, why: str) -> None:
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S')} xstilts.warm: refused {why}", file=sys.stderr, flush=True)
    with contextlib.suppress(OSError), client:
        client.sendall(json.dumps({"refused": why}).encode() + b"\n")


def _not_a_job(message: bytes, runner: Runner) -> str | None:
    """Why a request is not one `xstilts evaluate` job a workflow rule could run (None if it is)."""
    try:
        request = json.loads(message)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return "not a JSON request"
    fields = {"argv": list, "cwd": str, "env": dict, "umask": int}
    if not isinstance(request, dict) or any(not isinstance(request.get(k), t) for k, t in fields.items()):
        return f"not a request of {', '.join(fields)}"
    strings = [*request["argv"], *request["env"], *request["env"].values()]
    if not all(isinstance(s, str) for s in strings):
        return "an argument or environment variable that is not a string"
    return runner.refusal(request["argv"])


def _receive(conn: socket.socket) -> tuple[bytes, list[int]]:
    """One newline-terminated request and the descriptors sent with it (b"": none came)."""
    message, fds, _, _ = socket.recv_fds(conn, 1 << 20, 4)
    while message and not message.endswith(b"\n"):
        more = conn.recv(1 << 20)
        if not more:
            break
        message += more
    return message, fds


def _touch_model_code() -> None:
    """Build an XLM-R on the meta device (no memory, no kernels, no threads): the spare's first
    touches of the model code's objects are paid before its job, not during its model load."""
    with contextlib.suppress(Exception):
        import torch
        from transformers import AutoModel, XLMRobertaConfig

        shape = {"vocab_size": 8, "hidden_size": 8, "num_hidden_layers": 1, "num_attention_heads": 1}
        with torch.device("meta"):
            AutoModel.from_config(
                XLMRobertaConfig(**shape, intermediate_size=8, max_position_embeddings=8),
                add_pooling_layer=False,
                attn_implementation="sdpa",
            )


def _pidfd(pid: int) -> int | None:
    """A descriptor readable when the child exits (Linux 5.3+); without it the server polls."""
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None


def _close(client: socket.socket, pidfd: int | None) -> None:
    client.close()
    if pidfd is not None:
        os.close(pidfd)


def _child(request: dict, fds: list[int], runner: Runner) -> int:
    """The job, in the forked child: its streams, directory, environment and umask, then the
    runner's entry function (the CLI's)."""
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
        runner.run(request["argv"])
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
