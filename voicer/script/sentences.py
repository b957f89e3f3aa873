"""Splitting a speech into paragraphs and sentences, and long sentences into pieces that fit.

Everything here is pure: str in, plain data out.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterator

from voicer.model import Script, Segment

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
    j = i
    while j < len(text) and (text[j] in _FULL_ENDS or text[j] in _HALF_ENDS or text[j] == "."):
        j += 1
    run = text[i:j]
    while j < len(text) and text[j] in _CLOSERS:
        j += 1
    if any(ch in _FULL_ENDS for ch in run):
        return j
    if j < len(text) and not (text[j].isspace() or _is_cjk(text[j])):
        return None  # 5.2%, a.m., file.txt, "?!" inside a token
    if run == "." and not _period_ends_sentence(text, i, j):
        return None
    return j


def _period_ends_sentence(text: str, dot: int, after: int) -> bool:
    word_start = dot
    while word_start > 0 and (text[word_start - 1].isalnum() or text[word_start - 1] == "."):
        word_start -= 1
    word = text[word_start:dot]
    if not word:
        return True
    if word.isdigit() and not text[:word_start].strip():
        return False  # an enumeration such as "1. "
    lower = word.lower()
    if lower in _TITLES or (len(word) == 1 and word.isalpha()) or "." in word:
        return False  # Mr. / J. Smith / U.S. / e.g.
    if lower in _ENDABLE_ABBREVIATIONS:
        following = text[after:].lstrip()
        return bool(following) and following[0].isupper()
    return True


def _is_cjk(c: str) -> bool:
    return "\u2e80" <= c <= "\u9fff" or "\uff00" <= c <= "\uffef" or "\u3000" <= c <= "\u303f"


def split_to_fit(text: str, fits: Callable[[str], bool]) -> list[str]:
    """Split ``text`` into pieces that each satisfy ``fits``, joining back to ``text``.

    Breaks go after clause punctuation first, then at spaces, then anywhere.

    >>> split_to_fit("一二三，四五六，七八九。", lambda s: len(s) <= 8)
    ['一二三，四五六，', '七八九。']
    """
    if fits(text) or len(text) <= 1:
        return [text]
    for pieces in (_split_after(text, _CLAUSE_MARKS), _split_at_spaces(text)):
        if len(pieces) > 1:
            return [part for piece in _pack(pieces, fits) for part in split_to_fit(piece, fits)]
    middle = len(text) // 2
    return split_to_fit(text[:middle], fits) + split_to_fit(text[middle:], fits)


def _split_after(text: str, marks: str) -> list[str]:
    pieces = re.split(f"(?<=[{re.escape(marks)}])(?=[^{re.escape(marks)}])", text)
    return [p for p in pieces if p]


def _split_at_spaces(text: str) -> list[str]:
    return [p for p in re.split(r"(?<=\s)(?=\S)", text) if p]


def _pack(pieces: list[str], fits: Callable[[str], bool]) -> list[str]:
    """Greedily join neighbouring pieces while the result still fits."""
    packed: list[str] = []
    for piece in pieces:
        if packed and fits(packed[-1] + piece):
            packed[-1] += piece
        else:
            packed.append(piece)
    return packed
