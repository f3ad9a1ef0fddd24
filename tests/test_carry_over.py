"""What phase 2 hands to phase 3: exactly the intermediate encoder, and nothing else.

One micro world (mirror + a 2-layer model), laid out as the workflow lays it out, trains a few
steps per phase through `stages.train`; `training.train` is wrapped to capture the model at
step 0 of the next phase.
"""

from __future__ import annotations

import copy
import re

import pytest
import torch
from safetensors.torch import load_file

from conftest import snakemake
from xstilts import config, grid, stages, training
from xstilts import settings as job_settings
from xstilts.embedded.hub import build_hub_mirror
from xstilts.embedded.model import build_tiny_model
from xstilts.hub import Hub

MODEL = "tiny-xlmr"
PRETRAINED = "resources/hub/xstilts/tiny-xlmr"
TINY = dict(
    hidden_size=32, num_layers=2, num_heads=2, intermediate_size=64, vocab_size=1500, steps=30, batch_size=16
)
RAW = {
    "models": {
        MODEL: {
            "hub_id": "xstilts/tiny-xlmr",
            "retrieval_layer": 2,
            "resources": {"gpus": 0, "cpus": 1, "train_runtime": 5, "eval_runtime": 5},
        }
    },
    "recipes": [
        "none",
        "mnli",
        {"name": "mnli_lora", "tasks": ["mnli"], "training": {"finetune": "lora", "lr": 5.0e-3}},
    ],
    "targets": {"xnli": ["en"], "tatoeba": ["de"]},
    "hub": {"mirror": "resources/hub"},
    "embedded": {"languages": ["en", "de"], "seed": 0, "size": "tiny", "model": TINY},
    "intermediate": {"lr": 1.0e-3, "batch_size": 8, "max_steps": 4, "checkpoint_every": 100},
    "finetune": {
        "lr": 1.0e-3,
        "batch_size": 8,
        "max_steps": 2,
        "checkpoint_every": 100,
        "early_stopping": None,
    },
    "evaluation": {"batch_size": 16, "max_examples": 10},
}


class Captured(Exception):
    """Raised by the wrapped training loop once it has seen the model at step 0."""


def capture_step0(monkeypatch) -> dict:
    """Make the next stages.train stop at step 0, keeping copies of its encoder and heads."""
    seen = {}

    def at_step0(model, *args, **kwargs):
        seen["encoder"] = {k: v.detach().clone() for k, v in model.encoder.state_dict().items()}
        seen["heads"] = {k: v.detach().clone() for k, v in model.heads.state_dict().items()}
        raise Captured

    monkeypatch.setattr(training, "train", at_step0)
    return seen


