"""The pipeline: script -> segments -> clips -> programme -> audio file + subtitles."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from voicer import audio, engines, files, subtitles, text, timing
from voicer.errors import InputError, SynthesisError
from voicer.model import Clip, Prosody, Script, Segment
from voicer.prosody import parse_prosody

DEFAULT_SENTENCE_PAUSE_MS = 400
DEFAULT_PARAGRAPH_PAUSE_MS = 900


@dataclass(frozen=True)
class RenderOptions:
    """Everything that changes what a render produces, except where it goes."""

    engine: str = "auto"
    voice: str | None = None
    rate: str = "+0%"
    volume: str = "+0%"
    pitch: str = "+0Hz"
    sentence_pause_ms: int = DEFAULT_SENTENCE_PAUSE_MS
    paragraph_pause_ms: int = DEFAULT_PARAGRAPH_PAUSE_MS
    kokoro_model: Path | None = None
    probe_timeout: float = 3.0


@dataclass(frozen=True)
class RenderResult:
    """What a render wrote and how it went."""

    audio_path: Path
    srt_path: Path
    engine: str
    voice: str
    duration: float  # seconds of audio
    sentences: int
    cues: int
    synthesis_seconds: float  # wall time spent inside the engine
    total_seconds: float
    notices: tuple[str, ...] = field(default_factory=tuple)


def default_output(source_name: str) -> Path:
    """``audio/<stem>.mp3`` under the current directory.

    >>> default_output("talks/speech.txt")
    PosixPath('audio/speech.mp3')
    """
    stem = Path(source_name).stem if source_name != "-" else "stdin"
    return Path("audio") / f"{stem}.mp3"


def render(
    source: Path | str,
    output: Path | None = None,
    srt_path: Path | None = None,
    options: RenderOptions | None = None,
    notify: Callable[[str], None] | None = None,
) -> RenderResult:
    """Render a speech file to ``output`` (default ``audio/<stem>.mp3``) and an SRT beside it."""
    script = text.read_script(Path(source))
    return render_script(script, output, srt_path, options, notify)


def render_script(
    script: Script,
    output: Path | None = None,
    srt_path: Path | None = None,
    options: RenderOptions | None = None,
    notify: Callable[[str], None] | None = None,
) -> RenderResult:
    """Render an already-read script. Every input check happens before synthesis starts."""
    began = time.perf_counter()
    options = options or RenderOptions()
    tell = notify or (lambda message: None)
    output = output or default_output(script.source)
    srt_path = srt_path or output.with_suffix(".srt")

    prosody = parse_prosody(options.rate, options.volume, options.pitch)
    audio.output_args(output)
    if srt_path.suffix.lower() != ".srt":
        raise InputError(f"{srt_path}: subtitles must be written to a .srt file")
    if srt_path.resolve() == output.resolve():
        raise InputError(f"{output}: the audio and the subtitles cannot be the same file")
    for path in (output, srt_path):
        files.check_writable(path)
    segments = text.segments(script)

    choice = engines.choose(
        options.engine, options.voice, script.language, options.kokoro_model, options.probe_timeout
    )
    notices = list(choice.notices)
    notices += [
        f"the {choice.engine.name} engine cannot change {setting}; --{setting} is ignored"
        for setting in choice.engine.ignored_settings(prosody)
    ]
    for notice in notices:
        tell(notice)
    tell(f"speaking {len(segments)} sentences with {choice.engine.name} ({choice.voice})")

    synthesis_began = time.perf_counter()
    clips = [_synthesize(choice, segment, prosody) for segment in segments]
    synthesis_seconds = time.perf_counter() - synthesis_began

    programme = audio.assemble(
        segments, clips, options.sentence_pause_ms, options.paragraph_pause_ms
    )
    cues = timing.sentence_cues(programme)
    srt_content = subtitles.srt_text(cues, programme.sample_rate)
    with files.atomic_outputs([output, srt_path]) as (audio_tmp, srt_tmp):
        audio.encode(programme, audio_tmp, target=output)
        srt_tmp.write_text(srt_content, encoding="utf-8")

    return RenderResult(
        audio_path=output,
        srt_path=srt_path,
        engine=choice.engine.name,
        voice=choice.voice,
        duration=programme.duration,
        sentences=len(segments),
        cues=len(cues),
        synthesis_seconds=synthesis_seconds,
        total_seconds=time.perf_counter() - began,
        notices=tuple(notices),
    )


def _synthesize(choice: engines.Choice, segment: Segment, prosody: Prosody) -> Clip:
    try:
        return choice.engine.synthesize(segment.spoken, choice.voice, prosody)
    except SynthesisError as exc:
        raise type(exc)(f"line {segment.line} ({segment.shown[:16]}…): {exc}") from None
