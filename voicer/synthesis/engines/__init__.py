"""The Engine protocol, the engines voicer knows, and choosing one engine and voice per render."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

from voicer.defaults import ENGINE_NAMES
from voicer.errors import InputError
from voicer.model import Clip, Prosody, Segment, Voice
from voicer.synthesis.engines import kokoro_english


class Engine(Protocol):
    """A text-to-speech engine. Adding one is one module that implements this."""

    name: str
    word_marks: bool  # whether synthesize() returns a timing mark for every word
    default_jobs: int  # requests to run at once when the user does not say (--jobs)
    # whether synthesize() takes readings written into its text (voicer.script.overrides)
    takes_pinyin: bool

    @property
    def cache_version(self) -> str:
        """Changes whenever the same request could sound different (model, library, ...)."""
        ...

    def voices(self) -> list[Voice]:
        """The voices this engine offers."""
        ...

    def speaks(self, language: str) -> bool:
        """Whether this engine can speak text of ``language`` ("zh", "en", ...)."""
        ...

    def ignored_settings(self, prosody: Prosody) -> list[str]:
        """Names of the settings in ``prosody`` this engine cannot honour."""
        ...

    def synthesize(self, text: str, voice: str, prosody: Prosody) -> Clip:
        """Speak ``text``; raise SynthesisError with a one-line reason on failure."""
        ...


# requests to the edge service at once: it answers 429 from about 40 connections at once; 8
# keeps well clear of that (and measured faster than 4 or 6 against a loopback server paced
# like the service)
EDGE_JOBS = 8
KOKORO_MOST_WORKERS = 4  # see kokoro_processes
# The voice used when none is asked for, by engine and language of the text.
DEFAULT_VOICES = {
    "edge": {"zh": "zh-CN-YunyangNeural", "en": "en-US-GuyNeural"},
    "kokoro": {"zh": "zm_yunxi", "en": "af_heart"},  # English: with voicer[english]
}
KOKORO_BY_GENDER = {"Male": "zm_yunxi", "Female": "zf_xiaobei"}
# kokoro's English voices for an edge voice, by its locale and gender
KOKORO_ENGLISH = {
    ("en-GB", "Male"): "bm_george",
    ("en-GB", "Female"): "bf_emma",
    ("en-US", "Male"): "am_michael",
    ("en-US", "Female"): "af_heart",
}


@dataclass(frozen=True)
class Choice:
    """The engine and voice one render uses, and what the user should be told about it."""

    engine: Engine
    voice: str
    notices: tuple[str, ...] = ()


def create(name: str, kokoro_model: Path | None = None) -> Engine:
    """A new engine by name."""
    if name == "edge":
        from voicer.synthesis.engines.edge import EdgeEngine

        return EdgeEngine()
    if name == "kokoro":
        from voicer.synthesis.engines import workers
        from voicer.synthesis.engines.kokoro import THREADS_VARIABLE, KokoroEngine

        kokoro = KokoroEngine(kokoro_model)
        processes = kokoro_processes()
        if processes < 2:
            return kokoro
        return workers.Workers(kokoro, processes, {THREADS_VARIABLE: "1"})
    if name == "tone":
        from voicer.synthesis.engines.tone import ToneEngine

        return ToneEngine()
    raise InputError(f"unknown engine {name!r} (choose from {', '.join(ENGINE_NAMES)})")


def kokoro_processes() -> int:
    """The worker processes the kokoro engine runs in (under 2: none, it runs in this one).

    One single-threaded engine process per core speaks sooner than one process with a thread
    per core (2 cores: a render with threads takes 1.10-1.21x as long, measured by
    scripts/bench.py kokoro); beyond 4 is unmeasured, and each process holds its own model
    (about 0.5 GB). VOICER_KOKORO_WORKERS=1: everything in this process.
    """
    from voicer.synthesis.engines import workers

    return workers.wanted("VOICER_KOKORO_WORKERS", most=KOKORO_MOST_WORKERS)


def default_jobs(name: str) -> int:
    """How many sentences engine ``name`` synthesises at once when --jobs does not say: the
    ``default_jobs`` of the engine :func:`create` makes, without making it."""
    if name == "kokoro":
        from voicer.synthesis.engines.kokoro import KokoroEngine

        processes = kokoro_processes()
        return processes if processes >= 2 else KokoroEngine.default_jobs
    if name == "tone":
        from voicer.synthesis.engines.tone import ToneEngine

        return ToneEngine.default_jobs
    if name == "edge":
        return EDGE_JOBS
    raise InputError(f"unknown engine {name!r} (choose from {', '.join(ENGINE_NAMES)})")


def listed_voices(name: str) -> tuple[list[Voice], str | None]:
    """The voices of engine ``name`` as ``voicer voices`` lists them, and a notice when the
    list is not the engine's own (edge, offline: the list bundled with voicer)."""
    from voicer.synthesis.engines import edge

    engine = create(name)
    if not isinstance(engine, edge.EdgeEngine):
        return engine.voices(), None
    live = engine.live_voices()
    if live is not None:
        return live, None
    bundled = edge.bundled_voices()
    return bundled, (
        "the edge service cannot be reached; this is the list bundled with voicer "
        f"({len(bundled)} well-known voices, not all the service has)"
    )


