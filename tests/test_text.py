"""Reading and splitting text: encodings, paragraphs, sentences, long-sentence splitting."""

from __future__ import annotations

import pytest
import srt
from hypothesis import given, settings
from hypothesis import strategies as st
from speech_audio import invoke_voicer

from voicer.errors import InputError
from voicer.script.reading import decode, detect_language, normalise, script_from_bytes
from voicer.script.sentences import segments, sentence_spans, split_to_fit

SPEECH = "一、衷心感谢……\n　　同志们：今天我们开会。增长5.2%！\r\n\r\n他说：“好！”（掌声）\n"


@pytest.mark.parametrize(
    "encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-le-bom", "gb18030", "gbk"]
)
def test_common_encodings_decode_to_the_same_text(encoding):
    if encoding == "utf-16-le-bom":
        data = b"\xff\xfe" + SPEECH.encode("utf-16-le")
    else:
        data = SPEECH.encode(encoding)
    assert decode(data, "speech.txt") == SPEECH


def test_undecodable_bytes_name_the_file():
    with pytest.raises(InputError, match=r"^draft\.txt: cannot decode"):
        decode(b"caf\xe9 \xff\xfe\x00 bar \x80", "draft.txt")


def test_utf16_without_bom_is_refused_not_misread():
    with pytest.raises(InputError, match="cannot decode"):
        decode("Hello world".encode("utf-16-le"), "x.txt")


def test_normalise_unifies_line_endings_and_spaces_one_for_one():
    raw = "甲\u3000乙\r\n丙\r丁\xa0戊\u200b"
    assert normalise(raw) == "甲 乙\n丙\n丁 戊"


@pytest.mark.parametrize("data", [b"", b"   \n\t\r\n", "\u3000\u3000\n".encode()])
def test_empty_or_blank_text_is_an_input_error(data):
    with pytest.raises(InputError, match="empty"):
        script_from_bytes(data, "blank.txt")


def test_text_without_speakable_characters_is_an_input_error():
    with pytest.raises(InputError, match="nothing that can be spoken"):
        script_from_bytes("……\n——\n***".encode(), "dots.txt")


def split_sentences(text: str) -> list[str]:
    return [text[start:end] for start, end in sentence_spans(text)]


@pytest.mark.parametrize(
    ("paragraph", "expected"),
    [
        ("今天开会。明天休息！后天呢？", ["今天开会。", "明天休息！", "后天呢？"]),
        ("真的吗？！是的。", ["真的吗？！", "是的。"]),
        ("他说：“我们要努力！”然后走了。", ["他说：“我们要努力！”", "然后走了。"]),
        ("（见附件。）下一句", ["（见附件。）", "下一句"]),
        ("增长5.2%，会议9:30开始。", ["增长5.2%，会议9:30开始。"]),
        ("一是稳增长；二是促改革;三是惠民生", ["一是稳增长；", "二是促改革;", "三是惠民生"]),
        ("一、衷心感谢……", ["一、衷心感谢……"]),
        ("前面的话……后面的话。", ["前面的话……", "后面的话。"]),
        ("Mr. Smith met Dr. Lee at 9.30 a.m. today. Then he left!", None),
        ("She moved to the U.S. in May. It rained.", None),
        ("1. Plan the work. Do it.", ["1. Plan the work.", "Do it."]),
        ("Apples, pears, etc. Then more.", ["Apples, pears, etc.", "Then more."]),
        ("Is it? Yes! Fine; go.", ["Is it?", "Yes!", "Fine;", "go."]),
        ("今天邀请到Dr. Smith来做报告。", ["今天邀请到Dr. Smith来做报告。"]),
        ("会议由Prof. Wang和Mrs. Li主持。", ["会议由Prof. Wang和Mrs. Li主持。"]),
        ("参见No. 5文件，e.g. 附录。", ["参见No. 5文件，e.g. 附录。"]),
        ("由ABC Co., Ltd. 承办。", ["由ABC Co., Ltd. 承办。"]),
        ("我们买了苹果、梨etc. 然后回家。", ["我们买了苹果、梨etc. 然后回家。"]),
        ("苹果、梨etc.他说。", ["苹果、梨etc.他说。"]),
        ("会上讨论了苹果、梨etc.", ["会上讨论了苹果、梨etc."]),
        ("See file.txt and example.com now.", ["See file.txt and example.com now."]),
    ],
)
def test_sentence_splitting(paragraph, expected):
    if expected is None:  # the abbreviations must not end a sentence
        assert len(split_sentences(paragraph)) == 2
    else:
        assert split_sentences(paragraph) == expected


