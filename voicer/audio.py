"""Turning clips into one programme: find speech, trim to a margin, join with exact pauses, encode.

Every position is a sample count, so timing never drifts however long the programme is.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from voicer.errors import SynthesisError
from voicer.model import Clip, Mark, Placement, Programme, Segment

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


def assemble(
    segments: Sequence[Segment],
    clips: Sequence[Clip],
    sentence_pause_ms: int,
    paragraph_pause_ms: int,
    lead_in_ms: int = MARGIN_MS,
    tail_ms: int = MARGIN_MS,
    margin_ms: int = MARGIN_MS,
) -> Programme:
    """Join clips so that from the end of one segment's speech to the start of the next is
    exactly the pause asked for (paragraph pause after a paragraph's last sentence), with
    ``lead_in_ms`` before the first speech and ``tail_ms`` after the last."""
    if not clips:
        raise SynthesisError("nothing to assemble: no audio was produced")
    sample_rate = clips[0].sample_rate
    bounds = [_bounds(seg, clip, sample_rate) for seg, clip in zip(segments, clips, strict=True)]
    pauses = [paragraph_pause_ms if s.ends_paragraph else sentence_pause_ms for s in segments]
    pauses[-1] = tail_ms
    samples, spans, marks = _join(
        clips, bounds, pauses, _ms(sample_rate, margin_ms), _ms(sample_rate, lead_in_ms)
    )
    placements = tuple(
        Placement(segment, start, end, shifted)
        for segment, (start, end), shifted in zip(segments, spans, marks, strict=True)
    )
    return Programme(samples=samples, sample_rate=sample_rate, placements=placements)


def join_phrases(
    clips: Sequence[Clip],
    texts: Sequence[str],
    pauses_ms: Sequence[int],
    margin_ms: int = MARGIN_MS,
) -> Clip:
    """One clip of phrases spoken in turn, ``pauses_ms[i]`` of silence after phrase i, with a
    mark for each phrase's speech (so cues can be timed by phrase)."""
    sample_rate = clips[0].sample_rate
    bounds = []
    for clip, text in zip(clips, texts, strict=True):
        found = speech_bounds(clip.samples, sample_rate)
        if found is None:
            raise SynthesisError(f"the engine produced only silence for {text[:20]!r}")
        bounds.append(found)
    margin = _ms(sample_rate, margin_ms)
    samples, spans, _ = _join(clips, bounds, [*pauses_ms[:-1], margin_ms], margin, margin)
    marks = tuple(Mark(start, end, text) for (start, end), text in zip(spans, texts, strict=True))
    return Clip(samples=samples, sample_rate=sample_rate, marks=marks)


def _join(
    clips: Sequence[Clip],
    bounds: Sequence[tuple[int, int]],
    pauses_ms: Sequence[int],
    margin: int,
    lead_in: int,
) -> tuple[np.ndarray, list[tuple[int, int]], list[tuple[Mark, ...]]]:
    """Place each clip's speech (with up to ``margin`` of its own audio either side, faded in
    and out) so that the silence after clip i's speech is ``pauses_ms[i]`` (the last one is
    the tail) and the first speech starts at ``lead_in``; join the PCM once, into a buffer
    allocated at its final size. Returns the samples, the speech spans and the shifted marks."""
    sample_rate = clips[0].sample_rate
    spans = []
    marks = []
    speech_start = lead_in
    for clip, (start, end), pause in zip(clips, bounds, pauses_ms, strict=True):
        shift = speech_start - start
        marks.append(
            tuple(replace(m, start=m.start + shift, end=m.end + shift) for m in clip.marks)
        )
        spans.append((speech_start, speech_start + end - start))
        speech_start += end - start + _ms(sample_rate, pause)

    buffer = np.zeros(speech_start, dtype=np.float32)
    fade = _ms(sample_rate, FADE_MS)
    for clip, (start, end), (at_speech, at_end) in zip(clips, bounds, spans, strict=True):
        lead = min(margin, start, at_speech)
        tail = min(margin, clip.samples.size - end, buffer.size - at_end)
        at = at_speech - lead
        # margins of neighbours overlap when a pause is shorter than two margins: mix them
        window = clip.samples[start - lead : end + tail]
        edge = min(fade, window.size // 2)
        buffer[at : at_end + tail] += _faded(window, edge, edge)
    return buffer, spans, marks


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


def _bounds(segment: Segment, clip: Clip, sample_rate: int) -> tuple[int, int]:
    if clip.sample_rate != sample_rate:
        raise SynthesisError("the clips of one render must share one sample rate")
    bounds = speech_bounds(clip.samples, sample_rate)
    if bounds is None:
        raise SynthesisError(
            f"line {segment.line}: the engine produced only silence for {segment.shown[:20]!r}"
        )
    return bounds


def resample(samples: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """Band-limited resampling by a rational factor (positions in seconds do not move)."""
    if from_rate == to_rate:
        return samples
    from scipy.signal import resample_poly

    factor = math.gcd(from_rate, to_rate)
    resampled = resample_poly(samples, to_rate // factor, from_rate // factor)
    return resampled.astype(np.float32, copy=False)


def below_full_scale(samples: np.ndarray, ceiling_dbfs: float = -1.0) -> np.ndarray:
    """Scale down if the peak is above the ceiling, so nothing clips without normalisation."""
    peak = float(np.max(np.abs(samples))) if samples.size else 0.0
    ceiling = 10 ** (ceiling_dbfs / 20)
    return samples * np.float32(ceiling / peak) if peak > ceiling else samples