def choose(
    engine_name: str,
    voice: str | None,
    language: str,
    kokoro_model: Path | None = None,
    probe_timeout: float = 3.0,
) -> Choice:
    """Decide the engine and voice for a render, once. Raises InputError for what cannot work.

    ``auto`` probes the edge service (at most ``probe_timeout`` seconds) unless the voice asked
    for is an offline one, and falls back to kokoro when the service cannot be reached.
    """
    from voicer.synthesis.engines import tone

    if engine_name == "tone":
        if voice not in (None, tone.VOICE, tone.LOW_VOICE):
            raise InputError(f"the tone engine's voices are {tone.VOICE!r} and {tone.LOW_VOICE!r}")
        return Choice(create("tone"), voice or tone.VOICE)
    from voicer.synthesis.engines import edge, kokoro  # edge brings aiohttp: 0.4 s

    if (
        voice is not None
        and voice not in kokoro.voice_names()
        and not edge.is_edge_voice_name(voice)
    ):
        raise unknown_voice(voice, [v.name for v in edge.bundled_voices()])
    if engine_name == "edge":
        return _choose_edge(voice, language)
    if engine_name == "kokoro":
        return _choose_kokoro(voice, language, kokoro_model, ())
    if engine_name != "auto":
        create(engine_name)  # raises the unknown-engine error
    if voice in kokoro.voice_names():
        return _choose_kokoro(voice, language, kokoro_model, ())
    reason = edge.probe(timeout=probe_timeout)
    if reason is None:
        return _choose_edge(voice, language)
    if not create("kokoro", kokoro_model).speaks(language):
        raise InputError(_edge_only(language, reason))
    reason = reason.removeprefix("edge: ")
    notice = f"edge service unreachable ({reason}); using the offline kokoro engine"
    return _choose_kokoro(voice, language, kokoro_model, (notice,), _UNREACHABLE)


_LANGUAGE_NAMES = {"en": "English", "zh": "Mandarin"}


def _edge_only(language: str, reason: str) -> str:
    """Why a text in ``language`` cannot be spoken when the edge service is unreachable."""
    name = _LANGUAGE_NAMES.get(language, "a language")
    message = (
        f"the text looks like {name} that only the edge engine (online) speaks, "
        f"and it cannot be reached: {reason}"
    )
    if language == "en":
        message += f"; {_ENGLISH_MISSING}"
    return message


_ENGLISH_MISSING = f"for offline English voices: {kokoro_english.INSTALL}"


