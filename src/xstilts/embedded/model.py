"""A tiny XLM-R: a SentencePiece-style Unigram tokenizer and a small XLMRobertaForMaskedLM
pretrained with masked-LM on the synthetic corpus, saved like a hub model repo.

It has XLM-R's architecture, special tokens and ids (<s>=0 <pad>=1 </s>=2 <unk>=3, <mask>
last), so every code path that loads `xlm-roberta-*` loads it unchanged, offline.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from xstilts.atomic import atomic_dir

if TYPE_CHECKING:  # torch is imported where it is used: validation reads this module
    import torch

SPECIAL_TOKENS = ["<s>", "<pad>", "</s>", "<unk>"]
CORPUS_REPO = "xstilts/tiny-corpus"
# `tokenizers`' UnigramTrainer gives characters its EM dropped the score min + k * 1e-4, k in
# hash-set order (finalize's min_score_penalty_delta); its EM sums run in hash-map order.
PENALTY_STEP = 1e-4
SCORE_DECIMALS = 6


def read_corpus(mirror: Path) -> dict[str, list[str]]:
    """Texts per language from the corpus repo, through the same `datasets` path as the hub."""
    import datasets

    directory = str(Path(mirror) / CORPUS_REPO)
    return {
        config: datasets.load_dataset(directory, config, split="train")["text"]
        for config in datasets.get_dataset_config_names(directory)
    }


def interleave(corpus: dict[str, list[str]], seed: int) -> list[str]:
    texts = [t for code in sorted(corpus) for t in corpus[code]]
    order = np.random.default_rng(seed).permutation(len(texts))
    return [texts[i] for i in order]


def canonical_pieces(pieces: list) -> list[tuple[str, float]]:
    """The trainer's (piece, score) list made independent of the run. Its piece set is stable,
    but it is not deterministic even on one thread (Rust hash maps are seeded per process):
    scores differ in the last digits (EM sums in hash-map order) and characters the EM dropped
    get min + k * PENALTY_STEP in a random k order; both reorder the ids. Scores are rounded,
    those characters share the minimum, and ties sort by piece."""
    low = min(score for _, score in pieces)
    out = []
    for piece, score in pieces:
        k = (score - low) / PENALTY_STEP
        if len(piece) == 1 and round(k) < len(pieces) and abs(k - round(k)) < 1e-6:
            score = low
        out.append((piece, round(score, SCORE_DECIMALS)))
    return sorted(out, key=lambda p: (-p[1], p[0]))


def train_tokenizer(texts: list[str], vocab_size: int):
    """Unigram (SentencePiece's model) with Metaspace pre-tokenisation, wrapped as XLM-R's;
    the same texts give the same tokenizer.json on every machine and thread count."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import XLMRobertaTokenizerFast

    tokenizer = Tokenizer(models.Unigram())
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tokenizer.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    trainer = trainers.UnigramTrainer(
        vocab_size=vocab_size - 1,
        special_tokens=SPECIAL_TOKENS,
        unk_token="<unk>",
        max_piece_length=12,
        n_sub_iterations=2,
        shrinking_factor=0.75,
        show_progress=False,
    )
    tokenizer.train_from_iterator(texts, trainer)
    vocab = [tuple(p) for p in json.loads(tokenizer.to_str())["model"]["vocab"]]
    n = len(SPECIAL_TOKENS)
    assert [p for p, _ in vocab[:n]] == SPECIAL_TOKENS, vocab[:n]
    tokenizer.model = models.Unigram(
        vocab[:n] + canonical_pieces(vocab[n:]), unk_id=SPECIAL_TOKENS.index("<unk>")
    )
    tokenizer.add_special_tokens([AddedToken("<mask>", lstrip=True, special=True)])
    bos, eos = tokenizer.token_to_id("<s>"), tokenizer.token_to_id("</s>")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>", special_tokens=[("<s>", bos), ("</s>", eos)]
    )
    return XLMRobertaTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token="<s>",
        eos_token="</s>",
        sep_token="</s>",
        cls_token="<s>",
        unk_token="<unk>",
        pad_token="<pad>",
        mask_token="<mask>",
        clean_up_tokenization_spaces=False,
    )


def pack(tokenizer, texts: list[str], length: int) -> torch.Tensor:
    """Concatenate tokenised texts (each <s> ... </s>) and cut into blocks of `length`."""
    import torch

    ids = [i for row in tokenizer(texts)["input_ids"] for i in row]
    n = len(ids) // length
    return torch.tensor(ids[: n * length], dtype=torch.long).view(n, length)


