"""The pipeline: script -> segments -> clips -> programme -> audio file + subtitles.

:func:`render_script` wires the stages. Each step is also a function of its own, so that a
caller that works sentence by sentence (the studio, batch rendering) reuses them::

    targets = check_outputs(outputs, options)     # every output resolved and checked
    plan = prepare(script, options)               # sentences, engine and voice, profile
    speaker = open_speaker(plan, options)         # the engine, through the cache, with retries
    clip = synthesise_sentence(speaker, plan, i)  # one sentence
    assembled = assemble(plan, clips, options)    # the programme, measured as it is joined
    cues = cue(plan, assembled.programme)
    delivered = finish(targets, plan, assembled, cues, options)   # every output written
    result = RenderResult.of(plan, outputs, delivered, speaker.counts(), began)
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import threading
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

from voicer import checks, ffmpeg, files, scratch
from voicer import options as declared
from voicer.audio import assembly, audiosegment, loudness, mastering, mixing
from voicer.audio.audiosegment import AudioSegment
from voicer.audio.loudness import Measurement
from voicer.audio.stream import Signal
from voicer.checks import SentenceReading as SentenceReading
from voicer.checks import WordReading as WordReading
from voicer.checks import check_notices as check_notices
from voicer.checks import pinyin_notices
from voicer.checks import segment_reading as segment_reading
from voicer.checks import sentence_readings as sentence_readings
from voicer.defaults import PARAGRAPH_PAUSE_MS, SENTENCE_PAUSE_MS
from voicer.errors import InputError, SynthesisError
from voicer.model import Clip, Cue, Programme, Prosody, Script, Segment
from voicer.options import RenderOptions as RenderOptions
from voicer.options import VideoSettings
from voicer.script import headings, lint, placeholders, reading, spoken_form
from voicer.script import prepare as drafts
from voicer.script.overrides import annotate
from voicer.subtitles import cues as cueing
from voicer.subtitles import formats, rules, timeline
from voicer.subtitles.profiles import Profile, profile_for
from voicer.subtitles.rules import Violation
from voicer.subtitles.timestamps import from_ms, to_ms
from voicer.synthesis import cache, pool
from voicer.synthesis.engines import selection, workers
from voicer.synthesis.retry import RetryPolicy
from voicer.video import compose, containers
from voicer.video import picture as pictures
from voicer.video.picture import Picture

DEFAULT_SENTENCE_PAUSE_MS = SENTENCE_PAUSE_MS
DEFAULT_PARAGRAPH_PAUSE_MS = PARAGRAPH_PAUSE_MS


def options_of(settings: Mapping[str, Any]) -> RenderOptions:
    """The options ``settings`` give by the names :mod:`voicer.options` declares, the video
    ones beside the others; ``fills`` are added after ``fill_file``'s."""
    own, video = declared.split_video(settings)
    own["fills"] = placeholders.fill_values(own.get("fill_file"), own.get("fills")) or None
    return RenderOptions(**own, video=VideoSettings(**video))


def mastering_of(
    options: RenderOptions, path: Path, broadcast: bool = False
) -> mastering.Mastering:
    """How the audio at ``path`` is delivered, every setting checked; ``broadcast``: the
    loudness preset defaults to EBU R128 whatever the format (video sound)."""
    return mastering.mastering_for(
        path,
        sample_rate=options.sample_rate,
        bit_depth=options.bit_depth,
        bitrate=options.bitrate,
        channels=options.channels,
        preset=options.loudness or ("ebu-r128" if broadcast else None),
        lufs=options.lufs,
        true_peak=options.true_peak,
        add_bwf=options.bwf,
    )


def profile_of(options: RenderOptions, language: str) -> Profile:
    """The subtitle profile for text of ``language`` with ``options`` applied."""
    limits = declared.of_stages(declared.SUBTITLES)
    given = {o.name: getattr(options, o.name) for o in limits if o.name != "subtitle_style"}
    return profile_for(language, options.subtitle_style, **given)


