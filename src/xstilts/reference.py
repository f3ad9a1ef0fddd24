"""docs/config.md, generated from config.schema.yaml (`xstilts config-reference`; CI runs it
with --check), and the full task records of `xstilts tasks NAME` / `--full`."""

from __future__ import annotations

import json

import yaml

from xstilts import config
from xstilts.pretrained import RETRIEVAL_LAYERS
from xstilts.tasks import TASKS

# Keys without a schema default: an example value for the reference.
EXAMPLES = {
    "models": {"xlmr": {"hub_id": "FacebookAI/xlm-roberta-large"}},
    "models.<name>.hub_id": "FacebookAI/xlm-roberta-large",
    "models.<name>.tokenizer": "FacebookAI/xlm-roberta-large",
    "models.<name>.retrieval_layer": 14,
    "recipes": ["none", "mnli", {"name": "nli2", "tasks": ["mnli", "anli_plus"]}],
    "recipes[].name": "nli2",
    "recipes[].tasks": ["mnli", {"task": "squad_v1", "language": "en"}],
    "recipes[]": {"name": "nli2", "tasks": ["mnli", "anli_plus"]},
    "recipes[].tasks[]": "mnli",
    "recipes[].tasks[].task": "mnli",
    "cap": 20000,
    "mirror": "/shared/hub",
    "ccgbank": "/data/ccgbank",
    "max_examples": 1000,
    "retrieval_layer": 14,
    "recipes[].sampling": {"cap": 20000},
    "recipes[].training": {"lr": 2.0e-5, "max_train_examples": 50000},
    "sources": {"mnli": {"de": {"train": "data/mnli_de/train.jsonl", "dev": "data/mnli_de/dev.jsonl"}}},
    "sources.<task>": {"de": {"train": "data/mnli_de/train.jsonl", "dev": "data/mnli_de/dev.jsonl"}},
    "sources.<task>.<language>": {
        "hub_id": "klue/klue",
        "config": "nli",
        "splits": {"train": "train", "dev": "validation"},
    },
    "sources.<task>.<language>.train": "data/mnli_de/train.jsonl",
    "sources.<task>.<language>.dev": "data/mnli_de/dev.jsonl",
    "sources.<task>.<language>.hub_id": "klue/klue",
    "sources.<task>.<language>.config": "nli",
    "sources.<task>.<language>.revision": "v1.0",
    "sources.<task>.<language>.splits": {"train": "train", "dev": "validation"},
    "sources.<task>.<language>.splits.train": "train",
    "sources.<task>.<language>.splits.dev": "validation",
    "sources.<task>.<language>.columns": {"text_a": "premise", "text_b": "hypothesis"},
    "sources.<task>.<language>.labels": {0: "entailment", 1: "neutral", 2: "contradiction"},
    "sources.<task>.<language>.min_examples": 1000,
    "targets": {"xnli": ["en", "de", "sw"], "udpos": ["fi"]},
    "targets.<name>": ["en", "de"],
    "embedded": {"languages": ["en", "de"], "seed": 0, "size": "tiny", "model": {}},
    "embedded.languages": ["en", "de", "zh"],
    "tasks": {"udpos": {"epochs": 5}, "squad_v1": {"max_length": 512}},
    "tasks.<name>.max_length": 256,
    "tasks.<name>.doc_stride": 128,
    "lr": 1.0e-5,
    "adam_eps": 1.0e-8,
    "weight_decay": 0.01,
    "max_grad_norm": 1.0,
    "warmup_ratio": 0.1,
    "epochs": 3,
    "max_steps": 2000,
    "batch_size": 32,
    "grad_accum": 2,
    "max_train_examples": 100000,
    "finetune": "lora",
    "lora": {"r": 8},
    "checkpoint_every": 500,
    "early_stopping": {"every": 1000, "patience": 30},
}

