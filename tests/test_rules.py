"""Checking cues against a subtitle profile: each rule on a crafted cue list, and on files."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voicer.model import Cue
from voicer.subtitles import formats as subtitles
from voicer.subtitles import rules
from voicer.subtitles.profiles import profile_for

ZH = profile_for("zh")


def cue(start_ms: int, end_ms: int, *lines: str, segment: int = -1) -> Cue:
    return Cue(start_ms, end_ms, lines, "".join(lines), segment)


CLEAN = [
    cue(0, 2000, "今天天气很好"),
    cue(2080, 5000, "我们一起去公园", "看看春天的花朵和树木"),
    cue(6000, 6833, "好！"),
    cue(8000, 15000, "《人民日报》说：“今年GDP增长5.2%”"[:16]),
]

# rule -> (cues that break that rule and no other, the first message)
BROKEN = {
    "empty": ([cue(0, 2000, "")], "cue 1: no text"),
    "lines": (
        [cue(0, 4000, "一二三四五六七八九十", "一二三四五六七八九十", "一二")],
        "cue 1: 3 lines (max 2)",
    ),
    "line-length": (
        [cue(0, 3000, "一二三四五六七八九十一二三四五 ab")],
        "cue 1: 16.5 characters on line 1 (max 16)",
    ),
    "one-line": (
        [cue(0, 2000, "你好", "世界")],
        "cue 1: 2 lines that fit on one (4.5 characters, max 16)",
    ),
    "min-duration": ([cue(0, 832, "好")], "cue 1: 0.832 s on screen (min 0.833 s)"),
    "max-duration": ([cue(0, 7001, "好")], "cue 1: 7.001 s on screen (max 7.000 s)"),
    "gap": (
        [cue(0, 1000, "好"), cue(1040, 2000, "好")],
        "cue 1: 0.040 s gap before cue 2 (min 2 frames, 0.080 s)",
    ),
    "overlap": ([cue(0, 1000, "好"), cue(900, 2000, "好")], "cue 1: overlaps cue 2 by 0.100 s"),
    "order": (
        [cue(5000, 6000, "好"), cue(1000, 2000, "好")],
        "cue 2: starts at 00:00:01.000, before cue 1 (00:00:05.000)",
    ),
    "reading-speed": (
        [cue(0, 1000, "一二三四五六七八九十")],
        "cue 1: 10.0 characters per second (max 9)",
    ),
    "punctuation": (
        [cue(0, 2000, "你好，世界")],
        "cue 1: '，' on line 1 (zh-netflix shows no ，or 。)",
    ),
}


def test_a_clean_list_has_no_violations():
    assert rules.violations(CLEAN, 1000, ZH) == []


@pytest.mark.parametrize("rule", sorted(BROKEN))
def test_each_rule_is_found_alone_with_a_one_line_message(rule: str):
    cues, message = BROKEN[rule]
    found = rules.violations(cues, 1000, ZH)
    assert {v.rule for v in found} == {rule}
    assert found[0].message == message
    assert rule in rules.RULES


@pytest.mark.parametrize("rule", sorted(BROKEN))
def test_the_same_at_a_programme_sample_rate(rule: str):
    cues, _ = BROKEN[rule]
    at_24k = [Cue(c.start * 24, c.end * 24, c.lines, c.text, c.segment) for c in cues]
    assert rules.violations(at_24k, 24000, ZH) == rules.violations(cues, 1000, ZH)


def test_touching_cues_and_a_cue_ending_before_it_starts():
    touching = rules.violations([cue(0, 1000, "好"), cue(1000, 2000, "好")], 1000, ZH)
    assert [v.rule for v in touching] == ["gap"]
    backwards = rules.violations([cue(2000, 1000, "好")], 1000, ZH)
    assert [(v.rule, v.message) for v in backwards] == [
        ("order", "cue 1: ends at 00:00:01.000, before it starts (00:00:02.000)")
    ]


def test_zh_netflix_punctuation_and_plain_style():
    cues = [
        cue(0, 2000, "一是坚持。", "二是发展、", segment=0),
        cue(2100, 4000, "三是开放；", "四是合作……", segment=0),
        cue(4100, 6000, "五是共享", segment=0),
    ]

    def punctuation(profile):
        return [v.message for v in rules.violations(cues, 1000, profile) if v.rule == "punctuation"]

    assert punctuation(ZH) == [
        "cue 1: '。' on line 1 (zh-netflix shows no ，or 。)",
        "cue 1: line 2 ends with '、'",
        "cue 2: line 1 ends with '；'",
        "cue 2: ends with an ellipsis or dash, but the sentence goes on in the next cue",
    ]
    assert punctuation(profile_for("zh", "plain")) == []
    # the last cue of a sentence may end with an ellipsis
    assert rules.violations([cue(0, 2000, "未完待续……", segment=0)], 1000, ZH) == []


def test_latin_profile_limits():
    latin = profile_for("en")
    line = "The quick brown fox jumps over the lazy dog, twice"  # 50 characters
    found = rules.violations([cue(0, 5000, line)], 1000, latin)
    assert [v.message for v in found] == ["cue 1: 50 characters on line 1 (max 42)"]
    assert rules.violations([cue(0, 2000, "Hello，world。")], 1000, latin) == []


def test_reading_speed_counts_half_width_as_half():
    assert rules.reading_speed(cue(0, 2000, "你好，", "world"), 1000) == 2.75
    assert rules.reading_speed(Cue(0, 48000, ("一二三四",)), 24000) == 2.0
    assert rules.reading_speed(cue(0, 0, "好"), 1000) == float("inf")


def test_report_lists_every_violation_and_counts_them():
    found = rules.violations(BROKEN["gap"][0] + [cue(2080, 2500, "")], 1000, ZH)
    assert rules.format_report(found, "talk.srt") == "\n".join(
        [
            "talk.srt: cue 1: 0.040 s gap before cue 2 (min 2 frames, 0.080 s) [gap]",
            "talk.srt: cue 3: no text [empty]",
            "talk.srt: cue 3: 0.420 s on screen (min 0.833 s) [min-duration]",
            "talk.srt: 3 violations in 2 cues (gap 1, empty 1, min-duration 1)",
        ]
    )
    assert rules.format_report([], "talk.srt") == "talk.srt: no violations"


def test_check_a_file_voicer_did_not_write(tmp_path: Path):
    path = tmp_path / "other.srt"
    path.write_bytes(
        "\ufeff1\r\n00:00:01,000 --> 00:00:01,500\r\n大家好，\r\n\r\n"
        "2\r\n00:00:01,520 --> 00:00:04,000\r\n欢迎来到今天的发布会现场我们开始吧\r\n\r\n".encode()
    )
    found = rules.violations(subtitles.read(path), 1000, ZH)
    assert [(v.cue, v.rule) for v in found] == [
        (1, "punctuation"),
        (1, "min-duration"),
        (1, "gap"),
        (2, "line-length"),
    ]


def test_check_a_webvtt_file(tmp_path: Path):
    path = tmp_path / "other.vtt"
    path.write_text("WEBVTT\n\n00:01.000 --> 00:03.000\n<i>你好</i> 世界\n", encoding="utf-8")
    assert rules.violations(subtitles.read(path), 1000, ZH) == []


timed_cues = st.lists(
    st.tuples(
        st.integers(0, 30_000),
        st.integers(0, 9_000),
        st.text("你好，。、ab ", min_size=1, max_size=40),
    ),
    max_size=6,
)


@pytest.mark.slow
@settings(max_examples=100, deadline=None)
@given(timed_cues, st.sampled_from([".srt", ".vtt"]))
def test_checking_cues_or_the_file_written_from_them_agree(drawn, extension):
    """Timing rules work at the millisecond resolution of the file, so both give one answer."""
    cues = [Cue(s * 24, (s + d) * 24 + 11, (text.strip() or "好",)) for s, d, text in drawn]
    parsed = subtitles.FORMATS[extension].parse(subtitles.format_text(cues, 24000, extension))
    assert rules.violations(parsed, 1000, ZH) == rules.violations(cues, 24000, ZH)