def _choose_edge(voice: str | None, language: str) -> Choice:
    from voicer.synthesis.engines import kokoro

    if voice in kokoro.voice_names():
        raise InputError(f"{voice} is a voice of the offline kokoro engine; use --engine kokoro")
    if voice is None:
        voice = DEFAULT_VOICES["edge"].get(language)
        if voice is None:
            raise InputError("no default edge voice for the language of this text: pass --voice")
    engine = create("edge")
    _check_edge_voice(engine, voice)
    return Choice(engine, voice)


def _choose_kokoro(
    voice: str | None,
    language: str,
    kokoro_model: Path | None,
    notices: tuple[str, ...],
    offline_because: str | None = None,
) -> Choice:
    from voicer.synthesis.engines import kokoro

    engine = create("kokoro", kokoro_model)
    if voice in kokoro.voice_names():
        _check_kokoro_voice_language(voice, language)
    if not engine.speaks(language):
        raise InputError(_kokoro_refusal(language))
    if voice is None:
        return Choice(engine, DEFAULT_VOICES["kokoro"][language], notices)
    if voice in kokoro.voice_names():
        return Choice(engine, voice, notices)
    _check_bundled_voice(voice, offline_because)
    mapped = offline_voice_for(voice, language)
    return Choice(engine, mapped, (*notices, f"voice {voice} is online only; using {mapped}"))


def _kokoro_refusal(language: str) -> str:
    """Why the offline kokoro engine cannot speak a text in ``language``."""
    if language == "en":
        return (
            "the offline kokoro engine speaks English only with the optional espeak-ng part "
            f"(GPL-3.0): {kokoro_english.INSTALL}, or use --engine edge (online)"
        )
    name = _LANGUAGE_NAMES.get(language, "another language")
    return (
        f"the offline kokoro engine speaks Mandarin and English, and the text looks like {name}: "
        "use --engine edge (online)"
    )


def _check_kokoro_voice_language(voice: str, language: str) -> None:
    """An InputError when a kokoro voice asked for by name speaks another language than the
    text's (its phonemes would be read by the wrong rules)."""
    from voicer.synthesis.engines import kokoro

    spoken = kokoro.voice_language(voice)
    if language in _LANGUAGE_NAMES and spoken != language:
        raise InputError(
            f"the kokoro voice {voice} speaks {_LANGUAGE_NAMES[spoken]}, and the text looks "
            f"like {_LANGUAGE_NAMES[language]}: choose another (see: voicer voices --engine kokoro)"
        )


def ignored_settings_notices(choice: Choice, prosody: Prosody) -> list[str]:
    """One notice for each speaking setting the chosen engine cannot honour."""
    return [
        f"the {choice.engine.name} engine cannot change {setting}; --{setting} is ignored"
        for setting in choice.engine.ignored_settings(prosody)
    ]


def with_engine_voices(
    segments: Sequence[Segment], choice: Choice
) -> tuple[list[Segment], list[str]]:
    """The sentences with the engine's name for each voice their markup asks for (checked
    before anything is synthesised), and a notice for each voice that had to be mapped."""
    resolved = {voice: voice_for(choice, voice) for voice in {s.voice for s in segments if s.voice}}
    notices = sorted({notice for _, notice in resolved.values() if notice})
    return [
        replace(segment, voice=resolved[segment.voice][0]) if segment.voice else segment
        for segment in segments
    ], notices


def voice_for(choice: Choice, requested: str) -> tuple[str, str | None]:
    """The voice of ``choice``'s engine that speaks for ``requested`` (a voice named in the
    script's markup), and a notice when it is not the one asked for; InputError if none."""
    from voicer.synthesis.engines import edge, kokoro

    name = choice.engine.name
    if name == "tone":  # its own voices, and its default for any other
        own = {voice.name for voice in choice.engine.voices()}
        return (requested if requested in own else choice.voice), None
    known_offline = requested in kokoro.voice_names()
    if name == "edge":
        if known_offline:
            raise InputError(f"{requested} is a voice of the offline kokoro engine, not of edge")
        _check_edge_voice(choice.engine, requested)
        return requested, None
    if known_offline:
        return requested, None
    if not edge.is_edge_voice_name(requested):
        raise unknown_voice(requested, [v.name for v in edge.bundled_voices()])
    _check_bundled_voice(requested)
    mapped = offline_voice_for(requested, kokoro.voice_language(choice.voice))
    return mapped, f"voice {requested} is online only; using {mapped}"


