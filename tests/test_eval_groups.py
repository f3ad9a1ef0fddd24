"""One evaluation job per trained model x target: the model loaded once, one JSON per language,
the same scores as one job per language, and the job's start-up kept apart from each cell's
evaluation seconds."""

import json
from pathlib import Path

import pytest
from test_eval_hardening import WORDS, prepared, tagging_features, tiny_encoder, tokenizer  # noqa: F401

from xstilts import cli, config, devices, grid, jobs, modeling, stages
from xstilts.loaders import UPOS_TAGS

REPO = Path(__file__).resolve().parents[1]
SETTINGS = {
    "target": "udpos",
    "train_task": "udpos",
    "model_name": "tiny",
    "recipe": "none",
    "language": "xx",  # replaced by each language of the job
    "seed": 0,
    "model": {"hub_id": "x", "retrieval_layer": 2},
    "evaluation": {"max_examples": None, "batch_size": 4},
}


@pytest.fixture(scope="module")
def tagger(tokenizer, tiny_encoder, tmp_path_factory):  # noqa: F811
    """A saved udpos model and three languages' prepared test splits of different sizes."""
    root = tmp_path_factory.mktemp("tagger")
    model = modeling.MultiTaskModel(
        modeling.load_encoder(tiny_encoder), {"udpos": {"format": "tagging", "labels": list(UPOS_TAGS)}}
    )
    modeling.save(model, tokenizer, root / "model", with_heads=True)
    data = {}
    for i, lang in enumerate(("de", "fi", "tr")):
        data[lang] = root / lang
        sentences = [WORDS[i:] * 2, WORDS[: 4 + i], WORDS[2 * i :]][: i + 1]
        tagging_features(tokenizer, sentences, max_length=24).save_to_disk(data[lang] / "features")
        (data[lang] / "labels.json").write_text(json.dumps(list(UPOS_TAGS)))
    return root / "model", data


def test_one_job_loads_the_model_once_and_scores_like_one_job_per_language(tagger, tmp_path, monkeypatch):
    model_dir, data = tagger
    languages = list(data)
    single = {}
    for lang in languages:
        out = tmp_path / f"single-{lang}.json"
        stages.evaluate({**SETTINGS, "language": lang}, str(model_dir), str(data[lang]), str(out), 4, gpus=0)
        single[lang] = json.loads(out.read_text())
    loads, load = [], modeling.load_trained
    monkeypatch.setattr(modeling, "load_trained", lambda *a, **k: loads.append(a) or load(*a, **k))
    outs = [str(tmp_path / f"{lang}.json") for lang in languages]
    cli.main(
        ["evaluate", "--settings", json.dumps(SETTINGS), "--model", str(model_dir), "--gpus", "0"]
        + ["--batch-size", "4", "--languages", *languages]
        + ["--data", *(str(data[lang]) for lang in languages), "--out", *outs]
    )
    assert len(loads) == 1
    for lang, out in zip(languages, outs):
        cell = json.loads(Path(out).read_text())
        assert cell["cell"]["language"] == cell["settings"]["language"] == lang
        assert cell["settings"] == single[lang]["settings"]
        assert cell["metrics"] == single[lang]["metrics"] and cell["n_examples"] == single[lang]["n_examples"]
        assert cell["evaluation_seconds"] > 0
        assert cell["job"]["languages"] == languages and cell["job"]["startup_seconds"] > 0
    assert len({json.loads(Path(o).read_text())["n_examples"] for o in outs}) == 3  # really 3 splits


def test_unpaired_languages_and_paths_are_refused(tagger, tmp_path):
    model_dir, data = tagger
    with pytest.raises(ValueError, match="2 languages but 1 --data, 2 --out"):
        stages.evaluate(
            SETTINGS,
            str(model_dir),
            [str(data["de"])],
            ["a.json", "b.json"],
            4,
            gpus=0,
            languages=["de", "fi"],
        )


