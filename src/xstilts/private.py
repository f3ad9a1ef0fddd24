"""The directories xstilts keeps outside the workdir (the warm process's sockets, locks and logs;
the GPU slot locks) on nodes other users share.

Their default places are predictable names in shared directories such as /tmp, where another user
can create the name first: as a directory of theirs, one open to everyone, or a symlink to
somewhere of the user's. So each is the user's own, or refused: created here with mode 0700 (and
its missing parents likewise); an existing one must be a real directory (not a symlink), owned by
the user and writable by nobody else, and is then closed to others (0700) if it was only
readable. Every directory above it must be one that nobody else can rename it out of: owned by
root or the user, and writable by no one else unless sticky (as /tmp is).

(os only: the warm process's client calls this for every job.)
"""

from __future__ import annotations

import errno
import os
import stat


class NotPrivate(OSError):
    """A directory that would be shared with other users: its path, what is wrong, the fix."""

    def __str__(self) -> str:
        return self.strerror


def private_directory(path: str | os.PathLike, fix: str) -> str:
    """`path` as an absolute string, once it is the user's own directory (see the module
    docstring); else NotPrivate, whose message ends with `fix`."""
    path = os.path.abspath(path)
    parent = os.path.dirname(path)
    if not os.path.isdir(parent):
        private_directory(parent, fix)
    parent = os.path.realpath(parent)
    path = os.path.join(parent, os.path.basename(path))
    uid = os.getuid()
    for above in _ancestors(parent):
        info = os.stat(above)
        open_to_others = info.st_mode & 0o022 and not info.st_mode & stat.S_ISVTX
        if info.st_uid not in (0, uid) or open_to_others:
            problem = f"lies in {above}, which {_who(info)} can rename it out of"
            raise NotPrivate(errno.EPERM, f"{path} {problem}: {fix}")
    try:
        os.mkdir(path, 0o700)
        os.chmod(path, 0o700)  # a umask may take the user's own bits off; nobody else can swap it
    except FileExistsError:
        pass
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as error:
        if error.errno not in (errno.ELOOP, errno.ENOTDIR):
            raise
        kind = "a symlink" if os.path.islink(path) else "not a directory"
        raise NotPrivate(errno.EPERM, f"{path} is {kind}: {fix}") from None
    try:
        info = os.fstat(fd)
        if info.st_uid != uid:
            raise NotPrivate(
                errno.EPERM, f"{path} belongs to uid {info.st_uid}, not to you (uid {uid}): {fix}"
            )
        if info.st_mode & 0o022:
            mode = oct(stat.S_IMODE(info.st_mode))
            raise NotPrivate(errno.EPERM, f"{path} has mode {mode}: others may write in it: {fix}")
        if info.st_mode & 0o077:  # only readable by others, so nothing of theirs is inside
            os.fchmod(fd, 0o700)
    finally:
        os.close(fd)
    return path


def _ancestors(directory: str) -> list[str]:
    chain = [directory]
    while chain[-1] != os.path.dirname(chain[-1]):
        chain.append(os.path.dirname(chain[-1]))
    return chain


def _who(info: os.stat_result) -> str:
    if info.st_uid not in (0, os.getuid()):
        return f"its owner uid {info.st_uid}"
    return "its group" if not info.st_mode & 0o002 else "everyone"
