"""Where speech lies in a clip: the first and last sample louder than silence, trimming the
silence around it down to a margin, and word marks moved onto the pauses the audio has."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from voicer.defaults import MARGIN_MS
from voicer.model import Mark

SILENCE_DBFS = -50.0  # below this (or 40 dB under the clip's peak) counts as silence
WINDOW_MS = 5
PAUSE_MS = 60  # silence at least this long between words is a pause
SNAP_MS = 150  # a word start or end this close to a pause's edge moves onto it


def speech_bounds(samples: np.ndarray, sample_rate: int) -> tuple[int, int] | None:
    """First and one-past-last sample of speech in ``samples``, or None if it is all silence.

    >>> sr = 1000; x = np.zeros(sr, np.float32); x[200:700] = 0.5
    >>> speech_bounds(x, sr)
    (200, 700)
    """
    loud, window, threshold = _loud_windows(samples, sample_rate)
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


def _loud_windows(samples: np.ndarray, sample_rate: int) -> tuple[np.ndarray, int, float]:
    """The indices of the windows louder than silence, the window's length and the
    threshold of silence."""
    window = max(1, sample_rate * WINDOW_MS // 1000)
    if samples.size == 0:
        return np.zeros(0, np.int64), window, 0.0
    peak = float(np.max(np.abs(samples)))
    threshold = max(10 ** (SILENCE_DBFS / 20), peak * 10 ** (-40 / 20))
    usable = samples.size - samples.size % window
    rms = np.sqrt(np.mean(np.square(samples[:usable].reshape(-1, window)), axis=1))
    return np.flatnonzero(rms > threshold / 2), window, threshold


def pauses(
    samples: np.ndarray, sample_rate: int, shortest_ms: int = PAUSE_MS
) -> list[tuple[int, int]]:
    """The silences of at least ``shortest_ms`` in ``samples`` as ``(start, stop)``, and the
    silence before the first sound and after the last, however short.

    >>> sr = 1000; x = np.zeros(sr, np.float32); x[20:400] = x[500:700] = x[730:990] = 0.5
    >>> pauses(x, sr)
    [(0, 20), (400, 500), (990, 1000)]
    """
    loud, window, _ = _loud_windows(samples, sample_rate)
    if loud.size == 0:
        return [(0, samples.size)] if samples.size else []
    edges = [-1, *loud.tolist(), samples.size // window + 1]
    found = []
    for number, (before, after) in enumerate(zip(edges, edges[1:], strict=False)):
        start, stop = (before + 1) * window, min(after * window, samples.size)
        outer = number in (0, len(edges) - 2)  # before the first sound or after the last
        if stop > start and (outer or (stop - start) * 1000 >= shortest_ms * sample_rate):
            found.append((start, stop))
    return found


def marks_on_pauses(
    samples: np.ndarray, sample_rate: int, marks: tuple[Mark, ...] | list[Mark], early: int = 0
) -> list[Mark]:
    """``marks`` moved ``early`` samples earlier, then onto the audio's pauses: the last word
    before a pause ends where the sound stops, and the first word after it starts where the
    sound does, when the marks put them near (or the word before runs into the pause).

    A model's durations place words only roughly where its audio has them; at a pause, the
    audio itself says where speech stops and starts again.
    """
    moved = [replace(m, start=max(0, m.start - early), end=max(0, m.end - early)) for m in marks]
    near = sample_rate * SNAP_MS // 1000
    for start, stop in pauses(samples, sample_rate):
        before = sum(m.start < start for m in moved)  # the words begun before the pause
        if before and (moved[before - 1].end > start or start - moved[before - 1].end <= near):
            moved[before - 1] = replace(moved[before - 1], end=start)
        if before < len(moved) and abs(moved[before].start - stop) <= near:
            moved[before] = replace(moved[before], start=stop)
    return [m for m in moved if m.end > m.start]
