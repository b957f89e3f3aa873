"""Line and cue breaks a captioner accepts: never inside a phrase (issue 11, point 4).

Each case is a sentence and the joins it must keep; every width from 8 to 16 characters a line
is tried, so the breaks are forced into different places. A join kept means no line or cue
ends between its two halves (punctuation at a line end is dropped by the zh-netflix style, so
the halves are compared without it).
"""

from __future__ import annotations

import pytest

from voicer.subtitles.captions import binds, split_captions
from voicer.subtitles.profiles import profile_for

CASES = [
    # a preposition and its object
    ("首先，我代表市委、市政府，向奋战在科研一线的同志们致以诚挚的问候！", ["向|奋战", "在|科研"]),
    # a reduplication and what it qualifies
    ("孔乙己涨红了脸，额上的青筋条条绽出，争辩道：“窃书不能算偷……窃书！”", ["条条|绽出"]),
    # 什么 and what it introduces
    ("他们便再也不说什么“君子固穷”，什么“者乎”之类，引得众人都哄笑起来。", ["什么|“"]),
    # a verb and its direction
    ("我们要为青年人才创造条件，让他们在科研一线尽快成长起来，挑起大梁。", ["成长|起来"]),
    # a number and its measure word
    ("过去一年，全市高新技术企业达到一千二百八十家，引进各类人才两千余名。", ["八十|家"]),
    ("这三个重点实验室已经建成，我们还要再建五个新的平台，服务全省企业。", ["三|个", "五|个"]),
    # a particle never starts a line
    ("这些成绩来之不易，凝聚着全市广大干部群众和科技工作者的心血和汗水。", ["凝聚|着", "者|的"]),
]


def broken_joins(sentence: str, joins: list[str], max_chars: int) -> list[str]:
    profile = profile_for("zh", max_chars=max_chars, max_duration_ms=60000)
    lines = [line for caption in split_captions(sentence, profile) for line in caption.lines]
    ends = [line.replace(" ", "").rstrip("，。、；：！？") for line in lines]
    starts = [line.replace(" ", "") for line in lines]
    return [
        join
        for join in joins
        for end, start in zip(ends, starts[1:], strict=False)
        if end.endswith(join.split("|")[0]) and start.startswith(join.split("|")[1])
    ]


@pytest.mark.parametrize(("sentence", "joins"), CASES)
def test_no_line_or_cue_break_inside_a_phrase(sentence: str, joins: list[str]):
    broken = {width: broken_joins(sentence, joins, width) for width in range(8, 17)}
    assert {width: found for width, found in broken.items() if found} == {}


def test_words_of_different_phrases_may_part():
    assert not binds("科研", "一线")
    assert not binds("同志们", "致以")
    assert not binds("实验室", "已经")
