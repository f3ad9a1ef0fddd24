# The offline embedded default: a synthetic hub mirror and a tiny model pretrained on it.
if CFG["embedded"]:

    rule embedded_hub:
        output:
            f"{MIRROR}/.xstilts-hub.json",
        params:
            settings=xconfig.slice_json(
                {k: v for k, v in CFG["embedded"].items() if k != "model"}
            ),
        log:
            "logs/embedded/hub.log",
        shell:
            "xstilts embedded-hub --mirror {MIRROR} --settings {params.settings:q} > {log} 2>&1"
            " && cp {log} {output}"

    rule embedded_model:
        input:
            rules.embedded_hub.output,
        output:
            f"{MIRROR}/.xstilts-model.json",
        params:
            settings=xconfig.slice_json(
                {
                    "repo_id": next(iter(CFG["models"].values()))["hub_id"],
                    "seed": CFG["embedded"]["seed"],
                    "model": CFG["embedded"]["model"],
                }
            ),
        threads: 1  # the build pins one thread: identical weights on every machine
        log:
            "logs/embedded/model.log",
        shell:
            "OMP_NUM_THREADS={threads} xstilts embedded-model --mirror {MIRROR}"
            " --settings {params.settings:q} > {log} 2>&1 && cp {log} {output}"
