"""`xstilts fetch`: on a login node, download every model, tokenizer and dataset split the grid
needs, at pinned revisions, so compute nodes run with HF_HUB_OFFLINE=1.

Two destinations: a `hub.mirror` directory laid out as `xstilts.hub` reads it
(`<mirror>/<org>/<name>`, `@<revision>` for a branch other than main), or the Hugging Face
cache (`--cache`; models through snapshot_download, datasets also through `load_dataset`, since
offline `datasets` reads only its own prepared cache). Two sources: the hub
(`huggingface_hub.snapshot_download` at a commit hash) or a local hub-shaped directory
(`--source`, what the tests use). The first fetch resolves each repository's revision to a
commit hash (a content fingerprint for a local source) and pins it in a lock file; later
fetches read that pin and download only files that are missing, so a second call fetches
nothing. Cell JSONs record the revisions read (`revisions`).
"""

from __future__ import annotations

import fnmatch
import json
import os
import shutil
from pathlib import Path

import yaml

from xstilts import grid, stages
from xstilts.atomic import write_text as write_atomic
from xstilts.hub import mirror_path
from xstilts.tasks import TASKS

LOCK = ".xstilts-fetch.json"
# Weights of other frameworks: transformers (PyTorch) never reads them.
MODEL_IGNORE = ("*.h5", "*.msgpack", "*.ot", "*.onnx", "onnx/*", "openvino/*", "*.tflite", "coreml/*")


class FetchError(RuntimeError):
    """What cannot be fetched, with the fix; the CLI prints it as one line."""


class _Recorder:
    """A stand-in Hub: task loaders call `dataset(...)`; it records what they would read."""

    class _Rows:
        column_names: list = []

        def __getattr__(self, name):
            return lambda *a, **k: self

    def __init__(self):
        self.calls: set[tuple[str, str | None, str, str]] = set()
        self.files: dict[tuple[str, str], set[str]] = {}

    def dataset(self, repo, config, split, revision=None, data_files=None):
        if data_files:  # files named without a config (a parquet branch without README)
            self.files.setdefault((repo, revision or "main"), set()).update(data_files.values())
        else:
            self.calls.add((repo, config, split, revision or "main"))
        return self._Rows()

    def dataset_file(self, repo, name, revision=None):
        self.files.setdefault((repo, revision or "main"), set()).add(name)
        return Path(os.devnull)

    def github_file(self, repo, commit, path):
        self.files.setdefault((repo, commit), set()).add(path)
        return Path(os.devnull)

    def url_file(self, key, name):
        from xstilts import layouts

        self.files.setdefault((key, layouts.get(key).revision), set()).add(name)
        return Path(os.devnull)

    def ccgbank_root(self):
        raise LookupError("CCGbank is licensed: not fetched")


def needed(cfg: dict) -> tuple[dict, dict, list[str]]:
    """({(dataset repo, revision): {(config, split)}}, {(dataset repo, revision): {file read as a
    file}}, [model and tokenizer ids]) of the grid."""
    recorder = _Recorder()
    for job in grid.prepare_jobs(cfg):
        data = {o: cfg["hub"][o] for o in TASKS[job["task"]].options}
        try:  # the loaders' post-processing fails on the stand-in, after it has recorded
            stages.load_split(job["task"], recorder, job["split"], job["language"], data)
        except Exception:
            pass
    datasets: dict = {}
    for repo, config, split, revision in sorted(recorder.calls, key=str):
        datasets.setdefault((repo, revision), set()).add((config, split))
    models = list(dict.fromkeys(i for m in cfg["models"].values() for i in (m["hub_id"], m["tokenizer"])))
    return datasets, recorder.files, models


def card_metadata(card: str | None) -> dict:
    """The YAML block at the top of a dataset card (README.md), {} without one."""
    if card and card.startswith("---"):
        return yaml.safe_load(card.split("---", 2)[1]) or {}
    return {}


