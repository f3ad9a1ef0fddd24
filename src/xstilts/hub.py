"""One loading path for the Hugging Face hub and for a local mirror laid out like it.

With ``mirror`` set, hub id ``org/name`` is the directory ``<mirror>/org/name`` and a revision
other than main is ``<mirror>/org/name@<revision with / as -->``; the same ``datasets`` and
``transformers`` calls read it, so the embedded default tests the real code path.
"""

from __future__ import annotations

import os
from pathlib import Path

from xstilts.atomic import error_chain


def slug(hub_id: str) -> str:
    """A hub id as one path component (tokenized data is shared per tokenizer)."""
    return hub_id.replace("/", "__")


class HubError(RuntimeError):
    """Data or a model that cannot be loaded, with the fix; the CLI prints it as one line."""


def _transport_errors() -> tuple[type, ...]:
    """Errors of the HTTP clients under huggingface_hub: no connection, DNS, timeouts."""
    found = [ConnectionError, TimeoutError]
    for module, name in (
        ("httpx", "TransportError"),
        ("httpx2", "TransportError"),
        ("requests", "ConnectionError"),
        ("requests", "Timeout"),
        ("urllib3.exceptions", "HTTPError"),
    ):
        try:
            found.append(getattr(__import__(module, fromlist=[name]), name))
        except (ImportError, AttributeError):
            pass
    return tuple(found)


def hub_failure(
    error: BaseException, repo: str | None = None, network_fix: str | None = None
) -> HubError | None:
    """A HubError naming the repository and the fixes when `error` comes from not reaching the
    Hugging Face hub (or the repository not being there); None for any other error.
    `network_fix` replaces the fix for a hub out of reach (`xstilts fetch` has its own)."""
    from huggingface_hub import errors as hf

    try:
        from datasets.exceptions import DatasetNotFoundError
    except ImportError:
        DatasetNotFoundError = hf.RepositoryNotFoundError
    what = repo or "a repository"
    offline = os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on")
    causes = list(error_chain(error))  # transformers wraps hub errors in OSError
    for cause in causes:
        if isinstance(
            cause,
            (
                hf.RepositoryNotFoundError,
                hf.RevisionNotFoundError,
                hf.RemoteEntryNotFoundError,
                DatasetNotFoundError,
            ),
        ):
            return HubError(
                f"{what} was not found on the Hugging Face hub, or your token may not read it "
                f"(gated or private; hub said: {str(cause).splitlines()[0]}). Fix: check the id "
                f"in the config (models.<name>.hub_id, tokenizer) and your token (`hf auth "
                f"login` or HF_TOKEN), or set hub.mirror to a local copy."
            )
    network = (hf.OfflineModeIsEnabled, hf.LocalEntryNotFoundError, hf.HfHubHTTPError, *_transport_errors())
    reasons = [c for c in causes if isinstance(c, network)]
    hub_side = any(
        isinstance(c, network[:3]) or "huggingface" in str(c).lower() or "on the hub" in str(c).lower()
        for c in causes
    )
    if not reasons or repo is None and not hub_side:  # without a repo: only clear hub errors
        return None
    reason = reasons[-1]  # the deepest: "Name or service not known", not a wrapper's advice
    detail = str(reason).splitlines()[0] if str(reason) else "no detail"
    state = (
        f"HF_HUB_OFFLINE is set, so only the local cache is read and it lacks {what}; "
        f"unset it, or fill the cache where the network is reachable"
        if offline
        else "HF_HUB_OFFLINE=1 reads only the local cache, e.g. one filled on a login node"
    )
    if network_fix:
        return HubError(
            f"could not reach the Hugging Face hub for {what} ({type(reason).__name__}: {detail}). "
            f"Fix: {network_fix}."
        )
    return HubError(
        f"could not reach the Hugging Face hub for {what} ({type(reason).__name__}: {detail}). "
        f"Fix: check the network and, for a gated or private repository, your HF token (`hf "
        f"auth login` or HF_TOKEN); or set hub.mirror to a local directory laid out like the "
        f"hub. {state}."
    )


