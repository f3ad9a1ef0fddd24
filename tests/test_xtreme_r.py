"""XTREME-R: its language lists and sources, xcopa's training chain, the Tatoeba protocol
option and the XTREME-R score."""

import numpy as np
import pandas as pd
import pytest
import yaml
from test_workflow import planned_jobs

from conftest import REPO, snakemake
from xstilts import config, grid, languages, loaders, settings, tasks
from xstilts.analysis import tables
from xstilts.embedded.hub import UD27_UPOS, build_hub_mirror
from xstilts.hub import Hub

TINY_R = REPO / "configs/tiny-xtreme-r.yaml"


def test_language_counts_equal_xtreme_r():
    counts = {t: len(tasks.TASKS[t].benchmark_languages("xtreme-r")) for t in languages.XTREME_R_LANGUAGES}
    assert counts == dict(xnli=15, udpos=38, panx=48, xquad=12, mlqa=7, tydiqa=9, tatoeba=41, xcopa=11)
    # XTREME keeps its own lists (its score must not change), and has no xcopa
    xtreme = {
        t: len(tasks.TASKS[t].benchmark_languages("xtreme")) for t in ("udpos", "panx", "xquad", "tatoeba")
    }
    assert xtreme == dict(udpos=33, panx=40, xquad=11, tatoeba=36)
    assert tasks.TASKS["xcopa"].benchmark_languages("xtreme") == ()
    assert tasks.TASKS["pawsx"].benchmark_languages("xtreme-r") == ()
    assert "xcopa" not in tasks.XTREME_CATEGORIES["classification"]
    # every added language is served by a declared source
    for name in ("udpos", "panx", "xquad", "tatoeba"):
        task = tasks.TASKS[name]
        assert set(task.all_languages) - set(task.languages) == set(task.language_sources), name


def test_config_accepts_xtreme_r_languages():
    cfg = config.validate(
        {
            "models": {"m": {"hub_id": "FacebookAI/xlm-roberta-large"}},
            "recipes": ["none"],
            "targets": {"panx": ["ro", "de"], "xcopa": ["qu"]},
        }
    )
    assert cfg["targets"]["panx"] == ["ro", "de"] and cfg["benchmark"] == "xtreme"
    with pytest.raises(config.ConfigError, match="has no language 'ro'"):
        config.validate(
            {"models": {"m": {"hub_id": "x/y"}}, "recipes": ["none"], "targets": {"mlqa": ["ro"]}}
        )


def test_tasks_command_shows_sources_and_chain(capsys):
    from xstilts.cli import main

    main(["tasks"])
    out = capsys.readouterr().out
    xcopa = next(line for line in out.splitlines() if line.startswith("xcopa"))
    assert "siqa -> copa" in xcopa
    panx = next(line for line in out.splitlines() if line.startswith("panx"))
    assert "XTREME-R 48" in panx and "unimelb-nlp/wikiann" in panx


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    root = tmp_path_factory.mktemp("mirror") / "hub"
    build_hub_mirror(root, ["en", "sw", "tr", "zh", "de", "ro"], seed=0, size="micro")
    return Hub(root)


def test_choice_loaders_follow_run_xcopa_framing(hub):
    siqa = tasks.TASKS["siqa"].load(hub, "train", "en")
    raw = hub.dataset("lighteval/siqa", "default", split="train")
    assert set(raw["label"]) <= {"1", "2", "3"}  # string labels, 1-based
    assert siqa["label"] == [int(y) - 1 for y in raw["label"]]
    assert all(len(c) == 3 for c in siqa["choices"])
    assert siqa[0]["context"] == f"{raw[0]['context']} {raw[0]['question']}"
    for name, split, language in (("copa", "dev", "en"), ("xcopa", "test", "sw"), ("xcopa", "dev", "zh")):
        rows = tasks.TASKS[name].load(hub, split, language)
        assert len(rows) > 0 and all(len(c) == 2 for c in rows["choices"])
        assert all(c.endswith(("What was the cause?", "What was the effect?")) for c in rows["context"])
        assert set(rows["label"]) <= {0, 1}
    sw, tr = (tasks.TASKS["xcopa"].load(hub, "test", lang) for lang in ("sw", "tr"))
    assert sw["label"] == tr["label"] and sw["context"] != tr["context"]  # parallel items


