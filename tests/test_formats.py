"""The format registry is the one list of formats: every task names an entry, every trained
head is one modeling builds, and the stages name no format."""

import re
from pathlib import Path

from xstilts import modeling
from xstilts.formats import FORMATS
from xstilts.tasks import TASKS

SRC = Path(__file__).resolve().parents[1] / "src" / "xstilts"


def test_every_task_names_a_registered_format():
    assert {t.format for t in TASKS.values()} <= set(FORMATS)
    assert set(FORMATS) == {t.format for t in TASKS.values()}  # no format without a task


def test_every_trained_head_is_one_modeling_builds():
    assert {f.head for f in FORMATS.values() if f.head is not None} == set(modeling.HEADS)
    for fmt in FORMATS.values():
        assert (fmt.head is None) == (fmt.score is None)  # untrained: scored from embeddings


def test_stages_name_no_format():
    text = (SRC / "stages.py").read_text()
    assert not [name for name in FORMATS if re.search(rf'"{name}"', text)]
