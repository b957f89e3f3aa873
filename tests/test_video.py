"""Video outputs (-o x.mp4/.mkv/.webm), read back with PyAV and ffmpeg's decoders: the streams
and their lengths, the subtitle tracks against the SRT, the chapters against the headings, the
loudness, the backgrounds, a narrated video (--video-in, --fit, --mix), bad input refused before
synthesis, and an interrupted render that leaves the earlier video as it was."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from speech_audio import RATE, interruptible, invoke_voicer, made_once, shared_temp
from video_media import (
    chapters,
    frames_at,
    integrated_loudness,
    make_clip,
    make_mp3,
    make_picture,
    of_kind,
    peak_frequency,
    read_cues,
    run_ffmpeg,
    sound,
    streams,
    timeline,
    tone_db,
    track_cues,
)

pytestmark = pytest.mark.video

# a title, one section heading, a sentence of two cue lines, two short sentences: about 11 s
SCRIPT = (
    "创新大会\n\n"
    "一、主要成绩\n\n"
    "过去一年，全市研发投入增长了百分之十二。我们建成了三个实验室。\n\n"
    "成绩来之不易。\n"
)
HEADINGS = ["创新大会", "一、主要成绩"]
FPS = 25
FRAME = 1 / FPS
SINE = 440.0  # the narrated clips' sound
SHORT_CLIP = 4.0  # seconds: shorter than the programme
LONG_CLIP = 18.0  # longer than the programme, even with --paragraph-pause 2000

# --- shared inputs and renders -------------------------------------------------------------------


@pytest.fixture(scope="session")
def shared(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder every xdist worker of the session sees (also without xdist)."""
    workerinput = getattr(request.config, "workerinput", {})
    return shared_temp(tmp_path_factory, workerinput.get("workerid", "master"))


@pytest.fixture(scope="session")
def inputs(shared: Path) -> Path:
    """Clips (testsrc2 + a 440 Hz sine, 640x360 at 25 fps) 4 s and 18 s long, an 800x600 red
    PNG, an MP3 and a text file."""

    def make(folder: Path) -> None:
        make_clip(folder / "short.mp4", SHORT_CLIP)
        make_clip(folder / "long.mp4", LONG_CLIP)
        make_picture(folder / "red.png", (800, 600), "red")
        make_mp3(folder / "sine.mp3")
        silent = ("-f", "lavfi", "-i", "testsrc2=s=160x90:r=25:d=1", "-c:v", "libx264")
        run_ffmpeg("-y", *silent, str(folder / "silent.mp4"))
        (folder / "notes.txt").write_text("这不是视频。\n", encoding="utf-8")

    return made_once(shared / "video-inputs", make)


def render_in(folder: Path, output: str, *options: str, check: bool = True):
    """``voicer render talk.txt -o output --timeline <stem>.json`` with the tone engine, in this
    process (the CLI as a process is the Ctrl-C test's)."""
    (folder / "talk.txt").write_text(SCRIPT, encoding="utf-8")
    stem = Path(output).stem
    result = invoke_voicer(
        "render", "talk.txt", "-o", output, "--engine", "tone", "--no-cache",
        "--timeline", f"{stem}.json", *options, cwd=folder,
    )  # fmt: skip
    (folder / f"{stem}.log").write_bytes(result.stdout + result.stderr)
    if check:
        assert result.returncode == 0, result.stderr.decode()
    return result


def linked(folder: Path, source: Path) -> str:
    """``source`` made visible in ``folder`` under its name (a relative path for the CLI)."""
    (folder / source.name).symlink_to(source)
    return source.name


# The renders several tests read, made once per session (by whichever xdist worker gets there
# first): name -> output, options (files named in them are linked in from the inputs). Each
# container's render also shows one background, as a render costs seconds: the MP4 the default
# card, the Matroska file a colour, the WebM file a picture.
SHARED = {
    "mp4": ("talk.mp4", ()),
    "mkv": ("talk.mkv", ("--background", "#204060")),
    "webm": ("talk.webm", ("--background", "red.png")),
}


def rendered(request: pytest.FixtureRequest, name: str) -> Path:
    """The folder of shared render ``name`` (see SHARED)."""
    inputs = request.getfixturevalue("inputs")
    output, options = SHARED[name]

    def make(folder: Path) -> None:
        for option in options:
            if (inputs / option).is_file():
                linked(folder, inputs / option)
        render_in(folder, output, *options)

    return made_once(request.getfixturevalue("shared") / f"video-{name}", make)


