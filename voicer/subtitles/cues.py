"""Subtitle cues from the programme's sample positions.

A cue starts on the first sample of its speech. Inside a sentence, cue boundaries come from the
engine's timing marks (edge: words; kokoro: the phrases it spoke one by one). Cue ends then
follow the profile: long enough to read, never into the next cue's minimum gap, short gaps
closed, and no longer than the allowed linger after speech.
"""

from __future__ import annotations

from collections.abc import Sequence

from voicer.model import Cue, Mark, Placement, Programme
from voicer.subtitles.captions import Caption
from voicer.subtitles.profiles import Profile


def caption_cues(
    programme: Programme, captions: Sequence[Sequence[Caption]], profile: Profile
) -> list[Cue]:
    """Cues for every caption of every sentence, timed on the speech, ends set by the profile."""
    speech = [
        cue
        for placement, pieces in zip(programme.placements, captions, strict=True)
        for cue in _speech_spans(placement, pieces)
    ]
    return fit_to_profile(speech, programme.sample_rate, profile)


def _speech_spans(placement: Placement, captions: Sequence[Caption]) -> list[Cue]:
    """Cues spanning exactly the speech of each caption."""
    bounds = _caption_bounds(placement, captions)
    return [
        Cue(start, end, caption.lines, caption.text, placement.segment.index)
        for caption, (start, end) in zip(captions, bounds, strict=True)
    ]


def _caption_bounds(placement: Placement, captions: Sequence[Caption]) -> list[tuple[int, int]]:
    first, last = placement.speech_start, placement.speech_end
    if len(captions) == 1:
        return [(first, last)]
    located = align_marks(placement.segment.spoken, placement.marks)
    starts: list[int | None] = []
    ends: list[int | None] = []
    for caption in captions:
        inside = [
            mark
            for begin, mark in located
            if caption.spoken_start <= begin < caption.spoken_start + len(caption.spoken)
        ]
        starts.append(min((m.start for m in inside), default=None))
        ends.append(max((m.end for m in inside), default=None))
    starts[0], ends[-1] = first, last
    return _fill_gaps(starts, ends, captions, first, last)


def _fill_gaps(
    starts: list[int | None],
    ends: list[int | None],
    captions: Sequence[Caption],
    first: int,
    last: int,
) -> list[tuple[int, int]]:
    """Captions the marks did not reach get times by their share of the characters."""
    total = sum(len(c.text) for c in captions)
    bounds = []
    for i, caption in enumerate(captions):
        share_start = first + (last - first) * caption.start // max(total, 1)
        share_end = first + (last - first) * (caption.start + len(caption.text)) // max(total, 1)
        known_start, known_end = starts[i], ends[i]
        start = known_start if known_start is not None else share_start
        end = known_end if known_end is not None else share_end
        following = starts[i + 1] if i + 1 < len(captions) else None
        if known_end is None and following is not None:
            end = following
        bounds.append((start, max(start + 1, end)))
    return bounds


def align_marks(text: str, marks: Sequence[Mark]) -> list[tuple[int, Mark]]:
    """Where each mark's text begins in ``text``, searching forward; marks not found are left out.

    >>> align_marks("今天开会。明天", [Mark(0, 1, "今天"), Mark(1, 2, "开会"), Mark(2, 3, "明天")])
    [(0, Mark(start=0, end=1, text='今天')), (2, Mark(start=1, end=2, text='开会')), \
(5, Mark(start=2, end=3, text='明天'))]
    """
    located = []
    position = 0
    for mark in marks:
        found = text.find(mark.text.strip(), position) if mark.text.strip() else -1
        if found >= 0:
            located.append((found, mark))
            position = found + len(mark.text.strip())
    return located


def fit_to_profile(cues: Sequence[Cue], sample_rate: int, profile: Profile) -> list[Cue]:
    """Set cue ends: at least the minimum duration where the next cue and the linger limit
    allow, gaps of up to ``close_gap_frames`` closed down to the minimum gap, never closer to
    the next cue than the minimum gap. Starts never move: they are on the speech."""
    ordered = sorted(cues, key=lambda cue: cue.start)
    min_gap = round(profile.min_gap_ms * sample_rate / 1000)
    close_gap = round(profile.close_gap_ms * sample_rate / 1000)
    min_duration = round(profile.min_duration_ms * sample_rate / 1000)
    linger = round(profile.max_linger_ms * sample_rate / 1000)
    fitted = []
    for i, cue in enumerate(ordered):
        following = ordered[i + 1].start if i + 1 < len(ordered) else None
        end = max(cue.end, min(cue.start + min_duration, cue.end + linger))
        if following is not None:
            if following - end <= close_gap:
                end = max(end, min(following - min_gap, cue.end + linger))
            end = min(end, following - min_gap)
        fitted.append(Cue(cue.start, max(end, cue.start + 1), cue.lines, cue.text, cue.segment))
    return fitted
