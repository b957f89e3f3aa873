"""Running ffmpeg: a system ffmpeg on PATH, else the binary inside the imageio-ffmpeg wheel."""

from __future__ import annotations

import contextlib
import re
import shutil
import signal
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import IO

import numpy as np

from voicer.errors import OutputError, SynthesisError


@cache
def executable() -> str:
    """Path of the ffmpeg binary voicer uses."""
    found = shutil.which("ffmpeg")
    if found:
        return found
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def decode(data: bytes, sample_rate: int, input_format: str = "mp3") -> np.ndarray:
    """Decode compressed audio bytes to mono float32 PCM at ``sample_rate``."""
    command = [executable(), "-nostdin", "-hide_banner", "-loglevel", "error"]
    command += ["-f", input_format, "-i", "pipe:0"]
    command += ["-f", "f32le", "-ac", "1", "-ar", str(sample_rate), "pipe:1"]
    result = subprocess.run(command, input=data, capture_output=True, check=False)
    if result.returncode != 0:
        why = reason(result.stderr, result.returncode)
        raise SynthesisError(f"cannot decode {input_format} audio: {why}")
    return np.frombuffer(result.stdout, dtype="<f4").copy()


def decode_blocks(path: Path, sample_rate: int, block: int = 1 << 18) -> Iterator[np.ndarray]:
    """Decode an audio file to mono float32 PCM at ``sample_rate``, ``block`` samples at a
    time (memory stays flat however long the file is)."""
    command = [executable(), "-nostdin", "-hide_banner", "-loglevel", "error", "-i", str(path)]
    command += ["-f", "f32le", "-ac", "1", "-ar", str(sample_rate), "pipe:1"]
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors)
        assert process.stdout is not None
        try:
            while data := process.stdout.read(block * 4):
                yield np.frombuffer(data[: len(data) // 4 * 4], dtype="<f4")
        finally:
            process.stdout.close()
            returncode = process.wait()
        if returncode != 0:
            errors.seek(0)
            why = reason(errors.read(), returncode)
            raise SynthesisError(f"cannot decode {path.name} audio: {why}")


def encode_blocks(
    pieces: Iterable[np.ndarray],
    sample_rate: int,
    path: Path,
    output_args: list[str],
    label: str = "",
) -> None:
    """Encode mono float32 PCM given a block at a time into ``path`` with ffmpeg
    ``output_args`` (codec, format, ...).

    ``label`` names the output in error messages (``path`` may be a temporary file).
    """
    command = [*_encoder(sample_rate), *output_args, str(path)]
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(command, stdin=subprocess.PIPE, stderr=errors)
        _feed(process, pieces)
        _check_encoded(process, errors, label or path.name)


def encode_heard(
    pieces: Iterable[np.ndarray],
    sample_rate: int,
    path: Path,
    output_args: list[str],
    muxer: str,
    hear: Callable[[np.ndarray], None],
    label: str = "",
) -> None:
    """:func:`encode_blocks` (``output_args`` without the muxer, named apart), and at the
    same time the encoded stream decoded again, as the encoder writes it, to mono float32 PCM
    at ``sample_rate`` that ``hear`` gets a block at a time (in another thread).

    The encoder's output goes both to ``path`` and down a pipe to a second ffmpeg, so the
    decode runs alongside the encode rather than after it. What comes down the pipe lacks
    what the muxer writes into a finished file (an MP3's header frame, which tells a decoder
    to skip the codec's delay): ``hear`` gets the stream as a decoder sees it without that.
    """
    slaves = f"[f={muxer}]{_tee_quoted(str(path))}|[f={muxer}]pipe:1"
    command = [*_encoder(sample_rate), *output_args, "-map", "0:a", "-f", "tee", slaves]
    decoder = [executable(), "-nostdin", "-hide_banner", "-loglevel", "error"]
    decoder += ["-f", muxer, "-i", "pipe:0", "-f", "f32le", "-ac", "1", "-ar", str(sample_rate)]
    with tempfile.TemporaryFile() as errors, tempfile.TemporaryFile() as decode_errors:
        process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errors
        )
        assert process.stdout is not None
        listener = subprocess.Popen(
            [*decoder, "pipe:1"], stdin=process.stdout, stdout=subprocess.PIPE, stderr=decode_errors
        )
        process.stdout.close()  # the decoder holds it now
        heard = _Hearing(listener, hear)
        heard.start()
        try:
            _feed(process, pieces)
        finally:
            heard.join()
        _check_encoded(process, errors, label or path.name)
        if heard.failed is not None:
            raise heard.failed
        if listener.returncode != 0:
            decode_errors.seek(0)
            why = reason(decode_errors.read(), listener.returncode)
            raise OutputError(f"cannot decode {label or path.name} as it is encoded: {why}")


class _Hearing(threading.Thread):
    """Reads a decoder's PCM to its end and hands it on; whatever ``hear`` raises is kept
    (and the rest read all the same, so that the decoder and the encoder upstream of it never
    wait on a full pipe)."""

    def __init__(self, process: subprocess.Popen[bytes], hear: Callable[[np.ndarray], None]):
        super().__init__(daemon=True)
        self.process, self.hear = process, hear
        self.failed: BaseException | None = None

    def run(self) -> None:
        stream = self.process.stdout
        assert stream is not None
        block = 1 << 18
        with stream:
            while data := stream.read(block * 4):
                if self.failed is None:
                    try:
                        self.hear(np.frombuffer(data[: len(data) // 4 * 4], dtype="<f4"))
                    except BaseException as exc:  # noqa: BLE001 - raised in the caller's thread
                        self.failed = exc
        self.process.wait()


def _tee_quoted(name: str) -> str:
    """A file name quoted for ffmpeg's tee muxer (which splits its outputs at ``|`` and reads
    options in brackets), whatever characters it holds: a quote closes the quoting, is given
    escaped, and opens it again."""
    return "'" + name.replace("'", "'\\''") + "'"


def _encoder(sample_rate: int) -> list[str]:
    """An ffmpeg command's start, reading mono float32 PCM at ``sample_rate`` on stdin."""
    command = [executable(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y"]
    return [*command, "-f", "f32le", "-ar", str(sample_rate), "-ac", "1", "-i", "pipe:0"]


def _feed(process: subprocess.Popen[bytes], pieces: Iterable[np.ndarray]) -> None:
    """Write every piece to ``process``'s stdin, close it and wait for the process to end."""
    assert process.stdin is not None
    try:
        for piece in pieces:
            process.stdin.write(np.ascontiguousarray(piece, dtype="<f4").tobytes())
    except BrokenPipeError:
        pass  # ffmpeg stopped early: its exit code and message say why
    except BaseException:
        process.kill()
        raise
    finally:
        with contextlib.suppress(BrokenPipeError):
            process.stdin.close()
        process.wait()


def _check_encoded(process: subprocess.Popen[bytes], errors: IO[bytes], label: str) -> None:
    if process.returncode != 0:
        errors.seek(0)
        raise OutputError(f"cannot encode {label}: {reason(errors.read(), process.returncode)}")


def reason(stderr: bytes, returncode: int) -> str:
    """Why ffmpeg failed: the last line it printed (without the part's name and address it
    starts with), else what ended it.

    >>> reason(b"", -signal.SIGXFSZ)
    'File too large (a file size limit stopped ffmpeg)'
    >>> reason(b"No space left on device", 1), reason(b"", 1)
    ('No space left on device', 'ffmpeg exited with 1')
    >>> reason(b"[out#0/webm @ 0x563d1f2b4bc0] Could not write header", 1)
    'Could not write header'
    """
    lines = stderr.decode("utf-8", "replace").strip().splitlines()
    if lines:
        return _PART.sub("", lines[-1])
    if returncode == -signal.SIGXFSZ:  # ulimit -f: the kernel stops the writer, it says nothing
        return "File too large (a file size limit stopped ffmpeg)"
    return f"ffmpeg exited with {returncode}"


@dataclass(frozen=True)
class Picture:
    """A media file's first video stream."""

    codec: str
    width: int
    height: int
    fps: float | None


@dataclass(frozen=True)
class Media:
    """What ffmpeg finds in a media file (the wheel ships no ffprobe, so ``ffmpeg -i`` is read)."""

    container: str
    duration: float | None  # seconds; None for a still image
    picture: Picture | None
    has_audio: bool

    @property
    def is_still(self) -> bool:
        """A single picture (PNG, JPEG, ...), not a video."""
        return self.picture is not None and (
            self.container.endswith("_pipe") or self.container == "image2"
        )


_PART = re.compile(r"^\[[^\]]* @ 0x[0-9a-f]+\] ")  # "[out#0/webm @ 0x55...] " before a message
_INPUT = re.compile(r"^Input #0, ([^ ]+), from ", re.M)
_DURATION = re.compile(r"^\s*Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)", re.M)
_VIDEO = re.compile(r"^\s*Stream #0:\d+\S*: Video: (\w+)[^\n]*?, (\d+)x(\d+)[^\n]*$", re.M)
_FPS = re.compile(r", ([\d.]+) (?:fps|tbr)\b")
_AUDIO = re.compile(r"^\s*Stream #0:\d+\S*: Audio: ", re.M)


def probe(path: Path) -> Media | None:
    """What ``path`` holds, or None when ffmpeg cannot open it as media.

    The caller checks that the file exists first (files.read_input's messages)."""
    command = [executable(), "-nostdin", "-hide_banner", "-i", str(path)]
    stderr = subprocess.run(command, capture_output=True, check=False).stderr
    return parse_probe(stderr.decode("utf-8", "replace"))


def parse_probe(text: str) -> Media | None:
    """The media described by ``ffmpeg -i``'s report.

    >>> media = parse_probe('''Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'a.mp4':
    ...   Duration: 00:01:02.50, start: 0.000000, bitrate: 15 kb/s
    ...   Stream #0:0[0x1](und): Video: h264 (High), yuv420p, 1280x720 [SAR 1:1], 25 fps
    ...   Stream #0:1[0x2](und): Audio: aac (LC), 48000 Hz, mono, fltp''')
    >>> media.duration, media.picture, media.has_audio, media.is_still
    (62.5, Picture(codec='h264', width=1280, height=720, fps=25.0), True, False)
    """
    found = _INPUT.search(text)
    if not found:
        return None
    duration = _DURATION.search(text)
    seconds = None
    if duration:
        hours, minutes, rest = duration.groups()
        seconds = int(hours) * 3600 + int(minutes) * 60 + float(rest)
    picture = None
    videos = (found for found in _VIDEO.finditer(text) if "attached pic" not in found.group(0))
    if video := next(videos, None):
        fps = _FPS.search(video.group(0))
        codec, width, height = video.group(1), int(video.group(2)), int(video.group(3))
        picture = Picture(codec, width, height, float(fps.group(1)) if fps else None)
    return Media(found.group(1), seconds, picture, bool(_AUDIO.search(text)))