@pytest.fixture(scope="session", params=["mp4", "mkv", "webm"])
def container_render(request: pytest.FixtureRequest) -> tuple[str, Path]:
    """The script rendered to each container: (extension, folder)."""
    return request.param, rendered(request, request.param)


def programme_seconds(folder: Path, stem: str) -> float:
    return timeline(folder / f"{stem}.json")["duration"]


def sentence_spans(folder: Path, stem: str) -> list[tuple[float, float, str]]:
    """Each sentence's speech (start, end, text), from the timeline."""
    return [
        (s["start"], s["end"], s["text"]) for s in timeline(folder / f"{stem}.json")["sentences"]
    ]


def assert_lasts(found, seconds: float) -> None:
    """The video and the audio both last ``seconds`` within one frame."""
    (video,) = of_kind(found, "video")
    (audio,) = of_kind(found, "audio")
    assert video.start == pytest.approx(0, abs=1e-3)
    assert abs(video.end - seconds) <= FRAME + 1e-3, (video.end, seconds)
    assert abs(audio.end - seconds) <= FRAME + 1e-3, (audio.end, seconds)


def mean_difference(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean(np.abs(a.astype(np.int16) - b.astype(np.int16))))


# --- 1. the three containers ---------------------------------------------------------------------

LAYOUT = {
    # extension: video codec, audio codec, subtitle tracks (codec, title)
    "mp4": ("h264", "aac", [("mov_text", "中文")]),
    "mkv": ("h264", "aac", [("subrip", "中文"), ("ass", "中文 (styled)")]),
    "webm": ("vp9", "opus", [("webvtt", "中文")]),
}
SUBRIP = {"srt", "subrip"}  # PyAV names the SRT decoder either way
ASS = {"ass", "ssa"}


def test_container_layout_and_lengths(container_render):
    extension, folder = container_render
    video_codec, audio_codec, tracks = LAYOUT[extension]
    found = streams(folder / f"talk.{extension}")
    (video,) = of_kind(found, "video")
    (audio,) = of_kind(found, "audio")
    assert (video.codec, video.width, video.height, video.fps) == (video_codec, 1280, 720, FPS)
    assert audio.codec == audio_codec
    subtitles = of_kind(found, "subtitle")
    assert len(subtitles) == len(tracks)
    for track, (codec, title) in zip(subtitles, tracks, strict=True):
        names = SUBRIP if codec == "subrip" else ASS if codec == "ass" else {codec}
        assert track.codec in names
        assert track.language == "chi"
        assert track.title == title, track.tags
    seconds = programme_seconds(folder, "talk")
    assert_lasts(found, seconds)
    # and as decoded: every sample of the programme, not one frame more
    assert abs(sound(folder / f"talk.{extension}").size / RATE - seconds) <= FRAME
    # the SRT beside it ends with the programme's last speech, inside the video
    assert read_cues(folder / "talk.srt")[-1].end / 1000 <= seconds


def test_subtitle_tracks_equal_the_srt(container_render):
    extension, folder = container_render
    expected = read_cues(folder / "talk.srt")
    assert any(len(cue.lines) == 2 for cue in expected), "the script should make a two-line cue"
    assert len(expected) == 5
    tracks = LAYOUT[extension][2]
    for number, (codec, _) in enumerate(tracks):
        back = track_cues(folder / f"talk.{extension}", number, ass=codec == "ass")
        assert [cue.lines for cue in back] == [cue.lines for cue in expected], codec
        for got, cue in zip(back, expected, strict=True):
            assert abs(got.start - cue.start) <= 10 and abs(got.end - cue.end) <= 10, codec


def test_chapters_are_the_headings(container_render):
    extension, folder = container_render
    marks = chapters(folder / f"talk.{extension}")
    spans = sentence_spans(folder, "talk")
    heading_starts = [start for start, _, text in spans if text in HEADINGS]
    assert [mark.title for mark in marks] == HEADINGS
    assert marks[0].start == 0
    for mark, start in zip(marks[1:], heading_starts[1:], strict=True):
        assert abs(mark.start - start) <= 0.001, (mark, start)
    assert marks[0].end == pytest.approx(marks[1].start, abs=0.001)
    assert marks[-1].end == pytest.approx(programme_seconds(folder, "talk"), abs=0.002)


