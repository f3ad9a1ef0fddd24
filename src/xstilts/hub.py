"""One loading path for the Hugging Face hub and for a local mirror laid out like it.

With ``mirror`` set, hub id ``org/name`` is the directory ``<mirror>/org/name`` and a revision
other than main is ``<mirror>/org/name@<revision with / as -->``; the same ``datasets`` and
``transformers`` calls read it, so the embedded default tests the real code path.
"""

from __future__ import annotations

from pathlib import Path


class HubError(RuntimeError):
    pass


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
            raise HubError(f"{repo} (revision {revision or 'main'}) is not in the hub mirror: "
                           f"{path} does not exist. Build the mirror or set hub.mirror to null "
                           f"to read from the Hugging Face hub.")
        return path

    def dataset(self, repo: str, config: str | None, split: str, revision: str | None = None):
        import datasets
        if self.mirror is None:
            return datasets.load_dataset(repo, config, split=split, revision=revision)
        return datasets.load_dataset(str(self._local(repo, revision)), config, split=split)

    def model(self, model_id: str) -> str:
        """What `from_pretrained` takes: the hub id, or its directory in the mirror."""
        return model_id if self.mirror is None else str(self._local(model_id, None))

    def ccgbank_root(self) -> Path:
        root = self.ccgbank or (self.mirror / "ccgbank" if self.mirror else None)
        if root is None or not root.is_dir():
            raise HubError("CCGbank is licensed (LDC2005T13) and has no public copy: set "
                           "hub.ccgbank to the directory holding data/AUTO/<section>/*.auto.")
        return root
