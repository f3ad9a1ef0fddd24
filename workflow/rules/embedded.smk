# The offline embedded default: a synthetic hub mirror and a tiny model pretrained on it.
import os
import re

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

    # embedded.extra_models: one job and build log per model, so that adding a model reruns
    # nothing that reads the others (jobs wait for their own model's log: grid.embedded_inputs)
    EXTRA_MODELS = {settings_slug(h): h for h in CFG["embedded"]["extra_models"]}
    if EXTRA_MODELS:

        rule embedded_extra_model:
            input:
                EMBEDDED[0],
            output:
                grid.embedded_extra_marker(MIRROR, "{extra}"),
            log:
                f"{grid.LOGS}/embedded/model-{{extra}}.log",
            wildcard_constraints:
                extra="|".join(map(re.escape, EXTRA_MODELS)),
            conda:
                ENV
            threads: 1  # as embedded_model: identical weights on every machine
            params:
                mirror=lambda w, output: os.path.dirname(output[0]),
                settings=lambda w: xconfig.slice_json(
                    {
                        "repo_id": EXTRA_MODELS[w.extra],
                        "seed": CFG["embedded"]["seed"],
                        "model": CFG["embedded"]["extra_models"][
                            EXTRA_MODELS[w.extra]
                        ],
                    }
                ),
            shell:
                "OMP_NUM_THREADS={threads} xstilts embedded-model --mirror {params.mirror:q}"
                " --settings {params.settings:q} > {log:q} 2>&1 && cp {log:q} {output:q}"
