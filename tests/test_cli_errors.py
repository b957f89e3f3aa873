"""Bad input: one clear line on stderr, exit code 2, no synthesis, nothing written.

A few cases, one for each way out (voicer's own error, click's usage error, a refusal after the
engine is chosen), and the two tests after them run ``python -m voicer`` as a user would; the
others run the same command in this process, where the exit code and stderr are the same and an
internal error would raise here."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest
from speech_audio import invoke_voicer, run_voicer

GOOD = "今天开会。".encode()
# the cases run as a real process, by their message (the quick tier keeps one, SLOW marks the rest)
SLOW = pytest.mark.slow
IN_A_PROCESS = {
    "missing.txt: no such file",
    "Invalid value for '--engine'",
    "zm_yunxi speaks Mandarin,",
}


@pytest.mark.parametrize(
    ("setup", "args", "message"),
    [
        (None, ["missing.txt"], "missing.txt: no such file"),
        (b"", ["in.txt"], "in.txt: the text is empty"),
        ("\u3000 \n\n".encode(), ["in.txt"], "in.txt: the text is empty"),
        (b"\xff\xfe\x00\xd8", ["in.txt", "--engine", "kokoro"], None),  # lone surrogate in UTF-16
        (b"caf\xe9 \x80\x81 ok", ["in.txt"], "in.txt: cannot decode the text"),
        ("……——\n***".encode(), ["in.txt"], "in.txt: the text has nothing that can be spoken"),
        (GOOD, ["in.txt", "--voice", "zh-CN-Nobody"], "unknown voice 'zh-CN-Nobody'"),
        (GOOD, ["in.txt", "--engine", "kokoro", "--voice", "zm_nobody"], "unknown voice"),
        pytest.param(
            GOOD, ["in.txt", "--engine", "espeak"], "Invalid value for '--engine'", marks=SLOW
        ),
        (GOOD, ["in.txt", "--rate", "fast"], "invalid rate 'fast'"),
        (GOOD, ["in.txt", "--rate", "+500%"], "invalid rate '+500%'"),
        (GOOD, ["in.txt", "--pitch", "2 semitones"], "invalid pitch"),
        (GOOD, ["in.txt", "-o", "out.aiff"], "unknown audio format '.aiff'"),
        (GOOD, ["in.txt", "--srt", "out.txt"], "unknown subtitle format '.txt'"),
        (GOOD, ["in.txt", "--timeline", "t.txt"], "the timeline must be written to a .json file"),
        (GOOD, ["in.txt", "--srt", "a.srt", "--subtitles", "sub/../a.srt"], "two outputs would be"),
        (GOOD, ["in.txt", "--sentence-pause", "-5"], "Invalid value for '--sentence-pause'"),
        (GOOD, ["in.txt", "--engine", "edge", "--voice", "zm_yunxi"], "use --engine kokoro"),
        pytest.param(
            b"Good morning.",
            ["in.txt", "--voice", "zm_yunxi"],
            "zm_yunxi speaks Mandarin,",
            marks=SLOW,
        ),
        (GOOD, ["in.txt", "--engine", "kokoro", "--voice", "af_heart"], "af_heart speaks English,"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, setup, args, message):
    if setup is not None:
        (tmp_path / "in.txt").write_bytes(setup)
    run = run_voicer if message in IN_A_PROCESS else invoke_voicer
    result = run("render", *args, cwd=tmp_path)
    stderr = result.stderr.decode()
    assert result.returncode == 2, stderr
    assert "Traceback" not in stderr
    if message:
        assert message in stderr
    error_lines = [line for line in stderr.splitlines() if "rror" in line]
    assert len(error_lines) == 1, stderr
    assert not (tmp_path / "audio").exists()  # nothing written, not even a folder


@pytest.mark.slow
def test_unwritable_output_folder(tmp_path: Path):
    (tmp_path / "in.txt").write_bytes(GOOD)
    (tmp_path / "blocker").write_text("a file where a folder should be")
    result = run_voicer("render", "in.txt", "-o", "blocker/out.mp3", cwd=tmp_path)
    assert result.returncode == 2
    assert "cannot write output here" in result.stderr.decode()
    assert len(result.stderr.decode().strip().splitlines()) == 1


@pytest.mark.slow
def test_input_is_a_directory(tmp_path: Path):
    result = run_voicer("render", ".", "--engine", "kokoro", cwd=tmp_path)
    assert result.returncode == 2
    assert "is a directory" in result.stderr.decode()


# every option of a video output, given with an audio output (only --burn-in in a process)
VIDEO_ONLY = [
    ["--burn-in"],
    ["--title"],
    ["--caption-box"],
    ["--size", "1920x1080"],
    ["--background", "red"],
    ["--font", "Noto Sans"],
    ["--video-in", "clip.mp4"],
    ["--fit", "trim"],
    ["--mix"],
    ["--mix-level", "-10"],
    ["--duck", "5"],
]


@pytest.mark.parametrize("option", VIDEO_ONLY, ids=[option[0] for option in VIDEO_ONLY])
def test_a_video_option_with_an_audio_output_is_refused(tmp_path: Path, option: list[str]):
    (tmp_path / "in.txt").write_bytes(GOOD)
    run = run_voicer if option == ["--burn-in"] else invoke_voicer
    result = run("render", "in.txt", "-o", "out.mp3", "--engine", "tone", *option, cwd=tmp_path)
    stderr = result.stderr.decode()
    assert result.returncode == 2, stderr
    assert stderr.splitlines() == [
        f"voicer: error: {option[0]}: for a video output only (.mp4, .mkv or .webm), not out.mp3"
    ]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["in.txt"]  # no work done


@pytest.mark.parametrize(
    ("name", "text", "args", "message"),
    [
        ("in.txt", "[pause 1s]\n[# 备注]\n", [], "nothing is left to speak once the markup ("),
        pytest.param(
            "in.txt",
            "[voice zm_yunxi]\n[# 只有注释]\n",
            [],
            "once the markup ([pause …]",
            marks=SLOW,
        ),
        ("in.md", "[pause 1s]\n\n---\n", [], "once the markup ([pause …], [voice …], [# …])"),
        ("in.md", "![图](chart.png)\n\n```\nx\n```\n", [], "in.md: nothing to speak: the "),
        ("in.txt", "【待定】\n", ["--allow-placeholders"], "once the placeholders are left out"),
    ],
)
def test_nothing_to_speak_says_why(tmp_path: Path, name: str, text: str, args, message: str):
    (tmp_path / name).write_text(text, encoding="utf-8")
    run = run_voicer if name == "in.txt" and not args else invoke_voicer
    result = run("render", name, "--engine", "tone", *args, cwd=tmp_path)
    stderr = result.stderr.decode()
    assert result.returncode == 2, stderr
    (line,) = stderr.splitlines()
    assert line.startswith("voicer: error: ") and message in line
    assert "placeholder" not in line or "placeholder" in message
    assert sorted(path.name for path in tmp_path.iterdir()) == [name]


def test_a_reader_that_leaves_early_gets_no_error(tmp_path: Path):
    """``voicer voices | head -1``: the pipe closes before voicer has written; it says nothing
    on stderr (it once said "internal error: BrokenPipeError") and exits as a pipe's writer
    does."""
    command = [sys.executable, "-m", "voicer", "voices", "--engine", "kokoro"]
    process = subprocess.Popen(
        command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert process.stdout is not None
    process.stdout.close()  # the reader is gone before the first line
    _, stderr = process.communicate(timeout=120)
    assert stderr.decode() == ""
    assert process.returncode == 128 + signal.SIGPIPE
