"""The JSON timeline: every sentence, cue and spoken word with its text and times, for tools
that place speech or captions themselves (video editors, players, QC)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from voicer.model import Cue, Placement
from voicer.subtitles.profiles import reading_speed


def seconds(sample: int, sample_rate: int) -> float:
    """A sample position in seconds, rounded to the microsecond.

    >>> seconds(36, 24000)
    0.0015
    """
    return round(sample / sample_rate, 6)


def timeline_json(
    sentences: Sequence[Placement],
    cues: Sequence[Cue],
    sample_rate: int,
    voice: str,
    engine: str,
    duration: float | None = None,
) -> str:
    """The timeline as JSON text (UTF-8 as written, indented).

    Each cue goes under the sentence whose segment index is ``cue.segment``; cue ``index`` is
    its 1-based number in the subtitle file. A cue that names no given sentence is a
    ``ValueError`` (it would be silently lost otherwise). Each sentence lists its ``words``
    as the engine spoke them (the spoken form's words, each from its first sample to its last).
    """
    by_sentence: dict[int, list[dict[str, Any]]] = {p.segment.index: [] for p in sentences}
    for number, cue in enumerate(cues, start=1):
        if cue.segment not in by_sentence:
            raise ValueError(f"cue {number} belongs to sentence {cue.segment}, not in the list")
        by_sentence[cue.segment].append(
            {
                "index": number,
                "text": cue.text,
                "lines": list(cue.lines),
                **_times(cue.start, cue.end, sample_rate),
                "reading_speed": round(reading_speed(cue, sample_rate), 1),
            }
        )
    document: dict[str, Any] = {"sample_rate": sample_rate, "engine": engine, "voice": voice}
    if duration is not None:
        document["duration"] = round(duration, 6)
    document["sentences"] = [
        {
            "index": p.segment.index,
            "line": p.segment.line,
            "column": p.segment.column,
            "paragraph": p.segment.paragraph,
            "text": p.segment.shown,
            "spoken": p.segment.spoken,
            "voice": p.segment.voice or voice,
            **_times(p.speech_start, p.speech_end, sample_rate),
            "cues": by_sentence[p.segment.index],
            "words": [
                {"text": mark.text, **_times(mark.start, mark.end, sample_rate)} for mark in p.marks
            ],
        }
        for p in sentences
    ]
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


def _times(start: int, end: int, sample_rate: int) -> dict[str, float | int]:
    return {
        "start": seconds(start, sample_rate),
        "end": seconds(end, sample_rate),
        "start_sample": start,
        "end_sample": end,
    }
