"""Issue 14: fetch (offline, from a local hub-shaped source), show, why, the precedence rule and
its warnings case by case, the generated config reference, `xstilts tasks NAME`."""

import base64
import json
import subprocess
import sys
from pathlib import Path

import pytest

from xstilts import config, explain, fetch, jobs, layouts, loaders, reference, tasks
from xstilts.hub import Hub

REPO = Path(__file__).resolve().parents[1]
TINY = REPO / "configs/tiny.yaml"
BASE = {"models": {"x": {"hub_id": "FacebookAI/xlm-roberta-large"}}, "targets": {"xnli": ["en"]}}


def cli(*args, cwd=REPO):
    return subprocess.run(
        [sys.executable, "-m", "xstilts.cli", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


# ---- fetch -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """The embedded mirror (micro size) and a one-step tiny model: the 'remote' hub."""
    from xstilts.embedded.hub import build_hub_mirror
    from xstilts.embedded.model import build_tiny_model

    root = tmp_path_factory.mktemp("remote") / "hub"
    build_hub_mirror(root, ["en", "de"], size="micro")
    build_tiny_model(root, "xstilts/tiny-xlmr", steps=1, vocab_size=300)
    return root


def test_fetch_fills_an_empty_mirror_then_fetches_nothing(source, tmp_path):
    mirror = tmp_path / "mirror"
    raw = {
        "models": {"t": {"hub_id": "xstilts/tiny-xlmr", "retrieval_layer": 2}},
        "recipes": ["none", "mnli", "hellaswag"],
        "targets": {"xnli": ["en", "de"], "tatoeba": ["de"]},
        "hub": {"mirror": str(mirror)},
    }
    (tmp_path / "grid.yaml").write_text(json.dumps(raw))
    first = cli("fetch", "--config", tmp_path / "grid.yaml", "--source", source, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "5 of 5 files" in first.stdout and "fetched 0 B" not in first.stdout, first.stdout
    lock = json.loads((mirror / fetch.LOCK).read_text())
    assert set(lock) == {
        "model:xstilts/tiny-xlmr@main",
        "dataset:google/xtreme@main",
        "dataset:nyu-mll/glue@main",
        "dataset:Rowan/hellaswag@refs/convert/parquet",
    }
    # only the configs the grid reads: XNLI and tatoeba.deu of google/xtreme, not PAWS-X
    assert not list((mirror / "google/xtreme").glob("PAWS-X*")) and (mirror / "google/xtreme/XNLI").is_dir()
    # the project reads the filled mirror through its one loading path
    hub = Hub(mirror)
    assert len(fetch.stages.load_split("xnli", hub, "test", "de", {})) > 0
    assert len(fetch.stages.load_split("hellaswag", hub, "dev", "en", {})) > 0
    second = cli("fetch", "--config", tmp_path / "grid.yaml", "--source", source, cwd=tmp_path)
    assert second.returncode == 0 and "fetched 0 B" in second.stdout, second.stdout
    assert second.stdout.count("up to date") == 4
    # cells record the pinned commits
    revisions = fetch.revisions(mirror, "xstilts/tiny-xlmr", ["google/xtreme"])
    assert revisions == {
        "dataset:google/xtreme": lock["dataset:google/xtreme@main"]["sha"],
        "model:xstilts/tiny-xlmr": lock["model:xstilts/tiny-xlmr@main"]["sha"],
    }


@pytest.fixture
def stub_hub(source, monkeypatch):
    """The hub's API, served from the local `source`: `HfApi.repo_info` (commit, files with
    sizes, card metadata) and `snapshot_download`, the two calls `xstilts fetch` makes. Each
    call asserts that nothing set HF_HUB_OFFLINE; returns the calls made."""
    import os
    import shutil

    import huggingface_hub
    from huggingface_hub import constants, hf_api

    calls = []
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)  # as imported in a fresh shell

    commits = {}  # commit -> the source directory it fingerprints

    def repo_info(self, repo, repo_type=None, revision=None, files_metadata=False, **_):
        assert "HF_HUB_OFFLINE" not in os.environ and files_metadata
        calls.append(("info", repo, revision))
        root, branch = commits.get(revision) or (fetch.mirror_path(source, repo, revision), revision)
        sha, files = fetch.LocalSource(source).files(repo, repo_type, branch)
        commits[sha] = (root, branch)
        meta = fetch.card_metadata((root / "README.md").read_text()) if (root / "README.md").is_file() else {}
        kind = hf_api.DatasetInfo if repo_type == "dataset" else hf_api.ModelInfo
        siblings = [{"rfilename": name, "size": size} for name, size in files.items()]
        return kind(id=repo, sha=sha, siblings=siblings, cardData=meta or None, tags=[])

    def snapshot_download(repo, repo_type=None, revision=None, allow_patterns=None, local_dir=None, **_):
        assert "HF_HUB_OFFLINE" not in os.environ and local_dir is not None
        calls.append(("download", repo, revision))
        root = commits[revision][0]  # fetch downloads the commit repo_info resolved
        for name in allow_patterns:  # fetch asks for exact file names
            target = Path(local_dir) / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(root / name, target)
        return str(local_dir)

    monkeypatch.setattr(hf_api.HfApi, "repo_info", repo_info)
    monkeypatch.setattr(huggingface_hub, "snapshot_download", snapshot_download)
    return calls


def test_fetch_fills_a_mirror_through_the_hub_path(stub_hub, tmp_path, capsys):
    """`xstilts fetch` as on a login node: the hub's API (stubbed), no offline flag from
    xstilts; `--list` prints every repository with its configs and sizes, and downloads nothing."""
    from xstilts import cli as xcli

    mirror = tmp_path / "mirror"
    raw = {
        "models": {"t": {"hub_id": "xstilts/tiny-xlmr", "retrieval_layer": 2}},
        "recipes": ["none", "mnli", "hellaswag"],
        "targets": {"xnli": ["en", "de"]},
        "hub": {"mirror": str(mirror)},
    }
    (tmp_path / "grid.yaml").write_text(json.dumps(raw))
    xcli.main(["fetch", "--config", str(tmp_path / "grid.yaml"), "--list"])
    listed = capsys.readouterr().out.splitlines()
    assert not mirror.exists() and {c[0] for c in stub_hub} == {"info"}
    xtreme = next(line for line in listed if line.startswith("dataset google/xtreme@main"))
    assert "XNLI (test)" in xtreme and "PAWS-X" not in xtreme, xtreme  # the configs the grid reads
    assert "model xstilts/tiny-xlmr@main" in listed[0] and "model and tokenizer" in listed[0]
    sizes = {line.split(": ")[0]: line.rsplit(", ", 1)[1] for line in listed[:-1]}
    assert len(sizes) == 4 and all(size.split()[1] in ("KB", "MB") for size in sizes.values()), sizes
    assert listed[-1].startswith("total: 4 repositories,") and "not yet in" in listed[-1], listed[-1]

    xcli.main(["fetch", "--config", str(tmp_path / "grid.yaml")])
    out = capsys.readouterr().out
    assert "fetched 0 B" not in out and {c[0] for c in stub_hub} == {"info", "download"}, out
    hub = Hub(mirror)  # the mirror reads through the project's one loading path
    assert len(fetch.stages.load_split("xnli", hub, "test", "de", {})) > 0
    assert len(fetch.stages.load_split("hellaswag", hub, "dev", "en", {})) > 0
    stub_hub.clear()
    xcli.main(["fetch", "--config", str(tmp_path / "grid.yaml"), "--list"])
    assert capsys.readouterr().out.splitlines()[-1].endswith(f"0 B not yet in {mirror}")
    xcli.main(["fetch", "--config", str(tmp_path / "grid.yaml")])
    assert "fetched 0 B" in capsys.readouterr().out and {c[0] for c in stub_hub} == {"info"}


@pytest.mark.parametrize("destination", ["--mirror", "--cache"])
def test_fetch_without_network_is_one_line(destination, tmp_path):
    """An unreachable hub (a closed port as the endpoint): one line naming the repository and
    the fix, no traceback; an offline flag in the user's shell is named too."""
    import os

    (tmp_path / "grid.yaml").write_text(json.dumps({**BASE, "recipes": ["none"]}))
    args = ["fetch", "--config", tmp_path / "grid.yaml", destination]
    args += [tmp_path / "m"] if destination == "--mirror" else []
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    env["HF_ENDPOINT"] = "http://127.0.0.1:9"
    for extra in ({}, {"HF_HUB_OFFLINE": "1"}):
        result = subprocess.run(
            [sys.executable, "-m", "xstilts.cli", *map(str, args)],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            env={**env, **extra},
        )
        assert result.returncode == 1 and len(result.stderr.strip().splitlines()) == 1, result.stderr
        if extra:
            assert "HF_HUB_OFFLINE" in result.stderr and "env -u HF_HUB_OFFLINE" in result.stderr
        else:
            assert (
                "could not reach the Hugging Face hub for model FacebookAI/xlm-roberta-large@main"
                in (result.stderr)
                and "Fix: run `xstilts fetch` where the hub is reachable" in result.stderr
            )


def test_fetch_refuses_a_changed_source_without_update(source, tmp_path):
    cfg = config.validate(
        {
            **BASE,
            "models": {"t": {"hub_id": "xstilts/tiny-xlmr"}},
            "recipes": ["none"],
            "hub": {"mirror": str(tmp_path)},
        }
    )
    fetch.fetch(cfg, tmp_path, fetch.LocalSource(source), log=lambda _: None)
    lock = json.loads((tmp_path / fetch.LOCK).read_text())
    lock["model:xstilts/tiny-xlmr@main"]["sha"] = "0" * 40
    (tmp_path / fetch.LOCK).write_text(json.dumps(lock))
    with pytest.raises(fetch.FetchError, match="--update"):
        fetch.fetch(cfg, tmp_path, fetch.LocalSource(source), log=lambda _: None)
    fetch.fetch(cfg, tmp_path, fetch.LocalSource(source), update=True, log=lambda _: None)


def test_fetch_brings_github_files_for_offline_nodes(source, tmp_path):
    """LAReQA reads XQuAD-R's official JSON from GitHub: fetch puts it in the mirror, pinned.
    The pool is every XQuAD-R language; the source's world has two, the others are copies."""
    import shutil

    remote = tmp_path / "remote"
    shutil.copytree(source, remote)
    files = remote / layouts.GITHUB_DIR / loaders.LAREQA_REPO / "xquad-r"
    for lang in tasks.TASKS["lareqa"].pool_languages:
        if not (files / f"{lang}.json").is_file():
            shutil.copyfile(files / "en.json", files / f"{lang}.json")
    mirror = tmp_path / "mirror"
    cfg = config.validate(
        {
            "models": {"t": {"hub_id": "xstilts/tiny-xlmr"}},
            "recipes": ["none"],
            "targets": {"lareqa": ["de"]},
            "hub": {"mirror": str(mirror)},
        }
    )
    lock = fetch.fetch(cfg, mirror, fetch.LocalSource(remote), log=lambda _: None)
    commit = layouts.get(loaders.LAREQA_REPO).revision
    fetched = lock[f"github:{loaders.LAREQA_REPO}@{commit}"]["files"]
    assert fetched.keys() == {f"xquad-r/{lang}.json" for lang in tasks.TASKS["lareqa"].pool_languages}
    rows = fetch.stages.load_split("lareqa", Hub(mirror), "test", "de", {})
    assert {"query", "candidate"} == set(rows["kind"])
    again = []
    fetch.fetch(cfg, mirror, fetch.LocalSource(remote), log=again.append)
    assert f"github {loaders.LAREQA_REPO}@{commit[:12]}: up to date" in again


def test_fetch_brings_the_ud25_release_pinned_by_its_sha256(source, tmp_path):
    """udpos (XTREME's languages) reads the UD 2.5 release tarball: fetch puts it in the mirror,
    pins its sha256, which cells record; a changed file at the same address is refused."""
    import hashlib
    import shutil

    mirror = tmp_path / "mirror"
    cfg = config.validate(
        {
            "models": {"t": {"hub_id": "xstilts/tiny-xlmr"}},
            "recipes": ["none"],
            "targets": {"udpos": ["de"]},
            "hub": {"mirror": str(mirror)},
        }
    )
    lock = fetch.fetch(cfg, mirror, fetch.LocalSource(source), log=lambda _: None)
    record = layouts.get(loaders.UD25)
    tarball = mirror / layouts.FILES_DIR / loaders.UD25 / loaders.UD25_FILE
    sha = hashlib.sha256(tarball.read_bytes()).hexdigest()
    assert lock[f"url:{loaders.UD25}@{record.revision}"]["sha256"] == {loaders.UD25_FILE: sha}
    data = {"udpos_words": "surface", "udpos_source": "ud-2.5"}
    assert len(fetch.stages.load_split("udpos", Hub(mirror), "test", "de", data)) > 0
    assert fetch.revisions(mirror, "xstilts/tiny-xlmr", [loaders.UD25])[f"url:{loaders.UD25}"] == (
        f"{record.revision} sha256:{sha}"
    )
    again = []
    fetch.fetch(cfg, mirror, fetch.LocalSource(source), log=again.append)
    assert f"url {loaders.UD25}@{record.revision[:12]}: up to date" in again
    remote = tmp_path / "remote"
    shutil.copytree(source, remote)
    (remote / layouts.FILES_DIR / loaders.UD25 / loaders.UD25_FILE).write_bytes(b"changed")
    tarball.unlink()
    with pytest.raises(fetch.FetchError, match="the published file changed"):
        fetch.fetch(cfg, mirror, fetch.LocalSource(remote), log=lambda _: None)
    assert not tarball.exists()


def test_fetch_knows_files_read_as_files():
    """Mewsli-X is read from its raw.tar.gz, not through `datasets`: fetch must still list it."""
    datasets, files, _ = fetch.needed(config.load(str(REPO / "configs/tiny-xtreme-r.yaml")))
    assert files[("izhx/mewsli-x", "main")] == {"raw.tar.gz"}
    # UD 2.7: every treebank of the language, named as files (the parquet branch has no configs)
    ud = files[(loaders.UD27, loaders.UD27_REVISION)]
    assert ud == {f"{tb}/test/*.parquet" for tb in loaders.UD27_TREEBANKS["ro"]}
    commit = layouts.get(loaders.LAREQA_REPO).revision  # lareqa: XQuAD-R's official files, from GitHub
    assert files[(loaders.LAREQA_REPO, commit)] == {
        f"xquad-r/{lang}.json" for lang in ("de", "en", "tr", "zh")
    }


def test_the_mirror_path_runs_offline(monkeypatch):
    """A job given --mirror sets HF_HUB_OFFLINE (honoured by huggingface_hub and datasets)."""
    import os

    from xstilts import cli as xcli
    from xstilts import stages

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    seen = {}
    monkeypatch.setattr(  # not cmd_prepare: the parser, built once, holds the function itself
        stages, "prepare", lambda *args: seen.setdefault("offline", os.environ.get("HF_HUB_OFFLINE"))
    )
    xcli.main(["prepare", "--settings", "{}", "--out", "x", "--mirror", "m"])
    assert seen["offline"] == "1"
    monkeypatch.delenv("HF_HUB_OFFLINE")


def test_a_cell_records_the_revisions_it_read(tmp_path):
    """The evaluate command's `revisions`: the target's and training task's datasets, the model."""
    import argparse

    from xstilts import cli as xcli

    (tmp_path / fetch.LOCK).write_text(
        json.dumps({"dataset:google/xtreme@main": {"sha": "a" * 40}, "model:org/m@main": {"sha": "b" * 40}})
    )
    (tmp_path / "nyu-mll/glue").mkdir(parents=True)
    (tmp_path / "nyu-mll/glue/README.md").write_text("card")
    args = argparse.Namespace(mirror=str(tmp_path))
    model = {"hub_id": "org/m"}
    found = xcli._revisions(args, {"target": "xnli", "train_task": "mnli", "model": model}, ["de"])
    assert found["dataset:google/xtreme"] == "a" * 40 and found["model:org/m"] == "b" * 40
    assert len(found["dataset:nyu-mll/glue"]) == 16  # no lock entry: the mirror's fingerprint
    # XTREME-R: a language served by another repo, and every stage of a training chain
    panx = xcli._revisions(args, {"target": "panx", "train_task": "panx", "model": model}, ["en", "ro"])
    assert {"dataset:google/xtreme", "dataset:unimelb-nlp/wikiann"} <= set(panx)
    xcopa = xcli._revisions(args, {"target": "xcopa", "train_task": "copa", "model": model}, ["sw"])
    assert {"dataset:cambridgeltl/xcopa", "dataset:lighteval/siqa", "dataset:aps/super_glue"} <= set(xcopa)
    tatoeba = {
        "target": "tatoeba",
        "train_task": None,
        "model": model,
        "protocol": {"tatoeba_encoder": "squad_v1"},
    }
    assert "dataset:rajpurkar/squad" in xcli._revisions(args, tatoeba, ["zh"])


# ---- show ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "job, output, lines",
    [
        (
            ["intermediate", "mnli"],
            "results/tiny-xlmr/mnli/seed0/intermediate/model",
            [
                "training.lr = 0.001",
                "<- intermediate.lr",
                "training.adam_eps = 1e-08",
                "x-training-defaults",
                "data.mnli.max_length = 192",
                "data.max_length (caps the registry's 256)",
            ],
        ),
        (
            ["finetune", "xnli", "recipe=mnli", "seed=1"],
            "results/tiny-xlmr/mnli/seed1/finetune/mnli/model",
            [
                "training.max_train_examples = 500",
                "<- finetune.max_train_examples",
                "training.early_stopping = null",
                "<- finetune.early_stopping",
            ],
        ),
        (
            ["evaluate", "xnli", "de", "recipe=mnli"],
            "results/tiny-xlmr/mnli/seed0/eval/xnli/de.json",
            ["model.retrieval_layer = 2", "<- models.tiny-xlmr.retrieval_layer", 'language = "de"'],
        ),
    ],
)
def test_show_on_the_tiny_config(job, output, lines):
    result = cli("show", "--config", TINY, *job)
    assert result.returncode == 0, result.stderr
    assert f"output: {output}" in result.stdout
    for line in lines:
        assert line in result.stdout, (line, result.stdout)


def test_show_refuses_a_job_outside_the_grid():
    result = cli("show", "--config", TINY, "evaluate", "xnli", "ja", "recipe=mnli")
    assert result.returncode == 2 and "not evaluated in 'ja'" in result.stderr, result.stderr


# ---- precedence, case by case -----------------------------------------------------------------


def resolved(raw, job):
    cfg = config.validate({**BASE, **raw})
    parsed = explain.parse_job(cfg, job)
    settings = explain.built(cfg, parsed).settings
    return settings["training"], explain.sources(cfg, {**BASE, **raw}, parsed, settings)


def test_registry_over_schema_default():
    training, where = resolved({"recipes": ["none", "mnli"]}, ["intermediate", "mnli"])
    assert training["batch_size"] == 4 and where["training.batch_size"].startswith("task registry")


def test_phase_block_over_registry():
    training, where = resolved(
        {"recipes": ["none", "mnli"], "intermediate": {"batch_size": 8}}, ["intermediate", "mnli"]
    )
    assert training["batch_size"] == 8 and where["training.batch_size"] == "intermediate.batch_size"


def test_tasks_over_phase_block_in_both_phases():
    """The issue's case: tasks.mnli.lr under a config that sets intermediate.lr now changes the
    mnli intermediate training (and the xnli fine-tuning on mnli)."""
    raw = {
        "recipes": ["none", "mnli"],
        "intermediate": {"lr": 1.0e-3},
        "finetune": {"lr": 3.0e-3},
        "tasks": {"mnli": {"lr": 2.0e-5}},
    }
    training, where = resolved(raw, ["intermediate", "mnli"])
    assert training["lr"] == 2.0e-5 and where["training.lr"] == "tasks.mnli.lr"
    training, where = resolved(raw, ["finetune", "xnli", "recipe=mnli"])
    assert training["lr"] == 2.0e-5 and where["training.lr"] == "tasks.mnli.lr"


def test_recipe_training_over_tasks():
    raw = {
        "recipes": ["none", {"name": "m", "tasks": ["mnli"], "training": {"lr": 4.0e-5}}],
        "tasks": {"mnli": {"lr": 2.0e-5}},
    }
    training, where = resolved(raw, ["intermediate", "m"])
    assert training["lr"] == 4.0e-5 and where["training.lr"] == "recipes[1].training.lr"


def test_a_partial_nested_block_takes_the_schema_defaults():
    """As settings.py states: a partial lora block fills the keys it leaves out with the
    schema's defaults, so it overrides the lower layer's r too; show and validate say so."""
    raw = {
        "recipes": ["none", "mnli"],
        "intermediate": {"lora": {"r": 4}},
        "tasks": {"mnli": {"lora": {"alpha": 32}}},
    }
    training, where = resolved(raw, ["intermediate", "mnli"])
    assert training["lora"] == {"r": 8, "alpha": 32, "dropout": 0.1}
    assert where["training.lora.alpha"] == "tasks.mnli.lora.alpha"
    assert where["training.lora.r"] == "default (schema), filled into tasks.mnli.lora"
    found = warnings(raw)
    assert found == [
        "config key intermediate.lora.r never takes effect: intermediate mnli takes it from "
        "default (schema), filled into tasks.mnli.lora."
    ]


def warnings(raw):
    full = {**BASE, **raw}
    return explain.unreachable(config.validate(full), full)


def test_no_warning_for_the_shipped_configs():
    for path in (REPO / "config.yaml", TINY, REPO / "configs/tiny-all.yaml"):
        assert explain.unreachable(config.load(path), config.read_yaml(path)) == [], path


def test_warns_a_phase_key_overridden_for_every_task():
    found = warnings(
        {
            "recipes": ["none", "mnli"],
            "targets": {"udpos": ["en"]},
            "intermediate": {"lr": 1.0e-3},
            "tasks": {"mnli": {"lr": 2.0e-5}},
        }
    )
    assert found == [
        "config key intermediate.lr never takes effect: intermediate mnli takes it from tasks.mnli.lr."
    ]


def test_no_warning_when_the_phase_key_applies_somewhere():
    assert (
        warnings(
            {
                "recipes": ["none", "mnli", "qqp"],
                "intermediate": {"lr": 1.0e-3},
                "tasks": {"mnli": {"lr": 2.0e-5}},
            }
        )
        == []
    )


def test_warns_a_tasks_key_lost_in_a_multi_task_recipe():
    """The silent case that remains: all9 takes tasks.<task> keys only where its tasks agree."""
    found = warnings(
        {"recipes": ["none", "all9"], "tasks": {"qqp": {"lr": 2.0e-5}}, "hub": {"ccgbank": "/x"}}
    )
    assert (
        len(found) == 1
        and "tasks.qqp.lr never takes effect" in found[0]
        and "recipes[1].training.lr" in found[0]
    )


def test_warns_a_tasks_key_of_a_task_never_trained():
    found = warnings({"recipes": ["none", "mnli"], "tasks": {"qqp": {"lr": 2.0e-5}}})
    assert found == [
        "config key tasks.qqp never takes effect: the grid never trains or evaluates qqp (no recipe "
        "lists it, no target is or trains on it)."
    ]


def test_warns_a_tasks_key_under_every_recipes_training():
    found = warnings(
        {
            "recipes": ["none", {"name": "m", "tasks": ["qqp"], "training": {"epochs": 1}}],
            "tasks": {"qqp": {"epochs": 2}},
        }
    )
    assert found == [
        "config key tasks.qqp.epochs never takes effect: intermediate m takes it from "
        "recipes[1].training.epochs."
    ]


def test_warns_a_length_above_the_cap_and_an_unused_phase_block():
    found = warnings(
        {
            "recipes": ["none"],
            "data": {"max_length": 128},
            "tasks": {"xnli": {"max_length": 256}},
            "intermediate": {"lr": 1.0e-4},
        }
    )
    assert any("intermediate never takes effect" in w for w in found)
    assert any("tasks.xnli.max_length (256) never takes effect: data.max_length (128)" in w for w in found)


def test_warns_sources_and_options_no_task_reads():
    local = {"train": "x.jsonl", "dev": "y.jsonl"}
    found = warnings(
        {
            "recipes": ["none", "mnli"],
            "sources": {"mnli": {"de": local}},
            "hub": {"tydiqa_train": "all", "ccgbank": "/data/ccgbank"},
            "evaluation": {"bucc_k": 8},
        }
    )
    assert found == [
        "config key hub.tydiqa_train never takes effect: no task of the grid reads it (only tydiqa).",
        "config key hub.ccgbank never takes effect: no task of the grid reads it (only ccg).",
        "config key evaluation.bucc_k never takes effect: no task of the grid reads it (only bucc).",
        "config key sources.mnli.de never takes effect: no recipe trains mnli in de. Fix: add "
        "{task: mnli, language: de} to a recipe's tasks (or a family's languages), or remove it.",
    ]
    trained = {"recipes": ["none", {"name": "m", "tasks": [{"task": "mnli", "language": "de"}]}]}
    assert warnings({**trained, "sources": {"mnli": {"de": local}}}) == []


def test_warns_sampling_where_no_recipe_mixes_tasks():
    """Sampling weighs a recipe's tasks: a family (one task in several languages, pooled) or a
    single-task recipe never reads it; the defaults written out are no slip."""
    family = {"family": "sources", "task": "mnli", "languages": ["de"], "sampling": {"cap": 10}}
    found = warnings({"recipes": ["none", "mnli", family], "sampling": {"cap": 100}})
    assert [w.split(":")[0] for w in found] == ["config key sampling never takes effect"] + [
        "config key recipes[2].sampling never takes effect"
    ]
    assert warnings({"recipes": ["none", "mnli"], "sampling": {"method": "proportional", "cap": None}}) == []
    assert warnings({"recipes": ["none", "all9"], "sampling": {"cap": 100}, "hub": {"ccgbank": "/x"}}) == []


def test_warns_a_budget_that_keeps_every_example():
    recipes = [
        "none",
        {"family": "sources", "task": "mnli", "languages": ["de", "ru"], "budget": "fixed"},
        {"family": "language_count", "task": "mnli", "pool": ["de", "ru"], "k": [1, 2], "budget": "fixed"},
        {"name": "capped", "tasks": ["mnli"], "budget": {"kind": "fixed", "examples": 100}},
        {"name": "whole", "tasks": ["mnli"], "budget": "per_language"},
    ]
    found = warnings({"recipes": recipes})
    assert [w.split(":")[0] for w in found] == [
        "config key recipes[1].budget never takes effect",
        "config key recipes[4].budget never takes effect",
    ]


def test_validate_prints_the_warning(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(json.dumps({**BASE, "recipes": ["none", "mnli"], "tasks": {"qqp": {"epochs": 2}}}))
    result = cli("validate", "--config", path, cwd=tmp_path)
    assert result.returncode == 0 and "warning: config key tasks.qqp never takes effect" in result.stderr


# ---- why -------------------------------------------------------------------------------------


def test_why_names_the_changed_keys(tmp_path):
    cfg = config.load(TINY)
    for job in jobs.recorded(jobs.table(cfg), cfg):  # a finished grid, as its outputs record it
        out = tmp_path / job.output
        record = {"settings": job.settings}
        if job.stage == "evaluate":
            record["settings"] = {
                **job.settings,
                "evaluation": {**job.settings["evaluation"], "batch_size": 64},
            }
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps(record))
        else:
            out.mkdir(parents=True, exist_ok=True)
            (out / job.record).write_text(json.dumps(record))
    assert explain.why(cfg, tmp_path) == []
    assert explain.format_why([]) == "nothing would rerun for its settings"
    raw = config.read_yaml(TINY)
    raw["tasks"] = {"mnli": {"lr": 2.0e-3}}
    report = explain.why(config.validate(raw), tmp_path)
    changed = [e for e in report if e["status"] == "changed"]
    assert {e["stage"] for e in changed} == {"intermediate", "finetune"}
    assert all(e["changes"] == [("training.lr", 0.001, 0.002)] for e in changed)
    assert len([e for e in changed if e["stage"] == "intermediate"]) == 2  # mnli x 2 seeds
    upstream = [e for e in report if e["status"] == "upstream"]
    assert upstream and all(e["stage"] in ("finetune", "evaluate") for e in upstream)
    text = explain.format_why(report)
    assert "training.lr: 0.001 -> 0.002" in text and "run because an input reruns" in text
    # adoption: outputs whose recorded settings match may be touched, the others are listed
    good, bad = explain.adoptable(config.validate(raw), tmp_path)
    # (and those downstream of them, which the changed ones' reruns recompute)
    assert {e["out"] for e in bad} == {e["out"] for e in changed + upstream}
    assert not set(good) & {e["out"] for e in bad} and good
    (tmp_path / "grid.yaml").write_text(json.dumps(raw))
    result = cli("why", "--config", tmp_path / "grid.yaml", "--touch", "--dry-run", cwd=tmp_path)
    assert result.returncode == 0 and "snakemake OUTPUTS --touch" in result.stdout, result.stderr
    assert "not adopted: results/tiny-xlmr/mnli/seed0/intermediate/model" in result.stderr
    assert "results/tiny-xlmr/squad_v1/seed0/intermediate/model" in result.stdout


SMALL = {
    "models": {"tiny-xlmr": {"hub_id": "xstilts/tiny-xlmr", "retrieval_layer": 2}},
    "recipes": ["none", "mnli"],
    "targets": {"pawsx": ["de"]},
    "seeds": [0],
    "hub": {"mirror": "resources/hub"},
    "embedded": {"languages": ["en", "de"]},
}


def test_why_touch_adopts_what_matches(tmp_path):
    """Outputs copied in from elsewhere: `why --touch` runs `snakemake --touch` on those whose
    recorded settings match (Snakemake then records the config's settings and sees a later
    change) and warns that one not adopted has no metadata, so `snakemake -n` keeps it."""
    cfg = config.validate(SMALL)
    for job in jobs.recorded(jobs.table(cfg), cfg):  # a finished grid computed elsewhere, copied in
        out = tmp_path / job.output
        record = {"settings": job.settings}
        if job.stage == "evaluate":
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps(record))
        else:
            out.mkdir(parents=True, exist_ok=True)
            (out / job.record).write_text(json.dumps(record))
    for marker in fetch.grid.embedded_markers("resources/hub"):
        (tmp_path / marker).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / marker).write_text("{}")
    stale = "results/tiny-xlmr/none/seed0/finetune/pawsx/model"  # made with another lr
    record = json.loads((tmp_path / stale / "training.json").read_text())
    record["settings"]["training"]["lr"] = 1.0
    (tmp_path / stale / "training.json").write_text(json.dumps(record))
    (tmp_path / "grid.yaml").write_text(json.dumps(SMALL))

    result = cli("why", "--config", tmp_path / "grid.yaml", "--directory", tmp_path, "--touch")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert f"not adopted: {stale}: recorded settings differ" in result.stderr
    downstream = "results/tiny-xlmr/none/seed0/eval/pawsx/de.json"  # computed from the stale model
    assert f"not adopted: {downstream}: its input {stale} is not adopted" in result.stderr
    assert "delete the 2 output(s) not adopted" in result.stderr and "adopting 8 output(s)" in result.stdout
    metadata = tmp_path / ".snakemake/metadata"
    recorded = {base64.b64decode(f.name).decode() for f in metadata.iterdir()}
    assert stale not in recorded and downstream not in recorded  # not touched through a target
    adopted = {j.output for j in jobs.recorded(jobs.table(cfg), cfg)} - {stale, downstream}
    assert adopted <= recorded

    def planned(raw) -> set[str]:
        """The outputs `snakemake -n` would make for this config."""
        (tmp_path / "plan.yaml").write_text(json.dumps(raw))
        dry = subprocess.run(
            [sys.executable, "-m", "snakemake", "-n", "--configfile", tmp_path / "plan.yaml"]
            + ["--directory", tmp_path],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert dry.returncode == 0, dry.stderr[-3000:]
        lines = [line.strip() for line in dry.stdout.splitlines()]
        return {o for line in lines if line.startswith("output: ") for o in line[8:].split(", ")}

    assert not planned(SMALL) & adopted  # adopted: nothing reruns
    changed = {**SMALL, "intermediate": {"lr": 5.0e-5}}  # adopted outputs carry their settings
    assert "results/tiny-xlmr/mnli/seed0/intermediate/model" in planned(changed)


def test_why_cli_on_the_tiny_config(tmp_path):
    result = cli("why", "--config", TINY, "--directory", tmp_path)
    assert result.returncode == 0, result.stderr
    assert "run because no output yet" in result.stdout and "intermediate" in result.stdout
    # one vocabulary: evaluation jobs (one per trained model x target) and their cells, as in
    # `xstilts grid`, `xstilts plan` and the dry run (24 evaluate_<target> jobs)
    assert (
        "62 job(s) run because no output yet" in result.stdout and "24 evaluate (48 cells)" in result.stdout
    )
    grid_out = cli("grid", "--config", TINY).stdout
    assert "    24  evaluation jobs (48 cells)" in grid_out, grid_out


# ---- the config reference and the task records -----------------------------------------------


def test_config_reference_is_current():
    from xstilts.analysis import studies

    text = reference.render(studies.reference_schema())
    assert (REPO / "docs/config.md").read_text() == text, "run `xstilts config-reference`"


def test_config_reference_covers_every_key_and_its_examples_are_valid():
    from xstilts.analysis import studies

    text = reference.render(studies.reference_schema())
    for key in (
        "models.<name>.retrieval_layer",
        "recipes[].training.lr",
        "tasks.<name>.doc_stride",
        "evaluation.bucc_k",
        "x-training-defaults" if False else "hub.mirror",
        "analysis.n_resamples",
        "study.delta",
    ):
        assert f"`{key}`" in text, key
    for _title, example in reference.WORKED:
        import yaml

        studies.validate(config.validate(yaml.safe_load(example)))


def test_config_reference_check_fails_when_stale(tmp_path):
    stale = tmp_path / "config.md"
    stale.write_text("old\n")
    assert cli("config-reference", "--check", "--out", stale).returncode == 1
    assert cli("config-reference", "--out", stale).returncode == 0
    assert cli("config-reference", "--check", "--out", stale).returncode == 0


def test_tasks_name_prints_the_full_record():
    result = cli("tasks", "udpos")
    assert result.returncode == 0
    assert "af ar bg" in result.stdout and "(33)" in result.stdout or "languages:" in result.stdout
    assert "trains on: udpos" in result.stdout and "metric:" in result.stdout and "defaults:" in result.stdout
    assert cli("tasks", "udpso").returncode == 2


def test_tasks_name_shows_canonical_columns_and_labels_in_order():
    """What a local source (`sources`) must hold: the columns, the label names by index."""
    text = reference.task_details("mnli")
    assert "  columns:   text_a text_b label\n  labels:    0 entailment, 1 neutral, 2 contradiction\n" in text
    assert "sources.mnli.<language>" in text
    assert "  tags:      ADJ ADP ADV" in reference.task_details("udpos")
    assert "no local source has this format" in reference.task_details("tatoeba")


def test_a_closed_pipe_ends_quietly():
    """`xstilts tasks --full | head -1`: no BrokenPipeError traceback (here the reader has left
    before the first write, as `head` has after its line)."""
    run = subprocess.Popen(
        [sys.executable, "-m", "xstilts.cli", "tasks", "--full"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    run.stdout.close()
    err = run.stderr.read().decode()
    assert run.wait(timeout=60) == 0 and err == "", err


def test_embedded_commands_have_their_own_help():
    hub, model = cli("embedded-hub", "--help").stdout, cli("embedded-model", "--help").stdout
    assert "datasets" in hub and "tiny embedded model" in model and "datasets" not in model
