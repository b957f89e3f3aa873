"""Subtitles in sync with real audio over a render of more than five minutes, with each engine.

Speech onsets are found in the decoded output with an energy detector of the test's own. Edge
(the loopback service's words are tone bursts with silences between them): every cue starts
within 40 ms of the onset of its first speech and ends no earlier than its last speech and at
most 0.5 s after it. Kokoro speaks each sentence whole, so a cue inside a sentence has no
silence before it: a cue that starts a sentence starts within 40 ms of its onset; the others
start on a word of the timeline, and where the audio pauses at clause punctuation the pause
lies between the words around it and the cue after it starts within 40 ms of the sound after
the pause (tests/test_timing_from_speech.py). Every cue that ends a sentence ends on its last
speech as above. The whole file must follow the default profile, as ``voicer subtitles-check``
says.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import srt
from speech_audio import decode, invoke_voicer, read_timeline
from test_timing_from_speech import cue_start_problems, pause_check, word_problems

from voicer.subtitles import formats as subtitles
from voicer.subtitles import rules
from voicer.subtitles.profiles import profile_for

pytestmark = pytest.mark.slow  # long renders, kokoro and edge

# Ten sentences of examples/speech.txt: the five that kokoro's subtitles split into several
# cues (every inner cue the whole example has), a title, a heading with an enumeration comma, a
# colon, numbers and a closing line. Repeated seven times they make over five minutes of
# audio; repeats come from the sentence cache, so the engine speaks each sentence once and the
# render costs what one copy costs, while the subtitles must stay in sync to the end of the
# programme. (All of examples/speech.txt four times, as before, had the same five splitting
# sentences among 19 to synthesise, for the same length.)
SPEECH = (
    "在全市科技创新大会上的讲话\n\n"
    "同志们、朋友们：\n\n"
    "今天，我们在这里召开全市科技创新大会，回顾过去一年的工作，部署下一阶段的任务。"
    "首先，我代表市委、市政府，向奋战在科研一线的同志们致以诚挚的问候！\n\n"
    "一、过去一年的主要成绩\n\n"
    "过去一年，全市研发投入增长12.5%，高新技术企业达到1280家。\n\n"
    "正如一位老科学家所说：“创新之路没有捷径，只有一步一个脚印。”\n\n"
    "第一，加强基础研究，支持高校和科研院所（包括新型研发机构）开展原创性探索。"
    "第二，推动成果转化，让更多的科研成果走出实验室、走向生产线。\n\n"
    "谢谢大家。\n"
)
LONG_SPEECH = "\n".join([SPEECH] * 7)


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


def check_sync(
    audio: Path,
    srt_path: Path,
    min_silence: float,
    starts: set[int] | None = None,
    ends: set[int] | None = None,
) -> None:
    """Cue starts on speech onsets, ends on the end of speech; ``starts`` and ``ends``: only
    the starts and the ends of these cues."""
    cues = list(srt.parse(srt_path.read_text(encoding="utf-8")))
    samples = decode(audio)
    runs = sound_runs(samples, 48000, min_silence)
    assert len(samples) / 48000 >= 300, "the render must last at least five minutes"
    onsets = np.array([start for start, _ in runs])
    misses = []
    for cue in cues:
        start, end = cue.start.total_seconds(), cue.end.total_seconds()
        nearest = onsets[np.argmin(np.abs(onsets - start))]
        if (starts is None or cue.index in starts) and abs(nearest - start) > 0.040:
            misses.append((cue.index, cue.content, start, nearest))
        if ends is not None and cue.index not in ends:
            continue
        inside = [run for run in runs if run[1] > start and run[0] < end]
        last_speech = max(run[1] for run in inside)
        # a decay's end depends on the detector's threshold: allow 25 ms between ours and voicer's
        assert last_speech - 0.025 <= end <= last_speech + 0.5, (cue.index, end, last_speech)
    assert not misses, misses[:5]


@pytest.fixture(scope="module")
def long_text(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("long")
    (folder / "long.txt").write_text(LONG_SPEECH, encoding="utf-8")
    return folder


def check_subtitles(folder: Path, name: str) -> None:
    """The file follows the default profile, by the library and by ``voicer subtitles-check``."""
    cues = subtitles.read(folder / name)
    assert rules.violations(cues, 1000, profile_for("zh")) == []
    checked = invoke_voicer("subtitles-check", name, cwd=folder)
    assert checked.returncode == 0, checked.stdout.decode() + checked.stderr.decode()
    assert checked.stdout.decode().strip() == f"{name}: no violations"


def test_kokoro_long_render_is_in_sync_and_follows_the_profile(long_text: Path):
    result = invoke_voicer(
        "render", "long.txt", "--engine", "kokoro", "-o", "k.wav", "--timeline", "k.json",
        cwd=long_text,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr.decode()
    assert "warning" not in result.stderr.decode()
    timeline = read_timeline(long_text / "k.json")
    # sentences are spoken whole: silences only before the cues that start a sentence
    firsts = {sentence.cues[0].index for sentence in timeline.sentences}
    lasts = {sentence.cues[-1].index for sentence in timeline.sentences}
    check_sync(long_text / "k.wav", long_text / "k.srt", 0.1, starts=firsts, ends=lasts)
    starts = cue_start_problems(timeline, long_text / "k.srt")
    assert starts.inner >= 20, starts.inner
    assert not starts.problems, starts.problems
    pauses = pause_check(decode(long_text / "k.wav"), timeline, long_text / "k.srt")
    print(pauses.summary())
    assert pauses.paused >= 40, pauses.summary()
    assert not pauses.problems, (pauses.summary(), pauses.problems[:10])
    check_subtitles(long_text, "k.srt")
    assert word_problems(timeline) == []


def test_edge_long_render_is_in_sync_and_follows_the_profile(long_text: Path, edge_server):
    result = invoke_voicer(
        "render", "long.txt", "--engine", "edge", "-o", "e.mp3", "--timeline", "e.json",
        cwd=long_text,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr.decode()
    # the loopback service's words are tone bursts with short silences between them
    check_sync(long_text / "e.mp3", long_text / "e.srt", min_silence=0.02)
    timeline = read_timeline(long_text / "e.json")
    starts = cue_start_problems(timeline, long_text / "e.srt")
    assert not starts.problems, starts.problems
    check_subtitles(long_text, "e.srt")
    assert word_problems(timeline) == []
