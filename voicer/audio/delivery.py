"""The delivered audio file: its format (by extension), sample rate, bit depth, bitrate and
channels, and encoding it once with ffmpeg."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voicer import ffmpeg
from voicer.audio.stream import Signal, blocks
from voicer.errors import InputError

DEFAULT_SAMPLE_RATE = 48000


@dataclass(frozen=True)
class AudioFormat:
    """A container and codec voicer writes."""

    name: str
    muxer: str
    codec: str
    lossy: bool
    default_bitrate: str | None = None
    default_bit_depth: int | None = None
    sample_rates: tuple[int, ...] = ()  # the rates the codec accepts; empty: any


_MP3_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)
_OPUS_RATES = (8000, 12000, 16000, 24000, 48000)
FORMATS: dict[str, AudioFormat] = {
    ".wav": AudioFormat("WAV", "wav", "pcm", lossy=False, default_bit_depth=24),
    ".flac": AudioFormat("FLAC", "flac", "flac", lossy=False, default_bit_depth=24),
    ".mp3": AudioFormat("MP3", "mp3", "libmp3lame", True, "128k", sample_rates=_MP3_RATES),
    ".m4a": AudioFormat("AAC", "ipod", "aac", lossy=True, default_bitrate="128k"),
    ".ogg": AudioFormat("Vorbis", "ogg", "libvorbis", lossy=True, default_bitrate="96k"),
    ".opus": AudioFormat("Opus", "opus", "libopus", True, "64k", sample_rates=_OPUS_RATES),
}


@dataclass(frozen=True)
class Delivery:
    """How the programme is delivered; build it with :func:`delivery_for` (it validates)."""

    format: AudioFormat
    sample_rate: int = DEFAULT_SAMPLE_RATE
    channels: int = 1
    bit_depth: int | None = None  # lossless formats
    bitrate: str | None = None  # lossy formats

    def ffmpeg_args(self) -> list[str]:
        """ffmpeg output options, for float PCM coming in at ``sample_rate``."""
        return ["-f", self.format.muxer, *self.codec_args()]

    def codec_args(self) -> list[str]:
        """ffmpeg output options but the muxer: channels, codec and its settings."""
        args = ["-ac", str(self.channels)]
        if self.format.lossy:
            return [*args, "-c:a", self.format.codec, "-b:a", str(self.bitrate)]
        dither = ["-af", "aresample=dither_method=triangular"] if self.bit_depth == 16 else []
        if self.format.codec == "pcm":
            return [*args, *dither, "-c:a", f"pcm_s{self.bit_depth}le"]
        sample_format = "s16" if self.bit_depth == 16 else "s32"
        return [
            *args,
            *dither,
            "-c:a",
            "flac",
            "-sample_fmt",
            sample_format,
            "-bits_per_raw_sample",
            str(self.bit_depth),
        ]


def delivery_for(
    path: Path,
    sample_rate: int | None = None,
    bit_depth: int | None = None,
    bitrate: str | None = None,
    channels: int = 1,
) -> Delivery:
    """The delivery for ``path``'s format with the options given, or a one-line InputError.

    >>> delivery_for(Path("talk.wav")).bit_depth, delivery_for(Path("talk.mp3")).bitrate
    (24, '128k')
    """
    audio_format = format_for(path)
    rate = sample_rate or DEFAULT_SAMPLE_RATE
    if audio_format.sample_rates and rate not in audio_format.sample_rates:
        allowed = ", ".join(str(r) for r in audio_format.sample_rates)
        raise InputError(
            f"{audio_format.name} cannot be written at {rate} Hz (use one of {allowed})"
        )
    if channels not in (1, 2):
        raise InputError(f"--channels must be 1 or 2, not {channels}")
    if audio_format.lossy:
        if bit_depth is not None:
            raise InputError(f"--bit-depth applies to WAV and FLAC, not {audio_format.name}")
        chosen = _bitrate(bitrate, audio_format)
        if audio_format.codec == "libvorbis" and rate < 32000 and int(chosen[:-1]) > 80:
            raise InputError(f"Vorbis at {rate} Hz takes at most 80k, not {chosen}")
        return Delivery(audio_format, rate, channels, bitrate=chosen)
    if bitrate is not None:
        raise InputError(f"--bitrate applies to lossy formats, not {audio_format.name}")
    depth = bit_depth or audio_format.default_bit_depth
    if depth not in (16, 24):
        raise InputError(f"--bit-depth must be 16 or 24, not {bit_depth}")
    return Delivery(audio_format, rate, channels, bit_depth=depth)


def format_for(path: Path) -> AudioFormat:
    """The audio format named by ``path``'s extension."""
    try:
        return FORMATS[path.suffix.lower()]
    except KeyError:
        known = ", ".join(sorted(FORMATS))
        raise InputError(
            f"{path}: unknown audio format {path.suffix!r} (use one of {known})"
        ) from None


def _bitrate(value: str | None, audio_format: AudioFormat) -> str:
    chosen = value or str(audio_format.default_bitrate)
    match = re.fullmatch(r"(\d+)\s*(k?)", chosen.strip().lower())
    kbps = (int(match.group(1)) if match.group(2) else int(match.group(1)) / 1000) if match else 0
    if not 8 <= kbps <= 512:
        raise InputError(f"invalid bitrate {chosen!r}: expected e.g. 128k (8k to 512k)")
    return f"{round(kbps)}k"


def encode_signal(source: Signal, delivery: Delivery, path: Path, label: str = "") -> None:
    """Encode a signal already at ``delivery.sample_rate`` into ``path``, a block at a time."""
    args = delivery.ffmpeg_args()
    pieces = blocks(source)
    ffmpeg.encode_blocks(pieces, delivery.sample_rate, path, args, label=label or path.name)


def encode_heard(
    source: Signal,
    delivery: Delivery,
    path: Path,
    hear: Callable[[np.ndarray], None],
    label: str = "",
) -> None:
    """:func:`encode_signal`, with the encoded stream decoded again as it is written, mono at
    ``delivery.sample_rate``, for ``hear`` (see :func:`voicer.ffmpeg.encode_heard`)."""
    args = delivery.codec_args()
    muxer = delivery.format.muxer
    pieces = blocks(source)
    rate = delivery.sample_rate
    ffmpeg.encode_heard(pieces, rate, path, args, muxer, hear, label=label or path.name)
