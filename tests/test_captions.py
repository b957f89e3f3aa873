"""Caption segmentation, line layout and cue timing rules."""

from __future__ import annotations

import os
import re
from dataclasses import replace
from pathlib import Path

import jieba
import numpy as np
import pytest
import srt
from hypothesis import given, settings
from hypothesis import strategies as st
from speech_audio import invoke_voicer

from voicer.audio.stream import ArraySignal
from voicer.model import Cue, Mark, Placement, Programme, Segment
from voicer.script.prepare import spoken_text
from voicer.subtitles import captions, rules
from voicer.subtitles.captions import display, layout, split_captions, timed_captions, tokenise
from voicer.subtitles.cues import fit_to_profile, programme_cues, sentence_timing
from voicer.subtitles.profiles import profile_for

ZH = profile_for("zh")
PLAIN = profile_for("zh", style="plain")
LATIN = profile_for("en")

_WORDS = ["我们", "发展", "经济", "科技创新", "重点", "实验室", "人才", "政府", "工作", "报告"]
_PIECES = st.sampled_from(
    [
        *_WORDS,
        "，",
        "、",
        "：",
        "。",
        "！",
        "“",
        "”",
        "（",
        "）",
        "12.5%",
        "《政府工作报告》",
        "GDP",
        "的",
    ]
)


@st.composite
def chinese_sentences(draw: st.DrawFn) -> str:
    return "".join(draw(st.lists(_PIECES, min_size=1, max_size=40)))


@st.composite
def english_sentences(draw: st.DrawFn) -> str:
    words = draw(
        st.lists(
            st.sampled_from(["the", "economy", "grew", "by", "5.2%", "and", "science,"]),
            min_size=1,
            max_size=40,
        )
    )
    return " ".join(words) + "."


def strip_convention(text: str) -> str:
    return re.sub(r"[\s，。、；,;：:]", "", text)


@pytest.mark.slow
@settings(max_examples=200, deadline=None)
@given(chinese_sentences())
def test_cue_texts_join_back_to_the_sentence(sentence):
    captions = split_captions(sentence, ZH)
    assert "".join(c.text for c in captions) == sentence
    assert [c.start for c in captions] == [
        sum(len(p.text) for p in captions[:i]) for i in range(len(captions))
    ]
    # what is shown is the sentence too, apart from the punctuation convention
    shown = "".join("".join(c.lines) for c in captions)
    assert strip_convention(shown) == strip_convention(sentence)


@settings(max_examples=200, deadline=None)
@given(chinese_sentences())
def test_lines_fit_unless_one_token_is_longer(sentence):
    longest_token = max(ZH.width(t) for t in tokenise(sentence))
    for caption in split_captions(sentence, ZH):
        assert len(caption.lines) <= ZH.max_lines or longest_token > ZH.max_chars
        for line in caption.lines:
            assert ZH.width(line) <= ZH.max_chars or longest_token > ZH.max_chars


@pytest.mark.slow
@settings(max_examples=100, deadline=None)
@given(english_sentences())
def test_latin_lines_fit_and_join_back(sentence):
    captions = split_captions(sentence, LATIN)
    assert "".join(c.text for c in captions) == sentence
    for caption in captions:
        assert all(len(line) <= 42 for line in caption.lines)
        assert not any(line != line.strip() for line in caption.lines)


@pytest.mark.slow
@settings(max_examples=200, deadline=None)
@given(chinese_sentences())
def test_zh_netflix_lines_have_no_comma_or_full_stop(sentence):
    for caption in split_captions(sentence, ZH):
        for line in caption.lines:
            assert "，" not in line and "。" not in line
            assert not line.endswith(("、", "；"))


def test_never_break_inside_numbers_titles_or_words():
    sentence = (
        "根据《中华人民共和国国民经济和社会发展第十四个五年规划纲要》要求，全市研发投入增长12.5%。"
    )
    captions = split_captions(sentence, ZH)
    shown = [line for c in captions for line in c.lines]
    assert any("《中华人民共和国国民经济和社会发展第十四个五年规划纲要》" in line for line in shown)
    assert any("12.5%" in line for line in shown)
    assert "研发" in tokenise("全市研发投入增长") and "实验室" in tokenise("重点实验室")


# A number range or a number with its unit, as the tests below look for it in what is shown.
NUMBER_SPAN = re.compile(r"\d[\d.,]*(?:[-～至—]\d[\d.,]*)?(?:[%℃年月日家]|万元)")
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def broken_number_spans(lines: list[str]) -> list[str]:
    """The number ranges and numbers with units that ``lines`` (read in order) cut in two."""
    ends = [sum(map(len, lines[: n + 1])) for n in range(len(lines) - 1)]
    text = "".join(lines)
    return [
        m.group() for m in NUMBER_SPAN.finditer(text) if any(m.start() < e < m.end() for e in ends)
    ]


