"""Broadcast WAV: the ``bext`` chunk of EBU Tech 3285 version 2, with the loudness values.

:func:`add_bext` rewrites a plain RIFF/WAVE file (as ffmpeg writes it) with a ``bext`` chunk
right after ``fmt ``; every other chunk is kept byte for byte and the audio is copied in blocks,
so files hours long never sit in memory. An existing ``bext`` chunk is replaced. RF64/BW64
files and files that would pass the 4 GiB RIFF limit are refused.

The ``fmt `` chunk is the one exception: WAVE_FORMAT_EXTENSIBLE, which ffmpeg writes for more
than 16 bits, becomes WAVE_FORMAT_PCM (format tag 1) when it says nothing more (integer PCM,
one or two channels), as Tech 3285 and most broadcast tools expect. :func:`use_pcm_format_tag`
does only that, for a WAV file without a ``bext`` chunk.

Text fields must be ASCII, as Tech 3285 requires: a non-ASCII character is refused with an
:class:`~voicer.errors.OutputError` rather than silently replaced, so metadata never reads
differently from what was asked for (a caller with free text can pass it through
``text.encode("ascii", "replace").decode()`` first).
"""

from __future__ import annotations

import math
import os
import re
import shutil
import struct
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from voicer.errors import OutputError

# Description, Originator, OriginatorReference, OriginationDate, OriginationTime,
# TimeReferenceLow, TimeReferenceHigh, Version, UMID, LoudnessValue, LoudnessRange,
# MaxTruePeakLevel, MaxMomentaryLoudness, MaxShortTermLoudness, Reserved; CodingHistory follows.
_BEXT = struct.Struct("<256s32s32s10s8sIIH64s5h180s")
_TEXT_SIZES = {
    "description": 256,
    "originator": 32,
    "originator_reference": 32,
    "origination_date": 10,
    "origination_time": 8,
}
_LOUDNESS = (
    "loudness_value",
    "loudness_range",
    "max_true_peak_level",
    "max_momentary_loudness",
    "max_short_term_loudness",
)
NOT_AVAILABLE = 0x7FFF  # a loudness field with no value (Tech 3285)
_SEPARATOR = "[-_:. ]"  # Tech 3285 allows any of these between the date and time parts
_DATE = re.compile(rf"\d{{4}}{_SEPARATOR}\d\d{_SEPARATOR}\d\d")
_TIME = re.compile(rf"\d\d{_SEPARATOR}\d\d{_SEPARATOR}\d\d")
_RIFF_LIMIT = 0xFFFFFFFF
_BLOCK = 1 << 20  # bytes copied at a time


@dataclass(frozen=True)
class BextInfo:
    """The fields of a version 2 ``bext`` chunk. Loudness values are in LUFS, LU and dBTP;
    ``None`` (or a non-finite value, e.g. the loudness of silence) is stored as "not available".
    """

    description: str = ""  # up to 256 ASCII characters
    originator: str = ""  # up to 32
    originator_reference: str = ""  # up to 32
    origination_date: str = ""  # yyyy-mm-dd, or empty
    origination_time: str = ""  # hh:mm:ss, or empty
    time_reference: int = 0  # first sample's count since midnight (64 bits)
    version: int = 2
    umid: bytes = bytes(64)  # SMPTE 330M UMID, up to 64 bytes (NUL-padded)
    loudness_value: float | None = None  # integrated loudness, LUFS
    loudness_range: float | None = None  # LU
    max_true_peak_level: float | None = None  # dBTP
    max_momentary_loudness: float | None = None  # LUFS
    max_short_term_loudness: float | None = None  # LUFS
    coding_history: str = ""  # ASCII lines ending in CR LF, e.g. "A=PCM,F=48000,W=24,...\r\n"

    def pack(self) -> bytes:
        """The chunk's payload (without the chunk header or pad byte)."""
        texts = [_ascii(name, getattr(self, name), size) for name, size in _TEXT_SIZES.items()]
        _check_date_time(self.origination_date, self.origination_time)
        self._check_numbers()
        low, high = self.time_reference & 0xFFFFFFFF, self.time_reference >> 32
        levels = [_centi(name, getattr(self, name)) for name in _LOUDNESS]
        if self.version < 2:
            levels = [0] * len(levels)  # reserved (zero) before version 2
        head = _BEXT.pack(*texts, low, high, self.version, self.umid, *levels, bytes(180))
        return head + _ascii("coding_history", self.coding_history, None)

    def _check_numbers(self) -> None:
        if not 0 <= self.time_reference < 1 << 64:
            raise OutputError(f"bext time reference out of range: {self.time_reference}")
        if not 0 <= self.version <= 0xFFFF:
            raise OutputError(f"bext version out of range: {self.version}")
        if len(self.umid) > 64:
            raise OutputError(f"bext UMID is {len(self.umid)} bytes, at most 64 fit")