def test_sound_is_mastered_to_ebu_r128(container_render):
    extension, folder = container_render
    samples = sound(folder / f"talk.{extension}")
    assert integrated_loudness(samples) == pytest.approx(-23.0, abs=0.5)


@pytest.mark.parametrize("extension", ["mp4", "mkv"])
def test_burnt_in_captions_leave_no_soft_track(tmp_path, extension):
    # drawn into the picture, the captions would be drawn twice by a player that shows a
    # default soft track: the file carries none (a small frame keeps the render quick)
    render_in(tmp_path, f"burnt.{extension}", "--burn-in", "--size", "320x180")
    found = streams(tmp_path / f"burnt.{extension}")
    assert len(of_kind(found, "video")) == len(of_kind(found, "audio")) == 1
    assert of_kind(found, "subtitle") == []  # (an MP4's chapters are a data stream)
    assert read_cues(tmp_path / "burnt.srt"), "the SRT is still written beside the video"


# --- 2. backgrounds ------------------------------------------------------------------------------


def test_picture_background_is_letterboxed_without_distortion(request):
    folder = rendered(request, "webm")  # an 800x600 red PNG, given by a relative path
    (frame,) = frames_at(folder / "talk.webm", [2.0])
    assert frame.shape == (720, 1280, 3)
    red = (frame[:, :, 0] > 200) & (frame[:, :, 1] < 50) & (frame[:, :, 2] < 50)
    black = frame.max(axis=2) < 24
    assert red[300:420, 560:720].all()  # the centre
    # 800x600 scaled to the frame's height is 960x720, centred: 160 px of black either side
    assert black[:, :150].all() and black[:, -150:].all()
    columns = np.flatnonzero(red[360])
    assert abs(columns.size - 960) <= 4 and abs(columns[0] - 160) <= 2, (columns[0], columns.size)
    assert red[:, 640].all()  # top to bottom: no bars above or below


def test_colour_background(request):
    folder = rendered(request, "mkv")
    for frame in frames_at(folder / "talk.mkv", [0.5, 5.0]):
        assert frame.shape == (720, 1280, 3)
        difference = np.abs(frame.astype(int) - np.array([0x20, 0x40, 0x60]))
        assert difference.max() <= 4, difference.max()  # YUV 4:2:0 and back


def test_video_background_loops_to_the_programme(inputs, tmp_path):
    # a small frame: a moving background is encoded at a slower preset
    render_in(tmp_path, "moving.mp4", "--background", linked(tmp_path, inputs / "short.mp4"),
              "--size", "320x180")  # fmt: skip
    found = streams(tmp_path / "moving.mp4")
    (video,) = of_kind(found, "video")
    assert (video.width, video.height, video.fps) == (320, 180, FPS)
    seconds = programme_seconds(tmp_path, "moving")
    assert seconds > 2 * SHORT_CLIP + 1
    assert_lasts(found, seconds)
    first, later, looped, twice = frames_at(tmp_path / "moving.mp4", [0.5, 2.5, 4.5, 8.5])
    # the 4 s clip starts again at 4 s and at 8 s; it moves in between
    # (measured: about 12 between moments of the clip, 1.5 between a moment and its repeat)
    assert mean_difference(first, later) > 6
    assert mean_difference(first, looped) < 3
    assert mean_difference(first, twice) < 3


# --- 3. a narrated video -------------------------------------------------------------------------


def test_video_in_shorter_than_the_programme_holds_its_last_frame(inputs, tmp_path):
    render_in(tmp_path, "held.mp4", "--video-in", linked(tmp_path, inputs / "short.mp4"))
    found = streams(tmp_path / "held.mp4")
    (video,) = of_kind(found, "video")
    assert (video.codec, video.width, video.height, video.fps) == ("h264", 640, 360, FPS)
    seconds = programme_seconds(tmp_path, "held")
    assert seconds > SHORT_CLIP + 2
    assert_lasts(found, seconds)
    moving, last, *held = frames_at(
        tmp_path / "held.mp4", [3.0, SHORT_CLIP - FRAME, SHORT_CLIP + 0.5, seconds - 2 * FRAME]
    )
    # (measured: about 13 between moments of the clip, under 1 for the held frame re-encoded)
    assert mean_difference(moving, last) > 6
    for frame in held:
        assert mean_difference(frame, last) < 3


