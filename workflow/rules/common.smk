# Validation, shared names and input functions (no rules here). Kept cheap: every SLURM job
# re-parses it. Paths come from xstilts.grid, each job's settings from xstilts.settings.
import shlex

from snakemake.exceptions import WorkflowError
from snakemake.logging import logger

from xstilts import config as xconfig
from xstilts.analysis import studies as study_analyses
from xstilts import devices, explain, grid
from xstilts import settings as job_settings
from xstilts import workdir as studies
from xstilts.settings import slug as settings_slug

try:
    for (
        _file
    ) in workflow.configfiles:  # Snakemake's YAML loader keeps duplicated keys silently
        xconfig.read_yaml(_file)
    CFG = study_analyses.validate(xconfig.validate(config))
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
    REGISTERED = studies.read()
    if workflow.is_main_process:
        studies.check(CFG, workflow.configfiles, registry=REGISTERED)
        # local files' first rows and the study's prerequisites, as `xstilts validate` (once,
        # not in every job)
        xconfig.check_data(CFG)
        for _warning in study_analyses.needs(CFG):
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


def job_settings_json(build):
    """A params function: the job's own config slice as sorted JSON (Snakemake compares it)."""
    return lambda w: xconfig.slice_json(build(CFG, **w))


def runtime_args(evaluation=False):
    """Arguments that do not decide a result: where the data lies, the optional model inputs,
    the evaluation batch size. A param function that takes `input` is a derived param, which
    Snakemake leaves out of its staleness check: moving the mirror reruns nothing."""
    runtime = job_settings.runtime(CFG)

    optional = (
        {"model": "--model", "dev": "--dev-data", "pool": "--pool"}
        if evaluation
        else {"encoder": "--encoder"}
    )

    def args(w, input):
        found = {"--mirror": runtime["mirror"], "--ccgbank": runtime["ccgbank"]}
        found.update({f: input[k] for k, f in optional.items() if k in input.keys()})
        if evaluation:
            found["--batch-size"] = runtime["eval_batch_size"]
        parts = [
            f"{flag} {' '.join(shlex.quote(str(x)) for x in (v if isinstance(v, list) else [v]))}"
            for flag, v in found.items()
            if v
        ]
        if evaluation and runtime["warm_process"]:
            parts.append("--warm")
        return " ".join(parts)

    return args


def model_resources(key):
    return lambda w: CFG["models"][w.model]["resources"][key]


def eval_gpus(w):
    """GPU slots an evaluation job asks for: one at most, whatever its model trains on."""
    return devices.held_slots("evaluate", CFG["models"][w.model]["resources"]["gpus"])


def eval_runtime(n_languages):
    """Minutes an evaluation job asks for: `eval_runtime` per language it scores."""
    return lambda w: n_languages * CFG["models"][w.model]["resources"]["eval_runtime"]


def embedded_for_model(model):
    """The embedded build's logs a job of this model waits for (none without embedded)."""
    m = CFG["models"][model]
    return grid.embedded_inputs(CFG, m["hub_id"], m.get("tokenizer") or m["hub_id"])


def embedded_for_tokenizer(w):
    """A prepare job waits for the model whose tokenizer it uses (w.tokenizer is its slug)."""
    return grid.embedded_inputs(
        CFG,
        *(
            h
            for h in (CFG["embedded"] or {}).get("extra_models", {})
            if settings_slug(h) == w.tokenizer
        ),
    )


def intermediate_inputs(w):
    return {
        **grid.intermediate_inputs(CFG, w.model, w.recipe),
        "embedded": embedded_for_model(w.model),
    }


def finetune_inputs(w):
    """A stage trains its chain's last task (English) from the previous stage or the encoder."""
    return {
        **grid.finetune_inputs(CFG, w.model, w.recipe, w.task, w.seed),
        "embedded": embedded_for_model(w.model),
    }


def evaluation_inputs(target, languages):
    """An input function of evaluate_<target>: its languages' splits, and the model."""
    return lambda w: {
        **grid.evaluation_group_inputs(
            CFG, w.model, w.recipe, target, w.seed, languages
        ),
        "embedded": embedded_for_model(w.model),
    }


def evaluation_settings(target):
    """A params function: the evaluation job's settings (its cells' without the language)."""
    return lambda w: xconfig.slice_json(
        job_settings.evaluate_group(CFG, w.model, w.recipe, target, w.seed)
    )


onstart:
    try:
        xconfig.preflight(CFG)
        # a real run only: dry runs claim nothing
        studies.register(CFG, workflow.configfiles)
    except xconfig.ConfigError as error:
        raise WorkflowError(f"xstilts: {error}") from None
