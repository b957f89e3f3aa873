"""A sentence too long to speak in one piece (a runaway line with no punctuation) is cut into
pieces of at most MAX_SENTENCE_CHARS characters before synthesis, each a segment of its own,
so that memory stays flat whatever the line's length (the figure is scripts/bench.py
longline's: peak RSS is measured there, never asserted here).

- The pieces join back to the sentence, each at its own column; a sentence that fits is left
  as it is; cuts fall between words (never inside a number, a Latin word or a lexicon entry),
  the pieces are joined by a breath (PIECE_PAUSE_MS) and the last keeps the sentence's pause.
- A render of a long unpunctuated line (tone engine, the CLI as a subprocess) speaks it in
  pieces; its SRT parses back, shows the whole line in order and breaks no rule, its audio
  decodes to the length the timeline gives, and the pieces are PIECE_PAUSE_MS apart.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
import srt
from hypothesis import given, settings
from hypothesis import strategies as st
from speech_audio import RATE, decode, run_voicer

from voicer.model import Segment
from voicer.script import prepare
from voicer.script.reading import read_script
from voicer.script.sentences import (
    MAX_SENTENCE_CHARS,
    PIECE_PAUSE_MS,
    pieces,
    segmenter,
    split_to_fit,
)

ROOT = Path(__file__).resolve().parent.parent
HAN = "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能"
# Phrases of two-character words only: the tone engine speaks Han text two characters to a
# word, so its word marks fall on jieba's words (marks that straddle them leave the subtitles
# no place to break, whatever the length).
PHRASES = (
    "我们继续推动科技创新",
    "加快建设现代产业体系",
    "全面深化改革开放",
    "努力提高人民生活水平",
    "不断增强城市综合实力",
)


def unpunctuated_line(characters: int) -> str:
    """A Mandarin line of about ``characters`` characters and no punctuation at all."""
    phrases = [PHRASES[(3 * n) % len(PHRASES)] for n in range(characters // 8 + 1)]
    line = "".join(phrases)
    return line[: len(line) - len(line) % 2][:characters]


def sentence(text: str, **fields: object) -> Segment:
    return replace(Segment(0, text, text, 0, 1, 1, True), **fields)


@pytest.mark.slow
@settings(max_examples=30, deadline=None)
@given(st.text(HAN, min_size=MAX_SENTENCE_CHARS + 1, max_size=6 * MAX_SENTENCE_CHARS))
def test_a_long_line_becomes_pieces_within_the_limit_that_join_back(text):
    found = pieces(sentence(text, column=5))
    assert len(found) > 1
    assert all(len(piece.shown) <= MAX_SENTENCE_CHARS for piece in found)
    assert "".join(piece.shown for piece in found) == text
    assert [piece.spoken for piece in found] == [piece.shown for piece in found]
    for piece in found:  # each at its own column
        assert text[piece.column - 5 :].startswith(piece.shown)


@settings(max_examples=50, deadline=None)
@given(st.text(HAN + "，。 5%AB", min_size=1, max_size=MAX_SENTENCE_CHARS))
def test_a_sentence_within_the_limit_is_left_as_it_is(text):
    segment = sentence(text, pause_after_ms=700)
    assert pieces(segment) == [segment]


def test_the_sentences_of_the_example_speeches_are_untouched():
    for name in ("speech.txt", "long-speech.txt"):
        found = prepare.prepare(read_script(ROOT / "examples" / name)).segments
        assert [piece for segment in found for piece in pieces(segment)] == found


@pytest.mark.slow
def test_pieces_are_a_breath_apart_and_the_last_keeps_the_sentences_pause():
    text = unpunctuated_line(3 * MAX_SENTENCE_CHARS)
    found = pieces(sentence(text, pause_after_ms=1500, ends_paragraph=True, voice="v", rate=10))
    assert [p.pause_after_ms for p in found] == [PIECE_PAUSE_MS] * (len(found) - 1) + [1500]
    assert [p.ends_paragraph for p in found] == [False] * (len(found) - 1) + [True]
    assert {(p.voice, p.rate, p.line) for p in found} == {("v", 10, 1)}


def test_an_unpunctuated_line_is_cut_between_words_of_two_characters_or_more():
    text = "首先我代表市委市政府向奋战在科研一线的同志们致以诚挚的问候" * 20
    words = segmenter().lcut(text)
    ends = {sum(map(len, words[: n + 1])): (words[n], words[n + 1]) for n in range(len(words) - 1)}
    cuts = [sum(len(p.shown) for p in pieces(sentence(text))[: n + 1]) for n in range(2)]
    for cut in cuts:
        assert cut in ends, f"cut inside a word at {cut}: {text[cut - 3 : cut + 3]}"
        before, after = ends[cut]
        assert min(len(before), len(after)) >= 2, (before, after)


def test_numbers_latin_words_and_lexicon_entries_are_never_cut():
    text = "全市GDP增长百分之5.2其中高新技术企业达到1280家朝阳区人民政府发布" * 12
    found = split_to_fit(text, lambda piece: len(piece) <= 100, ("朝阳区人民政府",))
    assert "".join(found) == text
    cuts = [sum(map(len, found[: n + 1])) for n in range(len(found) - 1)]
    assert all(is_han(text[cut - 1]) and is_han(text[cut]) for cut in cuts)
    entries = [(at, at + 7) for at in range(len(text)) if text.startswith("朝阳区人民政府", at)]
    assert not [cut for cut in cuts for start, end in entries if start < cut < end]


def is_han(character: str) -> bool:
    return "\u4e00" <= character <= "\u9fff"


def test_punctuation_and_spaces_still_come_first():
    assert split_to_fit("甲乙丙，丁戊己庚辛", lambda s: len(s) <= 5) == ["甲乙丙，", "丁戊己庚辛"]
    assert split_to_fit("我们要继续推动 科技创新", lambda s: len(s) <= 8) == [
        "我们要继续推动 ",
        "科技创新",
    ]


@pytest.fixture(scope="module")
def long_line_render(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("long-line")
    (folder / "line.txt").write_text(unpunctuated_line(2000) + "\n", encoding="utf-8")
    args = ("render", "line.txt", "-o", "line.wav", "--engine", "tone", "--timeline", "line.json")
    done = run_voicer(*args, "--no-cache", cwd=folder)
    assert done.returncode == 0, done.stderr.decode()
    return folder


@pytest.mark.slow
def test_a_long_line_is_spoken_in_pieces_a_breath_apart(long_line_render: Path):
    timeline = json.loads((long_line_render / "line.json").read_text(encoding="utf-8"))
    sentences = timeline["sentences"]
    line = (long_line_render / "line.txt").read_text(encoding="utf-8").strip()
    assert len(sentences) >= len(line) / MAX_SENTENCE_CHARS
    assert all(len(s["text"]) <= MAX_SENTENCE_CHARS for s in sentences)
    assert "".join(s["text"] for s in sentences) == line
    rate = timeline["sample_rate"]
    gaps = {
        b["start_sample"] - a["end_sample"] for a, b in zip(sentences, sentences[1:], strict=False)
    }
    assert gaps == {PIECE_PAUSE_MS * rate // 1000}


@pytest.mark.slow
def test_a_long_lines_subtitles_parse_back_whole_and_follow_the_rules(long_line_render: Path):
    cues = list(srt.parse((long_line_render / "line.srt").read_text(encoding="utf-8")))
    line = (long_line_render / "line.txt").read_text(encoding="utf-8").strip()
    assert "".join(cue.content for cue in cues).replace("\n", "").replace(" ", "") == line
    checked = run_voicer("subtitles-check", "line.srt", cwd=long_line_render)
    assert checked.returncode == 0, checked.stdout.decode() + checked.stderr.decode()
    audio = decode(long_line_render / "line.wav")
    timeline = json.loads((long_line_render / "line.json").read_text(encoding="utf-8"))
    assert abs(audio.size / RATE - timeline["duration"]) < 0.01
    assert cues[-1].end.total_seconds() <= timeline["duration"]
