"""The pipeline: script -> segments -> clips -> programme -> audio file + subtitles."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

import numpy as np

from voicer import (
    audio,
    bwf,
    cache,
    engines,
    files,
    loudness,
    mastering,
    rules,
    subtitles,
    text,
    timeline,
    timing,
)
from voicer.captions import Caption, split_captions
from voicer.delivery import Delivery, delivery_for, format_for
from voicer.errors import InputError, SynthesisError
from voicer.loudness import Measurement
from voicer.model import Clip, Cue, Programme, Prosody, Script, Segment
from voicer.profiles import Profile, profile_for
from voicer.prosody import parse_prosody
from voicer.rules import Violation

DEFAULT_SENTENCE_PAUSE_MS = 400
DEFAULT_PARAGRAPH_PAUSE_MS = 900
CLAUSE_PAUSE_MS = 300
ENUMERATION_PAUSE_MS = 150
WORD_BREAK_PAUSE_MS = 120


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


def render(
    source: Path | str,
    outputs: Outputs | Path | None = None,
    options: RenderOptions | None = None,
    notify: Callable[[str], None] | None = None,
) -> RenderResult:
    """Render a speech file. ``outputs`` may be just the audio path (SRT beside it); by default
    ``audio/<stem>.mp3`` and ``audio/<stem>.srt``."""
    script = text.read_script(Path(source))
    return render_script(script, outputs, options, notify)


def render_script(
    script: Script,
    outputs: Outputs | Path | None = None,
    options: RenderOptions | None = None,
    notify: Callable[[str], None] | None = None,
) -> RenderResult:
    """Render an already-read script. Every input check happens before synthesis starts."""
    began = time.perf_counter()
    options = options or RenderOptions()
    tell = notify or (lambda message: None)
    if not isinstance(outputs, Outputs):
        outputs = Outputs.beside(outputs or default_output(script.source))

    prosody = parse_prosody(options.rate, options.volume, options.pitch)
    profile = options.profile(script.language)
    _check_outputs(outputs, options)
    segments = text.segments(script)
    speed = 1 + prosody.rate / 100
    captions = [split_captions(segment.shown, profile, speed) for segment in segments]

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

    speaker = _Speaker(choice, prosody, _cache(options))
    synthesis_began = time.perf_counter()
    clips = [
        _synthesize(speaker, segment, pieces)
        for segment, pieces in zip(segments, captions, strict=True)
    ]
    synthesis_seconds = time.perf_counter() - synthesis_began

    programme = audio.assemble(
        segments,
        clips,
        options.sentence_pause_ms,
        options.paragraph_pause_ms,
        options.lead_in_ms,
        options.tail_ms,
    )
    mastering_began = time.perf_counter()
    programme = _level(programme)
    mastering_seconds = time.perf_counter() - mastering_began
    cues = timing.caption_cues(programme, captions, profile)
    measured, seconds = _write(outputs, programme, cues, choice, options)
    mastering_seconds += seconds
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
    )


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
        measured = mastering.deliver(
            programme.samples, rate, delivery, target, temporaries[0], outputs.audio.name
        )
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


def _level(programme: Programme) -> Programme:
    """Even out the level between sentences (each within a few LU of the programme's median
    short-term loudness) before the whole is normalised."""
    spans = [(p.speech_start, p.speech_end) for p in programme.placements]
    levelled = loudness.level_segments(programme.samples, programme.sample_rate, spans)
    return replace(programme, samples=levelled.astype(np.float32, copy=False))


class _Speaker:
    """The chosen engine and voice, through the clip cache when there is one."""

    def __init__(
        self, choice: engines.Choice, prosody: Prosody, clips: cache.ClipCache | None
    ) -> None:
        self.choice = choice
        self.prosody = prosody
        self.clips = clips
        self.hits = self.misses = 0
        # computed once: the engine version may read package metadata or stat a model file
        engine = choice.engine
        self.key_fields = (engine.name, engine.cache_version, choice.voice, repr(prosody))

    @property
    def word_marks(self) -> bool:
        return self.choice.engine.word_marks

    def speak(self, text: str) -> Clip:
        engine, voice = self.choice.engine, self.choice.voice
        name = cache.key(*self.key_fields, text)
        found = self.clips.get(name) if self.clips else None
        if found is not None:
            self.hits += 1
            return found
        clip = engine.synthesize(text, voice, self.prosody)
        self.misses += 1
        if self.clips:
            self.clips.put(name, clip)
        return clip


def _cache(options: RenderOptions) -> cache.ClipCache | None:
    if not options.use_cache:
        return None
    return cache.ClipCache(options.cache_dir or cache.default_directory())


def _synthesize(speaker: _Speaker, segment: Segment, captions: list[Caption]) -> Clip:
    """A sentence's clip. An engine without word marks speaks each caption on its own (with
    the pause the engine itself makes at that punctuation), so every cue boundary is measured."""
    try:
        if speaker.word_marks or len(captions) < 2 or segment.spoken != segment.shown:
            return speaker.speak(segment.spoken)
        clips = [speaker.speak(caption.text) for caption in captions]
        pauses = [phrase_pause_ms(caption) for caption in captions]
        return audio.join_phrases(clips, [c.text for c in captions], pauses)
    except SynthesisError as exc:
        raise type(exc)(f"line {segment.line} ({segment.shown[:16]}…): {exc}") from None


def phrase_pause_ms(caption: Caption) -> int:
    """The pause after a caption spoken on its own, as the engine makes it inside a sentence
    (measured on kokoro: about 0.3 s after ，；： and shorter after 、)."""
    if caption.break_after != "clause":
        return WORD_BREAK_PAUSE_MS
    return ENUMERATION_PAUSE_MS if caption.text.rstrip()[-1:] == "、" else CLAUSE_PAUSE_MS
