"""SubRip (.srt) with the ``srt`` library: numbered from 1, ``HH:MM:SS,mmm``, UTF-8."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import srt

from voicer.model import Cue
from voicer.subtitles.timestamps import to_timedelta

MS = timedelta(milliseconds=1)


def srt_text(cues: Sequence[Cue], sample_rate: int) -> str:
    """The cues as SRT, numbered from 1, times rounded to the nearest millisecond."""
    subtitles = [
        srt.Subtitle(
            index=n,
            start=to_timedelta(cue.start, sample_rate),
            end=to_timedelta(cue.end, sample_rate),
            content="\n".join(cue.lines),
        )
        for n, cue in enumerate(cues, start=1)
    ]
    return srt.compose(subtitles, reindex=False)


def parse_srt(content: str) -> list[Cue]:
    """Cues from SRT text, in file order, times in milliseconds (sample rate 1000).

    Raises ``ValueError`` naming the first line that is not SRT.
    """
    try:
        return [
            Cue(
                start=round(sub.start / MS),
                end=round(sub.end / MS),
                lines=tuple(sub.content.split("\n")) if sub.content else (),
                text=sub.content,
            )
            for sub in srt.parse(content)
        ]
    except srt.SRTParseError as exc:
        line = content.count("\n", 0, exc.expected_start) + 1
        bad = exc.unmatched_content.strip().split("\n")[0][:40]
        raise ValueError(f"line {line}: not valid SRT: {bad!r}") from None
