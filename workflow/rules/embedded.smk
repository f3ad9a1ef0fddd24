# The offline embedded default: a synthetic hub mirror and a tiny model pretrained on it.
import re

if CFG["embedded"]:
    # the directory the build logs sit in: a location, so a derived param (it takes output)
    # that Snakemake does not compare
    EMBEDDED_MIRROR = lambda w, output: grid.location(MIRROR)

    rule embedded_hub:
        output:
            EMBEDDED[0],
        log:
            grid.embedded_log("hub"),
        conda:
            ENV
        params:
            mirror=EMBEDDED_MIRROR,
            settings=job_settings_json("embedded-hub"),
        shell:
            "xstilts embedded-hub --mirror {params.mirror:q} --settings {params.settings:q}"
            " > {log:q} 2>&1 && cp {log:q} {output:q}"

    rule embedded_model:
        input:
            EMBEDDED[0],
        output:
            EMBEDDED[1],
        log:
            grid.embedded_log("model"),
        conda:
            ENV
        threads: 1  # the build pins one thread: identical weights on every machine
        params:
            mirror=EMBEDDED_MIRROR,
            settings=job_settings_json("embedded-model"),
        shell:
            "OMP_NUM_THREADS={threads} xstilts embedded-model --mirror {params.mirror:q}"
            " --settings {params.settings:q} > {log:q} 2>&1 && cp {log:q} {output:q}"

    # embedded.extra_models: one job and build log per model, so that adding a model reruns
    # nothing that reads the others (jobs wait for their own model's log: grid.embedded_inputs)
    EXTRA_MODELS = [
        j.keys["extra"] for j in jobs.embedded(CFG) if j.stage == "embedded-extra"
    ]
    if EXTRA_MODELS:

        rule embedded_extra_model:
            input:
                EMBEDDED[0],
            output:
                grid.embedded_extra_marker(MIRROR, "{extra}"),
            log:
                grid.embedded_log("model-{extra}"),
            wildcard_constraints:
                extra="|".join(map(re.escape, EXTRA_MODELS)),
            conda:
                ENV
            threads: 1  # as embedded_model: identical weights on every machine
            params:
                mirror=EMBEDDED_MIRROR,
                settings=job_settings_json("embedded-extra"),
            shell:
                "OMP_NUM_THREADS={threads} xstilts embedded-model --mirror {params.mirror:q}"
                " --settings {params.settings:q} > {log:q} 2>&1 && cp {log:q} {output:q}"
