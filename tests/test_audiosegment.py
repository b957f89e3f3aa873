"""pydub in voicer: clips joined as AudioSegments to the sample, 32-bit samples with headroom,
``voicer.synthesise`` for scripting, and no warning from pydub reaching users."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers import assemble
from speech_audio import decode

import voicer
from voicer.audio import audiosegment
from voicer.model import Clip, Segment
from voicer.synthesis.engines import tone


def burst_clip(rate: int, silence_before: int, length: int, silence_after: int) -> Clip:
    """Exact silence, a flat burst of ``length`` samples at 0.5, exact silence: its speech
    starts and ends at known samples."""
    samples = np.zeros(silence_before + length + silence_after, np.float32)
    samples[silence_before : silence_before + length] = 0.5
    return Clip(samples, rate)


def sentence(index: int) -> Segment:
    return Segment(index, f"第{index}句。", f"第{index}句。", 0, index + 1, 1, False)


def runs_of_sound(samples: np.ndarray) -> list[tuple[int, int]]:
    """(first, one past last) sample of each run of non-zero samples."""
    loud = np.flatnonzero(samples != 0)
    breaks = np.flatnonzero(np.diff(loud) > 1)
    starts = [loud[0], *loud[breaks + 1]]
    ends = [*loud[breaks] + 1, loud[-1] + 1]
    return [(int(a), int(b)) for a, b in zip(starts, ends, strict=True)]


@pytest.mark.parametrize("rate", [24000, 22050])
def test_joined_speech_lies_exactly_where_the_placements_say(rate: int):
    # speech lengths and positions that are no whole number of milliseconds, and (at 22.05
    # samples per millisecond) pauses that are not either: pydub's millisecond API cannot
    # place these, its sample API must
    clips = [
        burst_clip(rate, 1001, 12345, 777),
        burst_clip(rate, 3, 7001, 131),  # less than a margin of silence either side
        burst_clip(rate, 1, 4999, 5000),
    ]
    pause_ms = 437
    programme = assemble([sentence(i) for i in range(3)], clips, pause_ms, pause_ms)
    placed = [(p.speech_start, p.speech_end) for p in programme.placements]
    assert runs_of_sound(programme.samples) == placed
    assert [end - start for start, end in placed] == [12345, 7001, 4999]
    pause = rate * pause_ms // 1000  # 10488 at 24 kHz; 9635 (of 9635.85) at 22.05 kHz
    assert [b[0] - a[1] for a, b in zip(placed, placed[1:], strict=False)] == [pause, pause]
    margin = rate * 30 // 1000
    assert placed[0][0] == margin
    assert programme.samples.size == placed[-1][1] + margin


def test_overlapping_margins_are_mixed_sample_for_sample():
    rate = 24000
    base = audiosegment.from_samples(np.full(1001, 0.25, np.float32), rate)
    top = audiosegment.from_samples(np.full(333, 0.125, np.float32), rate)
    mixed = audiosegment.to_samples(audiosegment.overlaid(base, top, 777))
    expected = np.full(777 + 333, 0.25, np.float32)
    expected[777:] += 0.125
    expected[1001:] = 0.125  # past the end of ``base``: ``top`` alone
    assert mixed.tolist() == expected.tolist()


def test_float_samples_survive_the_round_trip_with_headroom():
    rate = 24000
    large = np.array([1.5, -1.5, 15.99, -16.0, 0.0625, 0.3, -0.7], np.float32)  # exact
    assert (
        audiosegment.to_samples(audiosegment.from_samples(large, rate)).tolist() == large.tolist()
    )
    small = np.random.default_rng(0).uniform(-0.06, 0.06, 10000).astype(np.float32)
    back = audiosegment.to_samples(audiosegment.from_samples(small, rate))
    assert np.max(np.abs(back - small)) <= 2.0**-28  # far below a 24-bit step (2**-23)


def test_synthesise_returns_the_programme_as_32_bit_audio_with_its_peaks(monkeypatch):
    # a voice whose peaks reach 1.5, above full scale, as engines' sometimes do before mastering
    plain_burst = tone._burst
    monkeypatch.setattr(tone, "_burst", lambda *args: 5 * plain_burst(*args))
    segment = voicer.synthesise("Good evening.\n\nWelcome, all.", engine="tone", use_cache=False)
    assert (segment.frame_rate, segment.sample_width, segment.channels) == (tone.SAMPLE_RATE, 4, 1)
    samples = audiosegment.to_samples(segment)
    assert np.max(np.abs(samples)) == pytest.approx(1.5, abs=1e-4)  # not clipped at 1.0
    assert segment.max < 2**31 - 1  # nor at the top of the 32-bit range
    assert segment.max_dBFS == pytest.approx(
        20 * np.log10(1.5) - audiosegment.HEADROOM_DB, abs=0.01
    )
    # 30 ms before the first speech and after the last, 900 ms between the paragraphs; this
    # detector hears the 5 ms fades of the tone's bursts as sound, voicer's a little less
    runs = speech_runs(samples)
    fade = 5 * 24
    assert 720 - fade <= runs[0][0] <= 720
    assert 720 - fade <= samples.size - runs[-1][1] <= 720
    gaps = [b[0] - a[1] for a, b in zip(runs, runs[1:], strict=False)]
    assert 900 * 24 - 2 * fade <= max(gaps) <= 900 * 24


def speech_runs(samples: np.ndarray) -> list[tuple[int, int]]:
    """Runs of samples louder than -50 dBFS, split by silences of 100 ms or more."""
    loud = np.flatnonzero(np.abs(samples) > 10 ** (-50 / 20))
    breaks = np.flatnonzero(np.diff(loud) > 2400)
    starts = [loud[0], *loud[breaks + 1]]
    ends = [*loud[breaks] + 1, loud[-1] + 1]
    return [(int(a), int(b)) for a, b in zip(starts, ends, strict=True)]


def test_synthesised_audio_exports_through_voicers_ffmpeg(tmp_path: Path):
    segment = voicer.synthesise("Good evening.", engine="tone", use_cache=False)
    path = tmp_path / "evening.flac"
    segment.export(path, format="flac")
    decoded = decode(path, segment.frame_rate)
    assert decoded.size == int(segment.frame_count())
    level = np.max(np.abs(decoded))
    assert level == pytest.approx(0.3 * audiosegment.HEADROOM, rel=1e-3)


@pytest.mark.slow
def test_importing_voicer_warns_about_nothing_when_ffmpeg_is_not_on_path():
    path = os.pathsep.join(
        folder
        for folder in os.environ.get("PATH", "").split(os.pathsep)
        if folder and not (Path(folder) / "ffmpeg").exists()
    )
    environment = {**os.environ, "PATH": path}
    code = (
        "import voicer, voicer.cli, voicer.audio.audiosegment; from pydub import AudioSegment; "
        "print(AudioSegment.converter)"
    )
    imported = subprocess.run(
        [sys.executable, "-W", "error", "-c", code],
        capture_output=True,
        text=True,
        env=environment,
        check=False,
    )
    assert (imported.returncode, imported.stderr) == (0, "")
    assert Path(imported.stdout.strip()).is_file()  # the ffmpeg inside the imageio-ffmpeg wheel
    helped = subprocess.run(
        [sys.executable, "-m", "voicer", "--help"], capture_output=True, text=True, env=environment
    )
    assert (helped.returncode, helped.stderr) == (0, "")
