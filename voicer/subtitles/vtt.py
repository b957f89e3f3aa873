"""WebVTT (.vtt): a ``WEBVTT`` header, then numbered cues with ``HH:MM:SS.mmm`` times.

The writer escapes ``& < >`` in cue text; the reader drops cue settings, NOTE/STYLE/REGION
blocks and markup tags (``<i>``, ``<v Name>``, timestamps) and unescapes character references.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

from voicer.model import Cue
from voicer.subtitles.timestamps import clock, to_ms

_TIME = r"(?:(\d{2,}):)?([0-5]\d):([0-5]\d)\.(\d{3})"
_TIMING = re.compile(rf"{_TIME}[ \t]+-->[ \t]+{_TIME}(?:[ \t].*)?")
_HEADER = re.compile(r"WEBVTT(?:[ \t].*)?")
_TAG = re.compile(r"<[^>]*>")
_SKIPPED = re.compile(r"(?:NOTE|STYLE|REGION)(?:[ \t]|$)")


def vtt_text(cues: Sequence[Cue], sample_rate: int) -> str:
    """The cues as WebVTT, each with its number (from 1) as identifier."""
    blocks = ["WEBVTT\n"]
    for n, cue in enumerate(cues, start=1):
        start, end = to_ms(cue.start, sample_rate), to_ms(cue.end, sample_rate)
        text = [html.escape(line, quote=False) for line in cue.lines if line.strip()]
        blocks.append("\n".join([str(n), f"{clock(start)} --> {clock(end)}", *text, ""]))
    return "\n".join(blocks)


def parse_vtt(content: str) -> list[Cue]:
    """Cues from WebVTT text, in file order, times in milliseconds (sample rate 1000).

    Raises ``ValueError`` naming the first line that is not WebVTT.
    """
    lines = content.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if not _HEADER.fullmatch(lines[0]):
        raise ValueError("not a WebVTT file (the first line is not 'WEBVTT')")
    cues = []
    for number, block in _blocks(lines):
        if number == 1 or (_SKIPPED.match(block[0]) and "-->" not in block[0]):
            for offset, line in enumerate(block):
                if "-->" in line:
                    raise ValueError(f"line {number + offset}: a cue must follow a blank line")
            continue
        at = 0 if "-->" in block[0] else 1  # a first line without --> is the cue identifier
        if at >= len(block) or "-->" not in block[at]:
            raise ValueError(f"line {number}: a block without a cue timing: {block[0][:40]!r}")
        match = _TIMING.fullmatch(block[at])
        if not match:
            raise ValueError(f"line {number + at}: not a WebVTT cue timing: {block[at][:40]!r}")
        text = tuple(html.unescape(_TAG.sub("", line)) for line in block[at + 1 :])
        cues.append(
            Cue(_ms(match.groups()[:4]), _ms(match.groups()[4:]), text, text="\n".join(text))
        )
    return cues


def _blocks(lines: list[str]) -> list[tuple[int, list[str]]]:
    """Runs of non-blank lines, each with the 1-based number of its first line."""
    blocks: list[tuple[int, list[str]]] = []
    current: list[str] = []
    for number, line in enumerate(lines, start=1):
        if line.strip():  # lines of only spaces separate blocks too
            if not current:
                blocks.append((number, current))
            current.append(line)
        else:
            current = []
    return blocks


def _ms(parts: Sequence[str | None]) -> int:
    hours, minutes, seconds, ms = (int(part or 0) for part in parts)
    return ((hours * 60 + minutes) * 60 + seconds) * 1000 + ms