def _ascii(name: str, text: str, size: int | None) -> bytes:
    """``text`` as ASCII; NUL-padding to ``size`` is left to struct."""
    try:
        data = text.encode("ascii")
    except UnicodeEncodeError as error:
        char = text[error.start]
        raise OutputError(f"bext {name} must be ASCII, not {char!r} (U+{ord(char):04X})") from None
    if "\0" in text:
        raise OutputError(f"bext {name} must not contain NUL characters")
    if size is not None and len(data) > size:
        raise OutputError(f"bext {name} is {len(data)} characters, at most {size} fit")
    return data


def _check_date_time(date: str, time: str) -> None:
    if date and not _DATE.fullmatch(date):
        raise OutputError(f"bext origination date must be yyyy-mm-dd, not {date!r}")
    if time and not _TIME.fullmatch(time):
        raise OutputError(f"bext origination time must be hh:mm:ss, not {time!r}")


def _centi(name: str, value: float | None) -> int:
    """A loudness value as the int16 of hundredths Tech 3285 stores."""
    if value is None or not math.isfinite(value):
        return NOT_AVAILABLE
    stored = round(value * 100)
    if not -0x8000 <= stored < NOT_AVAILABLE:
        raise OutputError(f"bext {name} out of range: {value}")
    return stored


@dataclass(frozen=True)
class _Chunk:
    """A chunk of the source file: ``offset`` is where its payload starts."""

    id: bytes
    offset: int
    size: int
    padded: bool  # the pad byte after an odd-sized payload is in the file

    @property
    def stored(self) -> int:
        """Bytes it takes in a well-formed file: header, payload, pad."""
        return 8 + self.size + (self.size & 1)


def _chunks(source: BinaryIO, name: str) -> list[_Chunk]:
    """The chunks of a plain RIFF/WAVE file, checked to lie inside it."""
    size = source.seek(0, os.SEEK_END)
    source.seek(0)
    header = source.read(12)
    if header[:4] in (b"RF64", b"BW64"):
        raise OutputError(f"{name} is an RF64 file; a bext chunk is only added to plain RIFF WAV")
    if len(header) < 12 or header[:4] != b"RIFF" or header[8:] != b"WAVE":
        raise OutputError(f"{name} is not a WAV file")
    end = 8 + struct.unpack_from("<I", header, 4)[0]
    if size > 8 + _RIFF_LIMIT:
        raise OutputError(f"{name} is over 4 GiB, too large for a plain RIFF WAV")
    if end != size:
        raise OutputError(f"{name}: RIFF size says {end} bytes, the file has {size}")
    return list(_walk(source, name, end))


def _walk(source: BinaryIO, name: str, end: int) -> Iterator[_Chunk]:
    position = 12
    while position < end:
        source.seek(position)
        header = source.read(8)
        if len(header) < 8:
            raise OutputError(f"{name}: truncated chunk header at byte {position}")
        chunk_id, chunk_size = struct.unpack("<4sI", header)
        stop = position + 8 + chunk_size
        if stop > end:
            raise OutputError(f"{name}: chunk {chunk_id!r} runs past the end of the file")
        padded = bool(chunk_size & 1) and stop < end
        yield _Chunk(chunk_id, position + 8, chunk_size, padded)
        position = stop + padded


def add_bext(path: Path, info: BextInfo) -> None:
    """Rewrite the WAV file ``path`` with ``info`` as its ``bext`` chunk, right after ``fmt ``,
    and with a plain PCM ``fmt `` where it was an extensible one that says no more (see
    :func:`use_pcm_format_tag`), as Tech 3285 has it.

    The file is replaced atomically; on any failure it is left as it was.
    """
    payload = info.pack()
    try:
        with path.open("rb") as source:
            chunks = _chunks(source, path.name)
            fmt = _fmt_payload(source, chunks, path.name)
            layout = _layout(chunks, path.name, payload, plain_pcm_fmt(fmt))
            _rewrite(path, source, layout)
    except OSError as error:
        raise OutputError(f"cannot add bext to {path.name}: {error.strerror or error}") from None


def use_pcm_format_tag(path: Path) -> bool:
    """Rewrite the WAV file ``path`` with format tag 1 (WAVE_FORMAT_PCM) where it has 0xFFFE
    (WAVE_FORMAT_EXTENSIBLE) that says nothing more: integer PCM, one or two channels in the
    usual layout, every bit valid. ffmpeg writes the extensible form for more than 16 bits; EBU
    Tech 3285, many broadcast tools and Python's ``wave`` before 3.12 expect tag 1.

    The audio and every other chunk are kept byte for byte; the file is replaced atomically.
    Whether it was rewritten (False: it already was plain, or needs the extensible form).
    """
    try:
        with path.open("rb") as source:
            chunks = _chunks(source, path.name)
            plain = plain_pcm_fmt(_fmt_payload(source, chunks, path.name))
            if plain is None:
                return False
            _rewrite(path, source, _layout(chunks, path.name, None, plain))
    except OSError as error:
        raise OutputError(f"cannot rewrite {path.name}: {error.strerror or error}") from None
    return True


