"""The recorded layouts of the real sources (xstilts/layouts.yaml) and the embedded mirror that
must hold exactly them (issue 22)."""

from __future__ import annotations

import pytest

from xstilts import layouts
from xstilts.pretrained import MODEL_SHAPES
from xstilts.tasks import TASKS


@pytest.fixture(scope="module")
def mirror(micro_mirror):
    return micro_mirror


def test_every_source_has_a_record_with_evidence_or_a_reason():
    read = {repo for task in TASKS.values() for repo in task.repos}
    read |= {repo for task in TASKS.values() for s in task.language_sources.values() for repo in s.repos}
    read |= {repo for task in TASKS.values() for s in task.training_sources for repo in s.repos}
    read |= {m for m in MODEL_SHAPES if "/" in m}  # canonical hub ids (the bare ones redirect)
    records = layouts.load()
    assert read - set(records) == set()
    for repo, layout in records.items():
        assert layout.evidence or layout.unconfirmed, repo
        assert layout.files, repo


def test_embedded_mirror_holds_exactly_the_recorded_layouts(mirror):
    assert layouts.mirror_disagreements(mirror, require=("dataset", "github", "url")) == []


def test_a_mirror_that_invents_structure_is_caught(mirror, tmp_path):
    import shutil

    copy = tmp_path / "mirror"
    shutil.copytree(mirror, copy)
    branch = copy / "universal-dependencies" / "universal_dependencies@refs--convert--parquet"
    (branch / "README.md").write_text("---\nconfigs: []\n---\n")  # the belief issue 22 found
    (branch / "ro_rrt" / "test" / "0000.parquet").rename(branch / "ro_rrt" / "test-00000.parquet")
    shutil.copytree(copy / "facebook" / "xnli", copy / "facebook" / "made_up")
    problems = "\n".join(layouts.mirror_disagreements(copy, require=("dataset",)))
    assert "README.md present, recorded absent" in problems
    assert "ro_rrt/test-00000.parquet: no recorded path" in problems
    assert "facebook/made_up has no record" in problems


def test_features_are_compared_with_the_record(mirror, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq
    from datasets import Features, List, Value

    branch = tmp_path / "universal-dependencies" / "universal_dependencies@refs--convert--parquet"
    path = branch / "uk_iu" / "test" / "0000.parquet"
    path.parent.mkdir(parents=True)
    features = Features({"tokens": List(Value("string")), "upos": List(Value("string"))})
    rows = [{"tokens": ["a"], "upos": ["NOUN"]}]
    pq.write_table(pa.Table.from_pylist(rows, schema=features.arrow_schema), path)
    (problem,) = layouts.mirror_disagreements(tmp_path)
    assert "features {'tokens': ['string'], 'upos': ['string']}" in problem


def test_embedded_udpos_release_holds_the_hub_rows_sentences(mirror):
    """The tiny configs read udpos through the UD 2.5 path: the embedded tarball holds the same
    sentences as google/xtreme's rows, with a multi-word token (its first two words) in some."""
    from xstilts import stages
    from xstilts.hub import Hub

    read = {
        source: stages.load_split(
            "udpos", Hub(mirror), "test", "de", {"udpos_words": "subtokens", "udpos_source": source}
        )
        for source in ("ud-2.5", "google/xtreme")
    }
    assert read["ud-2.5"]["tokens"] == read["google/xtreme"]["tokens"]
    assert read["ud-2.5"]["tags"] == read["google/xtreme"]["tags"]
    data = {"udpos_words": "surface", "udpos_source": "ud-2.5"}
    surface = stages.load_split("udpos", Hub(mirror), "test", "de", data)
    fused = [(s, w) for s, w in zip(surface["tokens"], read["ud-2.5"]["tokens"]) if s != w]
    assert fused and all(s[0] == w[0] + w[1] and s[1:] == w[2:] for s, w in fused)
