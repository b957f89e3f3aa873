"""Render the bundled example with the offline engine and print where the time goes.

    python scripts/bench.py [--text FILE] [--output DIR]

Prints the real-time factor (synthesis seconds / audio seconds) and the share of the wall time
spent outside the engine (reading, splitting, assembling, encoding, writing).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from voicer import RenderOptions, render
from voicer.engines.kokoro import KokoroEngine

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "speech.txt"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--text", type=Path, default=EXAMPLE)
    parser.add_argument("--output", type=Path, default=None, help="keep the render here")
    args = parser.parse_args()

    began = time.perf_counter()
    KokoroEngine().check()  # model load, once per process: reported apart from the render
    load_seconds = time.perf_counter() - began

    with tempfile.TemporaryDirectory() as tmp:
        folder = args.output or Path(tmp)
        result = render(args.text, folder / "bench.mp3", options=RenderOptions(engine="kokoro"))
    outside = result.total_seconds - result.synthesis_seconds
    print(f"text                 {args.text.name}: {result.sentences} sentences")
    print(f"audio                {result.duration:8.2f} s")
    print(
        f"model load           {load_seconds:8.2f} s (once per process, not in the figures below)"
    )
    print(f"render wall time     {result.total_seconds:8.2f} s")
    print(f"  inside the engine  {result.synthesis_seconds:8.2f} s")
    print(f"  outside the engine {outside:8.2f} s")
    rtf = result.synthesis_seconds / result.duration
    print(f"real-time factor     {rtf:8.3f} (synthesis / audio)")
    print(f"share outside engine {100 * outside / result.total_seconds:7.1f} % (target < 10 %)")
    share = 100 * result.mastering_seconds / result.total_seconds
    print(f"loudness work        {result.mastering_seconds:8.2f} s = {share:.1f} % (target < 10 %)")


if __name__ == "__main__":
    main()