def test_headings_and_lines_are_their_own_sentences():
    script = script_from_bytes("一、衷心感谢\n各位代表：\n\n今天开会。明天休息。".encode(), "s")
    found = segments(script)
    assert [s.shown for s in found] == ["一、衷心感谢", "各位代表：", "今天开会。", "明天休息。"]
    assert [s.paragraph for s in found] == [0, 1, 2, 2]
    assert [s.ends_paragraph for s in found] == [True, True, False, True]
    assert [(s.line, s.column) for s in found] == [(1, 1), (2, 1), (4, 1), (4, 6)]
    assert all(s.spoken == s.shown for s in found)


def test_columns_point_into_the_authors_line():
    script = script_from_bytes("\u3000\u3000第一句。 第二句。".encode(), "s")
    first, second = segments(script)
    assert (first.column, second.column) == (3, 8)


def test_decoration_lines_are_not_spoken():
    script = script_from_bytes("标题\n***\n正文。".encode(), "s")
    assert [s.shown for s in segments(script)] == ["标题", "正文。"]


def test_language_detection():
    assert detect_language("我们的GDP增长了。") == "zh"
    assert detect_language("The economy grew by 5 percent.") == "en"
    assert detect_language("Привет, как дела?") == "other"


_TEXT_ALPHABET = st.sampled_from(
    list("我们的工作今天开会好") + list("。！？；…，、：“”（）") + list("ab.?! 5%:")
)


@given(st.text(_TEXT_ALPHABET, max_size=80))
def test_splitting_then_joining_gives_back_the_paragraph(paragraph):
    spans = sentence_spans(paragraph)
    boundaries = [0, *(i for span in spans for i in span), len(paragraph)]
    gaps = [paragraph[a:b] for a, b in zip(boundaries[::2], boundaries[1::2], strict=True)]
    assert all(not gap.strip() for gap in gaps)  # only spaces lie outside sentences
    rebuilt = gaps[0] + "".join(
        paragraph[s:e] + gap for (s, e), gap in zip(spans, gaps[1:], strict=True)
    )
    assert rebuilt == paragraph
    assert all(paragraph[s:e] == paragraph[s:e].strip() and e > s for s, e in spans)


@settings(deadline=None)  # the first text cut between words loads jieba's dictionary (about 1 s)
@given(st.text(_TEXT_ALPHABET, min_size=1, max_size=200), st.integers(1, 30))
def test_split_to_fit_pieces_fit_and_join_back(text, limit):
    pieces = split_to_fit(text, lambda s: len(s) <= limit)
    assert "".join(pieces) == text
    assert all(len(p) <= limit for p in pieces)


def test_split_to_fit_prefers_clause_punctuation_then_spaces():
    assert split_to_fit("甲乙丙，丁戊己、庚辛", lambda s: len(s) <= 5) == [
        "甲乙丙，",
        "丁戊己、",
        "庚辛",
    ]
    assert split_to_fit("one two three four", lambda s: len(s) <= 9) == [
        "one two ",
        "three ",
        "four",
    ]


def test_an_abbreviation_in_chinese_renders_as_one_sentence(tmp_path):
    sentence = "今天邀请到Dr. Smith来做报告。"
    (tmp_path / "in.txt").write_text(sentence + "\n", encoding="utf-8")
    result = invoke_voicer("render", "in.txt", "--engine", "tone", "-o", "out.mp3", cwd=tmp_path)
    assert result.returncode == 0, result.stderr.decode()
    cues = list(srt.parse((tmp_path / "out.srt").read_text(encoding="utf-8")))
    shown = "".join(cue.content.replace("\n", "") for cue in cues)
    assert shown.replace(" ", "") == sentence.replace(" ", "").rstrip("。")
    assert not any(cue.content.endswith("Dr.") for cue in cues)
    report = (result.stdout + result.stderr).decode()
    assert "1 sentence," in report, report
