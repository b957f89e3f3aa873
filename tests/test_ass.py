"""ASS: written by voicer, read back by pysubs2, by libass (ffmpeg's subtitles filter) and by
voicer's reader."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pysubs2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pysubs2 import Alignment, SSAFile
from speech_audio import invoke_voicer

from voicer import ffmpeg
from voicer.errors import InputError
from voicer.model import Cue
from voicer.subtitles import formats
from voicer.subtitles.ass import AssStyle, Title, ass_text, parse_ass

SR = 24000
FULL_WIDTH = str.maketrans({"{": "\uff5b", "}": "\uff5d"})


def shown(line: str) -> str:
    """A caption line as pysubs2 reads it from voicer's ASS: braces full-width, and a word
    joiner (U+2060, which draws as nothing) after each backslash."""
    return line.translate(FULL_WIDTH).replace("\\", "\\\u2060")


ALPHABET = "你好世界。，、；？！：“”《》（）—…abcNnhXYZ019 &<>-.'\"#=/,{}\\\u3000"
line_text = st.text(ALPHABET, min_size=1, max_size=12).filter(lambda s: s == s.strip() != "")
FRAMES = [(1920, 1080), (1280, 720), (3840, 2160), (720, 576)]


@st.composite
def ordered_cues(draw: st.DrawFn) -> tuple[int, list[Cue]]:
    """Cues as voicer makes them: in order, at least 80 ms (two frames) apart."""
    rate = draw(st.sampled_from([1000, 22050, 24000, 48000]))
    cues, at = [], 0
    for _ in range(draw(st.integers(1, 6))):
        at += draw(st.integers(rate * 80 // 1000 + 1, 90 * rate))
        end = at + draw(st.integers(rate // 10, 10 * rate))
        cues.append(Cue(at, end, tuple(draw(st.lists(line_text, min_size=1, max_size=3)))))
        at = end
    return rate, cues


@settings(max_examples=150, deadline=None)
@given(ordered_cues(), st.sampled_from(FRAMES))
def test_any_ordered_cues_survive_write_and_read(drawn: tuple[int, list[Cue]], frame):
    rate, cues = drawn
    width, height = frame
    text = ass_text(cues, rate, AssStyle(width=width, height=height))
    parsed = parse_ass(text)
    assert [c.lines for c in parsed] == [c.lines for c in cues]
    for back, cue in zip(parsed, cues, strict=True):
        assert abs(back.start - cue.start * 1000 / rate) <= 10
        assert abs(back.end - cue.end * 1000 / rate) <= 10
        assert back.start < back.end
    for before, after in zip(parsed, parsed[1:], strict=False):
        assert before.end <= after.start

    script = SSAFile.from_string(text)  # pysubs2, guessing the format
    assert script.format == "ass"
    assert (script.info["PlayResX"], script.info["PlayResY"]) == (str(width), str(height))
    assert script.info["WrapStyle"] == "2" and script.info["ScaledBorderAndShadow"] == "yes"
    style = script.styles["Caption"]
    assert style.fontsize == round(0.055 * height)
    assert style.alignment == Alignment.BOTTOM_CENTER
    assert 0.05 * width <= style.marginl == style.marginr <= 0.06 * width
    assert 0.05 * height <= style.marginv <= 0.08 * height
    assert [e.style for e in script.events] == ["Caption"] * len(cues)
    assert [e.plaintext for e in script.events] == [
        "\n".join(shown(line) for line in cue.lines) for cue in cues
    ]


def test_times_are_the_srt_milliseconds_in_centiseconds():
    cues = [Cue(12, 24011, ("a",)), Cue(int(3723.0046 * SR), int(3725.5 * SR), ("b",))]
    text = ass_text(cues, SR)
    assert "Dialogue: 0,0:00:00.00,0:00:01.00,Caption,,0,0,0,,a\n" in text
    # 1:02:03.005 in SRT: half a centisecond rounds up, as in Aegisub
    assert "Dialogue: 0,1:02:03.01,1:02:05.50,Caption,,0,0,0,,b\n" in text


def test_style_follows_the_text_and_the_box_option():
    latin = SSAFile.from_string(ass_text([Cue(0, SR, ("Hello",))], SR))
    assert latin.styles["Caption"].fontname == "Noto Sans"
    assert latin.styles["Caption"].borderstyle == 1
    assert latin.styles["Caption"].outline == 3  # 1080 / 360
    boxed = SSAFile.from_string(ass_text([Cue(0, SR, ("你好",))], SR, AssStyle(box=True)))
    caption = boxed.styles["Caption"]
    assert (caption.fontname, caption.borderstyle, caption.shadow) == ("Noto Sans CJK SC", 3, 0)
    assert caption.outlinecolor.a < 128  # the box is more opaque than not
    chosen = SSAFile.from_string(ass_text([Cue(0, SR, ("Hi",))], SR, AssStyle(font="DejaVu Sans")))
    assert chosen.styles["Caption"].fontname == "DejaVu Sans"


def test_a_title_at_the_top_until_its_end():
    cues = [Cue(SR, 2 * SR, ("第一句",)), Cue(3 * SR, 4 * SR, ("第二句",))]
    text = ass_text(cues, SR, title=Title("新闻 {标题}", int(2.5 * SR)))
    script = SSAFile.from_string(text)
    title = script.styles["Title"]
    assert title.alignment == Alignment.TOP_CENTER
    assert title.fontname == script.styles["Caption"].fontname == "Noto Sans CJK SC"
    assert title.fontsize == round(1.3 * script.styles["Caption"].fontsize)
    assert 0.05 * 1080 <= title.marginv <= 0.08 * 1080
    titles = [e for e in script.events if e.style == "Title"]
    assert [(e.start, e.end, e.plaintext) for e in titles] == [(0, 2500, shown("新闻 {标题}"))]
    assert [c.lines for c in parse_ass(text)] == [("第一句",), ("第二句",)]

    untitled = SSAFile.from_string(ass_text(cues, SR))
    assert "Title" not in untitled.styles
    assert {e.style for e in untitled.events} == {"Caption"}


CAPTIONS = [r"{\b1}加粗{\b0}", r"a\Nb", r"c\nd\he", "{", "}", "\\", r"{\an8}top"]


@pytest.mark.parametrize("caption", CAPTIONS)
def test_override_characters_in_a_caption_are_text(caption: str):
    text = ass_text([Cue(0, SR, (caption, "line 2"))], SR)
    (event,) = SSAFile.from_string(text).events
    assert not event.OVERRIDE_SEQUENCE.search(event.text)  # no tag block for any reader
    assert event.plaintext.replace("\u2060", "") == f"{caption.translate(FULL_WIDTH)}\nline 2"
    fragments = pysubs2.formats.substation.parse_tags(event.text)
    assert all(style == pysubs2.SSAStyle.DEFAULT_STYLE for _, style in fragments)
    assert parse_ass(text) == [Cue(0, 1000, (caption, "line 2"), f"{caption}\nline 2")]


def ink(lines: tuple[str, ...], tmp_path: Path) -> tuple[int, int]:
    """(width, height) in pixels of what libass draws for a caption, in a 640x360 frame."""
    path = tmp_path / "ink.ass"
    path.write_text(ass_text([Cue(0, 5 * SR, lines)], SR, AssStyle(width=640, height=360)))
    command = [ffmpeg.executable(), "-nostdin", "-loglevel", "error", "-f", "lavfi"]
    command += ["-i", "color=c=black:s=640x360:d=1", "-vf", f"subtitles={path.name}"]
    command += ["-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "gray", "-"]
    frame = subprocess.run(command, cwd=tmp_path, capture_output=True, check=True).stdout
    rows, columns = np.nonzero(np.frombuffer(frame, np.uint8).reshape(360, 640) > 128)
    return int(np.ptp(columns)) + 1 if columns.size else 0, int(
        np.ptp(rows)
    ) + 1 if rows.size else 0


def test_libass_draws_override_characters_as_text(tmp_path: Path):
    one_line = ink(("x/Nx",), tmp_path)[1]
    two_lines = ink(("x/", "Nx"), tmp_path)[1]
    assert two_lines > 1.6 * one_line
    for caption in (r"x\Nx", r"x\nx"):
        assert ink((caption,), tmp_path)[1] <= one_line + 2  # no line break
    assert ink((r"{\b1}x",), tmp_path)[0] > 3 * ink(("x",), tmp_path)[0]  # the tag is shown
    assert ink(("{x", "}"), tmp_path)[1] > 1.6 * one_line  # nothing hidden in between


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("just some text\n", "not an ASS file"),
        ("1\n00:00:01,000 --> 00:00:02,000\nok\n", "not an ASS file"),
        ("[Script Info]\n\n[Events]\nFormat: Layer, Start, End, Style, Text\n", "no subtitles"),
        (
            "[Script Info]\n[Events]\nDialogue: 0,0:00:xx.00,0:00:02.00,Caption,,0,0,0,,a\n",
            "not valid ASS: Failed to parse timestamp",
        ),
    ],
)
def test_unreadable_files_are_one_line_input_errors(tmp_path: Path, content: str, message: str):
    path = tmp_path / "a.ass"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match=message) as caught:
        formats.read(path)
    assert "\n" not in str(caught.value) and str(path) in str(caught.value)


def test_registered_by_extension():
    assert formats.format_for("talk.ASS").name == "Advanced SubStation Alpha"
    assert formats.format_text([Cue(0, SR, ("a",))], SR, ".ass") == ass_text(
        [Cue(0, SR, ("a",))], SR
    )


SPEECH = (
    "今天我们讨论城市的公共交通。地铁和公交每天运送数百万乘客。\n\n"
    "下一步，我们要让换乘更方便。谢谢大家！\n"
)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder where ``voicer render`` wrote out.mp3, out.srt and out.ass (tone engine)."""
    folder = tmp_path_factory.mktemp("render")
    (folder / "in.txt").write_text(SPEECH, encoding="utf-8")
    args = ["in.txt", "--engine", "tone", "--subtitles", "out.ass", "-o", "out.mp3"]
    result = invoke_voicer("render", *args, cwd=folder)
    assert result.returncode == 0, result.stderr.decode()
    return folder


def test_render_writes_ass_matching_the_srt(rendered: Path):
    ass_cues = formats.read(rendered / "out.ass")
    srt_cues = formats.read(rendered / "out.srt")
    assert len(ass_cues) == len(srt_cues) >= 2
    for ass_cue, srt_cue in zip(ass_cues, srt_cues, strict=True):
        assert ass_cue.lines == srt_cue.lines
        assert abs(ass_cue.start - srt_cue.start) <= 5
        assert abs(ass_cue.end - srt_cue.end) <= 5
    script = SSAFile.load(str(rendered / "out.ass"))
    assert script.styles["Caption"].fontname == "Noto Sans CJK SC"


def test_subtitles_check_passes_the_rendered_ass(rendered: Path):
    assert invoke_voicer("subtitles-check", "out.srt", cwd=rendered).returncode == 0
    check = invoke_voicer("subtitles-check", "out.ass", cwd=rendered)
    assert check.returncode == 0, check.stdout.decode()
