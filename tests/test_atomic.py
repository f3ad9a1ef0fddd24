"""Atomic writers: fsync before rename, normal permissions, nothing left behind on failure,
and a full disk reported as such."""

from __future__ import annotations

import errno
import os
import stat

import pandas as pd
import pytest

from xstilts import atomic
from xstilts.atomic import DiskFullError, atomic_dir, atomic_file, write_csv, write_json, write_text


@pytest.fixture
def synced(monkeypatch):
    """Paths fsynced, in order."""
    calls = []
    real = os.fsync

    def record(fd):
        calls.append(os.readlink(f"/proc/self/fd/{fd}"))
        real(fd)

    monkeypatch.setattr(atomic.os, "fsync", record)
    return calls


def test_a_file_is_fsynced_before_its_rename_then_its_directory(tmp_path, synced):
    path = tmp_path / "out" / "result.json"
    write_json(path, {"a": 1})
    assert len(synced) == 2
    assert synced[0].startswith(str(path.parent / f".{path.name}{atomic.TEMP_MARK}"))  # not renamed yet
    assert synced[1] == str(path.parent)


def test_a_directory_is_fsynced_file_by_file_then_its_parent(tmp_path, synced):
    out = tmp_path / "model"
    with atomic_dir(out) as tmp:
        (tmp / "sub").mkdir()
        (tmp / "sub" / "weights.bin").write_bytes(b"w")
        (tmp / "config.json").write_text("{}")
    names = [p.rsplit("/", 1)[-1] for p in synced]
    assert names[:2] == ["weights.bin", "sub"]  # a file before the directory naming it
    assert "config.json" in names and synced[-1] == str(tmp_path)
    assert (out / "sub" / "weights.bin").read_bytes() == b"w"


def test_outputs_get_normal_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        write_text(tmp_path / "a.md", "x")
        with atomic_dir(tmp_path / "d") as tmp:
            (tmp / "f").write_text("y")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a.md").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "d").stat().st_mode) == 0o755


def test_a_failed_write_leaves_the_old_content_and_no_temporary(tmp_path):
    write_text(tmp_path / "a.md", "old")
    with pytest.raises(ValueError):
        with atomic_file(tmp_path / "a.md") as tmp:
            tmp.write_text("half")
            raise ValueError("writer failed")
    assert (tmp_path / "a.md").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.md"]


def test_csv_keeps_missing_values_empty(tmp_path):
    write_csv(tmp_path / "t.csv", pd.DataFrame({"a": [1.0, None], "b": ["x", None]}))
    assert (tmp_path / "t.csv").read_text().splitlines() == ["a,b", "1.0,x", ","]


def test_no_space_in_a_directory_output_names_directory_and_size(tmp_path):
    def full_disk():
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(DiskFullError) as caught:
        with atomic_dir(tmp_path / "model", size_hint=300 * 2**20):
            full_disk()
    assert str(caught.value).startswith(f"no space left on {tmp_path} (needs about 300 MB)")
    assert caught.value.errno == errno.ENOSPC
    assert list(tmp_path.iterdir()) == []


def test_a_quota_error_raised_inside_a_writer_library_is_found(tmp_path):
    with pytest.raises(DiskFullError, match="needs about 1 MB"):
        with atomic_file(tmp_path / "x.bin") as tmp:
            tmp.write_bytes(b"0" * 1000)
            try:
                raise OSError(errno.EDQUOT, "Disk quota exceeded")
            except OSError as error:
                raise RuntimeError("safetensors: I/O error") from error


def test_payload_bytes_counts_tensors_and_arrays():
    torch = pytest.importorskip("torch")
    import numpy as np

    obj = {"a": torch.zeros(10), "b": [np.zeros(5, dtype=np.int64), {"c": 3, "d": "text"}]}
    assert atomic.payload_bytes(obj) == 40 + 40
