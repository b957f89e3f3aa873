"""Captions drawn into the picture (``--burn-in``), read back from the video itself: OCR of each
cue (tesseract, chi_sim), no caption in the pauses, each cue on screen from the frame its
subtitle starts to the frame it ends (within one frame), the sound in step with the picture,
the title at the top (``--title``) and the box behind the captions (``--caption-box``).

One short Chinese script is rendered twice per test session (shared by the xdist workers):
``plain.mp4`` with ``--burn-in``, ``boxed.mp4`` with ``--burn-in --title --caption-box``.
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import sys
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import srt
from numpy.lib.stride_tricks import sliding_window_view
from speech_audio import decode, first_sound, made_once, shared_temp, speech_runs

from voicer import ffmpeg


def _tesseract_reads_chinese() -> bool:
    if shutil.which("tesseract") is None:
        return False
    found = subprocess.run(["tesseract", "--list-langs"], capture_output=True, text=True)
    return "chi_sim" in (found.stdout + found.stderr).split()


pytestmark = [
    pytest.mark.video,
    pytest.mark.skipif(
        not _tesseract_reads_chinese(),
        reason="tesseract with chi_sim data is needed (.ci/run installs tesseract-ocr-chi-sim)",
    ),
]

SCRIPT = """\
科技创新大会

今天我们召开全市科技创新大会。首先向大家致以诚挚的问候！

过去一年全市研发投入持续增长。我们建成了三个重点实验室。

