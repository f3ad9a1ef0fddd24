"""Evaluation: a score does not depend on the batch size on CPU (so the batch size is recorded
in each cell, not compared: changing it reruns nothing)."""

import json

import pytest

from conftest import REPO
from xstilts import config, grid, settings, stages


@pytest.mark.parametrize(
    "recipe, target, language", [("mnli", "xnli", "de"), ("none", "udpos", "fi"), ("mnli", "tatoeba", "zh")]
)
def test_scores_do_not_depend_on_the_batch_size(tiny_run, tmp_path, monkeypatch, recipe, target, language):
    monkeypatch.chdir(tiny_run)
    cfg = config.load(REPO / "configs/tiny.yaml")
    cell = dict(model="tiny-xlmr", recipe=recipe, target=target, language=language, seed=0)
    job = settings.evaluate(cfg, **cell)
    inputs = grid.evaluation_inputs(cfg, **cell)
    metrics = []
    for batch_size in (1, 5, 64):
        out = tmp_path / f"{batch_size}.json"
        stages.evaluate(
            job, inputs["model"], inputs["test"], str(out), batch_size, gpus=0, dev_data=inputs.get("dev")
        )
        metrics.append(json.loads(out.read_text())["metrics"])
    assert metrics[0] == metrics[1] == metrics[2]
