"""Intermediate training in any language: registry sources, local datasets, budgets, recipe
families, what the results record (issue 11)."""

from __future__ import annotations

import copy
import json

import datasets
import numpy as np
import pandas as pd
import pytest

from xstilts import config, loaders, local_data, recipes, results, stages, tasks
from xstilts import settings as job_settings
from xstilts.embedded.hub import build_hub_mirror
from xstilts.hub import Hub

BASE = {
    "models": {"m": {"hub_id": "FacebookAI/xlm-roberta-large"}},
    "recipes": ["none", "mnli"],
    "targets": {"xnli": ["en", "de"]},
}


def cfg_with(recipes_, **extra):
    raw = copy.deepcopy(BASE)
    raw["recipes"] = recipes_
    raw.update(extra)
    return config.validate(raw)


def names(cfg):
    return [r["name"] for r in cfg["recipes"]]


# ---- the registry's sources --------------------------------------------------------------


def test_registry_sources_per_task():
    mnli = tasks.TASKS["mnli"]
    assert mnli.train_languages == ("en", *tasks.XNLI_TRANSLATE_TRAIN)
    assert len(tasks.XNLI_TRANSLATE_TRAIN) == 14 and "fi" not in mnli.train_languages
    assert mnli.training_source("de").repos == ("facebook/xnli",)
    assert mnli.training_source("de").kind == "machine-translated"
    assert tasks.TASKS["pawsx"].train_languages == ("en", "de", "es", "fr", "ja", "ko", "zh")
    tydiqa = tasks.TASKS["tydiqa"]
    assert "fi" in tydiqa.train_languages and tydiqa.training_source("fi").kind == "native"
    assert tasks.TASKS["squad_v1"].train_languages == ("en",)
    assert not tasks.TASKS["xnli"].trainable and tasks.TASKS["xnli"].train_languages == ()
    table = {row["name"]: row for row in tasks.table()}
    assert table["mnli"]["source_languages"].split()[:3] == ["en", "ar", "bg"]
    assert table["xquad"]["source_languages"] == "-"


@pytest.fixture(scope="module")
def mirror(tmp_path_factory):
    root = tmp_path_factory.mktemp("mirror") / "hub"
    build_hub_mirror(root, ["en", "de", "fr", "fi", "ru"], seed=0, size="micro")
    return Hub(root)


def test_translated_sources_are_the_english_examples_in_another_language(mirror):
    en = tasks.TASKS["mnli"].load(mirror, "train", "en")
    for language in ("de", "fr"):
        translated = tasks.TASKS["mnli"].load(mirror, "train", language)
        assert len(translated) == len(en) and translated["label"] == en["label"]
        assert translated[0]["text_a"] != en[0]["text_a"]
    paws_en = tasks.TASKS["pawsx"].load(mirror, "train", "en")
    paws_de = tasks.TASKS["pawsx"].load(mirror, "train", "de")
    assert paws_de["label"] == paws_en["label"] and paws_de[0]["text_a"] != paws_en[0]["text_a"]
    # dev of a translated mnli source: XNLI's dev items in that language
    assert len(tasks.TASKS["mnli"].load(mirror, "dev", "de")) == 20


def test_tydiqa_trains_in_finnish_from_native_rows_only(mirror):
    finnish = tasks.TASKS["tydiqa"].load(mirror, "train", "fi", tydiqa_train="all")
    assert len(finnish) == 200 and all(i.startswith("finnish-") for i in finnish["id"])
    english = tasks.TASKS["tydiqa"].load(mirror, "train", "en")
    assert len(english) == 200 and all(i.startswith("english-") for i in english["id"])


# ---- validation ----------------------------------------------------------------------------