def spacing_of(options: RenderOptions, lead_in_ms: int = 0) -> assembly.Spacing:
    """The programme's silences; ``lead_in_ms`` more before the first speech."""
    return assembly.Spacing(
        options.sentence_pause_ms,
        options.paragraph_pause_ms,
        options.lead_in_ms + lead_in_ms,
        options.tail_ms,
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
    """How far a render has got: sentences synthesised and assembled, then mastering."""

    done: int  # sentences assembled, in script order
    total: int
    audio_seconds: float  # of programme assembled so far
    elapsed: float  # seconds since synthesis started
    mastering: float | None = None  # once mastering has started: the share done, 0 to 1
    step: str = "mastering"  # what the last part of the work is called


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
    counts: pool.Counts = pool.Counts()  # the engine's work: clips made, cached, retried
    jobs: int = 1

    @classmethod
    def of(
        cls,
        plan: Plan,
        outputs: Outputs,
        delivered: Delivered,
        counts: pool.Counts,
        began: float,
        synthesis_began: float | None = None,
        jobs: int = 1,
    ) -> RenderResult:
        """What delivering ``plan`` to ``outputs`` made. ``began``: when the render started
        (``time.perf_counter()``), ``synthesis_began``: when its synthesis did (None: the
        clips were there before, as for a studio's export)."""
        synthesis = 0.0 if synthesis_began is None else delivered.assembled_at - synthesis_began
        return RenderResult(
            outputs=outputs,
            engine=plan.choice.engine.name,
            voice=plan.choice.voice,
            duration=delivered.duration,
            sentences=len(plan.segments),
            cues=delivered.cues,
            sample_rate=delivered.sample_rate,
            profile=plan.profile,
            synthesis_seconds=synthesis,
            total_seconds=time.perf_counter() - began,
            notices=plan.notices,
            violations=delivered.violations,
            loudness=delivered.loudness,
            mastering_seconds=delivered.mastering_seconds,
            counts=counts,
            jobs=jobs,
        )

    @property
    def cache_hits(self) -> int:
        """Clips taken from the cache instead of the engine."""
        return self.counts.cached

    @property
    def synthesised(self) -> int:
        """Clips the engine made."""
        return self.counts.synthesised

    @property
    def synthesized(self) -> int:
        """Deprecated: :attr:`synthesised`."""
        warnings.warn("RenderResult.synthesized is now synthesised", DeprecationWarning, 2)
        return self.synthesised

    @property
    def retries(self) -> int:
        """Engine requests tried again after a transient failure."""
        return self.counts.retries

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
    progress: Callable[[Progress], None] | None = None  # after each sentence, and mastering


@dataclass(frozen=True)
class Plan:
    """A script made ready to speak: its sentences as drafted (for the checks) and as spoken
    (spoken form, voices resolved), the engine and voice, and the subtitle profile."""

    script: Script
    drafted: tuple[Segment, ...]
    segments: tuple[Segment, ...]
    lead_in_ms: int  # silence markup asks for before the first sentence
    profile: Profile
    prosody: Prosody
    lexicon: spoken_form.Lexicon | None
    choice: selection.Choice
    notices: tuple[str, ...]

    @property
    def language(self) -> str:
        return self.script.language


def prepare(script: Script, options: RenderOptions, choice: selection.Choice | None = None) -> Plan:
    """Everything that can be decided before synthesis; an InputError for anything wrong.
    ``choice``: the engine and voice an earlier plan chose (kept loaded, not chosen again)."""
    prosody = Prosody(options.rate.amount, options.volume.amount, options.pitch.amount)
    profile = profile_of(options, script.language)
    prepared = drafts.prepare(script, options.fills, options.allow_placeholders)
    lexicon = spoken_form.load_lexicon(options.lexicon) if options.lexicon else None
    segments = drafts.speakable(prepared.segments, script.language, lexicon)
    choice = choice or selection.choose(
        options.engine, options.voice, script.language, options.kokoro_model, options.probe_timeout
    )
    segments, mapped = selection.with_engine_voices(segments, choice)
    unsaid: list[str] = []
    if not choice.engine.takes_pinyin:
        say = lexicon.say if lexicon is not None else {}
        unsaid = pinyin_notices(choice.engine.name, segments, say)
        segments = [drafts.said_instead(segment, say) for segment in segments]
    notices = [
        *script.notices,
        *choice.notices,
        *selection.ignored_settings_notices(choice, prosody),
        *mapped,
        *unsaid,
    ]
    return Plan(
        script=script,
        drafted=tuple(prepared.segments),
        segments=tuple(segments),
        lead_in_ms=prepared.lead_in_ms,
        profile=profile,
        prosody=prosody,
        lexicon=lexicon,
        choice=choice,
        notices=tuple(notices),
    )


def respoken(plan: Plan, segment: Segment, shown: str) -> Segment:
    """``segment`` showing ``shown`` (a text without markup) instead, spoken as the plan
    speaks its sentences: the spoken form, the lexicon's readings, the plan's engine."""
    lexicon = plan.lexicon
    spoken = drafts.spoken_text(shown, plan.language, lexicon)
    entries = lexicon.pinyin if lexicon is not None else {}
    readings = drafts.spoken_readings(shown, spoken, (), entries)
    said = replace(segment, shown=shown, spoken=spoken, pinyin=readings)
    if plan.choice.engine.takes_pinyin:
        return said
    return drafts.said_instead(said, lexicon.say if lexicon is not None else {})


def open_speaker(
    plan: Plan, options: RenderOptions, on_retry: Callable[[str], None] | None = None
) -> pool.Speaker:
    """The plan's engine and voice, through the clip cache (unless turned off), with retries."""
    clips = None
    if options.use_cache:
        clips = cache.ClipCache.open(options.cache_dir, options.cache_max)
    policy = RetryPolicy(retries=options.retries)
    return pool.Speaker(plan.choice, plan.prosody, clips, policy, on_retry)


def synthesise_sentence(speaker: pool.Speaker, plan: Plan, index: int) -> Clip:
    """Sentence ``index``'s clip: the whole sentence in one request, whatever its subtitles
    will be (they are cut from the clip's word marks afterwards)."""
    return synthesise_segment(speaker, plan, plan.segments[index])


def synthesise_segment(speaker: pool.Speaker, plan: Plan, segment: Segment) -> Clip:
    """The clip of ``segment``, spoken as the plan speaks its sentences."""
    try:
        return speaker.speak(*_request(plan, segment))
    except SynthesisError as exc:
        raise exc.within(f"line {segment.line} (“{pool.preview(segment.shown)}”)") from None


def _request(plan: Plan, segment: Segment) -> tuple[str, str | None, Prosody | None]:
    """What the engine is asked to say for ``segment``: its text with the readings in it (none
    for an engine that cannot take them), its own voice and its own rate (None: the plan's)."""
    prosody = None if segment.rate is None else replace(plan.prosody, rate=segment.rate)
    return annotate(segment.spoken, segment.pinyin), segment.voice, prosody


def assemble(
    plan: Plan,
    clips: Iterable[Clip],
    options: RenderOptions,
    scratch: contextlib.ExitStack,
    on_placed: Callable[[int, float], None] | None = None,
    measures: assembly.Measures | None = None,
) -> assembly.Assembled:
    """The programme, joined from ``clips`` in script order into a scratch file (removed when
    ``scratch`` closes); ``on_placed(i, seconds)`` after sentence i, with the audio so far.
    ``measures``: see :func:`voicer.audio.assembly.assemble`."""
    spacing = spacing_of(options, plan.lead_in_ms)
    return assembly.assemble(plan.segments, clips, spacing, scratch, on_placed, measures)


def cue(plan: Plan, programme: Programme) -> list[Cue]:
    """The subtitle cues of the programme, cut and timed on its speech."""
    return cueing.programme_cues(programme, plan.profile, tuple(plan.lexicon or ()))


@dataclass(frozen=True)
class Targets:
    """Where a render's outputs go and in what form, worked out and checked once, before
    synthesis: the files, how the sound is mastered (the audio file's, or a video's sound
    track), each subtitle file with its format, and what a video output shows (its font
    chosen once the sentences are known, see :meth:`with_font`)."""

    outputs: Outputs
    mastering: mastering.Mastering
    subtitles: tuple[tuple[Path, formats.Format], ...]
    picture: Picture | None = None  # when the audio output is a video file

    def with_font(self, plan: Plan, scratch: contextlib.ExitStack) -> Targets:
        """The targets with a font that draws every character the video may show: the plan's
        sentences as subtitles show them (an InputError if there is none). Without a video,
        or with its font chosen, they are as they are."""
        if self.picture is None or self.picture.font is not None:
            return self
        return replace(self, picture=with_font(self.picture, plan, scratch))

    def moved(self, outputs: Outputs) -> Targets:
        """The same targets written to ``outputs`` instead, file for file, in the same formats
        (a batch's finishing task writes into a folder of its own)."""
        forms = tuple(form for _, form in self.subtitles)
        subtitles = tuple(zip(outputs.subtitles, forms, strict=True))
        return replace(self, outputs=outputs, subtitles=subtitles)


def check_outputs(outputs: Outputs, options: RenderOptions, source: str | None = None) -> Targets:
    """The targets of a render, every output path and format checked before synthesis
    (InputError), none of them an input (the script read from ``source``, the lexicon, the
    model, a picture, video or font)."""
    fps = profile_of(options, "zh").fps  # the frame rate is the subtitle profile's, any language
    picture = pictures.picture_for(outputs.audio, options.video, fps)
    sound = sound_mastering(outputs.audio, options)
    if picture is None:
        _check_no_video_options(outputs.audio, options)
    else:
        _check_mix(picture, options)
    subtitles = tuple((path, formats.format_for(path)) for path in outputs.subtitles)
    if outputs.timeline is not None and outputs.timeline.suffix.lower() != ".json":
        raise InputError(f"{outputs.timeline}: the timeline must be written to a .json file")
    paths = [path.resolve() for path in outputs.all()]
    if len(set(paths)) != len(paths):
        raise InputError("two outputs would be written to the same file")
    _check_not_inputs(outputs, options, source)
    for path in outputs.all():
        files.check_writable(path)
    return Targets(outputs, sound, subtitles, picture)


def sound_mastering(audio: Path, options: RenderOptions) -> mastering.Mastering:
    """How the sound delivered to ``audio`` is mastered, every setting checked (InputError):
    as the audio file's format says, or for a video file as its sound track's (see
    :func:`sound_track`), at EBU R128 unless another loudness is asked for."""
    container = containers.container_for(audio)
    if container is None:
        return mastering_of(options, audio)
    return mastering_of(options, sound_track(container), broadcast=True)


def sound_track(container: containers.Container) -> Path:
    """The file a video's sound is mastered to before it is muxed (in the video's folder)."""
    return Path(f"sound{container.audio}")


def _check_no_video_options(audio: Path, options: RenderOptions) -> None:
    if given := declared.given_flags(options, declared.VIDEO):
        raise InputError(
            f"{', '.join(given)}: for a video output only (.mp4, .mkv or .webm), not {audio.name}"
        )


def _check_mix(picture: Picture, options: RenderOptions) -> None:
    shown = picture.source
    if options.mix and not isinstance(shown, pictures.Narrated):
        raise InputError("--mix needs --video-in (the video whose sound is mixed)")
    if options.mix and isinstance(shown, pictures.Narrated) and not shown.media.has_audio:
        raise InputError(f"{shown.file}: has no sound to mix under the speech (--mix)")


def _check_not_inputs(outputs: Outputs, options: RenderOptions, source: str | None) -> None:
    """An InputError when an output would replace a file the render reads: a script named
    ``speech.srt`` must not become its own subtitles."""
    video = options.video
    given = [source, options.lexicon, options.fill_file, options.kokoro_model, video.video_in]
    inputs = [Path(name) for name in [*given, video.background, video.font] if name]
    for output in outputs.all():
        read = next((path for path in inputs if _same_file(output, path)), None)
        if read is not None:
            raise InputError(f"{output}: is an input of this render ({read}): choose another name")


def _same_file(one: Path, other: Path) -> bool:
    try:
        return os.path.samefile(one, other)
    except OSError:  # either is missing (or not a file at all): nothing would be replaced
        return False


def write(
    targets: Targets,
    plan: Plan,
    assembled: assembly.Assembled,
    cues: Sequence[Cue],
    options: RenderOptions,
    progress: Callable[[float], None] | None = None,
) -> Measurement:
    """Level and master the programme and write every target, all or nothing; the loudness of
    the delivered file. ``progress(share)`` hears how far mastering has got. With a picture,
    the audio target is a video showing it (its font chosen: see :meth:`Targets.with_font`)."""
    outputs = targets.outputs
    programme = assembled.programme
    rate = programme.sample_rate
    length = programme_length(programme, cues)
    contents = [form.compose(cues, rate) for _, form in targets.subtitles]
    if outputs.timeline is not None:
        voice, engine = plan.choice.voice, plan.choice.engine.name
        contents.append(
            timeline.timeline_json(programme.placements, cues, rate, voice, engine, length / rate)
        )
    levelled = mixing.Fitted(assembled.levelled(), length)
    description = f"voicer render, {plan.choice.engine.name} voice {plan.choice.voice}"
    with files.atomic_outputs(outputs.all()) as temporaries:
        main = outputs.audio
        if targets.picture is None:
            measured = mastering.master(
                levelled, targets.mastering, temporaries[0], main.name, description, progress
            )
        else:
            video = Video(targets, plan, assembled, cues, options)
            measured = video.write(levelled, temporaries[0], main.name, progress)
        for temporary, content in zip(temporaries[1:], contents, strict=True):
            files.write_file(temporary, content.encode("utf-8"))
    return measured


def programme_length(programme: Programme, cues: Sequence[Cue]) -> int:
    """The programme's length in samples as delivered: followed by silence, if need be, until
    the last cue ends as its subtitle file says (to the millisecond). A short last sentence's
    cue stays on screen long enough to read, which can be longer than the tail after it."""
    rate = programme.sample_rate
    ends = [from_ms(to_ms(cue.end, rate), rate) for cue in cues]
    return max([programme.signal.length, *ends])


@dataclass(frozen=True)
class Video:
    """A render's video output: the levelled programme mastered as its sound (over the
    narrated video's own sound, with ``--mix``), then the picture, tracks and chapters."""

    targets: Targets  # with a picture
    plan: Plan
    assembled: assembly.Assembled
    cues: Sequence[Cue]
    options: RenderOptions

    @property
    def picture(self) -> Picture:
        assert self.targets.picture is not None
        return self.targets.picture

    def write(
        self,
        levelled: Signal,
        target: Path,
        label: str,
        progress: Callable[[float], None] | None = None,
    ) -> Measurement:
        """Write the video to ``target``; the loudness of its sound."""
        programme = self.assembled.programme
        rate = programme.sample_rate
        seconds = pictures.output_seconds(self.picture, levelled.length / rate)
        with (
            tempfile.TemporaryDirectory(prefix="voicer-video-", dir=scratch.folder()) as name,
            contextlib.ExitStack() as sound_files,
        ):
            folder = Path(name)
            sound = mixing.Fitted(self._sound(levelled, sound_files), round(seconds * rate))
            audio = folder / sound_track(self.picture.container)
            heads = self._headings()
            job = pictures.job(
                self.picture, self.cues, rate, folder, audio, seconds, self.plan.language, heads
            )
            # the picture is encoded while the sound is mastered: each uses about one core
            encoding = None if job.copies_picture() else compose.PictureEncoding(job, label)
            shares = _Shares(progress, encoding)
            try:
                settings = self.targets.mastering
                measured = mastering.master(sound, settings, audio, label, "", shares.mastering)
                picture = encoding.finish(shares.picture) if encoding else None
            except BaseException:
                if encoding:
                    encoding.stop()
                raise
            compose.mux(job, picture, target, label)
        return measured

    def _sound(self, levelled: Signal, sound_files: contextlib.ExitStack) -> Signal:
        source = self.picture.source
        if not self.options.mix or not isinstance(source, pictures.Narrated):
            return levelled
        original = sound_files.enter_context(mixing.decode_sound(source.file, levelled.sample_rate))
        spans = [(p.speech_start, p.speech_end) for p in self.assembled.programme.placements]
        return mixing.ducked_under(
            levelled, original, spans, self.options.mix_level, self.options.duck
        )

    def _headings(self) -> list[tuple[int, str]]:
        """Each heading's start (ms) and text, for chapters and the title."""
        placements = self.assembled.programme.placements
        rate = self.assembled.programme.sample_rate
        return [
            (to_ms(placements[i].speech_start, rate), placements[i].segment.shown)
            for i in headings.headings([p.segment for p in placements])
        ]


class _Shares:
    """How far a video's mastering and picture have got together: the mean of the two."""

    def __init__(
        self, report: Callable[[float], None] | None, encoding: compose.PictureEncoding | None
    ) -> None:
        self.report, self.encoding, self.sound = report, encoding, 0.0

    def mastering(self, share: float) -> None:
        self.sound = share
        self.picture(self.encoding.share if self.encoding else 1.0)

    def picture(self, share: float) -> None:
        if self.report:
            self.report(min(0.99, (self.sound + share) / 2))


def script_findings(
    script: Script, options: RenderOptions, lexicon: Mapping[str, str] | None = None
) -> list[lint.Finding]:
    """What ``voicer check`` reports on a draft, with the subtitle profile of ``options``."""
    return checks.findings(script, profile_of(options, script.language), lexicon)


def render(
    source: Path | str,
    outputs: Outputs | Path | None = None,
    options: RenderOptions | None = None,
    listener: Listener | None = None,
) -> RenderResult:
    """Render a speech file. ``outputs`` may be just the audio path (SRT beside it); by default
    ``audio/<stem>.mp3`` and ``audio/<stem>.srt``."""
    return render_script(reading.read_script(Path(source)), outputs, options, listener)


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
    targets = check_outputs(outputs, options, script.source)
    plan = prepare(script, options)
    for notice in plan.notices:
        tell(notice)
    scratch = contextlib.ExitStack()
    targets = targets.with_font(plan, scratch)
    if targets.picture and targets.picture.settings.title and not headings.headings(plan.segments):
        tell("--title: the script has no heading (a line of its own) to show as its title")
    speaker = open_speaker(plan, options, listener.detail)
    jobs = jobs_for(plan, options, speaker)
    tell(
        f"speaking {counted(len(plan.segments), 'sentence')} with {plan.choice.engine.name} "
        f"({plan.choice.voice}), {jobs} at a time"
    )
    loudness.preload()  # while the engine works
    synthesis_began = time.perf_counter()
    progress = _Reporter(listener.progress, len(plan.segments), synthesis_began)
    if targets.picture is not None:
        progress.step = "mastering and encoding"
    with scratch:
        clips = scratch.enter_context(speaking(plan, speaker, jobs))
        done = deliver(
            plan,
            clips,
            targets,
            options,
            progress.sentence,
            progress.mastering,
            meanwhile=lambda cues: _warn_about_script(plan, tell, cues),
        )
    return RenderResult.of(plan, outputs, done, speaker.counts(), began, synthesis_began, jobs)


@dataclass(frozen=True)
class Delivered:
    """What :func:`deliver` wrote: the programme's length, its cues and their rule
    violations, the delivered loudness; when assembly ended and how long mastering took."""

    duration: float
    cues: tuple[Cue, ...]
    sample_rate: int
    violations: tuple[Violation, ...]
    loudness: Measurement
    assembled_at: float  # time.perf_counter() when the last clip had been joined
    mastering_seconds: float


def deliver(
    plan: Plan,
    clips: Iterable[Clip],
    targets: Targets,
    options: RenderOptions,
    on_placed: Callable[[int, float], None] | None = None,
    on_mastering: Callable[[float], None] | None = None,
    meanwhile: Callable[[Sequence[Cue]], None] | None = None,
) -> Delivered:
    """The clips (every sentence's, in order, as they come) joined, cued and written to every
    target, all or nothing (a video's font is chosen here unless it has one). ``on_placed``
    and ``on_mastering`` hear the progress. ``meanwhile(cues)`` runs in another thread while
    the programme is mastered (the encoder leaves a core to it; run alongside assembly, it
    would slow a render of cached clips down)."""
    with contextlib.ExitStack() as scratch:
        targets = targets.with_font(plan, scratch)
        assembled = assemble(plan, clips, options, scratch, on_placed)
        assembled_at = time.perf_counter()
        cues = cue(plan, assembled.programme)
        aside = _Aside(partial(meanwhile, cues)) if meanwhile else None
        delivered = finish(targets, plan, assembled, cues, options, on_mastering, assembled_at)
        if aside is not None:
            aside.result()
        return delivered


def finish(
    targets: Targets,
    plan: Plan,
    assembled: assembly.Assembled,
    cues: Sequence[Cue],
    options: RenderOptions,
    on_mastering: Callable[[float], None] | None = None,
    assembled_at: float | None = None,
) -> Delivered:
    """The assembled programme and its cues written to every target (see :func:`write`);
    what was delivered. ``assembled_at``: when assembly ended (by default, now)."""
    assembled_at = time.perf_counter() if assembled_at is None else assembled_at
    if on_mastering is not None:
        on_mastering(0.0)
    measured = write(targets, plan, assembled, cues, options, on_mastering)
    programme = assembled.programme
    return Delivered(
        duration=programme_length(programme, cues) / programme.sample_rate,
        cues=tuple(cues),
        sample_rate=programme.sample_rate,
        violations=tuple(rules.violations(cues, programme.sample_rate, plan.profile)),
        loudness=measured,
        assembled_at=assembled_at,
        mastering_seconds=time.perf_counter() - assembled_at,
    )


def synthesise(
    text: str,
    *,
    engine: str = "auto",
    voice: str | None = None,
    rate: str = "+0%",
    volume: str = "+0%",
    pitch: str = "+0Hz",
    sentence_pause_ms: int = DEFAULT_SENTENCE_PAUSE_MS,
    paragraph_pause_ms: int = DEFAULT_PARAGRAPH_PAUSE_MS,
    use_cache: bool = True,
) -> AudioSegment:
    """``text`` spoken, as a pydub AudioSegment, for scripting: the programme as assembled
    (sentences joined with exact pauses at the engine's sample rate), before levelling and
    mastering, which depend on where the audio goes (``render`` does both).

    The segment is mono with 32-bit samples that keep 24 dB of headroom (see
    :mod:`voicer.audio.audiosegment`), so peaks above full scale survive: it plays that much
    quieter than the engine's level until, say, ``segment.apply_gain(-segment.max_dBFS)``.
    ``audiosegment.to_samples(segment)`` gives back the float samples.
    """
    options = RenderOptions(
        engine=engine,
        voice=voice,
        rate=declared.read("rate", rate),
        volume=declared.read("volume", volume),
        pitch=declared.read("pitch", pitch),
        sentence_pause_ms=sentence_pause_ms,
        paragraph_pause_ms=paragraph_pause_ms,
        use_cache=use_cache,
    )
    plan = prepare(reading.script_from_bytes(text.encode("utf-8"), "text"), options)
    speaker = open_speaker(plan, options)
    with contextlib.ExitStack() as scratch:
        jobs = jobs_for(plan, options, speaker)
        clips = scratch.enter_context(speaking(plan, speaker, jobs))
        assembled = assemble(plan, clips, options, scratch)
        return audiosegment.from_signal(assembled.programme.signal)


def asked_jobs(plan: Plan, options: RenderOptions) -> int:
    """Requests at once to the plan's engine: as asked (``--jobs``), else its default."""
    return options.jobs or plan.choice.engine.default_jobs


def jobs_for(plan: Plan, options: RenderOptions, speaker: pool.Speaker) -> int:
    """Sentences to synthesise at once: :func:`asked_jobs`, never more than the sentences
    whose clips ``speaker``'s cache does not hold. An engine in worker processes is told, so
    that one at a time runs in this process with every core's thread (a re-render after a
    one-sentence edit starts no worker)."""
    waiting = [s for s in plan.segments if not speaker.cached(*_request(plan, s))]
    jobs = max(1, min(asked_jobs(plan, options), len(waiting)))
    if isinstance(plan.choice.engine, workers.Workers):
        plan.choice.engine.set_jobs(jobs)
    return jobs


def speaking(plan: Plan, speaker: pool.Speaker, jobs: int) -> pool.Synthesis:
    """Every sentence's clip, in script order, ``jobs`` sentences at a time (use it in a
    ``with`` block, which stops the workers)."""
    return pool.Synthesis(
        lambda index: synthesise_sentence(speaker, plan, index),
        plan.segments,
        jobs,
        speaker.backoff,
    )


class _Reporter:
    """Progress as the render goes: each sentence assembled, then the start of mastering."""

    def __init__(self, report: Callable[[Progress], None] | None, total: int, began: float):
        self.report, self.total, self.began = report, total, began
        self.step = "mastering"
        self.seconds = 0.0

    def sentence(self, index: int, seconds: float) -> None:
        self.seconds = seconds
        self._send(index + 1, None)

    def mastering(self, share: float) -> None:
        self._send(self.total, share)

    def _send(self, done: int, share: float | None) -> None:
        if self.report:
            elapsed = time.perf_counter() - self.began
            self.report(Progress(done, self.total, self.seconds, elapsed, share, self.step))


class _Aside:
    """``work`` started in another thread at once; :meth:`result` waits for it to end and
    raises what it raised."""

    def __init__(self, work: Callable[[], None]) -> None:
        self.work = work
        self.failed: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.work()
        except BaseException as exc:  # noqa: BLE001 - raised again in the caller's thread
            self.failed = exc

    def result(self) -> None:
        self.thread.join()
        if self.failed is not None:
            raise self.failed


def _warn_about_script(plan: Plan, tell: Callable[[str], None], cues: Sequence[Cue]) -> None:
    """Say how many warnings ``voicer check`` has about the script. A sentence's subtitles
    are counted from ``cues``, cut on its speech, rather than cut again on estimated times
    (most of this work, done alongside the encoder)."""
    cut = Counter(cue.segment for cue in cues)
    counts = {segment.shown: cut[segment.index] for segment in plan.segments}
    estimate = checks.cue_count(plan.profile)
    found = lint.sentence_findings(
        list(plan.drafted),
        plan.language,
        lambda text: counts.get(text) or estimate(text),
        plan.lexicon,
    )
    warnings = sum(finding.severity == "warning" for finding in found)
    if warnings:
        source = plan.script.source
        tell(f"{counted(warnings, 'warning')} about the script (see: voicer check {source})")


def with_font(picture: Picture, plan: Plan, scratch: contextlib.ExitStack) -> Picture:
    """The picture with a font that draws every character the video may show: the sentences
    as subtitles show them (an InputError if there is none)."""
    return pictures.with_font(picture, "".join(s.shown for s in plan.segments), scratch)


def counted(number: int, noun: str, plural: str | None = None) -> str:
    """``number`` and ``noun``, in the plural unless there is one.

    >>> counted(1, "cue"), counted(3, "cue"), counted(0, "retry", "retries")
    ('1 cue', '3 cues', '0 retries')
    """
    return f"{number} {noun if number == 1 else plural or noun + 's'}"


# --- align: a recording of the script, captioned --------------------------------------------


@dataclass(frozen=True)
class AlignOutputs:
    """Where an alignment writes: one or more subtitle files, optionally a timeline, and
    optionally a video: the picture of ``settings.video_in`` (or of the recording when it is
    None), the captions and the recording's sound (``video`` settings: ``burn_in``, ``font``,
    ``caption_box``)."""

    subtitles: tuple[Path, ...]
    timeline: Path | None = None
    video: Path | None = None
    settings: VideoSettings = VideoSettings()

    def all(self) -> list[Path]:
        extra = [path for path in (self.timeline, self.video) if path is not None]
        return [*self.subtitles, *extra]


@dataclass(frozen=True)
class AlignedSentence:
    """One sentence of an alignment: where it lies in the recording and how sure that is."""

    segment: Segment
    start: float  # seconds in the recording
    end: float
    confidence: float
    doubtful: bool
    missing: bool  # judged not to be in the recording at all (left out of the captions)


@dataclass(frozen=True)
class AlignResult:
    """What an alignment wrote and found."""

    outputs: AlignOutputs
    engine: str
    voice: str
    duration: float  # seconds of recording
    sentences: tuple[AlignedSentence, ...]
    cues: tuple[Cue, ...]
    violations: tuple[Violation, ...]
    verdict: str | None  # one line when the recording does not follow the script
    synthesis_seconds: float  # the reference: synthesis and assembly
    align_seconds: float  # features and warping
    align_cpu_seconds: float

    @property
    def doubtful(self) -> tuple[AlignedSentence, ...]:
        return tuple(sentence for sentence in self.sentences if sentence.doubtful)


def align_outputs_checked(outputs: AlignOutputs, inputs: Sequence[Path]) -> None:
    """Every output's format and folder checked, none of them an input, before any work."""
    for path in outputs.subtitles:
        formats.format_for(path)
    if outputs.timeline is not None and outputs.timeline.suffix.lower() != ".json":
        raise InputError(f"{outputs.timeline}: the timeline must be written to a .json file")
    paths = [path.resolve() for path in outputs.all()]
    if len(set(paths)) != len(paths):
        raise InputError("two outputs would be written to the same file")
    for output in outputs.all():
        if read := next((path for path in inputs if _same_file(output, path)), None):
            raise InputError(
                f"{output}: is an input of this alignment ({read}): choose another name"
            )
        files.check_writable(output)


def aligned_picture(outputs: AlignOutputs, recording: Path, media: ffmpeg.Media) -> Picture | None:
    """What the video output shows: ``--video-in``'s picture, else the recording's own (an
    InputError when the output is not a video file or there is no picture)."""
    shown = outputs.settings.video_in
    if outputs.video is None:
        if shown is not None:
            raise InputError("--video-in: no video to write (-o captioned.mp4, .mkv or .webm)")
        return None
    if shown is None and (media.picture is None or media.is_still):
        raise InputError(
            f"{recording.name} has no moving picture to caption (--video-in FILE gives one)"
        )
    settings = replace(outputs.settings, video_in=(shown or recording).resolve())
    picture = pictures.picture_for(outputs.video, settings, profile_for("zh").fps)
    if picture is None:
        raise InputError(f"--video: {outputs.video.name} is not a video file (.mp4, .mkv, .webm)")
    if reason := compose.sound_refused(recording, picture.container):
        raise InputError(
            f"{recording.name}: its sound, kept as it is, cannot go into {outputs.video.name} "
            f"({reason}); write a .mkv, which takes any sound"
        )
    return picture


def align_recording(
    script: Script,
    recording: Path,
    outputs: AlignOutputs,
    options: RenderOptions | None = None,
    listener: Listener | None = None,
) -> AlignResult:
    """Caption ``recording``, a reading of ``script``: the script synthesised (through the
    cache) as a reference, aligned to the recording, and cued and written as a render's
    subtitles are. Every output is written, all or nothing, unless the recording does not
    follow the script at all (an ``AlignmentError``)."""
    from voicer.align import mapping
    from voicer.align.recording import align

    options = options or RenderOptions(engine="kokoro")
    tell = (listener or Listener()).notice or (lambda message: None)
    files.check_readable(recording, "recording")
    media = ffmpeg.probe(recording)
    if media is None or not media.has_audio:
        raise InputError(f"{recording}: no sound that ffmpeg can decode")
    given = [options.lexicon, options.fill_file, options.kokoro_model]
    given += [outputs.settings.video_in]
    align_outputs_checked(outputs, [recording, Path(script.source), *filter(None, given)])
    picture = aligned_picture(outputs, recording, media)
    plan = prepare(script, options)
    for notice in plan.notices:
        tell(notice)
    tell(f"speaking the script as a reference with {plan.choice.engine.name} ({plan.choice.voice})")
    began = time.perf_counter()
    with contextlib.ExitStack() as scratch:
        speaker = open_speaker(plan, options)
        clips = scratch.enter_context(speaking(plan, speaker, jobs_for(plan, options, speaker)))
        reference = assemble(plan, clips, options, scratch).programme
        synthesised = time.perf_counter() - began
        heard = scratch.enter_context(mixing.decode_sound(recording, reference.sample_rate))
        aligned = align(reference, heard)
        judged = mapping.judged(reference.placements, aligned.fits, aligned.match)
        if judged.verdict and judged.unfollowed:
            raise mapping.AlignmentError(f"{recording.name}: {judged.verdict}")
        kept = tuple(
            placement
            for placement, missing in zip(aligned.programme.placements, judged.missing, strict=True)
            if not missing
        )
        programme = replace(aligned.programme, placements=kept)
        cues = cue(plan, programme)
        rate = programme.sample_rate
        sentences = tuple(
            AlignedSentence(
                p.segment,
                p.speech_start / rate,
                p.speech_end / rate,
                fit.confidence,
                doubtful,
                missing,
            )
            for p, fit, doubtful, missing in zip(
                aligned.programme.placements,
                aligned.fits,
                judged.doubtful,
                judged.missing,
                strict=True,
            )
        )
        if picture is not None:
            picture = with_font(picture, plan, scratch)
        _write_aligned(recording, outputs, plan, programme, cues, sentences, picture)
        return AlignResult(
            outputs=outputs,
            engine=plan.choice.engine.name,
            voice=plan.choice.voice,
            duration=heard.length / rate,
            sentences=sentences,
            cues=tuple(cues),
            violations=tuple(rules.violations(cues, rate, plan.profile)),
            verdict=judged.verdict,
            synthesis_seconds=synthesised,
            align_seconds=aligned.seconds,
            align_cpu_seconds=aligned.cpu_seconds,
        )


def _write_aligned(
    recording: Path,
    outputs: AlignOutputs,
    plan: Plan,
    programme: Programme,
    cues: Sequence[Cue],
    sentences: Sequence[AlignedSentence],
    picture: Picture | None,
) -> None:
    rate = programme.sample_rate
    contents = [formats.format_text(cues, rate, path.suffix) for path in outputs.subtitles]
    if outputs.timeline is not None:
        voice, engine = plan.choice.voice, plan.choice.engine.name
        text = timeline.timeline_json(
            programme.placements, cues, rate, voice, engine, programme.duration
        )
        document = json.loads(text)
        document["recording"] = recording.name
        judged = {s.segment.index: s for s in sentences}
        for entry in document["sentences"]:
            sentence = judged[entry["index"]]
            entry["confidence"] = round(sentence.confidence, 3)
            entry["doubtful"] = sentence.doubtful
        document["missing"] = [
            {"index": s.segment.index, "line": s.segment.line, "text": s.segment.shown}
            for s in sentences
            if s.missing
        ]
        contents.append(json.dumps(document, ensure_ascii=False, indent=2) + "\n")
    with files.atomic_outputs(outputs.all()) as temporaries:
        for temporary, content in zip(temporaries[: len(contents)], contents, strict=True):
            files.write_file(temporary, content.encode("utf-8"))
        if picture is not None:
            label = outputs.video.name if outputs.video else ""
            # another file's picture holds its last frame while the recording's sound goes on
            own = outputs.settings.video_in is None
            seconds = pictures.output_seconds(picture, 0.0 if own else programme.duration)
            job = (picture, recording, cues, rate, plan.language, seconds)
            _captioned_video(*job, temporaries[-1], label)


def _captioned_video(
    picture: Picture,
    recording: Path,
    cues: Sequence[Cue],
    rate: int,
    language: str,
    seconds: float,
    target: Path,
    label: str,
) -> None:
    """The picture with the captions (a track, or drawn in) and the recording's sound as it
    is, copied, into ``target``, ``seconds`` long."""
    with tempfile.TemporaryDirectory(prefix="voicer-video-", dir=scratch.folder()) as name:
        folder, sound = Path(name), recording.resolve()
        job = pictures.job(picture, cues, rate, folder, sound, seconds, language, [])
        encoding = None if job.copies_picture() else compose.PictureEncoding(job, label)
        try:
            encoded = encoding.finish() if encoding else None
        except BaseException:
            if encoding:
                encoding.stop()
            raise
        compose.mux(job, encoded, target.resolve(), label)
