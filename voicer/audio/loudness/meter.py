"""The BS.1770-4 meter: K-weighting, 400 ms blocks every 100 ms gated at -70 LUFS and -10 LU
for integrated loudness, 3 s short-term windows gated at -70 LUFS and -20 LU for loudness range
(EBU Tech 3342), read from a signal fed a block at a time."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

import numpy as np

from voicer.audio._scipy import sosfilt
from voicer.audio.loudness.truepeak import PeakReader, mono, sample_peak, true_peak_bound
from voicer.audio.stream import Signal, blocks

ABSOLUTE_GATE_LUFS = -70.0
RELATIVE_GATE_LU = -10.0  # integrated loudness (BS.1770-4)
LRA_RELATIVE_GATE_LU = -20.0  # loudness range (EBU Tech 3342)

HOP_SECONDS = 0.1  # block step: 75 % overlap of 400 ms blocks, 10 Hz short-term rate
BLOCK_HOPS = 4  # 400 ms gating blocks
SHORT_TERM_SECONDS = 3.0


@dataclass(frozen=True)
class Measurement:
    """Integrated loudness (LUFS), loudness range (LU) and true peak (dBTP) of a programme.

    Silence measures ``-inf`` for both loudness and peak.
    """

    integrated: float
    loudness_range: float
    true_peak: float

    def __str__(self) -> str:
        return (
            f"{self.integrated:.1f} LUFS, LRA {self.loudness_range:.1f} LU, "
            f"true peak {self.true_peak:.1f} dBTP"
        )


class Meter:
    """Loudness of a signal fed to it a block at a time, in order.

    Keeps the K-weighted energy of each 100 ms hop (``sums[i]`` over samples
    ``bounds[i]:bounds[i + 1]``, hop edges rounded to whole samples), the energy of every
    sample fed (``total``, the tail after the last whole hop included) and, unless told not
    to, the true peak. Memory grows by one number per 100 ms, whatever the block size.

    A 997 Hz sine of amplitude 0.1 (mean square -23 dB) reads -23 LUFS:

    >>> meter = Meter(48000)
    >>> meter.feed(0.1 * np.sin(2 * np.pi * 997 * np.arange(2 * 48000) / 48000))
    >>> round(meter.integrated(), 1)
    -23.0
    """

    def __init__(self, rate: int, true_peak: bool = True, peak_bound: bool = False) -> None:
        if rate <= 0:
            raise ValueError(f"sample rate must be positive, not {rate}")
        self.rate = rate
        self.fed = 0
        self.total = 0.0
        self._sos = _k_weighting(rate)
        self._state = np.zeros((self._sos.shape[0], 2))
        self._hops: list[float] = []
        self._partial = 0.0  # energy of the hop not yet complete
        self._peaks = PeakReader(rate) if true_peak else None
        # without the true peak, the sample peak if asked: a bound of the true peak, cheaply
        self._sample_peak = 0.0 if peak_bound and not true_peak else None

    def feed(self, samples: np.ndarray) -> None:
        """Take the next ``samples`` of the signal."""
        x = mono(samples)
        if x.size == 0:
            return
        weighted, self._state = sosfilt(self._sos, x, self._state)
        squares = np.square(weighted)
        self.total += float(squares.sum())
        start, self.fed = self.fed, self.fed + x.size
        first = len(self._hops) + 1  # index of the next hop edge to reach
        last = self.fed * 10 // self.rate
        edges = (np.arange(first, last + 1, dtype=np.int64) * self.rate + 5) // 10 - start
        pieces = _segment_sums(squares, np.concatenate([[0], edges, [x.size]]))
        if edges.size:
            self._hops.append(self._partial + float(pieces[0]))
            self._hops.extend(pieces[1:-1].tolist())
            self._partial = float(pieces[-1])
        else:
            self._partial += float(pieces[0])
        if self._peaks is not None:
            self._peaks.feed(x)
        elif self._sample_peak is not None:
            self._sample_peak = max(self._sample_peak, sample_peak(x))

    @property
    def sums(self) -> np.ndarray:
        return np.array(self._hops)

    @property
    def bounds(self) -> np.ndarray:
        return (np.arange(len(self._hops) + 1, dtype=np.int64) * self.rate + 5) // 10

    def integrated(self) -> float:
        """Gated integrated loudness in LUFS; ``-inf`` for silence or under 400 ms."""
        return _integrated(_block_powers(self.sums, self.bounds, BLOCK_HOPS))

    def ungated(self) -> float:
        """The K-weighted mean square of every sample fed, in LUFS; ``-inf`` for silence."""
        return float(to_lufs(np.array([self.total / self.fed]))[0]) if self.fed else -math.inf

    def measurement(self, gain_db: float = 0.0) -> Measurement:
        """Integrated loudness, loudness range and (when kept) true peak of all fed so far, or
        of it ``gain_db`` louder (a gain scales every K-weighted energy by its square and the
        true peak by itself)."""
        sums, bounds = self.sums * 10 ** (gain_db / 10), self.bounds
        integrated = _integrated(_block_powers(sums, bounds, BLOCK_HOPS))
        return Measurement(integrated, _range_of(sums, bounds), self.true_peak() + gain_db)

    def true_peak(self) -> float:
        """True peak in dBTP (``nan`` when the meter was told not to keep it)."""
        return self._peaks.dbtp() if self._peaks is not None else math.nan

    def true_peak_bound(self) -> float:
        """The true peak in dBTP, or when the meter keeps only the sample peak
        (``peak_bound``), the most it can be (see :func:`true_peak_bound`); ``nan`` when it
        keeps neither."""
        if self._sample_peak is not None:
            return true_peak_bound(self._sample_peak, self.rate)
        return self.true_peak()


def measure_signal(source: Signal, with_peak: bool = True) -> Meter:
    """A meter that has read all of ``source``, a block at a time."""
    meter = Meter(source.sample_rate, true_peak=with_peak)
    for block in blocks(source):
        meter.feed(block)
    return meter


def read_true_peak(source: Signal) -> float:
    """The true peak of ``source`` in dBTP, read a block at a time."""
    reader = PeakReader(source.sample_rate)
    for block in blocks(source):
        reader.feed(block)
    return reader.dbtp()


def short_term(
    sums: np.ndarray, bounds: np.ndarray, seconds: float = SHORT_TERM_SECONDS
) -> np.ndarray:
    """Loudness in LUFS of every ``seconds`` of hops (a :class:`Meter`'s ``sums`` and
    ``bounds``), one value per 100 ms, ungated; empty when there is not one window's worth."""
    return to_lufs(_block_powers(sums, bounds, max(1, round(seconds / HOP_SECONDS))))


