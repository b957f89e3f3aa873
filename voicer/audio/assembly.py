"""Turning clips into one programme: find speech, join with exact pauses and faded edges.

Every position is a sample count, so timing never drifts however long the programme is.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from voicer.audio import audiosegment, loudness
from voicer.audio.audiosegment import AudioSegment
from voicer.audio.stream import Aside, Gained, PcmFile
from voicer.errors import SynthesisError
from voicer.model import Clip, Placement, Programme, Segment
from voicer.synthesis.speech import MARGIN_MS, speech_bounds

FADE_MS = 5  # a short fade at each clip edge, so joins never click


class Assembler:
    """Joins clips, in order, so that from the end of one clip's speech to the start of the
    next is exactly the pause asked for, and hands the joined PCM to ``sink`` as it goes.

    The joining is pydub's: each clip's window becomes a 32-bit AudioSegment (with headroom,
    see :mod:`voicer.audio.audiosegment`) overlaid at its sample position on the audio not yet
    handed over. Only the stretch that a later clip's margin may still overlap is kept, so
    assembling takes the same memory for ten sentences or ten thousand.
    """

    def __init__(
        self,
        sink: Callable[[np.ndarray], None],
        sample_rate: int,
        lead_in_ms: int = MARGIN_MS,
        margin_ms: int = MARGIN_MS,
    ) -> None:
        self.sink = sink
        self.sample_rate = sample_rate
        self.margin = _ms(sample_rate, margin_ms)
        self.fade = _ms(sample_rate, FADE_MS)
        self.next_speech = _ms(sample_rate, lead_in_ms)  # where the next clip's speech starts
        self.pending = audiosegment.silence(0, sample_rate)  # programme from ``flushed`` on
        self.flushed = 0

    def add(
        self, clip: Clip, bounds: tuple[int, int], pause_ms: int, last: bool = False
    ) -> tuple[int, int]:
        """Place ``clip``'s speech (``bounds`` within it), with up to the margin of its own
        audio either side, faded in and out, and ``pause_ms`` of silence after its speech
        (for the last clip: the tail). Returns where its speech lies in the programme."""
        start, end = bounds
        at_speech = self.next_speech
        at_end = at_speech + end - start
        pause = _ms(self.sample_rate, pause_ms)
        lead = min(self.margin, start, at_speech)
        tail = min(self.margin, clip.samples.size - end, pause if last else self.margin)
        window = clip.samples[start - lead : end + tail]
        edge = min(self.fade, window.size // 2)
        # margins of neighbours overlap when a pause is shorter than two margins: mix them
        faded = audiosegment.from_samples(_faded(window, edge, edge), self.sample_rate)
        self._overlay(at_speech - lead, faded)
        self.next_speech = at_end + pause
        self._flush(self.next_speech - self.margin if not last else self.flushed)
        return at_speech, at_end

    def finish(self) -> int:
        """Hand over what is left, up to the end of the last pause; the programme's length."""
        length = self.next_speech
        self._overlay(length, audiosegment.silence(0, self.sample_rate))
        self._flush(length)
        return length

    def _overlay(self, at: int, window: AudioSegment) -> None:
        self.pending = audiosegment.overlaid(self.pending, window, at - self.flushed)

    def _flush(self, upto: int) -> None:
        count = min(max(0, upto - self.flushed), audiosegment.frames(self.pending))
        if count:
            self.sink(audiosegment.to_samples(self.pending.get_sample_slice(0, count)))
            self.pending = self.pending.get_sample_slice(count)
            self.flushed += count


@dataclass(frozen=True)
class Spacing:
    """The silences of a programme, in milliseconds: between sentences, after a paragraph's
    last sentence, before the first speech and after the last."""

    sentence_pause_ms: int
    paragraph_pause_ms: int
    lead_in_ms: int = MARGIN_MS
    tail_ms: int = MARGIN_MS

    def after(self, segment: Segment, last: bool) -> int:
        """The silence after ``segment``: what its markup asks for, else the sentence or
        paragraph pause; after the last sentence, the tail (or its markup's pause if longer)."""
        if last:
            return max(self.tail_ms, segment.pause_after_ms or 0)
        if segment.pause_after_ms is not None:
            return segment.pause_after_ms
        return self.paragraph_pause_ms if segment.ends_paragraph else self.sentence_pause_ms


@dataclass(frozen=True)
class Assembled:
    """A programme (in a scratch file), each sentence's loudness, and the programme's meter:
    what levelling needs, measured as the clips went by."""

    programme: Programme
    levels: list[float]
    meter: loudness.Meter

    def levelled(self) -> Gained:
        """The programme with each sentence levelled (see :func:`loudness.level_knots`)."""
        spans = [(p.speech_start, p.speech_end) for p in self.programme.placements]
        knots = loudness.level_knots(self.levels, spans, self.meter)
        return Gained(self.programme.signal, *knots)


class Measures:
    """Each clip's speech bounds and loudness, kept for the next assembly of the same clips
    (the studio joins its whole programme again after each re-take, where one clip is new,
    and measuring every clip again was much of a re-take's own work)."""

    def __init__(self) -> None:
        self._kept: dict[int, tuple[Clip, tuple[int, int], float]] = {}  # by id, clip held

    def get(self, clip: Clip) -> tuple[tuple[int, int], float] | None:
        kept = self._kept.get(id(clip))
        return None if kept is None or kept[0] is not clip else (kept[1], kept[2])

    def keep(self, clip: Clip, bounds: tuple[int, int], level: float) -> None:
        self._kept[id(clip)] = (clip, bounds, level)


