"""Dual-encoder retrieval (XTREME-R's LAReQA and Mewsli-X): one shared encoder embeds queries
and candidates; training uses in-batch negatives (``xstilts.modeling``), scoring mAP@k over a
candidate pool (``scores``).

Canonical rows, by split:
- train: ``{"query", "candidate"}``, a positive pair; the batch's other candidates are its
  negatives (XTREME-R's run_retrieval_qa.py / run_retrieval_el.py).
- dev, test: ``{"kind", "id", "text", "keys", "language"}`` with kind "query" or "candidate": a
  query is relevant to every candidate that shares one of its keys (LAReQA: the question's
  cross-lingual id, so its answer sentence in every language; Mewsli-X: the gold entity id).
Queries are cut at ``query_length`` tokens, candidates at ``max_length`` (XTREME-R: LAReQA 96
and 256, Mewsli-X 64 and 64). The text conventions below transcribe google-research/xtreme
@838c13b (utils_lareqa.py, processors/lareqa.py, utils_mewslix.py).
"""

from __future__ import annotations

import re

import numpy as np

from xstilts import metrics
from xstilts.formats.sb_sed import infer_sentence_breaks

EVAL_COLUMNS = ("kind", "id", "text", "keys", "language")


# ---- tokenization ---------------------------------------------------------------------------


def encoder(tokenizer, settings, labels, split):
    """The batched map function (batch, row indices): training pairs, or rows to embed."""
    encode = encode_train if split == "train" else encode_eval
    return lambda batch, indices: encode(batch, tokenizer, settings)


def encode_train(batch, tokenizer, settings):
    query = tokenizer(batch["query"], truncation=True, max_length=settings["query_length"])
    candidate = tokenizer(batch["candidate"], truncation=True, max_length=settings["max_length"])
    return {
        "query_input_ids": query["input_ids"],
        "query_attention_mask": query["attention_mask"],
        "candidate_input_ids": candidate["input_ids"],
        "candidate_attention_mask": candidate["attention_mask"],
    }


def encode_eval(batch, tokenizer, settings):
    """Each row alone (queries and candidates have their own length); the row facts stay."""
    ids, masks = [], []
    for kind, text in zip(batch["kind"], batch["text"]):
        if kind not in ("query", "candidate"):
            raise ValueError(f"a dual-encoder row has kind {kind!r}; expected 'query' or 'candidate'")
        length = settings["query_length"] if kind == "query" else settings["max_length"]
        enc = tokenizer(text, truncation=True, max_length=length)
        ids.append(enc["input_ids"])
        masks.append(enc["attention_mask"])
    return {"input_ids": ids, "attention_mask": masks, **{c: batch[c] for c in EVAL_COLUMNS if c != "text"}}


# ---- LAReQA: SQuAD-format paragraphs -> question / answer-sentence rows ----------------------


