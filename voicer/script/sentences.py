"""Splitting a speech into paragraphs and sentences, and long sentences into pieces that fit.

Everything here is pure: str in, plain data out.
"""

from __future__ import annotations

import contextlib
import logging
import re
import sys
from collections.abc import Callable, Collection, Iterator
from dataclasses import replace
from functools import cache
from typing import Any

from voicer.files import cache_folder
from voicer.model import Script, Segment
from voicer.script import dictionary
from voicer.script.overrides import within

# A sentence is synthesised, kept and joined as one clip, and its cues are cut over all of it,
# so a sentence takes memory in proportion to its length: one line of 10,000 characters with
# no punctuation (26 minutes of speech) took 2.5 GB, and 50,000 took 12 GB. A longer sentence
# is spoken in pieces of at most this many characters, each a segment of its own. 200
# characters is about 30 s of Mandarin (kokoro), more than any sentence a speech is written in
# (those of more than about 100 already draw `voicer check`'s long-sentence warning), so
# written sentences are spoken whole and only runaway lines are cut; edge speaks a piece in
# one request (MAX_REQUEST_BYTES).
MAX_SENTENCE_CHARS = 200
# Silence between the pieces of one sentence: a breath, not a sentence's pause; as long as
# kokoro leaves between the parts of a sentence it speaks in several calls (CLAUSE_GAP and the
# margins kept around the speech of each part).
PIECE_PAUSE_MS = 180

# Full-width terminators always end a sentence; half-width ones only before a space, CJK or the end.
_FULL_ENDS = "。！？；…︒"
_HALF_ENDS = "!?;"
_CLOSERS = "”’」』）)]】〕〉》\"'"
_CLAUSE_MARKS = "，,、：:；;"
_TITLES = {
    "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "rev", "gen", "sen", "rep", "gov",
    "no", "vs", "cf", "fig", "approx", "dept", "vol", "p", "pp", "ca", "mt", "lt", "col", "capt",
}  # fmt: skip
_ENDABLE_ABBREVIATIONS = {"etc", "inc", "ltd", "co", "corp"}


def is_speakable(text: str) -> bool:
    """True when the text holds at least one letter or digit.

    >>> is_speakable("——……"), is_speakable("一、")
    (False, True)
    """
    return any(c.isalnum() for c in text)


def segments(script: Script, breaks: Collection[int] = ()) -> list[Segment]:
    """Split a script into sentences: one paragraph per non-empty line.

    Sentences without a letter or digit (decorations such as ``***``) are not spoken. A
    sentence also ends at every offset in ``breaks`` (where markup asks for a pause).
    """
    found: list[Segment] = []
    paragraph = 0
    line_start = 0
    for line_number, line in enumerate(script.text.split("\n"), start=1):
        cuts = sorted(b - line_start for b in breaks if line_start < b < line_start + len(line))
        spans = [
            span
            for span in _cut(line, sentence_spans(line), cuts)
            if is_speakable(line[span[0] : span[1]])
        ]
        for n, (start, end) in enumerate(spans):
            sentence = line[start:end]
            found.append(
                Segment(
                    index=len(found),
                    shown=sentence,
                    spoken=sentence,
                    paragraph=paragraph,
                    line=line_number,
                    column=start + 1,
                    ends_paragraph=n == len(spans) - 1,
                )
            )
        paragraph += bool(spans)
        line_start += len(line) + 1
    return found


