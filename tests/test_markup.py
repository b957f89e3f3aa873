"""Inline markup: each construct, the clean text, directive offsets, errors, the map back."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from voicer.errors import InputError
from voicer.model import Script
from voicer.script.markup import Directive, Marked, parse
from voicer.script.sentences import segments


def directives(marked):
    return [(d.kind, d.value, d.line, d.column, d.offset) for d in marked.directives]


@pytest.mark.parametrize(
    ("source", "clean", "expected"),
    [
        ("同志们：[pause 1.5s]大家好！", "同志们：大家好！", [("pause", 1.5, 1, 5, 4)]),
        ("一。[pause 800ms]二。", "一。二。", [("pause", 0.8, 1, 3, 2)]),
        ("一。[ PAUSE 60 s ]二。", "一。二。", [("pause", 60.0, 1, 3, 2)]),
        ("一。[pause .5s]", "一。", [("pause", 0.5, 1, 3, 2)]),
        (
            "[voice zh-CN-YunxiNeural]同志们：",
            "同志们：",
            [("voice", "zh-CN-YunxiNeural", 1, 1, 0)],
        ),
        ("[voice default]同志们：", "同志们：", [("voice", None, 1, 1, 0)]),
        ("[rate +10%]同志们：", "同志们：", [("rate", "+10%", 1, 1, 0)]),
        ("[rate -5%]同志们：", "同志们：", [("rate", "-5%", 1, 1, 0)]),
        ("[rate 10]同志们：", "同志们：", [("rate", "+10%", 1, 1, 0)]),
        ("[rate default]同志们：", "同志们：", [("rate", None, 1, 1, 0)]),
        ("同志们：[# 此处停顿，鼓掌]大家好！", "同志们：大家好！", []),
        ("同志们：[#]大家好！", "同志们：大家好！", []),
        ("数组a[[0]和b]", "数组a[0]和b]", []),
        ("a]]b", "a]]b", []),
        ("[[pause 1s]", "[pause 1s]", []),
        (
            "  [voice A] [rate +5%]正文",
            "   正文",
            [("voice", "A", 1, 3, 2), ("rate", "+5%", 1, 13, 3)],
        ),
        (
            "[pause 1s][voice A][# 换人]正文",
            "正文",
            [("pause", 1.0, 1, 1, 0), ("voice", "A", 1, 11, 0)],
        ),
    ],
)
def test_each_construct(source, clean, expected):
    marked = parse(source)
    assert marked.text == clean
    assert directives(marked) == expected


def test_a_speech_with_markup():
    source = (
        "[# 第二稿，待领导审定]\n"
        "[voice zh-CN-YunyangNeural]\n"
        "同志们：\n"
        "\n"
        "今年以来，经济稳中向好。[pause 1s]下面，我讲三点意见。\n"
        "[pause 2s]\n"
        "[voice zh-CN-XiaoxiaoNeural] [rate -5%]\n"
        "一、坚持稳中求进。\n"
        "[voice default][rate default]谢谢大家！\n"
    )
    marked = parse(source)
    assert marked.text == (
        "同志们：\n\n今年以来，经济稳中向好。下面，我讲三点意见。\n一、坚持稳中求进。\n谢谢大家！\n"
    )
    assert directives(marked) == [
        ("voice", "zh-CN-YunyangNeural", 2, 1, 0),
        ("pause", 1.0, 5, 13, 18),
        ("pause", 2.0, 6, 1, 29),
        ("voice", "zh-CN-XiaoxiaoNeural", 7, 1, 29),
        ("rate", "-5%", 7, 30, 29),
        ("voice", None, 9, 1, 39),
        ("rate", None, 9, 16, 39),
    ]
    assert marked.text[29:].startswith("一、")
    assert marked.text[39:].startswith("谢谢")


def test_a_line_with_only_a_comment_disappears():
    marked = parse("第一段。\n[# 这里插入视频]\n第二段。")
    assert marked.text == "第一段。\n第二段。"
    assert marked.directives == ()
    assert [s.paragraph for s in segments(Script(marked.text, "x", "zh"))] == [0, 1]


def test_blank_lines_without_markup_are_kept():
    assert parse("一。\n\n  \n二。").text == "一。\n\n  \n二。"


def test_directives_on_trailing_markup_lines_apply_at_the_end():
    marked = parse("一。\n[pause 2s]\n[# end]")
    assert marked.text == "一。"
    assert directives(marked) == [("pause", 2.0, 2, 1, 2)]
    assert parse("一。\n[pause 2s]\n").directives[0].offset == len("一。\n")


def test_voice_and_rate_may_stand_before_any_sentence_or_inside_one():
    from voicer.script.prepare import prepare

    text = "一。[voice A]二，[rate +5%]三。"
    assert directives(parse(text)) == [("voice", "A", 1, 3, 2), ("rate", "+5%", 1, 14, 4)]
    found = prepare(Script(text=text, source="s.txt", language="zh")).segments
    assert [(s.shown, s.voice, s.rate, s.column) for s in found] == [
        ("一。", None, None, 1),
        ("二，", "A", None, 12),
        ("三。", "A", 5, 24),
    ]


@pytest.mark.parametrize(
    ("source", "where", "says"),
    [
        ("ab\n同志们[foo]", "2:4", "unknown markup [foo]; known: pause, voice, rate, #, "),
        ("[]", "1:1", "unknown markup []"),
        ("[PAUSE1s]", "1:1", "unknown markup [PAUSE1s]"),
        ("一\n\n  数组a[0", "3:6", "unclosed ["),
        ("一[\n]", "1:2", "unclosed ["),
        ("[pause 2x]", "1:1", "bad pause length in [pause 2x]"),
        ("一。[pause]", "1:3", "bad pause length in [pause]"),
        ("一。[pause 2]", "1:3", "bad pause length in [pause 2]"),
        ("一。[pause -1s]", "1:3", "bad pause length"),
        ("一。\n二。[pause 0s]", "2:3", "the pause in [pause 0s] must be longer than 0"),
        ("[pause 0ms]", "1:1", "must be longer than 0 and at most 60 s"),
        ("[pause 100s]", "1:1", "must be longer than 0 and at most 60 s"),
        ("[pause 60001ms]", "1:1", "at most 60 s"),
        ("[voice]", "1:1", "[voice] names no voice"),
        ("[voice zh CN]", "1:1", "a voice name has no spaces"),
        ("[rate fast]", "1:1", "bad rate in [rate fast]: expected a percentage"),
        ("[rate]", "1:1", "bad rate in [rate]"),
        ("[rate +300%]", "1:1", "bad rate in [rate +300%]: must be between -50% and +100%"),
        ("一。[# ok] [bogus] [pause 1s]", "1:10", "unknown markup [bogus]"),
    ],
)
def test_errors_name_line_and_column(source, where, says):
    with pytest.raises(InputError) as caught:
        parse(source)
    message = str(caught.value)
    assert message.startswith(f"{where}: ")
    assert says in message
    assert "\n" not in message


def test_the_unknown_markup_message_in_full():
    with pytest.raises(InputError) as caught:
        parse("一、\n二、\n同志们[foo]好")
    assert str(caught.value) == (
        "3:4: unknown markup [foo]; known: pause, voice, rate, #, pinyin after Han characters"
        " (write [[ for a literal [)"
    )


def test_origin_maps_clean_offsets_back():
    source = "[# 注]\n  [voice A]一、[[注意]：\n[pause 1s]\n二。[pause 800ms]三。"
    marked = parse(source)
    assert marked.text == "  一、[注意]：\n二。三。"
    expected = {
        0: (2, 1),  # the indentation
        2: (2, 12),  # 一
        4: (2, 14),  # the [ written as [[
        5: (2, 16),  # 注
        9: (2, 20),  # the newline ending line 2
        10: (4, 1),  # 二
        12: (4, 16),  # 三
        14: (4, 18),  # the end
    }
    assert {offset: marked.origin(offset) for offset in expected} == expected


def test_origin_at_gives_sentences_their_original_line_and_column():
    source = "[# 稿]\n[voice A]\n同志们：\n  今年增长5%。[pause 1s]明年[# 目标]更好。\n"
    marked = parse(source)
    found = segments(Script(marked.text, "x", "zh"))
    assert [(s.shown, marked.origin_at(s.line, s.column)) for s in found] == [
        ("同志们：", (3, 1)),
        ("今年增长5%。", (4, 3)),
        ("明年更好。", (4, 20)),
    ]


def test_origin_of_empty_lines_and_the_end():
    assert parse("\n").origin(1) == (2, 1)
    marked = parse("一\n[pause 1s]\n\n二")
    assert marked.text == "一\n\n二"
    assert [marked.origin(offset) for offset in range(5)] == [
        (1, 1),
        (1, 2),
        (3, 1),
        (4, 1),
        (4, 2),
    ]


def test_origin_refuses_what_is_outside_the_text():
    marked = parse("一。")
    with pytest.raises(ValueError):
        marked.origin(3)
    with pytest.raises(ValueError):
        marked.origin_at(2, 1)


def test_a_hand_made_marked_maps_to_itself():
    marked = Marked("一\n二三")
    assert marked.origin(3) == (2, 2)
    assert marked.directives == ()


def test_directive_is_plain_data():
    assert Directive("pause", 1.0, 1, 1, 0) == parse("[pause 1s]x").directives[0]


_NO_BRACKET = st.text(st.characters(blacklist_characters="["))


@given(_NO_BRACKET)
def test_text_without_brackets_parses_to_itself(text):
    marked = parse(text)
    assert marked.text == text
    assert marked.directives == ()
    lines = text.split("\n")
    for offset in range(len(text) + 1):
        line = text.count("\n", 0, offset) + 1
        column = offset - (text.rfind("\n", 0, offset) + 1) + 1
        assert marked.origin(offset) == (line, column)
        assert column <= len(lines[line - 1]) + 1


_PIECES = st.one_of(
    st.text(st.characters(blacklist_characters="[\n"), max_size=5),
    st.sampled_from(
        ["\n", "\n", "[[", "[pause 1s]", "[pause 250ms]", "[# 注释]", "\n[voice A]", "\n[rate -5%]"]
    ),
)


@given(st.lists(_PIECES, max_size=12))
def test_every_clean_character_maps_back_to_the_same_character(pieces):
    source = "".join(pieces)
    marked = parse(source)
    lines = source.split("\n")
    for offset, char in enumerate(marked.text):
        line, column = marked.origin(offset)
        original = (lines[line - 1] + "\n")[column - 1]
        assert original == char, (offset, line, column)
    for directive in marked.directives:
        assert 0 <= directive.offset <= len(marked.text)
        assert lines[directive.line - 1][directive.column - 1] == "["
    assert len(marked.directives) == sum(
        piece.count("[") - piece.count("[[") * 2 - piece.count("[#") for piece in pieces
    )
