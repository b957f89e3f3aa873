"""The command line: parse options, call the library, print. Nothing else lives here."""

from __future__ import annotations

import functools
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from voicer import __version__, defaults, scratch
from voicer import options as declared
from voicer.errors import EngineUnavailable, InputError, OutputError, SynthesisError, VoicerError

# each command imports the stages it uses: --help and check answer at once
F = TypeVar("F", bound=Callable[..., Any])
if TYPE_CHECKING:
    from voicer import pipeline
    from voicer.batch.manifest import Entry
    from voicer.batch.report import Outcome
    from voicer.batch.run import Backend
    from voicer.batch.run import Progress as BatchProgress
    from voicer.model import Script


# What the CLI exits with after each kind of error; an error class not listed here takes its
# nearest listed base class's code.
EXIT_CODES: dict[type[VoicerError], int] = {
    VoicerError: 1,
    InputError: 2,  # bad input or usage, found before any synthesis starts
    SynthesisError: 1,
    EngineUnavailable: 1,
    OutputError: 1,
}


def exit_code(error: VoicerError) -> int:
    """The exit code for ``error``, from ``EXIT_CODES``.

    >>> exit_code(InputError("no such file")), exit_code(EngineUnavailable("no network"))
    (2, 1)
    """
    return next(
        EXIT_CODES[kind]
        for kind in type(error).__mro__
        if issubclass(kind, VoicerError) and kind in EXIT_CODES
    )


def reports_errors(command: F) -> F:
    """Turn every failure into one line on stderr and the documented exit code."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except VoicerError as exc:
            for line in str(exc).splitlines() or [""]:  # several problems: a line each
                click.echo(f"voicer: error: {line}", err=True)
            _leave(exit_code(exc))
        except KeyboardInterrupt:
            click.echo("voicer: interrupted; no output was written", err=True)
            _leave(130)
        except BrokenPipeError:  # the reader left (voicer voices | head): nothing to say
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            _leave(128 + signal.SIGPIPE)
        except Exception as exc:
            if os.environ.get("VOICER_DEBUG"):
                raise
            click.echo(f"voicer: internal error: {type(exc).__name__}: {exc}", err=True)
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


def _leave(code: int) -> None:
    """Exit now, without waiting for threads still busy (a synthesis request, a script being
    written: their results are no longer wanted; a thread inside native code may even abort at
    shutdown). What they were writing is removed first: scratch files, temporary outputs and
    the folders made for them."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # leaving already: another Ctrl-C must wait
    scratch.remove_all()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _terminated(signum: int, frame: object) -> None:
    """SIGTERM: leave at once, as a second Ctrl-C does, with the shell's code for it."""
    _leave(128 + signum)


OUTPUTS = "Outputs"  # each command's outputs, first in its --help
OWN = "Options"  # then the command's other options of its own, then the stages'


