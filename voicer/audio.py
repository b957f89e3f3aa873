"""Turning clips into one programme: find speech, trim to a margin, join with exact pauses, encode.

Every position is a sample count, so timing never drifts however long the programme is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from voicer import ffmpeg
from voicer.errors import InputError, SynthesisError
from voicer.model import Clip, Mark, Placement, Programme, Segment

MARGIN_MS = 30  # audio kept before and after detected speech
SILENCE_DBFS = -50.0  # below this (or 40 dB under the clip's peak) counts as silence
WINDOW_MS = 5

# Output container and codec by file extension.
FORMATS: dict[str, list[str]] = {
    ".mp3": ["-f", "mp3", "-c:a", "libmp3lame", "-b:a", "128k"],
    ".wav": ["-f", "wav", "-c:a", "pcm_s24le"],
    ".flac": ["-f", "flac", "-c:a", "flac", "-sample_fmt", "s32", "-bits_per_raw_sample", "24"],
    ".m4a": ["-f", "ipod", "-c:a", "aac", "-b:a", "128k"],
    ".ogg": ["-f", "ogg", "-c:a", "libvorbis", "-q:a", "5"],
    ".opus": ["-f", "opus", "-c:a", "libopus", "-b:a", "64k"],
}
OUTPUT_SAMPLE_RATE = 48000
PEAK_CEILING = 10 ** (-1 / 20)  # -1 dBFS


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
    margin_ms: int = MARGIN_MS,
) -> Programme:
    """Join clips so that from the end of one segment's speech to the start of the next is
    exactly the pause asked for (paragraph pause after a paragraph's last sentence)."""
    if not clips:
        raise SynthesisError("nothing to assemble: no audio was produced")
    sample_rate = clips[0].sample_rate
    bounds = [_bounds(seg, clip, sample_rate) for seg, clip in zip(segments, clips, strict=True)]
    pauses = [paragraph_pause_ms if s.ends_paragraph else sentence_pause_ms for s in segments]
    samples, spans, marks = _join(clips, bounds, pauses, sample_rate * margin_ms // 1000)
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
    samples, spans, _ = _join(clips, bounds, pauses_ms, sample_rate * margin_ms // 1000)
    marks = tuple(Mark(start, end, text) for (start, end), text in zip(spans, texts, strict=True))
    return Clip(samples=samples, sample_rate=sample_rate, marks=marks)


def _join(
    clips: Sequence[Clip], bounds: Sequence[tuple[int, int]], pauses_ms: Sequence[int], margin: int
) -> tuple[np.ndarray, list[tuple[int, int]], list[tuple[Mark, ...]]]:
    """Place each clip's speech (with up to ``margin`` of its own audio either side) so that
    the silence after clip i's speech is ``pauses_ms[i]``; join the PCM once, into a buffer
    allocated at its final size. Returns the samples, the speech spans and the shifted marks."""
    sample_rate = clips[0].sample_rate
    spans = []
    marks = []
    speech_start = margin
    for clip, (start, end), pause in zip(clips, bounds, pauses_ms, strict=True):
        shift = speech_start - start
        marks.append(
            tuple(replace(m, start=m.start + shift, end=m.end + shift) for m in clip.marks)
        )
        spans.append((speech_start, speech_start + end - start))
        speech_start += end - start + sample_rate * pause // 1000

    buffer = np.zeros(spans[-1][1] + margin, dtype=np.float32)
    for clip, (start, end), (at_speech, _) in zip(clips, bounds, spans, strict=True):
        lead, tail = min(margin, start), min(margin, clip.samples.size - end)
        at = at_speech - lead
        # margins of neighbours overlap when a pause is shorter than two margins: mix them
        buffer[at : at + lead + end - start + tail] += clip.samples[start - lead : end + tail]
    return buffer, spans, marks


def _bounds(segment: Segment, clip: Clip, sample_rate: int) -> tuple[int, int]:
    if clip.sample_rate != sample_rate:
        raise SynthesisError("the clips of one render must share one sample rate")
    bounds = speech_bounds(clip.samples, sample_rate)
    if bounds is None:
        raise SynthesisError(
            f"line {segment.line}: the engine produced only silence for {segment.shown[:20]!r}"
        )
    return bounds


def output_args(path: Path) -> list[str]:
    """ffmpeg output options for the format named by ``path``'s extension."""
    try:
        return FORMATS[path.suffix.lower()]
    except KeyError:
        known = ", ".join(sorted(FORMATS))
        raise InputError(
            f"{path}: unknown audio format {path.suffix!r} (use one of {known})"
        ) from None


def encode(programme: Programme, path: Path, target: Path | None = None) -> None:
    """Encode the programme once, at the delivery sample rate, into ``path``.

    ``target`` is the file the user asked for when ``path`` is a temporary file: it names the
    format and appears in error messages.
    """
    target = target or path
    args = ["-ar", str(OUTPUT_SAMPLE_RATE), *output_args(target)]
    samples = programme.samples
    peak = float(np.max(np.abs(samples))) if samples.size else 0.0
    if peak > PEAK_CEILING:  # engines can overshoot full scale: never clip
        samples = samples * np.float32(PEAK_CEILING / peak)
    ffmpeg.encode(samples, programme.sample_rate, path, args, label=target.name)