def test_extra_languages_read_their_own_sources(hub):
    """ro comes from wikiann / UD 2.7 / mteb / google/xquad, de still from google/xtreme (udpos:
    the UD 2.5 release, or google/xtreme's rows with hub.udpos_source: google/xtreme)."""
    for name, split in (("panx", "test"), ("udpos", "test"), ("tatoeba", "test"), ("xquad", "test")):
        task = tasks.TASKS[name]
        ro, de = task.load(hub, split, "ro"), task.load(hub, split, "de") if "de" in task.languages else None
        assert len(ro) > 0, name
        main = (loaders.UD25, "google/xtreme") if name == "udpos" else ("google/xtreme",)
        assert task.repos_for("ro") != task.repos_for("de") == main
        if de is not None and name != "tatoeba":
            assert ro.column_names == de.column_names
    ro = tasks.TASKS["tatoeba"].load(hub, "test", "ro")
    raw = hub.dataset("mteb/tatoeba-bitext-mining", "ron-eng", split="test")
    assert ro["source"] == raw["sentence1"] and ro["target"] == raw["sentence2"]


def test_ud27_follows_xtreme_words_and_concatenates_treebanks(hub):
    """Default: XTREME's surface words (a fused form is one word; the mirror's text spells them);
    `subtokens`: the syntactic words, multi-word lines dropped."""
    load = tasks.TASKS["udpos"].load
    surface, subtokens = (load(hub, "test", "ro", udpos_words=w) for w in ("surface", "subtokens"))
    raws = [
        hub.dataset(loaders.UD27, None, "test", loaders.UD27_REVISION, {"test": f"{tb}/test/*.parquet"})
        for tb in loaders.UD27_TREEBANKS["ro"]
    ]
    texts = [t for raw in raws for t in raw["text"]]
    assert len(surface) == len(subtokens) == len(texts)
    underscore = UD27_UPOS.index("_")
    assert any(underscore in tags for raw in raws for tags in raw["upos"])  # the mirror has some
    assert surface["tokens"] == [t.split() for t in texts]
    kept = [[w for w, u in zip(r["tokens"], r["upos"]) if u != underscore] for raw in raws for r in raw]
    assert subtokens["tokens"] == kept and surface["tokens"] != kept
    assert all(len(w) == len(t) for w, t in zip(surface["tokens"], surface["tags"]))
    assert {t for tags in surface["tags"] for t in tags} <= set(loaders.UPOS_TAGS)


# ---- the training chain --------------------------------------------------------------------


def _cfg(**extra):
    raw = {
        "models": {"m": {"hub_id": "FacebookAI/xlm-roberta-large"}},
        "recipes": ["none", "mnli"],
        "targets": {"xcopa": ["sw", "tr", "zh"], "xnli": ["de"], "tatoeba": ["de"]},
        **extra,
    }
    return config.validate(raw)


def test_chain_stages_are_jobs_of_their_own():
    cfg = _cfg()
    assert grid.finetune_keys(cfg) == ["mnli", "siqa", "siqa+copa"]
    assert grid.finetune_start(cfg, "m", "mnli", "siqa+copa", 0) == "results/m/mnli/seed0/finetune/siqa/model"
    assert grid.finetune_start(cfg, "m", "mnli", "siqa", 0) == "results/m/mnli/seed0/intermediate/model"
    assert grid.finetune_start(cfg, "m", "none", "siqa", 0) is None
    inputs = grid.evaluation_inputs(cfg, "m", "mnli", "xcopa", "sw", 0)
    assert inputs["model"] == "results/m/mnli/seed0/finetune/siqa+copa/model"
    # one-stage targets keep their paths and settings (no "chain" key): nothing computed goes stale
    assert grid.evaluation_inputs(cfg, "m", "mnli", "xnli", "de", 0)["model"] == (
        "results/m/mnli/seed0/finetune/mnli/model"
    )
    assert "chain" not in settings.finetune(cfg, "m", "mnli", "mnli", 0)
    copa = settings.finetune(cfg, "m", "mnli", "siqa+copa", 0)
    assert copa["chain"] == ["siqa", "copa"] and copa["tasks"] == [["copa", "en"]]
    assert copa["training"]["epochs"] == 5 and copa["data"]["copa"]["max_length"] == 128
    # the siqa stage's settings do not depend on who reads it
    assert settings.finetune(cfg, "m", "mnli", "siqa", 0) == settings.finetune(
        _cfg(targets={"xcopa": ["et"]}), "m", "mnli", "siqa", 0
    )
    assert {j["task"] for j in grid.prepare_jobs(cfg) if j["language"] == "en"} >= {"siqa", "copa"}


