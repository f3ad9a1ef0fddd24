"""`xstilts`: the one command line every Snakemake rule calls."""

from __future__ import annotations

import functools
import json
import sys

EXIT_PREEMPTED = 75  # EX_TEMPFAIL: checkpoint saved, run the job again to resume


def _settings(text: str) -> dict:
    return json.loads(text)


def cmd_tasks(args):
    from xstilts.tasks import table

    if args.name or args.full:
        from xstilts import reference

        print(reference.task_details(args.name))
        return
    from tabulate import tabulate

    print(tabulate(table(), headers="keys", tablefmt="plain", disable_numparse=True))


def _load(path) -> dict:
    """A config validated with its study block (xstilts.analysis.studies: each study's options)."""
    from xstilts.analysis import studies

    return studies.load(path)


def cmd_grid(args):
    from xstilts import grid

    cfg = _load(args.config)
    counts = {
        "intermediate trainings": len(grid.intermediate_jobs(cfg)),
        "fine-tunings": len(grid.finetune_jobs(cfg)),
        f"evaluation jobs ({len(grid.cells(cfg))} cells)": len(grid.eval_groups(cfg)),
        "tokenized splits": len(grid.prepare_jobs(cfg)),
    }
    for k, v in counts.items():
        print(f"{v:6d}  {k}")
    print("an evaluation job: one per trained model x target, writing one cell per language")
    from xstilts.recipes import describe, describe_sources

    print("\nrecipes (training languages, budget):")
    for line in describe(cfg):
        print(f"  {line}")
    sources = describe_sources(cfg)
    if sources:
        print("\ntraining data (task@language: where its train and dev splits come from):")
        for line in sources:
            print(f"  {line}")


def cmd_plan(args):
    """Cost before launch: jobs, tokens, FLOPs and GPU-hours per stage, and what is done."""
    from xstilts import plan

    print(plan.report(_load(args.config), args.workdir, args.calibration))


def cmd_validate(args):
    """A valid config may still need paths this machine lacks (a CCGbank copy on the cluster
    only): that is a warning here, and stops a real run before its first job."""
    from xstilts import config
    from xstilts.analysis import studies

    cfg = _load(args.config)
    config.check_data(cfg)
    weak = studies.needs(cfg)
    print(f"{args.config}: valid")
    _warn_unreachable(cfg, args.config)
    for warning in weak:
        print(f"xstilts: warning: {warning}", file=sys.stderr)
    try:
        config.preflight(cfg)
    except config.ConfigError as error:
        print(
            f"xstilts: warning: a run on this machine would stop before its first job: {error}",
            file=sys.stderr,
        )


def _warn_unreachable(cfg: dict, path: str) -> None:
    """Settings the config writes that no job ever uses (overridden everywhere, or for a task
    the grid never trains): the precedence rule made visible."""
    from xstilts import config, explain

    for warning in explain.unreachable(cfg, config.read_yaml(path)):
        print(f"xstilts: warning: {warning}", file=sys.stderr)


def cmd_show(args):
    from xstilts import config, explain

    print(explain.show(_load(args.config), config.read_yaml(args.config), args.job))


def cmd_why(args):
    from xstilts import explain

    cfg = _load(args.config)
    if not args.touch:
        print(explain.format_why(explain.why(cfg, args.directory), every=args.all))
        return
    good, bad = explain.adoptable(cfg, args.directory)
    for e in bad:
        if e["status"] == "upstream":
            print(f"not adopted: {e['out']}: its input {e['because']} is not adopted", file=sys.stderr)
            continue
        print(f"not adopted: {e['out']}: recorded settings differ from the config:", file=sys.stderr)
        for key, old, new in e["changes"]:
            print(f"    {key}: {json.dumps(old)} -> {json.dumps(new)}", file=sys.stderr)
    if good or bad:
        print(f"xstilts: warning: {explain.touch_warning(len(bad))}", file=sys.stderr)
    if not good:
        print("nothing to adopt: no output of the grid exists with the config's settings")
        return
    import os

    # targets first: --configfile takes every word after it as another config file
    command = ["snakemake", *good, "--touch", "--cores", "1", "--configfile", os.path.abspath(args.config)]
    if args.directory != ".":
        command += ["--directory", args.directory]
    shown = ["snakemake", "OUTPUTS", *command[len(good) + 1 :]]
    print(f"adopting {len(good)} output(s) with: {' '.join(shown)}")
    if args.dry_run:
        print("\n".join(good))
        return
    import subprocess

    sys.exit(subprocess.run(command).returncode)


