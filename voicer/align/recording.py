"""A reference programme (the script synthesised) aligned to a recording of the same speech."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, replace

from voicer.align import dtw, features, onsets
from voicer.align.mapping import (
    Match,
    SentenceFit,
    TimeMap,
    carried,
    fits,
    matched,
    pace,
    restarted,
)
from voicer.model import Programme, Signal

MARGIN_MS = 100  # of the reference kept before its first speech and after its last


@dataclass(frozen=True)
class Alignment:
    """The script's sentences and words placed on the recording (the programme's signal),
    each sentence's fit in script order, how the whole path matched, and the time the
    alignment took."""

    programme: Programme
    fits: tuple[SentenceFit, ...]
    match: Match
    seconds: float
    cpu_seconds: float  # of this process, every thread: the machine's other work left out


def align(reference: Programme, recording: Signal) -> Alignment:
    """Where ``reference``'s sentences and words lie in ``recording`` (at the same rate)."""
    if recording.sample_rate != reference.sample_rate:
        raise ValueError("the recording and the reference differ in sample rate")
    began, cpu_began = time.perf_counter(), time.process_time()
    placements = reference.placements
    margin = reference.sample_rate * MARGIN_MS // 1000
    start = max(0, placements[0].speech_start - margin)
    stop = min(reference.signal.length, placements[-1].speech_end + margin)
    said = features.features(reference.signal, start, stop)
    heard = features.features(recording)
    path = dtw.warp(said, heard)
    times = TimeMap.along(path, start, features.hop(reference.sample_rate))
    moved = carried(placements, times)
    found = onsets.refined_starts(
        reference.signal,
        recording,
        [p.speech_start for p in placements],
        [p.speech_start for p in moved],
        pace(placements, moved),
    )
    moved = restarted(moved, [onset.start for onset in found])
    strays = [0.0]  # before the first sentence anything may come: music, applause
    strays += [
        onsets.stray(recording, after.speech_start, before.speech_end)
        for before, after in itertools.pairwise(moved)
    ]
    sentence_fits = tuple(
        replace(fit, moved=onset.moved, stray=heard_stray)
        for fit, onset, heard_stray in zip(
            fits(placements, path, times), found, strays, strict=True
        )
    )
    programme = Programme(recording, moved)
    match = matched(path, said, dtw.unrelated_distance(said, heard))
    seconds, cpu = time.perf_counter() - began, time.process_time() - cpu_began
    return Alignment(programme, sentence_fits, match, seconds, cpu)
