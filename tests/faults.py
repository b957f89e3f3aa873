"""Faults made for real, for tests of what voicer does when the system says no.

- :func:`file_size_limit`: a ``preexec_fn`` that caps the size of any file the child writes
  (``ulimit -f``); a write past it fails with EFBIG.
- :func:`tmpfs`: a small file system mounted on a folder (a full disk: ENOSPC), unmounted
  afterwards; ``read_only=True`` makes one that takes nothing at all (EROFS).
- :func:`read_only`: an existing folder made read-only, its contents still readable (a bind
  mount remounted read-only). Permission bits are no fault for root, who ignores them.

Mounting needs root (or CAP_SYS_ADMIN); where it is refused, the test is skipped and says why.
"""

from __future__ import annotations

import contextlib
import resource
import signal
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest


def file_size_limit(limit: int) -> Callable[[], None]:
    """For ``preexec_fn``: the child may make no file larger than ``limit`` bytes. SIGXFSZ,
    which would kill it at the first write past the limit, is ignored, so the write fails with
    EFBIG instead, as a program sees a full quota."""

    def limited() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return limited


@contextlib.contextmanager
def tmpfs(folder: Path, size: str = "2m", read_only: bool = False) -> Iterator[Path]:
    """A tmpfs of ``size`` (``mount -o size=``: 2m, 512k) mounted on ``folder`` (made if
    missing) for the block; read-only and empty with ``read_only``."""
    folder.mkdir(parents=True, exist_ok=True)
    options = f"size={size},mode=1777" + (",ro" if read_only else "")
    _mount("-t", "tmpfs", "-o", options, "tmpfs", str(folder))
    try:
        yield folder
    finally:
        _unmount(folder)


@contextlib.contextmanager
def read_only(folder: Path) -> Iterator[Path]:
    """``folder`` (which must exist) read-only for the block, what it holds still readable."""
    _mount("--bind", str(folder), str(folder))
    try:
        _mount("-o", "remount,bind,ro", str(folder))
        yield folder
    finally:
        _unmount(folder)


def _mount(*args: str) -> None:
    try:
        done = subprocess.run(["mount", *args], capture_output=True, text=True, check=False)
    except FileNotFoundError:
        pytest.skip("no mount command here")
    if done.returncode != 0:
        pytest.skip(f"cannot mount here (root is needed): {done.stderr.strip()}")


def _unmount(folder: Path) -> None:
    """Unmount ``folder``; lazily if something still holds it open (it goes once released)."""
    if subprocess.run(["umount", str(folder)], capture_output=True, check=False).returncode:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True, check=False)
