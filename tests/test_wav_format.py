"""24-bit WAV is delivered as WAVE_FORMAT_PCM (format tag 1) for one or two channels, as EBU
Tech 3285 BWF files and most broadcast tools (and Python's wave before 3.12) expect, not as
WAVE_FORMAT_EXTENSIBLE, which ffmpeg writes for more than 16 bits; the audio is unchanged."""

from __future__ import annotations

import struct
import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest
from speech_audio import decode, invoke_voicer

from voicer import ffmpeg
from voicer.audio import bwf

RATE = 48000
EXTENSIBLE = 0xFFFE


def _chunks(data: bytes) -> dict[bytes, bytes]:
    """The payload of each chunk, parsed here without voicer; checks the RIFF size."""
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE"
    assert struct.unpack_from("<I", data, 4)[0] == len(data) - 8
    found, position = {}, 12
    while position < len(data):
        chunk_id, size = struct.unpack_from("<4sI", data, position)
        found[chunk_id] = data[position + 8 : position + 8 + size]
        position += 8 + size + (size & 1)
    assert position == len(data)
    return found


def _fmt(path: Path) -> tuple[int, ...]:
    """Format tag, channels, rate, bytes per second, block align, bits; and the chunk's size."""
    payload = _chunks(path.read_bytes())[b"fmt "]
    return (*struct.unpack_from("<HHIIHH", payload), len(payload))


def _wave_frames(path: Path) -> tuple[np.ndarray, int]:
    """The 24-bit samples as Python's wave module reads them, one row per frame, and the rate."""
    with wave.open(str(path)) as reader:
        assert reader.getsampwidth() == 3
        channels, rate = reader.getnchannels(), reader.getframerate()
        raw = np.frombuffer(reader.readframes(reader.getnframes()), dtype=np.uint8)
    triplets = raw.reshape(-1, 3).astype(np.int32)
    values = triplets[:, 0] | triplets[:, 1] << 8 | triplets[:, 2] << 16
    values = np.where(values >= 1 << 23, values - (1 << 24), values)
    return values.reshape(-1, channels) / float(1 << 23), rate


def _ffmpeg_frames(path: Path, channels: int) -> np.ndarray:
    """The samples as ffmpeg reads them, every channel kept, one row per frame."""
    command = [ffmpeg.executable(), "-nostdin", "-loglevel", "error", "-i", str(path)]
    output = subprocess.run([*command, "-f", "f32le", "pipe:1"], capture_output=True, check=True)
    return np.frombuffer(output.stdout, dtype="<f4").reshape(-1, channels)


@pytest.mark.parametrize("channels", [1, 2])
@pytest.mark.parametrize("add_bwf", [False, True], ids=["plain", "bwf"])
def test_rendered_24_bit_wav_has_format_tag_1(tmp_path: Path, channels: int, add_bwf: bool):
    (tmp_path / "in.txt").write_text("今天开会。明天休息。", encoding="utf-8")
    args = ["--engine", "tone", "-o", "out.wav", "--bit-depth", "24"]
    args += ["--channels", str(channels), *(["--bwf"] if add_bwf else [])]
    result = invoke_voicer("render", "in.txt", *args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr.decode()
    path = tmp_path / "out.wav"
    assert _fmt(path) == (1, channels, RATE, RATE * 3 * channels, 3 * channels, 24, 16)
    assert (b"bext" in _chunks(path.read_bytes())) is add_bwf
    frames, rate = _wave_frames(path)
    assert frames.shape[1] == channels and rate == RATE
    decoded = _ffmpeg_frames(path, channels)
    assert frames.shape == decoded.shape and np.abs(frames).max() > 0.01
    assert np.allclose(frames, decoded, atol=1e-6)


@pytest.mark.parametrize("channels", [1, 2])
def test_the_rewrite_keeps_every_other_byte(tmp_path: Path, channels: int):
    t = np.arange(RATE // 4) / RATE
    signal = (0.5 * np.sin(2 * np.pi * 441 * t)).astype(np.float32)
    path = tmp_path / "x.wav"
    ffmpeg.encode_blocks(
        [signal], RATE, path, ["-ac", str(channels), "-f", "wav", "-c:a", "pcm_s24le"]
    )
    before = _chunks(path.read_bytes())
    assert struct.unpack_from("<H", before[b"fmt "])[0] == EXTENSIBLE  # what ffmpeg writes
    before_audio = decode(path)
    assert bwf.use_pcm_format_tag(path) is True
    after = _chunks(path.read_bytes())
    assert after[b"fmt "] == before[b"fmt "][:16].replace(b"\xfe\xff", b"\x01\x00", 1)
    assert {k: v for k, v in after.items() if k != b"fmt "} == {
        k: v for k, v in before.items() if k != b"fmt "
    }
    assert np.array_equal(decode(path), before_audio)
    assert bwf.use_pcm_format_tag(path) is False  # already plain: left alone


@pytest.mark.parametrize(
    ("codec", "channels"),
    [("pcm_s16le", 1), ("pcm_s24le", 3)],  # tag 1 already; more than two channels keep their map
)
def test_other_files_are_left_as_they_are(tmp_path: Path, codec: str, channels: int):
    path = tmp_path / "x.wav"
    samples = np.zeros(RATE // 10, dtype=np.float32)
    ffmpeg.encode_blocks([samples], RATE, path, ["-ac", str(channels), "-f", "wav", "-c:a", codec])
    data = path.read_bytes()
    assert bwf.use_pcm_format_tag(path) is False
    assert path.read_bytes() == data
