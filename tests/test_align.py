"""voicer align: features, the warping path, and captions of generated recordings (another
kokoro voice at other rates and pauses, noise and a chord bed, music before the speech, a cut
paragraph, and espeak-ng as another synthesiser) against the truth their renders tell."""

from __future__ import annotations

import json
import subprocess
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from align_media import Reading, espeak_reading, kokoro_reading, treated, write
from speech_audio import invoke_voicer, made_once, shared_temp

from voicer import ffmpeg
from voicer.align import dtw, features, mapping, onsets
from voicer.align.mapping import SentenceFit, TimeMap
from voicer.audio.stream import ArraySignal
from voicer.model import Mark, Placement, Segment
from voicer.subtitles import formats, rules
from voicer.subtitles.profiles import profile_for

SCRIPT = """各位代表：

今天我们召开全市工作会议，总结过去一年的成绩。全市经济保持稳定增长，人民生活持续改善。

我们也要看到，发展中还有不少困难和问题。城乡差距依然较大，创新能力有待提高。

让我们团结一心，为实现今年的目标而努力奋斗！
"""
CUT = SCRIPT.replace(
    "我们也要看到，发展中还有不少困难和问题。城乡差距依然较大，创新能力有待提高。\n\n", ""
)


def smooth_frames(count: int, seed: int, dims: int = 39) -> np.ndarray:
    """Features that change over a few frames, as speech's do: noise averaged over 5 frames,
    normalised."""
    noise = np.random.default_rng(seed).standard_normal((count + 4, dims))
    averaged = sum(noise[k : k + count] for k in range(5))
    return features.normalised(averaged.astype(np.float32))


def stretched(frames: np.ndarray, factor: float) -> tuple[np.ndarray, np.ndarray]:
    """``frames`` played ``factor`` times slower, and for each of their rows the first new row."""
    rows = np.minimum(
        (np.arange(round(len(frames) * factor)) / factor).astype(int), len(frames) - 1
    )
    return frames[rows], np.searchsorted(rows, np.arange(len(frames)))


# --- the path -----------------------------------------------------------------------------------


@pytest.mark.parametrize("factor", [0.8, 1.25])
def test_the_path_follows_a_slower_or_faster_copy_between_unrelated_frames(factor):
    reference = smooth_frames(3000, seed=1)
    copy, truth = stretched(reference, factor)
    noise = np.random.default_rng(2).standard_normal(copy.shape).astype(np.float32) * 0.3
    before, after = smooth_frames(400, seed=3), smooth_frames(300, seed=4)
    recording = np.concatenate([before, copy + noise, after])
    path = dtw.warp(reference, recording, most_cells=100_000)  # three scales
    first = TimeMap.along(path, 0, 1).first
    assert np.abs(first - (truth + len(before))).max() <= 2
    assert path.columns[0] >= len(before) - 2 and path.columns[-1] < len(before) + len(copy) + 2


def test_memory_follows_the_band_not_the_whole_matrix():
    reference, recording = smooth_frames(12000, seed=5), smooth_frames(13000, seed=6)
    tracemalloc.start()
    try:
        dtw.warp(reference, recording)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    whole = len(reference) * len(recording)  # a byte per cell would be 156 MB
    assert peak < whole / 10


def test_features_are_39_normalised_values_every_10_ms_whatever_the_block():
    rng = np.random.default_rng(8)
    samples = (rng.standard_normal(24000 * 50) * np.sin(np.arange(24000 * 50) / 3000)).astype(
        np.float32
    )
    found = features.features(ArraySignal(samples, 24000))
    assert found.shape == (5000, 39)
    assert np.allclose(found.mean(axis=0), 0, atol=1e-3)
    assert np.allclose(found.std(axis=0), 1, atol=1e-3)
    part = features.features(ArraySignal(samples, 24000), 24000 * 10, 24000 * 20)
    assert part.shape == (1000, 39)  # normalised over the part alone


# --- from the path to the recording -------------------------------------------------------------


