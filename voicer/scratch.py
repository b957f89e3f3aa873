"""Scratch space that is removed on every way out of a process, even a forced one.

Each process keeps its scratch files in a folder of its own in the temporary folder,
``voicer-scratch-<pid>-<random>``, and holds a lock on the ``lock`` file in it while it lives
(``flock``; on Windows ``msvcrt.locking``). The system lets go of the lock however the process
ends (kill -9 included), so the first time a process needs scratch, it removes the folders whose
lock it can take: their process is gone. A folder is spared while it may be being set up (its
process alive and the folder less than a minute old), so a reused process id keeps a stale
folder for a minute at most.

A normal exit removes the process's folder (``atexit``); a forced exit (``os._exit``) must
call :func:`remove_all` first, which also removes the files and folders made elsewhere that
:func:`owned` registered (the temporary outputs beside the targets) while they are live.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

if sys.platform == "win32":
    import msvcrt
else:
    import fcntl

PREFIX = "voicer-scratch-"
LOCK = "lock"
SETTING_UP_SECONDS = 60  # far longer than making a folder and locking it takes

_making = threading.Lock()
_registering = threading.Lock()
_folder: Path | None = None
_owner = 0  # the process that made _folder (a forked child makes a folder of its own)
_importer = os.getpid()  # only this process removes: a forked child leaves its parent's alone
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
    made = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-", dir=base))
    handle = os.open(made / LOCK, os.O_CREAT | os.O_RDWR, 0o600)
    _lock(handle, wait=True)  # kept open, so held, for the life of the process
    return made


def sweep(base: Path) -> list[Path]:
    """Remove the scratch folders in ``base`` whose process is gone; the folders removed."""
    removed = []
    for candidate in base.glob(f"{PREFIX}*"):
        if candidate != _folder and _abandoned(candidate):
            shutil.rmtree(candidate, ignore_errors=True)
            removed.append(candidate)
    return removed


def _abandoned(candidate: Path) -> bool:
    pid = _pid_in(candidate.name)
    if pid is None or candidate.is_symlink() or not candidate.is_dir():
        return False  # not a folder this module makes
    setting_up = pid != os.getpid() and _alive(pid) and _age(candidate) < SETTING_UP_SECONDS
    return not setting_up and _lock_free(candidate / LOCK)


def _pid_in(name: str) -> int | None:
    number = name.removeprefix(PREFIX).split("-")[0]
    return int(number) if number.isdigit() else None


def _alive(pid: int) -> bool:
    if sys.platform == "win32":
        return True  # os.kill would end the process there: the lock decides, after a minute
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def _age(path: Path) -> float:
    try:
        return time.time() - path.stat().st_mtime
    except OSError:
        return 0.0


def _lock_free(path: Path) -> bool:
    """Whether no process holds the lock file at ``path`` (a missing one: its process ended
    before it was made). A link there is no lock of ours, and is never followed: opening may
    do something where it leads (``-> /dev/watchdog`` arms a watchdog), so its folder stays."""
    flags = os.O_RDWR | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        handle = os.open(path, flags)
    except FileNotFoundError:
        return True
    except OSError:
        return False
    try:
        return _lock(handle, wait=False)
    finally:
        os.close(handle)  # lets go of it again


def _lock(handle: int, wait: bool) -> bool:
    """Lock an open lock file; False when another process holds it (and ``wait`` is False)."""
    try:
        if sys.platform == "win32":
            msvcrt.locking(handle, msvcrt.LK_LOCK if wait else msvcrt.LK_NBLCK, 1)
        else:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
    except OSError:
        return False
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
    if os.getpid() != _importer:
        return  # a forked child: its own folder is swept once it has ended
    if _folder is not None:
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
