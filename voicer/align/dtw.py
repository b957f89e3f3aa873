"""Open-ended, multi-scale dynamic time warping with bounded memory.

Rows are the reference (every one of its frames is matched), columns the recording (the
path may begin and end anywhere in it, so music, applause or silence before and after the
speech are passed over). The features are averaged over 4, 16, ... frames until the whole
cost matrix is small; the path found there is refined at each finer scale inside a band
around it: 10 s either side at the coarser scales, ``radius`` frames at the finest. Memory
grows with the band, not with the square of the length.

A diagonal step counts its frames' distance twice, a horizontal or vertical one (one side
holds while the other moves on) once plus ``step_cost``: every path then weighs each frame of
either side about once, so a path gains nothing by matching a pause to speech to save steps
elsewhere, and the step cost keeps it from wandering through noise. A recording frame
left out before or after the path costs ``skip_cost``: about what a frame of speech stretched
along the path costs, so that the path does not shrink to the best-matching part of the
recording, yet less than matching music or noise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

FACTOR = 4  # frames averaged from one scale to the next
RADIUS = 20  # frames either side of the coarser path, at the finest scale
# at the coarser ones, 10 s (in 10 ms frames) either side: averaged frames tell speech apart
# less well, and a cut paragraph can pull the coarsest path seconds away
WIDE_FRAMES = 1000
# Costs in units of the distance between unrelated frames (see unrelated_distance): about
# 8.8 for 39 normalised values at 10 ms.
STEP_COST = 0.25
SKIP_COST = 1.0  # per recording frame left out before or after the path
MOST_CELLS = 8_000_000  # the coarsest scale's whole matrix at most

_DIAGONAL, _VERTICAL, _HORIZONTAL, _START = 0, 1, 2, 3


@dataclass(frozen=True)
class Path:
    """The warping path: ``rows[k]`` matched ``columns[k]``, both non-decreasing; every row
    from 0 to the last appears; ``costs[k]`` is the distance between those two frames."""

    rows: np.ndarray
    columns: np.ndarray
    costs: np.ndarray


def warp(
    reference: np.ndarray,
    recording: np.ndarray,
    step_cost: float = STEP_COST,
    skip_cost: float = SKIP_COST,
    radius: int = RADIUS,
    most_cells: int = MOST_CELLS,
) -> Path:
    """The cheapest path matching every frame of ``reference`` to a stretch of ``recording``.

    >>> tone = np.array([[0.0], [5.0], [10.0], [15.0]], dtype=np.float32)
    >>> heard = np.array([[40.0], [0.0], [5.0], [5.0], [10.0], [15.0], [40.0]], dtype=np.float32)
    >>> warp(tone, heard).columns.tolist()
    [1, 2, 3, 4, 5]
    """
    if len(reference) == 0 or len(recording) == 0:
        raise ValueError("nothing to align: a side has no frames")
    scales = [(reference, recording)]
    while len(scales[-1][0]) * len(scales[-1][1]) > most_cells and min(map(len, scales[-1])) > 1:
        scales.append((pooled(scales[-1][0]), pooled(scales[-1][1])))
    rows, columns = scales[-1]
    low = np.zeros(len(rows), dtype=np.int64)
    high = np.full(len(rows), len(columns))
    unit = unrelated_distance(rows, columns)
    path = _cheapest(rows, columns, low, high, step_cost * unit, skip_cost * unit)
    for level in reversed(range(len(scales) - 1)):
        rows, columns = scales[level]
        reach = radius if level == 0 else max(radius, math.ceil(WIDE_FRAMES / FACTOR**level))
        low, high = band(path, len(rows), len(columns), reach)
        unit = unrelated_distance(rows, columns)
        path = _cheapest(rows, columns, low, high, step_cost * unit, skip_cost * unit)
    return path


def unrelated_distance(reference: np.ndarray, recording: np.ndarray, pairs: int = 4000) -> float:
    """The median distance between frames of the two sides taken at random (the same every
    time): the unit of the step and skip costs at this scale, where averaging has made frames
    more alike."""
    rng = np.random.default_rng(0)
    one = reference[rng.integers(0, len(reference), pairs)]
    other = recording[rng.integers(0, len(recording), pairs)]
    distance = float(np.median(np.sqrt(((one - other) ** 2).sum(axis=1))))
    return distance if distance > 0 else 1.0


def pooled(frames: np.ndarray) -> np.ndarray:
    """Means of ``FACTOR`` frames at a time (the last group may be shorter).

    >>> pooled(np.arange(6, dtype=np.float32)[:, None]).ravel().tolist()
    [1.5, 4.5]
    """
    whole = len(frames) // FACTOR * FACTOR
    groups = frames[:whole].reshape(-1, FACTOR, frames.shape[1]).mean(axis=1)
    if whole < len(frames):
        groups = np.concatenate([groups, frames[whole:].mean(axis=0, keepdims=True)])
    return groups.astype(np.float32)


def band(coarse: Path, rows: int, columns: int, radius: int) -> tuple[np.ndarray, np.ndarray]:
    """For each of ``rows`` fine rows, the columns ``low:high`` within ``radius`` of the
    coarse path (at ``FACTOR`` times the scale).

    >>> path = Path(np.array([0, 1]), np.array([0, 1]), np.zeros(2))
    >>> [values.tolist() for values in band(path, 8, 8, 1)]
    [[0, 0, 0, 0, 3, 3, 3, 3], [5, 5, 5, 5, 8, 8, 8, 8]]
    """
    count = int(coarse.rows[-1]) + 1
    first = np.full(count, np.iinfo(np.int64).max)
    last = np.full(count, -1)
    np.minimum.at(first, coarse.rows, coarse.columns)
    np.maximum.at(last, coarse.rows, coarse.columns)
    owner = np.minimum(np.arange(rows) // FACTOR, count - 1)
    low = np.clip(first[owner] * FACTOR - radius, 0, columns - 1)
    high = np.clip((last[owner] + 1) * FACTOR + radius, 1, columns)
    return low.astype(np.int64), high.astype(np.int64)


def _cheapest(
    rows: np.ndarray,
    columns: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
    step_cost: float,
    skip_cost: float,
) -> Path:
    """The cheapest path through the band ``low[i]:high[i]`` of each row."""
    widths = high - low
    offsets = np.concatenate([[0], np.cumsum(widths)])
    moves = np.empty(int(offsets[-1]), dtype=np.int8)
    previous = np.empty(0)
    previous_low = 0
    for first in range(0, len(rows), _BLOCK):
        last = min(first + _BLOCK, len(rows))
        left = int(low[first])
        block = _distances(rows[first:last], columns[left : int(high[last - 1])])
        for i in range(first, last):
            lo, hi = int(low[i]), int(high[i])
            cost = block[i - first, lo - left : hi - left]
            if i == 0:
                totals = 2 * cost + skip_cost * np.arange(lo, hi)
                move = np.full(hi - lo, _START, dtype=np.int8)
            else:
                totals, move = _row(cost, previous, lo - previous_low, step_cost)
            moves[offsets[i] : offsets[i + 1]] = move
            previous, previous_low = totals, lo
    end = lo + int(np.argmin(previous + skip_cost * (len(columns) - 1 - np.arange(lo, hi))))
    return _traced(rows, columns, moves, offsets, low, end)


_BLOCK = 64  # rows whose distances are computed at once


def _row(
    cost: np.ndarray, previous: np.ndarray, shift: int, step_cost: float
) -> tuple[np.ndarray, np.ndarray]:
    """One row's totals and moves; ``previous`` holds the row above from ``shift`` columns
    before this row's first column. A horizontal run is a running minimum of prefix sums:
    total[j] = S[j] + min over k <= j of (A[k] - S[k])."""
    width = len(cost)
    above = np.full(width + 1, np.inf)  # above[k]: the row above at this row's column k - 1
    lo, hi = max(0, shift - 1), min(len(previous), shift + width)
    above[lo - shift + 1 : hi - shift + 1] = previous[lo:hi]
    diagonal, vertical = above[:-1] + cost, above[1:] + step_cost
    move = (vertical < diagonal).view(np.int8)  # _DIAGONAL or _VERTICAL
    sums = np.cumsum(cost + step_cost)
    own = np.minimum(diagonal, vertical) + cost - sums
    best = np.minimum.accumulate(own)
    move[best < own] = _HORIZONTAL
    return sums + best, move


def _distances(some: np.ndarray, others: np.ndarray) -> np.ndarray:
    """Distances between each of ``some`` and each of ``others``, as a matrix."""
    squares = (some**2).sum(axis=1)[:, None] + (others**2).sum(axis=1)[None, :]
    return np.sqrt(np.maximum(squares - 2 * (some @ others.T), 0)).astype(np.float64)


def _traced(
    rows: np.ndarray,
    columns: np.ndarray,
    moves: np.ndarray,
    offsets: np.ndarray,
    low: np.ndarray,
    end: int,
) -> Path:
    found_rows = np.empty(len(rows) + len(columns), dtype=np.int64)
    found_columns = np.empty_like(found_rows)
    steps, starts = moves.tobytes(), (offsets[:-1] - low).tolist()  # plain ints: faster here
    i, j, k = len(rows) - 1, end, len(found_rows)
    while True:
        k -= 1
        found_rows[k], found_columns[k] = i, j
        move = steps[starts[i] + j]
        if move == _START:
            break
        if move != _VERTICAL:
            j -= 1
        if move != _HORIZONTAL:
            i -= 1
    found_rows, found_columns = found_rows[k:], found_columns[k:]
    costs = np.empty(len(found_rows))
    for first in range(0, len(costs), 1 << 16):  # a block at a time: an hour's path is 700k
        chosen = slice(first, first + (1 << 16))
        difference = columns[found_columns[chosen]] - rows[found_rows[chosen]]
        costs[chosen] = np.sqrt(np.einsum("ij,ij->i", difference, difference))
    return Path(found_rows, found_columns, costs)
