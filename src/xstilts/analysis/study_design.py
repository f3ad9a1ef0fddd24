"""The smallest designs the study analyses can answer. A study's `needs` warns below them
before any job runs (`xstilts validate`, the Snakefile's main process), and its analysis reports
"not identifiable" below them; both read them here."""

MIN_LANGUAGES = 4  # below this a rank correlation and its bootstrap say nothing (typology)
MIN_TASKS = 4  # difficulty correlates over intermediate tasks
MIN_K = 4  # language-count: three curve parameters need four distinct k
