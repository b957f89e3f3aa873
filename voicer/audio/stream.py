"""Mono float32 signals read a block at a time, so a programme of any length fits in memory.

A :class:`Signal` has a ``length`` and a ``sample_rate`` and answers ``read(start, stop)``.
The programme lives in a :class:`PcmFile` on disk; gain, resampling and limiting are views
over another signal, each working on one block (plus the context it needs) at a time.
"""

from __future__ import annotations

import contextlib
import errno
import math
import os
import queue
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from voicer import scratch
from voicer.errors import OutputError
from voicer.model import Signal

BLOCK = 1 << 19  # samples per block: about 11 s at 48 kHz, 2 MB of float32


def blocks(signal: Signal, size: int = BLOCK) -> Iterator[np.ndarray]:
    """The whole signal, ``size`` samples at a time."""
    for start in range(0, signal.length, size):
        yield signal.read(start, min(start + size, signal.length))


def materialise(signal: Signal) -> np.ndarray:
    """The whole signal as one array (for short signals and tests)."""
    return signal.read(0, signal.length)


def padded(samples: np.ndarray, offset: int, start: int, stop: int) -> np.ndarray:
    """``samples`` (which begin at position ``offset``) over ``start:stop``, zeros outside.

    >>> padded(np.arange(1, 4, dtype=np.float32), 10, 9, 14).tolist()
    [0.0, 1.0, 2.0, 3.0, 0.0]
    """
    out = np.zeros(max(0, stop - start), np.float32)
    lo, hi = max(start, offset), min(stop, offset + samples.size)
    if hi > lo:
        out[lo - start : hi - start] = samples[lo - offset : hi - offset]
    return out


def spool(source: Signal, on_block: Callable[[np.ndarray], None] | None = None) -> PcmFile:
    """``source`` computed once into a scratch file (to be closed by the caller), so that
    later passes read it instead of computing it again; ``on_block`` sees each block."""
    pcm = PcmFile(source.sample_rate)
    try:
        for block in blocks(source):
            pcm.append(block)
            if on_block:
                on_block(block)
    except BaseException:
        pcm.close()
        raise
    return pcm


class Aside:
    """Hands blocks to ``sink`` in another thread, in order, while the caller computes the
    next: numpy and scipy's kernels let go of the GIL as they work, so with two cores both
    go on at once. At most ``depth`` blocks wait. Use it as a context manager: leaving waits
    for the last block and raises what ``sink`` raised."""

    def __init__(self, sink: Callable[[np.ndarray], None], depth: int = 2) -> None:
        self.sink = sink
        self.waiting: queue.Queue[np.ndarray | None] = queue.Queue(depth)
        self.failed: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def feed(self, block: np.ndarray) -> None:
        if self.failed is not None:
            raise self.failed
        self.waiting.put(block)

    def __enter__(self) -> Aside:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close(raising=exc[0] is None)

    def close(self, raising: bool = True) -> None:
        """Wait for the blocks fed to be done; raise what ``sink`` raised, if ``raising``."""
        self.waiting.put(None)
        self.thread.join()
        if self.failed is not None and raising:
            raise self.failed

    def _run(self) -> None:
        while (block := self.waiting.get()) is not None:
            if self.failed is None:
                try:
                    self.sink(block)
                except BaseException as exc:  # noqa: BLE001 - raised in the caller's thread
                    self.failed = exc


class ArraySignal:
    """A signal held in memory."""

    def __init__(self, samples: np.ndarray, sample_rate: int) -> None:
        self.samples = np.asarray(samples, dtype=np.float32)
        self.sample_rate = sample_rate

    @property
    def length(self) -> int:
        return int(self.samples.size)

    def read(self, start: int, stop: int) -> np.ndarray:
        return padded(self.samples, 0, start, stop)


