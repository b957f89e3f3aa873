"""The plain data passed between voicer's stages.

text -> [Segment] -> engine -> [Clip] -> assemble -> Programme -> cues -> [Cue]
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
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
class SourceMap:
    """Where the characters of a text made from a source file (the plain text of a Markdown
    draft) were written in that file.

    ``lines`` holds, for every line of the text, runs ``(column, source line, source column)``
    (all 1-based, in order): from ``column`` on, the line's characters follow one another in
    the source from ``source line``:``source column``, up to the next run.
    """

    lines: tuple[tuple[tuple[int, int, int], ...], ...]

    def locate(self, line: int, column: int) -> tuple[int, int]:
        """The source line and column of the text's ``line``:``column``.

        >>> SourceMap((((1, 3, 5), (4, 4, 1)),)).locate(1, 5)
        (4, 2)
        """
        runs = self.lines[min(max(line, 1), len(self.lines)) - 1] if self.lines else ()
        index = bisect_right(runs, column, key=lambda run: run[0]) - 1
        if index < 0:
            return runs[0][1:] if runs else (line, column)
        start, source_line, source_column = runs[index]
        return source_line, source_column + column - start


@dataclass(frozen=True)
class Script:
    """Decoded input text, where it came from, the language it is written in, and what the
    user should be told about reading it (control characters left out, ...).

    A text that is not the file as written (a Markdown draft's plain text) carries
    ``positions``, where its characters are in the file, and ``literal``, the offsets of its
    characters the author wrote as text to be taken as it is (escaped or code in Markdown):
    those are never part of a placeholder.
    """

    text: str
    source: str
    language: str  # "zh", "en" or "other"
    notices: tuple[str, ...] = ()
    positions: SourceMap | None = field(default=None, repr=False)
    literal: frozenset[int] = field(default=frozenset(), repr=False)

    def locate(self, line: int, column: int) -> tuple[int, int]:
        """Where the text's ``line``:``column`` (1-based) was written in the source."""
        return self.positions.locate(line, column) if self.positions else (line, column)


@dataclass(frozen=True)
class Override:
    """A reading given by the user for ``text[start:end]``: one syllable per character, in
    the form :mod:`voicer.script.pinyin` writes them (``hang2``, ``ma5``, ``lv4``)."""

    start: int
    end: int
    pinyin: tuple[str, ...]


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
    # readings the author gave (lexicon or markup), at their offsets in ``spoken``
    pinyin: tuple[Override, ...] = ()


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