def test_retrieval_job_embeds_each_language_with_its_dev_split(tokenizer, tiny_encoder, tmp_path):  # noqa: F811
    pairs = [("the river runs", "runs the river"), ("a quiet town", "town a quiet"), ("under the sky", "sky")]
    splits = {
        lang: (
            prepared(tokenizer, tmp_path / lang / "test", pairs[i:]),
            prepared(tokenizer, tmp_path / lang / "dev", pairs),
        )
        for i, lang in enumerate(("de", "fr"))
    }
    settings = {
        **SETTINGS,
        "target": "bucc",
        "train_task": None,
        "evaluation": {"max_examples": None, "bucc_k": 2},
    }
    outs = [str(tmp_path / f"{lang}.json") for lang in splits]
    stages.evaluate(
        settings,
        tiny_encoder,
        [test for test, _ in splits.values()],
        outs,
        4,
        gpus=0,
        dev_data=[dev for _, dev in splits.values()],
        languages=list(splits),
    )
    cells = [json.loads(Path(o).read_text()) for o in outs]
    assert [c["cell"]["language"] for c in cells] == ["de", "fr"]
    assert [c["n_examples"] for c in cells] == [3, 2] and all(c["retrieval_layer"] == 2 for c in cells)


def test_grid_has_one_evaluation_job_per_trained_model_and_target():
    cfg = config.load(REPO / "configs/tiny.yaml")
    groups = grid.eval_groups(cfg)
    n_runs = len(grid.run_keys(cfg))
    assert len(groups) == n_runs * len(cfg["targets"]) < len(grid.cells(cfg))
    evaluations = [j for j in jobs.benchmarks(jobs.table(cfg)) if j["stage"] == "evaluate"]
    assert len(evaluations) == len(groups)
    assert len({j["path"] for j in evaluations}) == len(groups)
    inputs = grid.evaluation_group_inputs(cfg, "tiny-xlmr", "mnli", "xnli", 0)
    assert inputs["test"] == [
        grid.data_dir(cfg, "tiny-xlmr", "xnli", lang, "test") for lang in cfg["targets"]["xnli"]
    ]
    assert inputs["model"] == grid.path(
        grid.FINETUNE.model, model="tiny-xlmr", recipe="mnli", seed=0, task="mnli"
    )
    # the baseline's retrieval reads the pretrained model: no model input
    assert "model" not in grid.evaluation_group_inputs(cfg, "tiny-xlmr", "none", "tatoeba", 0)
    outputs = grid.eval_outputs("xnli", cfg["targets"]["xnli"])
    assert outputs[1] == "results/{model}/{recipe}/seed{seed}/eval/xnli/de.json"
    cell = dict(model="m", recipe="r", seed=3, target="xnli", language="de")
    assert outputs[1].format(**cell) == grid.path(grid.EVAL, **cell)


def test_a_data_parallel_model_trains_on_all_its_gpus_and_evaluates_on_one(tmp_path):
    """Evaluation runs on one device: its job must not hold the training job's N slots."""
    import re

    import yaml

    from conftest import snakemake

    raw = yaml.safe_load((REPO / "configs/tiny.yaml").read_text())
    raw["models"]["tiny-xlmr"]["resources"]["gpus"] = 2
    raw["targets"] = {"xnli": ["en", "de"]}
    raw["recipes"] = ["none"]
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(raw))
    out = snakemake("--configfile", tmp_path / "c.yaml", "-n", workdir=tmp_path).stdout
    blocks = re.split(r"\n(?=\s*(?:localrule|rule) \w+:)", out)
    gpus = {
        re.match(r"\s*(?:localrule|rule) (\w+):", b).group(1): re.search(r"gpu=(\d+)", b).group(1)
        for b in blocks
        if re.match(r"\s*(?:localrule|rule) (finetune|evaluate_xnli):", b)
    }
    assert gpus == {"finetune": "2", "evaluate_xnli": "1"}
    assert devices.held_slots("evaluate", 4) == 1 and devices.held_slots("finetune", 4) == 4
