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
import unicodedata
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from voicer.model import Mark
from voicer.script import pinyin
from voicer.script.spoken_form import origins

SAMPLES_PER_FRAME = 600  # one duration frame of Kokoro v1.0 at 24 kHz (25 ms)
_HAN_RUNS = re.compile("[\u4e00-\u9fff]+|[^\u4e00-\u9fff]+")
_UNSPOKEN_MARK = chr(815)  # misaki removes it from its output


class Word(NamedTuple):
    """A piece of misaki's phoneme string and the text it stands for.

    ``text`` is the word as written in the text given to the engine; empty for what lies
    between words (spaces, punctuation), which has phonemes (pauses) but is no word.
    """

    text: str
    phonemes: str


def words(text: str, spoken: str) -> list[Word]:
    """``spoken`` (``text`` with any changes made for the G2P, e.g. letters spelled out in
    Chinese) as misaki's phonemes, cut at word boundaries; each word carries its span of ``text``.

    >>> [w.text for w in words("今天开会，好。", "今天开会，好。") if w.text]
    ['今天', '开会', '好']
    """
    import cn2an
    import jieba
    from misaki.zh import ZHG2P

    if not spoken.strip():
        return []
    prepared = ZHG2P.map_punctuation(cn2an.transform(spoken, "an2cn"))
    pieces: list[tuple[int, int, str | None]] = []  # span in ``prepared``, phonemes (None: word)
    for run in _HAN_RUNS.finditer(prepared):
        if _is_han(run.group()[0]):
            at = run.start()
            for index, word in enumerate(jieba.lcut(run.group(), cut_all=False)):
                if index:
                    pieces.append((at, at, " "))
                pieces.append((at, at + len(word), None))
                at += len(word)
        else:
            pieces.append((run.start(), run.end(), run.group()))
    origin = origins(text, prepared)
    found: list[Word] = []
    spans: list[tuple[int, int] | None] = []
    for start, end, literal in pieces:
        if literal is not None:
            found.append(Word("", literal.replace(_UNSPOKEN_MARK, "")))
            spans.append(None)
            continue
        phonemes = ZHG2P.word2ipa(prepared[start:end]).replace(_UNSPOKEN_MARK, "")
        span = (
            min(origin[i][0] for i in range(start, end)),
            max(origin[i][1] for i in range(start, end)),
        )
        found.append(Word("", phonemes))
        spans.append(span)
    return _merge(text, found, spans)


def readings(spoken: str) -> list[pinyin.Word]:
    """``spoken`` as the engine reads it (letters spelled, digits through cn2an, punctuation
    mapped), cut into words with their pinyin. The model is not loaded.

    >>> " ".join(s for w in readings("GDP增长5%") for s in w.pinyin)
    'ji2 di2 pi1 zeng1 zhang3 bai3 fen1 zhi1 wu3'
    """
    import cn2an
    from misaki.zh import ZHG2P

    from voicer.synthesis.engines.kokoro import _G2P_LOCK, _spell_letters  # it imports this

    prepared = ZHG2P.map_punctuation(cn2an.transform(_spell_letters(spoken), "an2cn"))
    with _G2P_LOCK:  # jieba, as the engine uses it
        return pinyin.read(prepared)


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


def _is_han(char: str) -> bool:
    return "\u4e00" <= char <= "\u9fff"


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
