"""Sentence-pair classification (NLI, paraphrase): both texts in one sequence, label on <s>."""


def encode(batch, tokenizer, settings, labels):
    enc = tokenizer(batch["text_a"], batch["text_b"], truncation=True, max_length=settings["max_length"])
    return {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"], "labels": batch["label"]}
