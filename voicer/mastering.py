"""From the assembled programme to the delivered file: resample, normalise, encode, verify.

Loudness is checked on the encoded file as it will be played. Lossy codecs move both the
loudness (MP3 decodes about 0.45 LU quieter, which the first pass allows for) and the true peak
(AAC and Opus overshoot), so when the first encode misses, a second pass corrects the target
and ceiling by what it did. Every step reads the programme a block at a time.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from voicer import ffmpeg, loudness
from voicer.delivery import Delivery, encode_signal
from voicer.loudness import Measurement
from voicer.stream import Resampled, Scaled, Signal, blocks, spool

STEREO_OFFSET_LU = 3.01  # the same signal in both channels measures 3 LU louder
LOUDNESS_TOLERANCE_LU = 0.1  # a first lossy encode closer than this to the target is kept
PEAK_SAFETY_DB = 0.1
# How much louder (LU) a codec's decoded output measures than its input, so that the first
# encode usually lands on the target. MP3 (libmp3lame, any bitrate and rate we offer) reads
# 0.43-0.46 LU quieter on speech and tone bursts alike; AAC, Vorbis and Opus within 0.1 LU.
CODEC_LOUDNESS_SHIFT_LU = {"libmp3lame": -0.45}


def deliver(
    source: Signal,
    delivery: Delivery,
    target: tuple[float, float] | None,
    path: Path,
    label: str = "",
) -> Measurement:
    """Write ``source`` (mono) to ``path`` as ``delivery`` says, normalised to ``target``
    (integrated LUFS, true-peak ceiling dBTP) if given; return the file's loudness.

    Works a block at a time: memory does not grow with the length of the programme.
    """
    if target is None:
        with spool(Resampled(source, delivery.sample_rate)) as resampled:
            encode_signal(_below_full_scale(resampled), delivery, path, label)
        return measure_file(path, delivery)
    lufs, ceiling = target
    aim = lufs - (STEREO_OFFSET_LU if delivery.channels == 2 else 0.0)
    aim -= CODEC_LOUDNESS_SHIFT_LU.get(delivery.format.codec, 0.0)
    meter = loudness.Meter(delivery.sample_rate)
    with spool(Resampled(source, delivery.sample_rate), meter.feed) as resampled:
        normalised, _ = loudness.normalize_signal(resampled, aim, ceiling, meter)
        encode_signal(normalised, delivery, path, label)
        measured = measure_file(path, delivery)
        loudness_error = lufs - measured.integrated
        peak_over = measured.true_peak - ceiling
        if abs(loudness_error) <= LOUDNESS_TOLERANCE_LU and peak_over <= 0:
            return measured
        ceiling_now = ceiling - max(0.0, peak_over + PEAK_SAFETY_DB)
        aim += loudness_error
        normalised, _ = loudness.normalize_signal(resampled, aim, ceiling_now, meter)
        encode_signal(normalised, delivery, path, label)
    return measure_file(path, delivery)


def measure_file(path: Path, delivery: Delivery) -> Measurement:
    """Loudness of an encoded file as it will be played (decoded a block at a time)."""
    meter = loudness.Meter(delivery.sample_rate)
    for block in ffmpeg.decode_blocks(path, delivery.sample_rate):
        meter.feed(block)
    found = meter.measurement()
    if delivery.channels == 2:
        found = replace(found, integrated=found.integrated + STEREO_OFFSET_LU)
    return found


def _below_full_scale(source: Signal, ceiling_dbfs: float = -1.0) -> Signal:
    """``source`` scaled down if its sample peak is above the ceiling, so nothing clips."""
    peak = max((float(np.max(np.abs(block))) for block in blocks(source)), default=0.0)
    ceiling = 10 ** (ceiling_dbfs / 20)
    return Scaled(source, ceiling / peak) if peak > ceiling else source
