"""Readings given by the author: pinyin for the words no rule gets right (行长 said hang2 zhang3).

A reading comes from a lexicon entry (``行长<TAB>hang2 zhang3``) or from the script's markup
(``银行行长[hang2 zhang3]``). :func:`parse_pinyin` reads what the author wrote, with tone
numbers or tone marks, into the form :mod:`voicer.script.pinyin` uses: one syllable per Han
character, tone numbers 1 to 4 and 5 for the neutral tone, ü written ``v`` (``lv4``, but
``ju4`` after j, q, x and y, as pypinyin writes it).

The readings reach the offline engine inside the text it is given (:func:`annotate`), marked
with control characters no script can hold (the reader leaves them out and the studio refuses
them), so the engine's interface, its worker processes and the clip cache key are what they
were: a different reading is a different text.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from functools import cache

from voicer.script.pinyin import Override

__all__ = [
    "annotate",
    "is_han",
    "looks_like_pinyin",
    "moved",
    "parse_pinyin",
    "split_annotated",
    "within",
]

# Around an annotated stretch, between it and its reading, after the reading. None of them is
# whitespace to Python (U+001C to U+001F are), so no strip() or split() takes them away.
OPEN, BETWEEN, CLOSE = "\x01", "\x02", "\x03"
_ANNOTATION = re.compile(f"{OPEN}([^{OPEN}{BETWEEN}{CLOSE}]*){BETWEEN}([^{OPEN}{CLOSE}]*){CLOSE}")
_MARKERS = re.compile(f"[{OPEN}{BETWEEN}{CLOSE}]")

_MARKED = {
    **{c: ("a", n) for n, c in enumerate("āáǎà", 1)},
    **{c: ("e", n) for n, c in enumerate("ēéěè", 1)},
    **{c: ("i", n) for n, c in enumerate("īíǐì", 1)},
    **{c: ("o", n) for n, c in enumerate("ōóǒò", 1)},
    **{c: ("u", n) for n, c in enumerate("ūúǔù", 1)},
    **{c: ("v", n) for n, c in enumerate("ǖǘǚǜ", 1)},
    **{c: ("n", n) for n, c in zip((2, 3, 4), "ńňǹ", strict=True)},
    "ḿ": ("m", 2),
}
_SEPARATORS = re.compile(r"[\s'’-]+")
_WRITTEN = re.compile(r"(?P<letters>[^\d]+)(?P<tone>\d*)")
_PINYIN_LIKE = re.compile(rf"[a-zA-Zü:ÜêÊ\d\s'’{''.join(_MARKED)}-]+")
_TONED = re.compile(rf"[a-zA-Zü]\d|[{''.join(_MARKED)}]")


def parse_pinyin(text: str) -> tuple[str, ...]:
    """The syllables of ``text``, written with tone numbers or tone marks (a syllable with
    neither is neutral); syllables are apart (spaces, apostrophes or hyphens), except that a
    tone number also ends one. ValueError with a short reason for anything else.

    >>> parse_pinyin("hang2 zhang3"), parse_pinyin("háng zhǎng"), parse_pinyin("hang2zhang3")
    (('hang2', 'zhang3'), ('hang2', 'zhang3'), ('hang2', 'zhang3'))
    >>> parse_pinyin("Lǜ nü3 ju4 lu:e4 men")
    ('lv4', 'nv3', 'ju4', 'lve4', 'men5')
    >>> parse_pinyin("hang6")
    Traceback (most recent call last):
    ValueError: 'hang6': tones are 1 to 5 (5: neutral)
    >>> parse_pinyin("hangg2")
    Traceback (most recent call last):
    ValueError: 'hangg2' is not a pinyin syllable
    """
    written = unicodedata.normalize("NFC", text).strip()
    if not written:
        raise ValueError("no syllables")
    found = []
    for token in _SEPARATORS.split(written):
        for match in _WRITTEN.finditer(token):
            found.append(_syllable(match.group(), match["letters"], match["tone"]))
        if token[:1].isdigit():
            raise ValueError(f"{token!r}: a tone number follows its syllable")
    return tuple(found)


def _syllable(written: str, letters: str, number: str) -> str:
    """One syllable in the TONE3 form, from its letters (maybe a tone mark) and tone number."""
    letters = letters.lower().replace("u:", "v").replace("ü", "v")
    marks = [_MARKED[c] for c in letters if c in _MARKED]
    if len(marks) > 1:
        raise ValueError(f"{written!r} has more than one tone mark")
    if marks and number:
        raise ValueError(f"{written!r} has a tone mark and a tone number")
    if number and (len(number) > 1 or not "1" <= number <= "5"):
        raise ValueError(f"{written!r}: tones are 1 to 5 (5: neutral)")
    plain = "".join(_MARKED[c][0] if c in _MARKED else c for c in letters)
    if plain[:1] in ("j", "q", "x", "y"):
        plain = plain.replace("v", "u")  # ju, as pypinyin writes 句
    if plain not in _known():
        raise ValueError(f"{written!r} is not a pinyin syllable")
    tone = number or (str(marks[0][1]) if marks else "5")
    return plain + tone


@cache
def _known() -> frozenset[str]:
    """Every syllable pypinyin gives some character, without its tone (lv, ju, er, ...)."""
    from pypinyin.contrib.tone_convert import to_normal
    from pypinyin.pinyin_dict import pinyin_dict

    return frozenset(
        to_normal(reading) for readings in pinyin_dict.values() for reading in readings.split(",")
    )


def looks_like_pinyin(text: str) -> bool:
    """Whether ``text`` is written as pinyin with tones (letters, tone numbers or marks), so
    that a mistake in it is worth an error rather than being taken for words to say.

    >>> looks_like_pinyin("hangg2 zhang3"), looks_like_pinyin("háng"), looks_like_pinyin("G D P")
    (True, True, False)
    """
    return bool(_PINYIN_LIKE.fullmatch(text.strip()) and _TONED.search(text))


def is_han(text: str) -> bool:
    """Whether ``text`` is one or more Han characters (those a reading is counted by).

    >>> is_han("行长"), is_han("5G"), is_han("")
    (True, False, False)
    """
    return bool(text) and all("\u4e00" <= c <= "\u9fff" for c in text)


def annotate(spoken: str, overrides: Sequence[Override]) -> str:
    """``spoken`` with each override's reading written in, for the offline engine.

    >>> annotate("银行行长说", [Override(2, 4, ("hang2", "zhang3"))])
    '银行\\x01行长\\x02hang2 zhang3\\x03说'
    """
    pieces = []
    at = 0
    for override in sorted(overrides, key=lambda o: o.start):
        if not at <= override.start < override.end <= len(spoken):
            raise ValueError(f"overlapping or outside the text: {override}")
        if len(override.pinyin) != override.end - override.start:
            raise ValueError(f"not one syllable per character: {override}")
        stretch = spoken[override.start : override.end]
        pieces += [spoken[at : override.start], OPEN, stretch, BETWEEN]
        pieces += [" ".join(override.pinyin), CLOSE]
        at = override.end
    return "".join(pieces) + spoken[at:]


def split_annotated(text: str) -> tuple[str, tuple[Override, ...]]:
    """The text :func:`annotate` was given, and the overrides: its inverse.

    >>> split_annotated("银行\\x01行长\\x02hang2 zhang3\\x03说")
    ('银行行长说', (Override(start=2, end=4, pinyin=('hang2', 'zhang3')),))
    >>> split_annotated("没有读音")
    ('没有读音', ())
    """
    if not _MARKERS.search(text):
        return text, ()
    pieces = []
    found = []
    at = size = 0
    for match in _ANNOTATION.finditer(text):
        before = text[at : match.start()]
        pieces.append(before)
        size += len(before)
        stretch, reading = match.groups()
        pieces.append(stretch)
        found.append(Override(size, size + len(stretch), tuple(reading.split(" "))))
        size += len(stretch)
        at = match.end()
    plain = "".join(pieces) + text[at:]
    if _MARKERS.search(plain):
        raise ValueError("a malformed reading annotation")
    return plain, tuple(found)


def within(overrides: Sequence[Override], start: int, end: int) -> tuple[Override, ...]:
    """The overrides of ``text[start:end]``, counted from ``start``; one that only partly lies
    there keeps the syllables of its characters there.

    >>> within([Override(2, 4, ("hang2", "zhang3"))], 3, 9)
    (Override(start=0, end=1, pinyin=('zhang3',)),)
    """
    kept = []
    for override in overrides:
        first, last = max(override.start, start), min(override.end, end)
        if first < last:
            syllables = override.pinyin[first - override.start : last - override.start]
            kept.append(Override(first - start, last - start, syllables))
    return tuple(kept)


def moved(written: str, said: str, overrides: Sequence[Override]) -> tuple[Override, ...]:
    """The ``overrides`` of ``written``, moved to where ``said`` (a rewriting of it: its
    spoken form, say) has the same characters; one whose characters were rewritten is
    dropped.

    >>> moved("增长5%，行长说", "增长百分之五，行长说", [Override(5, 7, ("hang2", "zhang3"))])
    (Override(start=7, end=9, pinyin=('hang2', 'zhang3')),)
    """
    from voicer.script.spoken_form import origins

    if not overrides:
        return ()
    where: dict[int, int] = {}
    for at, (start, end) in enumerate(origins(written, said)):
        if end == start + 1 and written[start] == said[at]:
            where[start] = at
    found = []
    for override in overrides:
        places = [where.get(i) for i in range(override.start, override.end)]
        first = places[0]
        if first is not None and places == list(range(first, first + len(places))):
            found.append(Override(first, first + len(places), override.pinyin))
    return tuple(found)
