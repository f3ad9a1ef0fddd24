"""Config validation: every mistake gets one error naming the key and the fix."""

import copy
from pathlib import Path

import pytest
import yaml

from xstilts import config, settings
from xstilts.config import ConfigError

REPO = Path(__file__).resolve().parents[1]
MODEL = "xlm-roberta-large"  # the paper config's model


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
    assert len(next(r for r in cfg["recipes"] if r["name"] == "all9")["tasks"]) == 9


@pytest.mark.parametrize(
    "mutate, words",
    [
        (lambda c: c["targets"].update(xnli=["xx"]), ["targets.xnli", "'xx'", "ISO 639-1"]),
        (lambda c: c["targets"].update(pawsx=["ar"]), ["pawsx has no language 'ar'"]),
        (lambda c: c["targets"].update(xner=["en"]), ["targets.xner", "unknown target"]),
        (lambda c: c["recipes"].append("mnly"), ["unknown recipe 'mnly'", "all9"]),
        (lambda c: c["recipes"].append({"name": "x", "tasks": ["xnli"]}), ["not an intermediate task"]),
        (
            lambda c: c["recipes"].append({"name": "m_de", "tasks": [{"task": "mnli", "language": "fi"}]}),
            ["mnli has no training source in 'fi'", "en ar bg de"],
        ),
        (lambda c: c["intermediate"].update(lr="1e-5"), ["intermediate.lr", "string", "1.0e-5"]),
        (lambda c: c["finetune"].update(batch_size="32"), ["finetune.batch_size", "text", "write 32"]),
        (lambda c: c["intermediate"].update(learning_rate=1e-5), ["intermediate", "learning_rate", "lr"]),
        (lambda c: c.update(seeds=["a"]), ["seeds[0]"]),
        (lambda c: c["recipes"].append("mnli"), ["'mnli' is listed twice"]),
        (lambda c: c["models"].update({"a/b": {"hub_id": "x"}}), ["models", "'a/b'", "becomes a directory"]),
        (lambda c: c.pop("targets"), ["'targets' is a required property"]),
        (lambda c: c.update(embedded={"languages": ["en"]}), ["hub.mirror"]),
    ],
)
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
    cfg["hub"]["ccgbank"] = str(tmp_path)  # a directory, but no CCGbank in it
    with pytest.raises(ConfigError, match="hub.ccgbank: no CCGbank AUTO sections.*Fix: point it"):
        config.preflight(cfg)
    (tmp_path / "data/AUTO/00").mkdir(parents=True)
    config.preflight(cfg)


def test_slices_are_order_independent():
    assert config.slice_json({"b": 1, "a": {"d": 2, "c": 3}}) == config.slice_json(
        {"a": {"c": 3, "d": 2}, "b": 1}
    )


def test_partial_early_stopping_takes_the_defaults(paper):
    """Only `every` given: patience and dev_examples were missing, a KeyError hours later."""
    paper["finetune"]["early_stopping"] = {"every": 50}
    paper["recipes"] = [
        "none",
        {"name": "m", "tasks": ["mnli"], "training": {"early_stopping": {"patience": 3}}},
    ]
    cfg = config.validate(paper)
    defaults = {"every": 1000, "patience": 30, "dev_examples": 500}
    assert cfg["finetune"]["early_stopping"] == {**defaults, "every": 50}
    assert settings.finetune(cfg, MODEL, "none", "pawsx", 0)["training"]["early_stopping"]["patience"] == 30
    assert settings.intermediate(cfg, MODEL, "m", 0)["training"]["early_stopping"] == {
        **defaults,
        "patience": 3,
    }
    assert settings.training_defaults("finetune")["early_stopping"] == defaults
    assert settings.training_defaults("intermediate")["early_stopping"] is None
    paper["finetune"]["early_stopping"] = None  # null still turns it off
    assert config.validate(paper)["finetune"]["early_stopping"] is None


def test_lora_keys_take_the_defaults(paper):
    paper["intermediate"].update(finetune="lora", lora={"r": 4})
    assert config.validate(paper)["intermediate"]["lora"] == {"r": 4, "alpha": 16, "dropout": 0.1}


