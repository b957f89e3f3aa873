"""The BWF bext chunk: written after fmt (made WAVE_FORMAT_PCM), every other byte kept, read back
field for field."""

from __future__ import annotations

import stat
import struct
import wave
from pathlib import Path

import numpy as np
import pytest
from helpers import read_bext
from speech_audio import decode

from voicer import ffmpeg
from voicer.audio import bwf
from voicer.audio.bwf import BextInfo
from voicer.errors import OutputError

RATE = 48000
INFO = BextInfo(
    description="Address to the nation, take 3",
    originator="voicer",
    originator_reference="VOICER-0001",
    origination_date="2024-05-17",
    origination_time="09:30:05",
    time_reference=(1 << 32) + 123_456,  # needs both 32-bit halves
    version=2,
    umid=bytes(range(64)),
    loudness_value=-23.04,
    loudness_range=5.5,
    max_true_peak_level=-1.27,
    max_momentary_loudness=-17.9,
    max_short_term_loudness=-19.01,
    coding_history="A=PCM,F=48000,W=24,M=mono,T=voicer\r\n",
)


def _signal() -> np.ndarray:
    t = np.arange(RATE // 2) / RATE
    return (0.5 * np.sin(2 * np.pi * 441 * t)).astype(np.float32)


def _wav(tmp_path: Path, codec: str) -> Path:
    path = tmp_path / f"{codec}.wav"
    ffmpeg.encode_blocks([_signal()], RATE, path, ["-f", "wav", "-c:a", codec])
    return path


def _chunks(data: bytes) -> list[tuple[bytes, int, bytes]]:
    """(id, offset, payload) of each chunk, parsed here without voicer; checks the RIFF size
    and that every chunk starts on an even offset."""
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE"
    assert struct.unpack_from("<I", data, 4)[0] == len(data) - 8
    found, position = [], 12
    while position < len(data):
        assert position % 2 == 0
        chunk_id, size = struct.unpack_from("<4sI", data, position)
        found.append((chunk_id, position, data[position + 8 : position + 8 + size]))
        position += 8 + size + (size & 1)
    assert position == len(data)
    return found


@pytest.mark.parametrize("codec", ["pcm_s24le", "pcm_s16le"])
def test_bext_goes_after_fmt_and_keeps_everything_else(tmp_path: Path, codec: str) -> None:
    path = _wav(tmp_path, codec)
    before_bytes, before_audio = path.read_bytes(), decode(path, RATE)
    bwf.add_bext(path, INFO)
    after = _chunks(path.read_bytes())
    ids = [chunk_id for chunk_id, _, _ in after]
    assert ids[:2] == [b"fmt ", b"bext"] and ids.index(b"bext") < ids.index(b"data")
    assert b"LIST" in ids  # ffmpeg's encoder tag survives
    before = _chunks(before_bytes)
    others = [(i, payload) for i, _, payload in after if i not in (b"bext", b"fmt ")]
    assert others == [(i, payload) for i, _, payload in before if i != b"fmt "]
    # fmt: WAVE_FORMAT_PCM as Tech 3285 has it (ffmpeg writes EXTENSIBLE for 24 bits)
    fmt_before, fmt_after = before[0][2], after[0][2]
    assert fmt_after == struct.pack("<H", 1) + fmt_before[2:16]
    assert struct.unpack_from("<H", fmt_before)[0] == (0xFFFE if codec == "pcm_s24le" else 1)
    assert np.array_equal(decode(path, RATE), before_audio)
    assert read_bext(path) == INFO


def test_fields_are_where_tech_3285_puts_them(tmp_path: Path) -> None:
    path = _wav(tmp_path, "pcm_s24le")
    bwf.add_bext(path, INFO)
    payload = next(p for i, _, p in _chunks(path.read_bytes()) if i == b"bext")
    assert payload[:256].rstrip(b"\0") == INFO.description.encode()
    assert payload[256:288].rstrip(b"\0") == b"voicer"
    assert payload[288:320].rstrip(b"\0") == b"VOICER-0001"
    assert payload[320:338] == b"2024-05-1709:30:05"
    assert struct.unpack_from("<IIH", payload, 338) == (123_456, 1, 2)
    assert payload[348:412] == bytes(range(64))
    assert struct.unpack_from("<5h", payload, 412) == (-2304, 550, -127, -1790, -1901)
    assert payload[422:602] == bytes(180)
    assert payload[602:] == INFO.coding_history.encode()


def test_missing_loudness_is_stored_as_0x7fff(tmp_path: Path) -> None:
    path = _wav(tmp_path, "pcm_s16le")
    bwf.add_bext(path, BextInfo(loudness_value=-16.0, loudness_range=float("-inf")))
    payload = next(p for i, _, p in _chunks(path.read_bytes()) if i == b"bext")
    assert struct.unpack_from("<5h", payload, 412) == (-1600, 0x7FFF, 0x7FFF, 0x7FFF, 0x7FFF)
    read = read_bext(path)
    assert read is not None and read.loudness_value == -16.0
    assert read.loudness_range is None and read.max_true_peak_level is None


def test_standard_readers_still_open_the_file(tmp_path: Path) -> None:
    path = _wav(tmp_path, "pcm_s16le")
    with wave.open(str(path)) as before:
        frames = before.readframes(before.getnframes())
    bwf.add_bext(path, INFO)
    with wave.open(str(path)) as after:
        assert (after.getframerate(), after.getsampwidth(), after.getnchannels()) == (RATE, 2, 1)
        assert after.readframes(after.getnframes()) == frames


def test_wave_opens_24_bit_file(tmp_path: Path) -> None:
    path = _wav(tmp_path, "pcm_s24le")  # WAVE_FORMAT_EXTENSIBLE, which wave reads from 3.12 on
    bwf.add_bext(path, INFO)  # WAVE_FORMAT_PCM, which every version reads
    with wave.open(str(path)) as after:
        assert after.getsampwidth() == 3 and after.getnframes() == RATE // 2


def test_wavinfo_reads_the_loudness(tmp_path: Path) -> None:
    wavinfo = pytest.importorskip("wavinfo")
    path = _wav(tmp_path, "pcm_s24le")
    bwf.add_bext(path, INFO)
    bext = wavinfo.WavInfoReader(str(path)).bext
    assert (bext.description, bext.originator, bext.version) == (INFO.description, "voicer", 2)
    assert bext.time_reference == INFO.time_reference
    assert bext.coding_history == INFO.coding_history
    loudness = (bext.loudness_value, bext.loudness_range, bext.max_true_peak)
    assert loudness == (-23.04, 5.5, -1.27)
    assert (bext.max_momentary_loudness, bext.max_shortterm_loudness) == (-17.9, -19.01)


def _odd_wav(path: Path, final_pad: bool) -> bytes:
    """8-bit PCM with an odd-sized chunk (padded) and an odd-sized data chunk last."""
    fmt = struct.pack("<HHIIHH", 1, 1, 8000, 8000, 1, 8)
    body = b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt
    body += b"odd " + struct.pack("<I", 3) + b"abc\0"
    body += b"data" + struct.pack("<I", 5) + bytes([1, 2, 3, 4, 5]) + (b"\0" if final_pad else b"")
    data = b"RIFF" + struct.pack("<I", len(body)) + body
    path.write_bytes(data)
    return data


@pytest.mark.parametrize("final_pad", [True, False])
def test_odd_sizes_are_word_aligned(tmp_path: Path, final_pad: bool) -> None:
    path = tmp_path / "odd.wav"
    _odd_wav(path, final_pad)
    info = BextInfo(coding_history="A=PCM,F=8000,W=8,M=mono,T=voicer\r\n\r\n\r")  # odd length
    bwf.add_bext(path, info)
    data = path.read_bytes()
    chunks = _chunks(data)  # checks alignment and the RIFF size
    assert [(i, len(p)) for i, _, p in chunks] == [
        (b"fmt ", 16),
        (b"bext", 602 + len(info.coding_history)),
        (b"odd ", 3),
        (b"data", 5),
    ]
    bext_offset = chunks[1][1]
    assert data[bext_offset + 8 + 602 + len(info.coding_history)] == 0  # the pad byte
    assert chunks[3][2] == bytes([1, 2, 3, 4, 5]) and data.endswith(b"\5\0")
    assert read_bext(path) == info


def test_copies_in_blocks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bwf, "_BLOCK", 7)
    path = _wav(tmp_path, "pcm_s24le")
    before = _chunks(path.read_bytes())
    bwf.add_bext(path, INFO)
    assert [c for c in _chunks(path.read_bytes()) if c[0] != b"bext"][-1][2] == before[-1][2]


