"""From a warping path to times on the recording: every sentence's speech and every word
mark of the reference carried over, and how far each sentence can be trusted."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from voicer.align.dtw import Path
from voicer.errors import VoicerError
from voicer.model import Mark, Placement


@dataclass(frozen=True)
class TimeMap:
    """Reference samples to recording samples along a path. Path row ``r`` is the reference
    frame starting at sample ``offset + r * hop``, column ``c`` the recording frame starting at
    ``c * hop``; ``first[r]`` and ``last[r]`` are the first and last columns row r matched.
    """

    offset: int
    hop: int
    first: np.ndarray
    last: np.ndarray

    @classmethod
    def along(cls, path: Path, offset: int, hop: int) -> TimeMap:
        rows = int(path.rows[-1]) + 1
        first = np.full(rows, np.iinfo(np.int64).max)
        last = np.full(rows, -1)
        np.minimum.at(first, path.rows, path.columns)
        np.maximum.at(last, path.rows, path.columns)
        return cls(offset, hop, first, last)

    def start(self, sample: int) -> int:
        """Where speech that begins at reference ``sample`` begins in the recording: the
        first recording frame matched to its reference frame.

        >>> times = TimeMap(100, 10, np.array([0, 3, 4]), np.array([2, 3, 6]))
        >>> times.start(115), times.end(125)
        (35, 65)
        """
        row, within = self.row(sample)
        return round((int(self.first[row]) + within) * self.hop)

    def end(self, sample: int) -> int:
        """Where speech that ends at reference ``sample`` ends in the recording: the last
        recording frame matched to its reference frame."""
        row, within = self.row(sample)
        return round((int(self.last[row]) + within) * self.hop)

    def row(self, sample: int) -> tuple[int, float]:
        """The path row of reference ``sample`` and how far into its frame it lies."""
        position = (sample - self.offset) / self.hop
        row = min(max(math.floor(position), 0), len(self.first) - 1)
        return row, min(max(position - row, 0.0), 1.0)


@dataclass(frozen=True)
class SentenceFit:
    """How well one sentence's start can be trusted. Along the path, each against the whole
    speech: ``onset``, the mean distance between matched frames from 200 ms before its start
    to 300 ms after, over the median along the path; ``onset_rate``, how fast the path crosses
    the recording in its first 600 ms, and ``stretch``, over the whole sentence, both over the
    rate of the speech. Around the start found again (:mod:`~voicer.align.onsets`): ``moved``,
    how far it moved from the path's, as a share of the farthest it may, and ``stray``, the
    longest sound (seconds) in the pause before it."""

    onset: float
    onset_rate: float
    stretch: float
    moved: float = 0.0
    stray: float = 0.0

    @property
    def path_doubt(self) -> float:
        """0 for a sound start. A start placed late shows a costly onset that the path
        crosses slowly: the log of the one over the other; one placed early, in the pause
        before it, an onset crossed fast: the log of how much faster than ``ONSET_FAST``.

        >>> SentenceFit(0.9, 1.2, 1.0).path_doubt, round(SentenceFit(1.0, 0.8, 1.0).path_doubt, 3)
        (0.0, 0.223)
        >>> round(SentenceFit(0.9, 1.5, 1.0).path_doubt, 3)
        0.182
        """
        rate = max(self.onset_rate, 1e-9)
        late = math.log(max(self.onset, 1e-9) / min(1.0, rate))
        return max(0.0, late) + max(0.0, math.log(rate / ONSET_FAST))

    @property
    def doubt(self) -> float:
        """Above 1 the start is doubtful: the largest of the path's doubt over
        ``PATH_DOUBT_ABOVE``, the stray sound before it over ``STRAY_ABOVE``, and how far it
        moved over ``MOVED_ABOVE``.

        >>> SentenceFit(1.0, 0.8, 1.0).doubt < 1, SentenceFit(1.0, 1.0, 1.0, stray=0.2).doubt
        (True, 2.0)
        """
        return max(
            self.path_doubt / PATH_DOUBT_ABOVE,
            self.stray / STRAY_ABOVE,
            self.moved / MOVED_ABOVE,
        )

    @property
    def confidence(self) -> float:
        """From 1 down: 0.5 where the start becomes doubtful.

        >>> SentenceFit(0.9, 1.2, 1.0).confidence, SentenceFit(1, 1, 1, stray=0.1).confidence
        (1.0, 0.5)
        """
        return 0.5**self.doubt


# Measured on 280 sentence starts: examples/long-speech.txt (50 sentences) and the tests'
# short script (6), each read by kokoro's zf_xiaobei faster, slower, slower with noise and a
# chord bed, faster after 5 s of music, and by espeak-ng (the reference: zm_yunxi).
# - The two starts off by more than 250 ms (espeak-ng, 423 and 469 ms late: it reads "二、" and
#   "三、" with a sound the reference does not make) had 225 and 315 ms of sound in the pause
#   before them; every other start, 40 ms at most. On examples/speech.txt (19 sentences,
#   the same readings) the one off by 402 ms (espeak-ng) had 225 ms; one sound start had 115 ms
#   while runs from the gap's first frame counted (the sentence before it, its end placed
#   early), 15 ms once they must follow some quiet.
# - One start searched for as far as it may move (150 ms, from 330 ms early in noise) ended
#   180 ms early; the next farthest moved 135 ms and ended 10 ms off.
# - The path's doubt reached 0.32 and 0.18 for the two late ones, but also 0.28 for starts
#   within 30 ms (0.15, its former threshold, flagged 14 sound starts of 280, among them the
#   first or last sentence of the short script in 5 readings of 5); at 0.4 it flags none of
#   these and stays for a path that has lost its way.
STRAY_ABOVE = 0.1
MOVED_ABOVE = 0.95
PATH_DOUBT_ABOVE = 0.4
ONSET_FAST = 1.25  # an onset crossed faster than this: placed early, in the pause before it
ONSET_BEFORE, ONSET_AFTER, ONSET_SPAN = 20, 30, 60  # frames


def carried(placements: Sequence[Placement], times: TimeMap) -> tuple[Placement, ...]:
    """The placements with their speech and word marks at their times in the recording;
    marks kept in order and inside their sentence's speech."""
    moved = []
    for placement in placements:
        start = times.start(placement.speech_start)
        end = max(start + 1, times.end(placement.speech_end))
        marks = []
        floor = start
        for mark in placement.marks:
            mark_start = min(max(times.start(mark.start), floor), end - 1)
            mark_end = min(max(times.end(mark.end), mark_start + 1), end)
            marks.append(Mark(mark_start, mark_end, mark.text))
            floor = mark_start
        moved.append(replace(placement, speech_start=start, speech_end=end, marks=tuple(marks)))
    return tuple(moved)