def test_video_in_longer_pad_keeps_the_clip_and_copies_its_picture(inputs, tmp_path):
    render_in(tmp_path, "padded.mp4", "--video-in", linked(tmp_path, inputs / "long.mp4"))
    found = streams(tmp_path / "padded.mp4")
    (original,) = of_kind(streams(inputs / "long.mp4"), "video")
    (video,) = of_kind(found, "video")
    assert (video.codec, video.width, video.height, video.fps) == ("h264", 640, 360, FPS)
    assert video.digests == original.digests  # stream-copied: the same packets, all of them
    assert programme_seconds(tmp_path, "padded") < LONG_CLIP - 2
    assert_lasts(found, LONG_CLIP)
    samples = sound(tmp_path / "padded.mp4")
    assert abs(samples.size / RATE - LONG_CLIP) <= FRAME
    # after the speech, the sound runs on in silence (the clip's own sound is replaced)
    after = samples[round((programme_seconds(tmp_path, "padded") + 0.2) * RATE) :]
    assert after.size > RATE and np.abs(after).max() < 1e-3
    # without --mix, none of the clip's 440 Hz sine is left between sentences either
    spans = sentence_spans(tmp_path, "padded")
    gaps = [
        (end + 0.1, start - 0.1)
        for (_, end, _), (start, _, _) in zip(spans, spans[1:], strict=False)
    ]
    assert sum(end - start > 0.5 for start, end in gaps) == 3
    for start, end in gaps:
        if end - start > 0.5:
            assert tone_db(samples, start, end, SINE) < -80


def test_video_in_longer_trim_cuts_it_and_mix_ducks_its_sound_under_speech(inputs, tmp_path):
    # long pauses between paragraphs, so that the original sound comes back up between them
    render_in(tmp_path, "mixed.mp4", "--video-in", linked(tmp_path, inputs / "long.mp4"),
              "--fit", "trim", "--mix", "--paragraph-pause", "2000")  # fmt: skip
    found = streams(tmp_path / "mixed.mp4")
    (original,) = of_kind(streams(inputs / "long.mp4"), "video")
    (video,) = of_kind(found, "video")
    assert (video.codec, video.width, video.height, video.fps) == ("h264", 640, 360, FPS)
    seconds = programme_seconds(tmp_path, "mixed")
    assert seconds < LONG_CLIP - 1
    assert_lasts(found, seconds)  # trim: the programme's length
    assert video.digests == original.digests[: len(video.digests)]  # copied, then cut

    samples = sound(tmp_path / "mixed.mp4")
    spans = sentence_spans(tmp_path, "mixed")
    gaps = [
        (end + 0.7, start - 0.35)  # after the 600 ms release, before the 250 ms attack
        for (_, end, _), (start, _, _) in zip(spans, spans[1:], strict=False)
        if start - end > 1.5
    ]
    assert len(gaps) == 3
    between = []
    for start, end in gaps:
        assert abs(peak_frequency(samples, start, end) - SINE) <= 2
        between.append(tone_db(samples, start, end, SINE))
    under = [tone_db(samples, start + 0.05, end - 0.05, SINE) for start, end, _ in spans]
    assert max(under) <= min(between) - 8, (under, between)
    assert integrated_loudness(samples) == pytest.approx(-23.0, abs=0.5)


def test_video_in_fit_error_refuses_a_different_length(inputs, tmp_path):
    clip = linked(tmp_path, inputs / "short.mp4")
    before = sorted(path.name for path in tmp_path.iterdir())
    result = render_in(tmp_path, "refused.mp4", "--video-in", clip, "--fit", "error",
                       check=False)  # fmt: skip
    said = result.stderr.decode()
    assert result.returncode == 2, said
    assert said.strip().splitlines()[-1].startswith("voicer: error: ")
    assert "Traceback" not in said
    after = sorted(p.name for p in tmp_path.iterdir() if p.name not in ("talk.txt", "refused.log"))
    assert after == before


# --- 4. bad input, refused before synthesis ------------------------------------------------------

BAD = {
    "missing video": ("-o", "out.mp4", "--video-in", "missing.mp4"),
    "text as video": ("-o", "out.mp4", "--video-in", "notes.txt"),
    "mp3 as video": ("-o", "out.mp4", "--video-in", "sine.mp3"),
    "picture as video": ("-o", "out.mp4", "--video-in", "red.png"),
    "mix without video": ("-o", "out.mp4", "--mix"),
    "mix a video without sound": ("-o", "out.mp4", "--video-in", "silent.mp4", "--mix"),
    "background not a colour": ("-o", "out.mp4", "--background", "notacolour"),
    "background no such file": ("-o", "out.mp4", "--background", "missing.png"),
    "background odd text": ("-o", "out.mkv", "--background", "no such thing"),
    "odd width": ("-o", "out.mp4", "--size", "1281x720"),
    "odd height": ("-o", "out.webm", "--size", "1280x719"),
}


