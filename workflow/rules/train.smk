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
        unpack(job_inputs("intermediate")),
    output:
        directory(grid.INTERMEDIATE.model),
    log:
        grid.INTERMEDIATE.log,
    benchmark:
        grid.INTERMEDIATE.benchmark
    conda:
        ENV
    threads: job_resource("intermediate", "threads")
    resources:
        gpu=job_resource("intermediate", "gpu"),
        mem_mb=job_resource("intermediate", "mem_mb"),
        runtime=job_resource("intermediate", "runtime"),
    params:
        settings=job_settings_json("intermediate"),
        runtime=runtime_args("intermediate"),
        checkpoint=grid.INTERMEDIATE.checkpoint,
    shell:
        TRAIN_SHELL


rule finetune:
    input:
        unpack(job_inputs("finetune")),
    output:
        directory(grid.FINETUNE.model),
    log:
        grid.FINETUNE.log,
    benchmark:
        grid.FINETUNE.benchmark
    conda:
        ENV
    threads: job_resource("finetune", "threads")
    resources:
        gpu=job_resource("finetune", "gpu"),
        mem_mb=job_resource("finetune", "mem_mb"),
        runtime=job_resource("finetune", "runtime"),
    params:
        settings=job_settings_json("finetune"),
        runtime=runtime_args("finetune"),
        checkpoint=grid.FINETUNE.checkpoint,
    shell:
        TRAIN_SHELL