def placement(index: int, start: int, end: int, line: int) -> Placement:
    segment = Segment(index, f"第{index}句。", f"第{index}句。", 0, line, 1, False)
    marks = (Mark(start, start + 50, "第"), Mark(start + 50, end, f"{index}句"))
    return Placement(segment, start, end, marks)


def test_carried_placements_keep_their_marks_in_order_inside_their_speech():
    times = TimeMap(0, 10, np.array([0, 0, 5, 9, 9, 9, 20]), np.array([0, 4, 8, 9, 9, 19, 30]))
    moved = mapping.carried([placement(0, 5, 65, 1)], times)[0]
    assert (moved.speech_start, moved.speech_end) == (5, 305)
    spans = [(mark.start, mark.end) for mark in moved.marks]
    assert spans == sorted(spans)
    assert all(moved.speech_start <= a < b <= moved.speech_end for a, b in spans)


def burst(seconds: float, rate: int, seed: int) -> np.ndarray:
    """Speech-like sound: noise shaped by a 4 Hz syllable rhythm."""
    time = np.arange(round(seconds * rate)) / rate
    noise = np.random.default_rng(seed).standard_normal(len(time))
    return (noise * (0.6 + 0.4 * np.sin(2 * np.pi * 4 * time)) * 0.1).astype(np.float32)


def test_a_start_is_found_again_near_the_paths_start_though_noise_hides_it():
    rate = 24000
    said = np.concatenate([np.zeros(rate), burst(1.0, rate, 1), np.zeros(rate)])
    heard = np.concatenate([np.zeros(2 * rate), burst(1.0, rate, 1), np.zeros(rate)])
    heard += np.random.default_rng(2).standard_normal(len(heard)).astype(np.float32) * 0.02
    for off_ms in (-120, 0, 90):
        placed = 2 * rate + rate * off_ms // 1000
        found = onsets.refined_starts(
            ArraySignal(said, rate), ArraySignal(heard, rate), [rate], [placed], 1.0
        )[0]
        assert abs(found.start - 2 * rate) <= rate * 10 // 1000, off_ms
        assert found.moved < mapping.MOVED_ABOVE


