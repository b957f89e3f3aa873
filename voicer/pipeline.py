"""The pipeline: script -> segments -> clips -> programme -> audio file + subtitles."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

import numpy as np

from voicer import (
    audio,
    authoring,
    bwf,
    cache,
    engines,
    files,
    lint,
    loudness,
    mastering,
    rules,
    speaking,
    spoken,
    stream,
    subtitles,
    text,
    timeline,
    timing,
)
from voicer.delivery import Delivery, delivery_for, format_for
from voicer.errors import InputError, SynthesisError
from voicer.loudness import Measurement
from voicer.model import Clip, Cue, Placement, Programme, Script, Segment
from voicer.profiles import Profile, profile_for
from voicer.prosody import parse_prosody
from voicer.retry import RetryPolicy
from voicer.rules import Violation
from voicer.stream import Gained

DEFAULT_SENTENCE_PAUSE_MS = 400
DEFAULT_PARAGRAPH_PAUSE_MS = 900


@dataclass(frozen=True)
class RenderOptions:
    """Everything that changes what a render produces, except where it goes.

    Subtitle limits left as None take the profile's value for the language of the text.
    """

    engine: str = "auto"
    voice: str | None = None
    rate: str = "+0%"
    volume: str = "+0%"
    pitch: str = "+0Hz"
    sentence_pause_ms: int = DEFAULT_SENTENCE_PAUSE_MS
    paragraph_pause_ms: int = DEFAULT_PARAGRAPH_PAUSE_MS
    kokoro_model: Path | None = None
    probe_timeout: float = 3.0
    subtitle_style: str | None = None  # zh-netflix for Mandarin, plain otherwise
    max_chars: float | None = None
    max_lines: int | None = None
    min_duration_ms: int | None = None
    max_duration_ms: int | None = None
    min_gap_frames: int | None = None
    fps: float | None = None
    loudness: str | None = None  # a preset name; None: by format (see default_loudness)
    lufs: float | None = None  # overrides the preset's target
    true_peak: float | None = None  # overrides the preset's ceiling, dBTP
    sample_rate: int | None = None
    bit_depth: int | None = None
    bitrate: str | None = None
    channels: int = 1
    bwf: bool = False
    lead_in_ms: int = audio.MARGIN_MS
    tail_ms: int = audio.MARGIN_MS
    cache_dir: Path | None = None  # default: cache.default_directory()
    use_cache: bool = True
    lexicon: Path | None = None  # written form -> spoken form, TSV or TOML (spoken.load_lexicon)
    fills: Mapping[str, Sequence[str]] | None = None  # placeholder values (placeholders.fill)
    allow_placeholders: bool = False  # render a draft with placeholders left (not spoken)
    jobs: int | None = None  # sentences synthesised at once; None: the engine's default
    retries: int = RetryPolicy.retries  # further attempts after a transient engine failure

    def delivery(self, path: Path) -> Delivery:
        """The delivered audio for ``path``, validated."""
        return delivery_for(path, self.sample_rate, self.bit_depth, self.bitrate, self.channels)

    def loudness_target(self, path: Path) -> tuple[float, float] | None:
        """(integrated LUFS, true-peak ceiling dBTP) for ``path``; None: not normalised
        (preset ``none`` without ``lufs``)."""
        preset = self.loudness or default_loudness(path)
        lufs, ceiling = loudness.target_for(preset, self.channels) or (None, -1.0)
        lufs = self.lufs if self.lufs is not None else lufs
        ceiling = self.true_peak if self.true_peak is not None else ceiling
        return None if lufs is None else (lufs, ceiling)

    def profile(self, language: str) -> Profile:
        """The subtitle profile for text of ``language`` with these options applied."""
        return profile_for(
            language,
            self.subtitle_style,
            max_chars=self.max_chars,
            max_lines=self.max_lines,
            min_duration_ms=self.min_duration_ms,
            max_duration_ms=self.max_duration_ms,
            min_gap_frames=self.min_gap_frames,
            fps=self.fps,
        )


@dataclass(frozen=True)
class Outputs:
    """Where a render writes: the audio, one or more subtitle files, optionally a timeline."""

    audio: Path
    subtitles: tuple[Path, ...]
    timeline: Path | None = None

    @classmethod
    def beside(
        cls,
        audio_path: Path,
        srt: Path | None = None,
        extra_subtitles: tuple[Path, ...] = (),
        vtt: bool = False,
        timeline: Path | None = None,
    ) -> Outputs:
        """The audio, an SRT (beside it unless given), a VTT beside it if asked, and extras."""
        subtitles = [srt or audio_path.with_suffix(".srt")]
        if vtt:
            subtitles.append(audio_path.with_suffix(".vtt"))
        subtitles += [path for path in extra_subtitles if path not in subtitles]
        return cls(audio_path, tuple(subtitles), timeline)

    def all(self) -> list[Path]:
        return [self.audio, *self.subtitles, *([self.timeline] if self.timeline else [])]


@dataclass(frozen=True)
class Progress:
    """How far the synthesis of a render has got."""

    done: int  # sentences synthesised and assembled, in script order
    total: int
    audio_seconds: float  # of programme assembled so far
    elapsed: float  # seconds since synthesis started


@dataclass(frozen=True)
class RenderResult:
    """What a render wrote and how it went."""

    outputs: Outputs
    engine: str
    voice: str
    duration: float  # seconds of audio
    sentences: int
    cues: tuple[Cue, ...]
    sample_rate: int
    profile: Profile
    synthesis_seconds: float  # wall time spent inside the engine
    total_seconds: float
    notices: tuple[str, ...] = field(default_factory=tuple)
    violations: tuple[Violation, ...] = field(default_factory=tuple)
    loudness: Measurement | None = None  # of the delivered file, as decoded
    mastering_seconds: float = 0.0  # levelling, resampling, normalising and measuring
    cache_hits: int = 0  # clips taken from the cache instead of the engine
    synthesized: int = 0  # clips the engine made
    retries: int = 0  # engine requests tried again after a transient failure
    jobs: int = 1

    @property
    def real_time_factor(self) -> float:
        """Wall time per second of audio."""
        return self.total_seconds / self.duration if self.duration else 0.0

    @property
    def audio_path(self) -> Path:
        return self.outputs.audio

    @property
    def srt_path(self) -> Path:
        return self.outputs.subtitles[0]


def default_loudness(path: Path) -> str:
    """ebu-r128 for WAV and FLAC (broadcast delivery), podcast for the lossy formats."""
    return "podcast" if format_for(path).lossy else "ebu-r128"


def default_output(source_name: str) -> Path:
    """``audio/<stem>.mp3`` under the current directory.

    >>> default_output("talks/speech.txt")
    PosixPath('audio/speech.mp3')
    """
    stem = Path(source_name).stem if source_name != "-" else "stdin"
    return Path("audio") / f"{stem}.mp3"


@dataclass(frozen=True)
class Listener:
    """What a caller hears of a render as it goes; every part optional."""

    notice: Callable[[str], None] | None = None  # what the user should know (fallbacks, ...)
    detail: Callable[[str], None] | None = None  # each retried failure, for -v
    progress: Callable[[Progress], None] | None = None  # after each sentence is assembled


def render(
    source: Path | str,
    outputs: Outputs | Path | None = None,
    options: RenderOptions | None = None,
    listener: Listener | None = None,
) -> RenderResult:
    """Render a speech file. ``outputs`` may be just the audio path (SRT beside it); by default
    ``audio/<stem>.mp3`` and ``audio/<stem>.srt``."""
    script = text.read_script(Path(source))
    return render_script(script, outputs, options, listener)


def render_script(
    script: Script,
    outputs: Outputs | Path | None = None,
    options: RenderOptions | None = None,
    listener: Listener | None = None,
) -> RenderResult:
    """Render an already-read script. Every input check happens before synthesis starts."""
    began = time.perf_counter()
    options = options or RenderOptions()
    listener = listener or Listener()
    tell = listener.notice or (lambda message: None)
    if not isinstance(outputs, Outputs):
        outputs = Outputs.beside(outputs or default_output(script.source))

    prosody = parse_prosody(options.rate, options.volume, options.pitch)
    profile = options.profile(script.language)
    _check_outputs(outputs, options)
    prepared = authoring.prepare(script, options.fills, options.allow_placeholders)
    lexicon = spoken.load_lexicon(options.lexicon) if options.lexicon else None
    segments = authoring.speakable(prepared.segments, script.language, lexicon)
    choice = engines.choose(
        options.engine, options.voice, script.language, options.kokoro_model, options.probe_timeout
    )
    notices = list(choice.notices)
    notices += [
        f"the {choice.engine.name} engine cannot change {setting}; --{setting} is ignored"
        for setting in choice.engine.ignored_settings(prosody)
    ]
    segments, mapped = _voices_of(segments, choice)
    for notice in [*notices, *mapped]:
        tell(notice)

    jobs = options.jobs or choice.engine.default_jobs
    engine = choice.engine.name
    count = f"{len(segments)} sentence{'s' if len(segments) != 1 else ''}"
    tell(f"speaking {count} with {engine} ({choice.voice}), {jobs} at a time")
    policy = RetryPolicy(retries=options.retries)
    speaker = speaking.Speaker(choice, prosody, _cache(options), policy, listener.detail)
    speed = 1 + prosody.rate / 100
    captions_of = authoring.Captions(segments, profile, speed, script.language, lexicon)
    loudness.preload()  # while the engine works
    synthesis_began = time.perf_counter()
    with contextlib.ExitStack() as scratch:
        clips = scratch.enter_context(speaking.Synthesis(speaker, segments, captions_of, jobs))
        # while the engine works: the captions, and the check of the script
        captions = [captions_of(index) for index in range(len(segments))]
        found = lint.sentence_findings(prepared.segments, script.language, profile, lexicon)
        warnings = [f for f in found if f.severity == "warning"]
        if warnings:
            tell(f"{len(warnings)} warnings about the script (see: voicer check {script.source})")
        lead_in = options.lead_in_ms + prepared.lead_in_ms
        programme, levels, meter = _assemble(
            segments, iter(clips), replace(options, lead_in_ms=lead_in), scratch, listener.progress
        )
        synthesis_seconds = time.perf_counter() - synthesis_began
        spans = [(p.speech_start, p.speech_end) for p in programme.placements]
        levelled = Gained(programme.signal, *loudness.level_knots(levels, spans, meter))
        cues = timing.caption_cues(programme, captions, profile)
        measured, mastering_seconds = _write(outputs, programme, levelled, cues, choice, options)
    return RenderResult(
        outputs=outputs,
        engine=choice.engine.name,
        voice=choice.voice,
        duration=programme.duration,
        sentences=len(segments),
        cues=tuple(cues),
        sample_rate=programme.sample_rate,
        profile=profile,
        synthesis_seconds=synthesis_seconds,
        total_seconds=time.perf_counter() - began,
        notices=tuple(notices),
        violations=tuple(rules.check(cues, programme.sample_rate, profile)),
        loudness=measured,
        mastering_seconds=mastering_seconds,
        cache_hits=speaker.hits,
        synthesized=speaker.misses,
        retries=speaker.retries,
        jobs=jobs,
    )


def _voices_of(segments: list[Segment], choice: engines.Choice) -> tuple[list[Segment], list[str]]:
    """Sentences with the engine's name for each voice their markup asks for (checked before
    anything is synthesised), and a notice for each voice that had to be mapped."""
    resolved: dict[str, tuple[str, str | None]] = {}
    for voice in {segment.voice for segment in segments if segment.voice}:
        resolved[voice] = engines.voice_for(choice, voice)
    notices = sorted({notice for _, notice in resolved.values() if notice})
    return [
        replace(segment, voice=resolved[segment.voice][0]) if segment.voice else segment
        for segment in segments
    ], notices


def _assemble(
    segments: list[Segment],
    clips: Iterator[Clip],
    options: RenderOptions,
    scratch: contextlib.ExitStack,
    progress: Callable[[Progress], None] | None,
) -> tuple[Programme, list[float], loudness.Meter]:
    """Join the clips as they come into a scratch file (deleted when ``scratch`` closes),
    measuring as it goes: the programme, each sentence's loudness, and the programme's meter."""
    began = time.perf_counter()
    placements: list[Placement] = []
    levels: list[float] = []
    assembler: audio.Assembler | None = None
    for number, (segment, clip) in enumerate(zip(segments, clips, strict=True)):
        if assembler is None:
            pcm = scratch.enter_context(stream.PcmFile(clip.sample_rate))
            meter = loudness.Meter(clip.sample_rate, true_peak=False)
            assembler = audio.Assembler(
                _both(pcm.append, meter.feed), clip.sample_rate, options.lead_in_ms
            )
        last = number == len(segments) - 1
        pause = audio.pause_after(segment, options.sentence_pause_ms, options.paragraph_pause_ms)
        if last:
            pause = max(options.tail_ms, segment.pause_after_ms or 0)
        start, end = audio.clip_speech(segment, clip)
        placement = audio.place(assembler, segment, clip, (start, end), pause, last)
        placements.append(placement)
        levels.append(loudness.clip_loudness(clip.samples[start:end], clip.sample_rate))
        if progress:
            seconds = placement.speech_end / clip.sample_rate
            progress(Progress(number + 1, len(segments), seconds, time.perf_counter() - began))
    if assembler is None:
        raise SynthesisError("nothing to assemble: no audio was produced")
    assembler.finish()
    return Programme(signal=pcm, placements=tuple(placements)), levels, meter


def _both(
    first: Callable[[np.ndarray], None], second: Callable[[np.ndarray], None]
) -> Callable[[np.ndarray], None]:
    def both(samples: np.ndarray) -> None:
        first(samples)
        second(samples)

    return both


def _check_outputs(outputs: Outputs, options: RenderOptions) -> None:
    options.delivery(outputs.audio)
    options.loudness_target(outputs.audio)
    if options.bwf and format_for(outputs.audio).codec != "pcm":
        raise InputError("--bwf applies to WAV output only")
    for path in outputs.subtitles:
        subtitles.format_for(path)
    if outputs.timeline is not None and outputs.timeline.suffix.lower() != ".json":
        raise InputError(f"{outputs.timeline}: the timeline must be written to a .json file")
    paths = [path.resolve() for path in outputs.all()]
    if len(set(paths)) != len(paths):
        raise InputError("two outputs would be written to the same file")
    for path in outputs.all():
        files.check_writable(path)


def _write(
    outputs: Outputs,
    programme: Programme,
    levelled: stream.Signal,
    cues: list[Cue],
    choice: engines.Choice,
    options: RenderOptions,
) -> tuple[Measurement, float]:
    """Write every output, all or nothing; return the loudness of the delivered file and the
    seconds spent mastering it (resampling, normalising, encoding, measuring)."""
    rate = programme.sample_rate
    contents = [subtitles.format_text(cues, rate, path.suffix) for path in outputs.subtitles]
    if outputs.timeline is not None:
        contents.append(
            timeline.timeline_json(
                programme.placements,
                cues,
                rate,
                choice.voice,
                choice.engine.name,
                programme.duration,
            )
        )
    delivery = options.delivery(outputs.audio)
    target = options.loudness_target(outputs.audio)
    with files.atomic_outputs(outputs.all()) as temporaries:
        began = time.perf_counter()
        measured = mastering.deliver(levelled, delivery, target, temporaries[0], outputs.audio.name)
        seconds = time.perf_counter() - began
        if options.bwf:
            bwf.add_bext(temporaries[0], _bext_info(measured, delivery, choice))
        for temporary, content in zip(temporaries[1:], contents, strict=True):
            temporary.write_text(content, encoding="utf-8")
    return measured, seconds


def _bext_info(measured: Measurement, delivery: Delivery, choice: engines.Choice) -> bwf.BextInfo:
    now = datetime.now()
    return bwf.BextInfo(
        description=f"voicer render, {choice.engine.name} voice {choice.voice}",
        originator="voicer",
        origination_date=now.strftime("%Y-%m-%d"),
        origination_time=now.strftime("%H:%M:%S"),
        loudness_value=measured.integrated,
        loudness_range=measured.loudness_range,
        max_true_peak_level=measured.true_peak,
        coding_history=(
            f"A=PCM,F={delivery.sample_rate},W={delivery.bit_depth},"
            f"M={'mono' if delivery.channels == 1 else 'stereo'},T=voicer\r\n"
        ),
    )


def _cache(options: RenderOptions) -> cache.ClipCache | None:
    if not options.use_cache:
        return None
    return cache.ClipCache(options.cache_dir or cache.default_directory())
