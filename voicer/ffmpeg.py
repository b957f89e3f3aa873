"""Running ffmpeg: a system ffmpeg on PATH, else the binary inside the imageio-ffmpeg wheel."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Iterator
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
    command = [executable(), "-nostdin", "-hide_banner", "-loglevel", "error"]
    command += ["-f", input_format, "-i", "pipe:0"]
    command += ["-f", "f32le", "-ac", "1", "-ar", str(sample_rate), "pipe:1"]
    result = subprocess.run(command, input=data, capture_output=True, check=False)
    if result.returncode != 0:
        reason = _reason(result.stderr, result.returncode)
        raise SynthesisError(f"cannot decode {input_format} audio: {reason}")
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
            reason = _reason(errors.read(), returncode)
            raise SynthesisError(f"cannot decode {path.name} audio: {reason}")


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
    command = [executable(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y"]
    command += ["-f", "f32le", "-ar", str(sample_rate), "-ac", "1", "-i", "pipe:0"]
    command += [*output_args, str(path)]
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(command, stdin=subprocess.PIPE, stderr=errors)
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
            returncode = process.wait()
        if returncode != 0:
            errors.seek(0)
            reason = _reason(errors.read(), returncode)
            raise OutputError(f"cannot encode {label or path.name}: {reason}")


def _reason(stderr: bytes, returncode: int) -> str:
    """Why ffmpeg failed: the last line it printed, else its exit code."""
    lines = stderr.decode("utf-8", "replace").strip().splitlines()
    return lines[-1] if lines else f"ffmpeg exited with {returncode}"