class _Staged(click.Option):
    """An option shown under its stage's heading in ``--help``; ``machine_help``: a help line
    that depends on this machine, worked out only when it is shown."""

    def __init__(
        self,
        *args: Any,
        stage: str = OWN,
        machine_help: Callable[[], str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.stage = stage
        self._machine_help = machine_help

    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        if self._machine_help is not None:
            self.help = self._machine_help()
        return super().get_help_record(ctx)


class _StagedCommand(click.Command):
    """A command whose ``--help`` lists its options by stage: its outputs first, then its
    other options of its own, then the stages of :mod:`voicer.options`."""

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        sections: dict[str, list[tuple[str, str]]] = {}
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx) if isinstance(param, click.Option) else None
            if record is not None:
                sections.setdefault(getattr(param, "stage", OWN), []).append(record)
        order = [OUTPUTS, OWN, *declared.STAGES]
        for title in sorted(sections, key=order.index):
            with formatter.section(title):
                formatter.write_dl(sections[title])


def _output(*flags: str, **settings: Any) -> Callable[[F], F]:
    """An option of a command's outputs, shown first in its ``--help``."""
    return click.option(*flags, cls=_Staged, stage=OUTPUTS, **settings)


def _jobs_help() -> str:
    from voicer.synthesis.engines import registry

    return (
        f"Sentences synthesised at once [default: edge {registry.default_jobs('edge')}, "
        f"kokoro {registry.default_jobs('kokoro')} (a worker process per core, at most "
        f"{registry.KOKORO_MOST_WORKERS}; env: VOICER_KOKORO_WORKERS)]."
    )


_MACHINE_HELP = {"jobs": _jobs_help}


def _click_type(option: declared.Option) -> click.ParamType:
    if option.choices is not None:
        return click.Choice(option.choices)
    if option.kind in ("path", "folder"):
        folder = option.kind == "folder"
        exists = option.refuse_missing
        return click.Path(exists=exists, file_okay=not folder, dir_okay=folder, path_type=Path)
    if option.bounds is not None and option.kind == "int":
        return click.IntRange(int(option.bounds[0]), int(option.bounds[1]))
    if option.bounds is not None and option.kind == "float":
        return click.FloatRange(*option.bounds)
    plain: dict[str, click.ParamType] = {"int": click.INT, "float": click.FLOAT}
    return plain.get(option.kind, click.STRING)


def _click_option(option: declared.Option) -> Callable[[F], F]:
    """The command-line option of a declared one; its value goes to the setting's name."""
    settings: dict[str, Any] = {"help": option.help, "metavar": option.metavar}
    if option.kind == "bool":
        settings |= {
            "is_flag": True,
            "flag_value": not option.negated,
            "default": bool(option.default),
        }
    else:
        settings |= {"type": _click_type(option), "multiple": option.repeated}
        if option.default is not None:
            settings |= {"default": option.default, "show_default": True}
    flags = [flag for flag in (option.short, option.flag) if flag]
    machine_help = _MACHINE_HELP.get(option.name)
    return click.option(
        *flags, option.name, cls=_Staged, stage=option.stage, envvar=option.envvar,
        machine_help=machine_help, **settings,
    )  # fmt: skip


def declared_options(*stages: str) -> Callable[[F], F]:
    """The command-line options of ``stages`` (:mod:`voicer.options`), in declared order."""

    def add(command: F) -> F:
        for option in reversed(declared.of_stages(*stages)):
            if option.flag is not None:
                command = _click_option(option)(command)
        return command

    return add


subtitle_options = declared_options(declared.SUBTITLES)
script_options = declared_options(declared.SCRIPT)
# every option of a render but its outputs, which a batch takes too
speech_options = declared_options(*declared.STAGES)


def render_options(command: F) -> F:
    """The options of a render, which the studio takes too: its outputs, then
    :func:`speech_options`."""
    options: list[Callable[[F], F]] = [
        _output(
            "-o",
            "--output",
            type=click.Path(dir_okay=False, path_type=Path),
            help="Audio or video file; the format follows the extension: .mp3 .wav .flac .m4a .ogg "
            ".opus, or video .mp4 .mkv .webm [default: audio/<input stem>.mp3]",
        ),
        _output(
            "--srt",
            "srt_path",
            type=click.Path(dir_okay=False, path_type=Path),
            help="SRT file [default: beside the audio, same stem, .srt]",
        ),
        _output(
            "--subtitles",
            "extra_subtitles",
            multiple=True,
            type=click.Path(dir_okay=False, path_type=Path),
            help="Another subtitle file; the format follows the extension (.srt, .vtt, .ass). "
            "Repeatable.",
        ),
        _output("--vtt", is_flag=True, help="Also write WebVTT beside the audio."),
        _output(
            "--timeline",
            type=click.Path(dir_okay=False, path_type=Path),
            help="Write a JSON timeline: every sentence and cue with its text, spoken text and "
            "times.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return speech_options(command)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="voicer")
def cli() -> None:
    """Turn a written speech into broadcast-ready audio and a subtitle file that matches it."""


@cli.command(
    "render",
    cls=_StagedCommand,
    help="Render INPUT (a text file, Markdown when it ends in "
    f"{' or '.join(defaults.MARKDOWN_SUFFIXES)}, or - for standard input) to audio or video "
    "and an SRT file.",
)
@click.argument("source", metavar="INPUT")
@render_options
@click.option("-q", "--quiet", is_flag=True, help="Print errors only; no progress bar.")
@click.option("-v", "--verbose", is_flag=True, help="Also report every failed attempt.")
@reports_errors
def render_command(source: str, quiet: bool, verbose: bool, **given: Any) -> None:
    from voicer import pipeline

    script = _read_script(source)
    options, outputs = _render_settings(script.source, given)
    bar = ProgressBar() if not quiet and sys.stderr.isatty() else None
    say = bar.above if bar else _notice
    listener = pipeline.Listener(
        notice=None if quiet else say,
        detail=say if verbose else None,
        progress=bar.show if bar else None,
    )
    try:
        result = pipeline.render_script(script, outputs, options, listener)
    finally:
        if bar:
            bar.clear()
    if not quiet:
        for line in report(result):
            click.echo(line)


def _render_settings(
    source_name: str, given: dict[str, Any]
) -> tuple[pipeline.RenderOptions, pipeline.Outputs]:
    """The options and outputs of a render from :func:`render_options`' values."""
    from voicer import pipeline

    output, srt_path = given.pop("output"), given.pop("srt_path")
    subtitles, vtt, timeline = given.pop("extra_subtitles"), given.pop("vtt"), given.pop("timeline")
    options = pipeline.options_of(_typed(given))
    audio_path = output or pipeline.default_output(source_name)
    return options, pipeline.Outputs.beside(audio_path, srt_path, subtitles, vtt, timeline)


def _typed(given: dict[str, Any]) -> dict[str, Any]:
    """The command line's settings with their values read, each in its declared type
    (``--rate +10%``, ``--cache-max 2G``); ``--fill``'s pairs by key."""
    from voicer.script import placeholders

    if "fills" in given:
        given["fills"] = placeholders.parse_fills(given["fills"])
    for name, value in given.items():
        if isinstance(value, str) and name in declared.BY_NAME:
            given[name] = declared.read(name, value)
    return given


def report(result: pipeline.RenderResult) -> list[str]:
    """What a render prints when it is done: subtitle warnings go to stderr, then the lines of
    :func:`voicer.reporting.report_lines`."""
    from voicer import reporting

    for violation in result.violations:
        _notice(f"warning: {violation.message}")
    return reporting.report_lines(result)


class ProgressBar:
    """Sentences done, audio produced and time left, then how far mastering has got, redrawn
    in place on stderr; shown only once a render has taken a couple of seconds, so quick
    re-renders stay quiet."""

    DELAY_SECONDS = 2.0
    WIDTH = 24

    def __init__(self) -> None:
        self.drawn = False
        self._lock = threading.Lock()

    def show(self, progress: pipeline.Progress) -> None:
        from voicer import reporting

        if progress.elapsed >= self.DELAY_SECONDS:
            self._draw(*reporting.progress_state(progress))

    def show_batch(self, progress: BatchProgress) -> None:
        """Scripts done, audio delivered and time left, from the share of sentences spoken
        (called from the batch's threads)."""
        from voicer import reporting

        if progress.elapsed < self.DELAY_SECONDS:
            return
        done, total = progress.sentences_done, max(1, progress.sentences)
        left = progress.elapsed / max(1, done) * (total - done)
        audio = reporting.clock(progress.audio_seconds)
        scripts = f"{progress.scripts_done}/{progress.scripts} scripts"
        self._draw(done / total, f"{scripts}, {audio} of audio, about {reporting.clock(left)} left")

    def _draw(self, share: float, state: str) -> None:
        filled = round(self.WIDTH * share)
        line = f"[{'#' * filled}{'.' * (self.WIDTH - filled)}] {state}"
        with self._lock:
            click.echo(f"\r{line}\x1b[K", err=True, nl=False)
            self.drawn = True

    def clear(self) -> None:
        if self.drawn:
            click.echo("\r\x1b[K", err=True, nl=False)
            self.drawn = False

    def above(self, message: str) -> None:
        """A notice printed on its own line; the bar comes back with the next progress. (A
        render's warnings come from another thread.)"""
        with self._lock:
            self.clear()
            _notice(message)


@cli.command("check", cls=_StagedCommand)
@click.argument("source", metavar="INPUT")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="A readable report, or JSON.",
)
@_click_option(declared.BY_NAME["lexicon"])
@click.option(
    "--readings",
    is_flag=True,
    help="Instead: every sentence with the text the offline engine reads and its pinyin "
    "(tones after sandhi, 5 neutral), one syllable per Han character.",
)
@subtitle_options
@reports_errors
def check_command(
    source: str, output_format: str, lexicon: Path | None, readings: bool, **limits: Any
) -> None:
    """Report what to fix in a draft before rendering it: unfilled placeholders, malformed
    markup, sentences too long to subtitle well, characters no engine can speak, half-width
    punctuation in Chinese text, and how numbers and symbols will be read.

    Exit code 0 when there are no errors or warnings (notes alone), 1 otherwise, 2 when the
    input cannot be read. With --readings: each sentence's reading, exit code 0 (2 when the
    input cannot be read, its markup does not parse or it has nothing to speak).
    """
    from voicer import checks
    from voicer.script import lint, spoken_form
    from voicer.subtitles.profiles import profile_for

    script = _read_script(source)
    for notice in script.notices:
        _notice(notice)
    words = spoken_form.load_lexicon(lexicon) if lexicon else None
    if readings:
        from voicer import reporting

        found = checks.sentence_readings(script, words)
        show = reporting.readings_json if output_format == "json" else reporting.readings_text
        click.echo(show(found))
        _leave(0)
    profile = profile_for(script.language, limits.pop("subtitle_style"), **limits)
    findings = checks.findings(script, profile, words)
    for notice in checks.check_notices(script, words):
        _notice(notice)
    if output_format == "json":
        click.echo(lint.format_json(findings, script.source))
    else:
        click.echo(lint.format_report(findings, script.source))
    _leave(0 if lint.is_clean(findings) else 1)


def _read_script(source: str) -> Script:
    from voicer.script import reading

    if source == "-":
        return reading.script_from_stream(sys.stdin.buffer, "stdin")
    return reading.read_script(Path(source))


@cli.command("subtitles-check", cls=_StagedCommand)
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--language",
    type=click.Choice(["zh", "latin"]),
    default=None,
    help="Which profile's limits apply [default: from the text of the file].",
)
@subtitle_options
@reports_errors
def subtitles_check_command(path: Path, language: str | None, **limits: Any) -> None:
    """Report every rule of a subtitle profile that PATH (.srt or .vtt) breaks.

    Exit code 0 when it follows the profile, 1 when it breaks a rule, 2 when it cannot be read.
    """
    from voicer.script import reading
    from voicer.subtitles import formats, rules
    from voicer.subtitles.profiles import profile_for

    cues = formats.read(path)
    if language is None:
        language = reading.detect_language("".join(line for cue in cues for line in cue.lines))
    profile = profile_for(language, limits.pop("subtitle_style"), **limits)
    violations = rules.violations(cues, 1000, profile, formats.format_for(path).resolution_ms)
    click.echo(rules.format_report(violations, path))
    sys.exit(1 if violations else 0)


@cli.command("align", cls=_StagedCommand)
@click.argument("source", metavar="SCRIPT")
@click.argument("recording", type=click.Path(dir_okay=False, path_type=Path))
@_output(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The captions; the format follows the extension (.srt, .vtt, .ass) "
    "[default: beside the recording, same stem, .srt]. A video file (.mp4, .mkv, .webm): the "
    "captioned video, its SRT beside it.",
)
@_output("--vtt", is_flag=True, help="Also write WebVTT beside the captions.")
@_output(
    "--subtitles",
    "extra_subtitles",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Another subtitle file (.srt, .vtt, .ass). Repeatable.",
)
@_output(
    "--timeline",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write a JSON timeline: every sentence, cue and word with its times in the "
    "recording, and each sentence's confidence.",
)
@_output(
    "--video",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also a captioned video (.mp4, .mkv, .webm), -o still naming the captions.",
)
@click.option(
    "--video-in",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Video: the picture to caption [default: RECORDING's own, when it is a video]; the "
    "sound is always RECORDING's, copied as it is.",
)
@click.option("--burn-in", is_flag=True, help="Video: draw the captions into the picture.")
@click.option("--font", metavar="NAME|PATH", help="Video: the font of drawn captions.")
@click.option("--caption-box", is_flag=True, help="Video: a box behind drawn captions.")
@click.option(
    "--engine",
    type=click.Choice(defaults.ENGINE_NAMES),
    default="kokoro",
    show_default=True,
    help="The engine that speaks the reference the recording is aligned to.",
)
@click.option("--voice", help="The reference's voice [default: the engine's].")
@script_options
@subtitle_options
@click.option("-q", "--quiet", is_flag=True, help="Print errors and doubts only.")
@reports_errors
def align_command(
    source: str, recording: Path, quiet: bool, engine: str, voice: str | None, **given: Any
) -> None:
    """Caption RECORDING, a reading of SCRIPT (any audio or video file ffmpeg decodes), offline:
    the script is synthesised as a reference and aligned to the recording, and the captions are
    cut as render cuts them. SCRIPT is read as render reads it. With -o naming a video file,
    the captioned video: the picture of RECORDING (or --video-in), the captions as a track (or
    drawn in, --burn-in) and RECORDING's sound copied untouched.

    Exit code 0 when every sentence was placed with confidence, 1 when some were doubtful or
    missing (each is printed with its line:column; the captions are written all the same) or
    the recording does not follow the script (nothing is written), 2 for bad input.
    """
    from voicer import pipeline

    script = _read_script(source)
    output, video = _align_output(given.pop("output"), given.pop("video"), recording)
    subtitles = [output]
    if given.pop("vtt"):
        subtitles.append(output.with_suffix(".vtt"))
    subtitles += [path for path in given.pop("extra_subtitles") if path not in subtitles]
    settings = declared.VideoSettings(
        burn_in=given.pop("burn_in"),
        font=given.pop("font"),
        caption_box=given.pop("caption_box"),
        video_in=given.pop("video_in"),
    )
    outputs = pipeline.AlignOutputs(tuple(subtitles), given.pop("timeline"), video, settings)
    options = pipeline.options_of(_typed({"engine": engine, "voice": voice, **given}))
    listener = pipeline.Listener(notice=None if quiet else _notice)
    result = pipeline.align_recording(script, recording, outputs, options, listener)
    for line in _align_report(script, result, quiet):
        click.echo(line)
    sys.exit(1 if result.doubtful or result.verdict else 0)


def _align_output(
    output: Path | None, video: Path | None, recording: Path
) -> tuple[Path, Path | None]:
    """The captions and the captioned video (or None): ``-o`` names either; a video's
    captions go beside it as render's do, else beside the recording."""
    from voicer.video.containers import container_for

    if output is not None and container_for(output) is not None:
        if video is not None:
            raise click.UsageError("-o names the video already: --video is not needed")
        return output.with_suffix(".srt"), output
    return output or recording.with_suffix(".srt"), video


def _align_report(script: Script, result: pipeline.AlignResult, quiet: bool) -> list[str]:
    """The doubtful sentences with their line:column, the verdict, then (unless quiet) what
    was written."""
    from voicer.synthesis import pool

    lines = []
    for sentence in result.doubtful:
        line, column = script.locate(sentence.segment.line, sentence.segment.column)
        what = "missing" if sentence.missing else f"doubtful ({sentence.confidence:.2f})"
        lines.append(
            f"{script.source}:{line}:{column}: {what}: {pool.preview(sentence.segment.shown)}"
        )
    if result.verdict:
        lines.append(f"{result.outputs.subtitles[0].name}: warning: {result.verdict}")
    if quiet:
        return lines
    for violation in result.violations:
        _notice(f"warning: {violation.message}")
    written = ", ".join(str(path) for path in result.outputs.all())
    minutes = result.duration / 60
    lines.append(
        f"{len(result.cues)} cues for {minutes:.1f} min of recording -> {written}; "
        f"reference {result.synthesis_seconds:.1f} s, alignment {result.align_seconds:.1f} s "
        f"({result.align_cpu_seconds:.1f} s CPU); "
        f"{len(result.doubtful)} doubtful of {len(result.sentences)} sentences"
    )
    return lines


@cli.group("cache")
def cache_group() -> None:
    """The cache of synthesised sentences."""


@cache_group.command("info")
@_click_option(declared.BY_NAME["cache_dir"])
@_click_option(declared.BY_NAME["cache_max"])
@reports_errors
def cache_info_command(cache_dir: Path | None, cache_max: str | None) -> None:
    """Where the cache is, how full, and when its clips were last used (when it is full, the
    least recently used clips make room for new ones)."""
    from voicer.synthesis import cache

    limit = None if cache_max is None else declared.parse_size(cache_max)
    click.echo(cache.ClipCache.open(cache_dir, limit).usage().report())


@cache_group.command("clear")
@_click_option(declared.BY_NAME["cache_dir"])
@reports_errors
def cache_clear_command(cache_dir: Path | None) -> None:
    """Remove every cached clip."""
    from voicer import pipeline
    from voicer.synthesis import cache

    clips = cache.ClipCache.open(cache_dir, 0)
    click.echo(f"removed {pipeline.counted(clips.clear(), 'clip')} from {clips.directory}")


@cli.command("voices")
@click.option(
    "--engine",
    type=click.Choice(["edge", "kokoro"]),
    default="kokoro",
    show_default=True,
    help="Whose voices: edge's (asked of the service) or kokoro's (bundled).",
)
@click.option("--locale", help="Only voices whose locale starts with this, e.g. zh-CN or en.")
@reports_errors
def voices_command(engine: str, locale: str | None) -> None:
    """List the voices of an engine (edge: the service's own list; offline, the list bundled
    with voicer, which stderr then says)."""
    from voicer.synthesis.engines.voice_names import listed_voices

    found, notice = listed_voices(engine)
    if notice:
        _notice(notice)
    if locale:
        found = [v for v in found if v.language.lower().startswith(locale.lower())]
    for voice in sorted(found, key=lambda v: (v.language, v.name)):
        line = f"{voice.name:<36} {voice.language:<8} {voice.gender:<7} {voice.description}"
        click.echo(line.rstrip())


@cli.command("batch", cls=_StagedCommand)
@click.argument("source", metavar="FOLDER|MANIFEST", type=click.Path(path_type=Path))
@_output(
    "-o",
    "--output",
    "out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="The folder for every script's outputs (named by its stem) and the report.",
)
@_output(
    "--format",
    "format",
    default="mp3",
    show_default=True,
    metavar="EXT",
    help="Each script's main output: mp3 wav flac m4a ogg opus, or video mp4 mkv webm.",
)
@_output("--vtt", is_flag=True, help="Also write WebVTT for each script.")
@_output("--ass", is_flag=True, help="Also write styled ASS subtitles for each script.")
@_output("--timeline", is_flag=True, help="Also write each script's JSON timeline.")
@click.option(
    "--backend",
    type=click.Choice(["local", "ray"]),
    default="local",
    show_default=True,
    help="local: worker processes on this machine; ray: a Ray cluster (the voicer[ray] extra).",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 4096),
    help="Engines working at once [default: local, one per core; ray, the cluster's CPUs].",
)
@click.option(
    "--ray-address",
    envvar="RAY_ADDRESS",
    help="The Ray cluster to use, e.g. ray://head:10001 [env: RAY_ADDRESS; default: a Ray "
    "instance of its own on this machine].",
)
@click.option(
    "--gpus-per-worker",
    type=click.FloatRange(0, 64),
    default=0.0,
    help="ray: GPUs each engine worker asks for (kokoro uses CUDA when onnxruntime-gpu is "
    "installed).",
)
@speech_options
@click.option("-q", "--quiet", is_flag=True, help="Print errors and the summary line only.")
@reports_errors
def batch_command(
    source: Path,
    out: Path,
    backend: str,
    workers: int | None,
    ray_address: str | None,
    gpus_per_worker: float,
    quiet: bool,
    **given: Any,
) -> None:
    """Render every script of a FOLDER (its .txt and .md files) or of a MANIFEST (.toml) into
    OUT, each named by its stem, with a report (OUT/report.json, OUT/report.txt).

    Exit 0 when every script was delivered, 1 when any failed."""
    from voicer.batch import manifest, report

    context = click.get_current_context()
    explicit = {
        _SETTING_OF.get(name, name)
        for name in given
        if context.get_parameter_source(name) is not click.core.ParameterSource.DEFAULT
    }
    given["subtitles"] = [kind for kind in ("vtt", "ass") if given.pop(kind)]
    entries = manifest.entries(source, out, _typed(given), explicit)
    engines_for = _batch_backend(backend, workers, ray_address, gpus_per_worker)
    if not quiet:
        _notice(f"running on {engines_for.description}")
    outcomes, seconds, unwritten = _run_batch(engines_for, entries, out, quiet)
    if not quiet:
        click.echo(report.report_table(outcomes))
    failed = [outcome for outcome in outcomes if outcome.status == "failed"]
    for outcome in failed:  # in full, whether or not the report could be written
        click.echo(f"voicer: error: {outcome.script}: {outcome.error}", err=True)
    if unwritten:
        click.echo(f"voicer: error: {unwritten}", err=True)
    click.echo(report.summary_line(outcomes, seconds))
    if failed or unwritten:
        _leave(1)


def _run_batch(
    engines_for: Backend, entries: list[Entry], out: Path, quiet: bool
) -> tuple[list[Outcome], float, str | None]:
    """Every entry rendered with a progress bar (unless quiet), and the report written: the
    outcomes, the seconds they took and why the report could not be written (or None)."""
    from voicer.batch import run

    bar = None if quiet or not sys.stderr.isatty() else ProgressBar()
    began = time.perf_counter()
    try:
        outcomes = run.Batch(engines_for, bar.show_batch if bar else None).run(entries)
        # every output is delivered now; stopping the backend (a Ray instance takes a while)
        # is not the batch's time, and the report is written before it
        seconds = time.perf_counter() - began
        unwritten = _unwritten_report(outcomes, out, seconds)
    except KeyboardInterrupt:
        _stop_batch(engines_for, bar)
    finally:
        engines_for.close()
        if bar:
            bar.clear()
    return outcomes, seconds, unwritten


def _unwritten_report(outcomes: list[Outcome], out: Path, seconds: float) -> str | None:
    """Write the batch's report; why it could not be, or None."""
    from voicer.batch import report

    try:
        report.write_report(outcomes, out, seconds)
    except VoicerError as error:
        return str(error)
    return None


def _stop_batch(backend: Backend, bar: ProgressBar | None) -> None:
    """After Ctrl-C: the script being written is finished, unless Ctrl-C comes again."""
    try:
        if bar:
            bar.clear()
        _notice("interrupted; a script being written is finished first (Ctrl-C again: stop now)")
        backend.close()
    except KeyboardInterrupt:
        _notice("stopped; the script that was being written is left out")
    _notice("the scripts delivered are kept; the same command goes on from there")
    _leave(130)


# the setting each batch option goes to, where the names differ
_SETTING_OF = {"vtt": "subtitles", "ass": "subtitles"}


def _batch_backend(name: str, workers: int | None, address: str | None, gpus: float) -> Backend:
    if name == "ray":
        from voicer.batch.ray_backend import RayBackend

        return RayBackend(address, workers, gpus)
    from voicer.batch.local import LocalBackend

    return LocalBackend(workers)


@cli.command("studio", cls=_StagedCommand)
@click.argument("source", metavar="INPUT")
@render_options
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="The address to listen on; only this machine should reach the studio.",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=0,
    show_default=True,
    help="The port to listen on; 0: a free one.",
)
@click.option("--no-browser", is_flag=True, help="Print the address; do not open a browser.")
@reports_errors
def studio_command(source: str, host: str, port: int, no_browser: bool, **given: Any) -> None:
    """Hear INPUT in a local web page, fix its sentences and re-take them one at a time.

    Every change is saved to INPUT (and readings to --lexicon) at once, the earlier file kept
    in a backup beside it; Export writes what render would. The page's address, with its
    access token, is the first line printed, as soon as INPUT is read and checked; the
    sentences are then spoken while the page shows them. Ctrl-C stops the studio.
    """
    import webbrowser

    from voicer.studio import server
    from voicer.studio.session import Studio

    if source == "-":
        raise InputError("the studio edits a file: give its path, not -")
    if (warning := server.exposure_warning(host)) is not None:
        _notice(warning)
    sock = server.listen(host, port)  # a busy port is said before any work
    try:
        path = Path(source)
        options, outputs = _render_settings(path.name, given)
        studio = Studio(path, options, outputs, background=True)  # bad input: said here
    except BaseException:
        sock.close()
        raise

    def ready(url: str) -> None:
        click.echo(f"voicer studio on {url}")
        sys.stdout.flush()
        studio.start(lambda message: _notice(f"studio: the first render failed: {message}"))
        if not no_browser:
            webbrowser.open(url)

    try:
        server.serve(studio, host, sock, ready)
    finally:
        studio.close()


def _notice(message: str) -> None:
    click.echo(f"voicer: {message}", err=True)


def main() -> None:
    """Entry point of the ``voicer`` command."""
    signal.signal(signal.SIGTERM, _terminated)
    cli(prog_name="voicer")