def test_a_language_without_a_source_is_refused_with_the_languages_that_exist():
    with pytest.raises(config.ConfigError) as error:
        cfg_with([{"name": "mnli_fi", "tasks": [{"task": "mnli", "language": "fi"}]}])
    assert "mnli has no training source in 'fi'" in str(error.value)
    assert "en ar bg de el es fr hi ru sw th tr ur vi zh" in str(error.value)
    with pytest.raises(config.ConfigError, match="squad_v1 has no training source in 'fi'.*: en;"):
        cfg_with([{"family": "sources", "task": "squad_v1", "languages": ["en", "fi"]}])
    with pytest.raises(config.ConfigError, match="'xnli' is not an intermediate task, nor a target"):
        cfg_with([{"name": "x", "tasks": ["xnli"]}])


def test_targets_trained_on_their_own_data_can_be_recipe_tasks():
    cfg = cfg_with(
        [
            {"name": "paws_de", "tasks": [{"task": "pawsx", "language": "de"}]},
            {"name": "tydi_fi", "tasks": [{"task": "tydiqa", "language": "fi"}]},
        ]
    )
    assert names(cfg) == ["paws_de", "tydi_fi"]


def test_a_task_in_several_languages_must_declare_a_budget():
    two = [{"task": "mnli", "language": "de"}, {"task": "mnli", "language": "fr"}]
    with pytest.raises(config.ConfigError, match="must say how many examples.*budget: per_language"):
        cfg_with([{"name": "defr", "tasks": two}])
    cfg = cfg_with(
        [{"name": "defr", "tasks": two, "budget": {"kind": "fixed", "examples": 100, "disjoint": True}}]
    )
    assert cfg["recipes"][0]["budget"] == {"kind": "fixed", "examples": 100, "disjoint": True}
    with pytest.raises(config.ConfigError, match="examples and disjoint apply to budget: fixed only"):
        cfg_with([{"name": "defr", "tasks": two, "budget": {"kind": "per_language", "disjoint": True}}])
    with pytest.raises(config.ConfigError, match="is not a budget"):
        cfg_with([{"name": "defr", "tasks": two, "budget": "fixd"}])


# ---- families --------------------------------------------------------------------------------


POOL = ["de", "es", "fr", "ru", "zh", "ar", "hi", "tr"]


def test_sources_family_expands_to_one_recipe_per_language():
    cfg = cfg_with(["none", {"family": "sources", "task": "mnli", "languages": ["en", "de", "ru"]}])
    assert names(cfg) == ["none", "mnli@en", "mnli@de", "mnli@ru"]
    assert cfg["recipes"][2]["tasks"] == [{"task": "mnli", "language": "de"}]


def test_language_count_draws_are_seeded_and_stable_when_k_or_draws_grow():
    family = {
        "family": "language_count",
        "task": "mnli",
        "pool": POOL,
        "k": [1, 2, 4],
        "draws": 2,
        "budget": "fixed",
    }
    small = cfg_with([family])
    again = cfg_with([copy.deepcopy(family)])
    assert small["recipes"] == again["recipes"]
    assert names(small) == [f"mnli-k{k}-d{d}" for k in (1, 2, 4) for d in (1, 2)]
    assert [len(r["tasks"]) for r in small["recipes"]] == [1, 1, 2, 2, 4, 4]
    bigger = cfg_with([{**family, "k": [1, 2, 4, 8], "draws": 3}])
    by_name = {r["name"]: r for r in bigger["recipes"]}
    for recipe in small["recipes"]:  # the same name means the same languages and settings
        assert by_name[recipe["name"]] == recipe
        assert job_settings.intermediate(small, "m", recipe["name"], 0) == job_settings.intermediate(
            bigger, "m", recipe["name"], 0
        )
    assert "mnli-k8-d1" in by_name and "mnli-k8-d2" not in by_name  # k = pool: one subset
    other_seed = cfg_with([{**family, "seed": 1}])
    assert [r["tasks"] for r in other_seed["recipes"]] != [r["tasks"] for r in small["recipes"]]


