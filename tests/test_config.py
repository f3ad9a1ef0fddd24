"""Config validation: every mistake gets one error naming the key and the fix."""

import copy
from pathlib import Path

import pytest
import yaml

from xstilts import config
from xstilts.config import ConfigError

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def paper():
    return yaml.safe_load((REPO / "config.yaml").read_text())


def test_shipped_configs_are_valid():
    for path in [REPO / "config.yaml", *sorted((REPO / "configs").glob("*.yaml"))]:
        cfg = config.load(path)
        assert cfg["recipes"] and cfg["targets"], path


def test_defaults_are_filled(paper):
    cfg = config.validate(paper)
    assert cfg["seeds"] == [0]
    assert cfg["sampling"] == {"method": "proportional", "cap": None, "temperature": 1.0}
    assert cfg["evaluation"]["bucc_k"] == 4
    assert [r["name"] for r in cfg["recipes"]][-1] == "all9"
    assert len(config.recipe(cfg, "all9")["tasks"]) == 9


@pytest.mark.parametrize("mutate, words", [
    (lambda c: c["targets"].update(xnli=["xx"]), ["targets.xnli", "'xx'", "ISO 639-1"]),
    (lambda c: c["targets"].update(pawsx=["ar"]), ["pawsx has no language 'ar'"]),
    (lambda c: c["targets"].update(xner=["en"]), ["targets.xner", "unknown target"]),
    (lambda c: c["recipes"].append("mnly"), ["unknown recipe 'mnly'", "all9"]),
    (lambda c: c["recipes"].append({"name": "x", "tasks": ["xnli"]}), ["not an intermediate task"]),
    (lambda c: c["recipes"].append({"name": "m_de", "tasks": [{"task": "mnli", "language": "de"}]}),
     ["mnli has no data in 'de'"]),
    (lambda c: c["intermediate"].update(lr="1e-5"), ["intermediate.lr", "string", "1.0e-5"]),
    (lambda c: c["target"].update(batch_size="32"), ["target.batch_size", "string"]),
    (lambda c: c["intermediate"].update(learning_rate=1e-5), ["intermediate", "learning_rate", "lr"]),
    (lambda c: c.update(seeds=["a"]), ["seeds[0]"]),
    (lambda c: c["recipes"].append("mnli"), ["duplicate recipe"]),
    (lambda c: c["models"].update({"a/b": {"hub_id": "x"}}), ["models.a/b", "path component"]),
    (lambda c: c.pop("targets"), ["'targets' is a required property"]),
    (lambda c: c.update(embedded={"languages": ["en"]}), ["hub.mirror"]),
])
def test_bad_config_names_key_and_fix(paper, mutate, words):
    cfg = copy.deepcopy(paper)
    mutate(cfg)
    with pytest.raises(ConfigError) as error:
        config.validate(cfg)
    for word in words:
        assert word in str(error.value), str(error.value)


def test_yaml_exponent_without_dot_is_caught_from_text(tmp_path, paper):
    text = (REPO / "config.yaml").read_text().replace("lr: 1.0e-5", "lr: 1e-5", 1)
    (tmp_path / "c.yaml").write_text(text)
    with pytest.raises(ConfigError, match=r"intermediate\.lr: '1e-5' was read as a string"):
        config.load(tmp_path / "c.yaml")


def test_preflight_ccgbank(paper, tmp_path):
    cfg = config.validate(paper)
    with pytest.raises(ConfigError, match="hub.ccgbank.*not set.*Fix"):
        config.preflight(cfg)
    cfg["hub"]["ccgbank"] = str(tmp_path)
    config.preflight(cfg)


def test_slices_are_order_independent():
    assert config.slice_json({"b": 1, "a": {"d": 2, "c": 3}}) == config.slice_json(
        {"a": {"c": 3, "d": 2}, "b": 1})


def test_settings_resolution(paper):
    paper["tasks"] = {"udpos": {"epochs": 4}, "mnli": {"max_length": 128}}
    paper["recipes"] = ["none", {"name": "mnli_fast", "tasks": ["mnli"], "training": {"lr": 3.0e-5}}]
    cfg = config.validate(paper)
    inter = config.intermediate_settings(cfg, "mnli_fast")
    assert inter["training"]["lr"] == 3.0e-5 and inter["training"]["batch_size"] == 4
    assert inter["data"] == {"mnli": {"max_length": 128}}
    assert config.target_settings(cfg, "udpos")["training"]["epochs"] == 4
    assert config.target_settings(cfg, "pawsx")["training"]["epochs"] == 5
    squad = config.target_settings(cfg, "squad_v1")
    assert squad["training"]["batch_size"] == 16 and squad["data"] == {"max_length": 384, "doc_stride": 128,
                                                                   "qa_windows": "reference"}
    assert config.data_settings(cfg, "tydiqa")["tydiqa_train"] == "english"
