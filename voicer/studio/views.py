"""What the studio's API answers, declared once: the state the page draws, each sentence in it,
a draft, the findings and an export's outcome.

They are typed dicts, so a :class:`~voicer.studio.session.Studio` hands back what the server
sends as JSON, key for key (the page's ``studio.js`` reads these names). mypy checks every
place that builds one; pydantic validates one against its declaration (``extra="forbid"``:
a key not declared here is an error), as the tests do with :data:`STATE`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, TypeAdapter, with_config
from typing_extensions import TypedDict  # pydantic reads typing's only from Python 3.12

EXACT = ConfigDict(extra="forbid", strict=True)

DraftState = Literal["waiting", "speaking", "ready", "stopped", "failed"]


@with_config(EXACT)
class DraftView(TypedDict):
    """A sentence's text spoken ahead of its re-take: ``waiting`` for the engine,
    ``speaking``, ``ready``, ``stopped`` or ``failed`` (then with ``error``)."""

    text: str
    state: DraftState
    error: str | None


@with_config(EXACT)
class VoiceView(TypedDict):
    name: str
    gender: str
    description: str


@with_config(EXACT)
class WordView(TypedDict):
    """A word as the offline engine reads it: its characters and their pinyin, spaced."""

    text: str
    pinyin: str


@with_config(EXACT)
class CueView(TypedDict):
    """A subtitle cue, its times in seconds."""

    start: float
    end: float
    lines: list[str]


@with_config(EXACT)
class ReadingView(TypedDict):
    """A lexicon entry that applies to the sentence."""

    written: str
    spoken: str


@with_config(EXACT)
class FindingView(TypedDict):
    """What ``voicer check`` says about the sentence."""

    severity: str
    kind: str
    text: str
    message: str
    spoken: str | None


@with_config(EXACT)
class SentenceView(TypedDict):
    """A sentence: its text, how it is said, its times (None until its clip is placed), its own
    settings (``*_set``: written in the script for it), what it can do and what was found."""

    index: int
    shown: str
    spoken: str
    pinyin: str
    words: list[WordView]
    line: int
    column: int
    ready: bool
    start: float | None
    end: float | None
    hash: str | None
    cues: list[CueView]
    voice: str
    voice_set: bool
    rate: int
    rate_set: bool
    pause: int
    pause_set: bool
    editable: bool
    readings: list[ReadingView]
    undo: bool
    findings: list[FindingView]
    draft: DraftView | None


@with_config(EXACT)
class StateView(TypedDict):
    """The script as the page shows it, and how far the first render has got."""

    source: str
    version: int
    rendering: bool
    ready: int
    render_error: str | None
    duration: float
    engine: str
    voice: str
    lexicon: str | None
    voices: list[VoiceView]
    limits: dict[str, tuple[int, int]]  # a sentence's own rate and pause: (least, most)
    sentences: list[SentenceView]


@with_config(EXACT)
class ExportView(TypedDict):
    """What an export wrote, and the lines ``voicer render`` would print."""

    written: list[str]
    duration: float
    cues: int
    loudness: float
    report: list[str]
    warnings: list[str]


STATE: TypeAdapter[StateView] = TypeAdapter(StateView)
EXPORT: TypeAdapter[ExportView] = TypeAdapter(ExportView)
