"""Levelling sentences: each brought within a few LU of the programme's median short-term
loudness, with one gain per sentence that moves only across the pauses."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from voicer.audio.loudness.meter import ABSOLUTE_GATE_LUFS, Meter, short_term

_ESTIMATE_LU = 0.1  # levelling estimates the levelled median to within this (from hop energies)


def clip_loudness(samples: np.ndarray, rate: int) -> float:
    """Loudness of one clip in LUFS: gated integrated loudness, or for a clip too short or too
    quiet to gate (under 400 ms), the ungated K-weighted mean square. ``-inf`` for silence.

    >>> t = np.arange(4800) / 48000  # 100 ms
    >>> round(clip_loudness(0.1 * np.sin(2 * np.pi * 997 * t), 48000), 1)
    -23.0
    """
    meter = Meter(rate, true_peak=False)
    meter.feed(samples)
    gated = meter.integrated()
    return gated if math.isfinite(gated) else meter.ungated()


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
        windows = short_term(sums * hop_power, hop_bounds)
        windows = windows[windows > ABSOLUTE_GATE_LUFS]
        if windows.size == 0:  # too short or too quiet for 3 s windows: the spans' median
            windows = level[np.isfinite(level)] + changes[np.isfinite(level)]
        if windows.size == 0:
            break
        median = _median(windows)
        more = np.array(_changes(level + changes, median, max_deviation_lu - _ESTIMATE_LU))
        if not more.any():
            break
        changes += more
    return positions, np.repeat(10 ** (changes / 20), 2)


def _median(values: np.ndarray) -> float:
    """``np.median`` of values with no NaN among them, without its check for masked arrays
    (which imports numpy.ma: README, Measured choices).

    >>> _median(np.array([3.0, 1.0, 2.0])), _median(np.array([4.0, 1.0, 2.0, 3.0]))
    (2.0, 2.5)
    """
    ordered = np.sort(values)
    middle = ordered.size // 2
    if ordered.size % 2:
        return float(ordered[middle])
    return float((ordered[middle - 1] + ordered[middle]) / 2)


def _changes(levels: np.ndarray, reference: float, max_deviation_lu: float) -> list[float]:
    """The gain in dB that brings each level within ``max_deviation_lu`` of ``reference``
    (0 for a level already there, or silent)."""
    changes = []
    for level in levels:
        excess = float(level - reference) if math.isfinite(level) else 0.0
        changes.append(-math.copysign(max(0.0, abs(excess) - max_deviation_lu), excess))
    return changes


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
