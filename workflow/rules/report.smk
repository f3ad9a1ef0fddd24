# Analysis and HTML report: results/scores.parquet -> reports/ (tables, typology, figures,
# costs). Only the validated `analysis` slice is a param, so unrelated config changes do not
# rerun these rules. `snakemake --report reports/report.html` collects the report() outputs.

import os

TABLES = grid.table_outputs(TARGETS, AGG.reports)
TYPOLOGY = grid.typology_outputs(AGG.reports)
FIGURES = grid.figure_outputs(TARGETS, AGG.reports)


rule analysis_tables:
    input:
        AGG.scores,
    output:
        gains_md=report(
            TABLES["gains_md"],
            caption="../report/gains.rst",
            category="1. Gain tables",
        ),
        gains_csv=report(
            TABLES["gains_csv"],
            caption="../report/gains.rst",
            category="1. Gain tables",
        ),
        best_md=report(
            TABLES["best_md"], caption="../report/best.rst", category="1. Gain tables"
        ),
        best_csv=TABLES["best_csv"],
        per_target_md=report(
            TABLES["per_target_md"],
            caption="../report/target_table.rst",
            category="2. Per-target tables",
        ),
        per_target_csv=TABLES["per_target_csv"],
    log:
        AGG.analysis_log("tables"),
    conda:
        ENV
    params:
        out=lambda w, output: AGG.reports,
        targets=sorted(TARGETS),  # compared as a list: config order must not rerun
    shell:
        "xstilts tables --scores {input:q} --out {params.out:q} --targets {params.targets:q}"
        " > {log:q} 2>&1"


rule analysis_typology:
    input:
        AGG.scores,
    output:
        distances=report(
            TYPOLOGY["distances"],
            caption="../report/distances.rst",
            category="3. Typology",
        ),
        gains=TYPOLOGY["language_gains"],
        correlations=report(
            TYPOLOGY["correlations"],
            caption="../report/correlations.rst",
            category="3. Typology",
        ),
        claims=TYPOLOGY["claims"],
        claims_md=report(
            TYPOLOGY["claims_md"],
            caption="../report/claims.rst",
            category="3. Typology",
        ),
    log:
        AGG.analysis_log("typology"),
    conda:
        ENV
    params:
        out=lambda w, output: AGG.reports,
        analysis=xconfig.slice_json(CFG["analysis"]),
    shell:
        "xstilts typology --scores {input:q} --out {params.out:q}"
        " --analysis-config {params.analysis:q} > {log:q} 2>&1"


rule analysis_figures:
    input:
        gains=TYPOLOGY["language_gains"],
        correlations=TYPOLOGY["correlations"],
    output:
        per_target=report(
            FIGURES["per_target"],
            caption="../report/typology_figure.rst",
            category="4. Typology figures",
        ),
        heatmap=report(
            FIGURES["heatmap"],
            caption="../report/heatmap.rst",
            category="4. Typology figures",
        ),
    log:
        AGG.analysis_log("figures"),
    conda:
        ENV
    params:
        out=lambda w, output: AGG.reports,
        targets=sorted(TARGETS),  # compared as a list: config order must not rerun
        analysis=xconfig.slice_json(CFG["analysis"]),
    shell:
        "xstilts typology-figures --out {params.out:q} --targets {params.targets:q}"
        " --analysis-config {params.analysis:q} > {log:q} 2>&1"


rule costs:
    """Compute spent: GPU-hours per recipe and per target from every job's benchmark file."""
    input:
        AGG.scores,  # after every job of the grid
    output:
        report(AGG.costs, caption="../report/costs.rst", category="5. Costs"),
        AGG.costs_jobs,
    log:
        AGG.costs_log,
    conda:
        ENV
    params:
        gpus={m: v["resources"]["gpus"] for m, v in CFG["models"].items()},
    run:
        from xstilts import results

        results.costs(jobs.benchmarks(jobs.table(CFG)), params.gpus, AGG.reports)


# A study's own analysis (`study.name`; typology's summarises the tests of the analysis above):
# xstilts study <name> writes reports/studies/<name>/, and the HTML report shows it under
# "Studies" with the caption the analysis wrote (its question, answer and uncertainty). What
# it reads besides the scores, and the steps that make it, the study declares
# (xstilts.analysis.studies: inputs, steps).
if STUDY:
    for step in studies.steps(CFG, AGG):

        rule:
            name:
                step.rule
            input:
                step.inputs,
            output:
                step.output,
            log:
                step.log,
            localrule: True
            conda:
                ENV
            params:
                **{key: xconfig.slice_json(value) for key, value in step.args.items()},
            shell:
                f"xstilts {step.command} "
                + " ".join(f"--{key} {{params.{key}:q}}" for key in step.args)
                + " --out {output:q} > {log:q} 2>&1"

    # absolute: Snakemake reads a caption relative to this file, this one is in the workdir
    STUDY_CAPTION = os.path.abspath(studies.caption(CFG))
    STUDY_INPUTS = studies.inputs(CFG, AGG)

    rule study:
        input:
            **{"scores": AGG.scores, **STUDY_INPUTS},  # the scores first, as before
        output:
            [
                report(
                    f,
                    caption=STUDY_CAPTION,
                    category="Studies",
                    subcategory=STUDY,
                )
                for f in studies.workflow_outputs(CFG)
            ],
        log:
            AGG.analysis_log("study"),
        localrule: True
        conda:
            ENV
        params:
            study=STUDY,
            # derived (takes output): left out of the staleness check, as before
            out=lambda w, output: grid.REPORTS,
            options=studies.command_options(CFG),
            # n_resamples left to the study's lighter default (it refits per resample)
            analysis=xconfig.slice_json(
                {k: CFG["analysis"][k] for k in ("seed", "confidence", "alpha")}
            ),
            tables=lambda w, input: " ".join(
                f"--{name} {input[name]}" for name in STUDY_INPUTS
            ),
        shell:
            "xstilts study {params.study} --scores {input.scores:q} --out {params.out:q}"
            " --analysis-config {params.analysis:q} {params.tables} {params.options}"
            " > {log:q} 2>&1"
