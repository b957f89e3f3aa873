"""Cepstral features for alignment: 13 log-mel cepstra (c0 to c12) with their deltas and
delta-deltas, one frame every 10 ms, each coefficient normalised to zero mean and unit
variance over the file, so that level, microphone and voice colour weigh less than what
is said."""

from __future__ import annotations

from functools import cache

import numpy as np
from scipy.fft import dct, rfft

from voicer.model import Signal

HOP_MS = 10
WINDOW_MS = 25
MEL_BANDS = 40
CEPSTRA = 13
DELTA_SPAN = 2  # frames each side for the delta regression
_FRAMES_PER_READ = 4096


def hop(sample_rate: int) -> int:
    """Samples between frames.

    >>> hop(24000), hop(16000)
    (240, 160)
    """
    return sample_rate * HOP_MS // 1000


def frame_count(length: int, sample_rate: int) -> int:
    """Frames of a signal of ``length`` samples: frame i starts at sample ``i * hop``.

    >>> frame_count(24000, 24000), frame_count(24001, 24000), frame_count(0, 24000)
    (100, 101, 0)
    """
    return -(-length // hop(sample_rate))


def features(signal: Signal, start: int = 0, stop: int | None = None) -> np.ndarray:
    """The normalised features of ``signal[start:stop]``, shape (frames, 39), float32; read a
    few thousand frames at a time, so only the features are held, about 9 MB per hour."""
    stop = signal.length if stop is None else stop
    rate = signal.sample_rate
    step, width = hop(rate), rate * WINDOW_MS // 1000
    count = frame_count(max(stop - start, 0), rate)
    cepstra = np.empty((count, CEPSTRA), dtype=np.float32)
    for first in range(0, count, _FRAMES_PER_READ):
        frames = min(_FRAMES_PER_READ, count - first)
        begin = start + first * step
        samples = signal.read(begin, begin + (frames - 1) * step + width)
        cepstra[first : first + frames] = _cepstra(samples, rate, frames)
    return normalised(with_deltas(cepstra))


def _cepstra(samples: np.ndarray, rate: int, frames: int) -> np.ndarray:
    step, width = hop(rate), rate * WINDOW_MS // 1000
    log = np.log(np.maximum(mel_energies(samples, rate, frames, step, width), 1e-10))
    return dct(log, type=2, norm="ortho", axis=1)[:, :CEPSTRA]


def mel_energies(samples: np.ndarray, rate: int, frames: int, step: int, width: int) -> np.ndarray:
    """The energy in each mel band of ``frames`` windows of ``width`` samples, ``step`` apart,
    from the start of ``samples`` (pre-emphasised), shape (frames, MEL_BANDS)."""
    emphasised = np.append(samples[:1], samples[1:] - 0.97 * samples[:-1]).astype(np.float32)
    windows = np.lib.stride_tricks.sliding_window_view(emphasised, width)[::step][:frames]
    size = 1 << (width - 1).bit_length()
    power = np.abs(rfft(windows * np.hamming(width).astype(np.float32), size)) ** 2
    return power @ _mel_filters(rate, size)


@cache
def _mel_filters(rate: int, size: int) -> np.ndarray:
    """Triangular mel filters, shape (size // 2 + 1, MEL_BANDS), from 60 Hz to 7.6 kHz."""

    def mel(hz: np.ndarray) -> np.ndarray:
        return 2595 * np.log10(1 + hz / 700)

    def hz(mels: np.ndarray) -> np.ndarray:
        return 700 * (10 ** (mels / 2595) - 1)

    top = min(7600.0, rate / 2)
    edges = hz(np.linspace(mel(np.array(60.0)), mel(np.array(top)), MEL_BANDS + 2))
    bins = np.fft.rfftfreq(size, 1 / rate)
    low, centre, high = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (bins - low) / (centre - low)
    falling = (high - bins) / (high - centre)
    return np.maximum(0, np.minimum(rising, falling)).T.astype(np.float32)


def with_deltas(cepstra: np.ndarray) -> np.ndarray:
    """The cepstra followed by their deltas and delta-deltas (regression over
    ``DELTA_SPAN`` frames each side, the ends repeated).

    >>> with_deltas(np.arange(5, dtype=np.float32)[:, None])[:, 1].tolist()
    [0.5, 0.800000011920929, 1.0, 0.800000011920929, 0.5]
    """
    width = cepstra.shape[1]
    values = np.empty((len(cepstra), 3 * width), dtype=np.float32)
    values[:, :width] = cepstra
    values[:, width : 2 * width] = _delta(cepstra)
    values[:, 2 * width :] = _delta(values[:, width : 2 * width])
    return values


def _delta(values: np.ndarray) -> np.ndarray:
    span = DELTA_SPAN
    padded = np.pad(values, ((span, span), (0, 0)), mode="edge")
    total = np.zeros(values.shape, dtype=np.float32)
    for n in range(1, span + 1):
        total += n * (padded[span + n : len(padded) - span + n] - padded[span - n : -span - n])
    return total / (2 * sum(n * n for n in range(1, span + 1)))


def normalised(values: np.ndarray) -> np.ndarray:
    """Each column at zero mean and unit variance (a constant column at zero), in place, a
    column at a time (an hour's features are 56 MB: no copy of them all).

    >>> normalised(np.array([[1.0, 5.0], [3.0, 5.0]], dtype=np.float32)).tolist()
    [[-1.0, 0.0], [1.0, 0.0]]
    """
    for column in values.T:
        column -= column.mean(dtype=np.float64)
        deviation = float(np.sqrt(np.mean(np.square(column, dtype=np.float64))))
        if deviation > 0:
            column /= deviation
    return values