def restarted(placements: Sequence[Placement], starts: Sequence[int]) -> tuple[Placement, ...]:
    """The placements with their speech (and their first word) starting at ``starts``; a
    word that began before the new start begins there, one that began with the sentence
    does too."""
    moved = []
    for placement, wanted in zip(placements, starts, strict=True):
        start = min(wanted, placement.speech_end - 1)
        marks = []
        for mark in placement.marks:
            begins = start if mark.start <= placement.speech_start else max(mark.start, start)
            marks.append(Mark(begins, max(mark.end, begins + 1), mark.text))
        moved.append(replace(placement, speech_start=start, marks=tuple(marks)))
    return tuple(moved)


def pace(placements: Sequence[Placement], moved: Sequence[Placement]) -> float:
    """How many times longer the recording speaks than the reference: the median sentence's."""
    lengths = [
        (after.speech_end - after.speech_start) / max(1, before.speech_end - before.speech_start)
        for before, after in zip(placements, moved, strict=True)
    ]
    return float(np.median(lengths))


def fits(placements: Sequence[Placement], path: Path, times: TimeMap) -> list[SentenceFit]:
    """Each sentence's fit (see :class:`SentenceFit`) along ``path``; the speech's rate is
    the median sentence's, which a cut paragraph squeezed to nothing does not move."""
    typical = float(np.median(path.costs)) or 1.0
    last_row = len(times.first) - 1
    onsets, rates, stretches = [], [], []
    for placement in placements:
        first, _ = times.row(placement.speech_start)
        near = np.searchsorted(path.rows, [first - ONSET_BEFORE, first + ONSET_AFTER])
        onsets.append(float(path.costs[near[0] : near[1]].mean()) / typical)
        ahead = min(first + ONSET_SPAN, last_row)
        rates.append(int(times.first[ahead] - times.first[first]) / max(1, ahead - first))
        length = times.end(placement.speech_end) - times.start(placement.speech_start)
        stretches.append(length / max(1, placement.speech_end - placement.speech_start))
    overall = float(np.median(stretches)) or 1.0
    return [
        SentenceFit(onset, rate / overall, stretch / overall)
        for onset, rate, stretch in zip(onsets, rates, stretches, strict=True)
    ]


