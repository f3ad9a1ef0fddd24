"""What the real sources hold, as `layouts.yaml` records it, and the check that a hub-shaped
directory (the embedded mirror) holds exactly that layout.

A record per repository xstilts reads: its kind (`dataset` and `model` on the Hugging Face hub,
`github` for a file of a GitHub repository pinned at a commit, `url` for a file published at
a fixed address (`url` + the file name; `members`: the paths inside its archive), `synthetic`
for what only the embedded build makes), the revision read, whether a README with `configs`/`dataset_info`
metadata exists there, the file paths read (`{config}` and `{split}` stand for one path part,
`*` for any characters but `/`), per config (a name or an fnmatch pattern) its splits and
features, and the evidence: where each fact was seen, or `unconfirmed` saying why it is not.

Features are written plainly: a `Value` is its dtype (`string`, `int32`), a `ClassLabel` is
`{class_label: [names]}`, a list is `[feature]`, a struct a mapping.
"""

from __future__ import annotations

import fnmatch
import json
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml

RECORD = Path(__file__).with_name("layouts.yaml")
KINDS = ("dataset", "model", "github", "url", "synthetic")
GITHUB_DIR = "github"  # <mirror>/github/<owner>/<repo>/<path>: files of pinned GitHub commits
FILES_DIR = "files"  # <mirror>/files/<record key>/<file>: files published at a fixed address
FILE_KINDS = {GITHUB_DIR: "github", FILES_DIR: "url"}  # read as files, not through `datasets`
LOCAL_DIRS = ("ccgbank",)  # licensed data the user supplies (hub.ccgbank): no public source


@dataclass(frozen=True)
class Layout:
    repo: str
    kind: str
    revision: str
    readme: bool | None
    files: tuple[str, ...]
    configs: dict = field(default_factory=dict)  # config or pattern -> {"splits": [...], "features": {...}}
    evidence: tuple[str, ...] = ()
    unconfirmed: str | None = None
    url: str | None = None  # kind url: where `files` are published (the address + the name)
    members: tuple[str, ...] = ()  # kind url: the paths inside its archive
    checksum: dict | None = None  # kind url: {file: "sha256:<hex>"} where one is published

    def config(self, name: str) -> dict | None:
        if name in self.configs:
            return self.configs[name]
        return next((v for k, v in self.configs.items() if fnmatch.fnmatchcase(name, k)), None)

    def match(self, path: str) -> dict | None:
        """{config, split} of a file path that one of `files` describes, else None."""
        for pattern in self.files:
            regex = re.escape(pattern).replace(r"\{config\}", "(?P<config>[^/]+)")
            regex = regex.replace(r"\{split\}", "(?P<split>[^/]+?)").replace(r"\*", "[^/]*")
            found = re.fullmatch(regex, path)
            if found:
                return found.groupdict()
        return None


@cache
def load() -> dict[str, Layout]:
    raw = yaml.safe_load(RECORD.read_text(encoding="utf-8"))
    out = {}
    for repo, entry in raw.items():
        if entry.get("kind") not in KINDS:
            raise ValueError(f"{RECORD}: {repo} has kind {entry.get('kind')!r}; one of {KINDS}")
        if not entry.get("evidence") and not entry.get("unconfirmed"):
            raise ValueError(f"{RECORD}: {repo} cites no evidence and says nothing unconfirmed")
        out[repo] = Layout(
            repo=repo,
            kind=entry["kind"],
            revision=str(entry.get("revision", "main")),
            readme=entry.get("readme"),
            files=tuple(entry.get("files", ())),
            configs=entry.get("configs") or {},
            evidence=tuple(entry.get("evidence") or ()),
            unconfirmed=entry.get("unconfirmed"),
            url=entry.get("url"),
            members=tuple(entry.get("members", ())),
            checksum=entry.get("checksum"),
        )
    return out


def get(repo: str) -> Layout:
    layouts = load()
    if repo not in layouts:
        raise KeyError(f"{repo} has no record in {RECORD}. Fix: record what the hub holds for it")
    return layouts[repo]


def feature_record(feature) -> object:
    """A `datasets` feature in the record's plain form."""
    import datasets

    if isinstance(feature, dict):  # Features and struct dicts
        return {k: feature_record(v) for k, v in feature.items()}
    if isinstance(feature, datasets.ClassLabel):
        return {"class_label": list(feature.names)}
    if isinstance(feature, datasets.Value):
        return feature.dtype
    inner = getattr(feature, "feature", None)
    if inner is not None:  # List / Sequence / LargeList
        return [feature_record(inner)]
    raise TypeError(f"no record form for feature {feature!r}")


