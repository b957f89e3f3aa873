"""What ``voicer check`` reports on a draft, and how the offline engine reads its sentences
(``voicer check --readings``, the studio). Nothing here loads an audio stage or an engine:
a check answers at once."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from voicer.errors import InputError
from voicer.model import Override, Script, Segment
from voicer.script import lint, spoken_form
from voicer.script import prepare as drafts
from voicer.subtitles import captions
from voicer.subtitles.profiles import Profile


def findings(
    script: Script, profile: Profile, lexicon: Mapping[str, str] | None = None
) -> list[lint.Finding]:
    """What ``voicer check`` reports on a draft, sentences measured against ``profile``."""
    return lint.script_findings(script, cue_count(profile), lexicon)


def cue_count(profile: Profile) -> lint.CueCount:
    """How many cues of ``profile`` a sentence's text takes."""
    return lambda text: len(captions.split_captions(text, profile))


def pinyin_notices(engine: str, segments: Sequence[Segment], say: Mapping[str, str]) -> list[str]:
    """The one notice, if any, naming the readings of ``segments`` that ``engine``, which
    cannot take pinyin, leaves unsaid (``say`` gives none of them a text to say instead):
    render says it for its engine, and check for the edge engine."""
    unsaid = drafts.unsaid(segments, say)
    if not unsaid:
        return []
    listed = ", ".join(f"{written} ({syllables})" for written, syllables in unsaid)
    return [
        f"{engine} cannot take pinyin: {listed}; it says these as written "
        "(a lexicon entry can give the text to say instead: a third column in TSV, say = in TOML)"
    ]


def check_notices(script: Script, lexicon: spoken_form.Lexicon | None) -> list[str]:
    """What ``voicer check`` says besides its findings: the readings the online engine
    cannot apply (nothing when the draft cannot be prepared: its findings say why)."""
    try:
        prepared = drafts.prepare(script, allow_placeholders=True)
        segments = drafts.speakable(prepared.segments, script.language, lexicon)
    except InputError:
        return []
    return pinyin_notices("edge", segments, lexicon.say if lexicon is not None else {})


@dataclass(frozen=True)
class WordReading:
    """A word the offline engine says, and its syllables (TONE3, 5 neutral, one per Han
    character)."""

    text: str
    pinyin: tuple[str, ...]


@dataclass(frozen=True)
class SentenceReading:
    """How the offline engine reads a sentence: where it was written, its text as shown, the
    text the engine reads (``spoken``) and that text's syllables, space-separated, one per Han
    character; ``words`` are its Han words with their syllables."""

    line: int
    column: int
    text: str
    spoken: str
    pinyin: str
    words: tuple[WordReading, ...]


def sentence_readings(
    script: Script, lexicon: Mapping[str, str] | None = None
) -> list[SentenceReading]:
    """Every sentence of ``script`` as the offline engine reads it (``voicer check
    --readings``): the sentences a render speaks, placeholders left out; an InputError for
    markup that does not parse or a script with nothing to speak."""
    prepared = drafts.prepare(script, allow_placeholders=True)
    segments = drafts.speakable(prepared.segments, script.language, lexicon)
    return [segment_reading(segment, script.language) for segment in segments]


def segment_reading(segment: Segment, language: str) -> SentenceReading:
    """How the offline engine reads ``segment`` (already given its spoken form); a sentence
    of an English script has no pinyin."""
    if language != "zh":
        return SentenceReading(segment.line, segment.column, segment.shown, segment.spoken, "", ())
    spoken, words = _engine_reading(segment.spoken, segment.pinyin)
    syllables = " ".join(syllable for word in words for syllable in word.pinyin)
    return SentenceReading(segment.line, segment.column, segment.shown, spoken, syllables, words)


@functools.lru_cache(maxsize=1024)
def _engine_reading(
    spoken: str, given: tuple[Override, ...] = ()
) -> tuple[str, tuple[WordReading, ...]]:
    """The text the offline engine reads for ``spoken`` with the readings ``given``, and its
    Han words (the studio asks again for every sentence whenever it shows the script)."""
    from voicer.synthesis.engines import kokoro_words  # pypinyin and jieba's tagger

    found = kokoro_words.readings(spoken, given)
    text = "".join(word.text for word in found)
    return text, tuple(WordReading(word.text, word.pinyin) for word in found if word.pinyin)
