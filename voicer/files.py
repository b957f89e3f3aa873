"""Writing outputs all-or-nothing: temporary files beside the targets, renamed at the end."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from voicer.errors import InputError, OutputError


def read_input(path: Path, kind: str) -> bytes:
    """The bytes of an input file, with a one-line ``InputError`` for every way reading fails;
    ``kind`` names what the file should be ("text file", "subtitle file")."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, not a {kind}") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None


def check_writable(path: Path) -> None:
    """Make sure ``path`` could be created, before any work starts, leaving nothing behind.

    The nearest existing folder above it must be a folder where something can really be made:
    permission bits are not enough (root may write anywhere by them, yet /proc, /sys or a
    read-only mount take nothing). So a probe is made there and removed at once: a temporary
    file when the file's own folder exists, else a temporary folder, as the missing folders
    will be made when the outputs are written.
    """
    if path.is_dir():
        raise InputError(f"{path}: is a directory")
    folder = path.parent.absolute()
    existing = folder
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise InputError(f"{path.parent}: cannot write output here ({existing} is not a folder)")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise InputError(f"{path.parent}: cannot write output here (permission denied)")
    try:
        if existing == folder:
            handle, probe = tempfile.mkstemp(dir=existing, prefix=".voicer-probe-")
            os.close(handle)
            os.unlink(probe)
        else:
            os.rmdir(tempfile.mkdtemp(dir=existing, prefix=".voicer-probe-"))
    except OSError as exc:
        reason = (exc.strerror or type(exc).__name__).lower()
        if existing != folder:
            reason = f"no folder can be made in {existing}: {reason}"
        raise InputError(f"{path.parent}: cannot write output here ({reason})") from None


@contextlib.contextmanager
def atomic_outputs(targets: Sequence[Path]) -> Iterator[list[Path]]:
    """Yield temporary paths for ``targets``; replace the targets only if the block succeeds.

    On any failure (or Ctrl-C) the temporary files are removed and earlier outputs stay as
    they were.
    """
    temporaries = []
    try:
        for target in targets:
            temporaries.append(_temporary_beside(target))
        yield temporaries
        mode = _default_file_mode()
        for temporary, target in zip(temporaries, targets, strict=True):
            os.chmod(temporary, mode)  # mkstemp makes files private; outputs get the usual mode
            os.replace(temporary, target)
    finally:
        for temporary in temporaries:
            temporary.unlink(missing_ok=True)


def write_atomically(target: Path, text: str | bytes) -> None:
    """Write ``text`` (UTF-8, or bytes as they are) to ``target`` by way of a temporary file
    beside it, so that a reader never sees it half-written; OSError if it cannot be written."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    data = text.encode("utf-8") if isinstance(text, str) else text
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        os.replace(name, target)
    finally:
        Path(name).unlink(missing_ok=True)


def _temporary_beside(target: Path) -> Path:
    """An empty temporary file in the target's folder (made now, after the work succeeded)."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(
            dir=target.parent, prefix=f".{target.name}.", suffix=".part"
        )
    except OSError as exc:
        raise OutputError(f"cannot write {target} ({exc.strerror})") from None
    os.close(handle)
    return Path(name)


def _default_file_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask
