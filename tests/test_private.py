"""The directories xstilts keeps outside the workdir (xstilts.private): made 0700 whatever the
umask, refused when another user could write in them, replace them or point them elsewhere."""

import contextlib
import os
import stat

import pytest

from xstilts.private import NotPrivate, private_directory

FIX = "set XSTILTS_SOMETHING to a directory of your own"


@contextlib.contextmanager
def umask(mask):
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def mode(path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


@pytest.mark.parametrize("mask", [0o000, 0o002, 0o777])
def test_made_private_with_its_missing_parents_whatever_the_umask(tmp_path, mask):
    target = tmp_path / "a" / "b"
    with umask(mask):
        assert private_directory(target, FIX) == str(target)
    assert mode(tmp_path / "a") == mode(target) == 0o700
    assert private_directory(target, FIX) == str(target)  # the second job finds it as it is


def test_an_own_directory_only_others_could_read_is_closed(tmp_path):
    (tmp_path / "d").mkdir(mode=0o755)
    private_directory(tmp_path / "d", FIX)
    assert mode(tmp_path / "d") == 0o700


@pytest.mark.parametrize(
    "make, problem",
    [
        (lambda p: p.mkdir(mode=0o777) or p.chmod(0o777), "has mode 0o777: others may write in it"),
        (lambda p: p.mkdir() or p.chmod(0o770), "has mode 0o770: others may write in it"),
        (lambda p: p.symlink_to(p.parent / "mine", target_is_directory=True), "is a symlink"),
        (lambda p: p.write_text(""), "is not a directory"),
    ],
)
def test_a_directory_others_could_use_is_refused_with_the_fix(tmp_path, make, problem):
    (tmp_path / "mine").mkdir(mode=0o700)  # a private directory of the user's, as a symlink's target
    make(tmp_path / "d")
    with pytest.raises(NotPrivate) as refused:
        private_directory(tmp_path / "d", FIX)
    assert str(refused.value) == f"{tmp_path / 'd'} {problem}: {FIX}"


def test_a_parent_others_may_write_in_is_refused_unless_sticky(tmp_path):
    (tmp_path / "open").mkdir()
    (tmp_path / "open").chmod(0o777)
    with pytest.raises(NotPrivate, match=f"lies in {tmp_path / 'open'}, which everyone can rename it out of"):
        private_directory(tmp_path / "open" / "d", FIX)
    assert not (tmp_path / "open" / "d").exists()
    (tmp_path / "open").chmod(0o1777)  # as /tmp: only the owner of an entry may rename it
    private_directory(tmp_path / "open" / "d", FIX)
    assert mode(tmp_path / "open" / "d") == 0o700
