# Analysis and HTML report: results/scores.parquet -> reports/ (tables, typology, figures).
# Included from the top-level Snakefile, which defines TARGETS (target task names in the config).
# Config (optional): analysis: {n_resamples: int, seed: int, alpha: float, confidence: float}.
# Only the `analysis` slice is a param, serialised with sorted keys, so that unrelated config
# changes do not rerun these rules. `snakemake --report reports/report.html` collects the
# outputs marked report().
import json

ANALYSIS_SCORES = "results/scores.parquet"
ANALYSIS_OUT = "reports"
ANALYSIS_PARAMS = json.dumps(config.get("analysis", {}), sort_keys=True)


def report_outputs(targets=None):
    """Every file the analysis rules produce, for the Snakefile's `rule all`."""
    targets = list(TARGETS if targets is None else targets)
    tables = [f"{ANALYSIS_OUT}/{name}" for name in
              ("gains.md", "gains.csv", "best_per_target.md", "best_per_target.csv")]
    per_target = [f"{ANALYSIS_OUT}/targets/{t}.{ext}" for t in targets for ext in ("md", "csv")]
    typology = [f"{ANALYSIS_OUT}/typology/{name}.csv" for name in ("distances", "language_gains", "correlations")]
    figures = [f"{ANALYSIS_OUT}/figures/typology_{t}.png" for t in targets]
    return tables + per_target + typology + figures + [f"{ANALYSIS_OUT}/figures/typology_heatmap.png"]


rule analysis_tables:
    input:
        ANALYSIS_SCORES,
    output:
        gains_md=report(f"{ANALYSIS_OUT}/gains.md", caption="../report/gains.rst", category="1. Gain tables"),
        gains_csv=report(f"{ANALYSIS_OUT}/gains.csv", caption="../report/gains.rst", category="1. Gain tables"),
        best_md=report(f"{ANALYSIS_OUT}/best_per_target.md", caption="../report/best.rst",
                       category="1. Gain tables"),
        best_csv=f"{ANALYSIS_OUT}/best_per_target.csv",
        per_target_md=report(expand(f"{ANALYSIS_OUT}/targets/{{target}}.md", target=TARGETS),
                             caption="../report/target_table.rst", category="2. Per-target tables"),
        per_target_csv=expand(f"{ANALYSIS_OUT}/targets/{{target}}.csv", target=TARGETS),
    log:
        f"{ANALYSIS_OUT}/logs/tables.log",
    shell:
        "xstilts tables --scores {input:q} --out {ANALYSIS_OUT} --targets {TARGETS} > {log:q} 2>&1"


rule analysis_typology:
    input:
        ANALYSIS_SCORES,
    output:
        distances=report(f"{ANALYSIS_OUT}/typology/distances.csv", caption="../report/distances.rst",
                         category="3. Typology"),
        gains=f"{ANALYSIS_OUT}/typology/language_gains.csv",
        correlations=report(f"{ANALYSIS_OUT}/typology/correlations.csv", caption="../report/correlations.rst",
                            category="3. Typology"),
    params:
        analysis=ANALYSIS_PARAMS,
    log:
        f"{ANALYSIS_OUT}/logs/typology.log",
    shell:
        "xstilts typology --scores {input:q} --out {ANALYSIS_OUT} --analysis-config {params.analysis:q}"
        " > {log:q} 2>&1"


rule analysis_figures:
    input:
        gains=rules.analysis_typology.output.gains,
        correlations=rules.analysis_typology.output.correlations,
    output:
        per_target=report(expand(f"{ANALYSIS_OUT}/figures/typology_{{target}}.png", target=TARGETS),
                          caption="../report/typology_figure.rst", category="4. Typology figures"),
        heatmap=report(f"{ANALYSIS_OUT}/figures/typology_heatmap.png", caption="../report/heatmap.rst",
                       category="4. Typology figures"),
    params:
        analysis=ANALYSIS_PARAMS,
    log:
        f"{ANALYSIS_OUT}/logs/figures.log",
    shell:
        "xstilts typology-figures --out {ANALYSIS_OUT} --targets {TARGETS} --analysis-config {params.analysis:q}"
        " > {log:q} 2>&1"

