"""Analysis layer: gain tables, typology statistics and plots, the HTML report.

Input contract: ``results/scores.parquet`` with one row per
model x recipe x target x language x seed x metric (see ``tables.SCORE_COLUMNS``).
"""
