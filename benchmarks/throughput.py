"""Prints training and inference throughput and peak memory of one training step shape.

A randomly initialised XLM-R of the chosen size (no download), the paper's shapes: batch 4 x
256 tokens for intermediate training; fp32 on CPU. On a GPU it takes xstilts' GPU path (SDPA
attention, fused AdamW, bf16 autocast unless --precision fp32, optionally torch.compile) and
prints model FLOPs utilisation: model FLOPs (6 x non-embedding parameters per token, plus
attention's 12 x layers x hidden x length; a third of that for inference) per second over the
GPU's dense bf16 peak (known GPUs by name, or --peak-tflops).

    python benchmarks/throughput.py --size tiny|base|large [--steps 10] [--batch 4] [--length 256]
        [--precision bf16|fp32] [--compile] [--peak-tflops 989] [--calibration-out FILE --device-name A100]

--calibration-out writes what `xstilts plan --calibration FILE` reads: seconds = fixed + FLOPs /
rate fitted (least squares) over batches of --batch/4, --batch/2 and --batch rows, for a training
step as a job takes it (the project's batch builder, a classification head, clipping, AdamW,
the scheduler) and for inference; and a job's start and finish (a fresh interpreter importing
the project's stack, loading an encoder and a dataset, saving the encoder; `loading_seconds`,
without the imports, is what an evaluation job forked from the warm process pays). On a CPU it
times CPU seconds of --threads threads (1: a job's default), so other processes sharing the
cores do not lengthen it; on a GPU, wall seconds.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
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


# What every training job does besides its steps: import the project's stack, load the encoder
# and its data, save the model.
JOB = """
import json, resource
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
import datasets, xstilts.cli, xstilts.stages, xstilts.training
from xstilts import modeling
datasets.disable_progress_bars()
encoder = modeling.load_encoder("{tmp}/model", "full", None)
datasets.load_from_disk("{tmp}/data")
encoder.save_pretrained("{tmp}/saved")
done = cpu()
# again, as a job forked from the warm process loads (the first load also imported lazily)
encoder = modeling.load_encoder("{tmp}/model", "full", None)
datasets.load_from_disk("{tmp}/data")
print(json.dumps({{"job_seconds": done, "loading_seconds": cpu() - done}}))
"""


def calibrate(args, cfg, device, dtype) -> dict:
    """The calibration record of `xstilts plan`: fitted rates of this device and precision."""
    import datasets
    import numpy as np
    from transformers import XLMRobertaForSequenceClassification, get_linear_schedule_with_warmup
    from transformers.utils import logging

    datasets.disable_progress_bars()
    logging.disable_progress_bar()

    from xstilts.evaluation import model_batch

    cuda = device.type == "cuda"
    clock = time.perf_counter if cuda else time.process_time
    model = XLMRobertaForSequenceClassification(cfg).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-5, fused=cuda or None)
    scheduler = get_linear_schedule_with_warmup(opt, 0, 10**6)
    rows = max(args.batch, 1) * (args.steps + 1)
    gen = torch.Generator().manual_seed(0)
    ids = torch.randint(5, cfg.vocab_size, (rows, args.length), generator=gen).tolist()
    data = datasets.Dataset.from_dict(
        {"input_ids": ids, "attention_mask": [[1] * args.length] * rows, "labels": [0] * rows}
    )
    columns = ["input_ids", "attention_mask", "labels"]
    flops_token = {t: model_flops_per_token(cfg, args.length, t) for t in (True, False)}

    def timed(batch: int, train: bool) -> float:
        model.train(train)
        with torch.set_grad_enabled(train):
            for step in range(args.steps + 1):
                if step == 1:  # the first is warm-up
                    if cuda:
                        torch.cuda.synchronize()
                    start = clock()
                b = model_batch(data, slice(step * batch, (step + 1) * batch), columns, 1, device)
                with torch.autocast(device.type, dtype=dtype, enabled=dtype != torch.float32):
                    loss = model(**b).loss
                if train:
                    loss.backward()
                    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                    opt.step()
                    scheduler.step()
                    opt.zero_grad(set_to_none=True)
            if cuda:
                torch.cuda.synchronize()
        return (clock() - start) / args.steps

    record = {"device": args.device_name or (torch.cuda.get_device_name() if cuda else "cpu")}
    record["precision"] = "bf16" if dtype == torch.bfloat16 else "fp32"
    batches = sorted({max(1, args.batch // 4), max(1, args.batch // 2), args.batch})
    for train, rate, fixed in (
        (True, "train_flops_per_second", "step_seconds"),
        (False, "eval_flops_per_second", "eval_batch_seconds"),
    ):
        flops = np.array([b * args.length * flops_token[train] for b in batches])
        secs = np.array([timed(b, train) for b in batches])
        slope, intercept = np.polyfit(flops, secs, 1)
        record[rate] = float(1 / slope) if slope > 0 else float(flops[-1] / secs[-1])
        record[fixed] = max(0.0, float(intercept)) if slope > 0 else 0.0
        record.setdefault("measured", {})["train" if train else "eval"] = {
            "batches": batches,
            "seconds": [round(float(x), 5) for x in secs],
        }
    with tempfile.TemporaryDirectory() as tmp:  # a job's own start and finish, in a fresh process
        model.base_model.save_pretrained(f"{tmp}/model")
        data.save_to_disk(f"{tmp}/data")
        job = subprocess.run(
            [sys.executable, "-c", JOB.format(tmp=tmp)], check=True, capture_output=True, text=True
        )
    record.update({k: round(v, 3) for k, v in json.loads(job.stdout.splitlines()[-1]).items()})
    record["model"] = {"size": args.size, "length": args.length, "threads": torch.get_num_threads()}
    return record


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--size", choices=SIZES, default="tiny")
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--length", type=int, default=256)
    p.add_argument("--precision", choices=["bf16", "fp32"], default="bf16", help="GPU autocast (CPU: fp32)")
    p.add_argument("--compile", action="store_true", help="torch.compile the model (GPU)")
    p.add_argument("--peak-tflops", type=float, help="the GPU's dense bf16 peak, if not known by name")
    p.add_argument("--calibration-out", help="write the calibration `xstilts plan --calibration` reads")
    p.add_argument("--device-name", help="the calibration's device name (default: the GPU's, or cpu)")
    p.add_argument("--threads", type=int, default=1, help="CPU threads (a job's default: 1)")
    args = p.parse_args()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    cuda = device.type == "cuda"
    if not cuda:
        torch.set_num_threads(args.threads)
    dtype = torch.bfloat16 if cuda and args.precision == "bf16" else torch.float32
    cfg = XLMRobertaConfig(
        vocab_size=250002 if args.size != "tiny" else 4000,
        max_position_embeddings=514,
        attn_implementation="sdpa",
        num_labels=3,
        **SIZES[args.size],
    )
    if args.calibration_out:
        record = calibrate(args, cfg, device, dtype)
        tmp = f"{args.calibration_out}.part"
        with open(tmp, "w") as f:
            json.dump(record, f, indent=1)
        os.replace(tmp, args.calibration_out)
        print(json.dumps(record))
        return
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
