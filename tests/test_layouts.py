"""The recorded layouts of the real sources (xstilts/layouts.yaml) and the embedded mirror that
must hold exactly them (issue 22)."""

from __future__ import annotations

import pytest

from xstilts import layouts
from xstilts.embedded.hub import build_hub_mirror
from xstilts.embedded.world import LANGUAGES
from xstilts.tasks import MODEL_SHAPES, TASKS


@pytest.fixture(scope="module")
def mirror(tmp_path_factory):
    root = tmp_path_factory.mktemp("layouts") / "mirror"
    build_hub_mirror(root, list(LANGUAGES), seed=0, size="micro")
    return root


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
    assert layouts.mirror_disagreements(mirror, require=("dataset", "github")) == []


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