def data_patterns(meta: dict, revision: str, wanted: set) -> list[str] | None:
    """The files of the configs of the wanted (config, split)s: from the card's `configs` data_files
    (`meta`: the card's YAML metadata), or the parquet branch's `<config>/<split>/` layout; None
    (= every file) when the card says nothing."""
    if revision == "refs/convert/parquet":
        return [f"{c or 'default'}/*" for c, _ in wanted]
    configs = {c.get("config_name", "default"): c for c in meta.get("configs") or []}
    if not configs:
        return None
    patterns = ["README.md"]
    for config in {c for c, _ in wanted}:
        entry = configs.get(config or "default") or (
            next(iter(configs.values())) if len(configs) == 1 else None
        )
        if entry is None:
            return None
        files = entry.get("data_files")
        files = files if isinstance(files, list) else [{"split": "train", "path": files}]
        for f in files:  # every split: `datasets` resolves all of a config's files to load one
            if isinstance(f, dict):
                patterns += f["path"] if isinstance(f["path"], list) else [f["path"]]
    return patterns


def _select(files: dict[str, int], patterns: list[str] | None, ignore=()) -> dict[str, int]:
    keep = {
        f: n
        for f, n in files.items()
        if (patterns is None or any(fnmatch.fnmatch(f, p) for p in patterns))
        and not any(fnmatch.fnmatch(f, p) for p in ignore)
    }
    if ignore and any(f.endswith(".safetensors") for f in keep):  # one copy of the weights
        keep = {f: n for f, n in keep.items() if not f.endswith((".bin", ".pt")) or "tokenizer" in f}
    return keep


class LocalSource:
    """A local directory laid out like the hub (e.g. the embedded mirror) as the remote; its
    'commit' is a fingerprint of the repository's file names and sizes."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def _dir(self, repo, revision):
        path = mirror_path(self.root, repo, revision)
        if not path.is_dir():
            raise FetchError(
                f"{repo} (revision {revision}) is not in the source {self.root}: {path} does not "
                f"exist. Fix: point --source at a directory laid out like the hub that holds it."
            )
        return path

    def files(
        self, repo: str, kind: str, revision: str, pin: str | None = None
    ) -> tuple[str, dict[str, int]]:
        import hashlib

        root = self._dir(repo, revision)
        files = {
            str(p.relative_to(root)): p.stat().st_size
            for p in sorted(root.rglob("*"))
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts)
        }
        sha = hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()[:40]
        if pin not in (None, sha):
            raise FetchError(
                f"{repo} in the source {self.root} changed since it was pinned ({pin[:12]}). "
                f"Fix: fetch with --update to pin the new content."
            )
        return sha, files

    def card(self, repo: str, kind: str, revision: str, sha: str) -> dict:
        path = self._dir(repo, revision) / "README.md"
        return card_metadata(path.read_text(encoding="utf-8") if path.is_file() else None)

    def download(self, repo, kind, revision, sha, names, dest: Path) -> None:
        for name in names:
            target = dest / name
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(target.name + ".part")
            shutil.copyfile(self._dir(repo, revision) / name, tmp)
            os.replace(tmp, target)


class HubSource:
    """The Hugging Face hub through huggingface_hub (token and endpoint from the environment):
    one `repo_info` call per repository gives its commit, its files with their sizes and its
    card's metadata, so `--list` downloads nothing."""

    def __init__(self):
        from huggingface_hub import HfApi, constants

        if constants.is_offline_mode():  # the user's shell: xstilts never sets it for fetch
            raise FetchError(
                "HF_HUB_OFFLINE (or TRANSFORMERS_OFFLINE) is set in this shell, so fetch cannot reach "
                "the hub. Fix: run `env -u HF_HUB_OFFLINE -u TRANSFORMERS_OFFLINE xstilts fetch ...` "
                "(compute nodes keep it set)."
            )
        self.api = HfApi()
        self.info: dict = {}

    def files(self, repo, kind, revision, pin=None):
        info = self.api.repo_info(repo, repo_type=kind, revision=pin or revision, files_metadata=True)
        self.info[(repo, kind, info.sha)] = info
        return info.sha, {s.rfilename: s.size or 0 for s in info.siblings}

    def card(self, repo, kind, revision, sha):
        data = getattr(self.info[(repo, kind, sha)], "card_data", None)
        return data.to_dict() if data is not None else {}

    def download(self, repo, kind, revision, sha, names, dest: Path | None) -> None:
        from huggingface_hub import snapshot_download

        snapshot_download(repo, repo_type=kind, revision=sha, allow_patterns=list(names), local_dir=dest)


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return ""


def _cached(repo: str, kind: str, sha: str, name: str) -> bool:
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(repo, name, revision=sha, repo_type=kind)
    return isinstance(found, str)