def assemble(
    segments: Sequence[Segment],
    clips: Iterable[Clip],
    spacing: Spacing,
    scratch: contextlib.ExitStack,
    on_placed: Callable[[int, float], None] | None = None,
    measures: Measures | None = None,
) -> Assembled:
    """Join the clips as they come into a scratch file (removed when ``scratch`` closes),
    measuring as it goes; ``on_placed(i, seconds)`` after sentence i, with the seconds of
    programme up to the end of its speech. ``measures``: what is known of clips measured
    before (they are not measured again), and where those measured now are kept."""
    placements: list[Placement] = []
    # the clips themselves only when they are kept: an hour's clips are 350 MB
    known: list[tuple[Clip | None, tuple[int, int], float | None]] = []
    levels: list[float] = []  # those measured now, in order
    assembler: Assembler | None = None
    # the programme's and each sentence's loudness are measured in other threads, a clip or
    # two behind its placing (see stream.Aside)
    measuring: list[Aside] = []
    try:
        for number, (segment, clip) in enumerate(zip(segments, clips, strict=True)):
            if assembler is None:
                pcm = scratch.enter_context(PcmFile(clip.sample_rate))
                meter = loudness.Meter(clip.sample_rate, true_peak=False)
                measuring += [Aside(meter.feed), Aside(_level_of(levels, clip.sample_rate))]
                sink = _both(pcm.append, measuring[0].feed)
                assembler = Assembler(sink, clip.sample_rate, spacing.lead_in_ms)
            last = number == len(segments) - 1
            kept = measures.get(clip) if measures is not None else None
            bounds, level = kept if kept is not None else (clip_speech(segment, clip), None)
            pause = spacing.after(segment, last)
            placement = place(assembler, segment, clip, bounds, pause, last)
            placements.append(placement)
            known.append((clip if measures is not None else None, bounds, level))
            if level is None:
                measuring[1].feed(clip.samples[slice(*bounds)])
            if on_placed:
                on_placed(number, placement.speech_end / clip.sample_rate)
        if assembler is None:
            raise SynthesisError("nothing to assemble: no audio was produced")
        assembler.finish()
    except BaseException:
        for aside in measuring:
            aside.close(raising=False)
        raise
    for aside in measuring:
        aside.close()
    every = _every_level(known, levels, measures)
    return Assembled(Programme(pcm, tuple(placements)), every, meter)


def _every_level(
    known: list[tuple[Clip | None, tuple[int, int], float | None]],
    levels: list[float],
    measures: Measures | None,
) -> list[float]:
    """Each sentence's loudness: known before, or measured now (``levels``, in order); kept
    in ``measures`` with the clip's bounds when given."""
    measured = iter(levels)
    every = [next(measured) if level is None else level for _, _, level in known]
    if measures is not None:
        for (held, bounds, _), level in zip(known, every, strict=True):
            assert held is not None
            measures.keep(held, bounds, level)
    return every


def _level_of(levels: list[float], rate: int) -> Callable[[np.ndarray], None]:
    """Appends the loudness of each sentence's speech it is given to ``levels``."""

    def level(speech: np.ndarray) -> None:
        levels.append(loudness.clip_loudness(speech, rate))

    return level


def _both(
    first: Callable[[np.ndarray], None], second: Callable[[np.ndarray], None]
) -> Callable[[np.ndarray], None]:
    def both(samples: np.ndarray) -> None:
        first(samples)
        second(samples)

    return both


def clip_speech(segment: Segment, clip: Clip) -> tuple[int, int]:
    """Where a sentence's clip holds speech, or a one-line error if it holds only silence."""
    bounds = speech_bounds(clip.samples, clip.sample_rate)
    if bounds is None:
        raise SynthesisError(
            f"line {segment.line}: the engine produced only silence for {segment.shown[:20]!r}"
        )
    return bounds


def place(
    assembler: Assembler,
    segment: Segment,
    clip: Clip,
    bounds: tuple[int, int],
    pause_ms: int,
    last: bool,
) -> Placement:
    """Add a sentence's clip (its speech at ``bounds``) to the programme; where it lies, with
    its marks moved there and kept inside its speech."""
    if clip.sample_rate != assembler.sample_rate:
        raise SynthesisError("the clips of one render must share one sample rate")
    start, end = assembler.add(clip, bounds, pause_ms, last)
    shift = start - bounds[0]
    marks = []
    for mark in clip.marks:
        begin, stop = max(start, mark.start + shift), min(end, mark.end + shift)
        if begin < stop:
            marks.append(replace(mark, start=begin, end=stop))
    return Placement(segment, start, end, tuple(marks))


def _faded(samples: np.ndarray, fade_in: int, fade_out: int) -> np.ndarray:
    """A copy with linear fades over the first ``fade_in`` and last ``fade_out`` samples
    (in the margins around speech, where the clip has them)."""
    out = samples.astype(np.float32, copy=True)
    ramp_in = np.linspace(0, 1, fade_in, endpoint=False, dtype=np.float32)
    ramp_out = np.linspace(0, 1, fade_out, endpoint=False, dtype=np.float32)[::-1]
    out[:fade_in] *= ramp_in
    out[out.size - fade_out :] *= ramp_out
    return out


def _ms(sample_rate: int, milliseconds: int) -> int:
    return sample_rate * milliseconds // 1000
