# Zero-shot evaluation: one job per trained model x target (x recipe x seed) loads the model
# once and writes one JSON per language; the results collapse into one table. Snakemake fixes a
# rule's outputs, so each target gets its own rule (evaluate_<target>) with its languages.
# Where other studies in the workdir evaluate some of them, each block of languages the same
# studies share gets its own rule (evaluate_<target>_<n>): a job never rewrites a shared cell.


for _target in CFG["targets"]:
    for _block, _languages in enumerate(
        shared_workdir.language_blocks(CFG, _target, REGISTERED)
    ):
        _job = dict(target=_target, languages=tuple(_languages), block=_block)

        rule:
            name:
                f"evaluate_{_target}" + (f"_{_block + 1}" if _block else "")
            input:
                unpack(job_inputs("evaluate", **_job)),
            output:
                grid.eval_outputs(_target, _languages),
            log:
                grid.eval_block_paths(grid.EVAL_LOG, _target, _block, _languages[0]),
            benchmark:
                grid.eval_block_paths(
                    grid.EVAL_BENCHMARK, _target, _block, _languages[0]
                )
            group:
                "evaluate"  # bundled into few cluster jobs (profiles/slurm group-components)
            conda:
                ENV
            threads: 1
            resources:
                gpu=job_resource("evaluate", "gpu", **_job),
                mem_mb=job_resource("evaluate", "mem_mb", **_job),
                runtime=job_resource("evaluate", "runtime", **_job),
            params:
                settings=job_settings_json("evaluate", **_job),
                runtime=runtime_args("evaluate", **_job),
                # derived (takes input): not compared; the outputs and inputs name the languages
                languages=lambda w, input, langs=tuple(_languages): " ".join(langs),
            shell:
                "OMP_NUM_THREADS={threads} xstilts evaluate --settings {params.settings:q}"
                " {params.runtime} --languages {params.languages} --data {input.test:q}"
                " --out {output:q} --gpus {resources.gpu} > {log:q} 2>&1"


rule collect_run:
    """One model x recipe x seed: its cells' JSONs -> a parquet (keeps command lines short)."""
    input:
        lambda w: grid.run_cells(CFG, **w),
    output:
        AGG.run_scores,
    log:
        AGG.run_collect_log,
    conda:
        ENV
    shell:
        "xstilts collect --out {output:q} {input:q} > {log:q} 2>&1"


rule collect:
    input:
        [grid.path(AGG.run_scores, **j) for j in grid.run_keys(CFG)],
    output:
        AGG.scores,
    log:
        AGG.collect_log,
    conda:
        ENV
    shell:
        "xstilts collect --out {output:q} {input:q} > {log:q} 2>&1"