def _cut(text: str, spans: list[tuple[int, int]], cuts: list[int]) -> list[tuple[int, int]]:
    """``spans`` split at every offset in ``cuts`` that falls inside one (spaces trimmed).

    >>> _cut("我们要继续努力。", [(0, 8)], [3])
    [(0, 3), (3, 8)]
    """
    pieces = []
    for start, end in spans:
        edges = [start, *(c for c in cuts if start < c < end), end]
        for left, right in zip(edges, edges[1:], strict=False):
            piece = text[left:right]
            inner_left = left + len(piece) - len(piece.lstrip())
            inner_right = left + len(piece.rstrip())
            if inner_right > inner_left:
                pieces.append((inner_left, inner_right))
    return pieces


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence in ``text``, without surrounding spaces.

    The text between consecutive spans is only whitespace, so nothing is lost.

    >>> def sentences(text): return [text[start:end] for start, end in sentence_spans(text)]
    >>> sentences("增长5.2%。会议9:30开始！“好吗？！”他问。")
    ['增长5.2%。', '会议9:30开始！', '“好吗？！”', '他问。']
    >>> sentences("Mr. Smith went to the U.S. on Monday. He stayed.")
    ['Mr. Smith went to the U.S. on Monday.', 'He stayed.']
    """
    spans = []
    for start, end in _raw_sentence_spans(text):
        stripped = text[start:end]
        left = len(stripped) - len(stripped.lstrip())
        right = len(stripped.rstrip())
        if right > left:
            spans.append((start + left, start + right))
    return spans


def _raw_sentence_spans(text: str) -> Iterator[tuple[int, int]]:
    start = i = 0
    n = len(text)
    while i < n:
        end = _sentence_end_at(text, i)
        if end is None:
            i += 1
            continue
        yield start, end
        start = i = end
    if start < n:
        yield start, n


def _sentence_end_at(text: str, i: int) -> int | None:
    """If a sentence ends at the punctuation at ``i``: the index past it and its closers."""
    c = text[i]
    if c not in _FULL_ENDS and c not in _HALF_ENDS and c != ".":
        return None
    j = _past_end_marks(text, i)
    run = text[i:j]
    while j < len(text) and text[j] in _CLOSERS:
        j += 1
    if any(ch in _FULL_ENDS for ch in run) or _half_width_ends(text, run, i, j):
        return j
    return None


def _past_end_marks(text: str, i: int) -> int:
    """The index past the run of sentence-ending marks that starts at ``i`` (？！, ...)."""
    j = i
    while j < len(text) and (text[j] in _FULL_ENDS or text[j] in _HALF_ENDS or text[j] == "."):
        j += 1
    return j


def _half_width_ends(text: str, run: str, i: int, j: int) -> bool:
    """Whether a ``run`` of half-width marks at ``i`` ends a sentence, ``j`` past it and its
    closers: not inside a token, nor at a period that closes an abbreviation."""
    if j < len(text) and not (text[j].isspace() or _is_cjk(text[j])):
        return False  # 5.2%, a.m., file.txt, "?!" inside a token
    return run != "." or _period_ends_sentence(text, i, j)


def _period_ends_sentence(text: str, dot: int, after: int) -> bool:
    """Whether the half-width period at ``dot`` ends a sentence, judged by the Latin word it
    closes: a title (Dr.), an initial or a dotted abbreviation (e.g.) never does, and an
    abbreviation in _ENDABLE_ABBREVIATIONS only before a capital.

    >>> text = "今天邀请到Dr. Smith来做报告。"
    >>> _period_ends_sentence(text, 7, 8)
    False
    """
    word_start = dot
    while word_start > 0 and _is_word_char(text[word_start - 1]):
        word_start -= 1
    word = text[word_start:dot]
    if not word:
        return True
    # Glued to Chinese (维生素C.), one letter is no initial; the Chinese was never the word.
    glued = word_start > 0 and text[word_start - 1].isalnum()
    if word.isdigit() and not text[:word_start].strip():
        return False  # an enumeration such as "1. "
    lower = word.lower()
    if lower in _TITLES or (len(word) == 1 and word.isalpha() and not glued) or "." in word:
        return False  # Mr. / J. Smith / U.S. / e.g.
    if lower in _ENDABLE_ABBREVIATIONS:
        following = text[after:].lstrip()
        return bool(following) and following[0].isupper()
    return True


def _is_word_char(c: str) -> bool:
    """A character of the Latin word (or number) a period may close: ASCII letters, digits, dots."""
    return c.isascii() and (c.isalnum() or c == ".")


def _is_cjk(c: str) -> bool:
    return "\u2e80" <= c <= "\u9fff" or "\uff00" <= c <= "\uffef" or "\u3000" <= c <= "\u303f"


def pieces(segment: Segment, keep_together: tuple[str, ...] = ()) -> list[Segment]:
    """``segment`` alone when it has at most MAX_SENTENCE_CHARS characters, else its pieces
    (cut where :func:`split_to_fit` cuts, never inside a ``keep_together`` string), each a
    segment at its own column, PIECE_PAUSE_MS apart; the last keeps the sentence's pause.

    For a segment not yet given its spoken form: each piece says what it shows, with the
    readings of its characters.
    """
    if len(segment.shown) <= MAX_SENTENCE_CHARS:
        return [segment]
    found = []
    offset = 0
    cut = split_to_fit(segment.shown, lambda piece: len(piece) <= MAX_SENTENCE_CHARS, keep_together)
    for number, piece in enumerate(cut):
        start = offset + len(piece) - len(piece.lstrip())
        offset += len(piece)
        if not piece.strip():
            continue
        last = number == len(cut) - 1
        found.append(
            replace(
                segment,
                shown=piece.strip(),
                spoken=piece.strip(),
                column=segment.column + start,
                ends_paragraph=segment.ends_paragraph and last,
                pause_after_ms=segment.pause_after_ms if last else PIECE_PAUSE_MS,
                pinyin=within(segment.pinyin, start, start + len(piece.strip())),
            )
        )
    return found


def split_to_fit(
    text: str, fits: Callable[[str], bool], keep_together: tuple[str, ...] = ()
) -> list[str]:
    """Split ``text`` into pieces that each satisfy ``fits``, joining back to ``text``.

    Breaks go after clause punctuation first, then at spaces, then between words (for text
    with neither, unpunctuated Chinese): between two words of two Han characters or more,
    then between any two Han words, never inside a ``keep_together`` string; then anywhere.

    >>> split_to_fit("一二三，四五六，七八九。", lambda s: len(s) <= 8)
    ['一二三，四五六，', '七八九。']
    >>> split_to_fit("我们要继续推动科技创新加快建设", lambda s: len(s) <= 8)
    ['我们要继续推动', '科技创新加快建设']
    """
    if fits(text) or len(text) <= 1:
        return [text]
    for split in (
        lambda: _split_after(text, _CLAUSE_MARKS),
        lambda: _split_at_spaces(text),
        lambda: _split_between_words(text, keep_together, shortest=2),
        lambda: _split_between_words(text, keep_together, shortest=1),
    ):
        found = split()
        if len(found) > 1:
            packed = _pack(found, fits)
            return [part for piece in packed for part in split_to_fit(piece, fits, keep_together)]
    middle = len(text) // 2
    halves = (text[:middle], text[middle:])
    return [part for half in halves for part in split_to_fit(half, fits, keep_together)]


def _split_after(text: str, marks: str) -> list[str]:
    pieces = re.split(f"(?<=[{re.escape(marks)}])(?=[^{re.escape(marks)}])", text)
    return [p for p in pieces if p]


def _split_at_spaces(text: str) -> list[str]:
    return [p for p in re.split(r"(?<=\s)(?=\S)", text) if p]


def _split_between_words(text: str, keep_together: tuple[str, ...], shortest: int) -> list[str]:
    """``text`` cut between words of at least ``shortest`` characters where both are Han, so
    never inside a number or a Latin word; with 2, a phrase keeps its one-character words
    (在, 的, 了, 个 ...) with its others."""
    words = segmenter().lcut(text)
    kept = [
        (m.start(), m.end()) for word in keep_together for m in re.finditer(re.escape(word), text)
    ]
    cuts = [0]
    at = 0
    for before, after in zip(words, words[1:], strict=False):
        at += len(before)
        if (
            _is_han(before[-1])
            and _is_han(after[0])
            and min(len(before), len(after)) >= shortest
            and not any(start < at < end for start, end in kept)
        ):
            cuts.append(at)
    return [text[left:right] for left, right in zip(cuts, [*cuts[1:], len(text)], strict=True)]


def _is_han(c: str) -> bool:
    return "\u4e00" <= c <= "\u9fff" or "\u3400" <= c <= "\u4dbf"


@cache
def segmenter() -> Any:
    """jieba's default tokenizer (whose dictionary misaki's G2P uses too), set up once: it
    reads its dictionary a word at a time from a store in voicer's cache folder
    (:mod:`voicer.script.dictionary`), and keeps its own cache of the dictionary there, not
    in the temporary folder, which may be small and holds scratch only; it logs nothing below
    CRITICAL, as a cache it could not write is only built again (it would print a
    traceback)."""
    jieba = _import_jieba()
    jieba.setLogLevel(logging.CRITICAL)
    folder = cache_folder()
    with contextlib.suppress(OSError):
        folder.mkdir(parents=True, exist_ok=True)
        jieba.dt.tmp_dir = str(folder)
    dictionary.use_store(jieba.dt, folder / f"jieba-{jieba.__version__}.sqlite")
    return jieba.dt


def _import_jieba() -> Any:
    """jieba, imported without pkg_resources (0.1-0.2 s), which it uses only to open the
    files of its own package: without it, it opens them by their paths."""
    if "jieba" in sys.modules or "pkg_resources" in sys.modules:
        import jieba

        return jieba
    sys.modules["pkg_resources"] = None  # type: ignore[assignment]  # import fails at once
    try:
        import jieba
    finally:
        del sys.modules["pkg_resources"]
    return jieba


def _pack(pieces: list[str], fits: Callable[[str], bool]) -> list[str]:
    """Greedily join neighbouring pieces while the result still fits."""
    packed: list[str] = []
    for piece in pieces:
        if packed and fits(packed[-1] + piece):
            packed[-1] += piece
        else:
            packed.append(piece)
    return packed
