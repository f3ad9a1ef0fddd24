"""Training throughput: xstilts' loop against Hugging Face Trainer, on the same rows and model.

One process, one epoch over the same rows (so every run sees the same real tokens), the same
randomly initialised XLM-R shape and optimizer settings (AdamW, linear warmup, clipping, fp32):

  xstilts          training.train as `xstilts train` calls it (random batches, each padded to
                   its own longest row: the reference sampling)
  xstilts grouped  the same with `group_by_length: true` (training setting, off by default)
  Trainer max-len  HF Trainer, rows padded to 256 tokens (XTREME's and jiant's convention)
  Trainer grouped  HF Trainer, dynamic padding and group_by_length

Rows: the real English NLI pairs in the shared samples (XNLI en dev, MNLI), tokenized with the
embedded default's tokenizer recipe (xstilts.embedded.model.train_tokenizer, trained on them) or
`--tokenizer DIR`; repeated to fill `--examples`. Prints real (non-pad) tokens/s and ratios.

    python benchmarks/train_vs_trainer.py [--shape small|large] [--examples 512] [--batch 32]

Each run is preceded by an untimed one on two batches (first-call costs: allocator, lazy imports).
"""

from __future__ import annotations

import argparse
import csv
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

SAMPLES = Path(__file__).resolve().parents[1] / "../shared/real-samples"
SHAPES = {
    # small enough for ~3 minutes on one CPU core; large: xlm-roberta-large
    "small": dict(hidden_size=128, num_hidden_layers=2, num_attention_heads=2, intermediate_size=512),
    "large": dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096),
}
MAX_LENGTH = 256
TRAINING = dict(lr=1e-5, adam_eps=1e-8, weight_decay=0.01, max_grad_norm=1.0, warmup_ratio=0.1)


