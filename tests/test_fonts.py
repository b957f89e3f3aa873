"""The caption font: chosen by letting the real ffmpeg (libass) draw the text."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pysubs2
import pytest
from fontTools.ttLib import TTFont

from voicer import ffmpeg
from voicer.errors import InputError
from voicer.video import fonts

CHINESE = "今天天气很好 Hello"


@pytest.fixture
def scratch() -> Iterator[contextlib.ExitStack]:
    with contextlib.ExitStack() as stack:
        yield stack


@pytest.fixture
def no_system_fonts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A machine without fonts: fontconfig reads a configuration naming no font folder."""
    config = tmp_path / "fonts.conf"
    config.write_text(f"<fontconfig><cachedir>{tmp_path / 'cache'}</cachedir></fontconfig>")
    monkeypatch.setenv("FONTCONFIG_FILE", str(config))


def test_system_noto_sans_cjk_sc_for_chinese(scratch):
    font = fonts.choose_font(CHINESE, None, scratch)
    assert font.family == "Noto Sans CJK SC"
    assert font.directory is None
    assert font.file is not None and font.file.is_file()
    assert "NotoSansCJK" in font.file.name


@pytest.mark.slow
def test_packaged_font_when_the_system_has_none(no_system_fonts, scratch):
    packaged = fonts.packaged_font()
    assert packaged is not None
    font = fonts.choose_font(CHINESE, None, scratch)
    assert font.family == "Noto Sans CJK SC"
    assert font.file == packaged
    assert font.directory is not None
    [made] = font.directory.iterdir()
    static = TTFont(made)  # the variable font's default is Thin: a regular instance is drawn
    assert "fvar" not in static and static["OS/2"].usWeightClass == 400
    assert set(CHINESE.replace(" ", "")) <= {chr(c) for c in static.getBestCmap()}
    scratch.close()
    assert not font.directory.exists()


def test_one_line_error_when_no_font_at_all(no_system_fonts, scratch, monkeypatch):
    monkeypatch.setattr(fonts, "packaged_font", lambda: None)
    with pytest.raises(InputError) as raised:
        fonts.choose_font(CHINESE, None, scratch)
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith("no font can draw the captions' ")
    assert "今" in message and "U+4ECA" in message
    assert "fonts-noto-cjk" in message and "voicer[cjk]" in message and "--font PATH" in message


@pytest.mark.slow
def test_requested_collection_file_gives_its_simplified_chinese_face(no_system_fonts, scratch):
    packaged = fonts.packaged_font()
    assert packaged is not None
    font = fonts.choose_font(CHINESE, str(packaged), scratch)
    assert font.family == "Noto Sans CJK SC"
    assert font.file == packaged
    assert font.directory is not None


def test_requested_file_that_is_not_a_font(tmp_path, scratch):
    text = tmp_path / "notes.txt"
    text.write_text("not a font\n")
    with pytest.raises(InputError, match=r"notes\.txt: not a font file$"):
        fonts.choose_font(CHINESE, str(text), scratch)


def test_requested_file_that_does_not_exist(tmp_path, scratch):
    with pytest.raises(InputError, match="no such font file"):
        fonts.choose_font(CHINESE, str(tmp_path / "missing.ttf"), scratch)


def test_requested_family_without_han_glyphs(no_system_fonts, scratch):
    with pytest.raises(InputError) as raised:
        fonts.choose_font(CHINESE, "DejaVu Sans", scratch)
    message = str(raised.value)
    assert "\n" not in message
    assert "'DejaVu Sans'" in message and "今" in message


def test_requested_family_that_falls_back_for_han_glyphs(scratch):
    """With system fonts libass would draw Han text in another family: not what was asked."""
    with pytest.raises(InputError, match="'DejaVu Sans' cannot draw the captions' .*今"):
        fonts.choose_font(CHINESE, "DejaVu Sans", scratch)


def test_requested_family_that_fontconfig_lacks(scratch):
    with pytest.raises(InputError, match="'No Such Family' not found"):
        fonts.choose_font("Hello", "No Such Family", scratch)


@pytest.mark.slow
def test_requested_family_found(scratch):
    font = fonts.choose_font(CHINESE, "Noto Sans CJK SC", scratch)
    assert font.family == "Noto Sans CJK SC" and font.directory is None
    assert font.file is not None and font.file.is_file()


def test_latin_text_needs_no_cjk_font(no_system_fonts, scratch, monkeypatch):
    monkeypatch.setattr(fonts, "packaged_font", lambda: None)
    with pytest.raises(InputError, match="H, e, l, o"):
        fonts.choose_font("Hello", None, scratch)


def _burn(font: fonts.Font, text: str, folder: Path) -> np.ndarray:
    """One 320x240 frame with ``text`` burned in by libass, as 8-bit gray pixels."""
    subtitles = pysubs2.SSAFile()
    subtitles.info["PlayResX"] = "320"
    subtitles.info["PlayResY"] = "240"
    subtitles.styles["Default"].fontname = font.family
    subtitles.styles["Default"].fontsize = 40
    subtitles.append(pysubs2.SSAEvent(start=0, end=1000, text=text))
    subtitles.save(str(folder / "captions.ass"))
    assert font.directory is not None
    (folder / "fonts").symlink_to(font.directory)
    png = folder / "frame.png"
    command = [ffmpeg.executable(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y"]
    command += ["-f", "lavfi", "-i", "color=c=black:s=320x240:d=0.04"]
    command += ["-vf", "subtitles=captions.ass:fontsdir=fonts", "-frames:v", "1", str(png)]
    subprocess.run(command, cwd=folder, check=True, capture_output=True)
    decode = [ffmpeg.executable(), "-hide_banner", "-nostdin", "-loglevel", "error"]
    decode += ["-i", str(png), "-f", "rawvideo", "-pix_fmt", "gray", "-"]
    pixels = subprocess.run(decode, check=True, capture_output=True).stdout
    return np.frombuffer(pixels, dtype=np.uint8).reshape(240, 320)


@pytest.mark.slow
def test_packaged_font_draws_chinese_with_no_system_fonts(no_system_fonts, scratch, tmp_path):
    font = fonts.choose_font("今天天气很好", None, scratch)
    assert font.directory is not None
    frame = _burn(font, "今天天气很好", tmp_path)
    bright = frame > 200
    assert bright.sum() > 300  # six ideographs at 40 px, white on black
    rows = np.flatnonzero(bright.any(axis=1))
    assert rows.min() > 120  # at the bottom, where the Default style puts captions