让我们携手并进共同努力奋斗！
"""
TITLE = "科技创新大会"  # the script's first heading
WIDTH, HEIGHT, FPS = 1280, 720, 25
BACKGROUND = (0x14, 0x18, 0x1F)  # voicer's default card, #14181f
LOWER = slice(round(HEIGHT * 0.7), HEIGHT)  # the rows where captions are drawn
UPPER = slice(0, round(HEIGHT * 0.25))  # the rows where the title is drawn
BRIGHT = 160  # a pixel of white text: every channel above this
SHOWN = 100  # bright pixels in the lower band that make a frame "captioned"
BLANK = 10  # a band that is the background: no channel further from it than this
MAX_CER = 0.15


@dataclass(frozen=True)
class Rendered:
    folder: Path
    cues: list[srt.Subtitle]
    frames: int  # in plain.mp4
    lower: np.ndarray  # per frame of plain.mp4: bright pixels in the lower band
    lower_blank: np.ndarray  # per frame of plain.mp4: the lower band is the background

    @property
    def plain(self) -> Path:
        return self.folder / "plain.mp4"

    @property
    def boxed(self) -> Path:
        return self.folder / "boxed.mp4"


def _render(folder: Path) -> None:
    (folder / "speech.txt").write_text(SCRIPT, encoding="utf-8")
    common = ["--engine", "tone", "--size", f"{WIDTH}x{HEIGHT}", "--fps", str(FPS), "-q"]
    common += ["--cache-dir", str(folder / "cache")]
    runs = {
        "plain.mp4": ["--burn-in", "--timeline", "plain.json"],
        "boxed.mp4": ["--burn-in", "--title", "--caption-box"],
    }
    children = [
        subprocess.Popen(
            [sys.executable, "-m", "voicer", "render", "speech.txt", "-o", name, *common, *extra],
            cwd=folder,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for name, extra in runs.items()
    ]
    for child in children:
        out, err = child.communicate(timeout=600)
        assert child.returncode == 0, err.decode()


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Rendered:
    folder = made_once(shared_temp(tmp_path_factory, worker_id) / "burn-in", _render)
    cues = list(srt.parse((folder / "plain.srt").read_text(encoding="utf-8")))
    lower, blank = [], []
    for frame in frames(folder / "plain.mp4"):
        band = frame[LOWER].astype(np.int16)
        lower.append(int(np.count_nonzero((band > BRIGHT).all(axis=2))))
        blank.append(bool(np.abs(band - BACKGROUND).max() <= BLANK))
    return Rendered(folder, cues, len(lower), np.array(lower), np.array(blank))


# --- reading the video back, with ffmpeg alone ---------------------------------------------------


def frames(video: Path) -> Iterator[np.ndarray]:
    """Every frame of ``video`` as decoded, in order (frame n is shown at n / FPS), as RGB."""
    command = [ffmpeg.executable(), "-nostdin", "-hide_banner", "-loglevel", "error", "-i"]
    command += [str(video), "-map", "0:v:0", "-fps_mode", "passthrough"]
    command += ["-pix_fmt", "rgb24", "-f", "rawvideo", "-"]
    size = WIDTH * HEIGHT * 3
    with subprocess.Popen(command, stdout=subprocess.PIPE) as process:
        assert process.stdout is not None
        while len(data := process.stdout.read(size)) == size:
            yield np.frombuffer(data, np.uint8).reshape(HEIGHT, WIDTH, 3)
    assert process.returncode == 0


def frame_at(video: Path, seconds: float, png: Path | None = None) -> np.ndarray:
    """The frame shown at ``seconds`` (input seeking, as a player does), as RGB; also written
    to ``png`` if given."""
    head = [ffmpeg.executable(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y"]
    head += ["-ss", f"{seconds:.3f}", "-i", str(video), "-frames:v", "1"]
    if png is not None:
        subprocess.run([*head, str(png)], check=True)
    raw = subprocess.run(
        [*head, "-pix_fmt", "rgb24", "-f", "rawvideo", "-"], check=True, capture_output=True
    ).stdout
    return np.frombuffer(raw, np.uint8).reshape(HEIGHT, WIDTH, 3)


def frame_number(video: Path, number: int) -> np.ndarray:
    """Frame ``number`` of ``video`` (counted from 0 as decoded), as RGB."""
    command = [ffmpeg.executable(), "-nostdin", "-hide_banner", "-loglevel", "error"]
    command += ["-i", str(video), "-vf", f"select=eq(n\\,{number})", "-fps_mode", "passthrough"]
    command += ["-frames:v", "1", "-pix_fmt", "rgb24", "-f", "rawvideo", "-"]
    raw = subprocess.run(command, check=True, capture_output=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(HEIGHT, WIDTH, 3)


def ocr(video: Path, seconds: float, rows: slice, folder: Path, name: str) -> str:
    """What tesseract reads in ``rows`` of the frame at ``seconds``, without whitespace."""
    whole, band = folder / f"{name}-frame.png", folder / f"{name}.png"
    frame_at(video, seconds, whole)
    crop = f"crop={WIDTH}:{rows.stop - rows.start}:0:{rows.start}"
    command = [ffmpeg.executable(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y"]
    subprocess.run([*command, "-i", str(whole), "-vf", crop, str(band)], check=True)
    read = subprocess.run(
        ["tesseract", str(band), "-", "-l", "chi_sim", "--psm", "6"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "OMP_THREAD_LIMIT": "1"},
    ).stdout
    return normalised(read)


def normalised(text: str) -> str:
    """Text compared by characters: NFKC (full-width ！ is !), no whitespace."""
    return "".join(unicodedata.normalize("NFKC", text).split())


def edit_distance(a: str, b: str) -> int:
    row = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        previous, row[0] = row[0], i
        for j, y in enumerate(b, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (x != y))
    return row[-1]


def cer(read: str, expected: str) -> float:
    return edit_distance(read, expected) / max(1, len(expected))


def bright(band: np.ndarray) -> int:
    return int(np.count_nonzero((band > BRIGHT).all(axis=2)))


def off_background(band: np.ndarray) -> int:
    return int(np.abs(band.astype(np.int16) - BACKGROUND).max())


def gap_middles(cues: list[srt.Subtitle], at_least: float) -> list[float]:
    """The middle of each pause between cues that lasts at least ``at_least`` seconds."""
    return [
        (a.end + b.start).total_seconds() / 2
        for a, b in zip(cues, cues[1:], strict=False)
        if (b.start - a.end).total_seconds() >= at_least
    ]


def showing(cues: list[srt.Subtitle], seconds: float) -> bool:
    return any(c.start.total_seconds() <= seconds < c.end.total_seconds() for c in cues)


# --- OCR ------------------------------------------------------------------------------------------


def test_each_cue_reads_back_by_ocr(rendered, tmp_path):
    assert 5 <= len(rendered.cues) <= 8
    rates = []
    for number, cue in enumerate(rendered.cues):
        middle = (cue.start + cue.end).total_seconds() / 2
        expected = normalised(cue.content)
        read = ocr(rendered.plain, middle, LOWER, tmp_path, f"cue{number}")
        rates.append((cer(read, expected), expected, read))
    worst = max(rates)
    mean = sum(rate for rate, _, _ in rates) / len(rates)
    print(f"\nOCR character error rate: worst {worst[0]:.3f}, mean {mean:.3f} over {len(rates)}")
    for rate, expected, read in rates:
        print(f"  {rate:.3f} {expected!r} read as {read!r}")
    assert worst[0] <= MAX_CER, f"worst CER {worst[0]:.3f}: {worst[1]!r} read as {worst[2]!r}"


# --- captions on screen when, and only when, a cue is ---------------------------------------------


def test_no_caption_pixels_in_a_pause_many_in_a_cue(rendered):
    pauses = gap_middles(rendered.cues, at_least=0.5)  # the paragraph pauses
    assert len(pauses) >= 2
    for seconds in pauses:
        band = frame_at(rendered.plain, seconds)[LOWER]
        assert off_background(band) <= BLANK, f"caption pixels at {seconds:.2f} s"
        assert bright(band) == 0
    for cue in rendered.cues:
        band = frame_at(rendered.plain, (cue.start + cue.end).total_seconds() / 2)[LOWER]
        assert bright(band) > 20 * len(normalised(cue.content)), cue.content
        # nothing is drawn anywhere else
        assert off_background(frame_at(rendered.plain, 0.0)[: LOWER.start]) <= BLANK


def test_picture_lasts_as_long_as_the_programme(rendered):
    last = rendered.cues[-1].end.total_seconds()
    # the programme ends with the tail after the last speech, the last cue with the speech
    assert last - 1 / FPS <= rendered.frames / FPS <= last + 1.0


def _first_shown(rendered: Rendered, around: int) -> int:
    """The first captioned frame at or after a blank one, searching from ``around - 3``."""
    for number in range(max(0, around - 3), min(rendered.frames, around + 4)):
        if rendered.lower[number] >= SHOWN and (number == 0 or rendered.lower_blank[number - 1]):
            return number
    raise AssertionError(f"no caption appears near frame {around}")


def _last_shown(rendered: Rendered, around: int) -> int:
    """The last captioned frame before a blank one, searching from ``around - 3``."""
    for number in range(max(0, around - 3), min(rendered.frames - 1, around + 4)):
        if rendered.lower[number] >= SHOWN and rendered.lower_blank[number + 1]:
            return number
    raise AssertionError(f"no caption leaves near frame {around}")


def test_each_cue_on_screen_within_a_frame_of_its_times(rendered):
    """Frame n is shown from n / FPS: a cue starting at s is first drawn on frame ceil(s * FPS)
    and last drawn on frame ceil(e * FPS) - 1. Measured for every cue that starts or ends next
    to a pause of at least two frames (all of them here); printed in frames."""
    starts, ends = [], []
    cues = rendered.cues
    for index, cue in enumerate(cues):
        start, end = cue.start.total_seconds(), cue.end.total_seconds()
        if index == 0 or start - cues[index - 1].end.total_seconds() >= 2 / FPS:
            expected = math.ceil(start * FPS - 1e-6)
            starts.append(_first_shown(rendered, expected) - expected)
        if index + 1 < len(cues) and cues[index + 1].start.total_seconds() - end >= 2 / FPS:
            expected = math.ceil(end * FPS - 1e-6) - 1
            ends.append(_last_shown(rendered, expected) - expected)
    print(f"\ncaption start offsets (frames): {starts}; end offsets (frames): {ends}")
    assert len(starts) >= 3 and len(ends) >= 2
    assert all(abs(offset) <= 1 for offset in starts + ends), (starts, ends)


def test_every_frame_captioned_exactly_when_a_cue_is_on(rendered):
    """Away from a cue's boundary by more than a frame, a frame has a caption exactly when the
    SRT has a cue at its time."""
    boundaries = [t.total_seconds() for c in rendered.cues for t in (c.start, c.end)]
    wrong = []
    for number in range(rendered.frames):
        seconds = number / FPS
        if min(abs(seconds - b) for b in boundaries) <= 1 / FPS:
            continue
        if showing(rendered.cues, seconds):
            ok = rendered.lower[number] >= SHOWN
        else:
            ok = bool(rendered.lower_blank[number])
        if not ok:
            wrong.append(number)
    assert not wrong, f"frames {wrong[:10]} (of {len(wrong)}) disagree with the SRT"


@pytest.mark.parametrize("which", ["first", "after a paragraph pause", "last"])
def test_frames_by_index_at_a_cue_start_and_end(rendered, which):
    """Frames decoded by their index (ffmpeg's select filter, independently of the pass that
    measured every frame): ceil(start * fps) + 1 has the caption, floor(start * fps) - 1 has
    none when it lies in a pause; likewise one frame either side of the end."""
    cues = rendered.cues
    pauses = [
        i for i in range(1, len(cues)) if (cues[i].start - cues[i - 1].end).total_seconds() > 0.5
    ]
    index = {"first": 0, "after a paragraph pause": pauses[0], "last": len(cues) - 1}[which]
    cue = cues[index]
    start, end = cue.start.total_seconds(), cue.end.total_seconds()
    inside = [math.ceil(start * FPS) + 1, math.floor(end * FPS) - 1]
    outside = [math.floor(start * FPS) - 1, math.ceil(end * FPS) + 1]
    for number in inside:
        assert bright(frame_number(rendered.plain, number)[LOWER]) >= SHOWN, number
    for number in outside:
        if 0 <= number < rendered.frames and not showing(cues, number / FPS):
            band = frame_number(rendered.plain, number)[LOWER]
            assert off_background(band) <= BLANK, number


def test_sound_in_step_with_the_picture(rendered):
    """The first speech onset in the video's own sound is within a frame of the first cue; so is
    the onset after each paragraph pause."""
    samples = decode(rendered.plain)
    onset = first_sound(samples, 0.0, samples.size / 48000)
    assert onset is not None
    first = rendered.cues[0].start.total_seconds()
    offsets = [onset - first]
    runs = speech_runs(samples, min_silence=0.6)
    after_pauses = [
        c
        for a, c in zip(rendered.cues, rendered.cues[1:], strict=False)
        if (c.start - a.end).total_seconds() > 0.5
    ]
    for cue in after_pauses:
        start = cue.start.total_seconds()
        nearest = min((run[0] for run in runs), key=lambda at: abs(at - start))
        offsets.append(nearest - start)
    print(f"\nsound onset - cue start (ms): {[round(float(o) * 1000, 1) for o in offsets]}")
    assert all(abs(offset) <= 1 / FPS for offset in offsets), offsets


# --- the title, and the box -----------------------------------------------------------------------


def test_title_at_the_top(rendered, tmp_path):
    cue = rendered.cues[1]
    middle = (cue.start + cue.end).total_seconds() / 2
    frame = frame_at(rendered.boxed, middle)
    assert bright(frame[UPPER]) > 500
    assert bright(frame_at(rendered.plain, middle)[UPPER]) == 0  # no title without --title
    read = ocr(rendered.boxed, middle, UPPER, tmp_path, "title")
    print(f"\ntitle read as {read!r}")
    assert cer(read, TITLE) <= MAX_CER, read


def _box(band: np.ndarray) -> tuple[slice, slice]:
    """The rows and columns of the band that are not the background."""
    differs = np.abs(band.astype(np.int16) - BACKGROUND).max(axis=2) > BLANK
    rows, cols = np.flatnonzero(differs.any(axis=1)), np.flatnonzero(differs.any(axis=0))
    return slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)


def test_caption_box_is_a_uniform_dark_box(rendered):
    cue = rendered.cues[2]
    middle = (cue.start + cue.end).total_seconds() / 2
    band = frame_at(rendered.boxed, middle)[LOWER].astype(np.int16)
    rows, cols = _box(band)
    box = band[rows, cols]
    text = (box > BRIGHT).all(axis=2)
    assert text.sum() > 500
    text_rows, text_cols = np.flatnonzero(text.any(axis=1)), np.flatnonzero(text.any(axis=0))
    # the box reaches past the text on every side
    assert text_rows[0] >= 3 and text_rows[-1] <= box.shape[0] - 4
    assert text_cols[0] >= 3 and text_cols[-1] <= box.shape[1] - 4
    # away from the glyphs (4 px) and from its edge (2 px, where 4:2:0 chroma blurs), the box
    # is one dark colour, not the background's
    inner = box[2:-2, 2:-2]
    near = sliding_window_view(np.pad(text[2:-2, 2:-2], 4), (9, 9)).any(axis=(2, 3))
    plain_box = inner[~near]
    assert plain_box.shape[0] > 1000
    colour = np.median(plain_box, axis=0)
    spread = np.abs(plain_box - colour).max()
    print(f"\nbox {box.shape[1]}x{box.shape[0]} px, colour {colour.tolist()}, spread {spread}")
    assert spread <= 6
    assert colour.max() < min(BACKGROUND)  # darker than the card
    assert np.abs(colour - BACKGROUND).max() > BLANK
    # no box in a pause, and none with the outline style
    pause = gap_middles(rendered.cues, at_least=0.5)[0]
    assert off_background(frame_at(rendered.boxed, pause)[LOWER]) <= BLANK
    plain = frame_at(rendered.plain, middle)[LOWER]
    assert off_background(plain[rows, : max(1, cols.start - 20)]) <= BLANK