def english_pairs(samples: Path) -> list[tuple[str, str]]:
    if not (samples / "xnli").is_dir():
        raise SystemExit(f"no real samples at {samples}: pass --samples DIR (../shared/real-samples)")
    pairs = []
    with open(samples / "xnli/xnli.dev.en.first400.tsv", encoding="utf-8") as f:
        pairs += [(r["sentence1_en"], r["sentence2_en"]) for r in csv.DictReader(f, delimiter="\t")]
    for name in ("hf_dummy_multinli_1.0_dev_matched.jsonl",):
        for line in (samples / "mnli" / name).read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            pairs.append((row["sentence1"], row["sentence2"]))
    for line in (samples / "mnli/jiant_fixture_mnli_val.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        pairs.append((row["premise"], row["hypothesis"]))
    return pairs


def tokenizer_for(args, pairs):
    if args.tokenizer:
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(args.tokenizer)
    from xstilts.embedded.model import train_tokenizer

    return train_tokenizer([t for pair in pairs for t in pair], 4000)


def model_config(shape: str, vocab_size: int):
    from transformers import XLMRobertaConfig

    return XLMRobertaConfig(
        vocab_size=vocab_size if shape == "small" else 250002,
        max_position_embeddings=MAX_LENGTH + 2,
        type_vocab_size=1,
        pad_token_id=1,
        num_labels=3,
        **SHAPES[shape],
    )


def run_xstilts(rows, config, batch, group_by_length: bool) -> float:
    from transformers import XLMRobertaModel

    from xstilts import training
    from xstilts.modeling import MultiTaskModel

    training.seed_everything(0)
    model = MultiTaskModel(
        XLMRobertaModel(config, add_pooling_layer=False),
        {"xnli": {"format": "pair_classification", "labels": ["e", "n", "c"]}},
    )
    settings = dict(
        TRAINING,
        batch_size=batch,
        grad_accum=1,
        epochs=1,
        max_steps=None,
        checkpoint_every=10**9,
        early_stopping=None,
        group_by_length=group_by_length,
    )
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        training.train(
            model, {"xnli": rows}, {}, settings, {}, 0, torch.device("cpu"), 1,
            Path(tmp) / "ckpt", log=lambda *a: None, fingerprint="benchmark",
        )  # fmt: skip
        return time.perf_counter() - start


def run_trainer(rows, config, batch, tokenizer, max_length_padding: bool) -> float:
    from transformers import (
        DataCollatorWithPadding,
        Trainer,
        TrainingArguments,
        XLMRobertaForSequenceClassification,
        default_data_collator,
    )

    torch.manual_seed(0)
    model = XLMRobertaForSequenceClassification(config)
    if max_length_padding:
        pad = lambda r: {  # noqa: E731
            "input_ids": r["input_ids"] + [1] * (MAX_LENGTH - len(r["input_ids"])),
            "attention_mask": r["attention_mask"] + [0] * (MAX_LENGTH - len(r["attention_mask"])),
        }
        rows, collator = rows.map(pad), default_data_collator
    else:
        collator = DataCollatorWithPadding(tokenizer)
    with tempfile.TemporaryDirectory() as tmp:
        args = TrainingArguments(
            output_dir=tmp,
            per_device_train_batch_size=batch,
            num_train_epochs=1,
            learning_rate=TRAINING["lr"],
            adam_epsilon=TRAINING["adam_eps"],
            weight_decay=TRAINING["weight_decay"],
            max_grad_norm=TRAINING["max_grad_norm"],
            warmup_steps=TRAINING["warmup_ratio"],  # a float < 1 is a ratio in transformers 5
            lr_scheduler_type="linear",
            optim="adamw_torch",  # as xstilts on the CPU (fused AdamW is its CUDA path)
            train_sampling_strategy="random" if max_length_padding else "group_by_length",
            logging_strategy="no",
            save_strategy="no",
            report_to=[],
            use_cpu=True,
            disable_tqdm=True,
            dataloader_num_workers=0,
            seed=0,
        )
        trainer = Trainer(model=model, args=args, train_dataset=rows, data_collator=collator)
        start = time.perf_counter()
        trainer.train()
        return time.perf_counter() - start


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--shape", choices=SHAPES, default="small")
    p.add_argument("--examples", type=int, default=512, help="rows trained on, one epoch each")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--samples", type=Path, default=SAMPLES)
    p.add_argument("--tokenizer", help="a tokenizer directory or hub id (default: the embedded recipe)")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    import datasets

    datasets.disable_progress_bars()
    pairs = english_pairs(args.samples.resolve())
    tokenizer = tokenizer_for(args, pairs)
    enc = tokenizer([a for a, _ in pairs], [b for _, b in pairs], truncation=True, max_length=MAX_LENGTH)
    pick = np.random.default_rng(0).integers(0, len(pairs), args.examples)
    rows = datasets.Dataset.from_dict(
        {
            "input_ids": [enc["input_ids"][i] for i in pick],
            "attention_mask": [enc["attention_mask"][i] for i in pick],
            "labels": [int(i % 3) for i in pick],
        }
    )
    lengths = np.array([len(r) for r in rows["input_ids"]])
    real = int(lengths.sum())
    print(
        f"{len(pairs)} English NLI pairs, {args.examples} rows: {lengths.mean():.1f} tokens per row "
        f"(median {np.median(lengths):.0f}, max {lengths.max()}); shape {args.shape}, batch {args.batch}, "
        f"{args.threads} thread(s), torch {torch.__version__}"
    )
    config = model_config(args.shape, len(tokenizer))
    runs = {
        "xstilts": lambda rows: run_xstilts(rows, config, args.batch, False),
        "xstilts grouped": lambda rows: run_xstilts(rows, config, args.batch, True),
        "Trainer max-len 256": lambda rows: run_trainer(rows, config, args.batch, tokenizer, True),
        "Trainer grouped": lambda rows: run_trainer(rows, config, args.batch, tokenizer, False),
    }
    rate = {}
    warm_up = rows.select(range(min(2 * args.batch, len(rows))))
    for name, run in runs.items():
        run(warm_up)
        seconds = run(rows)
        rate[name] = real / seconds
        print(f"{name:20s} {seconds:7.1f} s  {rate[name]:9.0f} real tokens/s", flush=True)
    for ours in ("xstilts", "xstilts grouped"):
        print(
            f"{ours}: {rate[ours] / rate['Trainer max-len 256']:.2f}x Trainer max-len 256, "
            f"{rate[ours] / rate['Trainer grouped']:.2f}x Trainer grouped"
        )


if __name__ == "__main__":
    main()
