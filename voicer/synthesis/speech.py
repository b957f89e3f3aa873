"""Where speech lies in a clip: the first and last sample louder than silence, and trimming
the silence around it down to a margin."""

from __future__ import annotations

import numpy as np

MARGIN_MS = 30  # audio kept before and after detected speech
SILENCE_DBFS = -50.0  # below this (or 40 dB under the clip's peak) counts as silence
WINDOW_MS = 5


def speech_bounds(samples: np.ndarray, sample_rate: int) -> tuple[int, int] | None:
    """First and one-past-last sample of speech in ``samples``, or None if it is all silence.

    >>> sr = 1000; x = np.zeros(sr, np.float32); x[200:700] = 0.5
    >>> speech_bounds(x, sr)
    (200, 700)
    """
    if samples.size == 0:
        return None
    peak = float(np.max(np.abs(samples)))
    threshold = max(10 ** (SILENCE_DBFS / 20), peak * 10 ** (-40 / 20))
    window = max(1, sample_rate * WINDOW_MS // 1000)
    usable = samples.size - samples.size % window
    rms = np.sqrt(np.mean(np.square(samples[:usable].reshape(-1, window)), axis=1))
    loud = np.flatnonzero(rms > threshold / 2)
    if loud.size == 0:
        return None
    first_window = samples[loud[0] * window : (loud[0] + 1) * window]
    last_window = samples[loud[-1] * window : (loud[-1] + 1) * window]
    first = int(loud[0]) * window + int(np.argmax(np.abs(first_window) > threshold / 2))
    last_hits = np.flatnonzero(np.abs(last_window) > threshold / 2)
    last = int(loud[-1]) * window + (int(last_hits[-1]) if last_hits.size else window - 1)
    return first, last + 1


def trim(samples: np.ndarray, sample_rate: int, margin_ms: int = MARGIN_MS) -> np.ndarray:
    """Cut leading and trailing silence down to ``margin_ms``; empty when there is no speech."""
    start, stop = trim_span(samples, sample_rate, margin_ms)
    return samples[start:stop]


def trim_span(samples: np.ndarray, sample_rate: int, margin_ms: int = MARGIN_MS) -> tuple[int, int]:
    """The part of ``samples`` that ``trim`` keeps, as ``(start, stop)``; ``(0, 0)`` when there
    is no speech.

    >>> sr = 1000; x = np.zeros(sr, np.float32); x[200:700] = 0.5
    >>> trim_span(x, sr, margin_ms=30)
    (170, 730)
    """
    bounds = speech_bounds(samples, sample_rate)
    if bounds is None:
        return 0, 0
    margin = sample_rate * margin_ms // 1000
    return max(0, bounds[0] - margin), min(samples.size, bounds[1] + margin)
