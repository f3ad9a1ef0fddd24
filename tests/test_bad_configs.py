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
SHIPPED = [REPO / "config.yaml", *sorted((REPO / "configs").glob("*.yaml"))]


def expected(path: Path) -> list[str]:
    return [line.split(":", 1)[1].strip() for line in path.read_text().splitlines()
            if line.startswith("# expect:")]


def validate_cli(path: Path, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "xstilts.cli", "validate", "--config", str(path)],
                          cwd=cwd, capture_output=True, text=True, timeout=120)


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


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_configs_pass_validate(path, tmp_path):
    text = path.read_text()
    if "ccgbank: null" in text:  # the paper's grid runs ccg: preflight wants a CCGbank copy
        (tmp_path / "ccgbank").mkdir()
        text = text.replace("ccgbank: null", f"ccgbank: {tmp_path / 'ccgbank'}")
    (tmp_path / path.name).write_text(text)
    result = validate_cli(tmp_path / path.name, tmp_path)
    assert result.returncode == 0 and result.stdout.endswith(": valid\n"), result
