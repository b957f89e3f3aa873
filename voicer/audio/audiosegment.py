"""voicer's float audio as pydub AudioSegments: 32-bit mono samples with 24 dB of headroom,
and the few pydub operations that are exact to the sample.

**Headroom.** An AudioSegment holds integers; voicer's clips are float32 whose peaks may pass
full scale (1.0) until mastering brings them down. A float sample ``x`` becomes the int32
``round(x * 2**27)``: float full scale sits at ``2**-4`` of int32 full scale (24.08 dB below
it), so samples up to ±16.0 survive. The way back, ``k * 2**-27``, is exact, and so is the
round trip for every float32 sample of magnitude 1/16 or more (their last mantissa bit is a
multiple of ``2**-27``); smaller samples round to the nearest ``2**-27`` (-169 dBFS), 16
times finer than a 24-bit file's step. Mixing is integer addition: exact.

**What is exact in pydub 0.25.** Its constructor from raw bytes, ``get_sample_slice``,
``frame_count()``, ``raw_data`` and joining with ``+`` work in whole frames. Everything that
takes milliseconds does not: slicing with ``[a:b]``, ``overlay(position=...)`` (which also
cuts or pads the result to a whole number of milliseconds), ``fade`` (positions in
milliseconds, from -120 dB rather than from zero) and ``silent`` (16-bit, duration in
milliseconds). So silence is built from zero bytes, overlays go through :func:`overlaid`
(pydub's own ``audioop.add``, at a frame offset), and edge fades are applied to the float
samples before they become a segment.
"""

from __future__ import annotations

import math
import shutil
import warnings

import numpy as np

from voicer import ffmpeg
from voicer.audio.stream import blocks
from voicer.model import Signal

with warnings.catch_warnings():
    # importing pydub warns when ffmpeg is not on PATH (it is given voicer's ffmpeg below) and
    # imports audioop, deprecated since Python 3.11 (audioop-lts provides it from 3.13)
    warnings.simplefilter("ignore")
    from pydub import AudioSegment
    from pydub.utils import audioop

if shutil.which(AudioSegment.converter) is None:
    AudioSegment.converter = ffmpeg.executable()  # the imageio-ffmpeg wheel's, if not on PATH

SAMPLE_WIDTH = 4  # bytes: int32 samples
HEADROOM = 2.0**-4  # float full scale as a share of int32 full scale
HEADROOM_DB = -20 * math.log10(HEADROOM)  # 24.08 dB: how much quieter a segment plays
_COUNTS_PER_UNIT = np.float32(2.0**31 * HEADROOM)  # int32 counts per float unit: 2**27
_LOWEST = np.float32(-1 / HEADROOM)  # -16.0
_HIGHEST = np.nextafter(np.float32(1 / HEADROOM), np.float32(0))  # just under 16.0


def from_samples(samples: np.ndarray, sample_rate: int) -> AudioSegment:
    """Mono float samples as a 32-bit segment, with :data:`HEADROOM` (samples beyond ±16.0,
    which no engine makes, are clipped there)."""
    kept = np.clip(np.asarray(samples, dtype=np.float32), _LOWEST, _HIGHEST)
    counts = np.rint(kept * _COUNTS_PER_UNIT).astype("<i4")  # scaling by 2**27 is exact
    return AudioSegment(
        data=counts.tobytes(), sample_width=SAMPLE_WIDTH, frame_rate=sample_rate, channels=1
    )


def to_samples(segment: AudioSegment) -> np.ndarray:
    """A segment made by :func:`from_samples` back as mono float32 (headroom undone)."""
    _check_format(segment)
    counts = np.frombuffer(segment.raw_data, dtype="<i4")
    return counts.astype(np.float32) * np.float32(1 / _COUNTS_PER_UNIT)


def from_signal(signal: Signal) -> AudioSegment:
    """A whole signal (a scratch file, read a block at a time) as one segment."""
    data = b"".join(from_samples(block, signal.sample_rate).raw_data for block in blocks(signal))
    return AudioSegment(
        data=data, sample_width=SAMPLE_WIDTH, frame_rate=signal.sample_rate, channels=1
    )


def silence(frames: int, sample_rate: int) -> AudioSegment:
    """``frames`` samples of silence (pydub's ``silent`` counts in milliseconds)."""
    return AudioSegment(
        data=bytes(frames * SAMPLE_WIDTH),
        sample_width=SAMPLE_WIDTH,
        frame_rate=sample_rate,
        channels=1,
    )


def frames(segment: AudioSegment) -> int:
    """How many samples a segment holds."""
    return int(segment.frame_count())


def overlaid(base: AudioSegment, top: AudioSegment, at: int) -> AudioSegment:
    """``top`` mixed into ``base`` from frame ``at``, ``base`` extended when ``top`` runs
    past its end (with silence if it starts after it): pydub's overlay, placed to the sample.
    Only the frames where both have audio are added up; the rest is joined."""
    _check_format(base)
    _check_format(top)
    if at >= frames(base):
        return base + silence(at - frames(base), base.frame_rate) + top
    end = min(at + frames(top), frames(base))  # where the two stop overlapping
    under = base.get_sample_slice(at, end)
    over = top.get_sample_slice(0, end - at)
    mixed = under._spawn(audioop.add(under.raw_data, over.raw_data, SAMPLE_WIDTH))
    head, tail = base.get_sample_slice(0, at), base.get_sample_slice(end)
    return head + mixed + tail + top.get_sample_slice(end - at)


def _check_format(segment: AudioSegment) -> None:
    if segment.sample_width != SAMPLE_WIDTH or segment.channels != 1:
        raise ValueError(
            f"expected mono 32-bit audio, got {segment.channels} channel(s) of "
            f"{8 * segment.sample_width}-bit samples"
        )
