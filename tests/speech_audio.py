"""Measuring rendered audio in tests, independently of voicer's own trimming code."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np

from voicer import ffmpeg

RATE = 48000


def decode(path: Path, rate: int = RATE) -> np.ndarray:
    """An audio file of any format ffmpeg reads, as mono float32 PCM at ``rate``."""
    return np.concatenate([np.empty(0, np.float32), *ffmpeg.decode_blocks(path, rate)])


def speech_runs(
    samples: np.ndarray, rate: int = RATE, min_silence: float = 0.3, floor_db: float = -40.0
) -> list[tuple[float, float]]:
    """(start, end) in seconds of stretches of sound separated by at least ``min_silence``.

    Sound is a 2 ms frame whose RMS is within ``-floor_db`` dB of the loudest frame.
    """
    frame = rate // 500
    usable = samples.size - samples.size % frame
    rms = np.sqrt(np.mean(np.square(samples[:usable].reshape(-1, frame)), axis=1))
    loud = np.flatnonzero(rms > rms.max() * 10 ** (floor_db / 20))
    if loud.size == 0:
        return []
    runs = []
    start = previous = loud[0]
    for index in loud[1:]:
        if (index - previous) * frame / rate >= min_silence:
            runs.append((start * frame / rate, (previous + 1) * frame / rate))
            start = index
        previous = index
    runs.append((start * frame / rate, (previous + 1) * frame / rate))
    return runs


def run_voicer(*args: str, cwd: Path, stdin: bytes | None = None, env: dict | None = None):
    """Run the CLI as a user would, in a subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "voicer", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        env={**os.environ, **(env or {})},
        timeout=600,
        check=False,
    )


def interruptible() -> None:
    """For ``preexec_fn``: the child takes Ctrl-C (SIGINT) as a user's terminal would send it,
    even when the tests run where SIGINT is ignored (a shell's background job), which the
    child would otherwise inherit and Python would then leave ignored."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
