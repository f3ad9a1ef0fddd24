"""A hub that cannot be reached, or a mirror that lacks a config: one line naming the
repository and the fixes (network or token, hub.mirror, HF_HUB_OFFLINE), never a traceback."""

import json
import os
import subprocess
import sys

import pytest

from xstilts.hub import Hub, HubError, hub_failure

OFFLINE_SETTINGS = {
    "hub": {"mirror": None, "ccgbank": None},
    "task": "xnli",
    "language": "en",
    "split": "test",
    "tokenizer": "FacebookAI/xlm-roberta-large",
    "data": {"max_length": 128},
}


def offline_env(tmp_path):
    """No network and an empty cache: what a compute node without a hub mirror sees."""
    return {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")}


def test_prepare_offline_is_one_line_naming_repo_and_fixes(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "xstilts.cli",
            "prepare",
            "--settings",
            json.dumps(OFFLINE_SETTINGS),
            "--out",
            str(tmp_path / "out"),
        ],
        env=offline_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    line = result.stderr.strip().splitlines()[-1]
    # prepare reads the data before the tokenizer (a data defect costs no model download)
    assert line.startswith(
        "xstilts: could not reach the Hugging Face hub for dataset google/xtreme (XNLI)"
    ), line
    for words in ("HF_TOKEN", "hub.mirror", "HF_HUB_OFFLINE is set"):
        assert words in line, line
    assert not (tmp_path / "out").exists()


def test_dataset_offline_names_repo_and_config(tmp_path):
    code = (
        "from xstilts.hub import Hub, HubError\n"
        "try:\n    Hub(None).dataset('nyu-mll/glue', 'mnli', 'train')\n"
        "except HubError as error:\n    print(error)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], env=offline_env(tmp_path), capture_output=True, text=True, timeout=300
    )
    assert "could not reach the Hugging Face hub for dataset nyu-mll/glue (mnli)" in result.stdout, result
    assert "hub.mirror" in result.stdout


def test_unreachable_without_offline_mode(monkeypatch):
    """A DNS failure deep inside huggingface_hub: the advice names HF_HUB_OFFLINE as an option."""
    import huggingface_hub

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)

    def no_network(*args, **kwargs):
        try:
            raise ConnectionError("[Errno -2] Name or service not known")
        except ConnectionError as cause:
            raise OSError("We couldn't connect to 'https://huggingface.co'") from cause

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", no_network)
    with pytest.raises(HubError) as error:
        Hub(None).model("FacebookAI/xlm-roberta-large")
    message = str(error.value)
    assert "model FacebookAI/xlm-roberta-large" in message and "Name or service not known" in message
    assert "HF_HUB_OFFLINE=1 reads only the local cache" in message and "hub.mirror" in message


def test_missing_repository_is_not_called_unreachable():
    import httpx2
    from huggingface_hub.errors import RepositoryNotFoundError

    response = httpx2.Response(404, request=httpx2.Request("GET", "https://huggingface.co/x/y"))
    # an OSError with no hub error behind it is someone else's
    assert hub_failure(OSError("x/y is not a valid model identifier"), "model x/y") is None
    try:
        raise OSError("x/y is not a valid model identifier") from RepositoryNotFoundError(
            "404 Client Error. Repository Not Found", response=response
        )
    except OSError as error:
        failure = hub_failure(error, "model x/y")
    assert "model x/y was not found on the Hugging Face hub" in str(failure)
    assert "HF_TOKEN" in str(failure)


def test_other_errors_pass_through():
    assert hub_failure(ValueError("a bug")) is None
    assert hub_failure(ConnectionResetError("a local socket")) is None  # not the hub's