def test_sound_in_the_pause_before_a_start_is_stray():
    rate = 24000
    quiet = np.zeros(rate // 2, dtype=np.float32)
    words = burst(0.3, rate, 3)
    pause = np.zeros(rate // 5, dtype=np.float32)
    heard = np.concatenate([burst(1.0, rate, 4), quiet, words, pause, burst(1.0, rate, 5)])
    start = len(heard) - rate
    found = onsets.stray(ArraySignal(heard, rate), start, previous_end=rate)
    assert 0.25 <= found <= 0.35
    clean = np.concatenate([burst(1.0, rate, 4), quiet, quiet, burst(1.0, rate, 5)])
    assert onsets.stray(ArraySignal(clean, rate), 2 * rate, previous_end=rate) == 0


def test_a_start_moved_later_takes_the_words_before_it_along():
    moved = mapping.restarted([placement(0, 100, 400, 1)], [170])[0]
    assert moved.speech_start == 170 and moved.speech_end == 400
    assert [(mark.start, mark.end) for mark in moved.marks] == [(170, 171), (170, 400)]
    earlier = mapping.restarted([placement(0, 100, 400, 1)], [60])[0]
    assert [mark.start for mark in earlier.marks] == [60, 150]


def test_a_sentence_squeezed_to_nothing_is_missing_and_the_verdict_names_its_lines():
    placements = [placement(i, i * 1000, i * 1000 + 800, line=2 * i + 1) for i in range(5)]
    sound, gone = SentenceFit(1.0, 1.0, 1.0), SentenceFit(1.6, 0.05, 0.05)
    fits = [sound, sound, gone, gone, sound]
    judged = mapping.judged(placements, fits, mapping.Match(0.7, 0.8))
    assert judged.missing == (False, False, True, True, False)
    assert judged.doubtful == judged.missing
    assert not judged.unfollowed
    assert "from 5:1 to 7:1 not in the recording" in str(judged.verdict)


def test_a_recording_of_another_text_does_not_follow_the_script():
    placements = [placement(i, i * 1000, i * 1000 + 800, line=i + 1) for i in range(4)]
    unmatched, sound = SentenceFit(1.5, 0.6, 0.6), mapping.Match(0.7, 0.8)
    judged = mapping.judged(placements, [unmatched] * 3 + [SentenceFit(1, 1, 1)], sound)
    assert judged.unfollowed and "does not follow the script" in str(judged.verdict)
    wandering = mapping.Match(diagonal=0.4, speech_cost=0.88)
    judged = mapping.judged(placements, [SentenceFit(1, 1, 1)] * 4, wandering)
    assert judged.unfollowed and all(judged.doubtful)


# --- generated recordings, aligned by the command ---------------------------------------------


@pytest.fixture(scope="module")
def recordings(tmp_path_factory, worker_id) -> dict[str, Reading]:
    """The test script and its recordings, made once per session (kokoro's clips cached)."""

    def make(folder: Path) -> None:
        (folder / "speech.txt").write_text(SCRIPT, encoding="utf-8")
        (folder / "cut.txt").write_text(CUT, encoding="utf-8")
        produce(folder)

    folder = made_once(shared_temp(tmp_path_factory, worker_id) / "align", make)
    return produce(folder)


def produce(folder: Path) -> dict[str, Reading]:
    script = folder / "speech.txt"
    fast = kokoro_reading(script, folder, "fast", rate="+15%", sentence_pause_ms=250)
    slow = kokoro_reading(
        script, folder, "slow", rate="-10%", sentence_pause_ms=900, paragraph_pause_ms=500
    )
    return {
        "fast": fast,
        "noisy": treated(slow, folder / "noisy.m4a", snr_db=10, bed_db=-10),
        "music": treated(fast, folder / "music.flac", snr_db=10, bed_db=-10, music_before=5.0),
        "cut": kokoro_reading(folder / "cut.txt", folder, "cut"),
        "espeak": espeak_reading(script, folder),
    }


def aligned(reading: Reading, folder: Path, script: Path | None = None):
    """``voicer align`` run on ``reading``; its exit, stdout and timeline."""
    script = script or reading.path.parent / "speech.txt"
    timeline = folder / f"{reading.path.stem}.json"
    srt = folder / f"{reading.path.stem}.srt"
    args = [str(script), str(reading.path), "-o", str(srt), "--timeline", str(timeline)]
    done = invoke_voicer("align", *args, cwd=folder, text=True)
    document = json.loads(timeline.read_text(encoding="utf-8")) if timeline.exists() else None
    return done, document


def cue_errors(reading: Reading, document: dict) -> np.ndarray:
    found = {cue["text"]: cue["start"] for s in document["sentences"] for cue in s["cues"]}
    assert {text for _, text in reading.cues} == set(found)
    return np.array([abs(found[text] - start) for start, text in reading.cues])


@pytest.mark.slow
def test_captions_of_another_voice_at_other_rates_with_noise_and_music_meet_the_targets(
    recordings, tmp_path
):
    errors, unflagged = [], []
    for name in ("fast", "noisy", "music"):
        done, document = aligned(recordings[name], tmp_path)
        assert done.returncode == 0, done.stdout + done.stderr  # nothing doubted, first nor last
        errors += list(cue_errors(recordings[name], document))
        for sentence in document["sentences"]:
            late = abs(sentence["start"] - recordings[name].starts[sentence["index"]])
            if late > 0.25 and not sentence["doubtful"]:
                unflagged.append((name, sentence["index"], late))
        cues = formats.read(tmp_path / f"{recordings[name].path.stem}.srt")
        assert rules.violations(cues, 1000, profile_for("zh"), 1) == []
    errors = np.array(errors)
    assert (errors <= 0.1).mean() >= 0.95
    assert np.median(errors) <= 0.04
    assert unflagged == []


@pytest.mark.slow
def test_word_starts_of_another_voice_fall_within_a_quarter_second(recordings, tmp_path):
    done, document = aligned(recordings["fast"], tmp_path)
    assert done.returncode in (0, 1), done.stderr
    truth = recordings["fast"].words
    errors = [
        abs(word["start"] - start)
        for sentence in document["sentences"]
        for word, start in zip(sentence["words"], truth[sentence["index"]], strict=True)
    ]
    assert max(errors) <= 0.25 and np.median(errors) <= 0.04


@pytest.mark.slow
def test_a_cut_paragraph_is_reported_in_one_line_and_left_out_of_the_captions(recordings, tmp_path):
    done, document = aligned(recordings["cut"], tmp_path)
    assert done.returncode == 1
    verdicts = [line for line in done.stdout.splitlines() if "does not follow the script" in line]
    assert len(verdicts) == 1 and "from 5:1 to 5:" in verdicts[0], done.stdout
    shown = {sentence["text"] for sentence in document["sentences"]}
    assert not any("城乡差距" in text or "困难和问题" in text for text in shown)
    assert {m["line"] for m in document["missing"]} == {5}


@pytest.mark.slow
def test_another_synthesiser_every_sentence_off_by_more_than_a_quarter_second_is_doubtful(
    recordings, tmp_path
):
    reading = recordings["espeak"]
    done, document = aligned(reading, tmp_path)
    off = [
        sentence
        for sentence in document["sentences"]
        if abs(sentence["start"] - reading.starts[sentence["index"]]) > 0.25
    ]
    assert all(sentence["doubtful"] for sentence in off)
    doubtful = [s for s in document["sentences"] if s["doubtful"]]
    assert done.returncode == (1 if doubtful else 0)
    for sentence in doubtful:
        assert f"speech.txt:{sentence['line']}:{sentence['column']}: doubtful" in done.stdout


@pytest.mark.slow
def test_another_text_is_refused_in_one_line_and_nothing_is_written(recordings, tmp_path):
    other = tmp_path / "other.txt"
    other.write_text(
        "春天来了，万物复苏。小河里的冰慢慢融化，燕子从南方飞回来了。"
        "孩子们在田野里放风筝，笑声传得很远。\n",
        encoding="utf-8",
    )
    done, document = aligned(recordings["fast"], tmp_path, other)
    assert done.returncode == 1
    assert document is None and not (tmp_path / "fast.srt").exists()
    assert done.stderr.count("\n") == 2 and "does not follow the script" in done.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["speech.txt", "missing.wav"], "missing.wav: no such file"),
        (["speech.txt", "speech.txt"], "speech.txt: no sound"),
        (["speech.txt", "rec.wav", "-o", "out.txt"], "unknown subtitle format '.txt'"),
        (["speech.txt", "rec.wav", "--timeline", "t.txt"], "must be written to a .json file"),
        (["speech.srt", "rec.wav", "-o", "speech.srt"], "is an input of this alignment"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_nothing_written(tmp_path, args, message):
    for name in ("speech.txt", "speech.srt"):
        (tmp_path / name).write_text(SCRIPT, encoding="utf-8")
    write(np.zeros(48000, dtype=np.float32), tmp_path / "rec.wav")
    before = sorted(tmp_path.iterdir())
    done = invoke_voicer("align", *args, cwd=tmp_path, text=True)
    assert done.returncode == 2
    assert message in done.stderr and done.stderr.count("\n") == 1, done.stderr
    assert sorted(tmp_path.iterdir()) == before


def sound_md5(path: Path) -> str:
    """The MD5 of a media file's first audio stream as stored (packets copied, not decoded)."""
    command = [ffmpeg.executable(), "-v", "error", "-i", str(path), "-map", "0:a:0"]
    command += ["-c", "copy", "-f", "md5", "-"]
    return subprocess.run(command, capture_output=True, check=True).stdout.decode().strip()


def navy_video(path: Path, sound: Path | None, seconds: float | None = None) -> Path:
    """A plain navy picture at 25 fps, with ``sound`` (as long as it) or silent."""
    command = [ffmpeg.executable(), "-v", "error", "-f", "lavfi", "-i"]
    command += ["color=c=navy:s=320x240:r=25"]
    command += ["-i", str(sound), "-shortest", "-c:a", "aac"] if sound else ["-t", str(seconds)]
    subprocess.run([*command, "-c:v", "libx264", str(path)], check=True)
    return path


def listing(path: Path) -> str:
    command = [ffmpeg.executable(), "-hide_banner", "-i", str(path)]
    return subprocess.run(command, capture_output=True, check=False).stderr.decode()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("asked", "burn_in", "captions"),
    [
        (["-o", "out.mp4"], False, "out.srt"),
        (["-o", "out.mkv"], True, "out.srt"),
        (["--video", "out.mkv"], False, "delivered.srt"),  # the older spelling
    ],
)
def test_a_video_recording_is_captioned_with_its_own_sound_untouched(
    recordings, tmp_path, asked, burn_in, captions
):
    recording = navy_video(tmp_path / "delivered.mp4", recordings["fast"].path)
    args = [str(recordings["fast"].path.parent / "speech.txt"), str(recording), *asked]
    done = invoke_voicer("align", *args, *(["--burn-in"] if burn_in else []), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    video = tmp_path / asked[1]
    media = ffmpeg.probe(video)
    assert media is not None and media.picture is not None
    assert sound_md5(video) == sound_md5(recording)
    assert formats.read(tmp_path / captions)  # as render writes them beside its video
    assert ("Subtitle:" in listing(video)) != burn_in


@pytest.mark.slow
def test_video_in_gives_the_picture_and_the_recordings_sound_goes_on_after_it(recordings, tmp_path):
    speech = recordings["fast"]
    picture = navy_video(tmp_path / "camera.mp4", None, seconds=3.0)
    args = [str(speech.path.parent / "speech.txt"), str(speech.path)]
    done = invoke_voicer("align", *args, "--video-in", str(picture), "-o", "out.mkv", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    media, heard = ffmpeg.probe(tmp_path / "out.mkv"), ffmpeg.probe(speech.path)
    assert media is not None and heard is not None and media.duration and heard.duration
    assert sound_md5(tmp_path / "out.mkv") == sound_md5(speech.path)
    assert abs(media.duration - heard.duration) < 0.1  # the picture's last frame held
    assert "Subtitle:" in listing(tmp_path / "out.mkv") and formats.read(tmp_path / "out.srt")


@pytest.mark.parametrize(
    ("asked", "message"),
    [
        (["-o", "out.mp4"], "rec.wav has no moving picture"),
        (["--video", "out.mp4"], "rec.wav has no moving picture"),
        (["--video-in", "rec.wav", "-o", "out.mp4"], "not a video to narrate"),
        (["--video-in", "missing.mp4", "-o", "out.mp4"], "missing.mp4: no such file"),
        (["--video-in", "rec.wav"], "--video-in: no video to write"),
        (["-o", "out.mp4", "--video", "more.mp4"], "-o names the video already"),
    ],
)
def test_a_video_output_needs_a_picture(tmp_path, asked, message):
    (tmp_path / "speech.txt").write_text(SCRIPT, encoding="utf-8")
    write(np.zeros(48000, dtype=np.float32), tmp_path / "rec.wav")
    done = invoke_voicer("align", "speech.txt", "rec.wav", *asked, cwd=tmp_path, text=True)
    assert done.returncode == 2 and message in done.stderr, done.stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == ["rec.wav", "speech.txt"]


def test_a_sound_the_video_file_cannot_hold_is_refused_before_any_work(tmp_path):
    (tmp_path / "speech.txt").write_text(SCRIPT, encoding="utf-8")
    write(np.zeros(48000, dtype=np.float32), tmp_path / "rec.wav")
    navy_video(tmp_path / "delivered.mp4", tmp_path / "rec.wav")  # its sound AAC, which WebM lacks
    args = ("speech.txt", "delivered.mp4", "-o", "out.webm")
    done = invoke_voicer("align", *args, cwd=tmp_path, text=True)
    assert done.returncode == 2, done.stderr
    assert "cannot go into out.webm" in done.stderr and done.stderr.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["delivered.mp4", "rec.wav", "speech.txt"]
