"""True peak (ITU-R BS.1770-4 annex 2): the signal oversampled to at least 176.4 kHz (4x at
44.1/48 kHz, 8x at 24 kHz) through polyphase interpolation filters, scanned only around its
loudest samples."""

from __future__ import annotations

import math
from collections.abc import Iterator
from functools import cache

import numpy as np

from voicer.audio._scipy import firwin

FILTER_HALF = 8  # interpolation taps on each side of an inter-sample position
_FILTER_BETA = 5.0  # Kaiser window: flat to 0.8 x Nyquist within 0.03 dB, images under -40 dB
_MIN_TRUE_PEAK_RATE = 176400  # oversample to at least this (4x at 44.1 and 48 kHz)
CHUNK = 1 << 16  # samples per vectorised step, small enough to stay in cache


def mono(samples: np.ndarray) -> np.ndarray:
    """``samples`` as an array, checked to be one channel."""
    x = np.asarray(samples)
    if x.ndim != 1:
        raise ValueError(f"expected mono samples (one dimension), got shape {x.shape}")
    return x


def true_peak(samples: np.ndarray, rate: int) -> float:
    """True peak in dBTP: the highest absolute value of the signal oversampled to >= 176.4 kHz.

    A sine at a quarter of the sample rate sampled 45 degrees off its crests (faded in and out:
    an abrupt start rings) has samples 3 dB under its true peak:

    >>> x = np.sin(np.pi / 2 * np.arange(4800) + np.pi / 4) * np.hanning(4800) ** 0.01
    >>> sample_peak = float(20 * np.log10(np.abs(x).max()))
    >>> round(sample_peak, 2), round(true_peak(x, 48000) - sample_peak, 2)
    (-3.01, 3.01)
    """
    x = mono(samples)
    if x.size == 0:
        return -math.inf
    peak = _sample_peak(x)
    if peak == 0.0:
        return -math.inf
    for _, envelope in oversampled_envelope(x, rate, peak):
        peak = max(peak, float(envelope.max()))
    return 20 * math.log10(peak)


class PeakReader:
    """The true peak of a signal fed to it a block at a time, in order.

    A block's inter-sample peaks depend on the samples after it, so each block is held until
    the next one comes (or the peak is asked for).
    """

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self._peak = 0.0
        self._held = np.empty(0, np.float32)  # waits for the samples after it
        self._before = np.empty(0, np.float32)  # the samples just before ``_held``

    def feed(self, following: np.ndarray) -> None:
        """Fold the held block's true peak in, now that the samples after it are known."""
        self._peak = max(self._peak, self._held_peak(following[:FILTER_HALF]))
        tail = [self._before[-FILTER_HALF:], self._held[-FILTER_HALF:]]
        context = np.concatenate(tail)[-FILTER_HALF:]
        self._before, self._held = context, following.astype(np.float32)

    def dbtp(self) -> float:
        """True peak in dBTP of all fed so far (``-inf`` for silence)."""
        peak = max(self._peak, self._held_peak(np.empty(0, np.float32)))
        return 20 * math.log10(peak) if peak > 0 else -math.inf

    def _held_peak(self, after: np.ndarray) -> float:
        if self._held.size == 0:
            return 0.0
        peak = max(self._peak, _sample_peak(self._held))
        x = np.concatenate([self._before, self._held, after]).astype(np.float32, copy=False)
        start = self._before.size
        for _, envelope in oversampled_envelope(x, self.rate, peak, start, start + self._held.size):
            peak = max(peak, float(envelope.max()))
        return peak


def true_peak_bound(sample_peak: float, rate: int) -> float:
    """The most in dBTP that the true peak of a signal at ``rate`` whose samples reach
    ``sample_peak`` can be: what the interpolation filters can make of such samples (6.4 dB
    over them at 44.1 and 48 kHz)."""
    if sample_peak <= 0.0:
        return -math.inf
    return 20 * math.log10(sample_peak * _phase_filters(_oversampling(rate))[1])


def sample_peak(x: np.ndarray) -> float:
    """The largest absolute sample of ``x`` (0 when empty)."""
    return _sample_peak(x)


