"""Embedded twins of XTREME-R's dual-encoder retrieval data, written into the hub mirror:

- XQuAD-R as google-research-datasets/lareqa holds it (`<mirror>/github/<repo>/xquad-r/<lang>.json`,
  the official SQuAD-format files with `sentences` and `sentence_breaks` per paragraph), 11-way
  parallel: a question's id is shared by its translations, several questions per paragraph.
- `izhx/mewsli-x` raw.tar.gz: the raw Mewsli-X files (candidate_set_entities.jsonl,
  wikipedia_pairs-{train,dev}.jsonl in English, wikinews_mentions-{dev,test}.jsonl with the
  mentions of every language), in the schema of utils_mewslix.py. An entity's English
  description states two facts about it; a mention restates one of them, in any language.
"""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from dataclasses import replace

from xstilts.embedded.examples import QAItem, hex_id, premise_events, qa_item, qa_render, render_with_spans
from xstilts.languages import XTREME_R_RETRIEVAL_LANGUAGES
from xstilts.layouts import GITHUB_DIR
from xstilts.loaders import LAREQA_REPO, MEWSLIX_REPO

QUESTIONS_PER_PARAGRAPH = 2


def langs(builder, task: str) -> list[str]:
    wanted = set(XTREME_R_RETRIEVAL_LANGUAGES[task].split())
    return [code for code in builder.world.languages if code in wanted]


def xquad_r(builder) -> None:
    s = builder.sampler("xquad_r")
    paragraphs = []  # per paragraph: its questions (QAItem) and their ids
    for _ in range(builder.size["eval"] // QUESTIONS_PER_PARAGRAPH):
        first = qa_item(s)
        targets = [first.target] + s.sample(
            [i for i in range(len(first.events)) if i != first.target], QUESTIONS_PER_PARAGRAPH - 1
        )
        items = []
        for target in targets:
            slot = s.choice(["agent", "patient"] + (["place"] if first.events[target].place else []))
            if slot == "patient" and not hasattr(first.events[target].patients[0], "noun"):
                slot = "agent"
            items.append(QAItem(first.events, target, first.events[target], slot))
        paragraphs.append((items, [hex_id(s, 24) for _ in items]))
    for code in langs(builder, "lareqa"):
        lang = builder.world.lang[code]
        out = []
        for items, ids in paragraphs:
            context, located = render_with_spans(lang, items[0].events)
            breaks = [[sentence[0][1], sentence[-1][2]] for sentence in located]
            qas = []
            for item, id_ in zip(items, ids):
                _, question, texts, starts = qa_render(lang, item)
                qas.append(
                    {
                        "id": id_,
                        "question": question,
                        "answers": [{"text": texts[0], "answer_start": starts[0]}],
                    }
                )
            out.append(
                {
                    "context": context,
                    "sentences": [context[a:b] for a, b in breaks],
                    "sentence_breaks": breaks,
                    "qas": qas,
                }
            )
        path = builder.out.root / GITHUB_DIR / LAREQA_REPO / "xquad-r" / f"{code}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            json.dumps({"data": [{"title": "synthetic", "paragraphs": out}]}, ensure_ascii=False),
            encoding="utf-8",
        )


# ---- Mewsli-X --------------------------------------------------------------------------------


def _spans(located) -> list[dict]:
    return [{"start": sentence[0][1], "end": sentence[-1][2]} for sentence in located]


def _entities(builder, s, n: int) -> list[dict]:
    """n people with distinct names, each with two facts (events they are the agent of)."""
    seen, out = set(), []
    while len(out) < n:
        person = s.person()
        if person.name in seen or len(person.name) < 2:
            continue
        seen.add(person.name)
        facts = [s.event(agent=person, place_p=0.5, time_p=0.0) for _ in range(2)]
        description, located = render_with_spans(builder.en, facts)
        qid = f"Q{1000 + len(out)}"
        out.append(
            {
                "entity": {
                    "entity_id": qid,
                    "title": " ".join(person.name),
                    "description": description,
                    "sentence_spans": _spans(located),
                    "description_language": "en",
                    "description_url": f"https://en.wikipedia.org/wiki/{'_'.join(person.name)}",
                },
                "facts": facts,
            }
        )
    return out


def _document(builder, s, code: str, record: dict, doc_id: str) -> tuple[dict, dict]:
    """A context in `code` whose one sentence restates a fact of the entity; the mention is
    the entity's name in that sentence."""
    fact = replace(s.choice(record["facts"]), time=s.choice((None, "yesterday", "today")))
    events = premise_events(s, int(s.rng.integers(1, 3)))
    at = int(s.rng.integers(len(events) + 1))
    events.insert(at, fact)
    lang = builder.world.lang[code]
    text, located = render_with_spans(lang, events)
    name = [(a, b) for token, a, b in located[at] if token.slot == "agent0"]
    start, end = name[0][0], name[-1][1]
    context = {
        "document_title": f"News {doc_id}",
        "document_url": f"https://{code}.wikinews.org/wiki/{doc_id}",
        "document_id": doc_id,
        "language": code,
        "text": text,
        "sentence_spans": _spans(located),
    }
    mention = {
        "example_id": hex_id(s, 32),
        "mention_span": {"start": start, "end": end, "text": text[start:end]},
        "entity_id": record["entity"]["entity_id"],
    }
    return context, mention


def mewslix(builder) -> None:
    s = builder.sampler("mewslix")
    records = _entities(builder, s, max(50, builder.size["eval"]))
    files = {"candidate_set_entities.jsonl": [r["entity"] for r in records]}
    for split, n in (("train", builder.size["train"]), ("dev", builder.size["eval"])):
        pairs = []
        for i in range(n):
            record = s.choice(records)
            context, mention = _document(builder, s, "en", record, f"W{split}{i}")
            pairs.append(
                {"contextual_mention": {"context": context, "mention": mention}, "entity": record["entity"]}
            )
        files[f"wikipedia_pairs-{split}.jsonl"] = pairs
    for split in ("dev", "test"):
        documents = []
        for code in langs(builder, "mewslix"):
            for i in range(builder.size["eval"]):
                context, mention = _document(builder, s, code, s.choice(records), f"N{split}{code}{i}")
                documents.append({"context": context, "mentions": [mention]})
        files[f"wikinews_mentions-{split}.jsonl"] = documents
    write_tarball(builder.out.root / MEWSLIX_REPO / "raw.tar.gz", files)


def write_tarball(path, files: dict[str, str | list[dict]]) -> None:
    """Text files (a list of rows: JSONL) in a .tar.gz with fixed times, so the build stays
    bit-identical."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
        with tarfile.open(fileobj=gz, mode="w") as tar:
            for name, rows in files.items():
                text = (
                    rows
                    if isinstance(rows, str)
                    else "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
                )
                data = text.encode()
                info = tarfile.TarInfo(name)
                info.size, info.mtime = len(data), 0
                tar.addfile(info, io.BytesIO(data))


def build(builder) -> None:
    xquad_r(builder)
    mewslix(builder)