WAVE_FORMAT_PCM = 0x0001
WAVE_FORMAT_EXTENSIBLE = 0xFFFE
# KSDATAFORMAT_SUBTYPE_PCM, 00000001-0000-0010-8000-00aa00389b71, as stored (little-endian)
_SUBTYPE_PCM = bytes.fromhex("0100000000001000800000aa00389b71")
_USUAL_LAYOUT = {1: (0, 0x4), 2: (0, 0x3)}  # channel masks: none, front centre; front L+R
_PCM_FMT = struct.Struct("<HHIIHH")


def plain_pcm_fmt(payload: bytes) -> bytes | None:
    """The 16-byte WAVE_FORMAT_PCM ``fmt `` payload that says the same as ``payload``, when
    that is a WAVE_FORMAT_EXTENSIBLE one for integer PCM with one or two channels in the usual
    layout and every bit of each sample valid; else None.

    >>> extensible = struct.pack("<HHIIHHHHI", 0xFFFE, 1, 48000, 144000, 3, 24, 22, 24, 4)
    >>> plain_pcm_fmt(extensible + _SUBTYPE_PCM) == _PCM_FMT.pack(1, 1, 48000, 144000, 3, 24)
    True
    >>> plain_pcm_fmt(_PCM_FMT.pack(1, 1, 48000, 96000, 2, 16)) is None
    True
    """
    if len(payload) < 40:
        return None
    tag, channels, rate, byte_rate, align, bits = _PCM_FMT.unpack_from(payload)
    extension, valid_bits, mask = struct.unpack_from("<HHI", payload, 16)
    if tag != WAVE_FORMAT_EXTENSIBLE or extension < 22 or payload[24:40] != _SUBTYPE_PCM:
        return None
    if mask not in _USUAL_LAYOUT.get(channels, ()) or valid_bits not in (0, bits):
        return None
    return _PCM_FMT.pack(WAVE_FORMAT_PCM, channels, rate, byte_rate, align, bits)


def _fmt_payload(source: BinaryIO, chunks: list[_Chunk], name: str) -> bytes:
    fmt = next((chunk for chunk in chunks if chunk.id == b"fmt "), None)
    if fmt is None:
        raise OutputError(f"{name} is not a WAV file: it has no 'fmt ' chunk")
    source.seek(fmt.offset)
    return source.read(min(fmt.size, 1024))


_Item = _Chunk | tuple[bytes, bytes]  # a chunk of the source, or a new one: (id, payload)


def _layout(chunks: list[_Chunk], name: str, bext: bytes | None, fmt: bytes | None) -> list[_Item]:
    """The chunks to write: the source's, with ``fmt `` replaced by ``fmt`` if given, and if
    ``bext`` is given any old ``bext`` dropped and ``bext`` put right after ``fmt ``."""
    ids = [chunk.id for chunk in chunks]
    missing = [wanted.decode() for wanted in (b"fmt ", b"data") if wanted not in ids]
    if missing:
        raise OutputError(f"{name} is not a WAV file: it has no {missing[0]!r} chunk")
    kept: list[_Item] = []
    for chunk in chunks:
        if chunk.id == b"fmt ":
            kept.append(chunk if fmt is None else (b"fmt ", fmt))
            if bext is not None:
                kept.append((b"bext", bext))
        elif chunk.id != b"bext" or bext is None:
            kept.append(chunk)
    return kept


def _stored(item: _Item) -> int:
    return item.stored if isinstance(item, _Chunk) else 8 + len(item[1]) + (len(item[1]) & 1)


def _rewrite(path: Path, source: BinaryIO, layout: list[_Item]) -> None:
    riff_size = 4 + sum(_stored(item) for item in layout)
    if riff_size > _RIFF_LIMIT:
        raise OutputError(f"{path.name} rewritten would pass the 4 GiB RIFF limit")
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as target:
            target.write(b"RIFF" + struct.pack("<I", riff_size) + b"WAVE")
            for item in layout:
                _write_chunk(source, target, item)
        shutil.copymode(path, temporary)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _write_chunk(source: BinaryIO, target: BinaryIO, item: _Item) -> None:
    if not isinstance(item, _Chunk):
        chunk_id, payload = item
        target.write(chunk_id + struct.pack("<I", len(payload)) + payload)
        target.write(bytes(len(payload) & 1))
        return
    target.write(item.id + struct.pack("<I", item.size))
    source.seek(item.offset)
    _copy(source, target, item.size + item.padded)
    if item.size & 1 and not item.padded:
        target.write(b"\0")


def _copy(source: BinaryIO, target: BinaryIO, count: int) -> None:
    """Copy ``count`` bytes in blocks."""
    while count > 0:
        block = source.read(min(count, _BLOCK))
        if not block:
            raise OutputError("the WAV file changed while the bext chunk was added")
        target.write(block)
        count -= len(block)
