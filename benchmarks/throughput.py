"""Prints training and inference throughput and peak memory of one training step shape.

A randomly initialised XLM-R of the chosen size (no download), the paper's shapes: batch 4 x
256 tokens for intermediate training; bf16 autocast on a GPU, fp32 on CPU.

    python benchmarks/throughput.py --size tiny|base|large [--steps 10] [--batch 4] [--length 256]
"""

import argparse
import resource
import time

import torch
from transformers import XLMRobertaConfig, XLMRobertaModel

SIZES = {
    "tiny": dict(hidden_size=64, num_hidden_layers=4, num_attention_heads=4, intermediate_size=128),
    "base": dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072),
    "large": dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096),
}


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--size", choices=SIZES, default="tiny")
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--length", type=int, default=256)
    args = p.parse_args()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    cfg = XLMRobertaConfig(
        vocab_size=250002 if args.size != "tiny" else 4000, max_position_embeddings=514, **SIZES[args.size]
    )
    model = XLMRobertaModel(cfg, add_pooling_layer=False).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-5)
    ids = torch.randint(5, cfg.vocab_size, (args.batch, args.length), device=device)

    def step(train: bool):
        with torch.autocast(device.type, dtype=dtype, enabled=dtype != torch.float32):
            out = model(input_ids=ids).last_hidden_state
        if train:
            out.float().pow(2).mean().backward()
            opt.step()
            opt.zero_grad()

    for train in (True, False):
        model.train(train)
        with torch.set_grad_enabled(train):
            step(train)  # warm-up
            if device.type == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
            for _ in range(args.steps):
                step(train)
            if device.type == "cuda":
                torch.cuda.synchronize()
            seconds = (time.perf_counter() - start) / args.steps
        kind = "train step" if train else "inference"
        print(
            f"{args.size} on {device.type} ({dtype}): {kind} {seconds * 1000:.1f} ms/batch, "
            f"{args.batch / seconds:.1f} sequences/s, {args.batch * args.length / seconds:.0f} tokens/s"
        )
    peak = (
        torch.cuda.max_memory_allocated() / 2**20
        if device.type == "cuda"
        else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    )
    print(
        f"peak memory: {peak:.0f} MiB ({'GPU' if device.type == 'cuda' else 'process RSS'}), "
        f"{sum(p.numel() for p in model.parameters()) / 1e6:.1f}M parameters"
    )


if __name__ == "__main__":
    main()
