"""Running ffmpeg: a system ffmpeg on PATH, else the binary inside the imageio-ffmpeg wheel."""

from __future__ import annotations

import shutil
import subprocess
from functools import cache
from pathlib import Path

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
    return _decode(["-f", input_format, "-i", "pipe:0"], data, sample_rate, input_format)


def decode_file(path: Path, sample_rate: int) -> np.ndarray:
    """Decode an audio file of any format ffmpeg knows to mono float32 PCM at ``sample_rate``."""
    return _decode(["-i", str(path)], None, sample_rate, path.name)


def _decode(input_args: list[str], data: bytes | None, sample_rate: int, what: str) -> np.ndarray:
    command = [executable(), "-nostdin", "-hide_banner", "-loglevel", "error", *input_args]
    command += ["-f", "f32le", "-ac", "1", "-ar", str(sample_rate), "pipe:1"]
    result = subprocess.run(command, input=data, capture_output=True, check=False)
    if result.returncode != 0:
        reason = _last_line(result.stderr) or f"ffmpeg exited with {result.returncode}"
        raise SynthesisError(f"cannot decode {what} audio: {reason}")
    return np.frombuffer(result.stdout, dtype="<f4").copy()


def encode(
    samples: np.ndarray, sample_rate: int, path: Path, output_args: list[str], label: str = ""
) -> None:
    """Encode mono float32 PCM into ``path`` with ffmpeg ``output_args`` (codec, format, ...).

    ``label`` names the output in error messages (``path`` may be a temporary file).
    """
    command = [executable(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y"]
    command += ["-f", "f32le", "-ar", str(sample_rate), "-ac", "1", "-i", "pipe:0"]
    command += [*output_args, str(path)]
    pcm = np.ascontiguousarray(samples, dtype="<f4").tobytes()
    result = subprocess.run(command, input=pcm, capture_output=True, check=False)
    if result.returncode != 0:
        reason = _last_line(result.stderr) or f"ffmpeg exited with {result.returncode}"
        raise OutputError(f"cannot encode {label or path.name}: {reason}")


def _last_line(stderr: bytes) -> str:
    lines = stderr.decode("utf-8", "replace").strip().splitlines()
    return lines[-1] if lines else ""
