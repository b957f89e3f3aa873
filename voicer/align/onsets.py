"""Each sentence's start found again on a finer scale than the path's.

The path places a start to a frame or two, but where noise hides a soft onset it matches the
first quiet frames of speech to the reference's pause, and the start comes out late. Here the
reference's sound around its start, band by band, is given the recording's own noise (each
band brought to the recording's level, then the recording's quietest energy there added), and
slid over the recording near the path's start, 5 ms at a time: where the two match best is
the start.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from voicer.align import features
from voicer.model import Signal

HOP_MS, WIDTH_MS = 5, 15
# Of the reference's sound around its start. Measured on 50 starts each of kokoro's zf_xiaobei
# reading examples/long-speech.txt (faster, slower, slower with noise and a chord bed, after
# music): 100/120 ms gave median errors of 6, 19, 35 and -4 ms; 50/150, 1, 24, 33, -4;
# 100/250 and 200/250, 4 to 6, 19 to 24, 33 to 35, -4 to -5 with wider spreads (p90 up to
# 75 ms in noise against 55).
BEFORE_MS, AFTER_MS = 100, 120
REACH_MS = 150  # how far from the path's start a start may move
GROUPS = 8  # mel bands summed into this many
NOISE_SHARE = 10  # percentile of a band's energy near a start: the noise there (30, 50: later)
LEVEL_SHARE = 90  # percentile over a file: its speech


@dataclass(frozen=True)
class Onset:
    """A sentence's start in the recording, found again, and how far it moved from the path's,
    as a share of the farthest it may move (1: as far as that, so perhaps farther)."""

    start: int
    moved: float


def refined_starts(
    reference: Signal,
    recording: Signal,
    said: Sequence[int],
    heard: Sequence[int],
    pace: float,
) -> list[Onset]:
    """For each sentence starting at ``said[i]`` in the reference, placed by the path at
    ``heard[i]`` in the recording, spoken ``pace`` times as long there: its start."""
    rate = reference.sample_rate
    step, width = rate * HOP_MS // 1000, rate * WIDTH_MS // 1000
    level = _level(recording, step, width)
    gains = level / _level(reference, step, width)
    floor = level * 1e-5  # 50 dB under the recording's speech
    return [
        _refined(reference, recording, start, placed, pace, (gains, floor), (step, width))
        for start, placed in zip(said, heard, strict=True)
    ]


def _refined(
    reference: Signal,
    recording: Signal,
    start: int,
    placed: int,
    pace: float,
    levels: tuple[np.ndarray, np.ndarray],
    shape: tuple[int, int],
) -> Onset:
    (gains, floor), (step, width) = levels, shape
    before, after = _frames(BEFORE_MS, step, reference), _frames(AFTER_MS, step, reference)
    reach = _frames(REACH_MS, step, reference)
    template = _grouped(reference, start - before * step, before + after, step, width)
    # the template at the recording's pace
    count = max(2, round((before + after) * pace))
    at = np.minimum(np.arange(count) / pace, before + after - 1)
    shown = np.stack([np.interp(at, np.arange(before + after), band) for band in template.T], 1)
    lead = round(before * pace)
    first = placed - (lead + reach) * step
    seen = _grouped(recording, first, count + 2 * reach, step, width)
    noise = np.percentile(seen, NOISE_SHARE, axis=0)
    model = np.log(shown * gains + np.maximum(noise, floor))
    log_seen = np.log(np.maximum(seen, floor))
    windows = np.lib.stride_tricks.sliding_window_view(log_seen, count, axis=0)
    best = int(np.argmin(((windows - model.T[None]) ** 2).mean(axis=(1, 2))))
    return Onset(first + (best + lead) * step, abs(best - reach) / reach)


GAP_BEFORE_MS, GAP_AFTER_MS = 600, 300  # around a start, the stretch that sets the levels
GAP_SKIP_MS = 50  # of the pause next to the speech on either side, left out


def stray(recording: Signal, start: int, previous_end: int) -> float:
    """The longest run of sound (seconds) in the pause before a start, from the end of the
    sentence before (at most ``GAP_BEFORE_MS`` back) and after some quiet: frames louder than
    halfway (in decibels) between the quiet and the speech around the start. A start placed
    late, after the first words, has them there."""
    rate = recording.sample_rate
    step, width = rate * HOP_MS // 1000, rate * WIDTH_MS // 1000
    first = start - rate * GAP_BEFORE_MS // 1000
    frames = (rate * (GAP_BEFORE_MS + GAP_AFTER_MS) // 1000) // step
    total = np.log(np.maximum(_grouped(recording, first, frames, step, width).sum(axis=1), 1e-30))
    quiet, loud = np.percentile(total, [NOISE_SHARE, LEVEL_SHARE])
    skip = rate * GAP_SKIP_MS // 1000
    begin = max(0, (max(first, previous_end + skip) - first) // step)
    end = max(begin, (start - skip - first) // step)
    sound = total[begin:end] > (quiet + loud) / 2
    # a run from the gap's first frame on may be the sentence before, its end placed early
    after_quiet = sound[int(np.argmin(sound)) :] if not sound.all() else sound[:0]
    return _longest(after_quiet) * HOP_MS / 1000


def _longest(flags: np.ndarray) -> int:
    """The longest run of True.

    >>> _longest(np.array([True, False, True, True, False]))
    2
    """
    longest = run = 0
    for flag in flags.tolist():
        run = run + 1 if flag else 0
        longest = max(longest, run)
    return longest


def _frames(ms: int, step: int, signal: Signal) -> int:
    return round(ms * signal.sample_rate / 1000 / step)


def _grouped(signal: Signal, begin: int, frames: int, step: int, width: int) -> np.ndarray:
    samples = signal.read(begin, begin + (frames - 1) * step + width)
    energies = features.mel_energies(samples, signal.sample_rate, frames, step, width)
    return energies.reshape(frames, GROUPS, -1).sum(axis=2).astype(np.float64)


def _level(signal: Signal, step: int, width: int, places: int = 30) -> np.ndarray:
    """Each band group's speech level: a percentile over 2 s at up to ``places`` places
    spread over the signal."""
    frames = 2000 // HOP_MS
    span = frames * step
    count = max(1, min(places, signal.length // span))  # none overlapping
    begins = np.linspace(0, max(0, signal.length - span), count).astype(int)
    energies = np.concatenate(
        [_grouped(signal, int(begin), frames, step, width) for begin in begins]
    )
    return np.maximum(np.percentile(energies, LEVEL_SHARE, axis=0), 1e-12)
