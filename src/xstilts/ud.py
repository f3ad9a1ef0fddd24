"""UD-POS words from the hub's Universal Dependencies rows, in XTREME's convention.

XTREME converts each CoNLL-U file with `third_party/ud-conversion-tools/conllu_to_conll.py
--replace_subtokens_with_fused_forms` (scripts/download_data.sh): a multi-word token (`2-3
zdążyłem` = `zdążył` VERB + `em` AUX) becomes one word, the surface form, with the tag of the
syntactic word its heuristic picks as the span's head (lib/conll.py `_choose_spanhead_from_
heuristics`): the word with the fewest ancestors in the dependency graph (basic and enhanced
edges), if only one has that fewest; else, among those, the first whose tag ranks best in the
language's precedence list. utils_preprocess.py then removes spaces and ZWNJ inside words and
drops sentences whose words are all (or all but one) `_`.

The hub's rows (universal_dependencies.py over conllu.parse_incr) list every CoNLL-U line as a
token: multi-word token lines (upos `_`, head `None`), syntactic words, and empty nodes (head
`None`); a multi-word token's extent is not stored, so it is read from the sentence's text: the
surface words (fused forms and the words outside them) spell `text`, whitespace aside.
"""

from __future__ import annotations

import ast
from collections import defaultdict

CONVENTIONS = ("surface", "subtokens")
MULTIWORD = "_"  # the upos of a multi-word token line
# conllu_to_conll.py POSRANKPRECEDENCEDICT, as written (the default's split keeps a trailing "")
PRECEDENCE = {
    "default": "VERB NOUN PROPN PRON ADJ NUM ADV INTJ AUX ADP DET PART CCONJ SCONJ X PUNCT ".split(" "),
    "es": "VERB AUX PRON ADP DET".split(" "),
    "fr": "VERB AUX PRON NOUN ADJ ADV ADP DET PART SCONJ CONJ".split(" "),
    "it": "VERB AUX ADV PRON ADP DET INTJ".split(" "),
}


class Unaligned(ValueError):
    """A sentence whose text the surface words do not spell: multi-word extents unknown."""


def _compact(text: str) -> str:
    return "".join(text.split())


def _extents(items: list[tuple[str, str]], text: str) -> list[int]:
    """The number of words each multi-word token spans: the choice under which the surface
    words spell `text` (whitespace ignored). `items`: ("mwt" | "word", form) in row order."""
    target = _compact(text)
    following = [0] * (len(items) + 1)  # words right after each position, up to the next mwt
    for i in range(len(items) - 1, -1, -1):
        following[i] = following[i + 1] + 1 if items[i][0] == "word" else 0
    stack, seen = [(0, 0, ())], set()
    while stack:
        i, pos, spans = stack.pop()
        if (i, pos) in seen:
            continue
        seen.add((i, pos))
        if i == len(items):
            if pos == len(target):
                return list(spans)
            continue
        kind, form = items[i]
        form = _compact(form)
        if not target.startswith(form, pos):
            continue
        if kind == "word":
            stack.append((i + 1, pos + len(form), spans))
        else:  # the longest last on the stack: the shortest extent is tried first
            for k in range(following[i + 1], 1, -1):
                stack.append((i + 1 + k, pos + len(form), (*spans, k)))
    raise Unaligned(f"the surface words do not spell the sentence text {text!r}")


def _enhanced_heads(deps: str) -> list[int]:
    """Integer heads of a row's deps string (str of conllu's [(deprel, head)], or 'None')."""
    try:
        pairs = ast.literal_eval(deps)
    except (ValueError, SyntaxError):
        return []
    return [head for _, head in pairs or () if isinstance(head, int)]


def _span_head(span: list[int], parents: dict, tags: dict, language: str) -> int:
    def ancestors(node):
        found, todo = set(), [node]
        while todo:
            for parent in parents[todo.pop()]:
                if parent not in found:
                    found.add(parent)
                    todo.append(parent)
        found.discard(node)
        return len(found)

    depth = {n: ancestors(n) for n in span}
    top = min(depth.values())
    highest = [n for n in span if depth[n] == top]
    if len(highest) == 1:
        return highest[0]
    ranks = PRECEDENCE.get(language, PRECEDENCE["default"])
    # a tag missing from the list ranks last (the reference script raises there)
    return min(highest, key=lambda n: ranks.index(tags[n]) if tags[n] in ranks else len(ranks))


