# Phase 2 (intermediate, one job per model x recipe x seed) and phase 3 (target, one job per
# model x recipe x training task x seed). Checkpoints sit beside the output, which Snakemake
# never deletes, so a preempted or killed job resumes where it stopped.


def w_dict(w):
    return dict(w.items())


def intermediate_data(w):
    s = grid.intermediate_settings(CFG, **w_dict(w))
    return [
        grid.data_dir(CFG, w.model, task, language, split)
        for task, language in s["tasks"]
        for split in ("train", "dev")
    ]


def target_inputs(w):
    inputs = {
        "data": [grid.data_dir(CFG, w.model, w.task, "en", s) for s in ("train", "dev")],
        "embedded": EMBEDDED,
    }
    encoder = grid.encoder_dir(CFG, w.model, w.recipe, w.seed)
    if encoder:
        inputs["encoder"] = encoder
    return inputs


TRAIN_SHELL = (
    "OMP_NUM_THREADS={threads} xstilts train --settings {params.settings:q} --out {output}"
    " --checkpoint-dir {params.checkpoint} --gpus {resources.gpu} > {log} 2>&1"
)


rule intermediate:
    input:
        data=intermediate_data,
        embedded=EMBEDDED,
    output:
        directory(grid.INTERMEDIATE + "/model"),
    params:
        settings=settings("intermediate"),
        checkpoint=grid.INTERMEDIATE + "/checkpoint",
    threads: model_resources("cpus")
    resources:
        gpu=model_resources("gpus"),
        mem_mb=model_resources("train_mem_mb"),
        runtime=model_resources("train_runtime"),
    benchmark:
        grid.INTERMEDIATE + "/benchmark.tsv"
    log:
        grid.INTERMEDIATE + "/train.log",
    shell:
        TRAIN_SHELL


rule target:
    input:
        unpack(target_inputs),
    output:
        directory(grid.TARGET + "/model"),
    params:
        settings=settings("target"),
        checkpoint=grid.TARGET + "/checkpoint",
    threads: model_resources("cpus")
    resources:
        gpu=model_resources("gpus"),
        mem_mb=model_resources("train_mem_mb"),
        runtime=model_resources("train_runtime"),
    benchmark:
        grid.TARGET + "/benchmark.tsv"
    log:
        grid.TARGET + "/train.log",
    shell:
        TRAIN_SHELL
