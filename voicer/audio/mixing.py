"""The programme over another sound (a narrated video's own), which is ducked under the speech.

The ducking is keyed on the speech, as a sidechain compressor's would be, but from where the
programme knows every sentence is rather than from a detector: the original sound goes down
before each sentence starts and comes back after it ends, and never pumps on a breath.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from voicer import ffmpeg
from voicer.audio.loudness import measure_signal
from voicer.audio.stream import Gained, PcmFile, Signal
from voicer.defaults import DUCK_DB, MIX_LEVEL_LU

ATTACK_MS = 250  # the original is down by the time a sentence starts
RELEASE_MS = 600  # and back up this long after it ends
DEFAULT_MIX_LEVEL_LU = MIX_LEVEL_LU
DEFAULT_DUCK_DB = DUCK_DB


class Sum:
    """Two signals added; as long as the longer."""

    def __init__(self, first: Signal, second: Signal) -> None:
        self.first, self.second = first, second
        self.sample_rate = first.sample_rate

    @property
    def length(self) -> int:
        return max(self.first.length, self.second.length)

    def read(self, start: int, stop: int) -> np.ndarray:
        return self.first.read(start, stop) + self.second.read(start, stop)


class Fitted:
    """A signal cut, or followed by silence, to exactly ``length`` samples."""

    def __init__(self, source: Signal, length: int) -> None:
        self.source, self.sample_rate, self.length = source, source.sample_rate, length

    def read(self, start: int, stop: int) -> np.ndarray:
        samples = self.source.read(start, stop)
        samples[max(0, self.length - start) :] = 0.0
        return samples


def decode_sound(path: Path, sample_rate: int) -> PcmFile:
    """The sound of a media file, mono at ``sample_rate``, in a scratch file (close it)."""
    pcm = PcmFile(sample_rate)
    try:
        for block in ffmpeg.decode_blocks(path, sample_rate):
            pcm.append(block)
    except BaseException:
        pcm.close()
        raise
    return pcm


def ducked_under(
    speech: Signal,
    original: Signal,
    spans: Sequence[tuple[int, int]],
    level_lu: float = DEFAULT_MIX_LEVEL_LU,
    duck_db: float = DEFAULT_DUCK_DB,
) -> Signal:
    """``speech`` over ``original``: the original's loudness set ``level_lu`` against the
    speech's while a sentence is heard (``spans``, in samples), and ``duck_db`` higher in
    between. An original with no measurable sound is left out."""
    speech_lufs = measure_signal(speech, with_peak=False).measurement().integrated
    original_lufs = measure_signal(original, with_peak=False).measurement().integrated
    if not np.isfinite(original_lufs) or not np.isfinite(speech_lufs):
        return speech
    under = 10 ** ((speech_lufs + level_lu - original_lufs) / 20)
    positions, gains = duck_knots(spans, speech.sample_rate, under, under * 10 ** (duck_db / 20))
    return Sum(speech, Gained(original, positions, gains))


def duck_knots(
    spans: Sequence[tuple[int, int]], rate: int, low: float, high: float
) -> tuple[np.ndarray, np.ndarray]:
    """Gain knots: ``high`` between sentences, ``low`` from ATTACK_MS before each span to
    RELEASE_MS after it; spans closer than that stay ducked in between.

    >>> positions, gains = duck_knots([(1000, 2000)], 1000, 0.1, 1.0)
    >>> positions.tolist(), gains.tolist()
    ([750.0, 1000.0, 2000.0, 2600.0], [1.0, 0.1, 0.1, 1.0])
    """
    attack, release = ATTACK_MS * rate / 1000, RELEASE_MS * rate / 1000
    merged: list[list[float]] = []
    for start, end in sorted((float(a), float(b)) for a, b in spans):
        if merged and start - attack <= merged[-1][1] + release:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    positions: list[float] = []
    gains: list[float] = []
    for start, end in merged:
        positions += [max(0.0, start - attack), start, end, end + release]
        gains += [high, low, low, high]
    return np.array(positions), np.array(gains)
