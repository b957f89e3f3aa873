"""Reading inputs with bounds, and writing outputs all-or-nothing: temporary files beside the
targets, renamed at the end.

Every write here makes a new file and renames it over its target, so:

- a reader never sees a file half-written, and a failure leaves the earlier file as it was;
- a link at the target is replaced, never written through (a planted ``x.bak -> ~/.bashrc``
  is replaced by a file of our own); :func:`edit_in_place` alone follows a link, for the
  user's own file that the user named, so a script kept as a link is edited where it lives;
- a file replaced keeps its mode and, where the process may set them, its owner and group.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import sys
import tempfile
import tomllib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

import platformdirs

from voicer import scratch
from voicer.errors import InputError, OutputError

CACHE_FOLDER_VARIABLE = "VOICER_CACHE_DIR"
MAX_TEXT_BYTES = 16 << 20  # a speech of some 300 hours: anything larger is not a script
_TOML_WHERE = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")


def cache_folder() -> Path:
    """The platform's cache folder for voicer (``$VOICER_CACHE_DIR`` overrides it): clips and
    jieba's dictionary and word tags, kept between runs."""
    given = os.environ.get(CACHE_FOLDER_VARIABLE)
    return Path(given) if given else Path(platformdirs.user_cache_dir("voicer", appauthor=False))


def toml_error(error: tomllib.TOMLDecodeError, path: Path) -> InputError:
    """``error``, found reading the TOML file ``path``, as an InputError at its place there.

    Before Python 3.14, TOMLDecodeError gives its line and column in its message only: they
    are read from there, the one message of another library that voicer reads.

    >>> str(toml_error(tomllib.TOMLDecodeError("Invalid value (at line 2, column 5)"), Path("a")))
    'a:2:5: Invalid value'
    """
    if sys.version_info >= (3, 14):
        return InputError(error.msg, source=str(path), line=error.lineno, column=error.colno)
    message = str(error)
    where = _TOML_WHERE.search(message)
    reason = _TOML_WHERE.sub("", message)
    if where is None:
        return InputError(reason, source=str(path))
    return InputError(reason, source=str(path), line=int(where[1]), column=int(where[2]))


def read_input(path: Path, kind: str, limit: int = MAX_TEXT_BYTES) -> bytes:
    """The bytes of an input file, with a one-line ``InputError`` for every way reading fails;
    ``kind`` names what the file should be ("text file", "subtitle file"). A file of more than
    ``limit`` bytes is refused without reading on (``/dev/zero`` never ends)."""
    with _opened(path, kind) as file:
        return read_bounded(file, str(path), kind, limit)


def check_readable(path: Path, kind: str) -> None:
    """A one-line ``InputError`` unless ``path`` is a file that can be opened and read; what
    it holds is for the tool that uses it to say (a video is not read into memory)."""
    with _opened(path, kind) as file:
        file.read(1)


def read_bounded(stream: BinaryIO, source: str, kind: str, limit: int = MAX_TEXT_BYTES) -> bytes:
    """All of ``stream`` (a file or standard input), or an ``InputError`` naming ``source``
    when it holds more than ``limit`` bytes.

    >>> import io
    >>> read_bounded(io.BytesIO(b"abc"), "stdin", "text file", limit=3)
    b'abc'
    >>> read_bounded(io.BytesIO(b"abcd"), "stdin", "text file", limit=3)
    Traceback (most recent call last):
    voicer.errors.InputError: stdin: more than 3 bytes: too large for a text file
    """
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise InputError(f"{source}: more than {_size(limit)}: too large for a {kind}")
    return data


@contextlib.contextmanager
def _opened(path: Path, kind: str) -> Iterator[BinaryIO]:
    """``path`` open for reading; every way that fails as a one-line InputError."""
    try:
        with path.open("rb") as file:
            yield file
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, not a {kind}") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None


