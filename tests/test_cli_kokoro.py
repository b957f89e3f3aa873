"""The CLI end to end with the offline engine: real synthesis, real audio, real SRT.

The failing encoder is a real ``python -m voicer`` run (as are the kokoro renders of
tests/test_kokoro_workers.py and tests/test_interrupt.py); the renders here run the same command
in this process, where kokoro's workers stay up from one to the next."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import srt
from speech_audio import decode, invoke_voicer, run_voicer, speech_runs

SHORT_SPEECH = "一、开幕致辞\n同志们：\n今天我们召开全市工作会议。会议将持续两天！\n谢谢大家。\n"


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory):
    """One offline render of a short speech, shared by the checks below."""
    work = tmp_path_factory.mktemp("render")
    (work / "talk.txt").write_text(SHORT_SPEECH, encoding="gbk")
    result = invoke_voicer("render", "talk.txt", "--engine", "kokoro", cwd=work)
    return work, result


@pytest.mark.slow
def test_render_writes_mp3_and_srt_in_audio_folder(rendered):
    work, result = rendered
    assert result.returncode == 0, result.stderr.decode()
    assert (work / "audio" / "talk.mp3").stat().st_size > 10_000
    assert (work / "audio" / "talk.srt").exists()
    assert b"wrote audio/talk.mp3" in result.stdout
    assert not list((work / "audio").glob(".*part"))


@pytest.mark.slow
def test_audio_is_speech_of_plausible_length(rendered):
    work, _ = rendered
    samples = decode(work / "audio" / "talk.mp3")
    duration = samples.size / 48000
    characters = sum(c.isalnum() for c in SHORT_SPEECH)
    # Mandarin read aloud runs at about 3-6 characters a second, plus the pauses
    assert characters / 6 < duration < characters / 3 + 4
    assert float(abs(samples).max()) > 0.1
    assert len(speech_runs(samples)) >= 5  # sentences separated by audible pauses


@pytest.mark.slow
def test_srt_cues_sit_on_the_speech_of_each_sentence(rendered):
    work, _ = rendered
    raw = (work / "audio" / "talk.srt").read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")
    cues = list(srt.parse(raw.decode("utf-8")))
    assert [c.content for c in cues] == [  # zh-netflix style: no 。 in a cue
        "一、开幕致辞",
        "同志们：",
        "今天我们召开全市工作会议",
        "会议将持续两天！",
        "谢谢大家",
    ]
    runs = speech_runs(decode(work / "audio" / "talk.mp3"))
    # every cue starts at the onset of a stretch of speech, and ends where speech stops
    for cue in cues:
        start = cue.start.total_seconds()
        nearest = min(runs, key=lambda run: abs(run[0] - start))
        assert abs(nearest[0] - start) < 0.04, (cue.content, start, nearest)
    for cue in cues:  # and ends after the speech it shows, lingering at most 0.5 s
        start, end = cue.start.total_seconds(), cue.end.total_seconds()
        spoken = [run for run in runs if start - 0.04 <= run[0] < end]
        assert spoken and spoken[-1][1] - 0.01 <= end <= spoken[-1][1] + 0.5, (cue.content, end)
    # and nothing is said outside the cues
    for run_start, run_end in runs:
        assert any(
            c.start.total_seconds() - 0.04 <= run_start and run_end <= c.end.total_seconds() + 0.08
            for c in cues
        ), (run_start, run_end)


@pytest.mark.slow
def test_stdin_wav_custom_srt_and_rate(tmp_path: Path):
    result = invoke_voicer(
        "render",
        "-",
        "-o",
        "out/speech.wav",
        "--srt",
        "subs/speech.srt",
        "--engine",
        "kokoro",
        "--voice",
        "zf_xiaobei",
        "--rate",
        "20%",
        "--pitch",
        "+5Hz",
        "--sentence-pause",
        "700",
        "--timeline",
        "out/speech.json",
        cwd=tmp_path,
        stdin="第一句话。第二句话。".encode(),
    )
    assert result.returncode == 0, result.stderr.decode()
    assert "cannot change pitch" in result.stderr.decode()
    cues = list(srt.parse((tmp_path / "subs" / "speech.srt").read_text(encoding="utf-8")))
    assert len(cues) == 2
    timeline = json.loads((tmp_path / "out" / "speech.json").read_text(encoding="utf-8"))
    first, second = timeline["sentences"]
    assert second["start_sample"] - first["end_sample"] == 0.7 * timeline["sample_rate"]
    starts = [c.start.total_seconds() for c in cues]
    assert starts == pytest.approx([first["start"], second["start"]], abs=0.0005)
    assert (tmp_path / "out" / "speech.wav").read_bytes()[:4] == b"RIFF"


@pytest.mark.slow
def test_auto_falls_back_to_kokoro_when_edge_is_unreachable(tmp_path: Path):
    (tmp_path / "s.txt").write_text("你好。", encoding="utf-8")
    result = invoke_voicer(
        "render", "s.txt", "--voice", "zh-CN-XiaoxiaoNeural", cwd=tmp_path
    )  # VOICER_EDGE_URL points at a closed local port (conftest)
    assert result.returncode == 0, result.stderr.decode()
    stderr = result.stderr.decode()
    assert "using the offline kokoro engine" in stderr
    assert "zh-CN-XiaoxiaoNeural is online only; using zf_xiaoxiao" in stderr
    assert (tmp_path / "audio" / "s.mp3").exists()


def test_voices_lists_the_offline_voices(tmp_path: Path):
    result = invoke_voicer("voices", "--engine", "kokoro", cwd=tmp_path)
    assert result.returncode == 0
    listed = [line.split()[:2] for line in result.stdout.decode().splitlines()]
    assert listed == sorted(listed, key=lambda entry: (entry[1], entry[0]))  # by language
    names = [name for name, _ in listed]
    assert len(names) == 12  # 8 Mandarin, 4 English (voicer[english])
    assert {"zm_yunxi", "zf_xiaobei", "zm_yunyang", "af_heart", "bm_george"} <= set(names)


@pytest.mark.slow
def test_a_failing_encoder_keeps_the_earlier_output(tmp_path: Path):
    # the subject is the encoder, not the engine: the fast tone engine speaks (kokoro's own
    # renders to MP3 are test_render_writes_mp3_and_srt_in_audio_folder's)
    (tmp_path / "s.txt").write_text("你好。", encoding="utf-8")
    good = invoke_voicer("render", "s.txt", "--engine", "tone", cwd=tmp_path)
    assert good.returncode == 0, good.stderr.decode()
    before = {p.name: p.read_bytes() for p in (tmp_path / "audio").iterdir()}

    broken = tmp_path / "bin"
    broken.mkdir()
    (broken / "ffmpeg").write_text("#!/bin/sh\necho 'disk full' >&2\nexit 1\n")
    (broken / "ffmpeg").chmod(0o755)
    path = f"{broken}{os.pathsep}{os.environ['PATH']}"
    (tmp_path / "s.txt").write_text("再见。", encoding="utf-8")
    failed = run_voicer("render", "s.txt", "--engine", "tone", cwd=tmp_path, env={"PATH": path})
    assert failed.returncode == 1
    stderr = failed.stderr.decode().strip()
    assert stderr.endswith("voicer: error: cannot encode s.mp3: disk full"), stderr
    after = {p.name: p.read_bytes() for p in (tmp_path / "audio").iterdir()}
    assert after == before  # nothing partial, nothing replaced