WORKED = [
    (
        "A custom recipe with its own learning rate and example cap",
        """models: {xlmr: {hub_id: FacebookAI/xlm-roberta-large}}
recipes:
  - none
  - {name: mnli_small, tasks: [mnli], training: {lr: 2.0e-5, max_train_examples: 50000}}
targets: {xnli: [en, de, sw]}""",
    ),
    (
        "Per-recipe overrides (the recipe's `training` is the top layer; a multi-task recipe's "
        "`sampling` replaces the top-level block)",
        """models: {xlmr: {hub_id: FacebookAI/xlm-roberta-large}}
recipes:
  - none
  - mnli
  - {name: qa2, tasks: [squad_v1, squad_v2], sampling: {cap: 20000}, training: {epochs: 1}}
intermediate: {lr: 1.0e-5}
tasks: {mnli: {lr: 2.0e-5}}   # wins over intermediate.lr for the mnli recipe
targets: {xquad: [en, de]}""",
    ),
    (
        "Several models that share a tokenizer (tokenized data is made once per tokenizer)",
        """models:
  xlmr: {hub_id: FacebookAI/xlm-roberta-large}
  xlmr-mine: {hub_id: my-org/xlmr-continued, tokenizer: FacebookAI/xlm-roberta-large, retrieval_layer: 14}
recipes: [none, mnli]
targets: {xnli: [en, de], tatoeba: [de]}""",
    ),
    (
        "Several seeds (a list: `seeds: 3` is one seed's number, not a count)",
        """models: {xlmr: {hub_id: FacebookAI/xlm-roberta-large}}
recipes: [none, mnli]
targets: {pawsx: [de, fr]}
seeds: [0, 1, 2]""",
    ),
    (
        "A SLURM partition and account: these are profile settings, not config keys "
        "(profiles/slurm/config.yaml, `default-resources`); per-model job sizes are config keys",
        """models:
  xlmr:
    hub_id: FacebookAI/xlm-roberta-large
    resources: {train_runtime: 1440, train_mem_mb: 64000, eval_runtime: 20, gpus: 1, cpus: 8}
recipes: [none, mnli]
targets: {xnli: [en, de]}
# profiles/slurm/config.yaml:
#   default-resources: {slurm_partition: gpu, slurm_account: my-project}""",
    ),
    (
        "A study grid on XTREME-R (configs/studies/ holds one per research question, each with "
        "a tiny offline twin)",
        """study: {name: source-language}
benchmark: xtreme-r
models: {xlmr: {hub_id: FacebookAI/xlm-roberta-large}}
recipes:
  - none
  - mnli
  - {family: sources, task: mnli, languages: [de, ru]}
targets: {udpos: [fi], tydiqa: [fi]}
seeds: [0, 1, 2]""",
    ),
]

SCORES = [
    ("model", "string", "the models.<name> key"),
    ("recipe", "string", "recipe name (`none` = baseline)"),
    ("target", "string", "XTREME target task"),
    ("language", "string", "ISO 639-1 code evaluated"),
    ("seed", "int64", "seed of the cell"),
    ("metric", "string", "metric name (accuracy, f1, exact_match, ...)"),
    ("value", "float64", "score (0-100)"),
    ("primary", "bool", "true for the target's headline metric (`xstilts tasks NAME`)"),
]


def _type(node: dict) -> str:
    if "enum" in node:
        return " \\| ".join(f"`{v}`" for v in node["enum"])
    kind = node.get("type", "any")
    return " or ".join(kind) if isinstance(kind, list) else kind


