"""SRT and WebVTT: written by voicer, read back by independent parsers and by voicer's readers."""

from __future__ import annotations

import html
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
import srt
import webvtt
from helpers import write_subtitles
from hypothesis import given, settings
from hypothesis import strategies as st

from voicer import ffmpeg
from voicer.errors import InputError
from voicer.model import Cue
from voicer.subtitles import formats as subtitles
from voicer.subtitles.timestamps import to_ms

SR = 24000
MS = timedelta(milliseconds=1)

# Times off the millisecond grid, a two-line cue with the punctuation and markup characters a
# writer must get right, and a cue past the first hour.
CUES = [
    Cue(12, 24011, ("你好 世界！", "《人民日报》说：“好” & <ok>")),
    Cue(SR * 61 + 7, SR * 62 + 13, ("Second cue -- with --> inside",)),
    Cue(int(3723.0046 * SR), int(3725.5 * SR), ("一小时以后？",)),
]


def exact_ms(sample: int) -> float:
    return sample * 1000 / SR


def clock_ms(stamp: str) -> int:
    """``HH:MM:SS.mmm`` or ``HH:MM:SS,mmm`` in milliseconds (for parsers that give strings)."""
    hours, minutes, seconds = stamp.replace(",", ".").split(":")
    return round((int(hours) * 3600 + int(minutes) * 60 + float(seconds)) * 1000)


def assert_matches(parsed: list[tuple[float, float, str]]) -> None:
    """(start ms, end ms, text) from some parser against CUES: within 1 ms, the same text."""
    assert len(parsed) == len(CUES)
    for (start, end, content), cue in zip(parsed, CUES, strict=True):
        assert abs(start - exact_ms(cue.start)) <= 1
        assert abs(end - exact_ms(cue.end)) <= 1
        assert content == "\n".join(cue.lines)


def test_srt_parses_back_with_the_srt_library(tmp_path: Path):
    path = tmp_path / "talk.srt"
    write_subtitles(CUES, SR, path)
    data = path.read_bytes()
    assert not data.startswith(b"\xef\xbb\xbf")
    parsed = list(srt.parse(data.decode("utf-8")))
    assert [sub.index for sub in parsed] == [1, 2, 3]
    assert_matches([(s.start / MS, s.end / MS, s.content) for s in parsed])


def test_vtt_is_webvtt_as_written():
    text = subtitles.format_text(CUES, SR, ".vtt")
    assert text.startswith("WEBVTT\n\n1\n00:00:00.001 --> 00:00:01.000\n")
    assert "01:02:03.005 --> 01:02:05.500" in text
    assert "&amp; &lt;ok&gt;" in text and "--&gt; inside" in text
    assert text.endswith("一小时以后？\n")


def test_vtt_parses_back_with_webvtt_py(tmp_path: Path):
    path = tmp_path / "talk.vtt"
    write_subtitles(CUES, SR, path)
    assert not path.read_bytes().startswith(b"\xef\xbb\xbf")
    captions = webvtt.read(str(path), strict=True)
    # webvtt-py leaves character references as written; a renderer unescapes them
    assert_matches([(clock_ms(c.start), clock_ms(c.end), html.unescape(c.text)) for c in captions])


def test_vtt_parses_back_with_ffmpegs_subtitle_demuxer(tmp_path: Path):
    path = tmp_path / "talk.vtt"
    write_subtitles(CUES, SR, path)
    command = [ffmpeg.executable(), "-nostdin", "-loglevel", "error", "-i", str(path)]
    result = subprocess.run([*command, "-f", "srt", "-"], capture_output=True, check=True)
    parsed = list(srt.parse(result.stdout.decode("utf-8")))
    assert_matches([(s.start / MS, s.end / MS, s.content) for s in parsed])


@pytest.mark.parametrize("extension", [".srt", ".vtt"])
def test_files_read_back_in_milliseconds(tmp_path: Path, extension: str):
    path = tmp_path / f"talk{extension.upper()}"
    write_subtitles(CUES, SR, path)
    cues = subtitles.read(path)
    assert [(c.start, c.end) for c in cues] == [
        (to_ms(c.start, SR), to_ms(c.end, SR)) for c in CUES
    ]
    assert [c.lines for c in cues] == [c.lines for c in CUES]


def test_write_to_a_temporary_name_takes_the_format_from_extension(tmp_path: Path):
    path = tmp_path / ".talk.vtt.part"
    write_subtitles(CUES, SR, path, ".vtt")
    assert path.read_text(encoding="utf-8").startswith("WEBVTT\n")


