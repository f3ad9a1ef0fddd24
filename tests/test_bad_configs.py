"""The battery of malformed configs in tests/bad_configs: each is refused before any job runs,
through `xstilts validate`, through studies.load + check_data + studies.needs + preflight, and (a few) through
the dry run, with one line naming the key and the fix. Each file says what is wrong
(`# wrong:`) and what the message must hold (`# expect:`). Local sources read the files of
tests/bad_configs/data, copied to the working directory."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from xstilts import config
from xstilts.analysis import studies
from xstilts.atomic import DiskFullError
from xstilts.config import ConfigError
from xstilts.recipes import RecipeError

REPO = Path(__file__).resolve().parents[1]
BAD = sorted((REPO / "tests/bad_configs").glob("*.yaml"))
PREFLIGHT = sorted((REPO / "tests/bad_configs/preflight").glob("*.yaml"))  # valid, not runnable here
WEAK = sorted((REPO / "tests/bad_configs/weak").glob("*.yaml"))  # studies that could not answer
SHIPPED = [REPO / "config.yaml", *sorted((REPO / "configs").glob("*.yaml"))]
DATA = REPO / "tests/bad_configs/data"
# refused by the dry run too (Snakefile parse): one of each kind of check
DRY_RUN = [
    "src_wrong_labels",
    "family_budget_typo",
    "study_difficulty_no_early_stopping",
    "tatoeba_encoder_none_text",
]


@pytest.fixture
def workdir(tmp_path):
    """A working directory holding the battery's data files (relative paths start there)."""
    shutil.copytree(DATA, tmp_path / "data")
    return tmp_path


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


def dry_run(path: Path, cwd: Path) -> tuple[subprocess.CompletedProcess, str]:
    """`snakemake -n` of a config; its log (Snakemake writes to stdout or stderr, by version)."""
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "-s", str(REPO / "Snakefile"), "--configfile", str(path)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return result, result.stdout + result.stderr


def test_battery_is_large_and_documented():
    assert len(BAD) >= 40
    for path in BAD:
        assert path.read_text().startswith("# wrong: ") and expected(path), path.name


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.stem)
def test_load_refuses(path, workdir, monkeypatch):
    monkeypatch.chdir(workdir)  # relative hub.mirror and sources paths start at the working directory
    with pytest.raises(ConfigError) as error:
        cfg = studies.load(path)
        config.check_data(cfg)
        studies.needs(cfg)
        config.preflight(cfg)
    message = str(error.value)
    assert "\n" not in message and "Fix:" in message, message
    for words in expected(path):
        assert words in message, message


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.stem)
def test_cli_refuses(path, workdir, monkeypatch, capsys):
    """`xstilts validate` run in-process (cli.main, as the command runs it: an exception it does
    not turn into one line fails the test); test_cli_refuses_in_a_process runs the command."""
    from xstilts import cli

    monkeypatch.chdir(workdir)
    with pytest.raises(SystemExit) as stop:
        cli.main(["validate", "--config", str(path)])
    out, err = capsys.readouterr()
    assert stop.value.code == 2 and out == "", (out, err)
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("xstilts: config "), err
    for words in expected(path):
        assert words in lines[0], lines[0]


@pytest.mark.parametrize("name", ["yaml_syntax", "src_wrong_labels", "study_difficulty_no_early_stopping"])
def test_cli_refuses_in_a_process(name, workdir):
    path = REPO / "tests/bad_configs" / f"{name}.yaml"
    result = validate_cli(path, workdir)
    assert result.returncode == 2 and result.stdout == "", result
    assert "Traceback" not in result.stderr and len(result.stderr.splitlines()) == 1, result.stderr
    assert result.stderr.startswith("xstilts: config "), result.stderr


@pytest.mark.parametrize("path", PREFLIGHT, ids=lambda p: p.stem)
def test_paths_missing_here_are_a_warning_of_validate(path, workdir, monkeypatch):
    """A config written on a laptop for the cluster (CCGbank there only) is valid; validate
    warns with the key and the fix, and config.preflight (a real run's onstart) refuses."""
    result = validate_cli(path, workdir)
    assert result.returncode == 0 and result.stdout.endswith(": valid\n"), result
    assert "Traceback" not in result.stderr and len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith("xstilts: warning: a run on this machine would stop")
    monkeypatch.chdir(workdir)
    with pytest.raises(ConfigError) as error:
        config.preflight(studies.load(path))
    for words in expected(path):
        assert words in result.stderr and words in str(error.value), result.stderr


