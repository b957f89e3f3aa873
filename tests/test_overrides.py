"""Pinyin readings the author gives: in a lexicon or inline, to the offline engine's phonemes,
and named once for an engine that cannot take them."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from speech_audio import invoke_voicer
from test_edge_cli import voicer

from voicer import pipeline
from voicer.errors import InputError
from voicer.model import Script
from voicer.script import markup
from voicer.script import prepare as drafts
from voicer.script.overrides import annotate, parse_pinyin, split_annotated
from voicer.script.pinyin import Override
from voicer.script.spoken_form import load_lexicon

# --- pinyin as written ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "syllables"),
    [
        ("hang2 zhang3", ("hang2", "zhang3")),
        ("háng zhǎng", ("hang2", "zhang3")),
        ("HANG2 Zhang3", ("hang2", "zhang3")),
        ("hang2zhang3", ("hang2", "zhang3")),
        ("xi1'an1", ("xi1", "an1")),
        ("nǚ lü4 lu:e4 nv3", ("nv3", "lv4", "lve4", "nv3")),
        ("jü4 qǖ xv1 yü2", ("ju4", "qu1", "xu1", "yu2")),
        ("ma ma5", ("ma5", "ma5")),
        ("ha\u0301ng zha\u030cng", ("hang2", "zhang3")),  # marks typed apart from their letters
    ],
)
def test_pinyin_with_numbers_or_marks_is_tone3_with_v(written, syllables):
    assert parse_pinyin(written) == syllables


@pytest.mark.parametrize(
    ("written", "reason"),
    [
        ("hang6", "tones are 1 to 5"),
        ("hang0", "tones are 1 to 5"),
        ("hangg2", "'hangg2' is not a pinyin syllable"),
        ("hǎng3", "a tone mark and a tone number"),
        ("hángzhǎng", "more than one tone mark"),  # marked syllables are written apart
        ("2 hang", "a tone number follows its syllable"),
        ("  ", "no syllables"),
        ("GDP", "not a pinyin syllable"),
    ],
)
def test_what_is_not_pinyin_is_a_value_error_with_a_reason(written, reason):
    with pytest.raises(ValueError, match=reason):
        parse_pinyin(written)


# --- the annotation the offline engine is given -----------------------------------------------

_SYLLABLE = st.sampled_from(["hang2", "zhang3", "ma5", "lv4", "yi1"])
_TEXT = st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=30)


@st.composite
def _annotated(draw: st.DrawFn) -> tuple[str, tuple[Override, ...]]:
    text = draw(_TEXT)
    cuts = sorted(draw(st.sets(st.integers(0, len(text)), max_size=8)))
    overrides = []
    for start, end in zip(cuts[::2], cuts[1::2], strict=False):
        if start < end:
            syllables = tuple(draw(_SYLLABLE) for _ in range(end - start))
            overrides.append(Override(start, end, syllables))
    return text, tuple(overrides)


@given(_annotated())
def test_split_annotated_gives_back_what_annotate_was_given(case):
    text, overrides = case
    assert split_annotated(annotate(text, overrides)) == (text, overrides)


def test_the_annotation_survives_strip_and_split():
    text = annotate("行长", [Override(0, 2, ("hang2", "zhang3"))])
    assert text.strip() == text and len(text.split()) == 2  # the space between syllables


# --- the lexicon ------------------------------------------------------------------------------


def test_a_tsv_lexicon_gives_pinyin_entries_apart_from_spoken_ones(tmp_path):
    path = tmp_path / "words.tsv"
    lines = ["GDP\t国内生产总值", "行长\thang2 zhang3", "单于\tchán yú\t缠于", "苹果\tApple"]
    path.write_text("\n".join(["# names", *lines]) + "\n", encoding="utf-8")
    lexicon = load_lexicon(path)
    assert lexicon == {"GDP": "国内生产总值", "苹果": "Apple"}  # what spoken_form applies
    assert lexicon.pinyin == {"行长": ("hang2", "zhang3"), "单于": ("chan2", "yu2")}
    assert lexicon.say == {"单于": "缠于"}


def test_a_toml_lexicon_gives_pinyin_as_a_string_or_a_table(tmp_path):
    path = tmp_path / "words.toml"
    path.write_text(
        '[lexicon]\nGDP = "国内生产总值"\n"行长" = "háng zhǎng"\n'
        '"单于" = {pinyin = "chan2 yu2", say = "缠于"}\n',
        encoding="utf-8",
    )
    lexicon = load_lexicon(path)
    assert lexicon == {"GDP": "国内生产总值"}
    assert lexicon.pinyin == {"行长": ("hang2", "zhang3"), "单于": ("chan2", "yu2")}
    assert lexicon.say == {"单于": "缠于"}


@pytest.mark.parametrize(
    ("body", "where", "message"),
    [
        ("GDP\tx\n行长\thang2 zhang3 a\n", "2:4", "行长 has 2 characters but the reading"),
        ("行长\t hang2\n", "1:5", "行长 has 2 characters but the reading 'hang2' has 1 syllable"),
        ("GDP\tx\n行长\thangg2 zhang3\n", "2:4", "行长: bad pinyin: 'hangg2' is not a pinyin"),
        ("单于\t缠于\t缠于\n", "1:4", "单于: bad pinyin"),
    ],
)
def test_a_bad_reading_in_a_tsv_lexicon_is_an_error_at_line_and_column(
    tmp_path, body, where, message
):
    path = tmp_path / "words.tsv"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(InputError, match=rf"^{path}:{where}: {message}"):
        load_lexicon(path)


def test_a_third_column_is_only_for_a_reading(tmp_path):
    path = tmp_path / "words.tsv"
    path.write_text("GDP\t国内生产总值\t国内\n", encoding="utf-8")
    with pytest.raises(InputError, match=rf"^{path}:1: a third field"):
        load_lexicon(path)


def test_a_bad_reading_in_a_toml_lexicon_is_an_error_at_its_line(tmp_path):
    path = tmp_path / "words.toml"
    path.write_text('[lexicon]\nGDP = "x"\n"行长" = {pinyin = "hang2", say = "航长"}\n', "utf-8")
    with pytest.raises(InputError, match=rf"^{path}:3:8: 行长 has 2 characters"):
        load_lexicon(path)


# --- inline readings --------------------------------------------------------------------------


def test_an_inline_reading_reads_the_han_characters_just_before_it():
    marked = markup.parse("同志们：\n银行行长[hang2 zhang3]讲话，[# 注]单于[chán yú]来了。")
    assert marked.text == "同志们：\n银行行长讲话，单于来了。"
    found = [(marked.text[r.start : r.end], r.pinyin, r.line, r.column) for r in marked.readings]
    assert found == [
        ("行长", ("hang2", "zhang3"), 2, 5),
        ("单于", ("chan2", "yu2"), 2, 29),
    ]
    assert marked.directives == ()  # no sentence is split there


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        ("一、\n行长，[hang2 zhang3]", "2:4", "needs 2 Han characters right before it"),
        ("GDP长[hang2 zhang3]", "1:5", r"found 1 \(write \[\[ for a literal \[\)"),
        ("行长[hangg2 zhang3]", "1:3", "unknown markup .*, not pinyin: 'hangg2' is not"),
        ("银行行长[hang2 zhang3][yin2 hang2]", "1:19", "found 0"),  # read once only
    ],
)
def test_a_bad_inline_reading_is_an_error_at_its_bracket(text, where, message):
    with pytest.raises(InputError, match=rf"^{where}: .*{message}"):
        markup.parse(text)


def test_the_documented_inline_example_reads_as_documented():
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text("utf-8")
    assert "| `银行行长[hang2 zhang3]` |" in readme and "(here 行长)" in readme
    assert "``行长[hang2 zhang3]``" in markup.__doc__
    (reading,) = markup.parse("银行行长[hang2 zhang3]").readings
    assert (reading.start, reading.end, reading.pinyin) == (2, 4, ("hang2", "zhang3"))


# --- each sentence's readings -----------------------------------------------------------------


def _spoken(text: str, lexicon=None):
    script = Script(text, "draft.txt", "zh")
    return drafts.speakable(drafts.prepare(script).segments, "zh", lexicon)


def _readings(segment):
    return [(segment.spoken[o.start : o.end], o.pinyin) for o in segment.pinyin]


def test_sentences_carry_their_readings_at_offsets_in_the_spoken_text(tmp_path):
    path = tmp_path / "words.tsv"
    path.write_text("行长\thang2 zhang3\nGDP\t国内生产总值\n", encoding="utf-8")
    first, second = _spoken("GDP增长5%，行长说。单于[chan2 yu2]到了。", load_lexicon(path))
    assert first.spoken == "国内生产总值增长百分之五，行长说。"
    assert _readings(first) == [("行长", ("hang2", "zhang3"))]
    assert second.spoken == "单于到了。" and _readings(second) == [("单于", ("chan2", "yu2"))]


def test_a_lexicon_reading_applies_only_where_its_characters_are_whole_words(tmp_path):
    path = tmp_path / "words.tsv"
    path.write_text("行长\thang2 zhang3\n", encoding="utf-8")
    (segment,) = _spoken("银行行长说银行长期贷款增加。", load_lexicon(path))
    assert [o.start for o in segment.pinyin] == [2]


def test_an_inline_reading_wins_over_the_lexicon(tmp_path):
    path = tmp_path / "words.tsv"
    path.write_text("行长\thang2 zhang3\n", encoding="utf-8")
    (segment,) = _spoken("行长[xing2 zhang3]说。", load_lexicon(path))
    assert _readings(segment) == [("行长", ("xing2", "zhang3"))]


def test_a_sentence_cut_into_pieces_keeps_each_readings_with_its_characters():
    text = "，".join(["今年以来全市经济运行总体平稳"] * 20) + "，银行行长[hang2 zhang3]说。"
    segments = _spoken(text)
    assert len(segments) > 1
    assert [r for s in segments for r in _readings(s)] == [("行长", ("hang2", "zhang3"))]


# --- an engine that cannot take pinyin --------------------------------------------------------


def test_an_engine_without_pinyin_says_the_entrys_text_and_names_the_rest_once(tmp_path):
    path = tmp_path / "words.tsv"
    path.write_text("行长\thang2 zhang3\n单于\tchan2 yu2\t缠于\n", encoding="utf-8")
    script = Script("行长说。行长又说。单于来了。重[chong2]庆。", "draft.txt", "zh")
    plan = pipeline.prepare(script, pipeline.RenderOptions(engine="tone", lexicon=path))
    assert [s.spoken for s in plan.segments] == ["行长说。", "行长又说。", "缠于来了。", "重庆。"]
    assert all(s.pinyin == () for s in plan.segments)
    assert [n for n in plan.notices if "pinyin" in n] == [
        "tone cannot take pinyin: 行长 (hang2 zhang3), 重 (chong2); it says these as written "
        "(a lexicon entry can give the text to say instead: a third column in TSV, say = in TOML)"
    ]


# --- the command line -------------------------------------------------------------------------


@pytest.mark.slow
def test_check_with_a_bad_reading_in_the_lexicon_is_a_usage_error_in_one_line(tmp_path):
    (tmp_path / "draft.txt").write_text("行长说。\n", encoding="utf-8")
    (tmp_path / "words.tsv").write_text("行长\thang2 zhang3 a\n", encoding="utf-8")
    result = voicer("check", "draft.txt", "--lexicon", "words.tsv", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "voicer: error: words.tsv:1:4: 行长 has 2 characters but the reading 'hang2 zhang3 a' "
        "has 3 syllables"
    ]


@pytest.mark.slow
def test_check_notes_each_reading_and_names_once_those_the_online_engine_cannot_apply(tmp_path):
    (tmp_path / "draft.txt").write_text("行长说。\n行长又说，单于来了。\n", encoding="utf-8")
    (tmp_path / "words.tsv").write_text("行长\thang2 zhang3\n单于\tchan2 yu2\t缠于\n", "utf-8")
    result = voicer("check", "draft.txt", "--lexicon", "words.tsv", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [
        "voicer: edge cannot take pinyin: 行长 (hang2 zhang3); it says these as written "
        "(a lexicon entry can give the text to say instead: a third column in TSV, say = in TOML)"
    ]
    notes = result.stdout.splitlines()
    assert notes[:3] == [
        "draft.txt:1:1: note: 行长 will be read “hang2 zhang3” (pinyin; by the offline engine)",
        "draft.txt:2:1: note: 行长 will be read “hang2 zhang3” (pinyin; by the offline engine)",
        "draft.txt:2:6: note: 单于 will be read “chan2 yu2” (pinyin; by the offline engine)",
    ]


def test_check_reports_a_bad_inline_reading_at_its_line_and_column(tmp_path):
    (tmp_path / "draft.txt").write_text("一、\n行长，[hang2 zhang3]说。\n", encoding="utf-8")
    result = invoke_voicer("check", "draft.txt", cwd=tmp_path, text=True)
    assert result.returncode == 1
    assert "draft.txt:2:4: error: the reading [hang2 zhang3] needs 2" in result.stdout


@pytest.mark.slow
def test_check_warns_of_an_inline_reading_the_lexicon_says_otherwise(tmp_path):
    (tmp_path / "draft.txt").write_text("银行行长[hang2 zhang3]来了。\n", encoding="utf-8")
    (tmp_path / "words.tsv").write_text("行长\t总经理\n", encoding="utf-8")
    result = voicer("check", "draft.txt", "--lexicon", "words.tsv", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert result.stdout.splitlines()[0] == (
        "draft.txt:1:3: warning: the reading “hang2 zhang3” of 行长 is not used: "
        "the lexicon or the spoken form says 行长 otherwise"
    )
    assert "will be read “hang2 zhang3”" not in result.stdout


@pytest.mark.slow
def test_a_render_with_the_tone_engine_and_a_pinyin_lexicon_names_the_reading_once(tmp_path):
    (tmp_path / "draft.txt").write_text("银行行长说。\n行长又说。\n", encoding="utf-8")
    (tmp_path / "words.tsv").write_text("行长\thang2 zhang3\n", encoding="utf-8")
    args = ["-o", "out.wav", "--engine", "tone", "--lexicon", "words.tsv"]
    result = voicer("render", "draft.txt", *args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("tone cannot take pinyin: 行长 (hang2 zhang3)") == 1
    assert (tmp_path / "out.wav").stat().st_size > 0
    assert "银行行长说" in (tmp_path / "out.srt").read_text("utf-8")


def test_edge_hears_the_entrys_text_and_the_render_names_the_rest_once(edge_server, tmp_path):
    (tmp_path / "draft.txt").write_text("行长说。\n单于来了，行长也来了。\n", encoding="utf-8")
    (tmp_path / "words.tsv").write_text("行长\thang2 zhang3\n单于\tchan2 yu2\t缠于\n", "utf-8")
    args = ["-o", "out.wav", "--engine", "edge", "--lexicon", "words.tsv"]
    result = invoke_voicer("render", "draft.txt", *args, cwd=tmp_path, text=True)
    assert result.returncode == 0, result.stderr
    heard = sorted(request.text for request in edge_server.requests)
    assert heard == ["缠于来了，行长也来了。", "行长说。"]
    assert result.stderr.count("cannot take pinyin") == 1
    assert "edge cannot take pinyin: 行长 (hang2 zhang3); it says" in result.stderr
    assert "单于来了" in (tmp_path / "out.srt").read_text("utf-8")


# --- the offline engine ---------------------------------------------------------------------


def test_a_lexicon_reading_changes_the_phonemes_kokoro_gets(tmp_path):
    from misaki.zh import ZHG2P

    from voicer.synthesis.engines import kokoro

    path = tmp_path / "words.tsv"
    path.write_text("重庆\tzhòng qìng\n", encoding="utf-8")
    (segment,) = _spoken("重庆很大。", load_lexicon(path))
    vocabulary = kokoro._vocabulary()

    def ids(phonemes: str) -> tuple[int, ...]:
        return tuple(vocabulary[p] for p in phonemes if p in vocabulary)

    given = kokoro._word_tokens(annotate(segment.spoken, segment.pinyin))
    plain = kokoro._word_tokens(segment.spoken)
    assert given[0] == ("重庆", ids(ZHG2P.py2ipa("zhong4") + ZHG2P.py2ipa("qing4")))
    assert plain[0][0] == "重庆" and plain[0][1] != given[0][1]
    assert given[1:] == plain[1:]


def test_a_sentence_retyped_in_the_studio_takes_the_lexicons_readings(tmp_path):
    path = tmp_path / "words.tsv"
    path.write_text("行长\thang2 zhang3\n单于\tchan2 yu2\t缠于\n", encoding="utf-8")
    script = Script("开会。", "draft.txt", "zh")
    plan = pipeline.prepare(script, pipeline.RenderOptions(engine="tone", lexicon=path))
    retyped = pipeline.respoken(plan, plan.segments[0], "单于见行长。")
    assert retyped.spoken == "缠于见行长。" and retyped.pinyin == ()
    kept = drafts.spoken_readings("单于见行长。", "单于见行长。", (), load_lexicon(path).pinyin)
    assert [(o.start, o.pinyin) for o in kept] == [(0, ("chan2", "yu2")), (3, ("hang2", "zhang3"))]


def test_kokoro_cuts_a_long_annotated_text_keeping_each_reading_with_its_characters():
    from voicer.synthesis.engines import kokoro

    plain = "，".join(["今年以来全市经济运行总体平稳稳中有进"] * 14) + "，银行行长讲话。"
    reading = Override(plain.index("行长"), plain.index("行长") + 2, ("hang2", "zhang3"))
    pieces = kokoro._pieces(annotate(plain, [reading]), None)
    assert len(pieces) > 1
    assert all(len(kokoro._phoneme_ids(piece)) <= kokoro.MAX_TOKENS for piece in pieces)
    split = [split_annotated(piece) for piece in pieces]
    assert "".join(text for text, _ in split) == plain
    *before, (last, given) = split
    assert all(not overrides for _, overrides in before)
    assert [(last[o.start : o.end], o.pinyin) for o in given] == [("行长", ("hang2", "zhang3"))]


def test_the_readings_check_shows_are_the_authors(tmp_path):
    path = tmp_path / "words.tsv"
    path.write_text("重庆\tzhòng qìng\n", encoding="utf-8")
    script = Script("重庆很大，重[chong2]来。", "draft.txt", "zh")
    (sentence,) = pipeline.sentence_readings(script, load_lexicon(path))
    assert sentence.pinyin == "zhong4 qing4 hen3 da4 chong2 lai2"
