"""Subtitle cues from the programme's sample positions."""

from __future__ import annotations

from voicer.model import Cue, Programme


def sentence_cues(programme: Programme) -> list[Cue]:
    """One cue per sentence, from the first to the last sample of its speech."""
    return [
        Cue(start=p.speech_start, end=p.speech_end, lines=(p.segment.shown,))
        for p in programme.placements
    ]
