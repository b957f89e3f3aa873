"""The true-peak limiter: the gain needed is read from the oversampled signal, so inter-sample
peaks count; it ramps down ahead of a peak and recovers exponentially after it."""

from __future__ import annotations

import math

import numpy as np

from voicer.audio.loudness.truepeak import CHUNK, oversampled_envelope, true_peak
from voicer.audio.stream import Signal

TRUE_PEAK_MARGIN_DB = 0.1  # the limiter aims this far under the ceiling it is given


class Limited:
    """A signal times ``gain`` through the true-peak limiter, a block at a time.

    Each block is limited with a second of the signal before it (the limiter's release has
    died away long before that) and 50 ms after it (its look-ahead), so blocks join as if
    the whole signal had been limited at once. ``measured``: also measure each block and
    limit again, a little lower, where the product still peaks too high.

    The gain is at its lowest over a peak's sample and the next, gets there along a 5 ms ramp
    before the peak (no overshoot, no click) and recovers exponentially in dB with an 80 ms
    time constant. Samples away from loud peaks are left exactly as they are.

    >>> from voicer.audio.stream import ArraySignal, materialise
    >>> x = np.sin(2 * np.pi * 1000 * np.arange(4800) / 48000)  # 0 dBTP
    >>> limited = Limited(ArraySignal(x, 48000), 1.0, -1.0, measured=True)
    >>> round(true_peak(materialise(limited), 48000), 1)
    -1.1
    """

    PAST_SECONDS = 1.0
    FUTURE_SECONDS = 0.05

    def __init__(
        self,
        source: Signal,
        gain: float,
        ceiling_dbtp: float,
        measured: bool = False,
        peaks: Peaks | None = None,
    ) -> None:
        self.source, self.gain, self.ceiling, self.measured = source, gain, ceiling_dbtp, measured
        self.sample_rate = source.sample_rate
        self.peaks = peaks

    @property
    def length(self) -> int:
        return self.source.length

    def read(self, start: int, stop: int) -> np.ndarray:
        past = round(self.PAST_SECONDS * self.sample_rate)
        future = round(self.FUTURE_SECONDS * self.sample_rate)
        piece = self.source.read(start - past, stop + future)
        limiter = _Limiter(piece, self.sample_rate, lookahead_ms=5.0, release_ms=80.0)
        if self.peaks is not None:
            self.peaks.lend(limiter, start, stop)
        if self.measured:
            limited, _ = limiter.limit(self.gain, self.ceiling)
        else:
            limited = limiter.apply(self.gain, self.ceiling - TRUE_PEAK_MARGIN_DB)
        if self.peaks is not None:
            self.peaks.keep(limiter, start, stop)
        return limited[past : past + stop - start]


class Peaks:
    """The oversampled peaks found in each block a :class:`Limited` read, kept for the next
    Limited over the same source at another gain: finding them is much of a limiter's work,
    and normalising takes a pass over the programme for each gain it tries."""

    def __init__(self) -> None:
        self._found: dict[tuple[int, int], tuple[float, np.ndarray, np.ndarray]] = {}

    def lend(self, limiter: _Limiter, start: int, stop: int) -> None:
        found = self._found.get((start, stop))
        if found is not None:
            limiter.floor, limiter.index, limiter.envelope = found

    def keep(self, limiter: _Limiter, start: int, stop: int) -> None:
        self._found[start, stop] = (limiter.floor, limiter.index, limiter.envelope)


