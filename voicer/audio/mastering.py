"""From the assembled programme to the delivered file: resample, normalise, encode, verify.

Loudness and true peak are checked on the encoded file as it will be played. Lossy codecs move
both the loudness (MP3 decodes about 0.45 LU quieter, which the first encode allows for) and
the true peak: they add peaks of their own over what the limiter let through (Vorbis and Opus
a few tenths of a dB, AAC now and then 3 dB), so a delivery is encoded again, its limiter
lowered by what the encoder added and a margin, until the file as decoded is under the
ceiling (one loudness correction is made alongside). Every step reads the programme a block
at a time.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

import numpy as np

from voicer import ffmpeg
from voicer.audio import bwf, loudness
from voicer.audio.delivery import (
    Delivery,
    delivery_for,
    encode_heard,
    encode_signal,
    format_for,
)
from voicer.audio.loudness import Measurement
from voicer.audio.stream import Resampled, Scaled, Signal, blocks, spool
from voicer.errors import InputError, OutputError

STEREO_OFFSET_LU = 3.01  # the same signal in both channels measures 3 LU louder
LOUDNESS_TOLERANCE_LU = 0.1  # a first lossy encode closer than this to the target is kept
PEAK_SAFETY_DB = 0.2  # how far under the ceiling a correcting encode aims
# how far under the ceiling a delivered file's true peak must be on voicer's meter: other
# BS.1770 meters read up to a few hundredths of a dB higher (ffmpeg's ebur128 within 0.07)
METER_MARGIN_DB = 0.05
MAX_ENCODES = 5  # encodes of a lossy file before giving up on its ceiling
# How much louder (LU) a codec's decoded output measures than its input, so that the first
# encode usually lands on the target. MP3 (libmp3lame, any bitrate and rate we offer) reads
# 0.43-0.46 LU quieter on speech and tone bursts alike; AAC, Vorbis and Opus within 0.1 LU.
CODEC_LOUDNESS_SHIFT_LU = {"libmp3lame": -0.45}
# An MP3 decoded from the encoder's stream, before the file's header frame is written, starts
# with LAME's encoder delay and the decoder's own; a decoder reading the file skips both
LAME_ENCODER_DELAY = 576
MP3_DECODER_DELAY = 529


@dataclass(frozen=True)
class Mastering:
    """How the programme becomes a file: the delivered format, the loudness target
    (integrated LUFS, true-peak ceiling dBTP; None: not normalised) and whether a WAV gets a
    BWF ``bext`` chunk."""

    delivery: Delivery
    target: tuple[float, float] | None
    bwf: bool = False


def default_loudness(path: Path) -> str:
    """ebu-r128 for WAV and FLAC (broadcast delivery), podcast for the lossy formats."""
    return "podcast" if format_for(path).lossy else "ebu-r128"


def mastering_for(
    path: Path,
    *,
    sample_rate: int | None = None,
    bit_depth: int | None = None,
    bitrate: str | None = None,
    channels: int = 1,
    preset: str | None = None,
    lufs: float | None = None,
    true_peak: float | None = None,
    add_bwf: bool = False,
) -> Mastering:
    """The mastering of ``path`` with these settings, every one checked (InputError).

    The loudness preset defaults by format (see :func:`default_loudness`); ``lufs`` and
    ``true_peak`` override the preset's target and ceiling; preset ``none`` without ``lufs``
    leaves the level alone.
    """
    delivery = delivery_for(path, sample_rate, bit_depth, bitrate, channels)
    preset_lufs, ceiling = loudness.target_for(preset or default_loudness(path), channels) or (
        None,
        -1.0,
    )
    target_lufs = lufs if lufs is not None else preset_lufs
    ceiling = true_peak if true_peak is not None else ceiling
    if add_bwf and delivery.format.codec != "pcm":
        raise InputError("--bwf applies to WAV output only")
    target = None if target_lufs is None else (target_lufs, ceiling)
    return Mastering(delivery, target, add_bwf)


def master(
    source: Signal,
    mastering: Mastering,
    path: Path,
    label: str,
    description: str,
    progress: Callable[[float], None] | None = None,
) -> Measurement:
    """Deliver ``source`` to ``path`` (see :func:`deliver`; ``label`` names it in errors), with
    a BWF chunk described by ``description`` if asked. A WAV file's format tag is 1
    (WAVE_FORMAT_PCM) at any bit depth (see bwf.use_pcm_format_tag)."""
    measured = deliver(source, mastering.delivery, mastering.target, path, label, progress)
    if mastering.bwf:
        bwf.add_bext(path, bext_for(measured, mastering.delivery, description))
    elif mastering.delivery.format.codec == "pcm":
        bwf.use_pcm_format_tag(path)
    return measured


def bext_for(measured: Measurement, delivery: Delivery, description: str) -> bwf.BextInfo:
    """The BWF metadata of a delivered file: now, its measured loudness, its coding history."""
    now = datetime.now()
    return bwf.BextInfo(
        description=description,
        originator="voicer",
        origination_date=now.strftime("%Y-%m-%d"),
        origination_time=now.strftime("%H:%M:%S"),
        loudness_value=measured.integrated,
        loudness_range=measured.loudness_range,
        max_true_peak_level=measured.true_peak,
        coding_history=(
            f"A=PCM,F={delivery.sample_rate},W={delivery.bit_depth},"
            f"M={'mono' if delivery.channels == 1 else 'stereo'},T=voicer\r\n"
        ),
    )


def deliver(
    source: Signal,
    delivery: Delivery,
    target: tuple[float, float] | None,
    path: Path,
    label: str = "",
    progress: Callable[[float], None] | None = None,
) -> Measurement:
    """Write ``source`` (mono) to ``path`` as ``delivery`` says, normalised to ``target``
    (integrated LUFS, true-peak ceiling dBTP) if given; return the file's loudness.
    ``progress(share)`` hears how far it has got, from 0 to 1.

    Works a block at a time: memory does not grow with the length of the programme.
    """
    share = _Share(progress)
    source = share.counted(source)
    if target is None:
        with spool(Resampled(source, delivery.sample_rate)) as spooled:
            resampled = share.counted(spooled)
            return encode_measured(_below_full_scale(resampled), delivery, path, label)
    lufs, ceiling = target
    aim = lufs - (STEREO_OFFSET_LU if delivery.channels == 2 else 0.0)
    aim -= CODEC_LOUDNESS_SHIFT_LU.get(delivery.format.codec, 0.0)
    if not delivery.format.lossy:
        meter = _meter(delivery.sample_rate)
        with spool(Resampled(source, delivery.sample_rate), meter.feed) as spooled:
            counted = share.counted(spooled)
            return _encodes(lambda: counted, meter, delivery, target, aim, path, label)
    # A lossy file is measured first at the programme's own rate, and resampled as it is
    # encoded when one gain will do (into a scratch file only when the limiter may be
    # needed): the K-weighted loudness reads about 0.05 LU higher at 24 kHz, within a first
    # lossy encode's tolerance, and the limiter's own passes measure at the delivery's rate.
    meter = _meter(source.sample_rate)
    for block in blocks(source):
        meter.feed(block)
    with contextlib.ExitStack() as scratch:
        kept: list[Signal] = []

        def at_delivery_rate() -> Signal:
            if not kept:
                pcm = scratch.enter_context(spool(Resampled(source, delivery.sample_rate)))
                kept.append(share.counted(pcm))
            return kept[0]

        first = _scaled(source, meter, delivery.sample_rate, aim, ceiling)
        return _encodes(at_delivery_rate, meter, delivery, target, aim, path, label, first)


def _meter(rate: int) -> loudness.Meter:
    """A meter whose true peak is read only if its bound, from the sample peak, could reach
    the ceiling."""
    return loudness.Meter(rate, true_peak=False, peak_bound=True)


def _scaled(
    source: Signal, meter: loudness.Meter, rate: int, aim: float, ceiling: float
) -> Signal | None:
    """``source`` (which ``meter`` has measured) at ``rate`` with one gain to ``aim``, when the
    true peak's bound keeps that gain under the ceiling; None when the limiter may be needed."""
    gain_db = aim - meter.measurement().integrated
    if not np.isfinite(gain_db):
        return None
    room = ceiling - METER_MARGIN_DB - loudness.TRUE_PEAK_MARGIN_DB
    if meter.true_peak_bound() + gain_db > room:
        return None
    return Scaled(Resampled(source, rate), 10 ** (gain_db / 20))


