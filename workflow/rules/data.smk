# Load and tokenize each split once per tokenizer x task x language; every cell shares it.


rule prepare:
    input:
        EMBEDDED,
    output:
        directory(grid.DATA),
    params:
        settings=settings("prepare"),
    log:
        "logs/prepare/{tokenizer}/{task}/{language}/{split}.log",
    shell:
        "OMP_NUM_THREADS=1 xstilts prepare --settings {params.settings:q} --out {output} > {log} 2>&1"
