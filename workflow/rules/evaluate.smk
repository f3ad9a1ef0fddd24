# Zero-shot evaluation, one job per cell and language; the results collapse into one table.


def eval_inputs(w):
    inputs = {"data": grid.data_dir(CFG, w.model, w.target, w.language, "test")}
    trained_on = registry.training_task(w.target)
    if trained_on:
        inputs["model"] = grid.path(grid.TARGET, **{**w_dict(w), "task": trained_on}) + "/model"
    elif w.recipe != "none":  # retrieval reads the intermediate encoder as is
        inputs["model"] = grid.encoder_dir(CFG, w.model, w.recipe, w.seed)
    if w.target == "bucc":  # the mining threshold is chosen on dev
        inputs["dev"] = grid.data_dir(CFG, w.model, w.target, w.language, "dev")
    return inputs


def optional_args(w, input):
    args = [f"--model {input.model}" if "model" in input.keys() else ""]
    args.append(f"--dev-data {input.dev}" if "dev" in input.keys() else "")
    return " ".join(args)


rule evaluate:
    input:
        unpack(eval_inputs),
        embedded=EMBEDDED,
    output:
        grid.EVAL,
    params:
        settings=settings("eval"),
        args=optional_args,
    threads: 1
    group:
        "evaluate"  # bundled into few cluster jobs (profiles/slurm group-components)
    resources:
        gpu=model_resources("gpus"),
        mem_mb=model_resources("eval_mem_mb"),
        runtime=model_resources("eval_runtime"),
    benchmark:
        grid.run_dir() + "/eval/{target}/{language}.benchmark.tsv"
    log:
        grid.run_dir() + "/eval/{target}/{language}.log",
    shell:
        "OMP_NUM_THREADS={threads} xstilts evaluate --settings {params.settings:q} {params.args}"
        " --data {input.data} --out {output} --gpus {resources.gpu} > {log} 2>&1"


rule collect_run:
    """One model x recipe x seed: its cells' JSONs -> a parquet (keeps command lines short)."""
    input:
        lambda w: [
            grid.path(grid.EVAL, **w_dict(w), target=c.target, language=c.language)
            for c in grid.cells(CFG)
            if (c.model, c.recipe, str(c.seed)) == (w.model, w.recipe, w.seed)
        ],
    output:
        grid.run_dir() + "/scores.parquet",
    shell:
        "xstilts collect --out {output} {input}"


rule collect:
    input:
        [
            grid.path(grid.run_dir() + "/scores.parquet", **j)
            for j in grid.run_keys(CFG)
        ],
    output:
        grid.SCORES,
    shell:
        "xstilts collect --out {output} {input}"


rule costs:
    """Compute spent: GPU-hours per recipe and per target from every job's benchmark file."""
    input:
        grid.SCORES,  # after every job of the grid
    output:
        report("reports/costs.md", caption="../report/costs.rst", category="5. Costs"),
        "reports/costs_jobs.csv",
    params:
        gpus=xconfig.slice_json({m: v["resources"]["gpus"] for m, v in CFG["models"].items()}),
    shell:
        "xstilts costs --results results --gpus {params.gpus:q} --out reports"
