"""From a warping path to times on the recording: every sentence's speech and every word
mark of the reference carried over, and how far each sentence can be trusted."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from voicer.align import features
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
        row, within = self._row(sample)
        return round((int(self.first[row]) + within) * self.hop)

    def end(self, sample: int) -> int:
        """Where speech that ends at reference ``sample`` ends in the recording: the last
        recording frame matched to its reference frame."""
        row, within = self._row(sample)
        return round((int(self.last[row]) + within) * self.hop)

    def _row(self, sample: int) -> tuple[int, float]:
        position = (sample - self.offset) / self.hop
        row = min(max(math.floor(position), 0), len(self.first) - 1)
        return row, min(max(position - row, 0.0), 1.0)


@dataclass(frozen=True)
class SentenceFit:
    """How well one sentence's stretch of path fits: ``cost``, the mean distance between
    matched frames against the median over all sentences, and ``stretch``, its duration in
    the recording against the reference, over that ratio for the whole speech."""

    cost: float
    stretch: float

    @property
    def confidence(self) -> float:
        """1 for a sentence that matches as well as the median one at the overall speaking
        rate; lower as it costs more or its rate departs from the rest.

        >>> SentenceFit(1.0, 1.0).confidence, round(SentenceFit(1.3, 1.0).confidence, 2)
        (1.0, 0.55)
        >>> round(SentenceFit(1.0, 0.25).confidence, 2)
        0.25
        """
        excess = max(0.0, self.cost - 1.0) * COST_WEIGHT
        departure = abs(math.log(max(self.stretch, 1e-6)))
        return math.exp(-excess - max(0.0, departure - RATE_TOLERANCE))


COST_WEIGHT = 2.0
RATE_TOLERANCE = 0.0  # how far (in log ratio) a sentence's rate may depart without doubt


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


def fits(placements: Sequence[Placement], path: Path, times: TimeMap) -> list[SentenceFit]:
    """Each sentence's fit (see :class:`SentenceFit`) along ``path``."""
    costs, spans = [], []
    for placement in placements:
        first, _ = times._row(placement.speech_start)
        last, _ = times._row(placement.speech_end)
        inside = (path.rows >= first) & (path.rows <= last)
        costs.append(float(path.costs[inside].mean()) if inside.any() else math.inf)
        heard = times.end(placement.speech_end) - times.start(placement.speech_start)
        spans.append((heard, placement.speech_end - placement.speech_start))
    typical = float(np.median([cost for cost in costs if math.isfinite(cost)] or [1.0]))
    overall = sum(heard for heard, _ in spans) / max(1, sum(said for _, said in spans))
    return [
        SentenceFit(cost / typical, heard / max(said, 1) / overall)
        for cost, (heard, said) in zip(costs, spans, strict=True)
    ]


def hop(sample_rate: int) -> int:
    """Samples between feature frames at ``sample_rate``."""
    return features.hop(sample_rate)


class AlignmentError(VoicerError):
    """The recording does not follow the script: nothing can be captioned from it."""


DOUBT_BELOW = 0.5  # a sentence of lower confidence is reported as doubtful
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


def judged(placements: Sequence[Placement], sentence_fits: Sequence[SentenceFit]) -> Judgement:
    """The judgement of an alignment from each sentence's fit."""
    doubtful = tuple(fit.confidence < DOUBT_BELOW for fit in sentence_fits)
    missing = tuple(fit.stretch < MISSING_STRETCH for fit in sentence_fits)
    share = sum(doubtful) / max(1, len(doubtful))
    verdict = None
    if share > UNFOLLOWED_SHARE:
        verdict = (
            f"does not follow the script: {sum(doubtful)} of {len(doubtful)} sentences "
            "could not be matched (another text, or another language?)"
        )
    elif any(missing):
        runs = _runs([i for i, gone in enumerate(missing) if gone])
        where = ", ".join(_lines(placements, first, last) for first, last in runs)
        verdict = f"does not follow the script: {where} not in the recording (a cut?)"
    return Judgement(doubtful, missing, verdict, share > UNFOLLOWED_SHARE)


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