def test_a_second_bext_replaces_the_first(tmp_path: Path) -> None:
    path = _wav(tmp_path, "pcm_s16le")
    bwf.add_bext(path, INFO)
    bwf.add_bext(path, BextInfo(description="second"))
    assert [i for i, _, _ in _chunks(path.read_bytes())].count(b"bext") == 1
    read = read_bext(path)
    assert read is not None and read.description == "second"


def test_file_mode_is_kept_and_no_temporary_is_left(tmp_path: Path) -> None:
    path = _wav(tmp_path, "pcm_s16le")
    path.chmod(0o640)
    bwf.add_bext(path, INFO)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_no_bext_reads_as_none(tmp_path: Path) -> None:
    assert read_bext(_wav(tmp_path, "pcm_s16le")) is None


def _one_line_error(path: Path, info: BextInfo = INFO) -> str:
    with pytest.raises(OutputError) as caught:
        bwf.add_bext(path, info)
    message = str(caught.value)
    assert message and "\n" not in message
    return message


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"ID3\x04\x00" + bytes(100), "not a WAV file"),
        (b"RIFF" + struct.pack("<I", 4) + b"AVI ", "not a WAV file"),
        (b"RF64" + struct.pack("<I", 0xFFFFFFFF) + b"WAVE" + bytes(40), "RF64"),
        (b"BW64" + struct.pack("<I", 0xFFFFFFFF) + b"WAVE" + bytes(40), "RF64"),
        (b"", "not a WAV file"),
    ],
)
def test_other_files_are_refused_in_one_line(tmp_path: Path, content: bytes, words: str) -> None:
    path = tmp_path / "input.wav"
    path.write_bytes(content)
    assert words in _one_line_error(path)
    assert path.read_bytes() == content


