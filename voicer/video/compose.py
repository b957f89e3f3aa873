"""One ffmpeg run that makes the video: the picture (a background, or the video being
narrated), captions drawn into it, the mastered programme as its sound, soft subtitle tracks
and chapters."""

from __future__ import annotations

import subprocess
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from voicer import ffmpeg, scratch
from voicer.errors import OutputError
from voicer.video.background import Background
from voicer.video.containers import Container

_HEAD = ["-nostdin", "-hide_banner", "-loglevel", "error", "-y"]


@dataclass(frozen=True)
class Frame:
    """The picture's size and rate."""

    width: int
    height: int
    fps: float


@dataclass(frozen=True)
class Footage:
    """A video being narrated: its file, its picture codec, and how long its last frame is held
    so that the picture lasts as long as the programme."""

    file: Path
    codec: str
    hold: float = 0.0  # seconds


@dataclass(frozen=True)
class SoftTrack:
    """A subtitle file muxed as a track the viewer can turn on."""

    file: Path
    codec: str
    language: str  # ISO 639-2
    title: str


@dataclass(frozen=True)
class VideoJob:
    """Everything one video is made of. Files are absolute paths, except ``overlay`` and
    ``fonts``, which are relative to ``folder`` (so that no path needs escaping inside the
    filter graph)."""

    container: Container
    frame: Frame
    duration: float  # seconds: the output's length
    audio: Path  # the mastered programme, already ``duration`` long
    picture: Background | Footage
    folder: Path  # where ffmpeg runs
    overlay: str | None = None  # an ASS file drawn into the picture
    fonts: str | None = None  # a folder of fonts for the overlay
    tracks: tuple[SoftTrack, ...] = ()
    chapters: Path | None = None  # an ffmpeg metadata file

    def copies_picture(self) -> bool:
        """Whether the narrated video's picture goes in as it is, without re-encoding."""
        return (
            isinstance(self.picture, Footage)
            and self.picture.hold == 0
            and self.overlay is None
            and self.picture.codec in self.container.copies
        )


def picture_command(job: VideoJob, target: Path) -> list[str]:
    """The ffmpeg command that encodes the picture alone into ``target``, in the job's
    container (so that its timestamps need no conversion when it is muxed)."""
    return [
        ffmpeg.executable(),
        *_HEAD,
        "-progress",
        "pipe:1",
        "-nostats",
        *_picture_inputs(job),
        "-map",
        "0:v:0",
        "-map_metadata",
        "-1",
        *_encoded_picture(job),
        "-t",
        f"{job.duration:.6f}",
        "-f",
        job.container.muxer,
        str(target),
    ]


def mux_command(job: VideoJob, picture: Path | None, target: Path) -> list[str]:
    """The ffmpeg command that puts the encoded ``picture`` (None: the narrated video's, as it
    is), the sound, the caption tracks and the chapters into ``target``."""
    inputs = ["-i", str(picture)] if picture else _picture_inputs(job)
    inputs += ["-i", str(job.audio)]
    maps = ["-map", "0:v:0", "-map", "1:a:0"]
    for number, track in enumerate(job.tracks, start=2):
        inputs += ["-i", str(track.file)]
        maps += ["-map", f"{number}:0"]
    # the chapters' titles are metadata: without a source, none is copied from the inputs
    metadata = ["-map_metadata", "-1"]
    if job.chapters is not None:
        inputs += ["-f", "ffmetadata", "-i", str(job.chapters)]
        source = str(2 + len(job.tracks))
        metadata = ["-map_chapters", source, "-map_metadata", source]
    return [
        ffmpeg.executable(),
        *_HEAD,
        *inputs,
        *maps,
        *metadata,
        "-c:v",
        "copy",
        "-c:a",
        "copy",
        *_track_options(job.tracks, job.container.title_tag),
        "-t",
        f"{job.duration:.6f}",
        *job.container.extra,
        "-f",
        job.container.muxer,
        str(target),
    ]