@pytest.mark.parametrize("span", ["3-5年", "3～5年", "2024—2025年", "5.2万元", "30℃"])
def test_lines_never_break_inside_a_number_range_or_a_number_with_its_unit(span):
    before, after = "全市各类高新技术企业的数量", "左右且比上年同期明显增长"
    for a in range(3, len(before) + 1):
        for b in range(3, len(after) + 1):
            lines = layout(tokenise(before[-a:] + span + after[:b]), ZH)
            assert lines is None or not broken_number_spans(list(lines)), lines


@pytest.mark.slow
def test_the_drafts_render_never_breaks_a_number_range_or_unit(tmp_path):
    args = ["--fill-file", str(EXAMPLES / "draft-fills.toml"), "--engine", "tone"]
    draft = str(EXAMPLES / "draft.txt")
    result = invoke_voicer("render", draft, *args, "-o", "out.mp3", cwd=tmp_path)
    assert result.returncode == 0, result.stderr.decode()
    cues = list(srt.parse((tmp_path / "out.srt").read_text(encoding="utf-8")))
    lines = [line for cue in cues for line in cue.content.split("\n")]
    assert any("3-5年" in line for line in lines)
    assert broken_number_spans(lines) == []


def test_two_lines_are_balanced_and_one_line_when_it_fits():
    (caption,) = split_captions("我们建成了三个重点实验室，引进各类人才两千余名。", ZH)
    top, bottom = caption.lines
    assert abs(ZH.width(top) - ZH.width(bottom)) <= 4
    assert split_captions("谢谢大家。", ZH)[0].lines == ("谢谢大家",)


def test_punctuation_convention_and_plain_style():
    assert display(tokenise("他说：“好，我们走！”"), ZH) == "他说：“好 我们走！”"
    assert display(tokenise("正如所说：“只有一步一个脚印。”"), ZH) == "正如所说：“只有一步一个脚印”"
    assert layout(tokenise("今天，我们开会。"), PLAIN) == ("今天，我们开会。",)


def test_long_sentences_are_split_into_cues_short_enough_to_speak_in_7_seconds():
    sentence = "，".join(["我们要坚持稳中求进工作总基调"] * 8) + "。"
    captions = split_captions(sentence, ZH)
    assert len(captions) >= 4
    assert all(sum(c.isalnum() for c in cap.text) * 0.2 <= 7 for cap in captions)


SR = 1000  # cue times in milliseconds for readability


def cue(start: int, end: int) -> Cue:
    return Cue(start, end, ("字",), "字", 0)


def test_short_gaps_close_to_two_frames_and_short_cues_grow():
    fitted = fit_to_profile([cue(0, 1000), cue(1300, 2300), cue(5000, 5400)], SR, ZH)
    assert fitted[0].end == 1300 - 80  # gap of 300 ms (<= 12 frames) closed down to 2 frames
    assert fitted[1].end == 2300  # the next cue is far: it ends on its speech
    assert fitted[2].end == 5400 + 433  # grown to the 833 ms minimum


def test_cue_ends_never_run_into_the_next_cue_nor_linger_past_500_ms():
    fitted = fit_to_profile([cue(0, 200), cue(400, 1500)], SR, ZH)
    assert fitted[0].end == 400 - 80
    fitted = fit_to_profile([cue(0, 100), cue(3000, 4000)], SR, ZH)
    assert fitted[0].end == 600  # min duration would want 833, linger allows 500 after speech


@given(st.lists(st.tuples(st.integers(0, 500), st.integers(1, 8000)), min_size=1, max_size=30))
def test_fitted_cues_are_ordered_with_minimum_gaps_when_speech_allows(spans):
    cues = []
    position = 0
    for gap, length in spans:
        position += gap + 80  # speech never closer than the minimum gap here
        cues.append(cue(position, position + length))
        position += length
    fitted = fit_to_profile(cues, SR, ZH)
    for before, after in zip(fitted, fitted[1:], strict=False):
        assert after.start - before.end >= 80
    for original, result in zip(cues, fitted, strict=True):
        assert result.start == original.start
        assert original.end <= result.end <= original.end + 500


def spoken_at(shown: str, spoken: str, per_character: int, pause: int = 300) -> Placement:
    """A sentence whose words (jieba's) are spoken back to back, ``per_character`` ms each
    character, with ``pause`` ms at each punctuation mark: its placement, marks included."""
    marks, at = [], 100
    for word in tokenise(spoken):
        if any(c.isalnum() for c in word):
            marks.append(Mark(at, at + per_character * len(word), word))
            at += per_character * len(word)
        else:
            at += pause
    segment = Segment(0, shown, spoken, 0, 1, 1, True)
    return Placement(segment, marks[0].start, marks[-1].end, tuple(marks))


