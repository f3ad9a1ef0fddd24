"""Atomic writers: a reader (or a killed job) never sees half a file."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pandas as pd


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _atomic_write(path: Path, write) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # The temporary file lives in the target dir so os.replace stays a same-filesystem rename.
    handle, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix)
    os.close(handle)
    try:
        write(Path(tmp_name))
        os.chmod(tmp_name, 0o666 & ~_current_umask())  # mkstemp creates 0600; use normal permissions
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return path


def write_text(path: Path, text: str) -> Path:
    return _atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_csv(path: Path, frame: pd.DataFrame) -> Path:
    """CSV with missing values as empty fields."""
    return _atomic_write(path, lambda tmp: frame.to_csv(tmp, index=False, na_rep=""))


def write_figure(path: Path, figure) -> Path:
    return _atomic_write(path, lambda tmp: figure.savefig(tmp, format="png", dpi=110, bbox_inches="tight"))
