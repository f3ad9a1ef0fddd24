# Validation, shared names and input functions (no rules here). Kept cheap: every SLURM job
# re-parses it. Path patterns come from xstilts.grid; each job (its inputs, settings, runtime
# flags, resources) from xstilts.jobs, built once on first use.
from snakemake.exceptions import WorkflowError
from snakemake.logging import logger

from xstilts import config as xconfig
from xstilts import explain, grid, jobs, shared_workdir
from xstilts.analysis import studies

try:
    for (
        _file
    ) in workflow.configfiles:  # Snakemake's YAML loader keeps duplicated keys silently
        xconfig.read_yaml(_file)
    CFG = studies.validate(xconfig.validate(config))
except xconfig.ConfigError as error:
    raise WorkflowError(f"xstilts: {error}") from None
try:  # paths this machine lacks: dry runs and --lint say so, a real run stops (onstart)
    xconfig.preflight(CFG)
except xconfig.ConfigError as error:
    logger.warning(f"xstilts: warning: a run would stop before its first job: {error}")
# settings that no job can use, as `xstilts validate` reports them
for _warning in explain.unreachable(CFG, config):
    logger.warning(f"xstilts: warning: {_warning}")

# Studies sharing this workdir: a name or shared job another study defined otherwise is refused
# here, before any job (every SLURM job re-parses: the scheduler's parse checked already).
try:
    REGISTERED = shared_workdir.read()
    if workflow.is_main_process:
        shared_workdir.check(CFG, workflow.configfiles, registry=REGISTERED)
        # local files' first rows and the study's prerequisites, as `xstilts validate` (once,
        # not in every job)
        xconfig.check_data(CFG)
        for _warning in studies.needs(CFG):
            logger.warning(f"xstilts: warning: {_warning}")
except xconfig.ConfigError as error:
    raise WorkflowError(f"xstilts: {error}") from None

TARGETS = list(CFG["targets"])
# a study's aggregates under results/studies/<name>/, else at the top of results/ and reports/
AGG = grid.aggregates(CFG)
STUDY = grid.study_name(CFG)
ENV = "../../envs/xstilts.yaml"  # conda: used with --sdm conda; pip installs need none
MIRROR = CFG["hub"]["mirror"]
EMBEDDED = (
    grid.embedded_markers(MIRROR) if CFG["embedded"] else []
)  # inputs of every job


wildcard_constraints:
    model="[^/]+",
    recipe="[^/]+",
    seed=r"\d+",
    task="[^/]+",
    target="[^/]+",
    language="[^/]+",
    tokenizer="[^/]+",
    split="train|dev|test",


JOBS = jobs.Jobs(CFG)


def job_of(stage, **fixed):
    """The rule's job (an evaluate rule: its target and block of languages are `fixed`)."""
    return lambda w: JOBS.get(stage, **fixed, **w)


def job_inputs(stage, **fixed):
    """An input function: the job's inputs, named as the shell command reads them."""
    return lambda w: job_of(stage, **fixed)(w).inputs


def job_settings_json(stage, **fixed):
    """A params function: the job's own config slice as sorted JSON (Snakemake compares it)."""
    return lambda w: xconfig.slice_json(job_of(stage, **fixed)(w).settings)


def job_resource(stage, key, **fixed):
    return lambda w: job_of(stage, **fixed)(w).resources[key]


def runtime_args(stage, **fixed):
    """Arguments that do not decide a result (xstilts.settings.Runtime, and the optional model
    inputs). A param function that takes `input` is a derived param, which Snakemake leaves
    out of its staleness check: moving the mirror reruns nothing."""
    return lambda w, input: job_of(stage, **fixed)(w).runtime_args


onstart:
    try:
        xconfig.preflight(CFG)
        # a real run only: dry runs claim nothing
        shared_workdir.register(CFG, workflow.configfiles)
    except xconfig.ConfigError as error:
        raise WorkflowError(f"xstilts: {error}") from None
