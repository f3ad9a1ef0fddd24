"""The tiny XLM-R: builds offline from the synthetic corpus and loads like a hub model."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from xstilts.embedded.hub import build_hub_mirror
from xstilts.embedded.world import LANGUAGES, Sampler, World

SAMPLE_EVENTS = 4


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    from xstilts.embedded.model import build_tiny_model

    mirror = tmp_path_factory.mktemp("hub") / "mirror"
    build_hub_mirror(mirror, list(LANGUAGES), seed=0, size="micro")
    return build_tiny_model(
        mirror,
        hidden_size=32,
        num_layers=2,
        num_heads=2,
        intermediate_size=64,
        vocab_size=1500,
        steps=40,
        batch_size=16,
    )


def test_loads_with_auto_classes_as_xlm_roberta(model_dir):
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModel.from_pretrained(model_dir)
    assert model.__class__.__name__ == "XLMRobertaModel"
    assert [tokenizer.convert_tokens_to_ids(t) for t in ("<s>", "<pad>", "</s>", "<unk>")] == [0, 1, 2, 3]
    assert tokenizer.mask_token_id == len(tokenizer) - 1
    encoded = tokenizer("Anna bought 3 apples.", "Omar sold them.", return_tensors="pt")
    ids = encoded["input_ids"][0].tolist()
    assert ids[0] == 0 and ids[-1] == 2 and ids.count(2) == 3  # <s> A </s></s> B </s>
    assert model(**encoded).last_hidden_state.shape[-1] == model.config.hidden_size


def test_tokenizer_round_trips_every_script(model_dir):
    import numpy as np
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    world = World(LANGUAGES, seed=0)
    sampler = Sampler(np.random.default_rng(7))
    events = [sampler.event(place_p=1.0, time_p=0.5) for _ in range(SAMPLE_EVENTS)]
    for code in LANGUAGES:
        for event in events:
            text = world.render(code, event)
            ids = tokenizer(text)["input_ids"]
            assert tokenizer.unk_token_id not in ids, (code, text)
            assert tokenizer.decode(ids, skip_special_tokens=True) == text


def test_card_reports_a_falling_mlm_loss(model_dir):
    card = (model_dir / "README.md").read_text(encoding="utf-8")
    first, last = map(float, re.search(r"first / last 20 steps\): ([\d.]+) -> ([\d.]+)", card).groups())
    assert last < first - 0.3
    assert not [p for p in model_dir.parent.iterdir() if p.name.startswith(".")]  # atomic


def _digests(root: Path) -> dict[str, str]:
    import hashlib

    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_build_is_bit_identical_across_processes_and_thread_counts(tmp_path):
    """The embedded default built twice, in fresh processes with different thread settings (the
    tokenizer trainer's rayon pool on or off, torch with 2 threads or 1), through the CLI the
    workflow calls: every file of the mirror and of the model is the same, byte for byte."""
    import json
    import os
    import subprocess
    import sys

    model = {
        "hidden_size": 32,
        "num_layers": 2,
        "num_heads": 2,
        "intermediate_size": 64,
        "vocab_size": 1500,
        "steps": 30,
        "batch_size": 16,
    }
    envs = {
        "parallel": {"OMP_NUM_THREADS": "2", "RAYON_RS_NUM_CPUS": "2"},
        "serial": {"OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"},
    }
    for name, extra in envs.items():
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("OMP_NUM_THREADS", "TOKENIZERS_PARALLELISM", "RAYON_RS_NUM_CPUS")
        }
        env.update(extra)
        mirror = tmp_path / name
        for command, settings in (
            ("embedded-hub", {"languages": list(LANGUAGES), "seed": 0, "size": "micro"}),
            ("embedded-model", {"repo_id": "xstilts/tiny-xlmr", "seed": 0, "model": model}),
        ):
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "xstilts.cli",
                    command,
                    "--mirror",
                    str(mirror),
                    "--settings",
                    json.dumps(settings),
                ],
                env=env,
                check=True,
                capture_output=True,
            )
    first, second = (_digests(tmp_path / name) for name in envs)
    assert "xstilts/tiny-xlmr/model.safetensors" in first
    assert "xstilts/tiny-xlmr/tokenizer.json" in first
    assert [k for k in first if first[k] != second.get(k)] == [] and first.keys() == second.keys()
