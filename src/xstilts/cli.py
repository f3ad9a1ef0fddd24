"""`xstilts`: the one command line every Snakemake rule calls."""

from __future__ import annotations

import argparse
import json
import sys

EXIT_PREEMPTED = 75  # EX_TEMPFAIL: checkpoint saved, run the job again to resume


def _settings(text: str) -> dict:
    return json.loads(text)


def cmd_tasks(args):
    from xstilts.tasks import table

    rows = table()
    cols = list(rows[0])
    widths = {c: max(len(c), *(len(str(r[c])) for r in rows)) for c in cols}
    print("  ".join(c.ljust(widths[c]) for c in cols))
    for r in rows:
        print("  ".join(str(r[c]).ljust(widths[c]) for c in cols))


def cmd_grid(args):
    from xstilts import config, grid

    cfg = config.load(args.config)
    counts = {
        "intermediate trainings": len(grid.intermediate_jobs(cfg)),
        "fine-tunings": len(grid.finetune_jobs(cfg)),
        "evaluations": len(grid.cells(cfg)),
        "tokenized splits": len(grid.prepare_jobs(cfg)),
    }
    for k, v in counts.items():
        print(f"{v:6d}  {k}")
    from xstilts.recipes import describe

    print("\nrecipes (training languages, budget):")
    for line in describe(cfg):
        print(f"  {line}")


def cmd_validate(args):
    """A valid config may still need paths this machine lacks (a CCGbank copy on the cluster
    only): that is a warning here, and stops a real run before its first job."""
    from xstilts import config

    cfg = config.load(args.config)
    print(f"{args.config}: valid")
    try:
        config.preflight(cfg)
    except config.ConfigError as error:
        print(
            f"xstilts: warning: a run on this machine would stop before its first job: {error}",
            file=sys.stderr,
        )


def cmd_embedded_hub(args):
    from xstilts.embedded.hub import build_hub_mirror

    s = _settings(args.settings)
    build_hub_mirror(args.mirror, s["languages"], seed=s["seed"], size=s["size"])


def cmd_embedded_model(args):
    from xstilts.embedded.model import build_tiny_model

    s = _settings(args.settings)
    build_tiny_model(args.mirror, s["repo_id"], seed=s["seed"], **s["model"])


def _hub(args):
    from xstilts.hub import Hub

    return Hub(args.mirror, args.ccgbank)


def cmd_prepare(args):
    from xstilts import stages

    stages.prepare(_settings(args.settings), args.out, _hub(args))


def cmd_train(args):
    from xstilts import stages, training

    settings = _settings(args.settings)
    source = args.encoder or _hub(args).model(settings["model"]["hub_id"])
    try:
        stages.train(
            settings,
            args.out,
            args.checkpoint_dir,
            {"train": args.train, "dev": args.dev},
            source,
            args.gpus,
            stop_after=args.stop_after,
        )
    except training.Preempted as stop:
        print(f"xstilts: {stop}; exit {EXIT_PREEMPTED} so the scheduler runs it again", file=sys.stderr)
        sys.exit(EXIT_PREEMPTED)


def cmd_evaluate(args):
    from xstilts import stages

    settings = _settings(args.settings)
    source = args.model or _hub(args).model(settings["model"]["hub_id"])
    stages.evaluate(settings, source, args.data, args.out, args.batch_size, args.gpus, dev_data=args.dev_data)


def cmd_collect(args):
    from xstilts import results

    results.collect(args.files, args.out)


def _locations(s):
    s.add_argument("--mirror", default=None, help="hub mirror directory (default: the hub)")
    s.add_argument("--ccgbank", default=None, help="CCGbank root")


def parser(analysis: bool = True) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="xstilts", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    sub.add_parser("tasks", help="print the task registry").set_defaults(func=cmd_tasks)
    for name, func, text in (
        ("grid", cmd_grid, "count the jobs a config implies"),
        ("validate", cmd_validate, "check a config"),
    ):
        s = sub.add_parser(name, help=text)
        s.add_argument("--config", default="config.yaml")
        s.set_defaults(func=func)

    for name, func in (("embedded-hub", cmd_embedded_hub), ("embedded-model", cmd_embedded_model)):
        s = sub.add_parser(name, help="build the offline embedded default into a hub mirror")
        s.add_argument("--mirror", required=True)
        s.add_argument("--settings", required=True)
        s.set_defaults(func=func)

    s = sub.add_parser("prepare", help="load and tokenize one task split")
    s.add_argument("--settings", required=True)
    s.add_argument("--out", required=True)
    _locations(s)
    s.set_defaults(func=cmd_prepare)

    s = sub.add_parser("train", help="intermediate training or fine-tuning")
    s.add_argument("--settings", required=True)
    s.add_argument("--out", required=True)
    s.add_argument("--checkpoint-dir", required=True)
    s.add_argument("--train", nargs="+", required=True, help="prepared train splits, one per task")
    s.add_argument("--dev", nargs="+", required=True, help="prepared dev splits, one per task")
    s.add_argument("--encoder", default=None, help="start from this encoder (default: pretrained)")
    _locations(s)
    s.add_argument("--gpus", type=int, default=1)
    s.add_argument("--stop-after", type=int, default=None, help=argparse.SUPPRESS)
    s.set_defaults(func=cmd_train)

    s = sub.add_parser("evaluate", help="score one cell on one language")
    s.add_argument("--settings", required=True)
    s.add_argument("--model", default=None)
    s.add_argument("--data", required=True)
    s.add_argument("--dev-data", default=None)
    s.add_argument("--out", required=True)
    s.add_argument("--batch-size", type=int, default=64)
    s.add_argument("--gpus", type=int, default=1)
    _locations(s)
    s.set_defaults(func=cmd_evaluate)

    s = sub.add_parser("collect", help="cell JSONs -> results/scores.parquet")
    s.add_argument("--out", required=True)
    s.add_argument("files", nargs="+")
    s.set_defaults(func=cmd_collect)

    p.commands = tuple(sub.choices)
    if analysis:
        from xstilts.analysis.commands import register

        register(sub)
    return p


def _fail(error: Exception, code: int):
    print("xstilts: " + " ".join(str(error).split()), file=sys.stderr)
    sys.exit(code)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    # The analysis commands import pandas and scipy (~3 s): not for the workflow's commands.
    core = parser(analysis=False)
    args = (core if argv[:1] and argv[0] in core.commands else parser()).parse_args(argv)
    from xstilts.config import ConfigError
    from xstilts.hub import HubError, hub_failure

    try:
        args.func(args)
    except ConfigError as error:
        _fail(error, 2)
    except HubError as error:
        _fail(error, 1)
    except Exception as error:
        failure = hub_failure(error)  # e.g. the hub lost mid-download inside transformers
        if failure is None:
            raise
        _fail(failure, 1)


if __name__ == "__main__":
    main()
