"""Prints training and inference throughput and peak memory of one training step shape.

A randomly initialised XLM-R of the chosen size (no download), the paper's shapes: batch 4 x
256 tokens for intermediate training; fp32 on CPU. On a GPU it takes xstilts' GPU path (SDPA
attention, fused AdamW, bf16 autocast unless --precision fp32, optionally torch.compile) and
prints model FLOPs utilisation: model FLOPs (6 x non-embedding parameters per token, plus
attention's 12 x layers x hidden x length; a third of that for inference) per second over the
GPU's dense bf16 peak (known GPUs by name, or --peak-tflops).

    python benchmarks/throughput.py --size tiny|base|large [--steps 10] [--batch 4] [--length 256]
        [--precision bf16|fp32] [--compile] [--peak-tflops 989]
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
# Dense bf16 peak TFLOP/s (no sparsity), from the vendors' data sheets; matched on the device name.
PEAK_BF16_TFLOPS = {"H200": 989, "H100 PCIe": 756, "H100": 989, "A100": 312, "L40S": 362, "A10": 125}


def peak_tflops(name: str) -> float | None:
    return next((v for k, v in PEAK_BF16_TFLOPS.items() if k in name), None)


def model_flops_per_token(cfg, length: int, train: bool) -> float:
    """6N + 12 L d T for a training step (PaLM's appendix B), a third of it for inference."""
    d, layers = cfg.hidden_size, cfg.num_hidden_layers
    n = layers * (4 * d * d + 2 * d * cfg.intermediate_size)  # attention + MLP weight matrices
    flops = 6 * n + 12 * layers * d * length
    return flops if train else flops / 3


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--size", choices=SIZES, default="tiny")
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--length", type=int, default=256)
    p.add_argument("--precision", choices=["bf16", "fp32"], default="bf16", help="GPU autocast (CPU: fp32)")
    p.add_argument("--compile", action="store_true", help="torch.compile the model (GPU)")
    p.add_argument("--peak-tflops", type=float, help="the GPU's dense bf16 peak, if not known by name")
    args = p.parse_args()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    cuda = device.type == "cuda"
    dtype = torch.bfloat16 if cuda and args.precision == "bf16" else torch.float32
    cfg = XLMRobertaConfig(
        vocab_size=250002 if args.size != "tiny" else 4000,
        max_position_embeddings=514,
        attn_implementation="sdpa",
        **SIZES[args.size],
    )
    model = XLMRobertaModel(cfg, add_pooling_layer=False).to(device)
    if args.compile:
        model.compile()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-5, fused=cuda or None)
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
        tokens = args.batch * args.length / seconds
        line = (
            f"{args.size} on {device.type} ({dtype}): {kind} {seconds * 1000:.1f} ms/batch, "
            f"{args.batch / seconds:.1f} sequences/s, {tokens:.0f} tokens/s"
        )
        if cuda:
            name = torch.cuda.get_device_name()
            peak = args.peak_tflops or peak_tflops(name)
            achieved = tokens * model_flops_per_token(cfg, args.length, train) / 1e12
            line += f", {achieved:.0f} model TFLOP/s"
            if peak:
                line += f" = {100 * achieved / peak:.1f}% MFU of {name}'s {peak:.0f} bf16 TFLOP/s"
            else:
                line += f" ({name}: peak unknown, pass --peak-tflops)"
        print(line)
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