def test_chain_dry_run_plans_siqa_once(tmp_path):
    raw = yaml.safe_load(TINY_R.read_text())
    raw["targets"] = {"xcopa": ["sw", "tr", "zh"], "tatoeba": ["zh"]}
    raw["recipes"] = ["none"]
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(raw))
    jobs = planned_jobs(snakemake("--configfile", tmp_path / "c.yaml", "-n", workdir=tmp_path).stdout)
    stages = sorted(j["task"] for j in jobs["finetune"])
    # xcopa's three cells read siqa+copa; the squad_v1 model serves Tatoeba (benchmark: xtreme-r)
    assert stages == ["siqa", "siqa+copa", "squad_v1"]
    # one evaluation job per target (all its languages): xcopa and tatoeba
    assert {rule: len(v) for rule, v in jobs.items() if rule.startswith("evaluate")} == {
        "evaluate_xcopa": 1,
        "evaluate_tatoeba": 1,
    }


# ---- the Tatoeba protocol ----------------------------------------------------------------


def test_tatoeba_encoder_follows_the_benchmark_and_is_recorded():
    xtreme = _cfg()
    assert "model" not in grid.evaluation_inputs(xtreme, "m", "none", "tatoeba", "de", 0)
    assert grid.evaluation_inputs(xtreme, "m", "mnli", "tatoeba", "de", 0)["model"].endswith(
        "intermediate/model"
    )
    assert "protocol" not in settings.evaluate(xtreme, "m", "mnli", "tatoeba", "de", 0)  # unchanged cells
    r = _cfg(benchmark="xtreme-r")
    assert grid.evaluation_inputs(r, "m", "none", "tatoeba", "de", 0)["model"] == (
        "results/m/none/seed0/finetune/squad_v1/model"
    )
    assert settings.evaluate(r, "m", "mnli", "tatoeba", "de", 0)["protocol"] == {
        "tatoeba_encoder": "squad_v1"
    }
    assert "squad_v1" in grid.finetune_keys(r)
    back = _cfg(benchmark="xtreme-r", evaluation={"tatoeba_encoder": "intermediate"})
    assert "squad_v1" not in grid.finetune_keys(back)


# ---- the XTREME-R score ------------------------------------------------------------------

# every XTREME-R language of the ten tasks (as the registry lists evaluate.py's), made-up scores
XR_LANGS = {
    t: {lang: 40.0 + 3 * i + j for j, lang in enumerate(tasks.TASKS[t].benchmark_languages("xtreme-r"))}
    for i, t in enumerate(tables.XTREME_R_TASKS)
}


def _scores(per_task):
    rows = [
        dict(
            model="m",
            recipe=recipe,
            target=t,
            language=lang,
            seed=0,
            metric="x",
            value=v + bump,
            primary=True,
        )
        for recipe, bump in (("none", 0.0), ("mnli", 1.0))
        for t, langs in per_task.items()
        for lang, v in langs.items()
    ]
    return pd.DataFrame(rows)


def test_xtreme_r_score_equals_hand_computation():
    per_seed = tables.averaged_per_seed(tables.primary_scores(_scores(XR_LANGS)))
    row = per_seed.loc[("m", "none", 0)]
    mean = {t: np.mean(list(v.values())) for t, v in XR_LANGS.items()}
    classification = (mean["xnli"] + mean["xcopa"]) / 2
    structured = (mean["udpos"] + mean["panx"]) / 2
    qa = (mean["xquad"] + mean["mlqa"] + mean["tydiqa"]) / 3
    retrieval = (mean["tatoeba"] + mean["mewslix"] + mean["lareqa"]) / 3
    assert row["xtreme_r_classification"] == pytest.approx(classification)
    assert row["xtreme_r_structured_prediction"] == pytest.approx(structured)
    assert row["xtreme_r_question_answering"] == pytest.approx(qa)
    assert row["xtreme_r_retrieval"] == pytest.approx(retrieval)
    assert row["xtreme_r"] == pytest.approx(np.mean(list(mean.values())))  # over the ten tasks
    # XTREME's categories average XTREME's languages only: XTREME-R's additions (ro...) stay out
    xtreme_mean = {
        t: np.mean([XR_LANGS[t][lang] for lang in languages.XTREME_LANGUAGES[t].split()])
        for t in ("udpos", "panx")
    }
    assert row["structured_prediction"] == pytest.approx((xtreme_mean["udpos"] + xtreme_mean["panx"]) / 2)
    assert row["structured_prediction"] != pytest.approx(structured)
    assert np.isnan(row["xtreme"])  # no pawsx, no bucc


