"""The smallest designs the study analyses can answer. Config validation warns below them
before any job runs, and the analyses report "not identifiable" below them; both read them
here, so the core never imports the analysis layer."""

MIN_LANGUAGES = 4  # below this a rank correlation and its bootstrap say nothing (typology)
MIN_TASKS = 4  # difficulty correlates over intermediate tasks
MIN_K = 4  # language-count: three curve parameters need four distinct k
