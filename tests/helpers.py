"""Small conveniences for tests over voicer's streaming, file-writing API."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voicer.audio import assembly
from voicer.audio.stream import materialize
from voicer.model import Clip, Cue, Placement, Segment
from voicer.subtitles import formats


@dataclass(frozen=True)
class InMemory:
    """A programme assembled by voicer's own assembly path, read back whole."""

    samples: np.ndarray
    placements: tuple[Placement, ...]
    sample_rate: int

    @property
    def duration(self) -> float:
        return self.samples.size / self.sample_rate


def assemble(
    segments: Sequence[Segment],
    clips: Sequence[Clip],
    sentence_pause_ms: int,
    paragraph_pause_ms: int,
    lead_in_ms: int = assembly.MARGIN_MS,
    tail_ms: int = assembly.MARGIN_MS,
) -> InMemory:
    """The programme ``render`` would assemble from these clips, in memory."""
    spacing = assembly.Spacing(sentence_pause_ms, paragraph_pause_ms, lead_in_ms, tail_ms)
    with contextlib.ExitStack() as scratch:
        made = assembly.assemble(segments, clips, spacing, scratch)
        programme = made.programme
        return InMemory(materialize(programme.signal), programme.placements, programme.sample_rate)


def write_subtitles(cues: Sequence[Cue], sample_rate: int, path: Path, extension: str = "") -> None:
    """Write cues in the format of ``path``'s extension (or ``extension``), as render does."""
    text = formats.format_text(cues, sample_rate, extension or path.suffix)
    path.write_text(text, encoding="utf-8", newline="\n")