def _unreachable(error: Exception, kind: str, repo: str, revision: str) -> FetchError | None:
    """One line naming the repository and the fix when `error` is the hub not answering (or
    not having the repository); None for any other error."""
    from xstilts.hub import hub_failure

    what = f"{kind} {repo}@{revision}"
    failure = hub_failure(
        error,
        what,
        network_fix="run `xstilts fetch` where the hub is reachable (a login node; behind a proxy "
        "set HTTPS_PROXY, for a hub mirror HF_ENDPOINT), log in for a gated or private "
        "repository (`hf auth login` or HF_TOKEN), or copy from a local hub-shaped directory "
        "with --source",
    )
    return None if failure is None else FetchError(f"fetch: {failure}")


def _configs(splits: set | None) -> str:
    """A dataset's configs and splits as `--list` prints them: `XNLI (test, dev)`."""
    if splits is None:
        return "model and tokenizer"
    by_config: dict = {}
    for config, split in sorted(splits, key=str):
        by_config.setdefault(config or "default", []).append(split)
    return "; ".join(f"{c} ({', '.join(s)})" for c, s in by_config.items()) or "files read as files"


def selection(cfg: dict, source, lock: dict, update: bool = False, needs=None):
    """Per hub repository the grid reads: (kind, repo, revision, its (config, split)s or None for
    a model, commit, {file: size} to have). Only metadata is read (one API call per repository).
    `needs`: :func:`needed`'s answer, if already known. Files read as files are not here
    (:func:`file_sources`)."""
    datasets, data_files, models = needs or needed(cfg)
    data_files = {key: names for key, names in data_files.items() if key not in file_sources(data_files)}
    wanted = [("model", repo, "main", None) for repo in models]
    wanted += [
        ("dataset", repo, revision, datasets.get((repo, revision), set()))
        for repo, revision in sorted({*datasets, *data_files})
    ]
    for kind, repo, revision, splits in wanted:
        pinned = lock.get(f"{kind}:{repo}@{revision}", {}).get("sha")
        try:
            sha, files = source.files(repo, kind, revision, None if update else pinned)
            if splits is None:
                chosen = _select(files, None, MODEL_IGNORE)
            else:
                patterns = (
                    data_patterns(source.card(repo, kind, revision, sha), revision, splits) if splits else []
                )
                named = sorted(data_files.get((repo, revision), ()))  # read as files (Mewsli-X)
                chosen = _select(files, None if patterns is None else patterns + named)
        except FetchError:
            raise
        except Exception as error:
            failure = _unreachable(error, kind, repo, revision)
            if failure is None:
                raise
            raise failure from None
        yield kind, repo, revision, splits, sha, chosen


def listing(cfg: dict, source, lock: dict, mirror: str | Path | None = None, log=print) -> int:
    """`fetch --list`: every repository, revision, config and size the grid needs, what of it
    is missing from the mirror, and the totals; downloads nothing. Returns the total bytes."""
    total = missing_total = repos = files = 0
    needs = needed(cfg)
    for kind, repo, revision, splits, sha, chosen in selection(cfg, source, lock, needs=needs):
        size = sum(chosen.values())
        missing = _missing(chosen, mirror_path(mirror, repo, revision)) if mirror else list(chosen)
        total += size
        missing_total += sum(chosen[f] for f in missing)
        repos += 1
        files += len(chosen)
        log(f"{kind} {repo}@{revision} ({sha[:12]}): {_configs(splits)}: {len(chosen)} files, {_size(size)}")
    for (repo, revision), names in sorted(file_sources(needs[1]).items()):
        # no API gives these sizes without a download: the lock's, once fetched
        sizes = lock.get(f"{_file_kind(repo)}:{repo}@{revision}", {}).get("files", {})
        size = sum(sizes.get(name, 0) for name in names)
        known = "" if all(name in sizes for name in names) else " (sizes known once fetched)"
        total += size
        repos += 1
        files += len(names)
        log(f"{_file_kind(repo)} {repo}@{revision[:12]}: {len(names)} files, {_size(size)}{known}")
    where = f"; {_size(missing_total)} not yet in {mirror}" if mirror else ""
    log(f"total: {repos} repositories, {files} files, {_size(total)}{where}")
    return total


def _missing(chosen: dict[str, int], dest: Path) -> list[str]:
    return [f for f, n in chosen.items() if not (dest / f).is_file() or (dest / f).stat().st_size != n]


