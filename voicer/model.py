"""The plain data passed between voicer's stages.

text -> [Segment] -> engine -> [Clip] -> assemble -> Programme -> cues -> [Cue]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np


class Signal(Protocol):
    """Mono float32 samples, readable in any range (see voicer.audio.stream)."""

    @property
    def length(self) -> int: ...

    @property
    def sample_rate(self) -> int: ...

    def read(self, start: int, stop: int) -> np.ndarray:
        """Samples ``start:stop``, zeros where the range lies outside the signal."""
        ...


@dataclass(frozen=True)
class Script:
    """Decoded input text, where it came from, the language it is written in, and what the
    user should be told about reading it (control characters left out, ...)."""

    text: str
    source: str
    language: str  # "zh", "en" or "other"
    notices: tuple[str, ...] = ()


@dataclass(frozen=True)
class Segment:
    """One sentence: what subtitles show and what the engine speaks."""

    index: int
    shown: str
    spoken: str
    paragraph: int
    line: int  # 1-based line of the input where the sentence starts
    column: int  # 1-based column
    ends_paragraph: bool
    voice: str | None = None  # set by markup: another voice than the render's
    rate: int | None = None  # set by markup: speaking rate in percent, instead of the render's
    pause_after_ms: int | None = None  # set by markup: the pause after this sentence


@dataclass(frozen=True)
class Mark:
    """A timing mark an engine reports inside a clip (edge: one per word)."""

    start: int  # sample offset in the clip
    end: int
    text: str


@dataclass(frozen=True)
class Clip:
    """Mono float32 PCM for one segment, at ``sample_rate``, with the engine's marks."""

    samples: np.ndarray
    sample_rate: int
    marks: tuple[Mark, ...] = ()

    @property
    def duration(self) -> float:
        return len(self.samples) / self.sample_rate


@dataclass(frozen=True)
class Prosody:
    """Speaking settings in edge-tts units: percent for rate/volume, Hz for pitch."""

    rate: int = 0
    volume: int = 0
    pitch: int = 0

    def edge_args(self) -> dict[str, str]:
        """The signed strings edge-tts expects, e.g. ``{"rate": "+5%"}``."""
        return {
            "rate": f"{self.rate:+d}%",
            "volume": f"{self.volume:+d}%",
            "pitch": f"{self.pitch:+d}Hz",
        }


@dataclass(frozen=True)
class Voice:
    """A voice one engine offers."""

    name: str
    engine: str
    language: str  # BCP-47 such as "zh-CN"
    gender: str  # "Male" or "Female"
    description: str = ""


@dataclass(frozen=True)
class Placement:
    """Where one segment's speech lies in the programme, in samples."""

    segment: Segment
    speech_start: int
    speech_end: int
    marks: tuple[Mark, ...] = ()  # shifted to programme samples


@dataclass(frozen=True)
class Programme:
    """The assembled audio (read a block at a time) and where every segment's speech sits."""

    signal: Signal
    placements: tuple[Placement, ...] = field(default_factory=tuple)

    @property
    def sample_rate(self) -> int:
        return self.signal.sample_rate

    @property
    def duration(self) -> float:
        return self.signal.length / self.sample_rate


@dataclass(frozen=True)
class Cue:
    """One subtitle: start and end (in samples of some rate), and the lines it shows.

    ``text`` is the author's text the cue covers, before any punctuation convention, and
    ``segment`` the index of its sentence (-1 when unknown, e.g. read from a file).
    """

    start: int
    end: int
    lines: tuple[str, ...]
    text: str = ""
    segment: int = -1