def test_truncated_and_incomplete_files_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "cut.wav"
    whole = _wav(tmp_path, "pcm_s16le").read_bytes()
    path.write_bytes(whole[:-10])
    assert "RIFF size" in _one_line_error(path)
    without_data = whole[:12] + whole[12 : 12 + 8 + 16]
    path.write_bytes(without_data[:4] + struct.pack("<I", len(without_data) - 8) + without_data[8:])
    assert "no 'data' chunk" in _one_line_error(path)
    assert "cannot" in _one_line_error(tmp_path / "missing.wav")


@pytest.mark.parametrize(
    ("info", "words"),
    [
        (BextInfo(description="国务院新闻办公室"), "must be ASCII, not '国'"),
        (BextInfo(originator="x" * 33), "at most 32"),
        (BextInfo(coding_history="T=voicer é"), "coding_history must be ASCII"),
        (BextInfo(origination_date="17.05.2024"), "yyyy-mm-dd"),
        (BextInfo(origination_time="9:30"), "hh:mm:ss"),
        (BextInfo(time_reference=-1), "time reference"),
        (BextInfo(loudness_value=-400.0), "loudness_value out of range"),
        (BextInfo(umid=bytes(65)), "UMID"),
    ],
)
def test_bad_values_are_refused_before_the_file_is_touched(
    tmp_path: Path, info: BextInfo, words: str
) -> None:
    path = _wav(tmp_path, "pcm_s16le")
    before = path.read_bytes()
    assert words in _one_line_error(path, info)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def _sparse_wav(path: Path, size: int) -> None:
    """A 16-bit WAV of ``size`` bytes whose audio is a hole in the file (nothing is written)."""
    fmt = struct.pack("<HHIIHH", 1, 1, RATE, 2 * RATE, 2, 16)
    riff_size = min(size - 8, 0xFFFFFFFF)
    data_size = min(size - 44, 0xFFFFFFFF)
    header = b"RIFF" + struct.pack("<I", riff_size) + b"WAVE" + b"fmt " + struct.pack("<I", 16)
    with path.open("wb") as out:
        out.write(header + fmt + b"data" + struct.pack("<I", data_size))
        out.truncate(size)


@pytest.mark.parametrize(
    ("size", "words"), [(0xFFFFFFFF - 100, "4 GiB RIFF limit"), (5 << 30, "over 4 GiB")]
)
def test_files_near_or_over_4_gib_are_refused(tmp_path: Path, size: int, words: str) -> None:
    path = tmp_path / "long.wav"
    _sparse_wav(path, size)
    assert words in _one_line_error(path)
    assert path.stat().st_size == size
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_version_1_has_no_loudness(tmp_path: Path) -> None:
    path = _wav(tmp_path, "pcm_s16le")
    bwf.add_bext(path, BextInfo(version=1, loudness_value=-23.0))
    payload = next(p for i, _, p in _chunks(path.read_bytes()) if i == b"bext")
    assert payload[412:602] == bytes(190)
    assert read_bext(path) == BextInfo(version=1)