def _encodes(
    resampled: Callable[[], Signal],
    meter: loudness.Meter,
    delivery: Delivery,
    target: tuple[float, float],
    aim: float,
    path: Path,
    label: str,
    first: Signal | None = None,
) -> Measurement:
    """Normalise ``resampled()`` (which ``meter`` has measured) and encode it until the file
    as decoded is under the ceiling (and, after a first lossy encode off by more than the
    tolerance, on its loudness target); ``first``: what to encode first, if known."""
    lufs, ceiling = target
    limit = ceiling  # the limiter's ceiling
    for encodes in range(1, MAX_ENCODES + 1):
        if first is None or encodes > 1:
            first, _ = loudness.normalise_signal(resampled(), aim, limit, meter)
        measured = encode_measured(first, delivery, path, label)
        loudness_error = lufs - measured.integrated
        close_enough = abs(loudness_error) <= LOUDNESS_TOLERANCE_LU or encodes > 1
        if measured.true_peak <= ceiling - METER_MARGIN_DB and close_enough:
            return measured
        # the encoder's own peaks ride on the limited ones: lower those by what it added
        limit -= max(0.0, measured.true_peak - ceiling + PEAK_SAFETY_DB)
        aim += loudness_error
    raise OutputError(
        f"cannot encode {label or path.name} under its true-peak ceiling of {ceiling:.1f} dBTP: "
        f"the {delivery.format.name} encoder still peaks at {measured.true_peak:.1f} dBTP after "
        f"{MAX_ENCODES} tries (another --bitrate or a lossless format may avoid it)"
    )


