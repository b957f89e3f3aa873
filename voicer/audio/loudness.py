"""Loudness to broadcast standards: measure, limit true peaks, normalise, even out sentences.

Measurement follows ITU-R BS.1770-4 and EBU Tech 3341/3342 for mono float PCM at any sample
rate: K-weighting (two biquads derived from the analog prototype for the actual rate, as
libebur128 does), 400 ms blocks every 100 ms gated at -70 LUFS and -10 LU for integrated
loudness, 3 s short-term windows gated at -70 LUFS and -20 LU for loudness range, and true peak
read from the signal oversampled to at least 176.4 kHz (4x at 44.1/48 kHz, 8x at 24 kHz).

A mono programme is measured as one channel (BS.1770 weights it 1.0): played on both
loudspeakers of a stereo pair it reads about 3 LU louder, which is why the podcast target for
mono is -19 LUFS rather than -16.

Everything works on whole numpy arrays in a few passes, so a ten-minute programme at 48 kHz is
measured in a fraction of a second (``python scripts/bench_loudness.py``).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from voicer.audio.stream import ArraySignal, Gained, Scaled, Signal, blocks, materialize
from voicer.errors import InputError

ABSOLUTE_GATE_LUFS = -70.0
RELATIVE_GATE_LU = -10.0  # integrated loudness (BS.1770-4)
LRA_RELATIVE_GATE_LU = -20.0  # loudness range (EBU Tech 3342)
TRUE_PEAK_MARGIN_DB = 0.1  # the limiter aims this far under the ceiling it is given

HOP_SECONDS = 0.1  # block step: 75 % overlap of 400 ms blocks, 10 Hz short-term rate
BLOCK_HOPS = 4  # 400 ms gating blocks
SHORT_TERM_SECONDS = 3.0

# preset: (integrated loudness target in LUFS, maximum true peak in dBTP)
PRESETS: dict[str, tuple[float, float]] = {
    "ebu-r128": (-23.0, -1.0),
    "atsc-a85": (-24.0, -2.0),
    "podcast": (-16.0, -1.0),
    "streaming": (-14.0, -1.0),
}
_MONO_TARGETS = {"podcast": -19.0}  # Apple: -16 LUFS for stereo, -19 LUFS for mono

_FILTER_HALF = 8  # interpolation taps on each side of an inter-sample position
_FILTER_BETA = 5.0  # Kaiser window: flat to 0.8 x Nyquist within 0.03 dB, images under -40 dB
_MIN_TRUE_PEAK_RATE = 176400  # oversample to at least this (4x at 44.1 and 48 kHz)
_CHUNK = 1 << 16  # samples per vectorised step, small enough to stay in cache
_ESTIMATE_LU = 0.1  # levelling estimates the levelled median to within this (from hop energies)


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


def target_for(preset: str, channels: int = 1) -> tuple[float, float] | None:
    """(target LUFS, ceiling dBTP) of a loudness preset for a delivery with ``channels``.

    ``"none"`` gives None (no normalisation); an unknown name is an :class:`InputError`.

    >>> target_for("ebu-r128")
    (-23.0, -1.0)
    >>> target_for("podcast"), target_for("podcast", channels=2)
    ((-19.0, -1.0), (-16.0, -1.0))
    >>> target_for("none") is None
    True
    """
    if preset == "none":
        return None
    if preset not in PRESETS:
        choices = ", ".join([*PRESETS, "none"])
        raise InputError(f"unknown loudness preset {preset!r} (choose from {choices})")
    lufs, ceiling = PRESETS[preset]
    if channels == 1:
        lufs = _MONO_TARGETS.get(preset, lufs)
    return lufs, ceiling


def scipy_signal() -> Any:
    """scipy.signal, imported on first use: the import takes about a second, which a render
    spends while the engine is busy (see :func:`preload`)."""
    from scipy import signal

    return signal


def preload() -> None:
    """Import what measuring and filtering need, in a background thread (at most once)."""
    threading.Thread(target=scipy_signal, daemon=True).start()


# --- measurement --------------------------------------------------------------------------------


def integrated_loudness(samples: np.ndarray, rate: int) -> float:
    """Gated integrated loudness in LUFS (BS.1770-4); ``-inf`` for silence or under 400 ms.

    A 997 Hz sine of amplitude 0.1 (mean square -23 dB) reads -23 LUFS:

    >>> t = np.arange(2 * 48000) / 48000
    >>> round(integrated_loudness(0.1 * np.sin(2 * np.pi * 997 * t), 48000), 1)
    -23.0
    """
    return _integrated(_block_powers(*_hop_energies(samples, rate)[:2], BLOCK_HOPS))


def short_term_loudness(samples: np.ndarray, rate: int, window: float = 3.0) -> np.ndarray:
    """Loudness in LUFS of each ``window``-second stretch, one value every 100 ms (ungated).

    Empty when the programme is shorter than one window; silent windows read ``-inf``.
    """
    hops = max(1, round(window / HOP_SECONDS))
    return _to_lufs(_block_powers(*_hop_energies(samples, rate)[:2], hops))


def loudness_range(samples: np.ndarray, rate: int) -> float:
    """Loudness range in LU (EBU Tech 3342); 0.0 when there is nothing to measure.

    The spread, 10th to 95th percentile, of 3 s short-term loudness values taken every 100 ms,
    gated at -70 LUFS and 20 LU under their power mean.
    """
    return _range_of(*_hop_energies(samples, rate)[:2])


def true_peak(samples: np.ndarray, rate: int) -> float:
    """True peak in dBTP: the highest absolute value of the signal oversampled to >= 176.4 kHz.

    A sine at a quarter of the sample rate sampled 45 degrees off its crests (faded in and out:
    an abrupt start rings) has samples 3 dB under its true peak:

    >>> x = np.sin(np.pi / 2 * np.arange(4800) + np.pi / 4) * np.hanning(4800) ** 0.01
    >>> sample_peak = float(20 * np.log10(np.abs(x).max()))
    >>> round(sample_peak, 2), round(true_peak(x, 48000) - sample_peak, 2)
    (-3.01, 3.01)
    """
    x = _mono(samples)
    if x.size == 0:
        return -math.inf
    peak = _sample_peak(x)
    if peak == 0.0:
        return -math.inf
    for _, envelope in _oversampled_envelope(x, rate, peak):
        peak = max(peak, float(envelope.max()))
    return 20 * math.log10(peak)


def measure(samples: np.ndarray, rate: int) -> Measurement:
    """Integrated loudness, loudness range and true peak, with one K-weighting pass."""
    meter = Meter(rate)
    meter.feed(_mono(samples))
    return meter.measurement()


def measure_signal(source: Signal, with_peak: bool = True) -> Meter:
    """A meter that has read all of ``source``, a block at a time."""
    meter = Meter(source.sample_rate, true_peak=with_peak)
    for block in blocks(source):
        meter.feed(block)
    return meter


def clip_loudness(samples: np.ndarray, rate: int) -> float:
    """Loudness of one clip in LUFS: gated integrated loudness, or for a clip too short or too
    quiet to gate (under 400 ms), the ungated K-weighted mean square. ``-inf`` for silence.

    >>> t = np.arange(4800) / 48000  # 100 ms
    >>> round(clip_loudness(0.1 * np.sin(2 * np.pi * 997 * t), 48000), 1)
    -23.0
    """
    sums, bounds, total = _hop_energies(samples, rate)
    gated = _integrated(_block_powers(sums, bounds, BLOCK_HOPS))
    if math.isfinite(gated):
        return gated
    x = _mono(samples)
    return float(_to_lufs(np.array([total / x.size]))[0]) if x.size else -math.inf


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


def _hop_energies(samples: np.ndarray, rate: int) -> tuple[np.ndarray, np.ndarray, float]:
    """K-weighted energy of each 100 ms hop: (sums, bounds, total); see :class:`Meter`."""
    meter = Meter(rate, true_peak=False)
    meter.feed(_mono(samples))
    return meter.sums, meter.bounds, meter.total


class Meter:
    """Loudness of a signal fed to it a block at a time, in order.

    Keeps the K-weighted energy of each 100 ms hop (``sums[i]`` over samples
    ``bounds[i]:bounds[i + 1]``, hop edges rounded to whole samples), the energy of every
    sample fed (``total``, the tail after the last whole hop included) and, unless told not
    to, the true peak. Memory grows by one number per 100 ms, whatever the block size.
    """

    def __init__(self, rate: int, true_peak: bool = True) -> None:
        if rate <= 0:
            raise ValueError(f"sample rate must be positive, not {rate}")
        self.rate = rate
        self.fed = 0
        self.total = 0.0
        self._sos = _k_weighting(rate)
        self._state = np.zeros((self._sos.shape[0], 2))
        self._hops: list[float] = []
        self._partial = 0.0  # energy of the hop not yet complete
        self._peak = 0.0 if true_peak else math.nan
        self._held = np.empty(0, np.float32)  # waits for the samples after it (true peak)
        self._before = np.empty(0, np.float32)  # the samples just before ``_held``

    def feed(self, samples: np.ndarray) -> None:
        """Take the next ``samples`` of the signal."""
        x = _mono(samples)
        if x.size == 0:
            return
        weighted, self._state = scipy_signal().sosfilt(
            self._sos, x.astype(np.float64), zi=self._state
        )
        squares = np.square(weighted)
        self.total += float(squares.sum())
        start, self.fed = self.fed, self.fed + x.size
        first = len(self._hops) + 1  # index of the next hop edge to reach
        last = self.fed * 10 // self.rate
        edges = (np.arange(first, last + 1, dtype=np.int64) * self.rate + 5) // 10 - start
        cumulative = np.concatenate([[0.0], np.cumsum(squares)])
        at_edges = cumulative[edges]
        if edges.size:
            self._hops.append(self._partial + float(at_edges[0]))
            self._hops.extend(np.diff(at_edges).tolist())
            self._partial = float(cumulative[-1] - at_edges[-1])
        else:
            self._partial += float(cumulative[-1])
        if not math.isnan(self._peak):
            self._scan(x)

    @property
    def sums(self) -> np.ndarray:
        return np.array(self._hops)

    @property
    def bounds(self) -> np.ndarray:
        return (np.arange(len(self._hops) + 1, dtype=np.int64) * self.rate + 5) // 10

    def integrated(self) -> float:
        return _integrated(_block_powers(self.sums, self.bounds, BLOCK_HOPS))

    def measurement(self) -> Measurement:
        """Integrated loudness, loudness range and (when kept) true peak of all fed so far."""
        sums, bounds = self.sums, self.bounds
        integrated = _integrated(_block_powers(sums, bounds, BLOCK_HOPS))
        return Measurement(integrated, _range_of(sums, bounds), self.true_peak())

    def true_peak(self) -> float:
        """True peak in dBTP (``nan`` when the meter was told not to keep it)."""
        if math.isnan(self._peak):
            return math.nan
        peak = max(self._peak, self._held_peak(np.empty(0, np.float32)))
        return 20 * math.log10(peak) if peak > 0 else -math.inf

    def _scan(self, following: np.ndarray) -> None:
        """Fold the held block's true peak in, now that the samples after it are known."""
        self._peak = max(self._peak, self._held_peak(following[:_FILTER_HALF]))
        context = np.concatenate([self._before, self._held])[-_FILTER_HALF:]
        self._before, self._held = context, following.astype(np.float32)

    def _held_peak(self, after: np.ndarray) -> float:
        if self._held.size == 0:
            return 0.0
        peak = max(self._peak, _sample_peak(self._held))
        x = np.concatenate([self._before, self._held, after]).astype(np.float32)
        start = self._before.size
        for _, envelope in _oversampled_envelope(
            x, self.rate, peak, start, start + self._held.size
        ):
            peak = max(peak, float(envelope.max()))
        return peak


