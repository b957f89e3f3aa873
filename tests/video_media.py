"""Reading back the videos voicer writes, with PyAV and ffmpeg rather than voicer's own code,
and making the clips, sounds and pictures the video tests start from."""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pyloudnorm
from speech_audio import RATE, decode

from voicer import ffmpeg
from voicer.model import Cue
from voicer.subtitles import formats

# --- inputs --------------------------------------------------------------------------------------


def run_ffmpeg(*args: str, cwd: Path | None = None) -> bytes:
    """ffmpeg's standard output; an AssertionError with its complaint if it fails."""
    command = [ffmpeg.executable(), "-nostdin", "-hide_banner", "-loglevel", "error", *args]
    result = subprocess.run(command, cwd=cwd, capture_output=True, check=False, timeout=300)
    assert result.returncode == 0, result.stderr.decode("utf-8", "replace")
    return result.stdout


def make_clip(
    path: Path,
    seconds: float,
    size: tuple[int, int] = (640, 360),
    fps: int = 25,
    frequency: float = 440.0,
) -> Path:
    """A moving test picture (testsrc2: every frame differs) with a sine as its sound, H.264 and
    AAC, ``seconds`` long."""
    width, height = size
    run_ffmpeg(
        "-y",
        "-f", "lavfi", "-i", f"testsrc2=s={width}x{height}:r={fps}:d={seconds}",
        "-f", "lavfi", "-i", f"sine=frequency={frequency}:sample_rate={RATE}:duration={seconds}",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
        "-c:a", "aac", "-b:a", "128k", "-shortest", str(path),
    )  # fmt: skip
    return path


def make_mp3(path: Path, seconds: float = 2.0, frequency: float = 440.0) -> Path:
    """Sound only: a sine as an MP3."""
    run_ffmpeg(
        "-y", "-f", "lavfi", "-i", f"sine=frequency={frequency}:duration={seconds}", str(path)
    )
    return path


def make_picture(path: Path, size: tuple[int, int] = (800, 600), colour: str = "red") -> Path:
    """A still picture of one colour (PNG by the extension)."""
    width, height = size
    run_ffmpeg("-y", "-f", "lavfi", "-i", f"color=c={colour}:s={width}x{height}", "-frames:v", "1",
               str(path))  # fmt: skip
    return path


# --- streams, tracks and chapters ----------------------------------------------------------------


@dataclass(frozen=True)
class Stream:
    """One stream of a media file as PyAV reads it; ``start`` and ``end`` in seconds, from its
    packets (the first packet's time, the last packet's time plus its duration)."""

    kind: str  # video, audio, subtitle, data
    codec: str | None
    language: str | None
    tags: dict[str, str]
    start: float | None
    end: float | None
    packets: int
    width: int | None = None
    height: int | None = None
    fps: Fraction | None = None
    digests: tuple[str, ...] = field(default=(), repr=False)  # of the packets' bytes, in order

    @property
    def title(self) -> str | None:
        """The track's name as players show it: ``title`` (Matroska) or MP4's handler name."""
        return self.tags.get("title") or self.tags.get("handler_name")


def streams(path: Path) -> list[Stream]:
    """Every stream of ``path``, in file order."""
    found = []
    with av.open(str(path)) as container:
        for stream in container.streams:
            times = []
            digests = []
            container.seek(0)
            for packet in container.demux(stream):
                if packet.pts is None:
                    continue  # the demuxer's flush packet
                times.append(
                    (
                        float(packet.pts * packet.time_base),
                        float((packet.pts + (packet.duration or 0)) * packet.time_base),
                    )
                )
                if stream.type == "video":
                    digests.append(hashlib.sha1(bytes(packet)).hexdigest())
            context = stream.codec_context
            video = stream.type == "video"
            found.append(
                Stream(
                    kind=stream.type,
                    codec=context.name if context is not None else None,
                    language=stream.language,
                    tags=dict(stream.metadata),
                    start=min(t[0] for t in times) if times else None,
                    end=max(t[1] for t in times) if times else None,
                    packets=len(times),
                    width=context.width if video else None,
                    height=context.height if video else None,
                    fps=stream.average_rate if video else None,
                    digests=tuple(digests),
                )
            )
    return found


def of_kind(found: Sequence[Stream], kind: str) -> list[Stream]:
    return [stream for stream in found if stream.kind == kind]


@dataclass(frozen=True)
class Chapter:
    start: float  # seconds
    end: float
    title: str