def test_readers_accept_a_bom_crlf_and_webvtt_extras(tmp_path: Path):
    srt_path = tmp_path / "a.srt"
    srt_path.write_bytes("\ufeff1\r\n00:00:01,000 --> 00:00:02,500\r\n你好\r\n\r\n".encode())
    assert subtitles.read(srt_path) == [Cue(1000, 2500, ("你好",), "你好")]
    vtt_path = tmp_path / "a.vtt"
    vtt_path.write_text(
        "\ufeffWEBVTT - a title\nKind: captions\n\nNOTE a comment\nover two lines\n\n"
        "STYLE\n::cue { color: yellow }\n\n"
        "01:02.000 --> 01:03.500 align:start line:0\n<v Roger>Hi &amp; <i>bye</i></v>\n\n"
        "cue-2\n00:01:04.000 --> 00:01:05.000\nline one\nline two\n",
        encoding="utf-8",
    )
    assert subtitles.read(vtt_path) == [
        Cue(62000, 63500, ("Hi & bye",), "Hi & bye"),
        Cue(64000, 65000, ("line one", "line two"), "line one\nline two"),
    ]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("a.srt", b"just some text\n", r"a\.srt: line 1: not valid SRT: 'just some text'"),
        (
            "a.srt",
            b"1\n00:00:01,000 --> 00:00:02,000\nok\n\n2\n00:00:03 --> nope\nx\n",
            r"a\.srt: line 5: not valid SRT",
        ),
        ("a.srt", b"", r"a\.srt: no subtitles in this file"),
        ("a.srt", b"1\n00:00:01,000 --> 00:00:02,000\n\xff\xfe\n", r"a\.srt: not UTF-8 text"),
        ("a.vtt", b"1\n00:00:01.000 --> 00:00:02.000\nx\n", r"a\.vtt: not a WebVTT file"),
        ("a.vtt", b"WEBVTT\n\n00:01.000 -> 00:02.000\nx\n", r"a\.vtt: line 3: a block without"),
        ("a.vtt", b"WEBVTT\n\nid\n00:01.00 --> 00:02.000\n", r"a\.vtt: line 4: not a WebVTT cue"),
        ("a.vtt", b"WEBVTT\n\n00:61.000 --> 00:62.000\n", r"a\.vtt: line 3: not a WebVTT cue"),
        ("a.vtt", b"WEBVTT\n00:01.000 --> 00:02.000\nx\n", r"a\.vtt: line 2: a cue must follow"),
        ("a.vtt", b"WEBVTT\n", r"a\.vtt: no subtitles in this file"),
        ("a.sub", b"", r"a\.sub: unknown subtitle format .\.sub. \(use one of"),
    ],
)
def test_unreadable_files_are_one_line_input_errors(
    tmp_path: Path, name: str, content: bytes, message: str
):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputError, match=message) as caught:
        subtitles.read(path)
    assert "\n" not in str(caught.value)
    assert str(path) in str(caught.value)


def test_missing_file_and_directory(tmp_path: Path):
    with pytest.raises(InputError, match="no such file"):
        subtitles.read(tmp_path / "missing.srt")
    (tmp_path / "dir.vtt").mkdir()
    with pytest.raises(InputError, match="is a directory"):
        subtitles.read(tmp_path / "dir.vtt")


def test_unknown_extension_when_writing(tmp_path: Path):
    with pytest.raises(InputError, match=r"unknown subtitle format '\.txt'"):
        write_subtitles(CUES, SR, tmp_path / "talk.txt")
    with pytest.raises(InputError, match="no file extension"):
        subtitles.format_for(tmp_path / "talk")
    assert not list(tmp_path.iterdir())
    assert subtitles.format_for(".VTT") is subtitles.FORMATS[".vtt"]


ALPHABET = "你好世界。，、；？！：“”《》（）—…abcXYZ019 &<>-.'\"#=/\u3000"
line_text = st.text(ALPHABET, min_size=1, max_size=12).filter(str.strip)


@st.composite
def ordered_cues(draw: st.DrawFn) -> tuple[int, list[Cue]]:
    sample_rate = draw(st.sampled_from([1000, 22050, 24000, 48000]))
    cues, at = [], 0
    for _ in range(draw(st.integers(0, 6))):
        at += draw(st.integers(0, 90 * sample_rate))
        end = at + draw(st.integers(0, 10 * sample_rate))
        cues.append(Cue(at, end, tuple(draw(st.lists(line_text, min_size=1, max_size=3)))))
        at = end
    return sample_rate, cues


@pytest.mark.slow
@settings(max_examples=150, deadline=None)
@given(ordered_cues(), st.sampled_from([".srt", ".vtt"]))
def test_any_ordered_cues_survive_write_and_read(drawn: tuple[int, list[Cue]], extension: str):
    sample_rate, cues = drawn
    subtitle_format = subtitles.FORMATS[extension]
    parsed = subtitle_format.parse(subtitle_format.compose(cues, sample_rate))
    assert len(parsed) == len(cues)
    for back, cue in zip(parsed, cues, strict=True):
        assert abs(back.start - cue.start * 1000 / sample_rate) <= 0.5
        assert abs(back.end - cue.end * 1000 / sample_rate) <= 0.5
        assert back.lines == cue.lines