def _block_powers(sums: np.ndarray, bounds: np.ndarray, hops: int) -> np.ndarray:
    """Mean square of every run of ``hops`` consecutive hops (one block per hop)."""
    if sums.size < hops:
        return np.empty(0)
    cumulative = np.concatenate([[0.0], np.cumsum(sums)])
    return (cumulative[hops:] - cumulative[:-hops]) / (bounds[hops:] - bounds[:-hops])


def _to_lufs(power: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return -0.691 + 10 * np.log10(power)


def _integrated(blocks: np.ndarray) -> float:
    """BS.1770-4 gating of 400 ms block powers; ``-inf`` when no block passes."""
    kept = blocks[_to_lufs(blocks) > ABSOLUTE_GATE_LUFS]
    if kept.size == 0:
        return -math.inf
    relative = _to_lufs(np.array([kept.mean()]))[0] + RELATIVE_GATE_LU
    kept = kept[_to_lufs(kept) > relative]
    return float(_to_lufs(np.array([kept.mean()]))[0])


def _range_of(sums: np.ndarray, bounds: np.ndarray) -> float:
    """EBU Tech 3342 loudness range from hop energies."""
    short_term = _block_powers(sums, bounds, round(SHORT_TERM_SECONDS / HOP_SECONDS))
    kept = short_term[_to_lufs(short_term) > ABSOLUTE_GATE_LUFS]
    if kept.size == 0:
        return 0.0
    relative = _to_lufs(np.array([kept.mean()]))[0] + LRA_RELATIVE_GATE_LU
    levels = _to_lufs(kept)
    levels = levels[levels > relative]
    low, high = np.percentile(levels, [10, 95])
    return float(high - low)


def _mono(samples: np.ndarray) -> np.ndarray:
    x = np.asarray(samples)
    if x.ndim != 1:
        raise ValueError(f"expected mono samples (one dimension), got shape {x.shape}")
    return x


def _sample_peak(x: np.ndarray) -> float:
    return float(max(x.max(), -x.min())) if x.size else 0.0


# --- true peak ----------------------------------------------------------------------------------


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
    taps = 2 * _FILTER_HALF
    prototype = scipy_signal().firwin(
        taps * factor + 1, 1 / factor, window=("kaiser", _FILTER_BETA)
    )
    prototype *= factor
    # value at n + p/factor = sum over k of rows[p - 1][k] * x[n - HALF + 1 + k]
    rows = np.array(
        [[prototype[(taps - 1 - k) * factor + p] for k in range(taps)] for p in range(1, factor)]
    ).reshape(factor - 1, taps)
    bound = max(1.0, float(np.abs(rows).sum(axis=1).max(initial=0.0)))
    return rows.astype(np.float32), bound


def _oversampled_envelope(
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
    # interpolation reaches _FILTER_HALF samples (less than a block) to either side
    before = _sample_peak(x[max(0, start - _FILTER_HALF) : start])
    after = _sample_peak(x[end : end + _FILTER_HALF])
    near = np.maximum(peaks, np.maximum(np.r_[before, peaks[:-1]], np.r_[peaks[1:], after]))
    candidate = np.r_[False, near * bound > floor, False]
    changes = np.flatnonzero(candidate[1:] != candidate[:-1])
    for first, last in zip(changes[::2], changes[1::2], strict=True):
        stop = min(start + last * block, end)
        for chunk in range(start + first * block, stop, _CHUNK):
            yield chunk, _envelope(x, chunk, min(chunk + _CHUNK, stop), rows)


def _envelope(x: np.ndarray, start: int, end: int, rows: np.ndarray) -> np.ndarray:
    taps = rows.shape[1]
    lead = _FILTER_HALF - 1  # samples needed before ``start``
    segment = np.zeros(end - start + taps - 1, np.float32)
    lo, hi = max(0, start - lead), min(x.size, end + _FILTER_HALF)
    segment[lo - (start - lead) : hi - (start - lead)] = x[lo:hi]
    envelope = np.abs(segment[lead : lead + end - start])
    size = end - start
    for row in rows:
        value = row[0] * segment[:size]
        for k in range(1, taps):
            value += row[k] * segment[k : k + size]
        np.maximum(envelope, np.abs(value), out=envelope)
    return envelope


# --- true-peak limiter --------------------------------------------------------------------------


def limit_true_peak(
    samples: np.ndarray,
    rate: int,
    ceiling_dbtp: float,
    lookahead_ms: float = 5.0,
    release_ms: float = 80.0,
) -> np.ndarray:
    """``samples`` with their true peak brought under ``ceiling_dbtp`` (float32, a new array).

    The gain needed is read from the oversampled signal, so inter-sample peaks count. The gain
    is at its lowest over the peak's sample and the next, gets there along a ``lookahead_ms``
    ramp before the peak (no overshoot, no click) and recovers exponentially in dB with time
    constant ``release_ms``. The limiter aims :data:`TRUE_PEAK_MARGIN_DB` under the ceiling and
    measures its output, trying again a little lower if the product of gain and signal still
    peaks too high. Samples away from loud peaks are left exactly as they are.

    >>> x = np.sin(2 * np.pi * 1000 * np.arange(4800) / 48000)  # 0 dBTP
    >>> round(true_peak(limit_true_peak(x, 48000, -1.0), 48000), 1)
    -1.1
    """
    x = np.asarray(_mono(samples), dtype=np.float32)
    return _Limiter(x, rate, lookahead_ms, release_ms).limit(1.0, ceiling_dbtp)[0]


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
        chunk = max(1, _CHUNK // self.step)
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
        for start, envelope in _oversampled_envelope(self.x, self.rate, floor):
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
    size = lookahead + 1
    from scipy import ndimage

    held = ndimage.minimum_filter1d(required, size, mode="constant", cval=0.0, origin=1 - size // 2)
    # exponential release in dB: min over k <= n of held[k] * exp(-(n - k) / release), computed
    # as a running maximum of log(-held[k]) + k / release (no recursion, no overflow)
    position = np.arange(held.size) / release
    with np.errstate(divide="ignore"):
        log_depth = np.log(-held) + position
    released = -np.exp(np.maximum.accumulate(log_depth) - position)
    return _trailing_mean(_trailing_mean(released, smooth), smooth)


def _trailing_mean(values: np.ndarray, size: int) -> np.ndarray:
    """Mean of each value and the ``size - 1`` before it (zeros before the start)."""
    cumulative = np.concatenate([np.zeros(size + 1), np.cumsum(values)])
    return (cumulative[size + 1 :] - cumulative[1:-size]) / size


# --- normalisation ------------------------------------------------------------------------------


class Limited:
    """A signal times ``gain`` through the true-peak limiter, a block at a time.

    Each block is limited with a second of the signal before it (the limiter's release has
    died away long before that) and 50 ms after it (its look-ahead), so blocks join as if
    the whole signal had been limited at once. ``measured``: also measure each block and
    limit again, a little lower, where the product still peaks too high.
    """

    PAST_SECONDS = 1.0
    FUTURE_SECONDS = 0.05

    def __init__(self, source: Signal, gain: float, ceiling_dbtp: float, measured: bool = False):
        self.source, self.gain, self.ceiling, self.measured = source, gain, ceiling_dbtp, measured
        self.sample_rate = source.sample_rate

    @property
    def length(self) -> int:
        return self.source.length

    def read(self, start: int, stop: int) -> np.ndarray:
        past = round(self.PAST_SECONDS * self.sample_rate)
        future = round(self.FUTURE_SECONDS * self.sample_rate)
        piece = self.source.read(start - past, stop + future)
        limiter = _Limiter(piece, self.sample_rate, lookahead_ms=5.0, release_ms=80.0)
        if self.measured:
            limited, _ = limiter.limit(self.gain, self.ceiling)
        else:
            limited = limiter.apply(self.gain, self.ceiling - TRUE_PEAK_MARGIN_DB)
        return limited[past : past + stop - start]


def normalize(
    samples: np.ndarray, rate: int, target_lufs: float, ceiling_dbtp: float
) -> tuple[np.ndarray, Measurement]:
    """``samples`` at ``target_lufs`` with true peak under ``ceiling_dbtp``: see
    :func:`normalize_signal`. Returns float32 samples and their measurement."""
    x = np.asarray(_mono(samples), dtype=np.float32)
    result, measured = normalize_signal(ArraySignal(x, rate), target_lufs, ceiling_dbtp)
    return materialize(result), measured


def normalize_signal(
    source: Signal, target_lufs: float, ceiling_dbtp: float, meter: Meter | None = None
) -> tuple[Signal, Measurement]:
    """``source`` at ``target_lufs`` integrated loudness with true peak under ``ceiling_dbtp``.

    Measure, then apply one linear gain. When that gain would push the true peak over the
    ceiling, the true-peak limiter takes the peaks down instead of the target being missed;
    the loudness it takes away is given back with a further gain step (each step a pass over
    the signal), until the result is within 0.05 LU of the target. Returns the result (a view
    computed as it is read) and its measurement (a target the ceiling makes unreachable shows
    in it). Silence (nothing above the -70 LUFS gate) comes back unchanged, measured ``-inf``.
    ``meter``: one that has already measured all of ``source`` (saves a pass).
    """
    meter = meter or measure_signal(source)
    measured = meter.measurement()
    if not math.isfinite(measured.integrated):
        return source, measured
    gain_db = target_lufs - measured.integrated
    if measured.true_peak + gain_db <= ceiling_dbtp - TRUE_PEAK_MARGIN_DB:
        # a gain scales every K-weighted energy by its square and the true peak by itself
        sums, bounds, power = meter.sums, meter.bounds, 10 ** (gain_db / 10)
        scaled = Measurement(
            _integrated(_block_powers(sums * power, bounds, BLOCK_HOPS)),
            _range_of(sums * power, bounds),
            measured.true_peak + gain_db,
        )
        return Scaled(source, 10 ** (gain_db / 20)), scaled
    slope = 1.0  # loudness gained per dB of gain: under 1 once the limiter is working
    tried: tuple[float, float] | None = None  # the last (gain, loudness)
    for _ in range(8):
        applied = 10 ** (gain_db / 20)
        result: Signal = Limited(source, applied, ceiling_dbtp)
        measured = measure_signal(result).measurement()
        error = target_lufs - measured.integrated
        if abs(error) <= 0.05 or not math.isfinite(error):
            break
        if tried is not None and gain_db != tried[0]:
            slope = min(1.0, max(0.1, (measured.integrated - tried[1]) / (gain_db - tried[0])))
        tried = gain_db, measured.integrated
        gain_db += error / slope
    if measured.true_peak > ceiling_dbtp - TRUE_PEAK_MARGIN_DB / 2:  # rare: measure and limit
        result = Limited(source, applied, ceiling_dbtp, measured=True)
        measured = measure_signal(result).measurement()
    return result, measured


# --- levelling sentences ------------------------------------------------------------------------


def _changes(levels: np.ndarray, reference: float, max_deviation_lu: float) -> list[float]:
    """The gain in dB that brings each level within ``max_deviation_lu`` of ``reference``
    (0 for a level already there, or silent)."""
    changes = []
    for level in levels:
        excess = float(level - reference) if math.isfinite(level) else 0.0
        changes.append(-math.copysign(max(0.0, abs(excess) - max_deviation_lu), excess))
    return changes


def level_segments(
    samples: np.ndarray,
    rate: int,
    spans: Sequence[tuple[int, int]],
    max_deviation_lu: float = 1.5,
    ramp_ms: float = 10.0,
) -> np.ndarray:
    """The programme with each span brought within ``max_deviation_lu`` of the programme's
    median short-term loudness: :func:`level_knots` applied. Returns a new float32 array."""
    x = np.asarray(_mono(samples), dtype=np.float32)
    bounds = [(int(start), int(end)) for start, end in spans]
    levels = [clip_loudness(x[start:end], rate) for start, end in bounds]
    meter = Meter(rate, true_peak=False)
    meter.feed(x)
    positions, gains = level_knots(levels, bounds, meter, max_deviation_lu, ramp_ms)
    return materialize(Gained(ArraySignal(x, rate), positions, gains))


def level_knots(
    levels: Sequence[float],
    spans: Sequence[tuple[int, int]],
    meter: Meter,
    max_deviation_lu: float = 1.5,
    ramp_ms: float = 10.0,
) -> tuple[np.ndarray, np.ndarray]:
    """The gain curve that evens out sentences, as knots (positions, linear gains) for
    :class:`voicer.audio.stream.Gained`.

    ``spans`` are the (start, end) samples of the sentences, in order and not overlapping,
    ``levels`` their loudness (:func:`clip_loudness`), and ``meter`` has measured the whole
    programme. Each span gets one gain that brings it within
    ``max_deviation_lu`` of the median short-term loudness (3 s windows every 100 ms, those
    over -70 LUFS); between spans the gain moves linearly across the gap (the pause), or
    across ``ramp_ms`` straddling the join when two spans touch, so there is never a gain step
    inside sound. The gains move the median a little, so they are worked out again against
    the new median (the hop energies scaled by the gain over each hop), a few times at most.
    """
    previous_end = 0
    for start, end in spans:
        if not previous_end <= start < end <= meter.fed:
            raise ValueError(f"span ({start}, {end}) is out of order or outside the samples")
        previous_end = end
    if not spans:
        return np.empty(0), np.empty(0)
    level = np.array(levels, dtype=np.float64)
    sums, hop_bounds, rate = meter.sums, meter.bounds, meter.rate
    changes = np.zeros(len(spans))
    positions = _flat_edges(spans, max(1, round(ramp_ms * rate / 1000 / 2)))
    # eight points across each hop, for the mean square gain over it
    inside = hop_bounds[:-1, None] + np.diff(hop_bounds)[:, None] * (np.arange(8) + 0.5) / 8
    for _ in range(6):
        gain = np.interp(inside, positions, np.repeat(10 ** (changes / 20), 2))
        hop_power = np.mean(np.square(gain), axis=1)
        short_term = _to_lufs(_block_powers(sums * hop_power, hop_bounds, 30))
        short_term = short_term[short_term > ABSOLUTE_GATE_LUFS]
        if short_term.size == 0:  # too short or too quiet for 3 s windows: the spans' median
            short_term = level[np.isfinite(level)] + changes[np.isfinite(level)]
        if short_term.size == 0:
            break
        median = float(np.median(short_term))
        more = np.array(_changes(level + changes, median, max_deviation_lu - _ESTIMATE_LU))
        if not more.any():
            break
        changes += more
    return positions, np.repeat(10 ** (changes / 20), 2)


def _flat_edges(spans: Sequence[tuple[int, int]], half_ramp: int) -> np.ndarray:
    """Where the gain of each span starts and stops being flat: the span itself, pulled in
    by ``half_ramp`` either side of a join too short to ramp across."""
    flat = [list(span) for span in spans]
    for before, after in zip(flat, flat[1:], strict=False):
        if after[0] - before[1] < 2 * half_ramp:
            middle = (before[1] + after[0]) // 2
            before[1] = max(before[0], middle - half_ramp)
            after[0] = min(after[1], middle + half_ramp)
    return np.array(flat, dtype=np.float64).ravel()