def keep_trained(monkeypatch) -> dict:
    """Let stages.train run; keep the trained model (heads, and the encoder LoRA and all)."""
    kept, original = {}, training.train

    def run(model, *args, **kwargs):
        history = original(model, *args, **kwargs)
        if hasattr(model.encoder, "merge_and_unload"):  # LoRA: merged here, before stages saves
            kept["merged"] = copy.deepcopy(model.encoder).merge_and_unload().state_dict()
        kept["heads"] = {k: v.detach().clone() for k, v in model.heads.state_dict().items()}
        return history

    monkeypatch.setattr(training, "train", run)
    return kept


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A workdir with the micro mirror, prepared data and the two intermediate models."""
    workdir = tmp_path_factory.mktemp("carry")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(workdir)
        cfg = config.validate(RAW)
        mirror = workdir / cfg["hub"]["mirror"]
        build_hub_mirror(mirror, ["en", "de"], seed=0, size="micro")
        build_tiny_model(mirror, "xstilts/tiny-xlmr", **TINY)
        for job in grid.prepare_jobs(cfg):
            stages.prepare(
                job_settings.prepare(cfg, **job), grid.path(grid.DATA, **job), Hub(cfg["hub"]["mirror"])
            )
        trained = {}
        for recipe in ("mnli", "mnli_lora"):
            with pytest.MonkeyPatch.context() as wrap:
                trained[recipe] = keep_trained(wrap)
                out = grid.encoder_dir(MODEL, recipe, 0)
                data = grid.training_data(cfg, MODEL, grid.intermediate_tasks(cfg, recipe))
                stages.train(
                    job_settings.intermediate(cfg, MODEL, recipe, 0),
                    out,
                    out + ".ckpt",
                    data,
                    PRETRAINED,
                    gpus=0,
                )
    return {"dir": workdir, "cfg": cfg, "trained": trained}


def saved_encoder(path) -> dict:
    """An encoder's saved weights under the encoder's own names (a masked LM's `roberta.`
    prefix dropped, its LM head left out)."""
    weights = load_file(path / "model.safetensors")
    if any(k.startswith("roberta.") for k in weights):
        weights = {k[len("roberta.") :]: v for k, v in weights.items() if k.startswith("roberta.")}
    return weights


def assert_same_weights(loaded: dict, saved: dict):
    assert loaded.keys() == saved.keys(), sorted(set(loaded) ^ set(saved))
    different = [k for k in loaded if not torch.equal(loaded[k], saved[k])]
    assert different == [], (
        f"{len(different)} tensors differ from the handed-over encoder, e.g. {different[:3]}"
    )


def target_step0(world, monkeypatch, recipe: str, task: str = "mnli") -> dict:
    monkeypatch.chdir(world["dir"])
    seen = capture_step0(monkeypatch)
    cfg = world["cfg"]
    settings = job_settings.finetune(cfg, MODEL, recipe, task, 0)
    out = grid.path(grid.FINETUNE.model, model=MODEL, recipe=recipe, task=task, seed=0)
    source = grid.encoder_dir(MODEL, recipe, 0) or PRETRAINED
    with pytest.raises(Captured):
        stages.train(
            settings, out, out + ".ckpt", grid.training_data(cfg, MODEL, [(task, "en")]), source, gpus=0
        )
    return seen


@pytest.mark.parametrize("recipe", ["none", "mnli"])
def test_target_training_starts_from_the_recipes_encoder(world, monkeypatch, recipe):
    seen = target_step0(world, monkeypatch, recipe)
    encoder = grid.encoder_dir(MODEL, recipe, 0)
    handed = world["dir"] / (encoder or PRETRAINED)
    assert_same_weights(seen["encoder"], saved_encoder(handed))


def test_intermediate_encoder_is_not_the_pretrained_one(world):
    """Otherwise the test above could not tell the two phases apart."""
    pretrained = saved_encoder(world["dir"] / "resources/hub/xstilts/tiny-xlmr")
    intermediate = saved_encoder(world["dir"] / grid.encoder_dir(MODEL, "mnli", 0))
    assert pretrained.keys() == intermediate.keys()
    assert not any(
        torch.equal(pretrained[k], intermediate[k]) for k in pretrained if k.startswith("encoder.layer.")
    )


def test_target_head_is_fresh_even_for_the_same_format(world, monkeypatch):
    """mnli -> xnli trains on mnli again; the head still starts from scratch (the paper's
    protocol): the same initialisation as the baseline's, not mnli's trained head."""
    after_mnli = target_step0(world, monkeypatch, "mnli")["heads"]
    baseline = target_step0(world, monkeypatch, "none")["heads"]
    trained = world["trained"]["mnli"]["heads"]
    assert (
        after_mnli.keys()
        == baseline.keys()
        == {f"mnli.{k}" for k in ("dense.weight", "dense.bias", "out.weight", "out.bias")}
    )
    assert trained.keys() == after_mnli.keys()
    assert all(torch.equal(after_mnli[k], baseline[k]) for k in after_mnli)
    assert not any(torch.equal(after_mnli[k], trained[k]) for k in after_mnli)


def test_lora_hands_on_its_merged_encoder(world, monkeypatch):
    """LoRA in phase 2: phase 3 starts from the adapters merged into the base weights."""
    seen = target_step0(world, monkeypatch, "mnli_lora")
    assert_same_weights(seen["encoder"], world["trained"]["mnli_lora"]["merged"])
    pretrained = saved_encoder(world["dir"] / "resources/hub/xstilts/tiny-xlmr")
    query = "encoder.layer.0.attention.self.query.weight"
    assert not torch.equal(seen["encoder"][query], pretrained[query]), "the adapters did nothing"


def test_retrieval_embeds_with_the_intermediate_encoder(world, monkeypatch, tmp_path):
    """Tatoeba trains nothing: its evaluation embeds with the recipe's encoder as handed on."""
    from xstilts import evaluation

    monkeypatch.chdir(world["dir"])
    used, embed = [], evaluation.embed

    def spy(encoder, *args, **kwargs):
        used.append({k: v.detach().clone() for k, v in encoder.state_dict().items()})
        return embed(encoder, *args, **kwargs)

    monkeypatch.setattr(evaluation, "embed", spy)
    cfg = world["cfg"]
    for recipe in ("none", "mnli"):
        used.clear()
        encoder = grid.encoder_dir(MODEL, recipe, 0) or PRETRAINED
        stages.evaluate(
            job_settings.evaluate(cfg, MODEL, recipe, "tatoeba", "de", 0),
            encoder,
            grid.data_dir(cfg, MODEL, "tatoeba", "de", "test"),
            str(tmp_path / "e.json"),
            16,
            gpus=0,
        )
        assert len(used) == 2  # source and target side
        for weights in used:
            assert_same_weights(weights, saved_encoder(world["dir"] / encoder))