def test_diverse_selection_is_greedy_max_min_and_nested():
    from xstilts.uriel import pairwise_distance

    family = {
        "family": "language_count",
        "task": "mnli",
        "pool": POOL,
        "k": [1, 2, 3, 4],
        "select": "diverse",
        "budget": "per_language",
        "distance": "syntactic",
    }
    cfg = cfg_with([family])
    assert names(cfg) == ["mnli-k1-diverse", "mnli-k2-diverse", "mnli-k3-diverse", "mnli-k4-diverse"]
    chosen = recipes.diverse_order(POOL, "syntactic")
    assert chosen[0] == "de" and sorted(chosen) == sorted(POOL)
    # each step takes the language farthest (max-min) from those chosen so far
    for i in range(1, len(chosen)):
        score = {c: min(pairwise_distance(c, s, "syntactic") for s in chosen[:i]) for c in chosen[i:]}
        assert score[chosen[i]] == max(score.values())
    for recipe, k in zip(cfg["recipes"], (1, 2, 3, 4)):
        assert {t["language"] for t in recipe["tasks"]} == set(chosen[:k])


def test_family_mistakes_name_the_key_and_fix():
    with pytest.raises(config.ConfigError, match=r"recipes\[0\].k: k = 9 is more than the 8"):
        cfg_with([{"family": "language_count", "task": "mnli", "pool": POOL, "k": [9], "budget": "fixed"}])
    with pytest.raises(config.ConfigError, match="must declare a budget"):
        cfg_with([{"family": "language_count", "task": "mnli", "pool": POOL, "k": [2]}])
    with pytest.raises(config.ConfigError, match="needs languages"):
        cfg_with([{"family": "sources", "task": "mnli"}])
    with pytest.raises(config.ConfigError, match="'mnli@de' is listed twice"):
        cfg_with(
            [
                {"family": "sources", "task": "mnli", "languages": ["de"]},
                {"family": "sources", "task": "mnli", "languages": ["de"]},
            ]
        )


def test_grid_lists_generated_recipes(tmp_path, capsys):
    from xstilts import cli

    path = tmp_path / "c.yaml"
    raw = copy.deepcopy(BASE)
    raw["recipes"] = ["none", {"family": "sources", "task": "mnli", "languages": ["en", "de"]}]
    path.write_text(json.dumps(raw))
    raw["sources"] = {"mnli": {"de": {"train": "de/train.jsonl", "dev": "de/dev.jsonl"}}}
    path.write_text(json.dumps(raw))
    cli.main(["grid", "--config", str(path)])
    recipes, data = capsys.readouterr().out.split("training data")
    listed = [line.split() for line in recipes.splitlines() if line.startswith("  mnli@")]
    assert listed == [
        ["mnli@en", "mnli@en", "[sources", "mnli]"],
        ["mnli@de", "mnli@de", "[sources", "mnli]"],
    ]
    # where each task@language's data comes from: the registry's hub repo, or the user's files
    assert "  mnli@en  registry: hub nyu-mll/glue (original;" in data
    assert "  mnli@de  sources.mnli.de: local files de/train.jsonl (train), de/dev.jsonl (dev)" in data


def test_show_names_each_recipe_tasks_data_source(tmp_path):
    from xstilts import explain

    hub = {"hub_id": "klue/klue", "config": "nli", "splits": {"train": "train", "dev": "validation"}}
    raw = {**copy.deepcopy(BASE), "sources": {"mnli": {"ko": hub}}}
    raw["recipes"] = [
        "none",
        {"name": "m2", "tasks": ["mnli", {"task": "mnli", "language": "ko"}], "budget": "fixed"},
    ]
    text = explain.show(config.validate(raw), raw, ["intermediate", "m2"])
    assert text.endswith(
        "data (train, dev):\n"
        "  mnli@en  <- registry: hub nyu-mll/glue (original; `xstilts tasks mnli`)\n"
        "  mnli@ko  <- sources.mnli.ko: hub klue/klue config nli (train: train, dev: validation)"
    )
    evaluate = explain.show(config.validate(raw), raw, ["evaluate", "xnli", "de", "recipe=m2"])
    assert evaluate.endswith("data: xnli@de  <- hub google/xtreme (test)")


