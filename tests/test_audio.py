"""Assembling clips into a programme, encoding it, and cue timing from sample counts."""

from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np
import pytest
import srt
from helpers import assemble
from speech_audio import decode

from voicer.audio import assembly as audio
from voicer.audio import delivery
from voicer.audio.stream import ArraySignal
from voicer.errors import InputError, SynthesisError
from voicer.model import Clip, Cue, Mark, Programme, Segment
from voicer.subtitles import cues as timing
from voicer.subtitles import formats as subtitles
from voicer.subtitles.profiles import profile_for

SR = 24000


def tone_clip(lead_s: float, speech_s: float, tail_s: float, marks=()) -> Clip:
    """Silence, a 220 Hz tone, silence: like an engine's clip with padding around speech."""
    n = int(speech_s * SR)
    tone = 0.3 * np.sin(2 * np.pi * 220 * np.arange(n) / SR).astype(np.float32)
    samples = np.concatenate(
        [np.zeros(int(lead_s * SR), np.float32), tone, np.zeros(int(tail_s * SR), np.float32)]
    )
    return Clip(samples, SR, tuple(marks))


# cues exactly on the speech: no minimum duration and no gap closing
EXACT = profile_for("zh", style="plain", min_duration_ms=0, close_gap_frames=0)


def sentence_cues(programme: Programme) -> list[Cue]:
    return timing.programme_cues(programme, EXACT)


def segment(index: int, ends_paragraph: bool = False) -> Segment:
    return Segment(index, f"第{index}句。", f"第{index}句。", 0, index + 1, 1, ends_paragraph)


def onsets(samples: np.ndarray, threshold: float = 0.05) -> list[int]:
    """Sample indices where the signal rises out of silence (gaps of 50 ms or more)."""
    loud = np.flatnonzero(np.abs(samples) > threshold)
    starts = [int(loud[0])]
    for previous, current in zip(loud[:-1], loud[1:], strict=True):
        if current - previous > SR // 20:
            starts.append(int(current))
    return starts


def test_speech_bounds_finds_the_tone():
    clip = tone_clip(0.25, 1.0, 0.4)
    start, end = audio.speech_bounds(clip.samples, SR)
    assert abs(start - int(0.25 * SR)) <= 2
    assert abs(end - int(1.25 * SR)) <= 12  # the sine's last half-period may be under threshold
    assert audio.speech_bounds(np.zeros(SR, np.float32), SR) is None
    assert audio.speech_bounds(np.zeros(0, np.float32), SR) is None


@pytest.mark.slow
def test_pauses_are_exact_to_the_sample_and_cues_follow_speech():
    clips = [tone_clip(0.3, 1.0, 0.5), tone_clip(0.05, 0.7, 0.9), tone_clip(0.2, 1.3, 0.1)]
    segments = [segment(0), segment(1, ends_paragraph=True), segment(2, ends_paragraph=True)]
    programme = assemble(segments, clips, sentence_pause_ms=400, paragraph_pause_ms=900)
    starts = [p.speech_start for p in programme.placements]
    ends = [p.speech_end for p in programme.placements]
    assert starts[1] - ends[0] == int(0.4 * SR)
    assert starts[2] - ends[1] == int(0.9 * SR)
    # the cue positions are where the tones really are in the joined PCM
    assert all(abs(a - b) <= 2 for a, b in zip(onsets(programme.samples), starts, strict=True))
    assert len(onsets(programme.samples)) == 3
    # the leading silence of each clip was trimmed to the margin
    margin = SR * audio.MARGIN_MS // 1000
    assert starts[0] == margin
    assert len(programme.samples) == ends[-1] + margin
    cues = sentence_cues(programme)
    assert [(c.start, c.end) for c in cues] == list(zip(starts, ends, strict=True))
    assert [c.lines for c in cues] == [(s.shown,) for s in segments]


@pytest.mark.slow
def test_no_drift_over_hundreds_of_sentences():
    clips = [tone_clip(0.13, 0.5 + (i % 7) / 10, 0.21) for i in range(300)]
    segments = [segment(i, ends_paragraph=i % 5 == 4) for i in range(300)]
    programme = assemble(segments, clips, 350, 800)
    found = onsets(programme.samples)
    expected = [p.speech_start for p in programme.placements]
    assert len(found) == len(expected)
    assert max(abs(a - b) for a, b in zip(found, expected, strict=True)) <= 2


def test_marks_move_with_their_clip():
    clip = tone_clip(0.5, 1.0, 0.2, marks=[Mark(int(0.5 * SR), int(0.9 * SR), "词")])
    programme = assemble([segment(0), segment(1)], [tone_clip(0, 1, 0), clip], 400, 900)
    (mark,) = programme.placements[1].marks
    assert mark.start == programme.placements[1].speech_start  # the sine's first sample is 0
    assert abs(mark.end - mark.start - int(0.4 * SR)) <= 1