def cmd_studies(args):
    """Per study sharing the workdir: its cells done, missing, and shared with other studies."""
    from xstilts import shared_workdir

    if args.forget:
        found = shared_workdir.forget(args.forget, args.workdir)
        print(f"study {args.forget}: {'forgotten (its outputs stay)' if found else 'not registered'}")
        return
    configs = [(_load(path), path) for path in args.config]
    print(shared_workdir.format_counts(shared_workdir.counts(args.workdir, configs)))


def cmd_fetch(args):
    from xstilts import fetch

    cfg = _load(args.config)
    fetch.main(
        cfg,
        mirror=args.mirror,
        source=args.source,
        cache=args.cache,
        update=args.update,
        list_only=args.list,
    )


def cmd_config_reference(args):
    from pathlib import Path

    from xstilts import reference
    from xstilts.analysis import studies

    text = reference.render(studies.reference_schema())
    out = Path(args.out)
    if args.check:
        if not out.exists() or out.read_text() != text:
            print(
                f"xstilts: {out} is stale: the config schema changed. Fix: run "
                f"`xstilts config-reference` and commit {out}.",
                file=sys.stderr,
            )
            sys.exit(1)
        print(f"{out}: current")
        return
    out.write_text(text)
    print(f"wrote {out}")


def _register_cluster_tools(sub) -> None:
    """show, why, fetch, config-reference (issue 14)."""
    s = sub.add_parser("show", help="a job's resolved settings, where each came from, its output")
    s.add_argument("--config", default="config.yaml")
    s.add_argument(
        "job", nargs="+", help="intermediate mnli | finetune xnli recipe=mnli | evaluate xnli de recipe=mnli"
    )
    s.set_defaults(func=cmd_show)

    s = sub.add_parser("why", help="for each job that would rerun, the settings that changed")
    s.add_argument("--config", default="config.yaml")
    s.add_argument("--directory", default=".", help="the workdir holding results/")
    s.add_argument("--all", action="store_true", help="list every missing and downstream job")
    s.add_argument(
        "--touch",
        action="store_true",
        help="adopt outputs computed elsewhere whose recorded settings match (snakemake --touch)",
    )
    s.add_argument("--dry-run", action="store_true", help="with --touch: list what would be adopted")
    s.set_defaults(func=cmd_why)

    s = sub.add_parser("fetch", help="download every model and dataset the grid needs (login node)")
    s.add_argument("--config", default="config.yaml")
    s.add_argument("--mirror", default=None, help="fill this hub-shaped directory (default: hub.mirror)")
    s.add_argument("--cache", action="store_true", help="fill the Hugging Face cache instead of a mirror")
    s.add_argument("--source", default=None, help="copy from this local hub-shaped directory, not the hub")
    s.add_argument("--update", action="store_true", help="re-resolve pinned revisions to the newest commit")
    s.add_argument(
        "--list",
        action="store_true",
        help="download nothing: print each repository, revision, config and size to fetch, and the total",
    )
    s.set_defaults(func=cmd_fetch)

    s = sub.add_parser("config-reference", help="write docs/config.md from the schema")
    s.add_argument("--out", default="docs/config.md")
    s.add_argument("--check", action="store_true", help="fail if the file is stale (CI)")
    s.set_defaults(func=cmd_config_reference)


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
    from xstilts.settings import Runtime

    settings = _settings(args.settings)
    runtime = Runtime.given(
        mirror=args.mirror, ccgbank=args.ccgbank, eval_batch_size=args.batch_size, warm_process=args.warm
    )
    source = args.model or _hub(args).model(settings["model"]["hub_id"])
    languages = args.languages or [settings["language"]]
    revisions = _revisions(args, settings, languages)
    stages.evaluate(
        settings,
        source,
        args.data,
        args.out,
        runtime.eval_batch_size,
        args.gpus,
        dev_data=args.dev_data,
        revisions=revisions,
        pool=args.pool,
        languages=languages,
    )


