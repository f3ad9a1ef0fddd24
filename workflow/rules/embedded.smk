# The offline embedded default: a synthetic hub mirror and a tiny model pretrained on it.
import os

if CFG["embedded"]:

    rule embedded_hub:
        output:
            EMBEDDED[0],
        log:
            f"{grid.LOGS}/embedded/hub.log",
        conda:
            ENV
        params:
            mirror=lambda w, output: os.path.dirname(output[0]),
            settings=xconfig.slice_json(job_settings.embedded_hub(CFG)),
        shell:
            "xstilts embedded-hub --mirror {params.mirror:q} --settings {params.settings:q}"
            " > {log:q} 2>&1 && cp {log:q} {output:q}"

    rule embedded_model:
        input:
            EMBEDDED[0],
        output:
            EMBEDDED[1],
        log:
            f"{grid.LOGS}/embedded/model.log",
        conda:
            ENV
        threads: 1  # the build pins one thread: identical weights on every machine
        params:
            mirror=lambda w, output: os.path.dirname(output[0]),
            settings=xconfig.slice_json(job_settings.embedded_model(CFG)),
        shell:
            "OMP_NUM_THREADS={threads} xstilts embedded-model --mirror {params.mirror:q}"
            " --settings {params.settings:q} > {log:q} 2>&1 && cp {log:q} {output:q}"
