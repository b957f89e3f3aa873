"""Kokoro's Mandarin phonemes word by word, and word marks from the model's token durations.

misaki's ``ZHG2P`` (the legacy path voicer uses) turns digits into Chinese (cn2an), maps
punctuation to ``, . ! ?`` and so on, cuts the Chinese runs into words with jieba, and spells each
word on its own (pypinyin, tones within the word) with a space between words. The same steps are
done here one word at a time, so that each word of the text keeps its own phonemes: the map from
words to tokens is by position, never by looking phonemes up again. Joined, the pieces are exactly
misaki's phoneme string.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Sequence
from functools import cache
from typing import NamedTuple

import numpy as np

from voicer.model import Mark
from voicer.script import pinyin
from voicer.script.overrides import moved
from voicer.script.spoken_form import origins

# jieba and misaki are not known to be safe across threads: one reads at a time
G2P_LOCK = threading.Lock()
SAMPLES_PER_FRAME = 600  # one duration frame of Kokoro v1.0 at 24 kHz (25 ms)
_UNSPOKEN_MARK = chr(815)  # misaki removes it from its output
# Mandarin readers say Latin letters by these names; misaki would pass them through unspoken.
LETTER_NAMES = dict(
    zip(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
        [
            "诶",
            "比",
            "西",
            "迪",
            "伊",
            "艾弗",
            "吉",
            "艾尺",
            "艾",
            "杰",
            "开",
            "艾勒",
            "艾姆",
            "恩",
            "欧",
            "披",
            "扣",
            "阿",
            "艾斯",
            "提",
            "优",
            "维",
            "达布留",
            "艾克斯",
            "歪",
            "贼",
        ],
        strict=True,
    )
)


class Word(NamedTuple):
    """A piece of misaki's phoneme string and the text it stands for.

    ``text`` is the word as written in the text given to the engine; empty for what lies
    between words (spaces, punctuation), which has phonemes (pauses) but is no word.
    """

    text: str
    phonemes: str


def words(text: str, spoken: str, overrides: Sequence[pinyin.Override] = ()) -> list[Word]:
    """``spoken`` (``text`` with any changes made for the G2P, e.g. letters spelled out in
    Chinese) as misaki's phonemes, cut at word boundaries; each word carries its span of ``text``.
    ``overrides``: readings the author gave for characters of ``text``, said exactly.

    >>> [w.text for w in words("今天开会，好。", "今天开会，好。") if w.text]
    ['今天', '开会', '好']
    """
    if not spoken.strip():
        return []
    prepared = prepare(spoken)
    origin = origins(text, prepared)
    found: list[Word] = []
    spans: list[tuple[int, int] | None] = []
    after_han = False
    for word in pinyin.read(prepared, moved(text, prepared, overrides)):
        if not word.pinyin:
            found.append(Word("", word.text.replace(_UNSPOKEN_MARK, "")))
            spans.append(None)
            after_han = False
            continue
        if after_han:  # misaki puts a space between the words of a run of Han characters
            found.append(Word("", " "))
            spans.append(None)
        end = word.start + len(word.text)
        found.append(Word("", "".join(_ipa(syllable) for syllable in word.pinyin)))
        spans.append((
            min(origin[i][0] for i in range(word.start, end)),
            max(origin[i][1] for i in range(word.start, end)),
        ))  # fmt: skip
        after_han = True
    return _merge(text, found, spans)


def readings(spoken: str, overrides: Sequence[pinyin.Override] = ()) -> list[pinyin.Word]:
    """What the engine says for ``spoken``: the text it reads (letters spelled, digits the
    spoken form left turned into Chinese) cut into words with their pinyin; ``overrides``:
    readings the author gave for characters of ``spoken``, said exactly.

    >>> [(w.text, w.pinyin) for w in readings("不对")]
    [('不', ('bu2',)), ('对', ('dui4',))]
    """
    prepared = prepare(spell_letters(spoken))
    with G2P_LOCK:  # the studio reads while it speaks drafts in other threads
        return pinyin.read(prepared, moved(spoken, prepared, overrides))


def prepare(spoken: str) -> str:
    """The text misaki's G2P reads: digits as Chinese (cn2an), punctuation as ``, . ! ?``."""
    import cn2an
    from misaki.zh import ZHG2P

    return str(ZHG2P.map_punctuation(cn2an.transform(spoken, "an2cn")))


def spell_letters(text: str) -> str:
    """Latin letters by the names a Mandarin reader says (misaki would leave them unspoken).

    >>> spell_letters("GDP")
    '吉迪披'
    """
    return re.sub(r"[A-Za-z]", lambda m: LETTER_NAMES[m.group().upper()], text)


@cache
def _ipa(syllable: str) -> str:
    """One syllable (``hao3``) in misaki's phonemes; nothing for what is not pinyin."""
    from misaki.zh import ZHG2P

    try:
        return str(ZHG2P.py2ipa(syllable)).replace(_UNSPOKEN_MARK, "")
    except (ValueError, KeyError, IndexError, AssertionError):
        return ""


def marks(
    words_tokens: Sequence[tuple[str, int]], durations: np.ndarray, offset: int = 0
) -> list[Mark]:
    """A mark for each word from the model's per-token durations (in frames).

    ``words_tokens`` holds, in order, each piece's text ("" for no word) and its number of
    tokens; ``durations`` has one value per input token, the pad token at each end included.
    Marks are in samples, ``offset`` added.
    """
    frames = np.concatenate([[0], np.cumsum(np.rint(durations).astype(np.int64))])
    found = []
    token = 1  # after the leading pad
    for text, count in words_tokens:
        if text and count:
            start = int(frames[token]) * SAMPLES_PER_FRAME + offset
            end = int(frames[token + count]) * SAMPLES_PER_FRAME + offset
            found.append(Mark(start, end, text))
        token += count
    return found


def _merge(text: str, found: list[Word], spans: list[tuple[int, int] | None]) -> list[Word]:
    """Give each word its text; words that came from one stretch of ``text`` (a number read out
    as several words, a spelled letter) become one."""
    merged: list[Word] = []
    merged_spans: list[tuple[int, int] | None] = []
    last_word: int | None = None  # index in ``merged`` of the last word
    for word, span in zip(found, spans, strict=True):
        if span is None:
            merged.append(word)
            merged_spans.append(None)
            continue
        if last_word is not None:
            previous = merged_spans[last_word]
            assert previous is not None
            if span[0] < previous[1] or span[0] == span[1]:
                # the same stretch of text: fold this word (and what lies between) into it
                between = "".join(w.phonemes for w in merged[last_word + 1 :])
                joined = merged[last_word].phonemes + between + word.phonemes
                del merged[last_word + 1 :], merged_spans[last_word + 1 :]
                merged[last_word] = Word("", joined)
                merged_spans[last_word] = (previous[0], max(previous[1], span[1]))
                continue
        merged.append(word)
        merged_spans.append(span)
        last_word = len(merged) - 1
    return [
        Word(_clean(text[span[0] : span[1]]) if span else "", word.phonemes)
        for word, span in zip(merged, merged_spans, strict=True)
    ]


def _clean(word: str) -> str:
    """The word without punctuation or spaces at its ends."""
    start, end = 0, len(word)
    while start < end and _is_gap(word[start]):
        start += 1
    while end > start and _is_gap(word[end - 1]):
        end -= 1
    return word[start:end]


def _is_gap(char: str) -> bool:
    return char not in "%‰" and unicodedata.category(char)[0] in "PZC"
