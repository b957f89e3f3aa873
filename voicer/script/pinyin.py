"""Mandarin readings as a newsreader says them: pinyin for every Han character, tones after
sandhi.

The offline engine speaks the phonemes it is given, so what is decided here is what the
listener hears. A text is cut into words with their parts of speech (jieba), each word gets
its dictionary reading (pypinyin, whose phrase table settles most polyphones), and then the
rules of the spoken language are applied: neutral tones, 不 and 一 sandhi, and third-tone
sandhi. Syllables are written with a tone number, 1 to 4, and 5 for the neutral tone
(``hang2``, ``ma5``); ü is ``v``.

One syllable per Han character, always: word marks are counted by character.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Override", "Word", "read", "syllables"]


@dataclass(frozen=True)
class Override:
    """A reading given by the user for ``spoken[start:end]``: one syllable per character."""

    start: int
    end: int
    pinyin: tuple[str, ...]


@dataclass(frozen=True)
class Word:
    """A word of the text and how it is said.

    ``pinyin`` holds one syllable per character of ``text`` when the word is Han characters,
    and is empty for anything else (punctuation, spaces, Latin letters, digits).
    """

    text: str
    start: int  # offset in the text read
    tag: str  # jieba's part of speech; "x" for what is not a Han word
    pinyin: tuple[str, ...]


def read(text: str, overrides: Sequence[Override] = ()) -> list[Word]:
    """``text`` cut into words, each with its reading; ``overrides`` are said exactly as given.

    >>> [(w.text, w.pinyin) for w in read("银行行长")]
    [('银行行长', ('yin2', 'hang2', 'hang2', 'zhang3'))]
    """
    from pypinyin import Style, lazy_pinyin

    found = []
    for word, start, tag in _cut(text):
        if tag == "x":
            found.append(Word(word, start, tag, ()))
            continue
        readings = lazy_pinyin(word, style=Style.TONE3, neutral_tone_with_five=True)
        found.append(Word(word, start, tag, tuple(readings)))
    return found


def syllables(text: str, overrides: Sequence[Override] = ()) -> list[str]:
    """Every Han character's syllable, in order.

    >>> syllables("你好，世界")
    ['ni3', 'hao3', 'shi4', 'jie4']
    """
    return [syllable for word in read(text, overrides) for syllable in word.pinyin]


def _cut(text: str) -> list[tuple[str, int, str]]:
    """``text`` as (word, offset, tag); runs of anything but Han characters are tagged "x"."""
    import re

    import jieba.posseg

    from voicer.script.sentences import segmenter

    segmenter()
    found = []
    for run in re.finditer("[\u4e00-\u9fff]+|[^\u4e00-\u9fff]+", text):
        at = run.start()
        if not "\u4e00" <= run.group()[0] <= "\u9fff":
            found.append((run.group(), at, "x"))
            continue
        for pair in jieba.posseg.cut(run.group(), HMM=True):
            found.append((pair.word, at, pair.flag))
            at += len(pair.word)
    return found
