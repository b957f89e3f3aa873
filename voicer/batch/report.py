"""The report of a batch: how each script went, as JSON and as a table, and one summary line.

``write_report`` puts both into OUT: ``report.json`` (a list with one object per script, in
the batch's order) and ``report.txt`` (the table, then the summary line).
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from voicer import files, pipeline, reporting

STATUSES = ("ok", "failed", "skipped")
REPORT_JSON = "report.json"
REPORT_TEXT = "report.txt"
REPORT_NAMES = (REPORT_JSON, REPORT_TEXT)
HEADER = ("script", "status", "audio", "cues", "loudness", "time", "error")  # table columns
ERROR_COLUMNS = 60  # an error longer than this is cut in the table (never in the JSON)


@dataclass(frozen=True)
class Outcome:
    """How one script went: ``ok`` (its outputs written), ``failed`` (``error`` says why) or
    ``skipped`` (its outputs were up to date); what it made, the clips the engine made and
    those the cache had, and the wall time spent."""

    script: Path
    status: str
    outputs: tuple[Path, ...] = ()
    error: str | None = None
    audio_seconds: float | None = None
    cues: int | None = None
    loudness: float | None = None  # integrated, LUFS
    seconds: float = 0.0
    synthesised: int = 0
    cached: int = 0

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}, not {self.status!r}")

    @classmethod
    def delivered(cls, script: Path, result: pipeline.RenderResult) -> Outcome:
        """A script rendered: what its render made."""
        return cls(
            script=script,
            status="ok",
            outputs=tuple(result.outputs.all()),
            audio_seconds=result.duration,
            cues=len(result.cues),
            loudness=result.loudness.integrated if result.loudness else None,
            seconds=result.total_seconds,
            synthesised=result.counts.synthesised,
            cached=result.counts.cached,
        )


def report_json(outcomes: Sequence[Outcome], out_folder: Path) -> str:
    """The outcomes as a JSON list, one object per script. Paths are kept as given (relative
    to the current directory when they were given so), not made relative to ``out_folder``,
    the folder the report is written to.

    >>> print(report_json([Outcome(Path("a.txt"), "skipped")], Path("out")))
    [
      {
        "script": "a.txt",
        "status": "skipped",
        "outputs": [],
        "error": null,
        "audio_seconds": null,
        "cues": null,
        "loudness": null,
        "seconds": 0.0,
        "synthesised": 0,
        "cached": 0
      }
    ]
    """
    return json.dumps([_as_json(outcome) for outcome in outcomes], ensure_ascii=False, indent=2)


def _as_json(outcome: Outcome) -> dict[str, object]:
    return {
        "script": str(outcome.script),
        "status": outcome.status,
        "outputs": [str(path) for path in outcome.outputs],
        "error": outcome.error,
        "audio_seconds": _rounded(outcome.audio_seconds, 3),
        "cues": outcome.cues,
        "loudness": _rounded(outcome.loudness, 2),
        "seconds": round(outcome.seconds, 3),
        "synthesised": outcome.synthesised,
        "cached": outcome.cached,
    }


def _rounded(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def report_table(outcomes: Sequence[Outcome]) -> str:
    """A table, one line per script: the script, its status, the audio's length, cues,
    integrated loudness, the time it took, and the error (cut to ``ERROR_COLUMNS``); columns
    line up in a terminal, Chinese characters counted as two columns.

    >>> print(report_table([
    ...     Outcome(Path("开幕词.txt"), "ok", (), None, 75.25, 31, -16.04, 12.3),
    ...     Outcome(Path("b.md"), "failed", error="b.md:3:5: placeholder '*' left"),
    ... ]))
    script      status   audio  cues    loudness    time  error
    开幕词.txt  ok      1:15.2    31  -16.0 LUFS  12.3 s
    b.md        failed       -     -           -   0.0 s  b.md:3:5: placeholder '*' left
    """
    rows = [HEADER, *(_row(outcome) for outcome in outcomes)]
    widths = [max(columns(row[i]) for row in rows) for i in range(len(HEADER) - 1)]
    right = (False, False, True, True, True, True)
    lines = []
    for row in rows:
        cells = [
            _padded(cell, width, align)
            for cell, width, align in zip(row, widths, right, strict=False)
        ]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
    return "\n".join(lines)


def _row(outcome: Outcome) -> tuple[str, ...]:
    return (
        str(outcome.script),
        outcome.status,
        "-" if outcome.audio_seconds is None else reporting.clock(outcome.audio_seconds),
        "-" if outcome.cues is None else str(outcome.cues),
        "-" if outcome.loudness is None else f"{outcome.loudness:.1f} LUFS",
        f"{outcome.seconds:.1f} s",
        cut(" ".join((outcome.error or "").split()), ERROR_COLUMNS),
    )


def is_batch_report(path: Path) -> bool:
    """Whether ``path`` is a ``report.txt`` a batch wrote (its table's header first), not a
    script of that name."""
    if path.name != REPORT_TEXT:
        return False
    try:
        with path.open("rb") as file:
            first = file.readline(200).decode("utf-8", errors="replace")
    except OSError:
        return False
    return tuple(first.split()) == HEADER


def columns(text: str) -> int:
    """Terminal columns ``text`` takes: two for a wide (Chinese) character, none for a
    combining mark, one otherwise (``…`` and other ambiguous widths too, as most terminals).

    >>> columns("abc"), columns("开幕词.txt"), columns("，…")
    (3, 10, 3)
    """
    return sum(_width(c) for c in text)


def _width(c: str) -> int:
    if unicodedata.combining(c):
        return 0
    return 2 if unicodedata.east_asian_width(c) in ("W", "F") else 1


def _padded(text: str, width: int, right: bool) -> str:
    padding = " " * (width - columns(text))
    return padding + text if right else text + padding


def cut(text: str, width: int) -> str:
    """``text`` in at most ``width`` columns, ``…`` at the end where cut.

    >>> cut("abcdef", 4), cut("abc", 4), cut("一二三四", 5)
    ('abc…', 'abc', '一二…')
    """
    if columns(text) <= width:
        return text
    kept = ""
    for c in text:
        if columns(kept + c) > width - 1:
            break
        kept += c
    return kept + "…"


def summary_line(outcomes: Sequence[Outcome], wall_seconds: float) -> str:
    """One line for the whole batch: scripts by status, the audio delivered, the wall time.

    >>> done = [Outcome(Path("a.txt"), "ok", audio_seconds=5025.6), Outcome(Path("b"), "failed")]
    >>> for part in summary_line(done, 612.34).split("; "):
    ...     print(part)
    2 scripts: 1 delivered, 1 failed, 0 skipped
    1:23:45.6 of audio in 612.3 s (8.2 audio-seconds per second)
    """
    counts = {status: sum(o.status == status for o in outcomes) for status in STATUSES}
    audio = sum(o.audio_seconds or 0.0 for o in outcomes if o.status == "ok")
    line = (
        f"{pipeline.counted(len(outcomes), 'script')}: {counts['ok']} delivered, "
        f"{counts['failed']} failed, {counts['skipped']} skipped; "
        f"{long_clock(audio)} of audio in {wall_seconds:.1f} s"
    )
    if wall_seconds > 0:
        line += f" ({audio / wall_seconds:.1f} audio-seconds per second)"
    return line


def long_clock(seconds: float) -> str:
    """Hours, minutes and seconds from an hour on; minutes and seconds below.

    >>> long_clock(75.25), long_clock(5025.6)
    ('1:15.2', '1:23:45.6')
    """
    seconds = round(seconds, 1)  # 3599.96 s is 1:00:00.0, not 59:60.0
    if seconds < 3600:
        return reporting.clock(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, rest = divmod(rest, 60)
    return f"{int(hours)}:{int(minutes):02d}:{rest:04.1f}"


def write_report(outcomes: Sequence[Outcome], out: Path, wall_seconds: float) -> None:
    """Write ``out/report.json`` and ``out/report.txt`` (the table and the summary line),
    each replaced in one step; an OutputError when one cannot be written."""
    text = f"{report_table(outcomes)}\n\n{summary_line(outcomes, wall_seconds)}\n"
    for name, content in ((REPORT_JSON, report_json(outcomes, out) + "\n"), (REPORT_TEXT, text)):
        files.write_atomically(out / name, content)
