"""The offline English voices (voicer[english]): real synthesis, word marks, the CLI, and the
refusal when the optional espeak-ng part is missing."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import srt
from speech_audio import decode, invoke_voicer, made_once, shared_temp, speech_runs

from voicer.errors import InputError
from voicer.model import Prosody
from voicer.synthesis.engines import kokoro_english
from voicer.synthesis.engines.kokoro import KokoroEngine
from voicer.synthesis.engines.selection import choose

pytestmark = pytest.mark.skipif(
    not kokoro_english.available(), reason="needs the extra voicer[english]"
)

TEXT = "Good morning, everyone. We spent 2,500 dollars in 2024!"
WORDS = ["Good", "morning", "everyone", "We", "spent", "2,500", "dollars", "in", "2024"]


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory, worker_id: str):
    """TEXT spoken by af_heart, once in the session (by the first worker process to need it)."""

    def speak(folder: Path) -> None:
        spoken = KokoroEngine().synthesise(TEXT, "af_heart", Prosody())
        (folder / "clip.pickle").write_bytes(pickle.dumps(spoken))

    folder = made_once(shared_temp(tmp_path_factory, worker_id) / "kokoro-english-clip", speak)
    return pickle.loads((folder / "clip.pickle").read_bytes())


def test_words_keep_the_text_as_written():
    found = kokoro_english.words(TEXT, "en-us")
    assert [w.text for w in found if w.text] == WORDS
    assert all(w.phonemes.strip() for w in found if w.text)
    # punctuation stays between the words, where the model hears it as a pause
    assert ("", ",") in found and ("", "!") in found


def test_numbers_with_a_comma_or_point_are_read_whole():
    found = dict(kokoro_english.words("It cost 2,500 dollars, up 3.5 percent.", "en-us"))
    assert "θˈWzənd" in found["2,500"] and "," not in found["2,500"]  # two thousand five hundred
    assert "pYnt" in found["3.5"]  # three point five


@pytest.mark.slow
def test_synthesis_is_speech_of_plausible_length(clip):
    seconds = clip.samples.size / clip.sample_rate
    assert clip.sample_rate == 24000
    # "2,500" and "2024" are read as four words each
    assert 0.2 * (len(WORDS) + 6) < seconds < 0.6 * (len(WORDS) + 6) + 1
    assert np.sqrt(np.mean(np.square(clip.samples))) > 0.02
    runs = speech_runs(clip.samples, clip.sample_rate, min_silence=0.15)
    assert len(runs) >= 2  # the full stop is heard


@pytest.mark.slow
def test_one_mark_per_word_in_order(clip):
    marks = clip.marks
    assert [m.text for m in marks] == WORDS
    assert all(m.start < m.end for m in marks)
    assert all(a.end <= b.start for a, b in zip(marks, marks[1:], strict=False))
    assert marks[-1].end <= clip.samples.size
    lengths = {m.text: (m.end - m.start) / clip.sample_rate for m in marks}
    assert 0.03 < lengths["in"] < 0.4 and 0.5 < lengths["2024"] < 2.5


@pytest.mark.slow
def test_each_word_mark_holds_sound(clip):
    for mark in clip.marks:
        part = clip.samples[mark.start : mark.end]
        assert np.abs(part).max() > 0.05, mark


@pytest.mark.slow
def test_british_voice_speaks():
    clip = KokoroEngine().synthesise("Thank you.", "bm_george", Prosody())
    assert 0.4 < clip.samples.size / clip.sample_rate < 2.5
    assert [m.text for m in clip.marks] == ["Thank", "you"]


def test_voices_are_listed_with_their_accent():
    result = invoke_voicer("voices", "--engine", "kokoro", cwd=Path.cwd())
    out = result.stdout.decode()
    assert result.returncode == 0, result.stderr.decode()
    for name, language in [
        ("af_heart", "en-US"),
        ("am_michael", "en-US"),
        ("bf_emma", "en-GB"),
        ("bm_george", "en-GB"),
    ]:
        assert any(name in line and language in line for line in out.splitlines()), out


@pytest.mark.slow
def test_cli_renders_english_offline_with_word_timed_subtitles(tmp_path: Path):
    (tmp_path / "talk.txt").write_text("Good morning.\nThank you all for coming.\n")
    result = invoke_voicer(
        "render", "talk.txt", "--engine", "kokoro", "-o", "talk.wav", "--srt", "talk.srt",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr.decode()
    samples = decode(tmp_path / "talk.wav")
    runs = speech_runs(samples)
    assert len(runs) >= 2 and 1.5 < samples.size / 48000 < 8
    cues = list(srt.parse((tmp_path / "talk.srt").read_text(encoding="utf-8")))
    text = " ".join(c.content for c in cues)
    assert "Good morning" in text and "coming" in text
    assert all(c.start < c.end for c in cues)


@pytest.mark.slow
def test_auto_falls_back_to_english_kokoro_when_edge_is_unreachable(tmp_path: Path):
    (tmp_path / "talk.txt").write_text("Good morning.\n")
    result = invoke_voicer("render", "talk.txt", "-o", "talk.wav", cwd=tmp_path)
    stderr = result.stderr.decode()
    assert result.returncode == 0, stderr
    assert "using the offline kokoro engine" in stderr
    assert decode(tmp_path / "talk.wav").size > 48000 * 0.4


def test_english_voice_by_name_and_edge_voice_mapped():
    assert choose("kokoro", "bf_emma", "en").voice == "bf_emma"
    mapped = choose("kokoro", "en-GB-RyanNeural", "en")
    assert mapped.voice == "bm_george" and "online only" in mapped.notices[0]
    assert choose("kokoro", None, "en").voice == "af_heart"


def test_without_the_extra_english_is_refused_in_one_line(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(kokoro_english, "available", lambda: False)
    assert not KokoroEngine().speaks("en") and KokoroEngine().speaks("zh")
    for engine, voice in [("kokoro", None), ("kokoro", "af_heart"), ("auto", None)]:
        with pytest.raises(InputError) as caught:
            choose(engine, voice, "en", probe_timeout=1.0)
        message = str(caught.value)
        assert "pip install 'voicer[english]'" in message and "\n" not in message
