"""Faults of the filesystem, made for real: a full disk, a read-only folder, a file-size limit.

Root ignores permission bits, so a folder is made read-only, or small, by mounting a tmpfs
there; where mounting is not allowed (not root, or no mount namespace), the test is skipped
with that reason rather than passing on a fault it never met.
"""

from __future__ import annotations

import contextlib
import resource
import signal
import subprocess
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest


def file_size_limit(size: int) -> Callable[[], None]:
    """A ``preexec_fn`` for a child that may write no file larger than ``size`` bytes: a write
    past it fails with EFBIG ("File too large"), as under ``ulimit -f``, instead of the signal
    that would kill the child."""

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))

    return limit


@contextlib.contextmanager
def small_disk(folder: Path, size: str = "1m") -> Iterator[Path]:
    """``folder`` as a disk of ``size`` (a tmpfs), so that writing more fails with ENOSPC."""
    with _tmpfs(folder, f"size={size}"):
        yield folder


@contextlib.contextmanager
def read_only_folder(folder: Path, content: Mapping[str, str] | None = None) -> Iterator[Path]:
    """``folder`` holding ``content`` (file name to text), then mounted read-only: nothing can
    be made, changed or removed in it, by root either."""
    with _tmpfs(folder, "size=1m"):
        for name, text in (content or {}).items():
            (folder / name).write_text(text, encoding="utf-8")
        _mount("-o", "remount,ro", str(folder))
        yield folder


@contextlib.contextmanager
def _tmpfs(folder: Path, options: str) -> Iterator[None]:
    folder.mkdir(parents=True, exist_ok=True)
    _mount("-t", "tmpfs", "-o", options, "tmpfs", str(folder))
    try:
        yield
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False, capture_output=True)


def _mount(*arguments: str) -> None:
    try:
        done = subprocess.run(["mount", *arguments], capture_output=True, text=True, check=False)
    except FileNotFoundError:
        pytest.skip("no mount command here to make a small or read-only disk")
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
