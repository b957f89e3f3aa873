"""Scratch space that is removed on every way out of a process, even a forced one.

Each process keeps its scratch files in a folder of its own in the temporary folder,
``voicer-scratch-<pid>-<random>``, and holds an exclusive ``flock`` on the ``lock`` file in it
while it lives. The kernel lets go of the lock however the process ends (kill -9 included), so
the folder of a process that is gone is one whose lock can be taken: the first time a process
needs scratch, it removes such folders.

A normal exit removes the process's folder (``atexit``); a forced exit (``os._exit``) must
call :func:`remove_all` first, which also removes the files and folders made elsewhere that
:func:`owned` registered (the temporary outputs beside the targets) while they are live.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

PREFIX = "voicer-scratch-"
LOCK = "lock"
_STAGING = "."  # a folder is set up under this prefix, so that it is locked before it is seen

_making = threading.Lock()
_registering = threading.Lock()
_folder: Path | None = None
_owner = 0  # the process that made _folder (a forked child must not remove its parent's)
_registered: dict[Path, int] = {}  # paths removed at a forced exit, with how often registered


def folder() -> Path:
    """This process's scratch folder, made (and other processes' leftovers swept) on first use."""
    global _folder, _owner
    with _making:
        if _folder is None or _owner != os.getpid():
            base = Path(tempfile.gettempdir())
            sweep(base)
            _folder, _owner = _make_locked_folder(base), os.getpid()
            atexit.register(remove_all)
        return _folder


def _make_locked_folder(base: Path) -> Path:
    staging = Path(tempfile.mkdtemp(prefix=f"{_STAGING}{PREFIX}{os.getpid()}-", dir=base))
    handle = os.open(staging / LOCK, os.O_CREAT | os.O_RDWR | os.O_CLOEXEC, 0o600)
    fcntl.flock(handle, fcntl.LOCK_EX)  # kept open, so held, for the life of the process
    final = base / staging.name.removeprefix(_STAGING)
    staging.rename(final)
    return final


def sweep(base: Path) -> list[Path]:
    """Remove the scratch folders in ``base`` whose process is gone; the folders removed."""
    removed = []
    for candidate in base.glob(f"{PREFIX}*"):
        if candidate != _folder and _remove_if_abandoned(candidate):
            removed.append(candidate)
    for staging in base.glob(f"{_STAGING}{PREFIX}*"):  # a process killed while setting up
        if not _alive(_pid_in(staging.name)):
            shutil.rmtree(staging, ignore_errors=True)
            removed.append(staging)
    return removed


def _remove_if_abandoned(candidate: Path) -> bool:
    try:
        handle = os.open(candidate / LOCK, os.O_RDWR | os.O_CLOEXEC)
    except OSError:
        return False  # not one of ours, or removed meanwhile
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False  # its process is alive
    else:
        shutil.rmtree(candidate, ignore_errors=True)
        return True
    finally:
        os.close(handle)


def _pid_in(name: str) -> int:
    with contextlib.suppress(ValueError):
        return int(name.removeprefix(_STAGING).removeprefix(PREFIX).split("-")[0])
    return 0


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


@contextlib.contextmanager
def owned(paths: Sequence[Path]) -> Iterator[None]:
    """While the block runs, a forced exit removes ``paths`` (files, or empty folders)."""
    with _registering:
        for path in paths:
            _registered[path] = _registered.get(path, 0) + 1
    try:
        yield
    finally:
        with _registering:
            for path in paths:
                _registered[path] -= 1
                if not _registered[path]:
                    del _registered[path]


def remove_all() -> None:
    """Remove this process's scratch folder and every path :func:`owned` holds now. Safe in a
    signal handler and at exit."""
    if _folder is not None and _owner == os.getpid():
        shutil.rmtree(_folder, ignore_errors=True)
    remove(list(_registered))


def remove(paths: Sequence[Path]) -> None:
    """Remove files, and folders if they are empty (what was delivered there stays), deepest
    first, so that a folder is emptied before it is tried; what cannot be removed is left."""
    for path in sorted(paths, key=lambda p: len(p.parts), reverse=True):
        with contextlib.suppress(OSError):
            if path.is_dir() and not path.is_symlink():
                path.rmdir()
            else:
                path.unlink(missing_ok=True)


def missing_folders(targets: Sequence[Path]) -> list[Path]:
    """The folders that do not exist yet above ``targets``, which writing them would make."""
    missing = set()
    for target in targets:
        folder = target.absolute().parent
        while not folder.exists():
            missing.add(folder)
            folder = folder.parent
    return sorted(missing)
