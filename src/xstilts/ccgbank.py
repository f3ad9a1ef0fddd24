"""Read CCGbank AUTO files (LDC2005T13 layout: data/AUTO/<section>/wsj_<section><nn>.auto).

Each sentence is an `ID=...` line followed by one derivation line; leaves look like
`(<L CAT POS POS word PredArgCat ...>)`, and the supertag of a word is its CAT. The standard
split is sections 02-21 train, 00 dev, 23 test.
"""

from __future__ import annotations

import re
from pathlib import Path

SPLIT_SECTIONS = {"train": [f"{i:02d}" for i in range(2, 22)], "dev": ["00"], "test": ["23"]}
_LEAF = re.compile(r"\(<L ([^>]*)>\)")


def parse_derivation(line: str) -> dict:
    """Tokens and supertags of one derivation line. Fields are space separated and words
    never contain spaces; extra fields (PropBank annotations) after the 5th are ignored."""
    tokens, tags = [], []
    for body in _LEAF.findall(line):
        fields = body.split(" ")
        tags.append(fields[0])
        tokens.append(fields[3])
    return {"tokens": tokens, "tags": tags}


def parse_auto(text: str) -> list[dict]:
    sentences = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("(<"):
            sentence = parse_derivation(line)
            if sentence["tokens"]:
                sentences.append(sentence)
    return sentences


def auto_dir(root: str | Path) -> Path:
    """The AUTO directory of a CCGbank release root (or the AUTO directory itself)."""
    root = Path(root)
    for candidate in (root / "data" / "AUTO", root / "AUTO", root):
        if candidate.is_dir() and any(candidate.glob("[0-9][0-9]")):
            return candidate
    raise FileNotFoundError(f"no CCGbank AUTO sections (data/AUTO/00 ... 24) under {root}")


def read_ccgbank(root: str | Path, split: str) -> list[dict]:
    """[{tokens, tags}] of one split ("train", "dev" or "test"), in file order."""
    base = auto_dir(root)
    sentences = []
    for section in SPLIT_SECTIONS[split]:
        for path in sorted((base / section).glob("*.auto")):
            sentences.extend(parse_auto(path.read_text(encoding="utf-8")))
    return sentences
