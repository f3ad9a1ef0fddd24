"""Token tagging: the label of a word sits on its first sub-word; other sub-words get -100.

``word_ids`` (per sub-word, -1 outside words) is kept so predictions map back to words; a word
cut off by truncation, or with no sub-words at all, is predicted as the first label (O for NER).
"""

IGNORE = -100


def encode(batch, tokenizer, settings, labels):
    index = {tag: i for i, tag in enumerate(labels)}
    enc = tokenizer(batch["tokens"], is_split_into_words=True, truncation=True,
                    max_length=settings["max_length"])
    out = {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"],
           "labels": [], "word_ids": [], "tags": batch["tags"]}
    for i, tags in enumerate(batch["tags"]):
        word_ids = [-1 if w is None else w for w in enc.word_ids(i)]
        previous, row = -1, []
        for w in word_ids:
            first = w >= 0 and w != previous
            row.append(index.get(tags[w], IGNORE) if first else IGNORE)
            previous = w if w >= 0 else previous
        out["labels"].append(row)
        out["word_ids"].append(word_ids)
    return out


def words_from_tokens(token_predictions, word_ids, n_words, default=0):
    """Per-word label ids from per-sub-word predictions (first sub-word wins)."""
    words = [default] * n_words
    seen = set()
    for pred, w in zip(token_predictions, word_ids):
        if w >= 0 and w not in seen:
            words[w] = int(pred)
            seen.add(w)
    return words
