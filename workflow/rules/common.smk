# Validation, shared names and input functions. Kept cheap: every SLURM job re-parses it.
from pathlib import Path

from snakemake.exceptions import WorkflowError

from xstilts import config as xconfig
from xstilts import grid
from xstilts import tasks as registry

try:
    for _file in workflow.configfiles:  # Snakemake's YAML loader keeps duplicated keys silently
        xconfig.read_yaml(_file)
    CFG = xconfig.validate(config)
    xconfig.preflight(CFG)  # at parse time: dry runs report a missing mirror or CCGbank too
except xconfig.ConfigError as error:
    raise WorkflowError(f"xstilts: {error}") from None

TARGETS = list(CFG["targets"])
MIRROR = CFG["hub"]["mirror"]
EMBEDDED = (
    [f"{MIRROR}/.xstilts-hub.json", f"{MIRROR}/.xstilts-model.json"] if CFG["embedded"] else []
)


wildcard_constraints:
    model="[^/]+",
    recipe="[^/]+",
    seed=r"\d+",
    task="[^/]+",
    target="[^/]+",
    language="[^/]+",
    tokenizer="[^/]+",
    split="train|dev|test",


def settings(kind):
    """A params function: the job's own config slice as sorted JSON (Snakemake compares it)."""
    build = getattr(grid, f"{kind}_settings")
    return lambda w: xconfig.slice_json(build(CFG, **w))


def model_resources(key):
    return lambda w: CFG["models"][w.model]["resources"][key]