@pytest.mark.parametrize("path", WEAK, ids=lambda p: p.stem)
def test_a_study_that_cannot_answer_is_a_warning(path, tmp_path):
    """A study that would run but answer "not answerable" (too few tasks, languages, k; no
    recipe of the kind it compares) is warned with the key and the fix: a pilot may want it."""
    result = validate_cli(path, tmp_path)
    assert result.returncode == 0 and result.stdout.endswith(": valid\n"), result
    warned = [line for line in result.stderr.splitlines() if line.startswith("xstilts: warning: study ")]
    assert "Traceback" not in result.stderr and len(warned) == 1, result.stderr
    assert "cannot answer its question" in warned[0] and "Fix:" in warned[0]
    for words in expected(path):
        assert words in warned[0], warned[0]


def test_the_dry_run_warns_a_study_that_cannot_answer(tmp_path):
    path = REPO / "tests/bad_configs/weak/study_typology_few_languages.yaml"
    result, log = dry_run(path, tmp_path)
    assert result.returncode == 0 and "xstilts: warning: study typology cannot answer its question" in log


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_configs_pass_validate(path, tmp_path):
    result = validate_cli(path, tmp_path)
    assert result.returncode == 0 and result.stdout.endswith(": valid\n"), result
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("name", DRY_RUN)
def test_dry_run_refuses(name, workdir):
    """The Snakefile's parse checks what validate checks: local data and study needs too."""
    path = REPO / "tests/bad_configs" / f"{name}.yaml"
    result, log = dry_run(path, workdir)
    assert result.returncode != 0 and "Traceback" not in log, log
    lines = [line for line in log.splitlines() if line.startswith("xstilts: config ")]
    assert len(lines) == 1, log
    for words in expected(path):
        assert words in lines[0], lines[0]


def test_a_prepare_job_ends_its_log_with_one_line(workdir, monkeypatch, capsys):
    """Local data defects that only a job can see (a row deep in the file; a hub source) end the
    job with one line naming the key and the fix, not a traceback."""
    from xstilts import cli
    from xstilts import settings as job_settings

    monkeypatch.chdir(workdir)
    rows = [{"text_a": "a", "text_b": "b", "label": "neutral"}] * 150 + [
        {"text_a": "a", "text_b": "b", "label": "maybe"}
    ]
    (workdir / "data/late.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    raw = config.read_yaml(REPO / "tests/bad_configs/src_wrong_labels.yaml")
    raw["sources"]["mnli"]["de"]["train"] = "data/late.jsonl"
    cfg = config.validate(raw)
    config.check_data(cfg)  # the head of the file is fine
    settings = job_settings.prepare(cfg, "FacebookAI__xlm-roberta-large", "mnli", "de", "train")
    with pytest.raises(SystemExit) as stop:
        cli.main(["prepare", "--settings", json.dumps(settings), "--out", str(workdir / "out")])
    err = capsys.readouterr().err
    last = err.splitlines()[-1]  # after datasets' progress bars
    assert stop.value.code == 1 and "Traceback" not in err, err
    assert last.startswith("xstilts: sources.mnli.de (train) from data/late.jsonl: labels ['maybe']")
    assert "Fix: map them with labels" in last


@pytest.mark.parametrize(
    "error, fix",
    [
        (
            RecipeError(
                "budget fixed: de has 10 examples, fewer than its share 20. Fix: lower budget.examples."
            ),
            "Fix: lower budget.examples.",
        ),
        (DiskFullError(Path("/scratch/results"), 2**30), "free space there"),
    ],
    ids=["budget", "disk"],
)
def test_expected_job_errors_end_the_log_with_one_line(error, fix, monkeypatch, capsys):
    """Errors a job expects (data sizes only the job sees, a full disk) are one line, exit 1."""
    from xstilts import cli, stages

    def prepare(*args):
        raise error

    monkeypatch.setattr(stages, "prepare", prepare)
    with pytest.raises(SystemExit) as stop:
        cli.main(["prepare", "--settings", "{}", "--out", "x"])
    err = capsys.readouterr().err
    assert stop.value.code == 1 and len(err.splitlines()) == 1 and err.startswith("xstilts: "), err
    assert fix in err
