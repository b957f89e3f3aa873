"""Choosing the engine and voice of a render, once, and the engine's voice for each voice the
script's markup names."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from voicer.errors import InputError
from voicer.model import Prosody, Segment
from voicer.synthesis.engines import kokoro_english
from voicer.synthesis.engines.protocol import Engine
from voicer.synthesis.engines.registry import create, factory_for
from voicer.synthesis.engines.voice_names import (
    DEFAULT_VOICES,
    UNREACHABLE,
    check_bundled_voice,
    check_edge_voice,
    offline_voice_for,
    unknown_voice,
)


@dataclass(frozen=True)
class Choice:
    """The engine and voice one render uses, and what the user should be told about it."""

    engine: Engine
    voice: str
    notices: tuple[str, ...] = ()


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
    if engine_name == "tone":
        return _choose_tone(voice)
    from voicer.synthesis.engines import kokoro

    offline = voice is None or voice in kokoro.voice_names()
    if engine_name == "kokoro" and offline:
        return _choose_kokoro(voice, language, kokoro_model, ())
    from voicer.synthesis.engines import edge  # it brings aiohttp, which takes a while

    if not offline and not edge.is_edge_voice_name(str(voice)):
        raise unknown_voice(str(voice), [v.name for v in edge.bundled_voices()])
    if engine_name == "edge":
        return _choose_edge(voice, language)
    if engine_name == "kokoro":
        return _choose_kokoro(voice, language, kokoro_model, ())
    if engine_name != "auto":
        factory_for(engine_name)  # raises the unknown-engine error
    if voice is not None and offline:
        return _choose_kokoro(voice, language, kokoro_model, ())
    return _choose_reachable(voice, language, kokoro_model, probe_timeout)


def _choose_tone(voice: str | None) -> Choice:
    from voicer.synthesis.engines import tone

    if voice not in (None, tone.VOICE, tone.LOW_VOICE):
        raise InputError(f"the tone engine's voices are {tone.VOICE!r} and {tone.LOW_VOICE!r}")
    return Choice(create("tone"), voice or tone.VOICE)


def _choose_reachable(
    voice: str | None, language: str, kokoro_model: Path | None, probe_timeout: float
) -> Choice:
    """``auto``: edge when the service answers, else kokoro with a notice saying why."""
    from voicer.synthesis.engines import edge

    reason = edge.probe(timeout=probe_timeout)
    if reason is None:
        return _choose_edge(voice, language)
    if not create("kokoro", kokoro_model).speaks(language):
        raise InputError(_edge_only(language, reason))
    reason = reason.removeprefix("edge: ")
    notice = f"edge service unreachable ({reason}); using the offline kokoro engine"
    return _choose_kokoro(voice, language, kokoro_model, (notice,), UNREACHABLE)


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
    check_edge_voice(engine, voice)
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
    check_bundled_voice(voice, offline_because)
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
        check_edge_voice(choice.engine, requested)
        return requested, None
    if known_offline:
        return requested, None
    if not edge.is_edge_voice_name(requested):
        raise unknown_voice(requested, [v.name for v in edge.bundled_voices()])
    check_bundled_voice(requested)
    mapped = offline_voice_for(requested, kokoro.voice_language(choice.voice))
    return mapped, f"voice {requested} is online only; using {mapped}"
