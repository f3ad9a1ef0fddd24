# Load and tokenize each split once per tokenizer x task x language; every cell shares it.


rule prepare:
    input:
        unpack(job_inputs("prepare")),
    output:
        directory(grid.DATA),
    log:
        grid.PREPARE_LOG,
    conda:
        ENV
    params:
        settings=job_settings_json("prepare"),
        runtime=runtime_args("prepare"),
    shell:
        "OMP_NUM_THREADS=1 xstilts prepare --settings {params.settings:q} {params.runtime}"
        " --out {output:q} > {log:q} 2>&1"