def test_silent_clip_names_its_line():
    with pytest.raises(SynthesisError, match="line 1"):
        assemble([segment(0)], [Clip(np.zeros(SR, np.float32), SR)], 400, 900)


@pytest.mark.parametrize("suffix", sorted(delivery.FORMATS))
def test_every_format_encodes_and_keeps_the_duration(tmp_path: Path, suffix: str):
    clips = [tone_clip(0.1, 1.0, 0.1), tone_clip(0.1, 0.5, 0.1)]
    programme = assemble([segment(0), segment(1)], clips, 400, 900)
    path = tmp_path / f"out{suffix}"
    bitrate = "64k" if suffix == ".ogg" else None  # Vorbis at 24 kHz takes at most 80k
    target = delivery.delivery_for(path, sample_rate=24000, bitrate=bitrate)
    delivery.encode_signal(ArraySignal(programme.samples, target.sample_rate), target, path)
    decoded = decode(path, 24000)
    # lossy codecs pad by up to a frame or two (opus/aac/mp3); lossless ones are exact
    tolerance = 0.001 if suffix in (".wav", ".flac") else 0.08
    assert abs(len(decoded) / 24000 - programme.duration) <= tolerance
    assert np.max(np.abs(decoded)) > 0.2


@pytest.mark.parametrize(
    ("name", "options", "message"),
    [
        ("x.aiff", {}, r"unknown audio format '\.aiff'"),
        ("x.opus", {"sample_rate": 44100}, "Opus cannot be written at 44100 Hz"),
        ("x.mp3", {"bit_depth": 24}, "--bit-depth applies to WAV and FLAC"),
        ("x.wav", {"bitrate": "128k"}, "--bitrate applies to lossy formats"),
        ("x.wav", {"bit_depth": 20}, "--bit-depth must be 16 or 24"),
        ("x.mp3", {"bitrate": "lots"}, "invalid bitrate 'lots'"),
        ("x.mp3", {"channels": 6}, "--channels must be 1 or 2"),
        ("x.ogg", {"sample_rate": 24000}, "Vorbis at 24000 Hz takes at most 80k"),
    ],
)
def test_impossible_deliveries_are_input_errors(name, options, message):
    with pytest.raises(InputError, match=message):
        delivery.delivery_for(Path(name), **options)


def test_fades_keep_joins_free_of_clicks():
    # clips that start and end abruptly at full level inside their margins
    loud = Clip(np.full(SR, 0.5, np.float32), SR)
    programme = assemble([segment(0), segment(1)], [loud, loud], 100, 900)
    jumps = np.abs(np.diff(programme.samples))
    assert jumps.max() < 0.5 / (SR * audio.FADE_MS / 1000) * 1.01


def test_lead_in_and_tail():
    programme = assemble([segment(0)], [tone_clip(0.5, 1.0, 0.5)], 400, 900, 2000, 1500)
    (placement,) = programme.placements
    assert placement.speech_start == 2 * SR
    assert len(programme.samples) - placement.speech_end == int(1.5 * SR)


def test_srt_times_round_to_the_nearest_millisecond_and_parse_back():
    clips = [tone_clip(0.0, 1.0, 0.0), tone_clip(0.0, 2.0, 0.0)]
    programme = assemble([segment(0), segment(1)], clips, 437, 900)
    cues = sentence_cues(programme)
    parsed = list(srt.parse(subtitles.srt_text(cues, SR)))
    assert [p.index for p in parsed] == [1, 2]
    for cue, sub in zip(cues, parsed, strict=True):
        assert abs(sub.start.total_seconds() - cue.start / SR) <= 0.0005
        assert abs(sub.end.total_seconds() - cue.end / SR) <= 0.0005
        assert sub.content == "\n".join(cue.lines)


def test_clips_measured_before_are_not_measured_again_and_join_the_same():
    """The studio joins its programme again after each re-take with the measures kept: the
    result is what joining from scratch gives, the new clip measured, the others not."""
    segments = [segment(i) for i in range(4)]
    clips = [tone_clip(0.1, 0.5 + 0.1 * i, 0.1) for i in range(4)]
    spacing = audio.Spacing(400, 900)
    measures = audio.Measures()

    def joined(with_measures: audio.Measures | None) -> tuple[list, tuple, np.ndarray]:
        with contextlib.ExitStack() as scratch:
            made = audio.assemble(segments, clips, spacing, scratch, measures=with_measures)
            programme = made.programme
            samples = programme.signal.read(0, programme.signal.length)
            return made.levels, programme.placements, samples

    first = joined(measures)
    clips[2] = Clip(tone_clip(0.1, 1.2, 0.1).samples * 0.5, SR, ())  # a re-take, quieter
    kept = [measures.get(clip) for clip in clips]
    assert [k is None for k in kept] == [False, False, True, False]
    again, fresh = joined(measures), joined(None)
    assert again[0] == fresh[0] and again[1] == fresh[1]
    assert np.array_equal(again[2], fresh[2])
    assert again[0][:2] == first[0][:2] and again[0][2] != first[0][2]