def sentence_breaks(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of English text: XTREME's sb_sed, as its LAReQA training
    does (XQuAD-R's own files carry their breaks)."""
    return list(infer_sentence_breaks(text))


def lareqa_candidate(sentence: str, context: str) -> str:
    """Sentence and its paragraph, concatenated without a separator, as XTREME-R encodes them
    (evaluate_retrieval.py and processors/lareqa.py: `(sentence + context).replace("\\n", "")`)."""
    return (sentence + context).replace("\n", "")


def _answer_sentence(context: str, breaks, answer_start: int) -> str | None:
    """The sentence holding the answer's first character, or None (a sentence-breaking error)."""
    for start, end in breaks:
        if start <= answer_start < end:
            return context[start:end]
    return None


def _recoverable(context: str, answer: str, answer_start: int) -> bool:
    """processors/lareqa.py keeps a training answer only if its whitespace tokens hold it."""
    words, word_of = [], []
    previous_space = True
    for ch in context:
        if ch in " \t\r\n\u202f":
            previous_space = True
        else:
            if previous_space:
                words.append(ch)
            else:
                words[-1] += ch
            previous_space = False
        word_of.append(len(words) - 1)
    first, last = word_of[answer_start], word_of[answer_start + len(answer) - 1]
    return " ".join(words[first : last + 1]).find(" ".join(answer.split())) != -1


def squad_pairs(rows) -> dict[str, list]:
    """LAReQA training pairs from SQuAD v1.1 rows (English): question -> answer sentence plus
    paragraph; questions whose answer falls outside every sentence, or cannot be recovered from
    the paragraph's words, are skipped as processors/lareqa.py skips them."""
    out = {"query": [], "candidate": []}
    breaks_of: dict[str, list] = {}
    for context, question, answers in zip(rows["context"], rows["question"], rows["answers"]):
        if context not in breaks_of:
            breaks_of[context] = sentence_breaks(context)
        start, text = answers["answer_start"][0], answers["text"][0]
        sentence = _answer_sentence(context, breaks_of[context], start)
        if sentence is None or not _recoverable(context, text, start):
            continue
        out["query"].append(question)
        out["candidate"].append(lareqa_candidate(sentence, context))
    return out


def retrieval_rows(paragraphs, language: str) -> dict[str, list]:
    """Evaluation rows of one language, as utils_lareqa.load_data builds them: each question
    whose answer start lies in a sentence (others are skipped, as there, with a warning); each
    sentence of each paragraph a candidate `<language>_<paragraph number>_<position>`, keyed by
    the ids of the questions it answers. `paragraphs`: (context, [(start, end)], [(question id,
    question, answer start)]) in order."""
    out = {c: [] for c in EVAL_COLUMNS}
    pool = []
    for number, (context, breaks, questions) in enumerate(paragraphs, start=1):
        sentences = [context[a:b] for a, b in breaks]
        keys = [[] for _ in sentences]
        for xling_id, question, answer_start in questions:
            answer = _answer_sentence(context, breaks, answer_start)
            if answer is None:
                continue
            for pos, sentence in enumerate(sentences):
                if sentence == answer:
                    keys[pos].append(xling_id)
            _append(out, "query", f"{xling_id}_{language}", question, [xling_id], language)
        pool.append((f"{language}_{number}", sentences, keys, context))
    for context_id, sentences, keys, context in pool:
        for pos, sentence in enumerate(sentences):
            _append(
                out,
                "candidate",
                f"{context_id}_{pos}",
                lareqa_candidate(sentence, context),
                keys[pos],
                language,
            )
    return out


def squad_retrieval_rows(rows) -> dict[str, list]:
    """English retrieval rows from flat SQuAD rows (the dev split): a paragraph is a distinct
    context, in order of appearance; its breaks are sb_sed's."""
    paragraphs: dict[str, list] = {}
    for xling_id, context, question, answers in zip(
        rows["id"], rows["context"], rows["question"], rows["answers"]
    ):
        paragraphs.setdefault(context, []).append((xling_id, question, answers["answer_start"][0]))
    return retrieval_rows(((c, sentence_breaks(c), q) for c, q in paragraphs.items()), "en")


def xquad_r_rows(squad: dict, language: str) -> dict[str, list]:
    """Retrieval rows from an official XQuAD-R file (google-research-datasets/lareqa
    xquad-r/<language>.json): its paragraphs, their `sentence_breaks` and answers as given."""
    paragraphs = (
        (
            paragraph["context"],
            [tuple(b) for b in paragraph["sentence_breaks"]],
            [(qa["id"], qa["question"], qa["answers"][0]["answer_start"]) for qa in paragraph["qas"]],
        )
        for article in squad["data"]
        for paragraph in article["paragraphs"]
    )
    return retrieval_rows(paragraphs, language)


def _append(out, kind, id_, text, keys, language):
    for column, value in zip(EVAL_COLUMNS, (kind, id_, text, keys, language)):
        out[column].append(value)


# ---- Mewsli-X: utils_mewslix.preprocess_mention / preprocess_entity_description -------------

_MARKER = re.compile(r"\{(.*?)\}")


def _normalise(text: str) -> str:
    return " ".join(text.splitlines()).replace("  ", " ").strip()


def mewslix_mention(context: dict, mention: dict) -> str:
    """A mention in its sentence, marked with { }, the mention text prepended:
    "Smith: The verdict came back for { Smith }, who ..." (pre-existing braces become parens)."""
    span = mention["mention_span"]
    start, end = span["start"], span["end"]
    sentence = next(
        (
            s
            for s in context["sentence_spans"]
            if s["start"] <= start < s["end"] and s["start"] < end <= s["end"]
        ),
        None,
    )
    if sentence is None:
        raise ValueError(
            f"Mewsli-X mention {mention.get('example_id')!r} crosses a sentence boundary or lies "
            "outside the context's sentences; the reference preprocessing cannot handle it either"
        )
    text = context["text"][sentence["start"] : sentence["end"]]
    left = _MARKER.sub(r"(\1)", text[: start - sentence["start"]])
    right = _MARKER.sub(r"(\1)", text[end - sentence["start"] :])
    return _normalise(f"{span['text']}: {left} {{ {span['text']} }} {right}")


def mewslix_entity(entity: dict) -> str:
    """The entity's description sentences joined by spaces, whitespace normalised."""
    text = entity["description"]
    return _normalise(" ".join(text[s["start"] : s["end"]] for s in entity["sentence_spans"]))


def mewslix_pairs(pairs) -> dict[str, list]:
    """wikipedia_pairs rows (MentionEntityPair JSON) -> training pairs."""
    out = {"query": [], "candidate": []}
    for pair in pairs:
        cm = pair["contextual_mention"]
        out["query"].append(mewslix_mention(cm["context"], cm["mention"]))
        out["candidate"].append(mewslix_entity(pair["entity"]))
    return out


def mewslix_pair_rows(pairs) -> dict[str, list]:
    """wikipedia_pairs rows as retrieval (the fine-tuning's dev): each mention a query keyed by
    its pair's entity, the pool the pairs' distinct entities, not the ~1M-entity candidate set."""
    out = {c: [] for c in EVAL_COLUMNS}
    entities = {}
    for pair in pairs:
        cm, entity = pair["contextual_mention"], pair["entity"]
        mention = cm["mention"]
        text = mewslix_mention(cm["context"], mention)
        _append(out, "query", mention["example_id"], text, [entity["entity_id"]], cm["context"]["language"])
        entities.setdefault(entity["entity_id"], entity)
    pool = mewslix_candidate_rows(entities.values())
    return {column: out[column] + pool[column] for column in out}


def mewslix_mention_rows(documents, language: str) -> dict[str, list]:
    """ContextualMentions documents -> query rows of one language, keyed by the gold entity."""
    out = {c: [] for c in EVAL_COLUMNS}
    for doc in documents:
        if doc["context"]["language"] != language:
            continue
        for mention in doc["mentions"]:
            if not mention["entity_id"]:
                raise ValueError(
                    f"Mewsli-X mention {mention['example_id']} ({language}) has no gold entity: "
                    "XTREME-R's preprocessing removes the test labels (in wikinews_labels too). Fix: "
                    "read the raw wikinews_mentions-test.jsonl (izhx/mewsli-x raw.tar.gz, or "
                    "get-mewsli-x.sh output before utils_preprocess.py)"
                )
            _append(
                out,
                "query",
                mention["example_id"],
                mewslix_mention(doc["context"], mention),
                [mention["entity_id"]],
                language,
            )
    return out


def mewslix_candidate_rows(entities) -> dict[str, list]:
    """The candidate set (one Entity JSON per row): every entity is a candidate for every query."""
    out = {c: [] for c in EVAL_COLUMNS}
    for entity in entities:
        _append(
            out,
            "candidate",
            entity["entity_id"],
            mewslix_entity(entity),
            [entity["entity_id"]],
            entity["description_language"],
        )
    return out


# ---- scoring --------------------------------------------------------------------------------


def score(task, logits, features, labels, examples=None, language=None) -> dict:
    """Dev (early stopping): the split's own queries against its own candidates."""
    return scores(task, [(features, logits)], [(features, logits)])


def scores(task, query_sets, pool_sets, k: int = 20) -> dict:
    """mAP@k (0-100) of the queries of `query_sets` against the candidates of `pool_sets`;
    each set is (prepared dual-encoder features, their embeddings in row order). A query is
    relevant to the candidates that share one of its keys."""

    def rows(sets, kind):
        vectors, keys = [], []
        for features, embeddings in sets:
            for row_kind, row_keys, vector in zip(features["kind"], features["keys"], embeddings):
                if row_kind == kind:
                    keys.append(row_keys)
                    vectors.append(vector)
        if not vectors:
            raise ValueError(f"{task.name}: no {kind} rows to score (check the prepared data)")
        return np.stack(vectors), keys

    queries, query_keys = rows(query_sets, "query")
    candidates, candidate_keys = rows(pool_sets, "candidate")
    by_key: dict[str, set[int]] = {}
    for index, keys in enumerate(candidate_keys):
        for key in keys:
            by_key.setdefault(key, set()).add(index)
    relevant = [set().union(*(by_key.get(key, set()) for key in keys)) for keys in query_keys]
    value = metrics.mean_average_precision_at_k(queries, candidates, relevant, k)
    return {task.metric: value}