def chapters(path: Path) -> list[Chapter]:
    """The chapter marks of ``path`` as PyAV reads them."""
    with av.open(str(path)) as container:
        return [
            Chapter(
                float(mark["start"] * mark["time_base"]),
                float(mark["end"] * mark["time_base"]),
                mark["metadata"].get("title", ""),
            )
            for mark in container.chapters()
        ]


def track_cues(path: Path, number: int, ass: bool = False) -> list[Cue]:
    """Subtitle track ``number`` of ``path`` as ffmpeg decodes it, as cues in milliseconds:
    converted to SRT, or (``ass``) copied out as the ASS it is and read as ASS (converting
    ASS to SRT would wrap the text in font tags)."""
    if ass:
        text = run_ffmpeg("-i", str(path), "-map", f"0:s:{number}", "-c:s", "copy", "-f", "ass",
                          "-")  # fmt: skip
        return formats.FORMATS[".ass"].parse(text.decode("utf-8"))
    text = run_ffmpeg("-i", str(path), "-map", f"0:s:{number}", "-f", "srt", "-")
    return formats.FORMATS[".srt"].parse(text.decode("utf-8"))


def read_cues(path: Path) -> list[Cue]:
    """A subtitle file beside the video, read by its extension (cues in milliseconds)."""
    return formats.read(path)


def timeline(path: Path) -> dict:
    """A ``--timeline`` JSON file, as parsed JSON."""
    return json.loads(path.read_text(encoding="utf-8"))


# --- pictures ------------------------------------------------------------------------------------


def frames_at(path: Path, times: Sequence[float]) -> list[np.ndarray]:
    """The decoded frames shown at each of ``times`` (seconds), as RGB arrays (height, width, 3):
    for each time, the last frame starting at or before it."""
    wanted = sorted(set(times))
    shown: dict[float, np.ndarray] = {}
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        previous = None
        pending = list(wanted)
        for frame in container.decode(stream):
            at = float(frame.pts * frame.time_base) if frame.pts is not None else 0.0
            while pending and at > pending[0] + 1e-6:
                assert previous is not None, f"no frame at {pending[0]} s"
                shown[pending.pop(0)] = previous.to_ndarray(format="rgb24")
            if not pending:
                break
            previous = frame
        for left in pending:
            assert previous is not None
            shown[left] = previous.to_ndarray(format="rgb24")
    return [shown[t] for t in times]


# --- sound ---------------------------------------------------------------------------------------


def sound(path: Path) -> np.ndarray:
    """The first audio stream, decoded by ffmpeg to mono float32 at 48 kHz."""
    return decode(path, RATE)


def integrated_loudness(samples: np.ndarray, rate: int = RATE) -> float:
    """LUFS by pyloudnorm's BS.1770 meter (independent of voicer's)."""
    return float(pyloudnorm.Meter(rate).integrated_loudness(samples.astype(np.float64)))


def spectrum(
    samples: np.ndarray, start: float, end: float, rate: int = RATE
) -> tuple[np.ndarray, np.ndarray]:
    """Frequencies (Hz) and amplitudes (as a sine's peak amplitude) of ``start``-``end`` seconds,
    Hann-windowed."""
    stretch = samples[round(start * rate) : round(end * rate)].astype(np.float64)
    assert stretch.size > rate // 10, f"{start:.2f}-{end:.2f} s: too short to analyse"
    window = np.hanning(stretch.size)
    amplitudes = np.abs(np.fft.rfft(stretch * window)) * 2 / window.sum()
    return np.fft.rfftfreq(stretch.size, 1 / rate), amplitudes


def tone_db(
    samples: np.ndarray, start: float, end: float, frequency: float, rate: int = RATE
) -> float:
    """The level (dBFS, as a sine's peak) of the strongest component within 5 Hz of
    ``frequency`` in ``start``-``end`` seconds."""
    frequencies, amplitudes = spectrum(samples, start, end, rate)
    near = np.abs(frequencies - frequency) <= 5
    return float(20 * np.log10(max(amplitudes[near].max(), 1e-12)))


def peak_frequency(samples: np.ndarray, start: float, end: float, rate: int = RATE) -> float:
    """The frequency (Hz) of the strongest component of ``start``-``end`` seconds."""
    frequencies, amplitudes = spectrum(samples, start, end, rate)
    return float(frequencies[int(np.argmax(amplitudes[1:])) + 1])