def _resolve(node: dict, root: dict) -> dict:
    if "$ref" in node:
        target = root
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        return {**_resolve(target, root), **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def _flow(value) -> str:
    return yaml.safe_dump(value, default_flow_style=True, width=200).strip().removesuffix("...").strip()


def _rows(node: dict, root: dict, path: str, training: str | None = None) -> list[tuple]:
    node = _resolve(node, root)
    rows = []
    short = path.rsplit(".", 1)[-1].removesuffix("[]")
    default = node.get("default", "")
    if training and short in root["x-training-defaults"]["common"]:
        default = root["x-training-defaults"]["common"][short]
    example = EXAMPLES.get(path, EXAMPLES.get(short, default if default != "" else None))
    if path:
        rows.append(
            (
                f"`{path}`",
                _type(node),
                "" if default == "" else f"`{_flow(default)}`",
                (node.get("description") or "").replace("|", "\\|"),
                ""
                if example is None
                else f"`{'- ' if path.endswith('[]') else short + ': '}{_flow(example)}`",
            )
        )
    for key, sub in node.get("properties", {}).items():
        if key == "<<":
            continue
        rows += _rows(sub, root, f"{path}.{key}" if path else key, training)
    extra = node.get("additionalProperties")
    if isinstance(extra, dict):
        rows += _rows(extra, root, f"{path}.{extra.get('x-name', '<name>')}", training)
    items = node.get("items")
    if isinstance(items, dict) and "properties" in items:
        rows += _rows(items, root, f"{path}[]", training)
    if isinstance(items, dict) and "then" in items:  # if/then/else: a recipe, or a recipe family
        rows += _rows({**items, **items["else"]}, root, f"{path}[]", training)
        rows += _rows(items["then"], root, f"{path}[family]", training)
    return rows


def render(root: dict | None = None) -> str:
    """The reference of `root` (the config schema; the CLI passes it with every study's
    options, which their modules declare: xstilts.analysis.studies.reference_schema)."""
    root = root or config.schema()
    rows = []
    for key, node in root["properties"].items():
        rows += _rows(
            node, root, key, training="training" in json.dumps(node.get("$ref", "")) or key == "tasks"
        )
    defaults = root["x-training-defaults"]
    out = [
        "# Config reference",
        "",
        "<!-- generated by `xstilts config-reference` from src/xstilts/config.schema.yaml and the "
        "studies' options; "
        "CI fails when it is stale (`xstilts config-reference --check`). Do not edit. -->",
        "",
        "Every key of a grid config, its type, default and an example. `xstilts validate "
        "--config FILE` checks a config and warns about settings that can never take effect; "
        "`xstilts show --config FILE JOB` prints one job's resolved settings and where each "
        "came from.",
        "",
        "## Keys",
        "",
        "| key | type | default | meaning | example |",
        "|---|---|---|---|---|",
    ]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    out += [
        "",
        "The training keys (`intermediate`, `finetune`, `tasks.<name>`, `recipes[].training`) "
        "have no default in their block: a block holds only what you override. Their lowest "
        "layer is `x-training-defaults` in the schema (shown in the default column):",
        "",
        f"- every training: `{_flow(defaults['common'])}`",
        f"- fine-tuning on a target also: `{_flow(defaults['finetune'])}`",
        "",
        "## Precedence (one rule)",
        "",
        "Training settings stack in this order, highest last:",
        "",
        "1. `x-training-defaults` in the schema",
        "2. the task registry (`xstilts tasks NAME`, docs/science.md section 4)",
        "3. the phase block: `intermediate` (phase 2) or `finetune` (phase 3)",
        "4. `tasks.<task>`: for every training of that task, in either phase",
        "5. a custom recipe's `training` (intermediate training only)",
        "",
        "`lora` and `early_stopping` merge key by key. A multi-task recipe takes from layers 2 "
        "and 4 only the keys all its tasks agree on. Tokenization (`max_length`, `doc_stride`) "
        "is per task: registry < `tasks.<task>`, capped by `data.max_length` (`doc_stride` by "
        "half of it). `xstilts validate` warns, naming both keys, about a setting that can "
        "never take effect: a phase-block key that `tasks.<task>` or recipes override for "
        "every job of that phase, a `tasks.<task>` key of a task the grid never trains, one "
        "lost in a multi-task recipe whose tasks disagree, one above the `data.max_length` cap.",
        "",
        "## Worked examples",
        "",
    ]
    for title, text in WORKED:
        out += [f"### {title}", "", "```yaml", text, "```", ""]
    out += [
        "## Retrieval layer (bucc, tatoeba)",
        "",
        "Retrieval targets train nothing: they mean-pool one hidden state of the recipe's "
        "encoder. `models.<name>.retrieval_layer` chooses it (0 = the embeddings). Known hub ids "
        "take the reference value: "
        + ", ".join(f"`{k}` {v}" for k, v in RETRIEVAL_LAYERS.items())
        + " (XTREME: layer 14 of 24 for XLM-R large, 8 of 12 for base models). Any other model "
        "must set it when a retrieval target is in the grid; a layer beyond the model's depth "
        "is refused by `xstilts validate` when the depth is known (the embedded model, a "
        "mirror or cached `config.json`, a known hub id), and by the evaluation otherwise.",
        "",
        "## results/scores.parquet",
        "",
        "One row per cell x language x metric (long format):",
        "",
        "| column | type | meaning |",
        "|---|---|---|",
    ]
    out += [f"| `{c}` | {t} | {m} |" for c, t, m in SCORES]
    out += [
        "",
        "Each row comes from one cell JSON `results/<model>/<recipe>/seed<seed>/eval/<target>/"
        "<language>.json`, which also records the settings, the data and model revisions, "
        "the library versions and the device.",
        "",
    ]
    return "\n".join(out)


def _data_format(task) -> list[str]:
    """The canonical rows a task's data is turned into, and what a local source (`sources`)
    must hold: its columns, and its labels in index order."""
    from xstilts.local_data import CANONICAL

    columns = CANONICAL.get(task.format)
    if columns is None:
        return [f"  columns:   {task.format} rows (its hub data only: no local source has this format)"]
    lines = [f"  columns:   {' '.join(columns)}"]
    if task.labels and "label" in columns:
        lines.append("  labels:    " + ", ".join(f"{i} {name}" for i, name in enumerate(task.labels)))
    elif task.labels:
        lines.append(f"  tags:      {' '.join(task.labels)}")
    elif "label" in columns or "tags" in columns:
        lines.append("  labels:    read from the data (no fixed set)")
    if task.trainable:
        lines.append(
            f"  sources:   a local dataset (sources.{task.name}.<language>) holds these columns "
            f"(`columns` maps other names to them)"
            + (
                " and these label names or indices (`labels` maps other values)"
                if task.labels and "label" in columns
                else " and these tags"
                if task.labels
                else ""
            )
            + "; jsonl, parquet or a save_to_disk directory per split"
        )
    return lines


def task_details(name: str | None = None) -> str:
    """One task (or all) in full: role, format, source, metric, languages, defaults."""
    if name is not None and name not in TASKS:
        import difflib

        close = difflib.get_close_matches(name, TASKS, 1)
        raise config.ConfigError(
            f"unknown task {name!r}. Fix: {f'did you mean {close[0]}? ' if close else ''}"
            f"use one of {', '.join(TASKS)}."
        )
    from xstilts.settings import finetune_defaults, training_defaults

    blocks = []
    for task in [TASKS[name]] if name else TASKS.values():
        if task.role == "intermediate":
            defaults = {**training_defaults("intermediate"), **task.defaults}
        elif task.train_task:
            defaults = {**training_defaults("finetune"), **finetune_defaults(task.train_task)}
        else:
            defaults = {k: v for k, v in task.defaults.items() if k in config.DATA_KEYS}
        lines = [
            f"{task.name} ({task.role}, {task.format})",
            f"  source:    {task.source}",
            f"  repos:     {' '.join(task.repos) or '-'}"
            + ("  + CCGbank (hub.ccgbank)" if task.ccgbank else ""),
            f"  metric:    {task.metric}" + (f" (category {task.category})" if task.category else ""),
            f"  languages: {' '.join(task.languages)} ({len(task.languages)})",
        ]
        if task.role == "target":
            lines.append(f"  trains on: {task.train_task or 'nothing (retrieval: reads the encoder as is)'}")
            lines.append(f"  splits:    {' '.join(task.eval_splits)}")
        lines += _data_format(task)
        lines.append("  defaults:  " + ", ".join(f"{k}={json.dumps(v)}" for k, v in defaults.items()))
        if task.caveat:
            lines.append(f"  note:      {task.caveat}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)