def test_xtreme_r_score_needs_every_task_and_language(tmp_path):
    partial = {t: v for t, v in XR_LANGS.items() if t != "lareqa"}
    row = tables.averaged_per_seed(tables.primary_scores(_scores(partial))).loc[("m", "none", 0)]
    assert np.isnan(row["xtreme_r"]) and np.isnan(row["xtreme_r_retrieval"])
    assert not np.isnan(row["xtreme_r_classification"])
    short = {t: {k: v for k, v in langs.items() if k != "wo"} for t, langs in XR_LANGS.items()}  # udpos's wo
    row = tables.averaged_per_seed(tables.primary_scores(_scores(short))).loc[("m", "none", 0)]
    assert np.isnan(row["xtreme_r"]) and np.isnan(row["xtreme_r_structured_prediction"])
    assert not np.isnan(row["structured_prediction"])  # XTREME's udpos has no wo
    tables.write_tables(_scores(XR_LANGS), tmp_path)
    gains = pd.read_csv(tmp_path / "gains.csv")
    gain = gains[(gains["kind"] == "gain") & (gains["recipe"] == "mnli")].iloc[0]
    assert gain["xtreme_r"] == pytest.approx(1.0)  # every score +1


# ---- a chain stage continues the previous multiple-choice head ---------------------------------


def test_carry_head_copies_a_multiple_choice_head(tmp_path):
    import torch
    from transformers import AutoModel, XLMRobertaConfig

    from xstilts import modeling, stages

    torch.manual_seed(0)
    small = XLMRobertaConfig(
        vocab_size=20,
        hidden_size=8,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=16,
        max_position_embeddings=40,
    )
    siqa = modeling.MultiTaskModel(
        AutoModel.from_config(small, add_pooling_layer=False),
        {"siqa": {"format": "multiple_choice", "labels": ["0", "1", "2"]}},
    )

    class NoTokenizer:
        def save_pretrained(self, out):
            pass

    modeling.save(siqa, NoTokenizer(), tmp_path, with_heads=True)
    copa = modeling.MultiTaskModel(
        AutoModel.from_config(small, add_pooling_layer=False),
        {"copa": {"format": "multiple_choice", "labels": ["0", "1"]}},
    )
    assert not torch.equal(copa.heads["copa"].out.weight, siqa.heads["siqa"].out.weight)
    assert stages.carry_head(copa, str(tmp_path), "siqa", "copa")
    for name, value in siqa.heads["siqa"].state_dict().items():
        assert torch.equal(copa.heads["copa"].state_dict()[name], value)
    assert not stages.carry_head(copa, str(tmp_path), "mnli", "copa")  # no such head: fresh


def test_why_follows_training_chains_and_candidate_pools(tmp_path):
    from xstilts import explain, jobs

    cfg = config.load(str(TINY_R))
    recorded = jobs.recorded(jobs.table(cfg), cfg)
    copa = next(j for j in recorded if j.stage == "finetune" and j.keys["task"] == "siqa+copa")
    siqa_model = grid.path(grid.FINETUNE.model, **{**copa.keys, "task": "siqa"})
    assert siqa_model in copa.paths  # a changed SIQA stage reruns the COPA stage
    assert grid.path(
        grid.DATA, tokenizer="xstilts__tiny-xlmr", task="copa", language="en", split="train"
    ) in (copa.paths)
    lareqa = next(j for j in recorded if j.stage == "evaluate" and j.keys["target"] == "lareqa")
    assert all(isinstance(i, str) for i in lareqa.paths)  # the pool, one path per language
    assert sum("/lareqa/" in i for i in lareqa.paths) > 1
    report = explain.why(cfg, tmp_path)  # nothing run yet: every job is missing
    assert report and {e["status"] for e in report} == {"missing"}