class PictureEncoding:
    """The picture encoded by ffmpeg in the background (while the sound is mastered), into
    the job's folder; ``share`` says how far it has got."""

    def __init__(self, job: VideoJob, label: str) -> None:
        self.job, self.label, self.share = job, label, 0.0
        self.file = job.folder / f"picture.{job.container.muxer}"
        self.errors = tempfile.TemporaryFile()  # noqa: SIM115 (kept until finish or stop)
        command = picture_command(job, self.file)
        self.process = subprocess.Popen(
            command, cwd=job.folder, stdout=subprocess.PIPE, stderr=self.errors
        )
        self.reader = threading.Thread(target=self._follow, daemon=True)
        self.reader.start()

    def finish(self, progress: Callable[[float], None] | None = None) -> Path:
        """Wait for the picture (``progress`` hears its share meanwhile); an OutputError with
        ffmpeg's reason if it failed."""
        while self.reader.is_alive():
            self.reader.join(0.25)
            if progress:
                progress(self.share)
        returncode = self.process.wait()
        self.errors.seek(0)
        reason = self.errors.read().decode("utf-8", "replace").strip().splitlines()
        self.errors.close()
        if returncode != 0:
            raise OutputError(f"cannot encode {self.label}: {reason[-1] if reason else returncode}")
        return self.file

    def stop(self) -> None:
        """Stop ffmpeg (the work is abandoned)."""
        self.process.kill()
        self.process.wait()
        self.reader.join()
        self.errors.close()

    def _follow(self) -> None:
        assert self.process.stdout is not None
        with self.process.stdout:
            for line in self.process.stdout:
                if line.startswith(b"out_time_us=") and line[12:].strip().isdigit():
                    done = int(line[12:]) / 1e6 / max(self.job.duration, 1e-6)
                    self.share = min(1.0, max(0.0, done))


def sound_refused(sound: Path, container: Container) -> str | None:
    """Why the first audio stream of ``sound`` cannot be copied as it is into a ``container``
    file (ffmpeg's reason, from a trial of its first second), or None when it can."""
    with tempfile.TemporaryDirectory(prefix="voicer-trial-", dir=scratch.folder()) as folder:
        command = [ffmpeg.executable(), *_HEAD, "-i", str(sound.resolve()), "-map", "0:a:0"]
        command += ["-c:a", "copy", "-t", "1", *container.extra, "-f", container.muxer]
        result = subprocess.run([*command, f"{folder}/trial"], capture_output=True, check=False)
    return None if result.returncode == 0 else ffmpeg.reason(result.stderr, result.returncode)


def mux(job: VideoJob, picture: Path | None, target: Path, label: str) -> None:
    """Write the video file (see :func:`mux_command`); an OutputError if ffmpeg fails."""
    result = subprocess.run(
        mux_command(job, picture, target), cwd=job.folder, capture_output=True, check=False
    )
    if result.returncode != 0:
        why = ffmpeg.reason(result.stderr, result.returncode)
        raise OutputError(f"cannot encode {label}: {why}")


def _picture_inputs(job: VideoJob) -> list[str]:
    if isinstance(job.picture, Background):
        return job.picture.inputs(job.frame.width, job.frame.height, job.frame.fps)
    return ["-i", str(job.picture.file)]


def _encoded_picture(job: VideoJob) -> list[str]:
    frame = job.frame
    if isinstance(job.picture, Background):
        filters = job.picture.filters(frame.width, frame.height, frame.fps)
        options = job.container.moving if job.picture.moving else job.container.still
    else:
        # 4:2:0 pictures need even sides
        filters = ["crop=trunc(iw/2)*2:trunc(ih/2)*2", "format=yuv420p", f"fps={frame.fps:g}"]
        if job.picture.hold > 0:
            filters.append(f"tpad=stop_mode=clone:stop_duration={job.picture.hold:.6f}")
        options = job.container.moving
    if job.overlay is not None:
        drawn = f"subtitles=filename={job.overlay}"
        filters.append(drawn + (f":fontsdir={job.fonts}" if job.fonts else ""))
    return ["-filter:v", ",".join(filters), *options, "-r", f"{frame.fps:g}"]


def _track_options(tracks: tuple[SoftTrack, ...], title_tag: str) -> list[str]:
    options: list[str] = []
    for number, track in enumerate(tracks):
        options += [f"-c:s:{number}", track.codec]
        options += [f"-metadata:s:s:{number}", f"language={track.language}"]
        options += [f"-metadata:s:s:{number}", f"{title_tag}={track.title}"]
    return options
