"""Word marks from the offline engine: Kokoro's own per-token durations, word by word."""

from __future__ import annotations

import re
from itertools import pairwise

import jieba
import numpy as np
import pytest
from misaki.zh import ZHG2P

from voicer.model import Clip, Mark, Prosody
from voicer.synthesis.engines import kokoro, kokoro_words
from voicer.synthesis.engines.onnx_outputs import with_output
from voicer.synthesis.speech import marks_on_pauses, speech_bounds, trim, trim_span

VOICE = "zm_yunxi"
# a long pause (the comma) between 开会 and 讨论, none between the other words
COMMA_SENTENCE = "今天我们开会，讨论明年的计划。"


def spoken_words(text: str) -> list[str]:
    """The words of a Chinese text as jieba cuts it, punctuation left out."""
    return [w for w in jieba.lcut(text) if re.fullmatch(r"[\u4e00-\u9fff]+", w)]


def check_marks(clip: Clip, words: list[str]) -> None:
    assert [m.text for m in clip.marks] == words
    previous_end = 0
    for mark in clip.marks:
        assert previous_end <= mark.start < mark.end <= len(clip.samples)
        previous_end = mark.end


@pytest.fixture(scope="module")
def comma_clip() -> Clip:
    return kokoro.KokoroEngine().synthesise(COMMA_SENTENCE, VOICE, Prosody())


@pytest.mark.slow
@pytest.mark.parametrize(
    "text", ["你好世界！", COMMA_SENTENCE, "同志们：会议将持续两天，请大家准时参加。"]
)
def test_every_duration_frame_is_600_samples(text):
    ids = kokoro._phoneme_ids(text)
    audio, durations = kokoro._infer(None, ids, kokoro._voice_styles(VOICE), 1.0)
    assert durations is not None
    assert len(durations) == len(ids) + 2  # the pad token at each end
    assert np.all(durations == np.rint(durations)) and np.all(durations >= 0)
    assert len(audio) == kokoro_words.SAMPLES_PER_FRAME * int(durations.sum())


@pytest.mark.slow
def test_one_mark_per_word_in_order_inside_the_clip(comma_clip):
    check_marks(comma_clip, spoken_words(COMMA_SENTENCE))
    assert comma_clip.marks[0].start > 0  # the leading silence is before the first word


@pytest.mark.slow
def test_the_pause_at_the_comma_lies_between_the_words_around_it(comma_clip):
    marks = comma_clip.marks
    gaps = {(a.text, b.text): b.start - a.end for a, b in pairwise(marks)}
    comma = gaps.pop(("开会", "讨论"))
    assert comma > max(gaps.values())
    # the words are on the speech: the comma's pause is quieter than either word around it
    samples = comma_clip.samples
    before, after = marks[2], marks[3]

    def loudness(start: int, end: int) -> float:
        return float(np.sqrt(np.mean(np.square(samples[start:end]))))

    pause = loudness(before.end, after.start)
    assert pause < loudness(before.start, before.end) / 3
    assert pause < loudness(after.start, after.end) / 3


@pytest.mark.slow
def test_a_text_split_into_pieces_gets_marks_across_the_whole_clip(monkeypatch):
    text = "今天我们开会，讨论明年的计划，大家准时参加。"
    monkeypatch.setattr(kokoro, "MAX_TOKENS", 45)  # too long for one call: three pieces
    # the marks as the durations give them, before they are moved onto the pauses
    monkeypatch.setattr(kokoro, "marks_on_pauses", lambda samples, rate, marks, early: marks)
    calls = []

    def infer(*args):
        audio, durations = real_infer(*args)
        calls.append((audio, durations))
        return audio, durations

    real_infer = kokoro._infer
    monkeypatch.setattr(kokoro, "_infer", infer)
    whole = kokoro.KokoroEngine().synthesise(text, VOICE, Prosody())
    assert len(calls) == 3
    check_marks(whole, spoken_words(text))
    # each piece's trimmed audio lies after the pieces and gaps before it, and its words' marks
    # start on its own token boundaries, counted from where its audio landed
    gap = round(kokoro.CLAUSE_GAP * kokoro.SAMPLE_RATE)
    at, marks = 0, list(whole.marks)
    for audio, durations in calls:
        start, stop = trim_span(audio, kokoro.SAMPLE_RATE)
        assert np.array_equal(whole.samples[at : at + stop - start], audio[start:stop])
        boundaries = set(kokoro_words.SAMPLES_PER_FRAME * np.cumsum(durations).astype(int))
        mine = [m for m in marks if m.start < at + stop - start]
        assert mine
        assert all(m.start - at + start in boundaries for m in mine)
        marks = marks[len(mine) :]
        at += stop - start + gap
    assert not marks
    assert len(whole.samples) == at - gap