def _sample_peak(x: np.ndarray) -> float:
    return float(max(x.max(), -x.min())) if x.size else 0.0


def _oversampling(rate: int) -> int:
    """The oversampling factor for ``rate``: 4 at 44.1/48 kHz, 8 at 24 kHz, 1 at 192 kHz."""
    return max(1, -(-_MIN_TRUE_PEAK_RATE // rate))


@cache
def _phase_filters(factor: int) -> tuple[np.ndarray, float]:
    """Polyphase interpolation taps, one row per inter-sample position 1/factor .. (f-1)/f,
    and the largest absolute tap sum (how far an interpolated value can exceed its inputs).

    The prototype is a Kaiser-windowed sinc cut off at the original Nyquist frequency; its zero
    crossings fall on the original samples, so position 0 is the samples themselves.
    """
    taps = 2 * FILTER_HALF
    if factor == 1:  # 176.4 kHz and above: the samples alone, no position between them
        return np.zeros((0, taps), np.float32), 1.0
    prototype = firwin(taps * factor + 1, 1 / factor, _FILTER_BETA)
    prototype *= factor
    # value at n + p/factor = sum over k of rows[p - 1][k] * x[n - HALF + 1 + k]
    rows = np.array(
        [[prototype[(taps - 1 - k) * factor + p] for k in range(taps)] for p in range(1, factor)]
    ).reshape(factor - 1, taps)
    bound = max(1.0, float(np.abs(rows).sum(axis=1).max(initial=0.0)))
    return rows.astype(np.float32), bound


def oversampled_envelope(
    x: np.ndarray, rate: int, floor: float, start: int = 0, end: int | None = None
) -> Iterator[tuple[int, np.ndarray]]:
    """(first, envelope) for the parts of ``x[start:end]`` whose oversampled peaks may exceed
    ``floor``: ``envelope[i]`` is the largest absolute value of the oversampled signal at
    positions ``first + i + p/factor``, ``0 <= p < factor``.

    Blocks whose samples (and neighbours) are all too small for any interpolated value to
    reach ``floor`` are skipped, so speech is scanned only around its loudest syllables.
    """
    end = x.size if end is None else end
    factor = _oversampling(rate)
    rows, bound = _phase_filters(factor)
    if end <= start:
        return
    block = 1024
    part = x[start:end]
    whole = part.size // block * block
    highs = [part[:whole].reshape(-1, block).max(axis=1)] if whole else []
    lows = [part[:whole].reshape(-1, block).min(axis=1)] if whole else []
    if whole < part.size:
        highs.append(part[whole:].max(keepdims=True))
        lows.append(part[whole:].min(keepdims=True))
    peaks = np.maximum(np.concatenate(highs), -np.concatenate(lows)).astype(np.float64)
    # interpolation reaches FILTER_HALF samples (less than a block) to either side
    before = _sample_peak(x[max(0, start - FILTER_HALF) : start])
    after = _sample_peak(x[end : end + FILTER_HALF])
    near = np.maximum(peaks, np.maximum(np.r_[before, peaks[:-1]], np.r_[peaks[1:], after]))
    candidate = np.r_[False, near * bound > floor, False]
    changes = np.flatnonzero(candidate[1:] != candidate[:-1])
    for first, last in zip(changes[::2], changes[1::2], strict=True):
        stop = min(start + last * block, end)
        for chunk in range(start + first * block, stop, CHUNK):
            yield chunk, _envelope(x, chunk, min(chunk + CHUNK, stop), rows)


def _envelope(x: np.ndarray, start: int, end: int, rows: np.ndarray) -> np.ndarray:
    taps = rows.shape[1]
    lead = FILTER_HALF - 1  # samples needed before ``start``
    segment = np.zeros(end - start + taps - 1, np.float32)
    lo, hi = max(0, start - lead), min(x.size, end + FILTER_HALF)
    segment[lo - (start - lead) : hi - (start - lead)] = x[lo:hi]
    envelope = np.abs(segment[lead : lead + end - start])
    size = end - start
    for row in rows:
        value = row[0] * segment[:size]
        for k in range(1, taps):
            value += row[k] * segment[k : k + size]
        np.maximum(envelope, np.abs(value), out=envelope)
    return envelope
