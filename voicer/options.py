"""Every render option, declared once: a field of :class:`RenderOptions` (or of its ``video``,
a :class:`VideoSettings`) with its default, and in the field's metadata its flag, type,
limits or choices, help line and stage (:func:`option`).

The command line's options (``voicer render --help``, in these stages' groups), the keys a
batch manifest takes and how their values are checked, and the studio's settings are all made
from :data:`OPTIONS`, which these fields give. A new option is one more field here and the stage
that uses it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal, TypeVar, overload

from voicer import defaults
from voicer.errors import InputError

# the stages, in the order --help shows them (the outputs, which each command declares,
# come first)
SPEECH = "Speech"
SCRIPT = "Script"
SUBTITLES = "Subtitles"
DELIVERY = "Audio delivery"
VIDEO = "Video (-o .mp4, .mkv or .webm)"
SYNTHESIS = "Synthesis and cache"
STAGES = (SPEECH, SCRIPT, SUBTITLES, DELIVERY, VIDEO, SYNTHESIS)

# what a value is: a size is a byte count written "2G"; a percent or hertz value a Level
# written "+10%" or "-2Hz"; fills are placeholder values
Kind = Literal["str", "int", "float", "bool", "path", "folder", "size", "percent", "hertz", "fills"]


@dataclass(frozen=True)
class Level:
    """A speaking setting: a signed amount of its unit, a rate or volume in percent (``+10%``)
    or a pitch in Hz (``-2Hz``)."""

    amount: int = 0
    unit: str = "%"

    def __str__(self) -> str:
        return f"{self.amount:+d}{self.unit}"


@dataclass(frozen=True)
class Option:
    """One render option, as :func:`option` declares it on a field.

    ``name`` is the setting's name (a field of ``RenderOptions``, or of its ``video`` when
    ``video``) and ``default`` the field's; ``flag`` its command-line spelling (None: a
    manifest key only), which a manifest takes too, dashes or not. ``negated``: the flag
    turns the setting off (``--no-cache`` sets ``use_cache`` false). A default other than
    None is shown in ``--help``; None leaves the setting to its stage, which the help line
    then explains."""

    name: str
    flag: str | None
    stage: str
    help: str
    kind: Kind = "str"
    default: Any = None
    bounds: tuple[float, float] | None = None
    choices: tuple[Any, ...] | None = None
    metavar: str | None = None
    short: str | None = None
    envvar: str | None = None
    negated: bool = False
    repeated: bool = False  # the flag may be given again (--fill)
    must_exist: bool = False  # a file read before anything renders: checked first
    refuse_missing: bool = False  # the command line refuses it at once, before any other check
    video: bool = False  # a field of RenderOptions.video
    in_manifests: bool = True  # the video options come from the command line only

    @property
    def spelled(self) -> str | None:
        """The flag as a manifest key, dashes as underscores: ``sentence_pause``."""
        return self.flag.removeprefix("--").replace("-", "_") if self.flag else None

    def checked(self, value: Any, key: str) -> Any:
        """``value`` of this option (written ``key``) checked against its type, limits and
        choices, a float given as an integer made a float; an InputError (``key must ...``)
        otherwise. Paths, sizes and fills stay as written: their converters read them."""
        value = _CHECKS[self.kind](value, key)
        if self.kind in ("int", "float") and self.bounds and not self.within_bounds(value):
            low, high = self.bounds
            raise InputError(f"{key} must be from {low:g} to {high:g}, not {value!r}")
        if self.choices is not None and value not in self.choices:
            known = ", ".join(map(str, self.choices))
            raise InputError(f"{key} must be one of {known}, not {value!r}")
        return value

    def within_bounds(self, value: float) -> bool:
        return self.bounds is None or self.bounds[0] <= value <= self.bounds[1]

    def read(self, text: str) -> Any:
        """This option's value written ``text`` (``"2G"``, ``"+10%"``) in its type; text
        itself for an option whose values are text. An InputError says what is wrong."""
        low, high = (int(bound) for bound in self.bounds or (0, 0))
        if self.kind == "size":
            return parse_size(text)
        if self.kind == "percent":
            return Level(parse_percent(text, self.name, low, high), "%")
        if self.kind == "hertz":
            return Level(parse_hertz(text, self.name, low, high), "Hz")
        return text


def _boolean(value: Any, key: str) -> bool:
    if not isinstance(value, bool):
        raise InputError(f"{key} must be true or false, not {value!r}")
    return value


def _integer(value: Any, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(f"{key} must be an integer, not {value!r}")
    return value


def _number(value: Any, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"{key} must be a number, not {value!r}")
    return float(value)


def _string(value: Any, key: str) -> str:
    if not isinstance(value, str):
        raise InputError(f"{key} must be a string, not {value!r}")
    return value


def _as_given(value: Any, key: str) -> Any:
    return value


_CHECKS = {
    "str": _string,
    "path": _string,
    "folder": _string,
    "int": _integer,
    "float": _number,
    "bool": _boolean,
    "size": _as_given,
    "percent": _string,
    "hertz": _string,
    "fills": _as_given,
}

_MS = "MS"
T = TypeVar("T")


@overload
def option(flag: str | None, stage: str, help: str, *, default: T, **declared: Any) -> T: ...
@overload
def option(flag: str | None, stage: str, help: str, **declared: Any) -> Any: ...
def option(flag: str | None, stage: str, help: str, *, default: Any = None, **declared: Any) -> Any:
    """A field declared as a render option: its default and its :class:`Option` (``declared``
    as Option's other attributes), whose name is the field's."""
    return field(default=default, metadata={"option": Option("", flag, stage, help, **declared)})


@dataclass(frozen=True)
class VideoSettings:
    """The video options of a render (they apply when the output is a video file)."""

    background: str | None = option(
        "--background",
        VIDEO,
        "What is behind the captions, a colour (#rrggbb or a name), a picture or a "
        "video (looped) [default: a dark card].",
        metavar="COLOUR|IMAGE|VIDEO",
    )
    # a narrated video keeps its own size
    size: str = option(
        "--size",
        VIDEO,
        "The frame size with a card or picture background.",
        default=defaults.VIDEO_SIZE,
        metavar="WxH",
    )
    title: bool = option(
        "--title", VIDEO, "Show the speech's title at the top.", kind="bool", default=False
    )
    burn_in: bool = option(
        "--burn-in", VIDEO, "Draw the captions into the picture.", kind="bool", default=False
    )
    font: str | None = option(
        "--font",
        VIDEO,
        "The font of drawn captions, a family or a font file [default: Noto Sans CJK "
        "SC for Chinese, Noto Sans otherwise].",
        metavar="NAME|PATH",
    )
    caption_box: bool = option(
        "--caption-box",
        VIDEO,
        "A box behind drawn captions, not an outline.",
        kind="bool",
        default=False,
    )
    video_in: Path | None = option(
        "--video-in",
        VIDEO,
        "Narrate this video; its picture is kept and its sound replaced.",
        kind="path",
    )
    fit: str = option(
        "--fit",
        VIDEO,
        "When --video-in and the speech differ in length. pad: the longer sets the "
        "length (the picture holds its last frame, or the sound runs on); trim: the speech "
        "does (a longer video is cut); error: refuse.",
        default="pad",
        choices=defaults.VIDEO_FITS,
    )


@dataclass(frozen=True)
class RenderOptions:
    """Everything that changes what a render produces, except where it goes: each field a
    declared option (its :class:`Option` in the field's metadata), in the order of ``--help``.

    Subtitle limits left as None take the profile's value for the language of the text.
    """

    # speech
    engine: str = option(
        "--engine",
        SPEECH,
        "edge: online neural voices; kokoro: offline; auto: edge if reachable, else kokoro; "
        "tone: a synthetic voice of tones, no model, for tests and benchmarks.",
        default="auto",
        choices=defaults.ENGINE_NAMES,
    )
    voice: str | None = option(
        "--voice",
        SPEECH,
        "An edge voice (zh-CN-YunyangNeural) or a kokoro voice (zm_yunxi).",
    )
    rate: Level = option(
        "--rate",
        SPEECH,
        "Speaking rate, e.g. +10% or -5%.",
        kind="percent",
        default=Level(0, "%"),
        bounds=(-50, 100),
    )
    volume: Level = option(
        "--volume",
        SPEECH,
        "Volume, e.g. +10% or -5%.",
        kind="percent",
        default=Level(0, "%"),
        bounds=(-100, 100),
    )
    pitch: Level = option(
        "--pitch",
        SPEECH,
        "Pitch, e.g. +2Hz (edge only).",
        kind="hertz",
        default=Level(0, "Hz"),
        bounds=(-200, 200),
    )
    sentence_pause_ms: int = option(
        "--sentence-pause",
        SPEECH,
        "Silence between sentences, from the end of speech to the start of the next.",
        kind="int",
        default=defaults.SENTENCE_PAUSE_MS,
        bounds=(0, 10000),
        metavar=_MS,
    )
    paragraph_pause_ms: int = option(
        "--paragraph-pause",
        SPEECH,
        "Silence after the last sentence of a paragraph.",
        kind="int",
        default=defaults.PARAGRAPH_PAUSE_MS,
        bounds=(0, 10000),
        metavar=_MS,
    )
    kokoro_model: Path | None = option(
        "--kokoro-model",
        SPEECH,
        "Another Kokoro v1.0 ONNX file to use offline (env: VOICER_KOKORO_MODEL).",
        kind="path",
        envvar="VOICER_KOKORO_MODEL",
        must_exist=True,
        refuse_missing=True,
    )
    probe_timeout: float = option(
        None,
        SPEECH,
        "Seconds engine auto waits for the online service before it takes kokoro.",
        kind="float",
        default=3.0,
        bounds=(0, 600),
    )
    # script
    fills: Mapping[str, Sequence[str]] | None = option(  # placeholders.fill's values
        "--fill",
        SCRIPT,
        "A value for a placeholder: '*=上海' fills every *, repeated '*=…' fill them in order, "
        "'3:12=上海' the one at line 3, column 12. Repeatable.",
        kind="fills",
        metavar="KEY=VALUE",
        repeated=True,
    )
    fill_file: Path | None = option(  # no output may replace it
        "--fill-file",
        SCRIPT,
        "Placeholder values from a file: KEY=VALUE lines or TOML.",
        kind="path",
        must_exist=True,
    )
    allow_placeholders: bool = option(
        "--allow-placeholders",
        SCRIPT,
        "Render a draft with placeholders left: they are not spoken, and subtitles show them.",
        kind="bool",
        default=False,
    )
    lexicon: Path | None = option(
        "--lexicon",
        SCRIPT,
        "Pronunciations for names and terms: a TSV (written<TAB>spoken) or TOML file, applied "
        "before numbers are put into words.",
        kind="path",
        must_exist=True,
    )
    # subtitles
    subtitle_style: str | None = option(
        "--subtitle-style",
        SUBTITLES,
        "zh-netflix: no ，。 in cues, an inner ， becomes a space [default for Mandarin]; "
        "plain: punctuation as written.",
        choices=defaults.SUBTITLE_STYLES,
    )
    max_chars: float | None = option(
        "--max-chars",
        SUBTITLES,
        "Characters per line (half-width counts 0.5 in Mandarin) "
        "[default: 16 Mandarin, 42 others].",
        kind="float",
        bounds=(4, 200),
    )
    max_lines: int | None = option(
        "--max-lines", SUBTITLES, "Lines per cue [default: 2].", kind="int", bounds=(1, 4)
    )
    min_duration_ms: int | None = option(
        "--min-duration",
        SUBTITLES,
        "Shortest cue [default: 833].",
        kind="int",
        bounds=(0, 60000),
        metavar=_MS,
    )
    max_duration_ms: int | None = option(
        "--max-duration",
        SUBTITLES,
        "Longest cue [default: 7000].",
        kind="int",
        bounds=(1000, 60000),
        metavar=_MS,
    )
    min_gap_frames: int | None = option(
        "--min-gap",
        SUBTITLES,
        "Shortest gap between cues [default: 2].",
        kind="int",
        bounds=(0, 100),
        metavar="FRAMES",
    )
    fps: float | None = option(
        "--fps", SUBTITLES, "Frame rate [default: 25].", kind="float", bounds=(1, 120)
    )
    # audio delivery
    loudness: str | None = option(  # None: by format (mastering.default_loudness)
        "--loudness",
        DELIVERY,
        "Loudness preset: ebu-r128 -23 LUFS/-1 dBTP, atsc-a85 -24/-2, podcast -16/-1 "
        "(-19 mono), streaming -14/-1, none [default: ebu-r128 for WAV and FLAC, "
        "podcast for MP3, M4A, Ogg and Opus].",
        choices=(*defaults.LOUDNESS_PRESETS, "none"),
    )
    lufs: float | None = option(
        "--lufs", DELIVERY, "Integrated loudness target.", kind="float", bounds=(-70, 0)
    )
    true_peak: float | None = option(
        "--true-peak", DELIVERY, "True-peak ceiling in dBTP.", kind="float", bounds=(-20, 0)
    )
    sample_rate: int | None = option(
        "--sample-rate",
        DELIVERY,
        "Delivery sample rate [default: 48000].",
        kind="int",
        bounds=(8000, 192000),
    )
    bit_depth: int | None = option(
        "--bit-depth", DELIVERY, "WAV/FLAC [default: 24].", kind="int", choices=(16, 24)
    )
    bitrate: str | None = option(
        "--bitrate",
        DELIVERY,
        "Lossy formats, e.g. 192k [default: 128k; Opus 64k, Vorbis 96k].",
    )
    channels: int = option(
        "--channels",
        DELIVERY,
        "1: mono; 2: stereo, the speech the same on both.",
        kind="int",
        default=1,
        bounds=(1, 2),
    )
    bwf: bool = option(
        "--bwf",
        DELIVERY,
        "WAV: add a BWF bext chunk with the loudness.",
        kind="bool",
        default=False,
    )
    lead_in_ms: int = option(
        "--lead-in",
        DELIVERY,
        "Silence before the first speech.",
        kind="int",
        default=defaults.MARGIN_MS,
        bounds=(0, 600000),
        metavar=_MS,
    )
    tail_ms: int = option(
        "--tail",
        DELIVERY,
        "Silence after the last speech (longer while the last subtitle is up).",
        kind="int",
        default=defaults.MARGIN_MS,
        bounds=(0, 600000),
        metavar=_MS,
    )
    # video: the options of VideoSettings, then the mixing of a narrated video's sound
    video: VideoSettings = VideoSettings()
    mix: bool = option(
        "--mix",
        VIDEO,
        "Keep --video-in's sound, ducked under the speech.",
        kind="bool",
        default=False,
        in_manifests=False,
    )
    mix_level: float = option(
        "--mix-level",
        VIDEO,
        "The original sound under speech, against the speech's loudness.",
        kind="float",
        default=defaults.MIX_LEVEL_LU,
        bounds=(-60, 0),
        metavar="LU",
        in_manifests=False,
    )
    duck: float = option(
        "--duck",
        VIDEO,
        "How much louder the original sound is between sentences.",
        kind="float",
        default=defaults.DUCK_DB,
        bounds=(0, 40),
        metavar="DB",
        in_manifests=False,
    )
    # synthesis and cache
    cache_dir: Path | None = option(  # None: files.cache_folder()
        "--cache-dir",
        SYNTHESIS,
        "Where synthesised sentences are kept for re-renders [default: the platform's cache "
        "folder, e.g. ~/.cache/voicer; env: VOICER_CACHE_DIR].",
        kind="folder",
        envvar="VOICER_CACHE_DIR",
    )
    cache_max: int | None = option(  # bytes, 0: no limit; None: cache.default_limit()
        "--cache-max",
        SYNTHESIS,
        "The most the sentence cache may hold, e.g. 500M or 2G; the least recently used "
        "sentences go first; 0: no limit [default: 2G; env: VOICER_CACHE_MAX].",
        kind="size",
        metavar="SIZE",
        envvar=defaults.CACHE_LIMIT_ENV,
    )
    use_cache: bool = option(
        "--no-cache",
        SYNTHESIS,
        "Neither read nor write the sentence cache.",
        kind="bool",
        default=True,
        negated=True,
    )
    jobs: int | None = option(  # None: the engine's default
        "--jobs",
        SYNTHESIS,
        "Sentences synthesised at once [default: the engine's].",
        kind="int",
        bounds=(1, 32),
        short="-j",
    )
    retries: int = option(  # further attempts after a transient engine failure
        "--retries",
        SYNTHESIS,
        "Further attempts at a request that failed for a passing reason (throttling, a "
        "dropped connection, a timeout), with exponential backoff.",
        kind="int",
        default=defaults.RETRIES,
        bounds=(0, 20),
    )


def _declared(settings: type, video: bool = False) -> Iterator[Option]:
    """The options of the fields of ``settings``, named after them, in their order; for
    RenderOptions, those of its ``video`` (a VideoSettings) in its place."""
    for each in fields(settings):
        if each.name == "video" and settings is RenderOptions:
            yield from _declared(VideoSettings, video=True)
        elif "option" in each.metadata:
            yield replace(
                each.metadata["option"], name=each.name, default=each.default, video=video
            )


OPTIONS: tuple[Option, ...] = tuple(_declared(RenderOptions))
BY_NAME: dict[str, Option] = {option.name: option for option in OPTIONS}
VIDEO_NAMES = tuple(option.name for option in OPTIONS if option.video)


def read(name: str, text: str) -> Any:
    """The value of option ``name`` written ``text``, in its type (:meth:`Option.read`)."""
    return BY_NAME[name].read(text)


def default(name: str) -> Any:
    """The declared default of option ``name``."""
    return BY_NAME[name].default


def of_stages(*stages: str) -> tuple[Option, ...]:
    """The options of ``stages``, in their declared order."""
    return tuple(option for option in OPTIONS if option.stage in stages)


def value(options: RenderOptions, option: Option) -> Any:
    """The value ``options`` give ``option`` (its ``video``'s for a video option)."""
    return getattr(options.video if option.video else options, option.name)


def given_flags(options: RenderOptions, *stages: str) -> list[str]:
    """The flags of the options of ``stages`` that ``options`` set to other than their
    defaults, in declared order.

    >>> given_flags(RenderOptions(video=VideoSettings(burn_in=True), duck=6.0), VIDEO)
    ['--burn-in', '--duck']
    """
    return [
        option.flag
        for option in of_stages(*stages)
        if option.flag and value(options, option) != option.default
    ]


def manifest_keys() -> dict[str, Option]:
    """Each key a manifest may set, dashes as underscores, and its option: the setting's
    own name (``sentence_pause_ms``) and the flag's (``sentence_pause``, ``no_cache``)."""
    keys: dict[str, Option] = {}
    for option in OPTIONS:
        if option.in_manifests:
            keys[option.name] = option
            if option.spelled:
                keys[option.spelled] = option
    return keys


def split_video(settings: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``settings`` by declared name split in two: those of :class:`RenderOptions` itself and
    those of its ``video``."""
    video = {name: value for name, value in settings.items() if name in VIDEO_NAMES}
    rest = {name: value for name, value in settings.items() if name not in VIDEO_NAMES}
    return rest, video


_UNITS = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12}
_UNITS |= {"ki": 2**10, "mi": 2**20, "gi": 2**30, "ti": 2**40}
_SIZE = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([kmgt]i?)?b?\s*", re.IGNORECASE)


def parse_size(text: str) -> int:
    """Bytes in a size such as ``500M``, ``2G``, ``2GB``, ``1.5 GiB`` or ``0`` (no limit).

    K, M, G, T are powers of 1000; KiB, MiB, GiB, TiB powers of 1024.

    >>> parse_size("2G"), parse_size("500mb"), parse_size("1KiB"), parse_size("0")
    (2000000000, 500000000, 1024, 0)
    """
    match = _SIZE.fullmatch(text)
    if not match:
        raise InputError(
            f"invalid cache size {text!r} (--cache-max, {defaults.CACHE_LIMIT_ENV}): "
            "give e.g. 500M, 2G or 2GB, or 0 for no limit"
        )
    number, unit = match.groups()
    return int(float(number) * _UNITS[(unit or "").lower()])


_PERCENT = re.compile(r"^\s*([+-]?)(\d{1,3})\s*%?\s*$")
_HERTZ = re.compile(r"^\s*([+-]?)(\d{1,4})\s*(?:hz)?\s*$", re.IGNORECASE)


def _signed(match: re.Match[str]) -> int:
    sign, digits = match.groups()
    return -int(digits) if sign == "-" else int(digits)


def parse_percent(value: str, what: str, low: int = -100, high: int = 200) -> int:
    """``"+10%"``, ``"10%"`` or ``"10"`` -> 10; anything else is an InputError, its ``reason``
    saying what is wrong with the value.

    >>> parse_percent("-5%", "rate")
    -5
    >>> parse_percent("12", "volume")
    12
    """
    match = _PERCENT.match(value)
    if not match:
        reason = "expected a percentage such as +10% or -5%"
    elif not low <= _signed(match) <= high:
        reason = f"must be between {low:+d}% and {high:+d}%"
    else:
        return _signed(match)
    raise InputError(reason).within(f"invalid {what} {value!r}")


def parse_hertz(value: str, what: str = "pitch", low: int = -200, high: int = 200) -> int:
    """``"+2Hz"``, ``"2Hz"`` or ``"-3"`` -> Hz as an int.

    >>> parse_hertz("+2Hz")
    2
    """
    match = _HERTZ.match(value)
    if not match:
        raise InputError(f"invalid {what} {value!r}: expected Hz such as +2Hz or -5Hz")
    number = _signed(match)
    if not low <= number <= high:
        raise InputError(f"invalid {what} {value!r}: must be between {low:+d}Hz and {high:+d}Hz")
    return number
