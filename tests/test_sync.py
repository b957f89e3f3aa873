"""Subtitles in sync with real audio over a render of more than five minutes, with each engine.

Speech onsets are found in the decoded output with an energy detector of the test's own; every
cue must start within 40 ms of the onset of its first speech, end no earlier than its last
speech and at most 0.5 s after it, and the whole file must follow the default profile.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import srt
from speech_audio import decode, run_voicer

from voicer.subtitles import formats as subtitles
from voicer.subtitles import rules
from voicer.subtitles.profiles import profile_for

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "speech.txt"
LONG_SPEECH = "\n".join([EXAMPLE.read_text(encoding="utf-8")] * 4)


def sound_runs(samples: np.ndarray, rate: int, min_silence: float) -> list[tuple[float, float]]:
    """(start, end) seconds of sound, 5 ms frames within 30 dB of the loud frames, separated
    by silences of at least ``min_silence``."""
    frame = rate // 200
    usable = samples.size - samples.size % frame
    rms = np.sqrt(np.mean(np.square(samples[:usable].reshape(-1, frame)), axis=1))
    loud = np.flatnonzero(rms > np.percentile(rms, 95) * 10 ** (-30 / 20))
    runs = []
    start = previous = loud[0]
    for index in loud[1:]:
        if (index - previous - 1) * frame / rate >= min_silence:
            runs.append((start * frame / rate, (previous + 1) * frame / rate))
            start = index
        previous = index
    runs.append((start * frame / rate, (previous + 1) * frame / rate))
    return runs


def check_sync(audio: Path, srt_path: Path, min_silence: float) -> None:
    cues = list(srt.parse(srt_path.read_text(encoding="utf-8")))
    runs = sound_runs(decode(audio), 48000, min_silence)
    assert len(decode(audio)) / 48000 >= 300, "the render must last at least five minutes"
    onsets = np.array([start for start, _ in runs])
    misses = []
    for cue in cues:
        start, end = cue.start.total_seconds(), cue.end.total_seconds()
        nearest = onsets[np.argmin(np.abs(onsets - start))]
        if abs(nearest - start) > 0.040:
            misses.append((cue.index, cue.content, start, nearest))
        inside = [run for run in runs if start - 0.040 <= run[0] < end]
        last_speech = max(run[1] for run in inside)
        # a decay's end depends on the detector's threshold: allow 25 ms between ours and voicer's
        assert last_speech - 0.025 <= end <= last_speech + 0.5, (cue.index, end, last_speech)
    assert not misses, misses[:5]


@pytest.fixture(scope="module")
def long_text(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("long")
    (folder / "long.txt").write_text(LONG_SPEECH, encoding="utf-8")
    return folder


def test_kokoro_long_render_is_in_sync_and_follows_the_profile(long_text: Path):
    result = run_voicer("render", "long.txt", "--engine", "kokoro", "-o", "k.wav", cwd=long_text)
    assert result.returncode == 0, result.stderr.decode()
    assert "warning" not in result.stderr.decode()
    # kokoro speaks caption by caption with a pause of at least 120 ms between them
    check_sync(long_text / "k.wav", long_text / "k.srt", min_silence=0.1)
    cues = subtitles.read(long_text / "k.srt")
    assert rules.violations(cues, 1000, profile_for("zh")) == []


def test_edge_long_render_is_in_sync_and_follows_the_profile(long_text: Path, edge_server):
    result = run_voicer("render", "long.txt", "--engine", "edge", "-o", "e.mp3", cwd=long_text)
    assert result.returncode == 0, result.stderr.decode()
    # the loopback service's words are tone bursts with short silences between them
    check_sync(long_text / "e.mp3", long_text / "e.srt", min_silence=0.02)
    cues = subtitles.read(long_text / "e.srt")
    assert rules.violations(cues, 1000, profile_for("zh")) == []