def test_workflow_passes_the_intermediate_encoder_on(world, tmp_path):
    """The Snakefile's jobs: tatoeba after mnli reads mnli's intermediate model, after none no
    --model (the pretrained model from the hub); fine-tunings likewise with --encoder."""
    import yaml

    raw = {**RAW, "targets": {**RAW["targets"], "xnli": ["en", "de"]}}  # a job of two languages
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(raw))
    out = snakemake(
        "--configfile", tmp_path / "c.yaml", "-n", "-p", "--forceall", "--cores", 1, workdir=tmp_path
    ).stdout
    commands = [line for line in out.splitlines() if "xstilts evaluate" in line]
    # one command per trained model and target: its languages, their data and outputs in order
    xnli = [c for c in commands if "eval/xnli/" in c]
    assert len(xnli) == len(RAW["recipes"])
    for c in xnli:
        recipe = re.search(r"results/\S+?/(\w+)/seed0/eval/xnli/en.json", c).group(1)
        data = " ".join(f"results/data/xstilts__tiny-xlmr/xnli/{lang}/test" for lang in ("en", "de"))
        cells = " ".join(f"results/{MODEL}/{recipe}/seed0/eval/xnli/{lang}.json" for lang in ("en", "de"))
        assert f"--languages en de --data {data} --out {cells} " in c
        assert f"--model {grid.FINETUNE.model.format(model=MODEL, recipe=recipe, seed=0, task='mnli')} " in c
    tatoeba = {
        re.search(r"--out results/\S+/(\w+)/seed0/eval/tatoeba/de.json", c).group(1): c
        for c in commands
        if "eval/tatoeba/" in c
    }
    assert set(tatoeba) == {"none", "mnli", "mnli_lora"}
    assert "--model" not in tatoeba["none"]
    for recipe in ("mnli", "mnli_lora"):
        assert f"--model {grid.encoder_dir(MODEL, recipe, 0)} " in tatoeba[recipe]
    # and each fine-tuning starts from its recipe's encoder (--encoder), the baseline's from
    # the pretrained model
    trainings = [line for line in out.splitlines() if "xstilts train" in line and "/finetune/" in line]
    finetune = {
        re.search(r"--out results/\S+/(\w+)/seed0/finetune/mnli/model", c).group(1): c for c in trainings
    }
    assert set(finetune) == {"none", "mnli", "mnli_lora"}
    assert "--encoder" not in finetune["none"]
    for recipe in ("mnli", "mnli_lora"):
        assert f"--encoder {grid.encoder_dir(MODEL, recipe, 0)} " in finetune[recipe]
