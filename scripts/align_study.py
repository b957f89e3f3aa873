"""Alignment accuracy on kept recordings, sentence by sentence: for working on the aligner.

    python scripts/align_study.py FOLDER [--text FILE] [--only NAME ...] [--details]

The recordings of `bench.py align` are made once into FOLDER (kept, with their own cache, so a
second run synthesises nothing) and aligned in this process; prints bench's table, then with
--details every sentence that is doubtful or off by more than 100 ms: its error (signed:
positive when placed late) and confidence.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

import align_media  # noqa: E402
import bench  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="where the recordings are made and kept")
    parser.add_argument(
        "--text", type=Path, default=bench.LONG_EXAMPLE, help="the script [long-speech.txt]"
    )
    parser.add_argument("--only", nargs="*", default=None, help="these recordings alone")
    parser.add_argument("--details", action="store_true", help="every sentence in doubt")
    args = parser.parse_args()
    args.folder.mkdir(parents=True, exist_ok=True)
    os.environ["VOICER_CACHE_DIR"] = str(args.folder / "cache")
    script = args.folder / "speech.txt"
    if not script.exists():
        script.write_text(args.text.read_text(encoding="utf-8"), encoding="utf-8")
    readings = bench.align_readings(align_media, script, args.folder)
    pooled: list[float] = []
    doubted = within = 0
    for label, reading in readings.items():
        if args.only and label not in args.only:
            continue
        found = bench.align_accuracy(reading, script, args.folder)
        bench.print_alignment(label, reading, found)
        if label != "espeak-ng":
            pooled += found.cues
        if args.details:
            details(reading, args.folder)
        errors = np.array(found.sentences)
        doubted += found.doubted
        within += int(np.sum(errors <= 0.1))
    if pooled:
        cues = np.array(pooled)
        print(
            f"kokoro cue starts: median {np.median(cues) * 1000:.0f} ms, "
            f"{np.mean(cues <= 0.1):.1%} within 100 ms; {doubted} doubted"
        )


def details(reading: object, folder: Path) -> None:
    stem = reading.path.stem  # type: ignore[attr-defined]
    document = json.loads((folder / f"{stem}.t.json").read_text(encoding="utf-8"))
    signed = [
        sentence["start"] - reading.starts[sentence["index"]]  # type: ignore[attr-defined]
        for sentence in document["sentences"]
        if sentence["index"] in reading.starts  # type: ignore[attr-defined]
    ]
    quartiles = np.percentile(signed, [10, 25, 50, 75, 90]) * 1000
    print("    signed start errors, p10 p25 p50 p75 p90 ms:", np.round(quartiles).tolist())
    for sentence in document["sentences"]:
        truth = reading.starts.get(sentence["index"])  # type: ignore[attr-defined]
        if truth is None:
            continue
        error = sentence["start"] - truth
        if abs(error) > 0.1 or sentence["doubtful"]:
            print(
                f"    {sentence['index']:>3} {error * 1000:+6.0f} ms  conf "
                f"{sentence['confidence']:.2f} {'DOUBT' if sentence['doubtful'] else ''}"
            )


if __name__ == "__main__":
    main()
