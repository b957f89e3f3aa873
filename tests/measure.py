"""Loudness of whole arrays in tests and scripts, over voicer's streaming loudness API."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from voicer.audio import loudness
from voicer.audio.stream import ArraySignal, Gained, materialize


def meter(samples: np.ndarray, rate: int, true_peak: bool = True) -> loudness.Meter:
    """A meter that has read ``samples``."""
    found = loudness.Meter(rate, true_peak=true_peak)
    found.feed(samples)
    return found


def measure(samples: np.ndarray, rate: int) -> loudness.Measurement:
    """Integrated loudness, loudness range and true peak, with one K-weighting pass."""
    return meter(samples, rate).measurement()


def integrated_loudness(samples: np.ndarray, rate: int) -> float:
    """Gated integrated loudness in LUFS (BS.1770-4); ``-inf`` for silence or under 400 ms."""
    return meter(samples, rate, true_peak=False).integrated()


def loudness_range(samples: np.ndarray, rate: int) -> float:
    """Loudness range in LU (EBU Tech 3342); 0.0 when there is nothing to measure."""
    return meter(samples, rate, true_peak=False).measurement().loudness_range


def short_term_loudness(samples: np.ndarray, rate: int, window: float = 3.0) -> np.ndarray:
    """Loudness in LUFS of each ``window``-second stretch, one value every 100 ms (ungated)."""
    found = meter(samples, rate, true_peak=False)
    return loudness.short_term(found.sums, found.bounds, window)


def limit_true_peak(samples: np.ndarray, rate: int, ceiling_dbtp: float) -> np.ndarray:
    """``samples`` with their true peak brought under ``ceiling_dbtp`` (float32, a new array)."""
    limited = loudness.Limited(ArraySignal(samples, rate), 1.0, ceiling_dbtp, measured=True)
    return materialize(limited)


def normalize(
    samples: np.ndarray, rate: int, target_lufs: float, ceiling_dbtp: float
) -> tuple[np.ndarray, loudness.Measurement]:
    """``samples`` at ``target_lufs`` with true peak under ``ceiling_dbtp``, and measured."""
    source = ArraySignal(samples, rate)
    result, measured = loudness.normalize_signal(source, target_lufs, ceiling_dbtp)
    return materialize(result), measured


def level_segments(
    samples: np.ndarray, rate: int, spans: Sequence[tuple[int, int]], max_deviation_lu: float = 1.5
) -> np.ndarray:
    """The programme with each span brought within ``max_deviation_lu`` of the programme's
    median short-term loudness, as render levels sentences."""
    x = np.asarray(samples, dtype=np.float32)
    levels = [loudness.clip_loudness(x[start:end], rate) for start, end in spans]
    knots = loudness.level_knots(levels, spans, meter(x, rate, False), max_deviation_lu)
    return materialize(Gained(ArraySignal(x, rate), *knots))
