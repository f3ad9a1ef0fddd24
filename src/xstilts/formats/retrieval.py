"""Sentence retrieval (Tatoeba, BUCC): source and target sentences encoded separately.

The texts stay in the features: BUCC mining merges duplicate sentences by text, as XTREME does.
"""


def encode(batch, tokenizer, settings, labels):
    src = tokenizer(batch["source"], truncation=True, max_length=settings["max_length"])
    tgt = tokenizer(batch["target"], truncation=True, max_length=settings["max_length"])
    return {
        "source_input_ids": src["input_ids"],
        "target_input_ids": tgt["input_ids"],
        "source": batch["source"],
        "target": batch["target"],
    }