_UNREACHABLE = "the edge service cannot be reached to check its own list"
_KOKORO_OFFLINE = "the offline kokoro engine does not ask the edge service for its own list"


def _check_edge_voice(engine: Engine, voice: str) -> None:
    """An InputError unless ``voice`` is an edge voice: one voicer bundles, or one of the
    service's own list; when the service does not answer, the bundled list decides."""
    from voicer.synthesis.engines import edge

    if edge.is_bundled(voice):
        return
    live = engine.live_voices() if isinstance(engine, edge.EdgeEngine) else None
    if live is None:
        _check_bundled_voice(voice, _UNREACHABLE)
    elif voice not in {v.name for v in live}:
        raise unknown_voice(voice, [v.name for v in live], "not in the edge service's list")


def _check_bundled_voice(voice: str, offline_because: str | None = None) -> None:
    """An InputError unless ``voice`` is in the list of edge voices bundled with voicer, which
    decides offline (``offline_because`` says why the service's own list is not asked)."""
    from voicer.synthesis.engines import edge

    if not edge.is_bundled(voice):
        why = offline_because or _KOKORO_OFFLINE
        where = f"not among the edge voices bundled with voicer ({why})"
        raise unknown_voice(voice, [v.name for v in edge.bundled_voices()], where)


def unknown_voice(voice: str, edge_names: Sequence[str], where: str = "") -> InputError:
    """The error for a voice no engine has: where it was looked for, and the closest names
    among ``edge_names`` and kokoro's voices.

    >>> str(unknown_voice("zm_yunxy", ["zh-CN-YunxiNeural"]))
    "unknown voice 'zm_yunxy'; did you mean zm_yunxi, zm_yunxia or zm_yunyang? (see: voicer voices)"
    """
    from voicer.synthesis.engines import kokoro

    names = {name.lower(): name for name in [*edge_names, *kokoro.voice_names()]}
    close = [names[m] for m in difflib.get_close_matches(voice.lower(), names, n=3, cutoff=0.6)]
    message = f"unknown voice {voice!r}" + (f": {where}" if where else "")
    if close:
        listed = close[0] if len(close) == 1 else f"{', '.join(close[:-1])} or {close[-1]}"
        message += f"; did you mean {listed}?"
    return InputError(f"{message} (see: voicer voices)")


def offline_voice_for(edge_voice: str, language: str = "zh") -> str:
    """The kokoro voice speaking ``language`` ("zh", "en") closest to an edge voice: the same
    speaker if kokoro has one (zh-CN-YunyangNeural -> zm_yunyang), else a clear voice of the
    same gender (and, for English, accent).

    >>> offline_voice_for("zh-CN-YunyangNeural"), offline_voice_for("en-US-JennyNeural")
    ('zm_yunyang', 'zf_xiaobei')
    >>> offline_voice_for("en-GB-RyanNeural", "en"), offline_voice_for("zh-CN-XiaoxiaoNeural", "en")
    ('bm_george', 'af_heart')
    """
    from voicer.synthesis.engines import edge, kokoro

    speaker = edge_voice.rsplit("-", 1)[-1].removesuffix("Neural").lower()
    for name in kokoro.voice_names():
        if name[3:] == speaker and kokoro.voice_language(name) == language:
            return name
    gender = edge.gender_of(edge_voice) or "Male"
    if language == "en":
        accent = "en-GB" if edge_voice.startswith("en-GB-") else "en-US"
        return KOKORO_ENGLISH.get((accent, gender), "af_heart")
    return KOKORO_BY_GENDER.get(gender, "zm_yunxi")
