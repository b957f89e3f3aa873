"""Broadcast delivery measured on the files voicer writes: loudness for every preset and both
engines (pyloudnorm for integrated loudness, ffmpeg's ebur128 filter for true peak), clean joins,
timing that does not move across formats and sample rates, BWF, lead-in and tail."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import numpy as np
import pyloudnorm
import pytest
import srt
from helpers import read_bext
from measure import short_term_loudness, speechlike
from speech_audio import decode, invoke_voicer

from voicer import RenderOptions, ffmpeg, render
from voicer.audio import loudness, mastering
from voicer.audio.stream import ArraySignal
from voicer.errors import OutputError
from voicer.options import Level
from voicer.pipeline import Outputs

SPEECH = "一、开幕致辞\n今天我们召开全市工作会议，总结经验，部署任务。\n谢谢大家。\n"
PRESETS = {
    "ebu-r128": (-23.0, -1.0),
    "atsc-a85": (-24.0, -2.0),
    "podcast": (-19.0, -1.0),  # mono
    "streaming": (-14.0, -1.0),
}
LOSSY = [".mp3", ".m4a", ".ogg", ".opus"]


def integrated(path: Path) -> float:
    samples = decode(path, 48000).astype(np.float64)
    return float(pyloudnorm.Meter(48000).integrated_loudness(samples))


def ffmpeg_true_peak(path: Path) -> float:
    result = subprocess.run(
        [ffmpeg.executable(), "-nostdin", "-hide_banner", "-i", str(path)]
        + ["-af", "ebur128=peak=true", "-f", "null", "-"],
        capture_output=True,
        text=True,
        check=True,
    )
    summary = result.stderr[result.stderr.rindex("Summary:") :]
    return float(re.search(r"True peak:\s+Peak:\s+(-?[\d.]+|-inf)", summary).group(1))


@pytest.fixture(scope="module")
def speech_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("speech") / "talk.txt"
    path.write_text(SPEECH, encoding="utf-8")
    return path


@pytest.mark.slow
@pytest.mark.parametrize("preset", sorted(PRESETS))
@pytest.mark.parametrize("suffix", [".wav", ".mp3"])
@pytest.mark.parametrize("engine", ["tone", "edge"])
def test_every_preset_lands_on_target_under_its_peak_limit(
    speech_file: Path, tmp_path: Path, preset: str, suffix: str, engine: str, request
):
    if engine == "edge":
        request.getfixturevalue("edge_server")
    out = tmp_path / f"out{suffix}"
    result = render(speech_file, out, RenderOptions(engine=engine, loudness=preset))
    lufs, ceiling = PRESETS[preset]
    assert abs(integrated(out) - lufs) <= 0.5
    assert ffmpeg_true_peak(out) <= ceiling
    # the summary reports what the file measures
    assert abs(result.loudness.integrated - lufs) <= 0.2
    assert result.loudness.true_peak <= ceiling


@pytest.mark.slow
@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_every_lossy_format_meets_the_ceiling_as_decoded(
    speech_file: Path, tmp_path: Path, preset: str
):
    _, ceiling = PRESETS[preset]
    for suffix in LOSSY:  # one preset's formats in one test: the clips come from the cache
        out = tmp_path / f"out{suffix}"
        result = render(speech_file, out, RenderOptions(engine="tone", loudness=preset))
        independent = ffmpeg_true_peak(out)
        assert independent <= ceiling, suffix
        # the summary's figure is the delivered file's (ffmpeg prints tenths)
        assert result.loudness.true_peak == pytest.approx(independent, abs=0.15), suffix


@pytest.mark.slow
@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_the_encoders_own_peaks_are_taken_back(tmp_path: Path, preset: str):
    # speech's crest factor puts the limiter to work at the podcast and streaming targets, and
    # the lossy encoders add peaks over what it let through (AAC by up to 3 dB here)
    speech = ArraySignal(speechlike(24000, 4), 24000)
    for suffix in LOSSY:
        path = tmp_path / f"out{suffix}"
        settings = mastering.mastering_for(path, preset=preset)
        assert settings.target is not None
        measured = mastering.deliver(speech, settings.delivery, settings.target, path)
        lufs, ceiling = settings.target
        assert ffmpeg_true_peak(path) <= ceiling, suffix
        assert measured.true_peak <= ceiling, suffix
        assert abs(integrated(path) - lufs) <= 0.5, suffix


@pytest.mark.slow
def test_an_encoder_that_stays_over_the_ceiling_fails_the_render(
    speech_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    encodes = []

    def always_over(path: Path, delivery) -> loudness.Measurement:
        encodes.append(path)
        return loudness.Measurement(-16.0, 3.0, -0.5)

    monkeypatch.setattr(mastering, "measure_file", always_over)
    out = tmp_path / "out.m4a"
    with pytest.raises(OutputError, match=r"under its true-peak ceiling of -1\.0 dBTP: the AAC"):
        render(speech_file, out, RenderOptions(engine="tone", loudness="podcast"))
    assert len(encodes) == mastering.MAX_ENCODES
    assert sorted(path.name for path in tmp_path.iterdir()) == []  # nothing delivered


def test_lufs_and_true_peak_override_the_preset(speech_file: Path, tmp_path: Path):
    out = tmp_path / "out.flac"
    render(speech_file, out, RenderOptions(engine="tone", lufs=-20.0, true_peak=-3.0))
    assert abs(integrated(out) - -20.0) <= 0.5
    assert ffmpeg_true_peak(out) <= -3.0


@pytest.mark.slow
def test_stereo_podcast_is_measured_on_both_channels(speech_file: Path, tmp_path: Path):
    out = tmp_path / "out.m4a"
    render(speech_file, out, RenderOptions(engine="tone", loudness="podcast", channels=2))
    assert abs(integrated(out) - -16.0) > 2  # decoded to mono it reads 3 LU lower...
    stereo = decode(out, 48000)  # ...so measure the two channels as delivered
    both = np.stack([stereo, stereo], axis=1).astype(np.float64)
    assert abs(pyloudnorm.Meter(48000).integrated_loudness(both) - -16.0) <= 0.5


@pytest.mark.slow
def test_joins_never_click(speech_file: Path, tmp_path: Path):
    out = tmp_path / "out.wav"
    result = render(
        speech_file,
        Outputs.beside(out, timeline=tmp_path / "t.json"),
        RenderOptions(engine="kokoro", sentence_pause_ms=150),
    )
    samples = decode(out, 48000)
    timeline = json.loads((tmp_path / "t.json").read_text(encoding="utf-8"))
    spans = [(s["start"], s["end"]) for s in timeline["sentences"]]
    assert len(spans) == result.sentences
    # between sentences (where clips were cut and joined) the signal moves smoothly
    for (_, end), (start, _) in zip(spans, spans[1:], strict=False):
        between = samples[int(end * 48000) + 48 : int(start * 48000) - 48]
        assert between.size and np.max(np.abs(np.diff(between))) < 0.01
    # and so does every other quiet stretch, where the caption-by-caption joins inside
    # sentences lie: no jump in any 5 ms frame that is otherwise silent
    frames = samples[: samples.size - samples.size % 240].reshape(-1, 240)
    quiet = np.sqrt(np.mean(frames**2, axis=1)) < 10 ** (-50 / 20)
    assert quiet.sum() > 100
    assert np.max(np.abs(np.diff(frames[quiet], axis=1))) < 0.01


def test_cue_times_and_duration_agree_across_formats_and_rates(
    speech_file: Path, tmp_path: Path, edge_server
):
    wav, mp3 = tmp_path / "a.wav", tmp_path / "b.mp3"
    render(speech_file, wav, RenderOptions(engine="edge", sample_rate=48000))
    render(speech_file, mp3, RenderOptions(engine="edge", sample_rate=24000))
    first = list(srt.parse(wav.with_suffix(".srt").read_text(encoding="utf-8")))
    second = list(srt.parse(mp3.with_suffix(".srt").read_text(encoding="utf-8")))
    assert [(c.start, c.end) for c in first] == [(c.start, c.end) for c in second]
    wav_seconds = decode(wav, 48000).size / 48000
    mp3_seconds = decode(mp3, 48000).size / 48000
    assert abs(wav_seconds - mp3_seconds) <= 576 / 24000  # one MP3 frame at 24 kHz


@pytest.mark.slow
@pytest.mark.parametrize("tail_ms", [0, 30])
def test_cues_lie_within_the_audio_as_decoded(tmp_path: Path, tail_ms: int):
    # a last sentence too short to read: its cue lingers past the speech and a short tail
    (tmp_path / "in.txt").write_text("今天我们召开全市工作会议。\n谢谢。\n", encoding="utf-8")
    for suffix in [*LOSSY, ".wav"]:
        out = tmp_path / f"out{suffix}"
        result = render(tmp_path / "in.txt", out, RenderOptions(engine="tone", tail_ms=tail_ms))
        decoded = decode(out, 48000).size / 48000
        # the encoders' delay and padding are not heard: the programme decodes whole, no more
        assert decoded == pytest.approx(result.duration, abs=1 / 48000), suffix
        cues = list(srt.parse(out.with_suffix(".srt").read_text(encoding="utf-8")))
        assert cues[-1].end.total_seconds() <= decoded, suffix
        assert not result.violations  # the audio lasts as long as the cue needs, not the cue cut


def test_cli_bwf_lead_in_tail_and_summary(speech_file: Path, tmp_path: Path):
    args = ["render", str(speech_file), "--engine", "tone", "-o", "out.wav", "--bwf"]
    args += ["--lead-in", "2000", "--tail", "1500", "--bit-depth", "16", "--sample-rate", "44100"]
    result = invoke_voicer(*args, "--timeline", "t.json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr.decode()
    summary = result.stdout.decode()
    found = re.search(
        r"loudness (-?[\d.]+) LUFS, range ([\d.]+) LU, true peak (-?[\d.]+) dBTP", summary
    )
    assert found, summary
    info = read_bext(tmp_path / "out.wav")
    assert info is not None
    assert info.loudness_value == pytest.approx(float(found.group(1)), abs=0.051)
    assert info.max_true_peak_level == pytest.approx(float(found.group(3)), abs=0.051)
    assert "F=44100,W=16" in info.coding_history
    timeline = json.loads((tmp_path / "t.json").read_text(encoding="utf-8"))
    assert timeline["sentences"][0]["start"] == pytest.approx(2.0, abs=0.001)
    duration = decode(tmp_path / "out.wav", 44100).size / 44100
    assert duration - timeline["sentences"][-1]["end"] == pytest.approx(1.5, abs=0.001)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-o", "x.mp3", "--bwf"], "--bwf applies to WAV output only"),
        (["-o", "x.mp3", "--bit-depth", "24"], "--bit-depth applies to WAV and FLAC"),
        (["-o", "x.opus", "--sample-rate", "44100"], "Opus cannot be written at 44100 Hz"),
        (["--loudness", "loud"], "Invalid value for '--loudness'"),
    ],
)
def test_impossible_delivery_is_refused_before_synthesis(tmp_path: Path, args, message):
    (tmp_path / "in.txt").write_text("你好。", encoding="utf-8")
    result = invoke_voicer("render", "in.txt", "--engine", "tone", *args, cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr.decode()


@pytest.mark.slow
def test_no_sentence_stands_out_from_the_programme(tmp_path: Path):
    # a speech whose sentences the engine speaks at different levels: shouts and asides
    speech = "大家好！\n（小声说）这个问题我们以后再谈。\n同志们！我们一定要努力奋斗！\n谢谢。\n"
    (tmp_path / "in.txt").write_text(speech, encoding="utf-8")
    out = tmp_path / "out.wav"
    render(
        tmp_path / "in.txt",
        Outputs.beside(out, timeline=tmp_path / "t.json"),
        RenderOptions(engine="kokoro", volume=Level(0, "%")),
    )
    samples = decode(out, 48000)
    timeline = json.loads((tmp_path / "t.json").read_text(encoding="utf-8"))
    short_term = short_term_loudness(samples, 48000)
    median = float(np.median(short_term[np.isfinite(short_term) & (short_term > -70)]))
    for sentence in timeline["sentences"]:
        span = samples[int(sentence["start"] * 48000) : int(sentence["end"] * 48000)]
        level = loudness.clip_loudness(span, 48000)
        assert abs(level - median) <= 3.0, (sentence["text"], level, median)
