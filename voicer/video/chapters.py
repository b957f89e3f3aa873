"""Chapters: the speech's headings, each starting where its sentence is heard, written as an
ffmpeg metadata file that the MP4 and Matroska muxers turn into chapter marks."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Chapter:
    """A chapter from ``start`` to ``end`` (milliseconds) named ``title``."""

    start: int
    end: int
    title: str


def chapters(starts: Sequence[tuple[int, str]], end: int) -> list[Chapter]:
    """Chapters from (start ms, title) pairs in order, each ending where the next starts; the
    first starts at 0, so that the whole programme is in a chapter.

    >>> chapters([(1200, "标题"), (5000, "一、成绩")], 9000)
    [Chapter(start=0, end=5000, title='标题'), Chapter(start=5000, end=9000, title='一、成绩')]
    """
    ends = [start for start, _ in starts[1:]] + [end]
    found = [Chapter(start, stop, title) for (start, title), stop in zip(starts, ends, strict=True)]
    if found:
        found[0] = Chapter(0, found[0].end, found[0].title)
    return [chapter for chapter in found if chapter.end > chapter.start]


def metadata_text(found: Sequence[Chapter]) -> str:
    r"""The chapters as an ffmpeg metadata file (``-f ffmetadata``).

    >>> print(metadata_text([Chapter(0, 1500, "a=b")]), end="")
    ;FFMETADATA1
    [CHAPTER]
    TIMEBASE=1/1000
    START=0
    END=1500
    title=a\=b
    """
    lines = [";FFMETADATA1"]
    for chapter in found:
        lines += ["[CHAPTER]", "TIMEBASE=1/1000", f"START={chapter.start}", f"END={chapter.end}"]
        lines.append(f"title={_escaped(chapter.title)}")
    return "\n".join(lines) + "\n"


def _escaped(text: str) -> str:
    return re.sub(r"([=;#\\\n])", r"\\\1", text)