class AlignmentError(VoicerError):
    """The recording does not follow the script: nothing can be captioned from it."""


MISSING_STRETCH = 0.3  # a sentence squeezed below this share of its expected length is not there
UNFOLLOWED_SHARE = 0.5  # more doubtful sentences than this share: not a reading of the script


@dataclass(frozen=True)
class Judgement:
    """Which sentences are doubtful and which are missing from the recording, and one line
    when the recording does not follow the script; ``unfollowed``: so little of it that no
    caption is worth writing."""

    doubtful: tuple[bool, ...]
    missing: tuple[bool, ...]
    verdict: str | None
    unfollowed: bool


@dataclass(frozen=True)
class Match:
    """How the whole path looks: the share of its steps that are diagonal, and the median
    distance along it over the reference's louder half of frames (its speech), in units of
    the distance between unrelated frames (see :func:`voicer.align.dtw.unrelated_distance`)."""

    diagonal: float
    speech_cost: float

    @property
    def follows(self) -> bool:
        """Whether the recording reads this script at all.

        Measured: readings of the script by other voices, with noise and a chord bed or by
        espeak-ng, went diagonally 63 to 78 % of the way at a speech cost of 0.79 to 0.84;
        other texts 26 to 49 % of the way at 0.87 to 0.89.

        >>> Match(0.7, 0.8).follows, Match(0.4, 0.88).follows
        (True, False)
        """
        return self.diagonal >= FOLLOWS_DIAGONAL or self.speech_cost <= FOLLOWS_COST


FOLLOWS_DIAGONAL, FOLLOWS_COST = 0.55, 0.855


def matched(path: Path, reference: np.ndarray, unit: float) -> Match:
    """The :class:`Match` of ``path`` between the ``reference`` features and a recording."""
    steps = (np.diff(path.rows) == 1) & (np.diff(path.columns) == 1)
    loud = reference[path.rows, 0] > np.median(reference[:, 0])
    speech = path.costs[loud] if loud.any() else path.costs
    return Match(float(steps.mean()) if len(steps) else 1.0, float(np.median(speech)) / unit)


def judged(
    placements: Sequence[Placement], sentence_fits: Sequence[SentenceFit], match: Match
) -> Judgement:
    """The judgement of an alignment from each sentence's fit and the path's match."""
    doubtful = tuple(fit.doubt > 1 for fit in sentence_fits)
    missing = tuple(fit.stretch < MISSING_STRETCH for fit in sentence_fits)
    unfollowed = sum(doubtful) > UNFOLLOWED_SHARE * len(doubtful) or not match.follows
    verdict = None
    if unfollowed:
        verdict = (
            f"does not follow the script: {sum(doubtful)} of {len(doubtful)} sentences doubtful, "
            f"{match.diagonal:.0%} of the path diagonal (another text, or another language?)"
        )
    elif any(missing):
        runs = _runs([i for i, gone in enumerate(missing) if gone])
        where = ", ".join(_lines(placements, first, last) for first, last in runs)
        verdict = f"does not follow the script: {where} not in the recording (a cut?)"
    if unfollowed:
        doubtful = (True,) * len(doubtful)
    return Judgement(doubtful, missing, verdict, unfollowed)


def _runs(indices: Sequence[int]) -> list[tuple[int, int]]:
    """Consecutive indices as (first, last) pairs.

    >>> _runs([1, 2, 3, 7, 9, 10])
    [(1, 3), (7, 7), (9, 10)]
    """
    runs: list[tuple[int, int]] = []
    for index in indices:
        if runs and runs[-1][1] == index - 1:
            runs[-1] = (runs[-1][0], index)
        else:
            runs.append((index, index))
    return runs


def _lines(placements: Sequence[Placement], first: int, last: int) -> str:
    start, end = placements[first].segment, placements[last].segment
    if first == last:
        return f"the sentence at {start.line}:{start.column}"
    return f"the sentences from {start.line}:{start.column} to {end.line}:{end.column}"
