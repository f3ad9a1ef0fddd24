"""LoRA fine-tuning (peft): adapters train, and are merged so the next phase sees a plain encoder."""

import torch
from safetensors.torch import load_file

from conftest import REPO
from xstilts import config, grid, settings, stages


def test_lora_training_saves_a_plain_merged_encoder(tiny_run, tmp_path, monkeypatch):
    monkeypatch.chdir(tiny_run)
    cfg = config.load(REPO / "configs/tiny.yaml")
    job = settings.finetune(cfg, "tiny-xlmr", "none", "pawsx", 0)
    job["training"].update(finetune="lora", max_steps=8, early_stopping=None, lr=5e-3)
    stages.train(
        job,
        str(tmp_path / "lora"),
        str(tmp_path / "ckpt"),
        grid.training_data(cfg, "tiny-xlmr", job["tasks"]),
        "resources/hub/xstilts/tiny-xlmr",
        gpus=0,
    )
    trained = load_file(tmp_path / "lora" / "model.safetensors")
    base = load_file(tiny_run / "resources/hub/xstilts/tiny-xlmr/model.safetensors")
    assert not any("lora" in k for k in trained), "adapters must be merged into the weights"
    query = next(k for k in trained if k.endswith("attention.self.query.weight"))
    key = next(k for k in trained if k.endswith("attention.self.key.weight"))
    base_query = next(v for k, v in base.items() if k.endswith(query.split("roberta.")[-1]))
    base_key = next(v for k, v in base.items() if k.endswith(key.split("roberta.")[-1]))
    assert not torch.equal(trained[query], base_query), "LoRA on query must change it"
    assert torch.equal(trained[key], base_key), "frozen weights stay as pretrained"
