"""From the assembled programme to the delivered file: resample, normalise, encode, verify.

Loudness is checked on the encoded file as it will be played. Lossy codecs move both the
loudness (MP3 CBR decodes about 0.45 LU quieter) and the true peak (AAC and Opus overshoot), so
for them a second pass corrects the target and ceiling by what the first encode did.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from voicer import audio, ffmpeg, loudness
from voicer.delivery import Delivery, encode
from voicer.loudness import Measurement

STEREO_OFFSET_LU = 3.01  # the same signal in both channels measures 3 LU louder
LOUDNESS_TOLERANCE_LU = 0.1  # a first lossy encode closer than this to the target is kept
PEAK_SAFETY_DB = 0.1


def deliver(
    samples: np.ndarray,
    rate: int,
    delivery: Delivery,
    target: tuple[float, float] | None,
    path: Path,
    label: str = "",
) -> Measurement:
    """Write ``samples`` (mono, at ``rate``) to ``path`` as ``delivery`` says, normalised to
    ``target`` (integrated LUFS, true-peak ceiling dBTP) if given; return the file's loudness."""
    resampled = audio.resample(samples, rate, delivery.sample_rate)
    if target is None:
        encode(audio.below_full_scale(resampled), delivery, path, label)
        return measure_file(path, delivery)
    lufs, ceiling = target
    aim = lufs - (STEREO_OFFSET_LU if delivery.channels == 2 else 0.0)
    normalised, _ = loudness.normalize(resampled, delivery.sample_rate, aim, ceiling)
    encode(normalised, delivery, path, label)
    measured = measure_file(path, delivery)
    loudness_error = lufs - measured.integrated
    peak_over = measured.true_peak - ceiling
    if abs(loudness_error) <= LOUDNESS_TOLERANCE_LU and peak_over <= 0:
        return measured
    ceiling_now = ceiling - max(0.0, peak_over + PEAK_SAFETY_DB)
    normalised, _ = loudness.normalize(
        resampled, delivery.sample_rate, aim + loudness_error, ceiling_now
    )
    encode(normalised, delivery, path, label)
    return measure_file(path, delivery)


def measure_file(path: Path, delivery: Delivery) -> Measurement:
    """Loudness of an encoded file as it will be played (decoded)."""
    decoded = ffmpeg.decode_file(path, delivery.sample_rate)
    found = loudness.measure(decoded, delivery.sample_rate)
    if delivery.channels == 2:
        found = replace(found, integrated=found.integrated + STEREO_OFFSET_LU)
    return found
