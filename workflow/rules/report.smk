# Analysis and HTML report: results/scores.parquet -> reports/ (tables, typology, figures,
# costs). Only the validated `analysis` slice is a param, so unrelated config changes do not
# rerun these rules. `snakemake --report reports/report.html` collects the report() outputs.

import os

TABLES = grid.table_outputs(TARGETS)
TYPOLOGY = grid.typology_outputs()
FIGURES = grid.figure_outputs(TARGETS)


rule analysis_tables:
    input:
        grid.SCORES,
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
        f"{grid.LOGS}/analysis/tables.log",
    conda:
        ENV
    params:
        out=lambda w, output: os.path.dirname(output.gains_md),
        targets=sorted(TARGETS),  # compared as a list: config order must not rerun
    shell:
        "xstilts tables --scores {input:q} --out {params.out:q} --targets {params.targets:q}"
        " > {log:q} 2>&1"


rule analysis_typology:
    input:
        grid.SCORES,
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
    log:
        f"{grid.LOGS}/analysis/typology.log",
    conda:
        ENV
    params:
        out=lambda w, output: os.path.dirname(os.path.dirname(output.distances)),
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
        f"{grid.LOGS}/analysis/figures.log",
    conda:
        ENV
    params:
        out=lambda w, output: os.path.dirname(os.path.dirname(output.heatmap)),
        targets=sorted(TARGETS),  # compared as a list: config order must not rerun
        analysis=xconfig.slice_json(CFG["analysis"]),
    shell:
        "xstilts typology-figures --out {params.out:q} --targets {params.targets:q}"
        " --analysis-config {params.analysis:q} > {log:q} 2>&1"


rule costs:
    """Compute spent: GPU-hours per recipe and per target from every job's benchmark file."""
    input:
        grid.SCORES,  # after every job of the grid
    output:
        report(grid.COSTS, caption="../report/costs.rst", category="5. Costs"),
        grid.COSTS_JOBS,
    log:
        f"{grid.LOGS}/costs.log",
    conda:
        ENV
    params:
        gpus={m: v["resources"]["gpus"] for m, v in CFG["models"].items()},
    run:
        from xstilts import results

        results.costs(grid.benchmarks(CFG), params.gpus, grid.REPORTS)
