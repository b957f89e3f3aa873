"""Outputs that cannot be created are found before synthesis (exit 2), also where permissions
say yes and the file system says no (/proc, /sys: tests run as root, where chmod stops
nothing); checking creates nothing."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from speech_audio import invoke_voicer

from voicer import files
from voicer.errors import InputError

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc and /sys")


@pytest.mark.parametrize(
    "args",
    [
        ["-o", "/proc/x/out.mp3"],  # a missing folder that cannot be made
        ["-o", "/proc/out.wav"],  # an existing folder that takes no new files
        ["-o", "/sys/voicer/deeper/out.mp3"],
        ["-o", "out.mp3", "--srt", "/sys/out.srt"],
        ["-o", "out.mp3", "--timeline", "/proc/x/t.json"],
    ],
)
def test_outputs_that_cannot_be_created_fail_before_synthesis(tmp_path: Path, args):
    (tmp_path / "in.txt").write_text("今天开会。", encoding="utf-8")
    result = invoke_voicer("render", "in.txt", "--engine", "tone", *args, cwd=tmp_path)
    stderr = result.stderr.decode()
    assert result.returncode == 2, stderr
    (line,) = stderr.strip().splitlines()  # one line, and no "speaking 1 sentence ..." before it
    assert line.startswith("voicer: error: ") and "cannot write output here" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.txt"]


def test_checking_creates_nothing(tmp_path: Path):
    files.check_writable(tmp_path / "a" / "b" / "out.mp3")
    files.check_writable(tmp_path / "out.mp3")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("path", ["/proc/x/out.mp3", "/proc/out.mp3", "/sys/x/y/out.srt"])
def test_check_writable_refuses_what_cannot_be_made(path: str):
    with pytest.raises(InputError, match="cannot write output here"):
        files.check_writable(Path(path))


@pytest.mark.parametrize(
    ("script", "args", "clash"),
    [
        ("talk.srt", ["-o", "talk.wav"], "talk.srt"),  # the SRT beside the audio is the script
        ("talk.txt", ["-o", "talk.wav", "--srt", "link.srt"], "link.srt"),  # a link to it
        ("talk.txt", ["-o", "talk.wav", "--lexicon", "w.srt", "--srt", "w.srt"], "w.srt"),
        ("talk.txt", ["-o", "talk.wav", "--fill-file", "w.srt", "--srt", "w.srt"], "w.srt"),
        ("talk.json", ["-o", "talk.wav", "--timeline", "talk.json"], "talk.json"),
    ],
)
def test_no_output_replaces_an_input(tmp_path: Path, script, args, clash):
    text = "今天开会。"
    (tmp_path / script).write_text(text, encoding="utf-8")
    (tmp_path / "link.srt").symlink_to(script)
    (tmp_path / "w.srt").write_text("AI\tA I\n", encoding="utf-8")
    before = {path.name: path.read_bytes() for path in tmp_path.iterdir()}
    result = invoke_voicer("render", script, "--engine", "tone", *args, cwd=tmp_path)
    stderr = result.stderr.decode()
    assert result.returncode == 2, stderr
    (line,) = stderr.strip().splitlines()
    assert line.startswith(f"voicer: error: {clash}: is an input of this render"), line
    assert {path.name: path.read_bytes() for path in tmp_path.iterdir()} == before