def test_check_files_reads_the_head_of_every_format(tmp_path):
    """validate reads parquet, save_to_disk and a .json list of rows as the loader does: the row
    count from metadata where it is free, the first rows for columns and labels."""
    rows = {"text_a": ["a", "b"], "text_b": ["c", "d"], "label": ["neutral", "maybe"]}
    datasets.Dataset.from_dict(rows).to_parquet(str(tmp_path / "t.parquet"))
    datasets.Dataset.from_dict(rows).save_to_disk(str(tmp_path / "saved"))
    (tmp_path / "rows.json").write_text(json.dumps([dict(zip(rows, v)) for v in zip(*rows.values())]))
    for path in ("t.parquet", "saved", "rows.json"):
        spec = {"train": str(tmp_path / path), "dev": str(tmp_path / path)}
        with pytest.raises(local_data.LocalDataError, match=r"labels \['maybe'\] are not labels of mnli"):
            local_data.check_files("mnli", "de", spec)
        local_data.check_files("mnli", "de", {**spec, "labels": {"maybe": "neutral"}})
        with pytest.raises(local_data.LocalDataError, match="2 rows, fewer than min_examples 3"):
            local_data.check_files("mnli", "de", {**spec, "labels": {"maybe": "neutral"}, "min_examples": 3})
    datasets.DatasetDict({"train": datasets.Dataset.from_dict(rows)}).save_to_disk(str(tmp_path / "dict"))
    with pytest.raises(local_data.LocalDataError, match="holds several splits"):
        local_data.check_files("mnli", "de", {"train": str(tmp_path / "dict"), "dev": str(tmp_path / "dict")})


# ---- budgets ---------------------------------------------------------------------------------


def test_fixed_budget_keeps_the_total_and_disjoint_positions_never_repeat():
    fixed = {"kind": "fixed", "examples": None, "disjoint": True}
    for k in (1, 2, 3, 4):
        langs = POOL[:k]
        picked = recipes.allocate([1000] * k, fixed, 0, langs)
        assert sum(map(len, picked)) == 1000
        flat = [p for part in picked for p in part]
        assert len(set(flat)) == len(flat)
    overlapping = recipes.allocate([1000] * 2, {**fixed, "disjoint": False}, 0, ["de", "fr"])
    assert [len(p) for p in overlapping] == [500, 500] and set(overlapping[0]) & set(overlapping[1])
    assert recipes.allocate([10, 20], dict(recipes.DEFAULT_BUDGET), 0, ["de", "fr"]) == [
        list(range(10)),
        list(range(20)),
    ]
    with pytest.raises(recipes.RecipeError, match="differ in size.*de 10, fr 20"):
        recipes.allocate([10, 20], fixed, 0, ["de", "fr"])


def test_training_data_of_a_task_in_several_languages(tmp_path):
    """stages._task_data: one head's rows over its languages, after cap and budget."""
    parts = []
    for language in ("de", "fr"):
        for split, n in (("train", 40), ("dev", 5)):
            path = tmp_path / language / split
            feats = datasets.Dataset.from_dict(
                {"input_ids": [[i, 1] for i in range(n)], "labels": [i % 3 for i in range(n)]}
            )
            feats.save_to_disk(str(path / "features"))
            (path / "labels.json").write_text(json.dumps(list(loaders.XNLI_LABELS)))
        parts.append((language, str(tmp_path / language / "train"), str(tmp_path / language / "dev")))
    fixed = {"kind": "fixed", "examples": None, "disjoint": True}
    train, dev, examples, labels, counts = stages._task_data("mnli", parts, 30, fixed, 0)
    assert counts == {"de": 15, "fr": 15} and len(train) == 30 and len(dev) == 10 and examples is None
    ids = [row[0] for row in train["input_ids"]]  # the capped shuffle is the same in both: disjoint
    assert len(set(ids)) == 30
    _, _, _, _, counts = stages._task_data("mnli", parts, None, None, 0)
    assert counts == {"de": 40, "fr": 40}


# ---- what the results record -----------------------------------------------------------------


