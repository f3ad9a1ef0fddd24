"""Sentence retrieval (Tatoeba, BUCC): source and target sentences encoded separately, embedded
by the encoder as is (no trained head) and scored by nearest neighbours.

The texts stay in the features: BUCC mining merges duplicate sentences by text, as XTREME does.
"""

from xstilts import metrics


def encode(batch, tokenizer, settings, labels):
    src = tokenizer(batch["source"], truncation=True, max_length=settings["max_length"])
    tgt = tokenizer(batch["target"], truncation=True, max_length=settings["max_length"])
    return {
        "source_input_ids": src["input_ids"],
        "target_input_ids": tgt["input_ids"],
        "source": batch["source"],
        "target": batch["target"],
    }


def scores(task, embeddings: dict, k: int, texts: dict | None = None) -> dict:
    """embeddings: split -> (source, target) arrays; row i of source translates row i of target.
    texts: split -> (source texts, target texts); BUCC merges duplicate sentences by text and
    drops a sentence found under several ids, as XTREME's mine_bitext / bucc_eval do."""
    src, tgt = embeddings["test"]
    if task.scorer == "tatoeba_accuracy":
        # XTREME's direction: each English sentence queries the other language's sentences.
        return {"accuracy": metrics.retrieval_accuracy(tgt, src)}
    if texts is None:
        raise ValueError("BUCC scoring needs the sentence texts (to merge duplicates as XTREME does)")

    def mine(split):
        split_src, split_tgt = embeddings[split]
        src_texts, tgt_texts = texts[split]
        src_ids, tgt_ids = ids(len(split_src)), ids(len(split_tgt))
        candidates = metrics.bucc_candidates(
            split_src, split_tgt, src_ids, tgt_ids, k=k, src_texts=src_texts, tgt_texts=tgt_texts
        )
        return candidates, set(zip(src_ids, tgt_ids))

    ids = lambda n: [str(i) for i in range(n)]
    threshold, dev_f1 = metrics.bucc_best_threshold(*mine("dev"))
    result = metrics.bucc_f1(*mine("test"), threshold)
    return {**result, "threshold": float(threshold), "dev_f1": float(dev_f1)}