def fetch(
    cfg: dict,
    mirror: str | Path | None,
    source=None,
    cache: bool = False,
    update: bool = False,
    lock_path: str | Path | None = None,
    log=print,
) -> dict:
    """Fill `mirror` (or the HF cache) with what the grid needs; returns the lock
    {"<kind>:<repo>@<revision>": {"sha", "files": {name: size}}}. Downloads only what is missing."""
    source = source or HubSource()
    if not cache and not mirror:
        raise FetchError("no destination. Fix: set hub.mirror in the config, pass --mirror DIR, or --cache.")
    lock_file = Path(lock_path or (Path(mirror) / LOCK if mirror else LOCK))
    lock = json.loads(lock_file.read_text()) if lock_file.is_file() else {}
    needs = needed(cfg)
    total_new = 0
    for kind, repo, revision, splits, sha, chosen in selection(cfg, source, lock, update, needs):
        key = f"{kind}:{repo}@{revision}"
        dest = mirror_path(mirror, repo, revision) if not cache else None
        if dest is not None:
            missing = _missing(chosen, dest)
            if lock.get(key, {}).get("sha") not in (None, sha):  # a new pin: start the copy clean
                shutil.rmtree(dest, ignore_errors=True)
                missing = list(chosen)
        else:
            missing = [f for f in chosen if not _cached(repo, kind, sha, f)]
        size = sum(chosen[f] for f in missing)
        try:
            if missing:
                source.download(repo, kind, revision, sha, missing, dest)
            if cache and kind == "dataset":
                import datasets as hf_datasets

                for config, split in sorted(splits, key=str):  # offline datasets reads its own cache
                    hf_datasets.load_dataset(repo, config, split=split, revision=sha)
                for pattern in sorted(needs[1].get((repo, revision), ())):
                    if pattern.endswith(".parquet"):  # <config>/<split>/*.parquet, named as the loader does
                        split = pattern.split("/")[-2]
                        hf_datasets.load_dataset(repo, data_files={split: pattern}, split=split, revision=sha)
        except Exception as error:
            failure = _unreachable(error, kind, repo, revision)
            if failure is None:
                raise
            raise failure from None
        total_new += size
        what = (
            f"{len(missing)} of {len(chosen)} files, {_size(size)}"
            if missing
            else f"up to date ({len(chosen)} files, {_size(sum(chosen.values()))})"
        )
        log(f"{kind} {repo}@{revision} ({sha[:12]}): {what}")
        lock[key] = {
            "sha": sha,
            "files": dict(sorted({**lock.get(key, {}).get("files", {}), **chosen}.items())),
        }
        write_atomic(lock_file, json.dumps(lock, indent=1, sort_keys=True) + "\n")  # each pin kept
    for (repo, revision), names in sorted(file_sources(needs[1]).items()):
        total_new += _fetch_files(repo, revision, sorted(names), mirror, source, lock, log)
        write_atomic(lock_file, json.dumps(lock, indent=1, sort_keys=True) + "\n")
    log(
        f"fetched {_size(total_new)}; pinned revisions in {lock_file}. Compute nodes: export HF_HUB_OFFLINE=1"
    )
    return lock


def _file_kind(repo: str) -> str | None:
    """`github` or `url` for a source read as files (layouts), else None."""
    from xstilts import layouts

    record = layouts.load().get(repo)
    return record.kind if record is not None and record.kind in layouts.FILE_KINDS.values() else None


def file_sources(data_files: dict) -> dict:
    """The entries of `needed`'s files that are read as files (GitHub, a fixed address), not
    from a hub dataset repository."""
    return {key: names for key, names in data_files.items() if _file_kind(key[0]) is not None}


