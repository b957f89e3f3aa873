"""Loudness to broadcast standards: measure, limit true peaks, normalise, even out sentences.

Measurement follows ITU-R BS.1770-4 and EBU Tech 3341/3342 for mono float PCM at any sample
rate: K-weighting (two biquads derived from the analog prototype for the actual rate, as
libebur128 does), 400 ms blocks every 100 ms gated at -70 LUFS and -10 LU for integrated
loudness, 3 s short-term windows gated at -70 LUFS and -20 LU for loudness range, and true peak
read from the signal oversampled to at least 176.4 kHz (4x at 44.1/48 kHz, 8x at 24 kHz).

A mono programme is measured as one channel (BS.1770 weights it 1.0): played on both
loudspeakers of a stereo pair it reads about 3 LU louder, which is why the podcast target for
mono is -19 LUFS rather than -16.

Signals are read a block at a time and each block is worked on whole with numpy, so a
ten-minute programme at 48 kHz is measured in a fraction of a second
(``python scripts/bench_loudness.py``).

:mod:`.meter` measures (:class:`Meter`), :mod:`.truepeak` reads true peaks, :mod:`.limiter`
limits them, :mod:`.normalise` brings a programme to a preset and :mod:`.levelling` evens
out its sentences.
"""

from voicer.audio._scipy import preload
from voicer.audio.loudness.levelling import clip_loudness, level_knots
from voicer.audio.loudness.limiter import TRUE_PEAK_MARGIN_DB, Limited
from voicer.audio.loudness.meter import Measurement, Meter, measure_signal, short_term
from voicer.audio.loudness.normalise import PRESETS, normalise_signal, target_for
from voicer.audio.loudness.truepeak import true_peak

__all__ = [
    "PRESETS",
    "TRUE_PEAK_MARGIN_DB",
    "Limited",
    "Measurement",
    "Meter",
    "clip_loudness",
    "level_knots",
    "measure_signal",
    "normalise_signal",
    "preload",
    "short_term",
    "target_for",
    "true_peak",
]