def cues_of(placement: Placement, profile=ZH) -> list[Cue]:
    silence = ArraySignal(np.zeros(placement.speech_end + 1000, np.float32), SR)
    return programme_cues(Programme(silence, (placement,)), profile)


SENTENCE = "第二，推动成果转化，让更多的科研成果走出实验室、走向生产线，服务经济社会发展大局。"


def test_cues_start_on_word_marks_and_hold_no_more_than_7_seconds_of_speech():
    placement = spoken_at(SENTENCE, SENTENCE, per_character=220)
    found = cues_of(placement)
    starts = {mark.start for mark in placement.marks}
    assert "".join(c.text for c in found) == SENTENCE
    assert all(c.start in starts for c in found)
    assert all(c.end - c.start <= 7000 for c in found)
    assert rules.violations(found, SR, ZH) == []


def test_slow_speech_is_cut_into_more_cues_than_quick_speech():
    quick = cues_of(spoken_at(SENTENCE, SENTENCE, per_character=150))
    slow = cues_of(spoken_at(SENTENCE, SENTENCE, per_character=450))
    assert len(slow) > len(quick)
    assert all(c.end - c.start <= 7000 for c in slow)
    assert rules.violations(slow, SR, ZH) == []


def test_a_cue_never_breaks_inside_a_word_as_spoken():
    shown = "今年全省地区生产总值增长12.5%，比上年提高3个百分点，创近十年新高，人均收入稳步提高。"
    placement = spoken_at(shown, spoken_text(shown, "zh", None), per_character=400)
    texts = [c.text for c in cues_of(placement, profile_for("zh", max_chars=8))]
    assert "".join(texts) == shown
    assert not any(t.endswith(("12", "12.")) or t.startswith(("5%", ".5")) for t in texts)
    assert len(texts) > 2


@settings(max_examples=150, deadline=None)
@given(chinese_sentences(), st.integers(80, 600), st.integers(0, 400))
def test_timed_cues_keep_the_text_start_on_words_and_never_hold_over_7_seconds_of_speech(
    sentence, per_character, pause
):
    if not any(c.isalnum() for c in sentence):
        return
    placement = spoken_at(sentence, sentence, per_character, pause)
    found = cues_of(placement)
    assert "".join(c.text for c in found) == sentence
    starts = {mark.start for mark in placement.marks} | {placement.speech_start}
    assert all(c.start in starts for c in found)
    assert all(a.end <= b.start for a, b in zip(found, found[1:], strict=False))
    ends = {mark.end for mark in placement.marks}
    for cue in found:  # a cue over 7 s only when one word (or title) alone lasts that long
        speech = max((e for e in ends if e <= cue.end), default=cue.end) - cue.start
        assert cue.end - cue.start <= 7000 or speech > 7000 or len(tokenise(cue.text)) == 1


@pytest.mark.parametrize("profile", [ZH, LATIN])
def test_empty_and_single_word_sentences(profile):
    assert split_captions("", profile) == []
    (only,) = split_captions("好。", profile)
    assert only.text == "好。"


@pytest.mark.parametrize("planted", ["/dev/zero", "fifo"])
def test_word_tags_stored_as_no_file_are_made_again(tmp_path, monkeypatch, planted: str):
    """The word tags kept in the cache folder (which may be shared) are read only from a file
    of voicer's own: a link to /dev/zero there was read until memory ran out, a FIFO forever."""
    stored = tmp_path / f"jieba-tags-{jieba.__version__}.json"
    if planted == "fifo":
        os.mkfifo(stored)
    else:
        stored.symlink_to(planted)
    monkeypatch.setenv("VOICER_CACHE_DIR", str(tmp_path))

    tags = captions._tags.__wrapped__()

    assert tags["的"].startswith("u")
    assert stored.is_file() and not stored.is_symlink()


@settings(max_examples=100, deadline=None)
@given(chinese_sentences(), st.integers(80, 600), st.integers(0, 400), st.integers(1, 10**7))
def test_a_sentence_is_cut_the_same_wherever_it_lies_in_the_programme(
    sentence, per_character, pause, shift
):
    """The captions of a sentence are cut once and moved with it (the studio joins the
    programme again after each re-take): cut afresh at any place, they are the same."""
    if not any(c.isalnum() for c in sentence):
        return
    tokens = tuple(tokenise(sentence))
    timing = sentence_timing(spoken_at(sentence, sentence, per_character, pause), tokens, SR, None)
    moved = replace(
        timing,
        begins=tuple(at + shift for at in timing.begins),
        ends=tuple(at + shift for at in timing.ends),
    )
    here = [(c.text, c.lines, c.begin, c.speech_end) for c in timed_captions(tokens, ZH, timing)]
    there = [
        (c.text, c.lines, c.begin - shift, c.speech_end - shift)
        for c in timed_captions(tokens, ZH, moved)
    ]
    assert here == there
