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
    return build_tiny_model(mirror, hidden_size=32, num_layers=2, num_heads=2,
                            intermediate_size=64, vocab_size=1500, steps=40, batch_size=16)


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
    from transformers import AutoTokenizer
    import numpy as np
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
