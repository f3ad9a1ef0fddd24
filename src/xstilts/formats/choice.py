"""Multiple choice: each choice encoded together with the context; one score per choice."""


def encode(batch, tokenizer, settings, labels):
    ids, masks = [], []
    for context, choices in zip(batch["context"], batch["choices"]):
        enc = tokenizer([context] * len(choices), choices, truncation=True, max_length=settings["max_length"])
        ids.append(enc["input_ids"])
        masks.append(enc["attention_mask"])
    return {"input_ids": ids, "attention_mask": masks, "labels": batch["label"]}
