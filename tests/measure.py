"""Loudness of whole arrays in tests and scripts, over voicer's streaming loudness API."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import signal

from voicer.audio import loudness
from voicer.audio.stream import ArraySignal, Gained, materialise


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
    return materialise(limited)


def normalise(
    samples: np.ndarray, rate: int, target_lufs: float, ceiling_dbtp: float
) -> tuple[np.ndarray, loudness.Measurement]:
    """``samples`` at ``target_lufs`` with true peak under ``ceiling_dbtp``, and measured."""
    source = ArraySignal(samples, rate)
    result, measured = loudness.normalise_signal(source, target_lufs, ceiling_dbtp)
    return materialise(result), measured


def level_segments(
    samples: np.ndarray, rate: int, spans: Sequence[tuple[int, int]], max_deviation_lu: float = 1.5
) -> np.ndarray:
    """The programme with each span brought within ``max_deviation_lu`` of the programme's
    median short-term loudness, as render levels sentences."""
    x = np.asarray(samples, dtype=np.float32)
    levels = [loudness.clip_loudness(x[start:end], rate) for start, end in spans]
    knots = loudness.level_knots(levels, spans, meter(x, rate, False), max_deviation_lu)
    return materialise(Gained(ArraySignal(x, rate), *knots))


def speechlike(rate: int, seconds: float, seed: int = 0, peak: float = 0.5) -> np.ndarray:
    """Voiced pulses through three formants, in syllables and sentences with pauses, each
    syllable at its own level: speech's spectrum, crest factor and rhythm."""
    rng = np.random.default_rng(seed)
    n = round(rate * seconds)
    t = np.arange(n) / rate
    pitch = 120 + 30 * np.sin(2 * np.pi * 0.3 * t)
    pulses = np.diff(np.floor(np.cumsum(pitch / rate)), prepend=0.0)
    source = signal.lfilter([1.0], [1.0, -0.95], pulses) + 0.05 * rng.standard_normal(n)
    voice = np.zeros(n)
    for formant, bandwidth in ((700, 130), (1220, 70), (2600, 160)):
        voice += signal.lfilter(*signal.iirpeak(formant, formant / bandwidth, rate), source)
    syllables = np.sin(2 * np.pi * 2.5 * t) ** 2
    sentences = (t % 4.0) < 3.4
    levels = 10 ** (rng.uniform(-6, 0, int(seconds * 5) + 1) / 20)[(t * 5).astype(int)]
    voice *= syllables * sentences * levels
    return (peak * voice / np.abs(voice).max()).astype(np.float32)
