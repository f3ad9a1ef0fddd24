"""Every task's loader reads the hub layout (here: the embedded mirror) into canonical rows."""

import pytest

from xstilts import loaders, tasks
from xstilts.cli import main
from xstilts.embedded.hub import build_hub_mirror
from xstilts.hub import Hub, HubError

WORLD = ["en", "de", "es", "fr", "ru", "zh", "ar", "hi", "sw", "fi", "ja", "tr"]
COLUMNS = {
    "pair_classification": {"text_a", "text_b", "label"},
    "multiple_choice": {"context", "choices", "label"},
    "extractive_qa": {"id", "context", "question", "answers"},
    "tagging": {"tokens", "tags"},
    "retrieval": {"source", "target"},
    "dual_encoder": {"kind", "id", "text", "keys", "language"},
    "dual_encoder_train": {"query", "candidate"},  # positive pairs
}


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    root = tmp_path_factory.mktemp("mirror") / "hub"
    build_hub_mirror(root, WORLD, seed=0, size="micro")
    return Hub(root)


def _splits(task):
    if task.role in ("intermediate", "training"):
        return [("train", "en"), ("dev", "en")]
    langs = [lang for lang in task.languages if lang in WORLD][:3]
    splits = [("test", lang) for lang in langs]
    if task.train_task == task.name:
        splits += [("train", "en"), ("dev", "en")]
    if task.name == "bucc":
        splits += [("dev", lang) for lang in langs]
    return splits


@pytest.mark.parametrize("name", list(tasks.TASKS))
def test_loader_gives_canonical_rows(hub, name):
    task = tasks.TASKS[name]
    for split, language in _splits(task):
        ds = task.load(hub, split, language)
        assert len(ds) > 0, (name, split, language)
        train_key = f"{task.format}_train"
        key = train_key if train_key in COLUMNS and split == "train" else task.format
        assert set(ds.column_names) == COLUMNS[key], (name, ds.column_names)
        row = ds[0]
        if "label" in row:
            n = len(task.labels) if task.format == "pair_classification" else len(row["choices"])
            assert all(0 <= y < n for y in ds["label"])
        if task.format == "tagging" and task.labels:
            assert {t for tags in ds["tags"] for t in tags} <= set(task.labels)
        if task.format == "extractive_qa":
            for r in ds.select(range(min(50, len(ds)))):
                for text, start in zip(r["answers"]["text"], r["answers"]["answer_start"]):
                    assert r["context"][start : start + len(text)] == text


def test_tydiqa_trains_on_english_unless_asked(hub):
    english = tasks.TASKS["tydiqa"].load(hub, "train", "en")
    everything = tasks.TASKS["tydiqa"].load(hub, "train", "en", tydiqa_train="all")
    assert all(i.startswith("english-") for i in english["id"])
    assert len(everything) > len(english)


def test_xnli_rows_are_one_language(hub):
    de = tasks.TASKS["xnli"].load(hub, "test", "de")
    en = tasks.TASKS["xnli"].load(hub, "test", "en")
    assert len(de) == len(en) and de["text_a"] != en["text_a"]


def test_missing_repo_names_the_fix(tmp_path):
    with pytest.raises(HubError, match="not in the hub mirror.*hub.mirror to null"):
        tasks.TASKS["mnli"].load(Hub(tmp_path), "train", "en")
    with pytest.raises(HubError, match="hub.ccgbank"):
        Hub(None).ccgbank_root()


def test_tasks_command_lists_every_task(capsys):
    main(["tasks"])
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == len(tasks.TASKS) + 1 and lines[0].split()[:3] == ["name", "role", "format"]
    assert {line.split()[0] for line in lines[1:]} == set(tasks.TASKS)
    rows = {line.split()[0]: line for line in lines[1:]}
    for name in ("lareqa", "mewslix"):  # XTREME-R: 11 languages each, mAP@20
        assert " 11 (" in rows[name] and "map_at_20" in rows[name]


@pytest.mark.parametrize(
    "loader,option",
    [
        (loaders.tydiqa, "tydiqa_train"),
        (loaders.udpos, "udpos_words"),
        (loaders.udpos, "udpos_source"),
        (loaders.ud27, "udpos_words"),
        (loaders.mewslix, "mewslix_dir"),
    ],
)
def test_loader_defaults_are_the_schema_defaults(loader, option):
    """stages.load_split leaves out an option a data dict lacks: the loader's default must then
    be the config's."""
    import inspect

    from xstilts import config

    default = config.schema()["properties"]["hub"]["properties"][option]["default"]
    assert inspect.signature(loader).parameters[option].default == default
