"""Small conveniences for tests over voicer's streaming, file-writing API, and reading back
what it wrote."""

from __future__ import annotations

import contextlib
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voicer.audio import assembly
from voicer.audio.bwf import BextInfo
from voicer.audio.stream import materialise
from voicer.model import Clip, Cue, Placement, Segment
from voicer.subtitles import formats


@dataclass(frozen=True)
class InMemory:
    """A programme assembled by voicer's own assembly path, read back whole."""

    samples: np.ndarray
    placements: tuple[Placement, ...]
    sample_rate: int

    @property
    def duration(self) -> float:
        return self.samples.size / self.sample_rate


def assemble(
    segments: Sequence[Segment],
    clips: Sequence[Clip],
    sentence_pause_ms: int,
    paragraph_pause_ms: int,
    lead_in_ms: int = assembly.MARGIN_MS,
    tail_ms: int = assembly.MARGIN_MS,
) -> InMemory:
    """The programme ``render`` would assemble from these clips, in memory."""
    spacing = assembly.Spacing(sentence_pause_ms, paragraph_pause_ms, lead_in_ms, tail_ms)
    with contextlib.ExitStack() as scratch:
        made = assembly.assemble(segments, clips, spacing, scratch)
        programme = made.programme
        return InMemory(materialise(programme.signal), programme.placements, programme.sample_rate)


def write_subtitles(cues: Sequence[Cue], sample_rate: int, path: Path, extension: str = "") -> None:
    """Write cues in the format of ``path``'s extension (or ``extension``), as render does."""
    text = formats.format_text(cues, sample_rate, extension or path.suffix)
    path.write_text(text, encoding="utf-8", newline="\n")


# EBU Tech 3285 v2, up to the CodingHistory that follows: Description, Originator,
# OriginatorReference, OriginationDate, OriginationTime, TimeReference (low, high), Version,
# UMID, five loudness values in hundredths (0x7FFF: not available), Reserved
_BEXT = struct.Struct("<256s32s32s10s8sIIH64s5h180s")


def read_bext(path: Path) -> BextInfo | None:
    """The ``bext`` chunk of a WAV file (None when it has none), parsed here without voicer."""
    data = path.read_bytes()
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE", f"{path.name} is not a WAV file"
    position = 12
    while position + 8 <= len(data):
        chunk_id, size = struct.unpack_from("<4sI", data, position)
        if chunk_id == b"bext":
            return _bext(data[position + 8 : position + 8 + size])
        position += 8 + size + (size & 1)
    return None


def _bext(payload: bytes) -> BextInfo:
    values = _BEXT.unpack_from(payload)
    description, originator, reference, date, time = (_ascii(raw) for raw in values[:5])
    low, high, version, umid = values[5:9]
    levels = [None if v == 0x7FFF or version < 2 else v / 100 for v in values[9:14]]
    return BextInfo(
        description=description,
        originator=originator,
        originator_reference=reference,
        origination_date=date,
        origination_time=time,
        time_reference=low | high << 32,
        version=version,
        umid=umid,
        loudness_value=levels[0],
        loudness_range=levels[1],
        max_true_peak_level=levels[2],
        max_momentary_loudness=levels[3],
        max_short_term_loudness=levels[4],
        coding_history=_ascii(payload[_BEXT.size :]),
    )


def _ascii(raw: bytes) -> str:
    """A text field up to its first NUL."""
    return raw.split(b"\0", 1)[0].decode("ascii")
