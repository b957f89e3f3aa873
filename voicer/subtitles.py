"""Subtitle writers: cues (in samples) to the bytes of a subtitle file."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import srt

from voicer.model import Cue


def to_timedelta(sample: int, sample_rate: int) -> timedelta:
    """A sample position rounded to the nearest millisecond (SRT's resolution).

    >>> to_timedelta(36, 24000)
    datetime.timedelta(microseconds=2000)
    """
    return timedelta(milliseconds=round(sample * 1000 / sample_rate))


def srt_text(cues: Sequence[Cue], sample_rate: int) -> str:
    """The cues as SRT, numbered from 1."""
    subtitles = [
        srt.Subtitle(
            index=n,
            start=to_timedelta(cue.start, sample_rate),
            end=to_timedelta(cue.end, sample_rate),
            content="\n".join(cue.lines),
        )
        for n, cue in enumerate(cues, start=1)
    ]
    return srt.compose(subtitles, reindex=False)