def test_cells_record_their_recipes_languages_and_budget(tmp_path):
    family = {
        "family": "language_count",
        "task": "mnli",
        "pool": POOL,
        "k": [2],
        "budget": {"kind": "fixed", "disjoint": True},
    }
    cfg = cfg_with(["none", "mnli", family])
    assert "recipe_sources" not in job_settings.evaluate(cfg, "m", "mnli", "xnli", "de", 0)  # unchanged
    assert "budget" not in job_settings.intermediate(cfg, "m", "mnli", 0)
    name = names(cfg)[2]
    cell = job_settings.evaluate(cfg, "m", name, "xnli", "de", 0)
    languages = [t["language"] for t in cfg["recipes"][2]["tasks"]]
    assert cell["recipe_sources"]["tasks"] == [["mnli", lang] for lang in languages]
    assert cell["recipe_sources"]["kinds"] == ["machine-translated"] * 2
    files = []
    for recipe in ("none", "mnli", name):
        settings = job_settings.evaluate(cfg, "m", recipe, "xnli", "de", 0)
        record = {
            "cell": {k: settings[k] for k in ("model_name", "recipe", "target", "language", "seed")},
            "metrics": {"accuracy": 50.0},
            "primary_metric": "accuracy",
            "settings": settings,
        }
        files.append(tmp_path / f"{recipe}.json")
        files[-1].write_text(json.dumps(record))
    results.collect([str(f) for f in files], str(tmp_path / "scores.parquet"))
    rows = pd.read_parquet(tmp_path / "scores.parquet").set_index("recipe")
    assert rows.loc[name, "source_languages"] == " ".join(languages)
    assert rows.loc[name, "budget"] == "fixed" and bool(rows.loc[name, "disjoint"])
    assert rows.loc["mnli", "source_languages"] == "en" and rows.loc["mnli", "budget"] == "per_language"
    assert rows.loc["none", "source_languages"] == "" and rows.loc["none", "budget"] == "none"


# ---- local datasets --------------------------------------------------------------------------


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


def test_a_local_dataset_trains_any_task_in_any_language(tmp_path, mirror):
    train = write_jsonl(
        tmp_path / "train.jsonl",
        [{"p": f"a{i}", "h": f"b{i}", "y": ["entailment", "neutral"][i % 2]} for i in range(6)],
    )
    dev = write_jsonl(tmp_path / "dev.jsonl", [{"p": "a", "h": "b", "y": "contradiction"}])
    spec = {"train": train, "dev": dev, "columns": {"text_a": "p", "text_b": "h", "label": "y"}}
    cfg = cfg_with(
        [{"name": "mnli_fi", "tasks": [{"task": "mnli", "language": "fi"}]}], sources={"mnli": {"fi": spec}}
    )
    prepare = job_settings.prepare(cfg, "FacebookAI__xlm-roberta-large", "mnli", "fi", "train")
    assert prepare["local_source"] == spec and "local" in prepare["revision"]
    rows = stages.load_split("mnli", mirror, "train", "fi", prepare["data"], prepare["local_source"])
    assert rows.column_names == ["text_a", "text_b", "label"] and rows["label"] == [0, 1] * 3
    record = job_settings.evaluate(cfg, "m", "mnli_fi", "xnli", "de", 0)["recipe_sources"]
    assert record["kinds"] == ["local"]