def _revisions(args, settings: dict, languages: list[str]) -> dict:
    """The data and model revisions a job read: its target's datasets for each of its languages
    (XTREME-R serves some from other repos) and those of every task that trained the model
    (a chain's stages; Tatoeba's SQuAD model under XTREME-R)."""
    from xstilts import fetch
    from xstilts.tasks import TASKS

    target = TASKS[settings["target"]]
    squad = settings.get("protocol", {}).get("tatoeba_encoder")
    trained = target.training_chain or ((squad,) if squad else ())
    repos = [r for lang in languages for r in target.repos_for(lang)]
    repos += [r for task in trained for r in TASKS[task].repos]
    return fetch.revisions(args.mirror, settings["model"]["hub_id"], repos)


def cmd_collect(args):
    from xstilts import results

    results.collect(args.files, args.out)


def _locations(s):
    s.add_argument("--mirror", default=None, help="hub mirror directory (default: the hub)")
    s.add_argument("--ccgbank", default=None, help="CCGbank root")


@functools.cache  # built once in the warm process, not in each of its jobs
def parser(analysis: bool = True):
    import argparse  # here, not at the top: a warm job's client never builds a parser

    p = argparse.ArgumentParser(prog="xstilts", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("tasks", help="print the task registry")
    s.add_argument("name", nargs="?", help="one task in full: languages, source, metric, defaults")
    s.add_argument("--full", action="store_true", help="every task in full")
    s.set_defaults(func=cmd_tasks)
    _register_cluster_tools(sub)
    for name, func, text in (
        ("grid", cmd_grid, "count the jobs a config implies"),
        ("validate", cmd_validate, "check a config"),
        ("plan", cmd_plan, "estimate a config's cost per stage before running it"),
    ):
        s = sub.add_parser(name, help=text)
        s.add_argument("--config", default="config.yaml")
        if name == "plan":
            s.add_argument("--workdir", default=".", help="where the workflow runs (what is done)")
            s.add_argument("--calibration", default=None, help="measured FLOP/s of your GPU (JSON)")
        s.set_defaults(func=func)

    s = sub.add_parser("studies", help="per study sharing a workdir: cells done, missing, shared")
    s.add_argument("--workdir", default=".", help="where the workflow runs")
    s.add_argument(
        "--config",
        nargs="+",
        default=[],
        help="count these configs (each replaces its study's registered entry; default: the registered ones)",
    )
    s.add_argument(
        "--forget", metavar="STUDY", help="drop a study's entry: its names and settings are free again"
    )
    s.set_defaults(func=cmd_studies)

    for name, func, text in (
        ("embedded-hub", cmd_embedded_hub, "build the offline embedded datasets into a hub mirror"),
        ("embedded-model", cmd_embedded_model, "build one tiny embedded model into a hub mirror"),
    ):
        s = sub.add_parser(name, help=text, description=text)
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

    s = sub.add_parser("evaluate", help="score one trained model on a target's languages")
    s.add_argument("--settings", required=True, help="a cell's settings; its language is replaced")
    s.add_argument("--model", default=None)
    s.add_argument("--languages", nargs="+", default=None, help="default: the settings' language")
    s.add_argument("--data", nargs="+", required=True, help="prepared test split, one per language")
    s.add_argument("--dev-data", nargs="+", default=None, help="prepared dev split, one per language")
    s.add_argument("--pool", nargs="+", default=None, help="prepared splits holding the candidate pool")
    s.add_argument("--out", nargs="+", required=True, help="cell JSON, one per language")
    s.add_argument("--batch-size", type=int, help="default: the schema's evaluation.batch_size")
    s.add_argument("--gpus", type=int, default=1)
    s.add_argument("--warm", action="store_true", help="run in the warm process (xstilts.warm)")
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


def evaluate_error(argv: list[str]) -> str | None:
    """Why argv is not an `xstilts evaluate` command line (those workflow rules pass: the evaluate
    parser's arguments and nothing else), or None. The warm process runs nothing else."""
    import contextlib
    import io

    if argv[:1] != ["evaluate"]:
        return f"not an evaluate command: {argv[:1]}"
    said = io.StringIO()
    try:
        with contextlib.redirect_stdout(said), contextlib.redirect_stderr(said):
            parser(analysis=False).parse_args(argv)
    except SystemExit as stop:
        return said.getvalue().strip().splitlines()[-1] if stop.code else "asks for help, not a job"
    return None


def _fail(error: Exception, code: int):
    print("xstilts: " + " ".join(str(error).split()), file=sys.stderr)
    sys.exit(code)


def _offline_with(mirror) -> None:
    if mirror:  # a mirror is read from disk: never reach for the hub
        import os

        os.environ.setdefault("HF_HUB_OFFLINE", "1")


# `python -m xstilts.cli --warm-server SOCKET`: the warm process (xstilts.warm) serving this CLI
WARM_SERVER = "--warm-server"


def _warm_preload() -> None:
    """What each warm job would import and build itself: done once, in the warm process."""
    from xstilts import devices, evaluation, fetch, metrics, modeling, settings, stages  # noqa: F401

    parser(analysis=False)
    stages.versions()


def _warm_runner():
    from xstilts import warm as warm_process

    return warm_process.Runner(lambda argv: main(argv, warm=False), evaluate_error, _warm_preload)


def main(argv=None, warm: bool = True):
    """`warm=False`: the job runs here even when it asks for the warm process (it is its child)."""
    own_process = argv is None  # the command itself, not a caller's function call
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == [WARM_SERVER]:
        from xstilts import warm as warm_process

        warm_process.serve(argv[1], _warm_runner())
        return
    if warm and argv[:1] == ["evaluate"] and "--warm" in argv:
        # handed over before building the parser (~30 ms a job): the warm child parses it
        _offline_with(any(a == "--mirror" or a.startswith("--mirror=") for a in argv))
        from xstilts import warm as warm_process

        status = warm_process.run(argv, (sys.executable, "-m", "xstilts.cli", WARM_SERVER))
        if status is not None:
            if own_process:  # nothing to tear down: spare the interpreter's shutdown (~15 ms)
                sys.stdout.flush()
                sys.stderr.flush()
                import os

                os._exit(status)
            sys.exit(status)
    # The analysis commands import pandas and scipy (~3 s): not for the workflow's commands.
    core = parser(analysis=False)
    args = (core if argv[:1] and argv[0] in core.commands else parser()).parse_args(argv)
    if args.command != "fetch":  # fetch downloads: it is the one command that needs the hub
        _offline_with(getattr(args, "mirror", None))
    from xstilts.atomic import DiskFullError
    from xstilts.config import ConfigError
    from xstilts.devices import GpuPoolError
    from xstilts.fetch import FetchError
    from xstilts.hub import HubError, hub_failure
    from xstilts.local_data import LocalDataError
    from xstilts.recipes import RecipeError

    try:
        args.func(args)
    except BrokenPipeError:  # `xstilts tasks | head`: the reader left, nothing to report
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        sys.exit(0)
    except ConfigError as error:
        _fail(error, 2)
    except (LocalDataError, RecipeError, DiskFullError) as error:  # a job's log ends with the one line
        _fail(error, 1)
    except HubError as error:
        _fail(error, 1)
    except FetchError as error:
        _fail(error, 1)
    except GpuPoolError as error:  # e.g. a lock directory other users could write to
        _fail(error, 1)
    except Exception as error:
        failure = hub_failure(error)  # e.g. the hub lost mid-download inside transformers
        if failure is None:
            raise
        _fail(failure, 1)


if __name__ == "__main__":
    main()