def parquet_features(path: Path) -> dict | None:
    """The `datasets` features a parquet file declares in its schema metadata (as the hub's do)."""
    import datasets
    import pyarrow.parquet as pq

    meta = pq.read_schema(path).metadata or {}
    if b"huggingface" not in meta:
        return None
    info = json.loads(meta[b"huggingface"]).get("info", {})
    return feature_record(datasets.Features.from_dict(info["features"])) if "features" in info else None


def _repo_dirs(root: Path):
    """(kind, repo id, revision, directory) of each repository in a hub-shaped directory."""
    for org in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if org.name in LOCAL_DIRS:
            continue
        if org.name in FILE_KINDS:
            for owner in sorted(p for p in org.iterdir() if p.is_dir()):
                for repo in sorted(p for p in owner.iterdir() if p.is_dir()):
                    yield FILE_KINDS[org.name], f"{owner.name}/{repo.name}", None, repo
            continue
        for repo in sorted(p for p in org.iterdir() if p.is_dir()):
            name, _, revision = repo.name.partition("@")
            yield None, f"{org.name}/{name}", revision.replace("--", "/") or "main", repo


def mirror_disagreements(root: str | Path, require: tuple[str, ...] = ()) -> list[str]:
    """Every way the hub-shaped directory `root` differs from the records: a repository, revision,
    README, file, config, split or feature the record lacks (or the reverse), one line each.
    `require`: the kinds whose every record must be present."""
    root = Path(root)
    layouts = load()
    problems, seen = [], set()
    for kind, repo, revision, directory in _repo_dirs(root):
        layout = layouts.get(repo)
        if layout is None:
            problems.append(f"{directory}: {repo} has no record in {RECORD.name}")
            continue
        seen.add(repo)
        if kind != (layout.kind if layout.kind in FILE_KINDS.values() else None):
            problems.append(f"{directory}: {repo} is recorded as {layout.kind}")
        if revision is not None and revision != layout.revision:
            problems.append(f"{directory}: revision {revision}, recorded {layout.revision}")
        problems += _files_disagree(layout, directory)
    problems += [
        f"{repo}: recorded ({layout.kind}) but not in {root}"
        for repo, layout in layouts.items()
        if layout.kind in require and repo not in seen
    ]
    return problems


def _files_disagree(layout: Layout, directory: Path) -> list[str]:
    problems = []
    files = sorted(
        str(p.relative_to(directory))
        for p in directory.rglob("*")
        if p.is_file() and not p.name.startswith(".")
    )
    has_readme = "README.md" in files
    if layout.readme is not None and has_readme != layout.readme:
        problems.append(
            f"{directory}: README.md {'present' if has_readme else 'absent'}, "
            f"recorded {'present' if layout.readme else 'absent'}"
        )
    checked_features: set[tuple[str, str]] = set()
    for name in files:
        if name == "README.md":  # its presence is checked above
            continue
        found = layout.match(name)
        if found is None:
            problems.append(f"{directory / name}: no recorded path ({', '.join(layout.files)}) matches")
            continue
        if layout.members:
            problems += _members_disagree(layout, directory / name)
        config = found.get("config")
        if config is None:
            continue
        entry = layout.config(config)
        if entry is None:
            problems.append(f"{directory / name}: config {config!r} not recorded")
            continue
        split = found.get("split")
        if split is not None and "splits" in entry and split not in entry["splits"]:
            problems.append(f"{directory / name}: split {split!r} not recorded ({entry['splits']})")
        if "features" in entry and name.endswith(".parquet") and (config, split) not in checked_features:
            checked_features.add((config, split))
            actual = parquet_features(directory / name)
            if actual != entry["features"]:
                problems.append(f"{directory / name}: features {actual}, recorded {entry['features']}")
    return problems


def _members_disagree(layout: Layout, archive: Path) -> list[str]:
    """Every file of a tar archive that no recorded member path matches (`*`: not `/`)."""
    import tarfile

    with tarfile.open(archive) as tar:
        names = [m.name for m in tar if m.isfile()]
    return [
        f"{archive}: member {name} matches no recorded member path ({', '.join(layout.members)})"
        for name in names
        if not any(re.fullmatch(re.escape(p).replace(r"\*", "[^/]*"), name) for p in layout.members)
    ]
