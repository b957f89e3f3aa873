"""Subtitle cues from the programme's sample positions.

Cues are cut once the audio exists: the engine's word marks say when each word of a sentence
is spoken, so every possible break has a measured time, and :mod:`voicer.subtitles.captions`
chooses breaks that keep every cue within the profile. A cue starts on the first sample of its
speech; its end then follows the profile: long enough to read, never into the next cue's
minimum gap, short gaps closed, and no longer than the allowed linger after speech.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import replace
from functools import lru_cache
from itertools import accumulate

from voicer.model import Cue, Mark, Placement, Programme
from voicer.script.spoken_form import origins
from voicer.subtitles.captions import Caption, Timing, timed_captions, tokenise
from voicer.subtitles.profiles import Limits, Profile


def programme_cues(
    programme: Programme, profile: Profile, keep_together: tuple[str, ...] = ()
) -> list[Cue]:
    """The cues of every sentence, cut and timed on its speech, ends set by the profile.

    ``keep_together``: strings never broken across cues (lexicon entries, say).
    """
    placements = programme.placements
    speech = []
    for number, placement in enumerate(placements):
        following = placements[number + 1].speech_start if number + 1 < len(placements) else None
        speech += sentence_cues(placement, profile, programme.sample_rate, following, keep_together)
    return fit_to_profile(speech, programme.sample_rate, profile)


def sentence_cues(
    placement: Placement,
    profile: Profile,
    sample_rate: int,
    following: int | None = None,
    keep_together: tuple[str, ...] = (),
) -> list[Cue]:
    """Cues spanning exactly the speech of each caption of one sentence; ``following`` is
    where the next sentence's speech starts."""
    shown = placement.segment.shown
    tokens = tokenise(shown, tuple(word for word in keep_together if word in shown))
    timing = sentence_timing(placement, tokens, sample_rate, following)
    return [
        Cue(caption.begin, caption.speech_end, caption.lines, caption.text, placement.segment.index)
        for caption in _captions(tuple(tokens), profile, timing)
    ]


def _captions(tokens: tuple[str, ...], profile: Profile, timing: Timing) -> list[Caption]:
    """:func:`timed_captions`, cut once for a sentence and its speech wherever they lie in the
    programme. The studio joins the whole programme again after each re-take, where only the
    re-taken sentence's captions change: cutting them all again was most of a re-take's own
    work (README: Measured choices)."""
    origin = timing.begins[0]
    relative = replace(
        timing,
        begins=tuple(at - origin for at in timing.begins),
        ends=tuple(at - origin for at in timing.ends),
        following=None if timing.following is None else timing.following - origin,
    )
    return [
        replace(caption, begin=caption.begin + origin, speech_end=caption.speech_end + origin)
        for caption in _relative_captions(tokens, profile, relative)
    ]


@lru_cache(maxsize=4096)
def _relative_captions(
    tokens: tuple[str, ...], profile: Profile, timing: Timing
) -> tuple[Caption, ...]:
    return tuple(timed_captions(tokens, profile, timing))


def sentence_timing(
    placement: Placement, tokens: Sequence[str], sample_rate: int, following: int | None
) -> Timing:
    """When each token of the sentence's shown text is spoken, from its word marks (found in
    the spoken text, then mapped back to the shown text); shared out by the text's speaking
    time when there are none."""
    first, last = placement.speech_start, placement.speech_end
    segment = placement.segment
    located = align_marks(segment.spoken, placement.marks)
    if not located:
        return Timing.estimated(tokens, first, last, sample_rate, following)
    offsets = [0, *accumulate(len(token) for token in tokens)]
    origin = origins(segment.shown, segment.spoken)
    spans: list[tuple[int, int] | None] = [None] * len(tokens)
    unbreakable: set[int] = set()
    for at, mark in located:
        word = mark.text.strip()
        written_start, written_end = origin[at][0], origin[at + len(word) - 1][1]
        token = min(bisect_right(offsets, written_start) - 1, len(tokens) - 1)
        known = spans[token]
        spans[token] = (
            (mark.start, mark.end)
            if known is None
            else (min(known[0], mark.start), max(known[1], mark.end))
        )
        unbreakable.update(k for k, o in enumerate(offsets) if written_start < o < written_end)
    begins, ends = _boundary_times(spans, first, last)
    return Timing(begins, ends, sample_rate, following, True, frozenset(unbreakable))


def _boundary_times(
    spans: Sequence[tuple[int, int] | None], first: int, last: int
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """For each break k: where the next word with speech from token k starts, and where the
    last word with speech before token k ends (the sentence's own speech at either end)."""
    n = len(spans)
    begins = [last] * (n + 1)
    ends = [first] * (n + 1)
    for k in range(n - 1, -1, -1):
        span = spans[k]
        begins[k] = max(first, span[0]) if span else begins[k + 1]
    for k in range(1, n + 1):
        span = spans[k - 1]
        ends[k] = min(last, span[1]) if span else ends[k - 1]
    begins[0], ends[n] = first, last
    return tuple(begins), tuple(ends)


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
    """Set cue ends (see :meth:`Limits.shown_until`). Starts never move: they are on the
    speech."""
    ordered = sorted(cues, key=lambda cue: cue.start)
    limits = Limits.of(profile, sample_rate)
    fitted = []
    for i, cue in enumerate(ordered):
        following = ordered[i + 1].start if i + 1 < len(ordered) else None
        end = limits.shown_until(cue.start, cue.end, following)
        fitted.append(Cue(cue.start, end, cue.lines, cue.text, cue.segment))
    return fitted