def encode_measured(source: Signal, delivery: Delivery, path: Path, label: str) -> Measurement:
    """Encode ``source`` into ``path``; the loudness of the file as it will be played.

    An MP3 is measured while it is encoded, from the encoder's stream decoded on the other
    core, rather than read again once written (README: Measured choices); should that stream
    not be the file's samples at the expected offset, and every other format, the file is
    measured once written.
    """
    if delivery.format.codec != "libmp3lame":
        encode_signal(source, delivery, path, label)
        return measure_file(path, delivery)
    meter = loudness.Meter(delivery.sample_rate)
    heard = _Trimmed(meter.feed, LAME_ENCODER_DELAY + MP3_DECODER_DELAY, source.length)
    encode_heard(source, delivery, path, heard.feed, label)
    if heard.passed != source.length or mp3_encoder_delay(path) != LAME_ENCODER_DELAY:
        return measure_file(path, delivery)
    return _as_delivered(meter.measurement(), delivery)


def measure_file(path: Path, delivery: Delivery) -> Measurement:
    """Loudness of an encoded file as it will be played (decoded a block at a time)."""
    meter = loudness.Meter(delivery.sample_rate)
    for block in ffmpeg.decode_blocks(path, delivery.sample_rate):
        meter.feed(block)
    return _as_delivered(meter.measurement(), delivery)


def _as_delivered(found: Measurement, delivery: Delivery) -> Measurement:
    """A measurement of the mono downmix as the delivery's channels play it."""
    if delivery.channels == 2:
        found = replace(found, integrated=found.integrated + STEREO_OFFSET_LU)
    return found


def mp3_encoder_delay(path: Path) -> int | None:
    """The encoder delay in samples that an MP3 file's LAME tag gives (None without one): the
    decoder skips it and its own delay at the start."""
    with path.open("rb") as file:
        head = file.read(1 << 13)
    at = head.find(b"Info")
    if at < 0:
        at = head.find(b"Xing")
    if at < 0:
        return None
    flags = int.from_bytes(head[at + 4 : at + 8], "big")
    # frame count, byte count, table of contents and quality follow when their flag is set
    sizes = ((1, 4), (2, 4), (4, 100), (8, 4))
    tag = at + 8 + sum(size for flag, size in sizes if flags & flag)
    delay = head[tag + 21 : tag + 23]  # after the encoder's name and 12 bytes of settings
    return (delay[0] << 4) | (delay[1] >> 4) if len(delay) == 2 else None


class _Trimmed:
    """Passes on ``length`` samples of a signal fed a block at a time, after ``skip``."""

    def __init__(self, sink: Callable[[np.ndarray], None], skip: int, length: int) -> None:
        self.sink, self.skip, self.length = sink, skip, length
        self.seen = 0
        self.passed = 0

    def feed(self, block: np.ndarray) -> None:
        start = min(block.size, max(0, self.skip - self.seen))
        stop = min(block.size, start + self.length - self.passed)
        self.seen += block.size
        if stop > start:
            self.sink(block[start:stop])
            self.passed += stop - start


class _Share:
    """How far mastering has got, judged by the samples its passes read from the programme:
    each pass over it counts one, and most renders take two (resample and measure, then
    normalise and encode); a limiter or a correcting pass holds the share just under 1."""

    PASSES = 2

    def __init__(self, report: Callable[[float], None] | None) -> None:
        self.report = report
        self.done = 0.0

    def counted(self, signal: Signal) -> Signal:
        return _Counted(signal, self) if self.report else signal

    def read(self, samples: int, length: int) -> None:
        self.done += samples / max(1, length)
        if self.report:
            self.report(min(0.99, self.done / self.PASSES))


class _Counted:
    """A signal that tells a :class:`_Share` how much of it has been read."""

    def __init__(self, source: Signal, share: _Share) -> None:
        self.source, self.share = source, share
        self.sample_rate = source.sample_rate

    @property
    def length(self) -> int:
        return self.source.length

    def read(self, start: int, stop: int) -> np.ndarray:
        self.share.read(stop - start, self.length)
        return self.source.read(start, stop)


def _below_full_scale(source: Signal, ceiling_dbfs: float = -1.0) -> Signal:
    """``source`` scaled down if its sample peak is above the ceiling, so nothing clips."""
    peak = max((float(np.max(np.abs(block))) for block in blocks(source)), default=0.0)
    ceiling = 10 ** (ceiling_dbfs / 20)
    return Scaled(source, ceiling / peak) if peak > ceiling else source