class _Limiter:
    """A true-peak limiter for one signal, which it may apply at several input gains.

    The signal's oversampled peaks are found once (all those over ``floor``): the peaks of the
    signal times a gain are those peaks times the gain.
    """

    def __init__(self, x: np.ndarray, rate: int, lookahead_ms: float, release_ms: float) -> None:
        self.x, self.rate = x, rate
        self.step = max(1, rate // 3000)  # the gain is worked out every ``step`` samples
        self.lookahead = max(2, math.ceil(lookahead_ms * rate / 1000 / self.step))
        self.release = max(1.0, release_ms * rate / 1000 / self.step)
        self.floor = math.inf
        self.index = np.empty(0, np.int64)
        self.envelope = np.empty(0, np.float32)

    def limit(self, gain: float, ceiling_dbtp: float) -> tuple[np.ndarray, float]:
        """``x * gain`` limited to ``ceiling_dbtp``, and its true peak, measured.

        Aims :data:`TRUE_PEAK_MARGIN_DB` under the ceiling, and a little lower again if the
        result peaks less than half that margin under it.
        """
        aim = ceiling_dbtp - TRUE_PEAK_MARGIN_DB
        for _ in range(4):
            limited = self.apply(gain, aim)
            peak = true_peak(limited, self.rate)
            overshoot = peak - (ceiling_dbtp - TRUE_PEAK_MARGIN_DB / 2)
            if overshoot <= 0:
                break
            aim -= overshoot + 0.02
        return limited, peak

    def apply(self, gain: float, aim_dbtp: float) -> np.ndarray:
        """``x * gain`` with the gain reduced wherever its true peak would exceed ``aim_dbtp``
        (not measured afterwards: the product of signal and gain may peak slightly higher)."""
        threshold = 10 ** (aim_dbtp / 20) / gain  # on the scale of x
        if threshold < self.floor:
            self.find_peaks(threshold * 0.7)  # room for more gain on a later call
        limited = self.x * np.float32(gain)
        over = self.envelope > threshold
        if not over.any():
            return limited
        need = 20 * np.log10(threshold / self.envelope[over].astype(np.float64))
        knots = 10 ** (_knot_gains(self.index[over], need, self) / 20)
        # linear interpolation between knots, a chunk at a time, where the gain is not 1
        within = np.arange(self.step) / self.step
        chunk = max(1, CHUNK // self.step)
        for first in range(0, knots.size - 1, chunk):
            part = knots[first : first + chunk + 1]
            if (part == 1.0).all():
                continue
            gains = (part[:-1, None] + np.diff(part)[:, None] * within).ravel()
            start = first * self.step
            end = min(start + gains.size, limited.size)
            limited[start:end] *= gains[: end - start].astype(np.float32)
        return limited

    def find_peaks(self, floor: float) -> None:
        """Keep every sample whose oversampled envelope exceeds ``floor``, and its envelope."""
        indices, envelopes = [], []
        for start, envelope in oversampled_envelope(self.x, self.rate, floor):
            loud = np.flatnonzero(envelope > floor)
            indices.append(start + loud)
            envelopes.append(envelope[loud])
        self.floor = floor
        self.index = np.concatenate(indices) if indices else np.empty(0, np.int64)
        self.envelope = np.concatenate(envelopes) if envelopes else np.empty(0, np.float32)


def _knot_gains(hot: np.ndarray, need: np.ndarray, limiter: _Limiter) -> np.ndarray:
    """The limiter's gain in dB at knots 0, step, 2 step, ... past the end of the signal,
    given the samples ``hot`` (sorted) whose gain may be at most ``need`` dB there and at the
    next sample. A knot is held under the needs of the samples on either side of it, so the
    gain interpolated linearly between knots is under every need too.
    """
    step, lookahead = limiter.step, limiter.lookahead
    block = hot // step  # samples of block j lie between knots j and j + 1
    first = np.flatnonzero(np.r_[True, block[1:] != block[:-1]])
    block_need = np.minimum.reduceat(need, first)
    lead = lookahead + 2  # room for the attack of a peak at the very start
    required = np.zeros(lead + -(-limiter.x.size // step) + 1)
    required[lead + block[first]] = block_need
    required[lead + block[first] + 1] = np.minimum(required[lead + block[first] + 1], block_need)
    smooth = max(1, lookahead // 2)  # two trailing averages of this length make the attack
    curve = _gain_curve(required, lookahead, limiter.release, smooth)[lead:]
    curve[curve > -0.0005] = 0.0  # the release ends (a step of under 0.0001 in amplitude)
    return curve


def _gain_curve(required: np.ndarray, lookahead: int, release: float, smooth: int) -> np.ndarray:
    """Gain in dB no higher than ``required[n]`` at n and n + 1, and smooth.

    Each requirement holds over the window from one place before it to ``lookahead - 1``
    after, so that the trailing averages (the attack ramp) are still under it at n and n + 1.
    """
    held = _window_minimum(required, lookahead + 1)
    # exponential release in dB: min over k <= n of held[k] * exp(-(n - k) / release), computed
    # as a running maximum of log(-held[k]) + k / release (no recursion, no overflow)
    position = np.arange(held.size) / release
    with np.errstate(divide="ignore"):
        log_depth = np.log(-held) + position
    released = -np.exp(np.maximum.accumulate(log_depth) - position)
    return _trailing_mean(_trailing_mean(released, smooth), smooth)


def _window_minimum(values: np.ndarray, size: int) -> np.ndarray:
    """The least of each value, the one before it and the ``size - 2`` after (zeros outside).

    >>> _window_minimum(np.array([0.0, -3.0, 0.0, 0.0, -1.0]), 3).tolist()
    [-3.0, -3.0, -3.0, -1.0, -1.0]
    """
    # van Herk and Gil-Werman: within blocks of ``size``, the least so far from the left and
    # from the right; a window spans at most two blocks, the end of one and the start of the next
    count = values.size
    blocks = -(-(count + size - 1) // size)
    padded = np.zeros(blocks * size)
    padded[1 : count + 1] = values
    rows = padded.reshape(blocks, size)
    from_left = np.minimum.accumulate(rows, axis=1).ravel()
    from_right = np.minimum.accumulate(rows[:, ::-1], axis=1)[:, ::-1].ravel()
    return np.minimum(from_right[:count], from_left[size - 1 : size - 1 + count])


def _trailing_mean(values: np.ndarray, size: int) -> np.ndarray:
    """Mean of each value and the ``size - 1`` before it (zeros before the start)."""
    cumulative = np.concatenate([np.zeros(size + 1), np.cumsum(values)])
    return (cumulative[size + 1 :] - cumulative[1:-size]) / size