def test_words_keep_the_text_as_written_and_say_the_readings_tones():
    vocabulary = kokoro._vocabulary()
    symbol = {i: p for p, i in vocabulary.items()}
    tones = "→↗↓↘"
    for text in [
        "2024年有3.5%的A计划。",
        "《红楼梦》（第一回）：他说“好”；走吧？",
        "AI时代，不错。",
    ]:
        said = "".join(symbol[i] for i in kokoro._phoneme_ids(text))
        misaki = [p for p in kokoro._g2p()(kokoro_words.spell_letters(text))[0] if p in vocabulary]
        # the sounds of misaki's G2P; only the tones are voicer's readings (after sandhi)
        assert [p for p in said if p not in tones] == [p for p in misaki if p not in tones]
        readings = kokoro_words.readings(text)
        expected = "".join(ZHG2P.py2ipa(s) for word in readings for s in word.pinyin)
        assert [p for p in said if p in tones] == [p for p in expected if p in tones]
        found = [word for word, _ in kokoro._word_tokens(text) if word]
        position = 0
        for word in found:  # each word is a piece of the text, in order
            position = text.index(word, position) + len(word)
    assert [w for w, _ in kokoro._word_tokens("2024年有3.5%的A计划")] == [
        "2024年", "", "有", "", "3.5%", "", "的", "", "A", "", "计划",
    ]  # fmt: skip


def test_marks_count_frames_from_after_the_leading_pad():
    # pad 3 frames, 你好 2 tokens of 2 frames, a space of 1, 世界 1 token of 4, pad 5
    durations = np.array([3, 2, 2, 1, 4, 5], dtype=float)
    found = kokoro_words.marks([("你好", 2), ("", 1), ("世界", 1)], durations, offset=-100)
    assert [(m.start, m.end, m.text) for m in found] == [
        (3 * 600 - 100, 7 * 600 - 100, "你好"),
        (8 * 600 - 100, 12 * 600 - 100, "世界"),
    ]


def test_trim_span_is_what_trim_keeps():
    rate = 1000
    samples = np.zeros(rate, np.float32)
    samples[200:700] = 0.5
    start, stop = trim_span(samples, rate)
    assert np.array_equal(trim(samples, rate), samples[start:stop])
    assert speech_bounds(samples, rate) == (200, 700)
    assert (start, stop) == (170, 730)
    assert trim_span(np.zeros(100, np.float32), rate) == (0, 0)


def test_cache_version_changed_with_marks():
    assert f"/marks {kokoro.MARKS_VERSION}" in kokoro.KokoroEngine().cache_version


def test_cache_version_changes_with_the_readings_rules():
    from voicer.script import pinyin

    digest = pinyin.rules_version()
    assert len(digest) == 12 and f"/readings {digest} " in kokoro.KokoroEngine().cache_version
    assert kokoro.KokoroEngine.word_marks


def test_marks_move_onto_the_pauses_of_the_audio():
    rate = 1000
    samples = np.zeros(2000, np.float32)
    samples[100:600] = samples[900:1500] = 0.5  # two words with a pause of 300 ms between
    late = [Mark(150, 700, "今天"), Mark(950, 1200, "开"), Mark(1200, 1560, "会")]
    moved = marks_on_pauses(samples, rate, late, early=20)
    assert [(m.start, m.end) for m in moved] == [(100, 600), (900, 1180), (1180, 1500)]


@pytest.mark.slow
def test_the_edited_model_has_the_durations_as_a_second_output_for_onnx_too():
    import onnx

    model = kokoro._read_model(None)
    edited = onnx.load_from_string(kokoro._with_durations(model))
    outputs = [(o.name, o.type.tensor_type.elem_type) for o in edited.graph.output]
    floats = onnx.TensorProto.FLOAT
    assert outputs == [("audio", floats), (kokoro.DURATIONS, floats)]
    original = onnx.load_from_string(model)
    assert edited.graph.node == original.graph.node  # nothing else changed
    assert with_output(model[:1000], kokoro.DURATIONS) is None  # cut short: left to onnxruntime