def model_card(repo_id: str, config, losses: list[float], steps: int, n_texts: int) -> str:
    """The card holds no wall time: the repo must be byte-identical between builds."""
    first, last = float(np.mean(losses[:20])), float(np.mean(losses[-20:]))
    return f"""---
language: [multilingual]
library_name: transformers
tags: [xlm-roberta, synthetic, xstilts]
---
# {repo_id}

A tiny XLM-RoBERTa (`XLMRobertaForMaskedLM`, {config.num_hidden_layers} layers, hidden
{config.hidden_size}, {config.num_attention_heads} heads, vocabulary {config.vocab_size}) built
by `xstilts.embedded.model.build_tiny_model` for offline tests of the X-STILTs pipeline. It
is pretrained with masked-LM (15% masking) on the synthetic multilingual corpus
`{CORPUS_REPO}` ({n_texts} texts) for {steps} steps on CPU. It knows nothing
about real languages; its numbers say whether the pipeline works, not what X-STILTs does.

Tokenizer: SentencePiece-style Unigram (`tokenizers`), Metaspace pre-tokenisation, XLM-R's
special tokens and ids (`<s>`=0, `<pad>`=1, `</s>`=2, `<unk>`=3, `<mask>` last).

Pretraining loss (mean of the first / last 20 steps): {first:.3f} -> {last:.3f}
"""


def build_tiny_model(
    mirror: Path,
    repo_id: str = "xstilts/tiny-xlmr",
    *,
    hidden_size: int = 64,
    num_layers: int = 4,
    num_heads: int = 4,
    intermediate_size: int = 128,
    vocab_size: int = 4000,
    max_position: int = 258,
    steps: int = 1000,
    batch_size: int = 32,
    seq_length: int = 64,
    learning_rate: float = 2e-3,
    seed: int = 0,
) -> Path:
    """Train tokenizer + MLM on the mirror's corpus; save to `<mirror>/<repo_id>` atomically."""
    import torch
    from transformers import XLMRobertaConfig, XLMRobertaForMaskedLM

    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)
    # One thread: a model this small gains little from more, and a fixed thread count keeps
    # float reductions (so the weights) identical on every machine.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    start = time.monotonic()
    texts = interleave(read_corpus(mirror), seed)
    tokenizer = train_tokenizer(texts, vocab_size)
    blocks = pack(tokenizer, texts, seq_length)
    config = XLMRobertaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        num_hidden_layers=num_layers,
        num_attention_heads=num_heads,
        intermediate_size=intermediate_size,
        max_position_embeddings=max_position,
        type_vocab_size=1,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
    )
    model = XLMRobertaForMaskedLM(config)
    try:
        losses = pretrain(model, tokenizer, blocks, steps, batch_size, learning_rate, seed)
    finally:
        torch.set_num_threads(threads)
    print(
        f"pretrained {steps} steps in {time.monotonic() - start:.0f} s, loss "
        f"{np.mean(losses[:20]):.3f} -> {np.mean(losses[-20:]):.3f}",
        flush=True,
    )

    target = Path(mirror) / repo_id
    with atomic_dir(target) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        (tmp / "README.md").write_text(
            model_card(repo_id, config, losses, steps, len(texts)), encoding="utf-8"
        )
    return target


def masked_lm_loss(model, input_ids, labels):
    """XLMRobertaForMaskedLM's loss, with the vocabulary projection applied to the masked
    positions only (15% of them): same value, a fraction of the cost at this model size."""
    import torch.nn.functional as F

    hidden = model.roberta(input_ids=input_ids).last_hidden_state
    masked = labels != -100
    return F.cross_entropy(model.lm_head(hidden[masked]), labels[masked])


def pretrain(
    model, tokenizer, blocks, steps: int, batch_size: int, learning_rate: float, seed: int
) -> list[float]:
    """Masked-LM with AdamW, linear warm-up then linear decay; returns the loss per step."""
    import torch
    from transformers import DataCollatorForLanguageModeling, get_linear_schedule_with_warmup

    collator = DataCollatorForLanguageModeling(tokenizer, mlm_probability=0.15, seed=seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate, weight_decay=0.01)
    schedule = get_linear_schedule_with_warmup(optimizer, max(steps // 20, 1), steps)
    generator = torch.Generator().manual_seed(seed)
    model.train()
    losses, order, cursor = [], torch.randperm(len(blocks), generator=generator), 0
    for _ in range(steps):
        if cursor + batch_size > len(order):
            order, cursor = torch.randperm(len(blocks), generator=generator), 0
        batch = collator([{"input_ids": row} for row in blocks[order[cursor : cursor + batch_size]]])
        cursor += batch_size
        loss = masked_lm_loss(model, batch["input_ids"], batch["labels"])
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()
        losses.append(loss.item())
    model.eval()
    return losses