@pytest.mark.parametrize("options", BAD.values(), ids=BAD.keys())
def test_bad_input_is_one_line_before_synthesis(inputs, tmp_path, options):
    for name in ("notes.txt", "sine.mp3", "red.png", "silent.mp4"):
        linked(tmp_path, inputs / name)
    (tmp_path / "talk.txt").write_text(SCRIPT, encoding="utf-8")
    before = sorted(path.name for path in tmp_path.iterdir())
    result = invoke_voicer("render", "talk.txt", "--engine", "tone", *options, cwd=tmp_path)
    said = result.stderr.decode()
    assert result.returncode == 2, said
    lines = said.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("voicer: error: "), said
    assert "speaking" not in said and result.stdout == b""  # synthesis never started
    assert sorted(path.name for path in tmp_path.iterdir()) == before


# --- 5. Ctrl-C while the video is encoded --------------------------------------------------------


def test_ctrl_c_while_encoding_keeps_the_earlier_video(request, inputs, tmp_path):
    earlier = rendered(request, "mp4")
    shutil.copy(earlier / "talk.mp4", tmp_path / "OUT.mp4")
    shutil.copy(earlier / "talk.srt", tmp_path / "OUT.srt")
    first = {name: (tmp_path / name).read_bytes() for name in ("OUT.mp4", "OUT.srt")}
    # a longer speech on a moving background in a large frame: an encode that takes a while
    (tmp_path / "speech.txt").write_text(SCRIPT + "\n" + SCRIPT, encoding="utf-8")
    linked(tmp_path, inputs / "short.mp4")
    process = subprocess.Popen(
        [sys.executable, "-m", "voicer", "render", "speech.txt", "-o", "OUT.mp4",
         "--engine", "tone", "--no-cache", "--background", "short.mp4", "--size", "1920x1080"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=interruptible,
        start_new_session=True,  # a process group of its own, as a terminal's foreground job
    )  # fmt: skip
    try:
        encoder = wait_for_encoder(process, tmp_path)
        time.sleep(0.5)  # well into the encode
        assert process.poll() is None and encoder.poll() is None, "the encode ended too soon"
        os.killpg(process.pid, signal.SIGINT)  # Ctrl-C: the whole group, ffmpeg included
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    said = stderr.decode()
    assert process.returncode == 130, said
    assert said.strip().splitlines()[-1] == "voicer: interrupted; no output was written"
    assert "Traceback" not in said and "KeyboardInterrupt" not in said
    assert {name: (tmp_path / name).read_bytes() for name in first} == first
    left = sorted(path.name for path in tmp_path.iterdir())
    assert left == ["OUT.mp4", "OUT.srt", "short.mp4", "speech.txt"]


@dataclass(frozen=True)
class Encoder:
    """An ffmpeg process encoding the picture (a child of the render, in its process group)."""

    pid: int

    def poll(self) -> int | None:
        """None while it runs (as ``Popen.poll``)."""
        try:
            state = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            return 0
        return 0 if state == "Z" else None


VIDEO_ENCODERS = (b"libx264", b"libvpx-vp9")


def wait_for_encoder(process: subprocess.Popen, folder: Path, timeout: float = 120) -> Encoder:
    """The ffmpeg process encoding the picture, once it runs while the temporary
    ``.OUT.mp4.*.part`` file exists (the outputs are being written)."""
    deadline = time.monotonic() + timeout
    while process.poll() is None and time.monotonic() < deadline:
        if any(folder.glob(".OUT.mp4.*.part")):
            for entry in Path("/proc").iterdir():
                try:
                    if not entry.name.isdigit() or os.getpgid(int(entry.name)) != process.pid:
                        continue
                    arguments = (entry / "cmdline").read_bytes().split(b"\0")
                except OSError:
                    continue  # ended meanwhile
                if any(encoder in arguments for encoder in VIDEO_ENCODERS):
                    return Encoder(int(entry.name))
        time.sleep(0.01)
    raise AssertionError(f"no picture encoder seen (render exit code {process.poll()})")
