"""The battery of malformed configs in tests/bad_configs: each is refused before any job runs,
through `xstilts validate` and through config.load + preflight, with one line naming the key and
the fix. Each file says what is wrong (`# wrong:`) and what the message must hold (`# expect:`)."""

import subprocess
import sys
from pathlib import Path

import pytest

from xstilts import config
from xstilts.config import ConfigError

REPO = Path(__file__).resolve().parents[1]
BAD = sorted((REPO / "tests/bad_configs").glob("*.yaml"))
PREFLIGHT = sorted((REPO / "tests/bad_configs/preflight").glob("*.yaml"))  # valid, not runnable here
SHIPPED = [REPO / "config.yaml", *sorted((REPO / "configs").glob("*.yaml"))]


def expected(path: Path) -> list[str]:
    return [
        line.split(":", 1)[1].strip()
        for line in path.read_text().splitlines()
        if line.startswith("# expect:")
    ]


def validate_cli(path: Path, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "xstilts.cli", "validate", "--config", str(path)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_battery_is_large_and_documented():
    assert len(BAD) >= 40
    for path in BAD:
        assert path.read_text().startswith("# wrong: ") and expected(path), path.name


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.stem)
def test_load_refuses(path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # relative hub.mirror paths start at the working directory
    with pytest.raises(ConfigError) as error:
        config.preflight(config.load(path))
    message = str(error.value)
    assert "\n" not in message and "Fix:" in message, message
    for words in expected(path):
        assert words in message, message


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.stem)
def test_cli_refuses(path, tmp_path):
    result = validate_cli(path, tmp_path)
    assert result.returncode == 2, result
    assert result.stdout == "" and "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("xstilts: config "), result.stderr
    for words in expected(path):
        assert words in lines[0], lines[0]


@pytest.mark.parametrize("path", PREFLIGHT, ids=lambda p: p.stem)
def test_paths_missing_here_are_a_warning_of_validate(path, tmp_path, monkeypatch):
    """A config written on a laptop for the cluster (CCGbank there only) is valid; validate
    warns with the key and the fix, and config.preflight (a real run's onstart) refuses."""
    result = validate_cli(path, tmp_path)
    assert result.returncode == 0 and result.stdout.endswith(": valid\n"), result
    assert "Traceback" not in result.stderr and len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith("xstilts: warning: a run on this machine would stop")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as error:
        config.preflight(config.load(path))
    for words in expected(path):
        assert words in result.stderr and words in str(error.value), result.stderr


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_configs_pass_validate(path, tmp_path):
    result = validate_cli(path, tmp_path)
    assert result.returncode == 0 and result.stdout.endswith(": valid\n"), result
    assert "Traceback" not in result.stderr
