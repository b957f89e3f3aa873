"""Time loudness measurement and normalisation on a long speech-like programme.

    python scripts/bench_loudness.py [--minutes 10] [--rate 48000] [--audio FILE]

Without ``--audio`` the programme is synthetic (band-limited noise in syllables and sentences,
with speech's crest factor); with it, any audio file ffmpeg reads, repeated to the length asked.
Prints seconds per call and the real-time factor (seconds per second of audio).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from scipy import signal

from voicer import ffmpeg
from voicer.audio import loudness
from voicer.audio.stream import ArraySignal, materialise


def synthetic(rate: int, seconds: float) -> np.ndarray:
    rng = np.random.default_rng(1)
    n = round(rate * seconds)
    band = signal.butter(4, [200, 4000], btype="bandpass", fs=rate, output="sos")
    voice = signal.sosfilt(band, rng.standard_normal(n))
    t = np.arange(n) / rate
    envelope = np.sin(2 * np.pi * 3 * t) ** 4 * ((t % 5.0) < 4.2)
    voice *= envelope * 10 ** (rng.uniform(-8, 0, int(seconds * 6) + 1)[(t * 6).astype(int)] / 20)
    return (0.5 * voice / np.abs(voice).max()).astype(np.float32)


def normalise(programme: ArraySignal, lufs: float, ceiling: float) -> loudness.Measurement:
    """Normalise the whole programme into memory; its measurement."""
    result, found = loudness.normalise_signal(programme, lufs, ceiling)
    materialise(result)
    return found


def timed(label: str, seconds: float, call):
    began = time.perf_counter()
    result = call()
    spent = time.perf_counter() - began
    print(f"{label:28} {spent:6.2f} s   ({spent / seconds * 1000:5.2f} ms per s of audio)")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="programme length [10]")
    parser.add_argument("--rate", type=int, default=48000, help="sample rate, Hz [48000]")
    parser.add_argument("--audio", type=Path, help="an audio file to repeat [synthetic]")
    args = parser.parse_args()

    seconds = args.minutes * 60
    if args.audio:
        clip = np.concatenate(list(ffmpeg.decode_blocks(args.audio, args.rate)))
        samples = np.tile(clip, int(np.ceil(seconds * args.rate / clip.size)))
        samples = samples[: round(seconds * args.rate)]
    else:
        samples = synthetic(args.rate, seconds)
    programme = ArraySignal(samples, args.rate)
    measured = loudness.measure_signal(programme).measurement()
    print(f"programme {args.minutes:g} min at {args.rate} Hz: {measured}")
    timed(
        "integrated",
        seconds,
        lambda: loudness.measure_signal(programme, with_peak=False).integrated(),
    )
    timed("true_peak", seconds, lambda: loudness.true_peak(samples, args.rate))
    timed("measure_signal", seconds, lambda: loudness.measure_signal(programme).measurement())
    for preset, (lufs, ceiling) in loudness.PRESETS.items():
        found = timed(
            f"normalise_signal {preset}",
            seconds,
            lambda lufs=lufs, ceiling=ceiling: normalise(programme, lufs, ceiling),
        )
        print(f"{'':28} -> {found}")


if __name__ == "__main__":
    main()
