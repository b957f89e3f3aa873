"""Which sentences of a speech are headings: its title and the section heads (一、…, 第一部分,
Markdown ``#`` lines), found by how they are written, as a listener hears them.

A heading is a paragraph of one short sentence that does not end as a sentence does (。！？：
and their half-width forms, ；…). Markdown headings become such lines when read
(voicer.script.markdown), so the same rule finds them.
"""

from __future__ import annotations

from collections.abc import Sequence

from voicer.model import Segment

MAX_HEADING_CHARS = 40
_SENTENCE_ENDS = "。！？：；…!?:;.,，、"


def is_heading(segments: Sequence[Segment], index: int) -> bool:
    """Whether sentence ``index`` is a heading.

    >>> from voicer.model import Segment
    >>> def para(n, text):
    ...     return Segment(n, text, text, n, n + 1, 1, ends_paragraph=True)
    >>> speech = [para(0, "一、主要成绩"), para(1, "同志们："), para(2, "今年增长较快。")]
    >>> [is_heading(speech, i) for i in range(3)]
    [True, False, False]
    """
    segment = segments[index]
    starts_paragraph = index == 0 or segments[index - 1].paragraph != segment.paragraph
    text = segment.shown.strip()
    return (
        starts_paragraph
        and segment.ends_paragraph
        and 0 < len(text) <= MAX_HEADING_CHARS
        and text[-1] not in _SENTENCE_ENDS
    )


def headings(segments: Sequence[Segment]) -> list[int]:
    """The indexes of the sentences that are headings, in order."""
    return [index for index in range(len(segments)) if is_heading(segments, index)]