def _sha256(path: Path) -> str:
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fetch_files(repo, revision, names, mirror, source, lock, log) -> int:
    """Files read as files: a GitHub repository's at a pinned commit (XQuAD-R's official JSON)
    or a file published at a fixed address (the UD 2.5 release), into the mirror's github/<repo>/
    or files/<key>/ or, without a mirror, where Hub.github_file / Hub.url_file look for them. A
    `url` file has no commit: its sha256 is pinned in the lock, and a later fetch that finds other
    content refuses it."""
    from xstilts import layouts
    from xstilts.atomic import atomic_file
    from xstilts.hub import download, download_github, files_cache, github_cache

    kind = _file_kind(repo)
    folder = {v: k for k, v in layouts.FILE_KINDS.items()}[kind]
    key = f"{kind}:{repo}@{revision}"
    if mirror:
        dest = Path(mirror) / folder / repo
    else:
        dest = github_cache() / repo / revision if kind == "github" else files_cache() / repo
    if mirror and lock.get(key, {}).get("sha") not in (None, revision):
        shutil.rmtree(dest, ignore_errors=True)
    missing = [name for name in names if not (dest / name).is_file()]
    for name in missing:
        if isinstance(source, LocalSource):  # a hub-shaped directory keeps them under its folder
            with atomic_file(dest / name) as tmp:
                shutil.copyfile(source.root / folder / repo / name, tmp)
        elif kind == "github":
            download_github(repo, revision, name, dest / name)
        else:
            download(layouts.get(repo).url + name, dest / name)
    sizes = {name: (dest / name).stat().st_size for name in names}
    entry = {"sha": revision, "files": sizes}
    if kind == "url":
        pinned = lock.get(key, {}).get("sha256", {})
        entry["sha256"] = {
            n: _sha256(dest / n) if n in missing or n not in pinned else pinned[n] for n in names
        }
        for name in missing:
            if pinned.get(name) not in (None, entry["sha256"][name]):
                (dest / name).unlink()  # not left where the loaders would read it
                raise FetchError(
                    f"{dest / name} has sha256 {entry['sha256'][name][:12]}, pinned {pinned[name][:12]} "
                    f"in {LOCK}: the published file changed. Fix: check it, then drop its pin to accept it."
                )
    lock[key] = entry
    new = sum(sizes[name] for name in missing)
    what = f"{len(missing)} of {len(names)} files, {_size(new)}" if missing else "up to date"
    log(f"{kind} {repo}@{revision[:12]}: {what}")
    return new


def main(cfg: dict, mirror=None, source=None, cache=False, update=False, list_only=False) -> None:
    mirror = None if cache else (mirror or cfg["hub"]["mirror"])
    if cfg["embedded"] and source is None:
        raise FetchError(
            "the embedded default is built on this machine (rule embedded_hub): nothing to fetch. "
            "Fix: fetch for a config that reads the hub (embedded: null)."
        )
    source = LocalSource(source) if source else HubSource()
    if list_only:
        lock_file = Path(mirror) / LOCK if mirror else Path(LOCK)
        lock = json.loads(lock_file.read_text()) if lock_file.is_file() else {}
        listing(cfg, source, lock, mirror)
        return
    fetch(cfg, mirror, source, cache=cache, update=update)


def revisions(mirror: str | Path | None, hub_id: str, repos: list[str]) -> dict:
    """What a cell read, for its JSON, offline: each dataset repository's and the model's
    commit hash (pinned by `xstilts fetch` in the mirror's lock, else the HF cache's snapshot)
    or, for a mirror without a lock, the content fingerprint of its directory."""
    lock = {}
    if mirror and (Path(mirror) / LOCK).is_file():
        lock = json.loads((Path(mirror) / LOCK).read_text())
    out = {}
    for kind, repo in [("dataset", r) for r in dict.fromkeys(repos)] + [("model", hub_id)]:
        file_kind = _file_kind(repo)
        if file_kind:  # read at the commit (github) or address (url) its record pins
            from xstilts import layouts

            revision = layouts.get(repo).revision
            sums = lock.get(f"{file_kind}:{repo}@{revision}", {}).get("sha256")
            pins = "".join(f" sha256:{v}" for _, v in sorted((sums or {}).items()))
            out[f"{file_kind}:{repo}"] = revision + pins
            continue
        pinned = next((v["sha"] for k, v in sorted(lock.items()) if k.startswith(f"{kind}:{repo}@")), None)
        if pinned is None and mirror:
            found = sorted(Path(mirror).glob(repo + "*"))
            pinned = data_revision_of_dir(found[0]) if found else None
        out[f"{kind}:{repo}"] = pinned or (None if mirror else _cache_commit(repo, kind)) or "unknown"
    return out


def data_revision_of_dir(path: Path) -> str | None:
    from xstilts.settings import tree_fingerprint

    return tree_fingerprint(str(path)) if path.is_dir() else None


def _cache_commit(repo: str, kind: str) -> str | None:
    """The commit hash of the cached snapshot of `repo` (its refs/main), without the network."""
    try:
        from huggingface_hub import constants

        folder = Path(constants.HF_HUB_CACHE) / f"{kind}s--{repo.replace('/', '--')}" / "refs" / "main"
        return folder.read_text().strip() if folder.is_file() else None
    except Exception:
        return None
