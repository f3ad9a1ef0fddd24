"""CCGbank AUTO reader: real sample files when present, the standard split layout."""

from __future__ import annotations

from pathlib import Path

import pytest

from xstilts.ccgbank import auto_dir, parse_auto, read_ccgbank

SAMPLES = Path(__file__).resolve().parents[1].parent / "shared" / "real-samples" / "ccg"


def real(name: str) -> str:
    path = SAMPLES / name
    if not path.is_file():
        pytest.skip("real CCGbank samples not available")
    return path.read_text(encoding="utf-8")


def test_reads_real_auto_file():
    first, second = parse_auto(real("wsj_0001.auto"))
    assert first["tokens"][:3] == ["Pierre", "Vinken", ","]
    assert first["tags"][:3] == ["N/N", "N", ","]
    assert first["tokens"][-1] == "." and len(first["tokens"]) == len(first["tags"]) == 18
    assert ("will", r"(S[dcl]\NP)/(S[b]\NP)") in zip(first["tokens"], first["tags"])
    assert second["tokens"][:4] == ["Mr.", "Vinken", "is", "chairman"]


def test_ignores_propbank_annotations_on_leaves():
    (first, *_) = parse_auto(real("allennlp_fixture_ccgbank.auto.txt"))
    assert first["tokens"][:2] == ["Pierre", "Vinken"]
    assert ("join", r"(S[b]\NP)/NP") in zip(first["tokens"], first["tags"])
    assert ("the", "NP[nb]/N") in zip(first["tokens"], first["tags"])


def test_synthetic_supertags_are_real_ccgbank_categories(tmp_path):
    import json
    from dataclasses import replace

    import numpy as np

    from xstilts.embedded.ccg import auto_file
    from xstilts.embedded.world import Sampler

    inventory = set(json.loads(real("all_ccgbank.json")))  # written like "(N/N)"
    s = Sampler(np.random.default_rng(0))
    events = [replace(s.event(place_p=0.5, time_p=0.5), negated=bool(i % 2)) for i in range(200)]
    tags = {t for sentence in parse_auto(auto_file("wsj_0201", events)) for t in sentence["tags"]}
    assert len(tags) >= 8
    assert {t for t in tags if f"({t})" not in inventory} == set()


def test_standard_split_sections(tmp_path):
    text = "ID=wsj_{s}01.1 PARSER=GOLD NUMPARSE=1\n(<T S[dcl] 0 2> (<L N NNP NNP W{s} N>) (<L . . . . .>) )\n"
    for section in ("00", "02", "21", "22", "23"):
        folder = tmp_path / "ccgbank" / "data" / "AUTO" / section
        folder.mkdir(parents=True)
        (folder / f"wsj_{section}01.auto").write_text(text.format(s=section))
    words = {
        split: [s["tokens"][0] for s in read_ccgbank(tmp_path / "ccgbank", split)]
        for split in ("train", "dev", "test")
    }
    assert words == {"train": ["W02", "W21"], "dev": ["W00"], "test": ["W23"]}
    assert auto_dir(tmp_path / "ccgbank" / "data" / "AUTO") == auto_dir(tmp_path / "ccgbank")
    with pytest.raises(FileNotFoundError):
        read_ccgbank(tmp_path, "train")
