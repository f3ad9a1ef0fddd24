"""Building model inputs window by window, with the special tokens the tokenizer itself adds."""


def special_template(tokenizer, pair: bool) -> tuple[list[int], ...]:
    """Special-token ids around one sequence (prefix, suffix) or two (prefix, middle, suffix).

    Read from the tokenizer's own post-processor (sequence ids of a probe), so a window's ids
    are exactly what the tokenizer would produce for that text: XLM-R gives <s> a </s></s> b </s>.
    """
    probe = tokenizer("a", "b") if pair else tokenizer("a")
    sequence_ids, ids = probe.sequence_ids(0), probe["input_ids"]
    parts, current = [], []
    previous = "start"
    for token, sequence in zip(ids, sequence_ids):
        if sequence is None:
            current.append(token)
        elif sequence != previous:
            parts.append(current)
            current = []
        previous = sequence if sequence is not None else previous
    parts.append(current)
    expected = 3 if pair else 2
    if len(parts) != expected or sum(map(len, parts)) != tokenizer.num_special_tokens_to_add(pair=pair):
        raise ValueError(
            f"cannot read the special-token layout of {type(tokenizer).__name__}: "
            f"{ids} with sequence ids {sequence_ids}"
        )
    return tuple(parts)
