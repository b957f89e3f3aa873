"""Checking cues against a subtitle profile: every broken rule as one line a person can act on.

Times are checked as a subtitle file carries them, rounded to the millisecond, so checking
cues before writing and checking the file written from them give the same answer.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from voicer.model import Cue
from voicer.subtitles.profiles import Profile, reading_speed
from voicer.subtitles.timestamps import clock, to_ms

RULES = {
    "empty": "a cue shows some text",
    "lines": "at most max_lines lines",
    "line-length": "no line wider than max_chars",
    "one-line": "one line whenever the text fits on one",
    "punctuation": "zh-netflix: no ，。, no line ending in 、；, no …… or —— into the next cue",
    "order": "cues start in order and end after they start",
    "min-duration": "on screen at least min_duration_ms",
    "max-duration": "on screen at most max_duration_ms",
    "overlap": "a cue ends before the next starts",
    "gap": "at least min_gap_frames between cues",
    "reading-speed": "at most max_cps characters per second (half-width counts 0.5)",
}

NO_PUNCTUATION = "，。"
NOT_AT_LINE_END = "、；"
NOT_BEFORE_CONTINUATION = ("…", "—", "...")


@dataclass(frozen=True)
class Violation:
    """One broken rule: the 1-based cue number, the rule's id (a key of ``RULES``) and a line
    that says what is wrong, e.g. ``cue 12: 18.5 characters on line 1 (max 16)``."""

    cue: int
    rule: str
    message: str

    def __str__(self) -> str:
        return self.message


def violations(
    cues: Sequence[Cue], sample_rate: int, profile: Profile, resolution_ms: int = 1
) -> list[Violation]:
    """Every violation of ``profile`` in ``cues`` (in file order), ordered by cue.

    ``resolution_ms``: the time step of the file the cues were read from (ASS keeps
    centiseconds): durations and gaps within one step of a limit may have been on it before
    rounding, and pass."""
    timed = [
        Cue(to_ms(c.start, sample_rate), to_ms(c.end, sample_rate), c.lines, c.text, c.segment)
        for c in cues
    ]
    found: list[Violation] = []
    for number, cue in enumerate(timed, start=1):
        following = timed[number] if number < len(timed) else None
        found += _text_rules(number, cue, following, profile)
        found += _timing_rules(number, cue, following, profile, resolution_ms)
    return sorted(found, key=lambda violation: violation.cue)


def format_report(violations: Sequence[Violation], path: Path | str) -> str:
    """The violations as lines ``PATH: cue N: ... [rule]`` and a last line that counts them
    (no newline at the end)."""
    if not violations:
        return f"{path}: no violations"
    lines = [f"{path}: {v.message} [{v.rule}]" for v in violations]
    cues = len({v.cue for v in violations})
    by_rule = ", ".join(f"{rule} {n}" for rule, n in Counter(v.rule for v in violations).items())
    lines.append(
        f"{path}: {_plural(len(violations), 'violation')} in {_plural(cues, 'cue')} ({by_rule})"
    )
    return "\n".join(lines)


def _text_rules(number: int, cue: Cue, following: Cue | None, profile: Profile) -> list[Violation]:
    def violation(rule: str, message: str) -> Violation:
        return Violation(number, rule, f"cue {number}: {message}")

    if not any(line.strip() for line in cue.lines):
        return [violation("empty", "no text")]
    found = []
    if len(cue.lines) > profile.max_lines:
        found.append(violation("lines", f"{len(cue.lines)} lines (max {profile.max_lines})"))
    for at, line in enumerate(cue.lines, start=1):
        width = profile.width(line)
        if width > profile.max_chars:
            found.append(
                violation(
                    "line-length",
                    f"{width:g} characters on line {at} (max {profile.max_chars:g})",
                )
            )
    joined = profile.width(" ".join(line.strip() for line in cue.lines))
    if len(cue.lines) > 1 and joined <= profile.max_chars:
        found.append(
            violation(
                "one-line",
                f"{len(cue.lines)} lines that fit on one ({joined:g} characters, "
                f"max {profile.max_chars:g})",
            )
        )
    if profile.style == "zh-netflix":
        found += [violation("punctuation", message) for message in _punctuation(cue, following)]
    speed = reading_speed(cue, 1000)
    if cue.end > cue.start and round(speed, 1) > profile.max_cps:
        found.append(
            violation(
                "reading-speed",
                f"{speed:.1f} characters per second (max {profile.max_cps:g})",
            )
        )
    return found


def _punctuation(cue: Cue, following: Cue | None) -> list[str]:
    found = []
    for at, line in enumerate(cue.lines, start=1):
        for mark in NO_PUNCTUATION:
            if mark in line:
                found.append(f"'{mark}' on line {at} (zh-netflix shows no ，or 。)")
        if line.rstrip().endswith(tuple(NOT_AT_LINE_END)):
            found.append(f"line {at} ends with '{line.rstrip()[-1]}'")
    continues = following is not None and cue.segment >= 0 and following.segment == cue.segment
    last = cue.lines[-1].rstrip()
    if continues and last.endswith(NOT_BEFORE_CONTINUATION):
        found.append("ends with an ellipsis or dash, but the sentence goes on in the next cue")
    return found


def _timing_rules(
    number: int, cue: Cue, following: Cue | None, profile: Profile, resolution_ms: int
) -> list[Violation]:
    """Rules on the times of ``cue`` (in ms) and on how it meets the cue that follows."""
    found = []
    slack = resolution_ms if resolution_ms > 1 else 0
    duration = cue.end - cue.start
    if duration < 0:
        found.append(
            Violation(
                number,
                "order",
                f"cue {number}: ends at {clock(cue.end)}, before it starts ({clock(cue.start)})",
            )
        )
    elif duration + slack < profile.min_duration_ms:
        found.append(
            Violation(
                number,
                "min-duration",
                f"cue {number}: {duration / 1000:.3f} s on screen "
                f"(min {profile.min_duration_ms / 1000:.3f} s)",
            )
        )
    elif duration > profile.max_duration_ms:
        found.append(
            Violation(
                number,
                "max-duration",
                f"cue {number}: {duration / 1000:.3f} s on screen "
                f"(max {profile.max_duration_ms / 1000:.3f} s)",
            )
        )
    if following is None:
        return found
    after = number + 1
    gap = following.start - cue.end
    min_gap = round(profile.min_gap_ms)  # at the millisecond resolution of the file
    if following.start < cue.start:
        found.append(
            Violation(
                after,
                "order",
                f"cue {after}: starts at {clock(following.start)}, "
                f"before cue {number} ({clock(cue.start)})",
            )
        )
    elif gap < 0:
        found.append(
            Violation(
                number,
                "overlap",
                f"cue {number}: overlaps cue {after} by {-gap / 1000:.3f} s",
            )
        )
    elif gap + slack < min_gap:
        found.append(
            Violation(
                number,
                "gap",
                f"cue {number}: {gap / 1000:.3f} s gap before cue {after} "
                f"(min {profile.min_gap_frames} frames, {min_gap / 1000:.3f} s)",
            )
        )
    return found


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"
