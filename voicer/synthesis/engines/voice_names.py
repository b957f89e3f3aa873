"""Voices across engines: the default voice of each engine, the kokoro voice that stands in
for an edge voice, the checks that a voice asked for exists, and the voices ``voicer voices``
lists."""

from __future__ import annotations

import difflib
from collections.abc import Sequence

from voicer.errors import InputError
from voicer.model import Voice
from voicer.synthesis.engines.protocol import Engine
from voicer.synthesis.engines.registry import create

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


UNREACHABLE = "the edge service cannot be reached to check its own list"
_KOKORO_OFFLINE = "the offline kokoro engine does not ask the edge service for its own list"


def check_edge_voice(engine: Engine, voice: str) -> None:
    """An InputError unless ``voice`` is an edge voice: one voicer bundles, or one of the
    service's own list; when the service does not answer, the bundled list decides."""
    from voicer.synthesis.engines import edge

    if edge.is_bundled(voice):
        return
    live = engine.live_voices() if isinstance(engine, edge.EdgeEngine) else None
    if live is None:
        check_bundled_voice(voice, UNREACHABLE)
    elif voice not in {v.name for v in live}:
        raise unknown_voice(voice, [v.name for v in live], "not in the edge service's list")


def check_bundled_voice(voice: str, offline_because: str | None = None) -> None:
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
