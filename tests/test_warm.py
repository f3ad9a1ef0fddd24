"""The warm evaluation process (xstilts.warm): a job run in a forked child of the server scores
exactly as a cold process, reports its own start-up, gets its status and errors back, and the
server replaces a dead one's socket and leaves when idle."""

import json
import os
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from test_eval_groups import SETTINGS, tagger  # noqa: F401
from test_eval_hardening import tiny_encoder, tokenizer  # noqa: F401

from xstilts import cli, warm


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


# Speaks the warm protocol: asks the server at argv[1] to run argv[2:] with this process's streams
# and prints its first answer.
REQUEST = """
import json, socket, sys
conn = socket.socket(socket.AF_UNIX)
try:
    conn.connect(sys.argv[1])
except OSError as error:
    sys.exit("connect: " + error.strerror)
request = {"argv": sys.argv[2:], "cwd": "/", "env": {}, "umask": 0}
try:
    socket.send_fds(conn, [json.dumps(request).encode() + b"\\n"], [0, 1, 2])
except BrokenPipeError:  # refused before it was sent
    pass
print(conn.makefile().readline(), end="")  # one line: a refusal closes on an unread request
"""

# What another user tries in the private directory once the user's server runs there.
SQUAT = """
import os, sys
private, socket_path = sys.argv[1:]
for name, attempt in [
    ("replace the socket", lambda: os.rename(socket_path, socket_path + ".x")),
    ("open the lock", lambda: open(socket_path + ".lock", "a")),
    ("plant a log symlink", lambda: os.symlink("/etc/passwd", os.path.join(private, "warm-x.sock.log"))),
    ("list the directory", lambda: os.listdir(private)),
]:
    try:
        attempt()
        print(name, "worked")
    except OSError as error:
        print(name, error.strerror)
"""


def test_another_user_can_neither_reach_nor_squat_the_warm_process(
    tagger,  # noqa: F811
    other_user,
    tmp_path,
    monkeypatch,
    capsys,
):
    """Jobs under umask 000, their sockets in a sticky directory everyone writes to (as /tmp)."""
    model_dir, data = tagger
    cold = tmp_path / "cold.json"
    cli.main(_argv(model_dir, data, [cold], ["de"]), warm=False)
    private = other_user.shared / f"xstilts-{os.getuid()}"

    def scored(out):
        cell = json.loads(out.read_text())
        assert cell["metrics"] == json.loads(cold.read_text())["metrics"]
        return cell["job"]["warm"]

    # nobody makes the private directory first, open to everyone: the job refuses it and runs in
    # its own process (this one: it has imported torch already)
    squat = f"import os; os.mkdir({str(private)!r}); os.chmod({str(private)!r}, 0o777)"
    assert other_user.run(squat).returncode == 0
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(other_user.shared))
    umask = os.umask(0)
    try:
        cli.main([*_argv(model_dir, data, [tmp_path / "squatted.json"], ["de"]), "--warm"])
    finally:
        os.umask(umask)
    fix = "set XDG_RUNTIME_DIR to a directory of your own"
    refusal = f"{private} belongs to uid 65534, not to you (uid 0): {fix}"
    assert f"xstilts: no warm process ({refusal}); evaluating in this process" in capsys.readouterr().err
    assert scored(tmp_path / "squatted.json") is False
    assert not os.listdir(private)  # nothing of the job's went into it
    os.rmdir(private)

    # then the job makes it: private whatever the umask, and its server serves the next job
    out = tmp_path / "warm.json"
    command = ["sh", "-c", 'umask 000 && exec "$@"', "sh", *_command(_argv(model_dir, data, [out], ["de"]))]
    done = subprocess.run(
        command, env=_env(other_user.shared, 30), capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0 and "xstilts:" not in done.stderr, done.stderr
    assert scored(out) is True
    (path,) = _servers(other_user.shared)
    modes = {p.name: stat.S_IMODE(p.lstat().st_mode) for p in (private, path, *path.parent.glob("*.sock.*"))}
    assert modes == {
        private.name: 0o700,
        path.name: 0o600,
        f"{path.name}.lock": 0o600,
        f"{path.name}.log": 0o600,
    }
    argv = _argv(model_dir, data, [tmp_path / "theirs.json"], ["de"]) + ["--warm"]
    denied = other_user.run(REQUEST, path, *argv)
    assert denied.returncode == 1 and denied.stderr.strip() == "connect: Permission denied"
    tries = other_user.run(SQUAT, private, path).stdout.splitlines()
    assert tries == [
        f"{what} Permission denied"
        for what in ("replace the socket", "open the lock", "plant a log symlink", "list the directory")
    ]

    # opened up (the old exposure), the server itself still refuses another uid
    private.chmod(0o777)
    path.chmod(0o777)
    opened = other_user.run(REQUEST, path, *argv)
    assert opened.stdout, opened.stderr
    answer = json.loads(opened.stdout)
    assert answer["refused"].endswith("of uid 65534: only uid 0 may use it")
    # and its own user gets only an evaluate command line that the evaluate parser accepts
    for request, why in [
        (
            ["collect", "--out", str(tmp_path / "x.parquet"), str(cold)],
            "not an evaluate command: ['collect']",
        ),
        ([*argv, "--exec", "x"], "xstilts: error: unrecognized arguments: --exec x"),
    ]:
        done = subprocess.run([sys.executable, "-c", REQUEST, path, *request], capture_output=True, text=True)
        assert json.loads(done.stdout)["refused"].endswith(why)
    assert not (tmp_path / "theirs.json").exists() and not (tmp_path / "x.parquet").exists()
    log = (path.parent / f"{path.name}.log").read_text().splitlines()
    assert [line.split(" refused ")[1].split(": ", 1)[1] for line in log] == [
        "only uid 0 may use it",
        "not an evaluate command: ['collect']",
        "xstilts: error: unrecognized arguments: --exec x",
    ]


LISTEN = """
import socket, sys
server = socket.socket(socket.AF_UNIX)
server.bind(sys.argv[1])
server.listen()
print("listening", flush=True)
server.accept()[0].recv(1)
"""


def test_a_job_talks_only_to_a_server_of_its_own_user(other_user):
    """Wherever another user's socket could stand in for the server, the client leaves it."""
    path = other_user.shared / "theirs.sock"
    squatter = subprocess.Popen(other_user.command(LISTEN, path), stdout=subprocess.PIPE, text=True)
    try:
        assert squatter.stdout.readline() == "listening\n"
        with pytest.raises(PermissionError, match=f"^{path} is served by uid 65534, not by you \\(uid 0\\)$"):
            warm._dial(str(path))
    finally:
        squatter.kill()
        squatter.wait()


def test_the_warm_process_runs_only_what_an_evaluate_rule_passes():
    # every argument workflow/rules/evaluate.smk and runtime_args can give
    rule = [
        "evaluate",
        "--settings",
        "{}",
        "--mirror",
        "m",
        "--ccgbank",
        "c",
        "--model",
        "m",
        "--dev-data",
        "d",
    ]
    rule += ["--pool", "p", "--batch-size", "8", "--warm", "--languages", "de", "--data", "d", "--out", "o"]
    assert cli.evaluate_error([*rule, "--gpus", "1"]) is None
    assert cli.evaluate_error(["train", *rule[1:]]) == "not an evaluate command: ['train']"
    assert cli.evaluate_error([*rule, "--stop-after", "1"]).endswith("unrecognized arguments: --stop-after 1")
    assert cli.evaluate_error(["evaluate", "--help"]) == "asks for help, not a job"