def sentence(row: dict, names: list[str], language: str, convention: str = "surface"):
    """(words, tags) of one hub row; `names`: the upos ClassLabel names; `language`: the
    treebank's language code (its precedence list). `subtokens`: the syntactic words, multi-word
    lines dropped (the Hugging Face xtreme loader's convention)."""
    kinds, forms, tags, parents = [], [], [], defaultdict(set)
    for form, upos, head, deps in zip(row["tokens"], row["upos"], row["head"], row["deps"]):
        tag = names[upos] if isinstance(upos, int) else upos
        if tag == MULTIWORD:
            kinds.append("mwt")
        elif head in (None, "None", "_"):
            continue  # an empty node (enhanced graphs only): no surface word
        else:
            kinds.append("word")
            parents[kinds.count("word")].update([int(head), *_enhanced_heads(deps)])
        forms.append(form)
        tags.append(tag)
    if convention == "subtokens" or "mwt" not in kinds:
        return _fuse(kinds, forms, tags, parents, (), language, fused=False)
    extents = _extents(list(zip(kinds, forms)), row["text"])
    return _fuse(kinds, forms, tags, parents, extents, language)


def read_conllu(lines):
    """The token lines (10 columns) of each sentence of a CoNLL-U file, comments skipped."""
    sentence = []
    for line in lines:
        line = line.rstrip("\r\n")
        if not line.strip():
            if sentence:
                yield sentence
            sentence = []
        elif not line.startswith("#"):
            sentence.append(line.split("\t"))
    if sentence:
        yield sentence


def conllu_sentence(lines: list[list[str]], language: str, convention: str = "surface"):
    """(words, tags) of one CoNLL-U sentence (read_conllu), as conllu_to_conll.py converts it:
    the multi-word token lines give their extents (`2-3`); empty nodes (`8.1`) are skipped and
    enhanced heads count only when they are words (lib/conll.py keeps integer heads)."""
    kinds, forms, tags, extents, parents = [], [], [], [], defaultdict(set)
    for cols in lines:
        if "." in cols[0]:
            continue
        if "-" in cols[0]:
            start, end = map(int, cols[0].split("-"))
            kinds.append("mwt")
            extents.append(end - start + 1)
            tags.append(MULTIWORD)
        else:
            kinds.append("word")
            node = int(cols[0])
            heads = [cols[6], *(p.split(":", 1)[0] for p in cols[8].split("|") if cols[8] != "_")]
            parents[node].update(int(h) for h in heads if h.isdigit())
            tags.append(cols[3])
        forms.append(cols[1])
    return _fuse(kinds, forms, tags, parents, extents, language, fused=convention == "surface")


def _fuse(kinds, forms, tags, parents, extents, language, fused=True):
    """The words in row order: each multi-word token (its extent from `extents`, in order) one
    word tagged as its span head's tag when `fused`, else the syntactic words alone."""
    words = [(f, t) for k, f, t in zip(kinds, forms, tags) if k == "word"]
    if not fused or "mwt" not in kinds:
        return [w for w, _ in words], [t for _, t in words]
    extents = iter(extents)
    tag_of = {n: t for n, (_, t) in enumerate(words, start=1)}
    out, word, i = [], 1, 0
    while i < len(kinds):
        if kinds[i] == "word":
            out.append(words[word - 1])
            word, i = word + 1, i + 1
            continue
        k = next(extents)
        span = list(range(word, word + k))
        out.append((forms[i], tag_of[_span_head(span, parents, tag_of, language)]))
        word, i = word + k, i + 1 + k
    return [w for w, _ in out], [t for _, t in out]


def xtreme_words(words: list[str]) -> list[str]:
    """utils_preprocess.py's cleaning: spaces and ZWNJ removed inside a word."""
    return ["".join(w.replace("\u200c", "").split(" ")) for w in words]


def kept(words: list[str]) -> bool:
    """utils_preprocess.py keeps a sentence unless its words are all, or all but one, `_`."""
    empty = sum(w == "_" for w in words)
    return empty == 0 or empty < len(words) - 1