def to_lufs(power: np.ndarray) -> np.ndarray:
    """K-weighted mean squares in LUFS (``-inf`` for 0)."""
    with np.errstate(divide="ignore"):
        return -0.691 + 10 * np.log10(power)


@cache
def _k_weighting(rate: int) -> np.ndarray:
    """The two K-weighting biquads (high shelf, then high pass) for ``rate``, as SOS rows.

    The analog prototype's parameters are those that reproduce BS.1770's 48 kHz coefficients;
    the bilinear transform with prewarping places them correctly at any other rate.
    """
    # stage 1: high shelf, +4 dB above about 1.7 kHz (the acoustic effect of the head)
    f0, gain_db, q = 1681.974450955533, 3.999843853973347, 0.7071752369554196
    k = math.tan(math.pi * f0 / rate)
    vh = 10 ** (gain_db / 20)
    vb = vh**0.4996667741545416
    a0 = 1 + k / q + k * k
    shelf = [
        (vh + vb * k / q + k * k) / a0,
        2 * (k * k - vh) / a0,
        (vh - vb * k / q + k * k) / a0,
        1.0,
        2 * (k * k - 1) / a0,
        (1 - k / q + k * k) / a0,
    ]
    # stage 2: second-order high pass at about 38 Hz (RLB weighting)
    f0, q = 38.13547087602444, 0.5003270373238773
    k = math.tan(math.pi * f0 / rate)
    a0 = 1 + k / q + k * k
    high_pass = [1.0, -2.0, 1.0, 1.0, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0]
    return np.array([shelf, high_pass])


def _segment_sums(values: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """The sum of ``values[bounds[i]:bounds[i + 1]]`` for each i (``bounds`` ascending, from 0
    to ``values.size``; a segment may be empty). Ten times faster than a running sum.

    >>> _segment_sums(np.arange(6.0), np.array([0, 0, 2, 6, 6])).tolist()
    [0.0, 1.0, 14.0, 0.0]
    """
    sums = np.zeros(bounds.size - 1)
    filled = bounds[1:] > bounds[:-1]
    if values.size:
        sums[filled] = np.add.reduceat(values, bounds[:-1][filled])
    return sums


def _block_powers(sums: np.ndarray, bounds: np.ndarray, hops: int) -> np.ndarray:
    """Mean square of every run of ``hops`` consecutive hops (one block per hop)."""
    if sums.size < hops:
        return np.empty(0)
    cumulative = np.concatenate([[0.0], np.cumsum(sums)])
    return (cumulative[hops:] - cumulative[:-hops]) / (bounds[hops:] - bounds[:-hops])


def _integrated(powers: np.ndarray) -> float:
    """BS.1770-4 gating of 400 ms block powers; ``-inf`` when no block passes."""
    kept = powers[to_lufs(powers) > ABSOLUTE_GATE_LUFS]
    if kept.size == 0:
        return -math.inf
    relative = to_lufs(np.array([kept.mean()]))[0] + RELATIVE_GATE_LU
    kept = kept[to_lufs(kept) > relative]
    return float(to_lufs(np.array([kept.mean()]))[0])


def _range_of(sums: np.ndarray, bounds: np.ndarray) -> float:
    """EBU Tech 3342 loudness range from hop energies."""
    windows = _block_powers(sums, bounds, round(SHORT_TERM_SECONDS / HOP_SECONDS))
    kept = windows[to_lufs(windows) > ABSOLUTE_GATE_LUFS]
    if kept.size == 0:
        return 0.0
    relative = to_lufs(np.array([kept.mean()]))[0] + LRA_RELATIVE_GATE_LU
    levels = to_lufs(kept)
    levels = levels[levels > relative]
    ordered = np.sort(levels)
    return _percentile(ordered, 95) - _percentile(ordered, 10)


def _percentile(ordered: np.ndarray, percent: float) -> float:
    """``np.percentile(values, percent)`` of sorted values (its linear interpolation, to the
    last bit), without the check for masked arrays that imports numpy.ma.

    >>> round(_percentile(np.array([1.0, 2.0, 5.0, 8.0]), 10), 6)
    1.3
    """
    index = (ordered.size - 1) * (percent / 100)
    below = math.floor(index)
    above = min(below + 1, ordered.size - 1)
    low, high, t = float(ordered[below]), float(ordered[above]), index - below
    step = high - low
    return high - step * (1 - t) if t >= 0.5 else low + step * t
