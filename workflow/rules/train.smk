# Phase 2 (intermediate, one job per model x recipe x seed) and phase 3 (finetune, one job per
# model x recipe x training task x seed). Checkpoints sit beside the output, which Snakemake
# never deletes, so a preempted or killed job resumes where it stopped.

TRAIN_SHELL = (
    "OMP_NUM_THREADS={threads} xstilts train --settings {params.settings:q}"
    " --train {input.train:q} --dev {input.dev:q} {params.runtime} --out {output:q}"
    " --checkpoint-dir {params.checkpoint:q} --gpus {resources.gpu} > {log:q} 2>&1"
)


rule intermediate:
    input:
        unpack(intermediate_inputs),
    output:
        directory(grid.INTERMEDIATE.model),
    log:
        grid.INTERMEDIATE.log,
    benchmark:
        grid.INTERMEDIATE.benchmark
    conda:
        ENV
    threads: model_resources("cpus")
    resources:
        gpu=model_resources("gpus"),
        mem_mb=model_resources("train_mem_mb"),
        runtime=model_resources("train_runtime"),
    params:
        settings=job_settings_json(job_settings.intermediate),
        runtime=runtime_args(),
        checkpoint=grid.INTERMEDIATE.checkpoint,
    shell:
        TRAIN_SHELL


rule finetune:
    input:
        unpack(finetune_inputs),
    output:
        directory(grid.FINETUNE.model),
    log:
        grid.FINETUNE.log,
    benchmark:
        grid.FINETUNE.benchmark
    conda:
        ENV
    threads: model_resources("cpus")
    resources:
        gpu=model_resources("gpus"),
        mem_mb=model_resources("train_mem_mb"),
        runtime=model_resources("train_runtime"),
    params:
        settings=job_settings_json(job_settings.finetune),
        runtime=runtime_args(),
        checkpoint=grid.FINETUNE.checkpoint,
    shell:
        TRAIN_SHELL
