"""Render a speech once and deliver it with every loudness preset as WAV and MP3, measuring each
file independently (pyloudnorm for integrated loudness, ffmpeg's ebur128 filter for true peak).

    python scripts/loudness_report.py [--text FILE] [--engine kokoro|edge]

Needs the test extra (pyloudnorm). Prints one line per preset and format.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pyloudnorm

from voicer import RenderOptions, ffmpeg, render
from voicer.audio.loudness import PRESETS
from voicer.audio.mastering import default_loudness, deliver
from voicer.audio.stream import ArraySignal
from voicer.pipeline import mastering_of

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "speech.txt"


def decode(path: Path, rate: int) -> np.ndarray:
    return np.concatenate(list(ffmpeg.decode_blocks(path, rate)))


def true_peak(path: Path) -> float:
    command = [ffmpeg.executable(), "-nostdin", "-hide_banner", "-i", str(path)]
    command += ["-af", "ebur128=peak=true", "-f", "null", "-"]
    log = subprocess.run(command, capture_output=True, text=True, check=True).stderr
    return float(re.findall(r"Peak:\s+(-?[\d.]+)", log[log.rindex("Summary:") :])[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--text", type=Path, default=EXAMPLE, help="the speech [the example]")
    parser.add_argument("--engine", default="kokoro", help="the engine that speaks it [kokoro]")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        # one render, unnormalised, at the engine's rate: the programme every preset starts from
        raw = folder / "raw.wav"
        options = RenderOptions(engine=args.engine, loudness="none", sample_rate=24000)
        render(args.text, raw, options)
        programme = decode(raw, 24000)
        print(f"{args.text.name}: {programme.size / 24000:.1f} s of audio from {args.engine}")
        print(f"{'preset':<10} {'file':<5} {'target':>7} {'LUFS':>7} {'ceiling':>8} {'dBTP':>6}  s")
        for preset in PRESETS:
            for suffix in (".wav", ".mp3"):
                path = folder / f"{preset}{suffix}"
                settings = mastering_of(RenderOptions(loudness=preset), path)
                assert settings.target is not None  # every preset but none has a target
                lufs, ceiling = settings.target
                began = time.perf_counter()
                deliver(ArraySignal(programme, 24000), settings.delivery, settings.target, path)
                seconds = time.perf_counter() - began
                decoded = decode(path, 48000).astype(np.float64)
                measured = pyloudnorm.Meter(48000).integrated_loudness(decoded)
                print(
                    f"{preset:<10} {suffix[1:]:<5} {lufs:7.1f} {measured:7.2f} {ceiling:8.1f} "
                    f"{true_peak(path):6.2f}  {seconds:.1f}"
                )
        print(
            f"default preset: WAV {default_loudness(Path('x.wav'))}, "
            f"MP3 {default_loudness(Path('x.mp3'))}"
        )


if __name__ == "__main__":
    main()