class PcmFile:
    """A signal in a temporary file of raw float32, written once in order, then read.

    Use it as a context manager (or call :meth:`close`): the file is removed when closed. It
    is made in the process's scratch folder (:mod:`voicer.scratch`) unless ``directory`` says
    otherwise; a write that fails (a full disk, a file size limit) is an ``OutputError``.
    """

    def __init__(self, sample_rate: int, directory: Path | None = None) -> None:
        self.sample_rate = sample_rate
        with _scratch_errors(None):
            where = directory or scratch.folder()
            handle, name = tempfile.mkstemp(prefix="voicer-", suffix=".f32", dir=where)
        self.path = Path(name)
        self._file = os.fdopen(handle, "w+b")
        self.length = 0

    def append(self, samples: np.ndarray) -> None:
        with _scratch_errors(self.path):
            self._file.seek(0, os.SEEK_END)
            self._file.write(np.ascontiguousarray(samples, dtype="<f4").tobytes())
        self.length += int(samples.size)

    def read(self, start: int, stop: int) -> np.ndarray:
        lo, hi = max(0, start), min(self.length, stop)
        if hi <= lo:
            return np.zeros(max(0, stop - start), np.float32)
        with _scratch_errors(self.path):
            self._file.flush()  # the buffered end of what was appended
        self._file.seek(lo * 4)
        inside = np.frombuffer(self._file.read((hi - lo) * 4), dtype="<f4")
        return padded(inside, lo, start, stop)

    def close(self) -> None:
        try:
            with contextlib.suppress(OSError):  # what it could not flush is removed anyway
                self._file.close()
        finally:
            self.path.unlink(missing_ok=True)

    def __enter__(self) -> PcmFile:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


@contextlib.contextmanager
def _scratch_errors(path: Path | None) -> Iterator[None]:
    """An OSError on a scratch file as a one-line ``OutputError`` naming the file (``path``,
    else the one the error names)."""
    try:
        yield
    except OSError as exc:
        hint = "; TMPDIR sets where scratch goes" if exc.errno in _ELSEWHERE else ""
        message = f"cannot write scratch file {path or exc.filename} ({exc.strerror}{hint})"
        raise OutputError(message) from None


# errors that a TMPDIR on another disk would avoid (a file size limit would stay)
_ELSEWHERE = (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES)


class Gained:
    """A signal times a gain that moves linearly between knots (flat before the first and
    after the last): ``np.interp(position, positions, gains)``."""

    def __init__(self, source: Signal, positions: np.ndarray, gains: np.ndarray) -> None:
        self.source = source
        self.positions = np.asarray(positions, dtype=np.float64)
        self.gains = np.asarray(gains, dtype=np.float64)
        self.unity = bool(np.all(self.gains == 1.0))  # levelling that changed nothing
        self.sample_rate = source.sample_rate

    @property
    def length(self) -> int:
        return self.source.length

    def read(self, start: int, stop: int) -> np.ndarray:
        samples = self.source.read(start, stop)
        if self.positions.size == 0 or self.unity:
            return samples
        gain = np.interp(np.arange(start, stop, dtype=np.float64), self.positions, self.gains)
        return (samples * gain).astype(np.float32)


class Scaled:
    """A signal times one constant gain."""

    def __init__(self, source: Signal, gain: float) -> None:
        self.source, self.gain = source, np.float32(gain)
        self.sample_rate = source.sample_rate

    @property
    def length(self) -> int:
        return self.source.length

    def read(self, start: int, stop: int) -> np.ndarray:
        return self.source.read(start, stop) * self.gain


class Resampled:
    """A signal at another sample rate (band-limited, by a rational factor), computed block
    by block with enough context either side that the joins are seamless."""

    CONTEXT = 64  # input samples either side; the polyphase filter reaches about 10

    def __init__(self, source: Signal, sample_rate: int) -> None:
        self.source = source
        self.sample_rate = sample_rate
        factor = math.gcd(source.sample_rate, sample_rate)
        self.up, self.down = sample_rate // factor, source.sample_rate // factor

    @property
    def length(self) -> int:
        return -(-self.source.length * self.up // self.down)

    def read(self, start: int, stop: int) -> np.ndarray:
        from voicer.audio._scipy import resample_poly

        if self.up == self.down:
            return self.source.read(start, stop)
        # input from a multiple of ``down`` (so output sample k of the piece is at start)
        first = start * self.down // self.up // self.down * self.down
        context = -(-self.CONTEXT // self.down) * self.down
        last = -(-stop * self.down // self.up) + 1
        piece = self.source.read(first - context, last + context)
        out = resample_poly(piece, self.up, self.down).astype(np.float32, copy=False)
        offset = (first - context) * self.up // self.down  # output position of out[0]
        out = padded(out, offset, start, stop)
        out[max(0, self.length - start) :] = 0.0
        return out