def _missing_config(
    path: str, repo: str, config: str | None, split: str, revision: str | None
) -> HubError | None:
    """Name the config or split a repository (or its mirror copy) lacks, and what it has."""
    import datasets

    where = f"{repo} in the hub mirror ({path})" if path != repo else repo
    try:
        configs = datasets.get_dataset_config_names(path, revision=revision)
    except Exception:  # the original error says more than a failed second look
        return None
    if config is not None and config not in configs:
        return HubError(
            f"{where} has no config {config!r}; it has: {', '.join(configs)}. Fix: "
            f"drop that language or task from the config, or add the config to the "
            f"mirror (the embedded build makes those of embedded.languages)."
        )
    try:
        splits = datasets.get_dataset_split_names(path, config, revision=revision)
    except Exception:
        return None
    if split not in splits:
        return HubError(
            f"{where}, config {config!r}, has no split {split!r}; it has: "
            f"{', '.join(splits)}. Fix: add that split to the mirror."
        )
    return None


GITHUB_RAW = "https://raw.githubusercontent.com"


def github_cache() -> Path:
    """Where files of pinned GitHub commits are kept without a mirror: beside the HF cache."""
    from huggingface_hub import constants

    return Path(constants.HF_HOME) / "xstilts" / "github"


def files_cache() -> Path:
    """Where files published at a fixed address (layouts kind url) are kept without a mirror."""
    return github_cache().parent / "files"


def download_github(repo: str, commit: str, path: str, dest: Path) -> Path:
    """`path` of GitHub repository `repo` at `commit`, written atomically to `dest`."""
    return download(f"{GITHUB_RAW}/{repo}/{commit}/{path}", dest)


def download(url: str, dest: Path) -> Path:
    """The file at `url`, written atomically to `dest`."""
    import shutil
    import urllib.request

    from xstilts.atomic import atomic_file

    try:
        with urllib.request.urlopen(url, timeout=120) as response, atomic_file(dest) as tmp:
            with open(tmp, "wb") as out:
                shutil.copyfileobj(response, out)
    except OSError as error:
        raise HubError(
            f"could not download {url} ({type(error).__name__}: {error}). Fix: check the network, "
            f"or run `xstilts fetch` where it is reachable and set hub.mirror to its mirror."
        ) from error
    return dest


def mirror_path(mirror: str | Path, repo: str, revision: str | None = None) -> Path:
    name = repo if revision in (None, "main") else f"{repo}@{revision.replace('/', '--')}"
    return Path(mirror) / name


