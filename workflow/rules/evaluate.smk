# Zero-shot evaluation, one job per cell and language; the results collapse into one table.


rule evaluate:
    input:
        unpack(evaluation_inputs),
    output:
        grid.EVAL,
    log:
        grid.EVAL_LOG,
    benchmark:
        grid.EVAL_BENCHMARK
    group:
        "evaluate"  # bundled into few cluster jobs (profiles/slurm group-components)
    conda:
        ENV
    threads: 1
    resources:
        gpu=model_resources("gpus"),
        mem_mb=model_resources("eval_mem_mb"),
        runtime=model_resources("eval_runtime"),
    params:
        settings=job_settings_json(job_settings.evaluate),
        runtime=runtime_args(evaluation=True),
    shell:
        "OMP_NUM_THREADS={threads} xstilts evaluate --settings {params.settings:q}"
        " {params.runtime} --data {input.test:q} --out {output:q}"
        " --gpus {resources.gpu} > {log:q} 2>&1"


rule collect_run:
    """One model x recipe x seed: its cells' JSONs -> a parquet (keeps command lines short)."""
    input:
        lambda w: grid.run_cells(CFG, **w),
    output:
        grid.RUN_SCORES,
    log:
        grid.RUN_COLLECT_LOG,
    conda:
        ENV
    shell:
        "xstilts collect --out {output:q} {input:q} > {log:q} 2>&1"


rule collect:
    input:
        [grid.path(grid.RUN_SCORES, **j) for j in grid.run_keys(CFG)],
    output:
        grid.SCORES,
    log:
        f"{grid.LOGS}/collect.log",
    conda:
        ENV
    shell:
        "xstilts collect --out {output:q} {input:q} > {log:q} 2>&1"