def read_own_file(path: Path, limit: int) -> bytes | None:
    """The bytes of a file voicer wrote itself (a cache entry, a batch's stamp), or None when
    there is none to read: only a file is read, never a link, a FIFO or a device found at its
    name (a shared or cloned folder may hold ``-> /dev/zero``), and none over ``limit`` bytes.
    Opening neither follows a link nor waits for a FIFO's writer."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        handle = os.open(path, flags | getattr(os, "O_BINARY", 0))
    except OSError:
        return None
    with os.fdopen(handle, "rb") as file:
        try:
            if not stat.S_ISREG(os.fstat(handle).st_mode):
                return None
            data = file.read(limit + 1)
        except OSError:
            return None
    return data if len(data) <= limit else None


def _size(count: int) -> str:
    """
    >>> _size(16 << 20), _size(3)
    ('16 MiB', '3 bytes')
    """
    return f"{count >> 20} MiB" if count >= 1 << 20 else f"{count} bytes"


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

    On any failure (or Ctrl-C) the temporary files, and the folders made for them, are removed
    and earlier outputs stay as they were; a forced exit removes them too (``voicer.scratch``).
    An OSError in the block (a full disk, a file-size limit) becomes an ``OutputError`` naming
    the output it was writing.
    """
    made = scratch.missing_folders(targets)
    temporaries: list[Path] = []
    delivered = False
    try:
        with contextlib.ExitStack() as owning:
            owning.enter_context(scratch.owned(made))
            for target in targets:
                temporaries.append(_temporary_beside(target))
                owning.enter_context(scratch.owned(temporaries[-1:]))
            try:
                yield temporaries
            except OSError as exc:
                raise _output_error(exc, dict(zip(temporaries, targets, strict=False))) from None
            for temporary, target in zip(temporaries, targets, strict=True):
                _replace(temporary, target)
            delivered = True
    finally:
        scratch.remove(temporaries if delivered else [*temporaries, *made])


def write_atomically(target: Path, content: str | bytes) -> None:
    """Write ``content`` (UTF-8, or bytes as they are) as a new file that replaces ``target``
    (a link there included) only once it is whole; an ``OutputError`` naming ``target`` if it
    cannot be written, and then no temporary file is left."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    with atomic_outputs([target]) as (temporary,):
        write_file(temporary, data)


def write_file(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` (a temporary file of :func:`atomic_outputs`), so that an
    OSError names ``path`` however writing fails: a full disk may be told only when the file
    is closed, which names no file, and the error must name the output it was for."""
    try:
        path.write_bytes(data)
    except OSError as exc:
        exc.filename = exc.filename or str(path)
        raise


def edit_in_place(path: Path, content: str | bytes) -> None:
    """Write the user's own file ``path`` as :func:`write_atomically` does, but where a link
    there leads: the file the user named is edited, and stays a link if it was one."""
    write_atomically(path.resolve() if path.is_symlink() else path, content)


def _temporary_beside(target: Path) -> Path:
    """An empty temporary file in the target's folder."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(
            dir=target.parent, prefix=f".{target.name}.", suffix=".part"
        )
    except OSError as exc:
        raise OutputError(f"cannot write {target} ({exc.strerror or exc})") from None
    os.close(handle)
    return Path(name)


def _replace(temporary: Path, target: Path) -> None:
    """Rename ``temporary`` over ``target``, with the mode (and owner) of the file it replaces,
    or the usual mode for a new file (mkstemp makes files private)."""
    try:
        found = os.lstat(target)
    except FileNotFoundError:
        found = None
    if found is not None and stat.S_ISREG(found.st_mode):
        os.chmod(temporary, stat.S_IMODE(found.st_mode))
        if (found.st_uid, found.st_gid) != (os.getuid(), os.getgid()):
            with contextlib.suppress(OSError):  # only root may give a file away
                os.chown(temporary, found.st_uid, found.st_gid)
    else:
        os.chmod(temporary, _default_file_mode())
    try:
        os.replace(temporary, target)
    except OSError as exc:
        raise OutputError(f"cannot write {target} ({exc.strerror or exc})") from None


def _output_error(exc: OSError, targets: dict[Path, Path]) -> OutputError:
    """``exc`` as a one-line error naming the output being written (the only one, or the one
    whose temporary file it names)."""
    named = targets.get(Path(exc.filename)) if exc.filename else None
    if named is None and len(targets) == 1:
        (named,) = targets.values()
    what = named if named is not None else ", ".join(str(target) for target in targets.values())
    return OutputError(f"cannot write {what} ({exc.strerror or exc})")


def _default_file_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask
