"""Token tagging: the label of a word sits on its first sub-word; other sub-words get -100.

Nothing is truncated: a sentence longer than `max_length` sub-words becomes several windows of
whole words (one feature each, `sentence` = its row index in the split), and the word
predictions of its windows are stitched back together. A word with no sub-word at all is
encoded as the unknown token, as XTREME's utils_tag.py does. ``word_ids`` (per sub-word, index
of the word in the whole sentence, -1 outside words) maps predictions back to words.
"""

from collections import Counter

import numpy as np

from xstilts import metrics
from xstilts.formats.windows import special_template

IGNORE = -100


def encoder(tokenizer, settings, labels, split):
    """The batched map function (batch, row indices): a sentence's windows remember its row."""
    return lambda batch, indices: encode(batch, tokenizer, settings, labels, indices)


def encode(batch, tokenizer, settings, labels, indices):
    index = {tag: i for i, tag in enumerate(labels)}
    prefix, suffix = special_template(tokenizer, pair=False)
    budget = settings["max_length"] - len(prefix) - len(suffix)
    encoded = _encode_words(batch["tokens"], tokenizer)
    out = {"input_ids": [], "attention_mask": [], "labels": [], "word_ids": [], "tags": [], "sentence": []}
    for (sentence_ids, sentence_word_ids), tags, sentence in zip(encoded, batch["tags"], indices):
        for ids, word_ids in _split(sentence_ids, sentence_word_ids, budget):
            word_ids = [-1] * len(prefix) + word_ids + [-1] * len(suffix)
            previous, row = -1, []
            for w in word_ids:
                first = w >= 0 and w != previous
                row.append(index.get(tags[w], IGNORE) if first else IGNORE)
                previous = w if w >= 0 else previous
            ids = prefix + ids + suffix
            out["input_ids"].append(ids)
            out["attention_mask"].append([1] * len(ids))
            out["labels"].append(row)
            out["word_ids"].append(word_ids)
            out["tags"].append(tags)
            out["sentence"].append(sentence)
    return out


def _encode_words(sentences, tokenizer):
    """(sub-word ids, word ids) per sentence, without special tokens; words that tokenize to
    nothing (e.g. a lone zero-width space) are re-encoded as the unknown token."""
    sentences = [list(words) for words in sentences]
    enc = tokenizer(sentences, is_split_into_words=True, add_special_tokens=False)
    out = []
    for i, words in enumerate(sentences):
        ids, word_ids = enc["input_ids"][i], enc.word_ids(i)
        missing = set(range(len(words))) - set(word_ids)
        if missing:
            words = [tokenizer.unk_token if w in missing else word for w, word in enumerate(words)]
            again = tokenizer(words, is_split_into_words=True, add_special_tokens=False)
            ids, word_ids = again["input_ids"], again.word_ids()
        out.append((ids, word_ids))
    return out


def _split(ids, word_ids, budget: int):
    """Consecutive whole-word windows of at most `budget` sub-words; a single word longer than
    that keeps only its first `budget` sub-words (its label sits on the first)."""
    words = []  # (word id, [token ids])
    for token, w in zip(ids, word_ids):
        if words and words[-1][0] == w:
            words[-1][1].append(token)
        else:
            words.append((w, [token]))
    windows, current, current_words = [], [], []
    for w, pieces in words:
        pieces = pieces[:budget]
        if current and len(current) + len(pieces) > budget:
            windows.append((current, current_words))
            current, current_words = [], []
        current = current + pieces
        current_words = current_words + [w] * len(pieces)
    windows.append((current, current_words))
    return windows


def stitch(rows, default=None):
    """Per-sentence word labels from window rows (sentence, n_words, word_ids, token_preds):
    the first sub-word of each word wins; words no window predicted stay `default`."""
    sentences = {}
    for sentence, n_words, word_ids, predictions in rows:
        words = sentences.setdefault(sentence, [default] * n_words)
        for pred, w in zip(predictions, word_ids):
            if w >= 0 and words[w] is default:
                words[w] = int(pred)
    return sentences


# ---- scoring -----------------------------------------------------------------------------


def score(task, logits, features, labels, examples=None, language=None) -> dict:
    gold, pred = word_tags(logits, features, labels)
    accuracy = metrics.token_accuracy(gold, pred)
    if task.scorer is None:  # ccg: token accuracy
        return {"token_accuracy": accuracy}
    # XTREME scored UPOS with seqeval on raw tags (runs of a tag form one span): udpos_f1.
    return {"f1": getattr(metrics, task.scorer)(gold, pred), "token_accuracy": accuracy}


def chance(task, features, labels, examples=None) -> float:
    """Token accuracy: the most frequent tag; other metrics: the most frequent tag at every
    token, scored by the task's scorer."""
    words = [tag for tags in dict(zip(_sentences(features), features["tags"])).values() for tag in tags]
    tag, count = Counter(words).most_common(1)[0]
    if task.scorer is None:  # ccg: token accuracy
        return 100.0 * count / len(words)
    logits = [
        np.tile(np.eye(len(labels))[list(labels).index(tag)], (len(row), 1)) for row in features["input_ids"]
    ]
    return score(task, logits, features, labels)[task.metric]


def _sentences(features):
    """Sentence of each row; data prepared before windows existed has one row per sentence."""
    columns = getattr(features, "column_names", features)
    return features["sentence"] if "sentence" in columns else range(len(features["tags"]))


def _sentence_rows(features, logits=None):
    """(sentence, n_words, word_ids, token predictions) per window row."""
    sentences = _sentences(features)
    predictions = (
        [np.argmax(row, -1) for row in logits]
        if logits is not None
        else [[0] * len(w) for w in features["word_ids"]]
    )
    return zip(sentences, map(len, features["tags"]), features["word_ids"], predictions)


def word_tags(logits, features, labels):
    """Gold and predicted tags per sentence, windows stitched together. A word no window
    predicts (cut off by an old truncating encoding, or a window left out of a subset) is
    dropped from gold and prediction alike, as XTREME drops words it truncated."""
    tags = dict(zip(_sentences(features), features["tags"]))
    gold, pred = [], []
    for sentence, words in stitch(_sentence_rows(features, logits)).items():
        kept = [w for w, label in enumerate(words) if label is not None]
        gold.append([tags[sentence][w] for w in kept])
        pred.append([labels[words[w]] for w in kept])
    return gold, pred


def coverage(features) -> dict:
    """Sentences, windows and words of tagging features, and the words no window covers."""
    words = stitch(_sentence_rows(features))
    windows = Counter(_sentences(features))
    return {
        "sentences": len(words),
        "windows": len(features["tags"]),
        "split_sentences": sum(n > 1 for n in windows.values()),
        "words": sum(len(w) for w in words.values()),
        "words_unscored": sum(label is None for w in words.values() for label in w),
    }


def report(features, examples) -> tuple[int, dict]:
    """A cell counts sentences (not windows) and records the windows' coverage."""
    counts = coverage(features)
    return counts["sentences"], {"tagging": counts}