def test_data_keys_stay_allowed_where_training_keys_are_not(paper):
    """tasks.xnli trains nothing, but its max_length decides how xnli's test set is tokenized."""
    paper["tasks"] = {
        "xnli": {"max_length": 128},
        "mlqa": {"max_length": 256, "doc_stride": 64},
        "tatoeba": {"max_length": 128},
        "mnli": {"epochs": 1},
    }
    cfg = config.validate(paper)
    assert settings.data(cfg, "xnli") == {"max_length": 128}
    assert settings.data(cfg, "mlqa") == {"max_length": 256, "doc_stride": 64, "qa_windows": "reference"}
    assert settings.finetune(cfg, MODEL, "none", "mnli", 0)["training"]["epochs"] == 1


def test_accepted_edge_cases(paper):
    paper["recipes"] = [
        "none",
        {"name": "mnli", "tasks": ["mnli"], "training": {"lr": 3.0e-5}},
        {"name": "nli.v2", "tasks": ["mnli", {"task": "qqp"}], "sampling": {"cap": 10}},
    ]
    paper["models"]["xlm-roberta-large"]["resources"]["gpus"] = 0
    paper["models"]["base"] = {
        "hub_id": "FacebookAI/xlm-roberta-base",
        "tokenizer": "FacebookAI/xlm-roberta-large",
    }
    cfg = config.validate(paper)
    assert settings.intermediate(cfg, MODEL, "nli.v2", 0)["sampling"] == {
        "method": "proportional",
        "cap": 10,
        "temperature": 1.0,
    }
    assert cfg["models"]["base"]["resources"]["gpus"] == 1


def test_validate_refuses_a_non_mapping():
    with pytest.raises(ConfigError, match="top level must be a mapping"):
        config.validate(["models"])


def test_runs_refuse_what_validate_refuses(tmp_path):
    """The duplicate-key check runs when the Snakefile is parsed: `snakemake -n` stops too. A
    path missing here (hub.mirror) is a warning of the dry run and stops a real run before any
    job; the embedded default (its mirror not built yet) passes."""
    from conftest import snakemake

    tiny = (REPO / "configs/tiny.yaml").read_text()
    (tmp_path / "duplicate.yaml").write_text(tiny + "seeds: [1]\n")
    result = snakemake("--configfile", tmp_path / "duplicate.yaml", "-n", workdir=tmp_path, check=False)
    assert result.returncode != 0 and "key 'seeds' appears twice" in result.stdout + result.stderr
    real = {**yaml.safe_load(tiny), "embedded": None, "hub": {"mirror": "no/such/mirror"}}
    (tmp_path / "mirror.yaml").write_text(yaml.safe_dump(real))
    message = "config key hub.mirror: 'no/such/mirror' is not a directory"
    dry = snakemake("--configfile", tmp_path / "mirror.yaml", "-n", workdir=tmp_path)
    assert "warning" in dry.stdout and message in dry.stdout, dry.stdout
    run = snakemake("--configfile", tmp_path / "mirror.yaml", "--cores", 1, workdir=tmp_path, check=False)
    assert run.returncode != 0 and message in run.stdout + run.stderr
    assert not (tmp_path / "results").exists() and not (tmp_path / "logs").exists()
    ok = snakemake("--configfile", REPO / "configs/tiny.yaml", "-n", workdir=tmp_path / "fresh")
    assert "embedded_hub" in ok.stdout and not (tmp_path / "fresh/resources").exists()


def test_yaml_anchors_and_merge_keys_still_load(tmp_path):
    """The duplicate-key check looks at written keys only: `<<: *anchor` may be overridden."""
    (tmp_path / "c.yaml").write_text(
        "models: {xlmr: {hub_id: FacebookAI/xlm-roberta-large}}\nrecipes: [none]\n"
        "targets: {xnli: [en]}\nintermediate: &train {lr: 1.0e-5, epochs: 2}\n"
        "finetune:\n  <<: *train\n  epochs: 3\n"
    )
    assert config.load(tmp_path / "c.yaml")["finetune"] == {"lr": 1.0e-5, "epochs": 3}