@pytest.fixture
def mirror(tmp_path):
    """A two-config mirror of google/xtreme, written like the embedded one."""
    from datasets import Features, Value

    from xstilts.embedded.hub import MirrorWriter

    writer = MirrorWriter(tmp_path / "mirror")
    features = Features(
        {"sentence1": Value("string"), "sentence2": Value("string"), "label": Value("string")}
    )
    row = {"sentence1": "a", "sentence2": "b", "label": "1"}
    writer.write("google/xtreme", "PAWS-X.en", "test", [row], features)
    writer.write("google/xtreme", "PAWS-X.fr", "test", [row], features)
    writer.write_cards("test mirror")
    return tmp_path / "mirror"


def test_mirror_missing_config_names_it_and_the_available_ones(mirror):
    assert len(Hub(mirror).dataset("google/xtreme", "PAWS-X.fr", "test")) == 1
    with pytest.raises(
        HubError,
        match=r"google/xtreme in the hub mirror .* has no config "
        r"'PAWS-X.de'; it has: PAWS-X.en, PAWS-X.fr. Fix:",
    ):
        Hub(mirror).dataset("google/xtreme", "PAWS-X.de", "test")
    with pytest.raises(HubError, match=r"config 'PAWS-X.en', has no split 'validation'; it has: test"):
        Hub(mirror).dataset("google/xtreme", "PAWS-X.en", "validation")
    with pytest.raises(HubError, match=r"google/xtreem .* is not in the hub mirror.*Fix:"):
        Hub(mirror).dataset("google/xtreem", "PAWS-X.en", "test")


def test_github_file_offline_names_the_fix_then_reads_the_cache(tmp_path, monkeypatch):
    """XQuAD-R's official JSON without a mirror: refused offline with `xstilts fetch --cache`,
    read from beside the HF cache once there (no network either way)."""
    from xstilts import hub as hub_module

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(hub_module, "github_cache", lambda: tmp_path / "github")
    with pytest.raises(HubError, match=r"xstilts fetch --cache"):
        Hub().github_file("google-research-datasets/lareqa", "abc123", "xquad-r/de.json")
    cached = tmp_path / "github" / "google-research-datasets/lareqa" / "abc123" / "xquad-r/de.json"
    cached.parent.mkdir(parents=True)
    cached.write_text("{}")
    assert Hub().github_file("google-research-datasets/lareqa", "abc123", "xquad-r/de.json") == cached
    with pytest.raises(HubError, match="mirror lacks xquad-r/de.json"):
        Hub(tmp_path / "mirror").github_file("google-research-datasets/lareqa", "abc123", "xquad-r/de.json")


def test_url_file_offline_names_the_fix_then_reads_the_cache(tmp_path, monkeypatch):
    """The UD 2.5 release without a mirror: refused offline with `xstilts fetch --cache`, read
    from beside the HF cache once there; a mirror without it names `xstilts fetch`."""
    from xstilts import hub as hub_module
    from xstilts import loaders

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(hub_module, "files_cache", lambda: tmp_path / "files")
    with pytest.raises(HubError, match=r"ud-treebanks-v2.5.tgz\). Fix: run `xstilts fetch --cache`"):
        Hub().url_file(loaders.UD25, loaders.UD25_FILE)
    cached = tmp_path / "files" / loaders.UD25 / loaders.UD25_FILE
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"")
    assert Hub().url_file(loaders.UD25, loaders.UD25_FILE) == cached
    with pytest.raises(HubError, match=r"mirror lacks https://lindat.*v2.5.tgz. Fix: run `xstilts fetch`"):
        Hub(tmp_path / "mirror").url_file(loaders.UD25, loaders.UD25_FILE)


def test_named_files_missing_from_the_mirror_are_one_line(tmp_path):
    from xstilts import loaders

    branch = tmp_path / f"{loaders.UD27}@refs--convert--parquet" / "ro_rrt" / "test"
    branch.mkdir(parents=True)
    with pytest.raises(HubError, match=r"has no files lt_alksnis/test/\*\.parquet\. Fix:"):
        Hub(tmp_path).dataset(
            loaders.UD27, None, "test", loaders.UD27_REVISION, {"test": "lt_alksnis/test/*.parquet"}
        )
