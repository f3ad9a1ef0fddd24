"""Atomic outputs: a job's output appears whole or not at all, so an interrupted job never
leaves a file or directory that a later run takes as done.

Each writer fills a temporary sibling, fsyncs it, renames it into place and fsyncs the parent
directory, so that after a crash (even of the machine) the name holds either the old or the new
content. A write that fails for lack of space raises `DiskFullError` naming the directory and
about how much it needed, instead of the writer's own message (torch's is
"[enforce fail at inline_container.cc] unexpected pos ...").
"""

from __future__ import annotations

import errno
import json
import math
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

# Below this much free space a failed write is taken to be a full disk (the writer's own error,
# e.g. torch's, often does not say why it failed).
FULL_BELOW_BYTES = 16 * 2**20
TEMP_MARK = ".tmp-"


class DiskFullError(OSError):
    """No space (or quota) left for an output."""

    def __init__(self, directory: Path, needed_bytes: int | None):
        need = f"needs about {math.ceil(needed_bytes / 2**20)} MB" if needed_bytes else "size unknown"
        super().__init__(
            errno.ENOSPC,
            f"no space left on {directory} ({need}): free space there "
            "(or point the workflow at a larger disk) and run again",
        )

    def __str__(self) -> str:
        return self.strerror


def payload_bytes(obj) -> int:
    """Bytes of the arrays (tensors, numpy) in a nested dict/list: about what saving it takes."""
    if isinstance(obj, dict):
        return sum(payload_bytes(v) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return sum(payload_bytes(v) for v in obj)
    return int(getattr(obj, "nbytes", 0) or 0)


def free_bytes(directory: Path) -> int:
    return shutil.disk_usage(directory).free


def error_chain(error: BaseException):
    """The error and those it was raised from or during (libraries wrap OS and hub errors)."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        yield error
        error = error.__cause__ or error.__context__


def _out_of_space(error: BaseException, directory: Path) -> bool:
    for seen in error_chain(error):
        if isinstance(seen, OSError) and seen.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if "No space left on device" in str(seen) or "Disk quota exceeded" in str(seen):
            return True
    if not isinstance(error, (OSError, RuntimeError)):
        return False
    try:
        return free_bytes(directory) < FULL_BELOW_BYTES
    except OSError:
        return False


def _size(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size if path.exists() else 0


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(root: Path) -> None:
    """Files first, then their directories, so every name points at durable data."""
    for folder, _, files in os.walk(root, topdown=False):
        for name in files:
            _fsync(Path(folder) / name)
        _fsync(Path(folder))


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def _translating_disk_full(directory: Path, tmp: Path, size_hint: int | None):
    try:
        yield
    except Exception as error:
        if _out_of_space(error, directory):
            raise DiskFullError(directory, size_hint or _size(tmp) or None) from error
        raise


@contextmanager
def atomic_dir(out: str | Path, size_hint: int | None = None):
    """Yield a temporary sibling directory that replaces `out` only if the block completes.
    `size_hint` (bytes) is what a disk-full error says the output needs."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}{TEMP_MARK}"))
    try:
        with _translating_disk_full(out.parent, tmp, size_hint):
            yield tmp
            os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes it 0700
            _fsync_tree(tmp)
        shutil.rmtree(out, ignore_errors=True)
        os.replace(tmp, out)
        _fsync(out.parent)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@contextmanager
def atomic_file(path: str | Path, size_hint: int | None = None):
    """Yield a temporary sibling path that replaces `path` only if the block completes.
    The temporary lives in the target's directory, so the rename never crosses file systems."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}{TEMP_MARK}")
    os.close(handle)
    tmp = Path(name)
    try:
        with _translating_disk_full(path.parent, tmp, size_hint):
            yield tmp
            os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it 0600
            _fsync(tmp)
        os.replace(tmp, path)
        _fsync(path.parent)
    finally:
        tmp.unlink(missing_ok=True)


def remove_stale_temps(directory: str | Path) -> list[Path]:
    """Delete temporaries a killed writer left in `directory` (only call where one job writes)."""
    stale = [p for p in Path(directory).glob(f".*{TEMP_MARK}*")]
    for p in stale:
        shutil.rmtree(p) if p.is_dir() else p.unlink(missing_ok=True)
    return stale


def write_json(path: str | Path, value) -> None:
    with atomic_file(path) as tmp:
        tmp.write_text(json.dumps(value, indent=1, sort_keys=True, default=str))


def write_text(path: str | Path, text: str) -> Path:
    with atomic_file(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_csv(path: str | Path, frame) -> Path:
    """A pandas frame as CSV, missing values as empty fields."""
    with atomic_file(path) as tmp:
        frame.to_csv(tmp, index=False, na_rep="")
    return Path(path)


def write_figure(path: str | Path, figure) -> Path:
    """A matplotlib figure as PNG."""
    with atomic_file(path) as tmp:
        figure.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    return Path(path)
