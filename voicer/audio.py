"""Turning clips into one programme: find speech, trim to a margin, join with exact pauses, encode.

Every position is a sample count, so timing never drifts however long the programme is.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np

from voicer.errors import SynthesisError
from voicer.model import Clip, Mark, Placement, Programme, Segment
from voicer.stream import ArraySignal

MARGIN_MS = 30  # audio kept before and after detected speech
SILENCE_DBFS = -50.0  # below this (or 40 dB under the clip's peak) counts as silence
WINDOW_MS = 5

FADE_MS = 5  # a short fade at each clip edge, so joins never click


def speech_bounds(samples: np.ndarray, sample_rate: int) -> tuple[int, int] | None:
    """First and one-past-last sample of speech in ``samples``, or None if it is all silence.

    >>> sr = 1000; x = np.zeros(sr, np.float32); x[200:700] = 0.5
    >>> speech_bounds(x, sr)
    (200, 700)
    """
    if samples.size == 0:
        return None
    peak = float(np.max(np.abs(samples)))
    threshold = max(10 ** (SILENCE_DBFS / 20), peak * 10 ** (-40 / 20))
    window = max(1, sample_rate * WINDOW_MS // 1000)
    usable = samples.size - samples.size % window
    rms = np.sqrt(np.mean(np.square(samples[:usable].reshape(-1, window)), axis=1))
    loud = np.flatnonzero(rms > threshold / 2)
    if loud.size == 0:
        return None
    first_window = samples[loud[0] * window : (loud[0] + 1) * window]
    last_window = samples[loud[-1] * window : (loud[-1] + 1) * window]
    first = int(loud[0]) * window + int(np.argmax(np.abs(first_window) > threshold / 2))
    last_hits = np.flatnonzero(np.abs(last_window) > threshold / 2)
    last = int(loud[-1]) * window + (int(last_hits[-1]) if last_hits.size else window - 1)
    return first, last + 1


def trim(samples: np.ndarray, sample_rate: int, margin_ms: int = MARGIN_MS) -> np.ndarray:
    """Cut leading and trailing silence down to ``margin_ms``; empty when there is no speech."""
    bounds = speech_bounds(samples, sample_rate)
    if bounds is None:
        return samples[:0]
    margin = sample_rate * margin_ms // 1000
    return samples[max(0, bounds[0] - margin) : bounds[1] + margin]


class Assembler:
    """Joins clips, in order, so that from the end of one clip's speech to the start of the
    next is exactly the pause asked for, and hands the joined PCM to ``sink`` as it goes.

    Only the stretch that a later clip's margin may still overlap is kept in memory, so
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
        self.pending = np.zeros(0, np.float32)  # programme samples from ``flushed`` on
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
        self._mix(at_speech - lead, _faded(window, edge, edge))
        self.next_speech = at_end + pause
        self._flush(self.next_speech - self.margin if not last else self.flushed)
        return at_speech, at_end

    def finish(self) -> int:
        """Hand over what is left, up to the end of the last pause; the programme's length."""
        length = self.next_speech
        self._mix(length, np.zeros(0, np.float32))
        self._flush(length)
        return length

    def _mix(self, at: int, samples: np.ndarray) -> None:
        end = at + samples.size - self.flushed
        if end > self.pending.size:
            self.pending = np.concatenate(
                [self.pending, np.zeros(end - self.pending.size, np.float32)]
            )
        self.pending[at - self.flushed : end] += samples

    def _flush(self, upto: int) -> None:
        count = min(max(0, upto - self.flushed), self.pending.size)
        if count:
            self.sink(self.pending[:count].copy())
            self.pending = self.pending[count:]
            self.flushed += count


def assemble(
    segments: Sequence[Segment],
    clips: Sequence[Clip],
    sentence_pause_ms: int,
    paragraph_pause_ms: int,
    lead_in_ms: int = MARGIN_MS,
    tail_ms: int = MARGIN_MS,
) -> Programme:
    """Join clips in memory (see :class:`Assembler`): the sentence pause between sentences,
    the paragraph pause after a paragraph's last sentence, ``lead_in_ms`` before the first
    speech and ``tail_ms`` after the last."""
    if not clips:
        raise SynthesisError("nothing to assemble: no audio was produced")
    pieces: list[np.ndarray] = []
    assembler = Assembler(pieces.append, clips[0].sample_rate, lead_in_ms)
    placements = []
    for number, (segment, clip) in enumerate(zip(segments, clips, strict=True)):
        last = number == len(clips) - 1
        pause = tail_ms if last else pause_after(segment, sentence_pause_ms, paragraph_pause_ms)
        placements.append(place(assembler, segment, clip, clip_speech(segment, clip), pause, last))
    assembler.finish()
    signal = ArraySignal(np.concatenate(pieces), clips[0].sample_rate)
    return Programme(signal=signal, placements=tuple(placements))


def pause_after(segment: Segment, sentence_pause_ms: int, paragraph_pause_ms: int) -> int:
    """The silence after a sentence: what its markup asks for, else the sentence or paragraph
    pause."""
    if segment.pause_after_ms is not None:
        return segment.pause_after_ms
    return paragraph_pause_ms if segment.ends_paragraph else sentence_pause_ms


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
    its marks moved there."""
    if clip.sample_rate != assembler.sample_rate:
        raise SynthesisError("the clips of one render must share one sample rate")
    start, end = assembler.add(clip, bounds, pause_ms, last)
    shift = start - bounds[0]
    marks = tuple(replace(m, start=m.start + shift, end=m.end + shift) for m in clip.marks)
    return Placement(segment, start, end, marks)


def join_phrases(
    clips: Sequence[Clip],
    texts: Sequence[str],
    pauses_ms: Sequence[int],
    margin_ms: int = MARGIN_MS,
) -> Clip:
    """One clip of phrases spoken in turn, ``pauses_ms[i]`` of silence after phrase i, with a
    mark for each phrase's speech (so cues can be timed by phrase)."""
    sample_rate = clips[0].sample_rate
    pieces: list[np.ndarray] = []
    assembler = Assembler(pieces.append, sample_rate, margin_ms, margin_ms)
    marks = []
    for number, (clip, text, pause) in enumerate(zip(clips, texts, pauses_ms, strict=True)):
        found = speech_bounds(clip.samples, sample_rate)
        if found is None:
            raise SynthesisError(f"the engine produced only silence for {text[:20]!r}")
        last = number == len(clips) - 1
        start, end = assembler.add(clip, found, margin_ms if last else pause, last)
        marks.append(Mark(start, end, text))
    assembler.finish()
    return Clip(samples=np.concatenate(pieces), sample_rate=sample_rate, marks=tuple(marks))


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