class Hub:
    def __init__(self, mirror: str | Path | None = None, ccgbank: str | Path | None = None):
        self.mirror = Path(mirror) if mirror else None
        self.ccgbank = Path(ccgbank) if ccgbank else None

    def _local(self, repo: str, revision: str | None) -> Path:
        path = mirror_path(self.mirror, repo, revision)
        if not path.is_dir():
            raise HubError(
                f"{repo} (revision {revision or 'main'}) is not in the hub mirror: "
                f"{path} does not exist. Fix: add it to the mirror (hub.mirror), or "
                f"set hub.mirror to null to read from the Hugging Face hub."
            )
        return path

    def dataset(
        self,
        repo: str,
        config: str | None,
        split: str,
        revision: str | None = None,
        data_files: dict[str, str] | None = None,
    ):
        """One split; `data_files` ({split: path pattern}) reads files of a repository without
        configs in its card (a parquet branch without README: universal_dependencies)."""
        import datasets

        path = repo if self.mirror is None else str(self._local(repo, revision))
        try:
            return datasets.load_dataset(
                path,
                config,
                split=split,
                revision=revision if self.mirror is None else None,
                data_files=data_files,
            )
        except FileNotFoundError as error:  # DatasetNotFoundError is one too: the hub's failures first
            failure = hub_failure(error, f"dataset {repo}")
            if failure is not None:
                raise failure from error
            if data_files is None:
                raise
            where = f"{repo} (revision {revision or 'main'})"
            where += f" in the hub mirror ({path})" if self.mirror else ""
            raise HubError(
                f"{where} has no files {', '.join(data_files.values())}. Fix: drop that language "
                f"from the config, or add the files to the mirror."
            ) from error
        except ValueError as error:  # datasets' message for an unknown config or split
            missing = _missing_config(path, repo, config, split, revision if self.mirror is None else None)
            if missing is None:
                raise
            raise missing from error
        except Exception as error:
            failure = hub_failure(error, f"dataset {repo}" + (f" ({config})" if config else ""))
            if failure is None:
                raise
            raise failure from error

    def dataset_file(self, repo: str, name: str, revision: str | None = None) -> Path:
        """One file of a dataset repository read as a file, not through `datasets` (Mewsli-X's
        raw.tar.gz): its path in the mirror, or downloaded into the Hugging Face cache."""
        if self.mirror is not None:
            path = self._local(repo, revision) / name
            if not path.is_file():
                raise HubError(
                    f"{path} does not exist: the mirror's {repo} lacks {name}. Fix: add it to the "
                    f"mirror (hub.mirror), or set hub.mirror to null to read from the Hugging Face hub."
                )
            return path
        from huggingface_hub import hf_hub_download

        try:
            return Path(hf_hub_download(repo, name, repo_type="dataset", revision=revision))
        except Exception as error:
            failure = hub_failure(error, f"dataset {repo}")
            if failure is None:
                raise
            raise failure from error

    def github_file(self, repo: str, commit: str, path: str) -> Path:
        """A file of a GitHub repository at a pinned commit (XQuAD-R's official JSON): in the
        mirror at `<mirror>/github/<repo>/<path>`, else in github_cache(), downloaded once."""
        from xstilts.layouts import GITHUB_DIR

        return self._file(
            Path(GITHUB_DIR) / repo / path,
            github_cache() / repo / commit / path,
            f"{path} of github.com/{repo} @{commit[:12]}",
            f"{GITHUB_RAW}/{repo}/{commit}/{path}",
        )

    def url_file(self, key: str, name: str) -> Path:
        """A file published at a fixed address (layouts kind `url`: the UD 2.5 release): in the
        mirror at `<mirror>/files/<key>/<name>`, else in files_cache(), downloaded once."""
        from xstilts import layouts

        url = layouts.get(key).url + name
        return self._file(Path(layouts.FILES_DIR) / key / name, files_cache() / key / name, url, url)

    def _file(self, relative: Path, cached: Path, what: str, url: str) -> Path:
        """A file read as a file: `<mirror>/<relative>`, else `cached`, downloaded from `url` once
        (refused offline)."""
        if self.mirror is not None:
            local = self.mirror / relative
            if not local.is_file():
                raise HubError(
                    f"{local} does not exist: the mirror lacks {what}. Fix: run `xstilts fetch` "
                    f"for this config, or set hub.mirror to null to download it."
                )
            return local
        if cached.is_file():
            return cached
        if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on"):
            raise HubError(
                f"HF_HUB_OFFLINE is set and {cached} is not there ({what}). Fix: run "
                f"`xstilts fetch --cache` where it is reachable."
            )
        return download(url, cached)

    def model(self, model_id: str) -> str:
        """What `from_pretrained` takes: the hub id, or its directory in the mirror. A hub id is
        checked first (its config.json, which from_pretrained reads anyway, then from the cache),
        so an unreachable hub is reported here with the repository and the fix."""
        if self.mirror is not None:
            return str(self._local(model_id, None))
        from huggingface_hub import hf_hub_download

        try:
            hf_hub_download(model_id, "config.json")
        except Exception as error:
            failure = hub_failure(error, f"model {model_id}")
            if failure is None:
                raise
            raise failure from error
        return model_id

    def ccgbank_root(self) -> Path:
        root = self.ccgbank or (self.mirror / "ccgbank" if self.mirror else None)
        if root is None or not root.is_dir():
            raise HubError(
                "CCGbank is licensed (LDC2005T13) and has no public copy: set "
                "hub.ccgbank to the directory holding data/AUTO/<section>/*.auto."
            )
        return root