def test_local_dataset_mismatches_are_named(tmp_path):
    good = [{"text_a": "a", "text_b": "b", "label": 0}]
    train = write_jsonl(tmp_path / "t.jsonl", good)
    with pytest.raises(
        local_data.LocalDataError, match=r"no column text_b \(as 'h'\).*it has text_a, text_b, label"
    ):
        local_data.load("mnli", "fi", "train", {"train": train, "dev": train, "columns": {"text_b": "h"}})
    bad = write_jsonl(tmp_path / "b.jsonl", [{"text_a": "a", "text_b": "b", "label": "maybe"}])
    with pytest.raises(local_data.LocalDataError, match=r"labels \['maybe'\] are not labels of mnli"):
        local_data.load("mnli", "fi", "train", {"train": bad, "dev": bad})
    with pytest.raises(local_data.LocalDataError, match="1 rows, fewer than 5"):
        local_data.load("mnli", "fi", "train", {"train": train, "dev": train, "min_examples": 5})
    with pytest.raises(local_data.LocalDataError, match="does not exist"):
        local_data.load("mnli", "fi", "train", {"train": str(tmp_path / "nope.jsonl"), "dev": train})
    qa = write_jsonl(
        tmp_path / "q.jsonl",
        [{"id": "1", "context": "c", "question": "q", "answers": {"text": ["c"], "answer_start": []}}],
    )
    with pytest.raises(local_data.LocalDataError, match="1 answer texts but 0 starts"):
        local_data.load("squad_v1", "fi", "train", {"train": qa, "dev": qa})
    with pytest.raises(config.ConfigError, match=r"sources.mnli.fi: no dev path"):
        cfg_with(["none"], sources={"mnli": {"fi": {"train": train}}})
    with pytest.raises(config.ConfigError, match=r"'premise' is not a canonical column"):
        cfg_with(
            ["none"], sources={"mnli": {"fi": {"train": train, "dev": train, "columns": {"premise": "p"}}}}
        )


def test_local_parquet_and_save_to_disk(tmp_path):
    rows = {"tokens": [["a", "b"]], "tags": [["NOUN", "VERB"]]}
    datasets.Dataset.from_dict(rows).to_parquet(str(tmp_path / "t.parquet"))
    datasets.Dataset.from_dict(rows).save_to_disk(str(tmp_path / "saved"))
    spec = {"train": str(tmp_path / "t.parquet"), "dev": str(tmp_path / "saved")}
    assert local_data.load("udpos", "xx", "train", spec)["tags"] == [["NOUN", "VERB"]]
    assert local_data.load("udpos", "xx", "dev", spec)["tokens"] == [["a", "b"]]
    bad = {"tokens": [["a"]], "tags": [["NOUNZ"]]}
    datasets.Dataset.from_dict(bad).to_parquet(str(tmp_path / "b.parquet"))
    with pytest.raises(local_data.LocalDataError, match=r"tags \['NOUNZ'\] are not tags of udpos"):
        local_data.load("udpos", "xx", "train", {"train": str(tmp_path / "b.parquet"), "dev": spec["dev"]})


# ---- URIEL distances between any two languages -------------------------------------------------


def test_pairwise_table_covers_50_languages_and_agrees_with_the_english_table():
    from xstilts.languages import DISTANCE_KINDS, load_uriel_distances
    from xstilts.uriel import load_pairwise_distances

    table = load_pairwise_distances()
    assert len(table) == 50 * 50
    english = load_uriel_distances().set_index("iso639_1")
    from_en = table.xs("en", level="source")
    for kind in DISTANCE_KINDS:
        np.testing.assert_allclose(
            from_en.loc[english.index, kind].to_numpy(float), english[kind].to_numpy(float), atol=1e-4
        )
    syntactic = table["syntactic"].unstack()
    np.testing.assert_allclose(syntactic.to_numpy(float), syntactic.T.to_numpy(float), equal_nan=True)


@pytest.mark.parametrize("source", ["fi", "de"])
def test_shipped_pairwise_distances_equal_urielplus(source):
    pytest.importorskip("urielplus")
    from xstilts.uriel import compute_pairwise_distances, load_pairwise_distances

    sample = [source, "en", "eu", "ja", "sw"]
    fresh = compute_pairwise_distances(sample).set_index(["source", "target"]).loc[source]
    shipped = load_pairwise_distances().loc[source].loc[fresh.index]
    from xstilts.languages import DISTANCE_KINDS

    for kind in DISTANCE_KINDS:
        np.testing.assert_allclose(
            fresh[kind].to_numpy(float), shipped[kind].to_numpy(float), atol=1e-4, equal_nan=True
        )
    assert list(fresh["notes"].fillna("")) == list(shipped["notes"].fillna(""))
