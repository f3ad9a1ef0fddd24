"""xstilts: the X-STILTs grid (Phang et al. 2020) as a Snakemake workflow."""
