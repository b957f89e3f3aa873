"""Subtitle profiles: the limits a cue must respect and the punctuation style it follows.

The numbers come from the Netflix Timed Text Style Guide (Simplified Chinese and general) and
GY/T 359-2022; see README, "Subtitles".
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

from voicer.defaults import SUBTITLE_STYLES
from voicer.model import Cue

STYLES = SUBTITLE_STYLES


@dataclass(frozen=True)
class Profile:
    """Limits for cues. Widths count a half-width character as 0.5 when ``half_width_half``."""

    name: str
    max_chars: float = 16  # per line
    max_lines: int = 2
    min_duration_ms: int = 833
    max_duration_ms: int = 7000
    min_gap_frames: int = 2
    close_gap_frames: int = 12  # gaps up to this are closed down to min_gap_frames
    fps: float = 25.0
    max_cps: float = 9.0  # reading speed, characters per second
    max_linger_ms: int = 500  # how long a cue may stay after its last speech
    half_width_half: bool = True
    style: str = "zh-netflix"  # or "plain": punctuation kept as written

    @property
    def min_gap_ms(self) -> float:
        return self.min_gap_frames * 1000 / self.fps

    @property
    def close_gap_ms(self) -> float:
        return self.close_gap_frames * 1000 / self.fps

    def width(self, text: str) -> float:
        """Width of a line of text under this profile.

        >>> PROFILES["zh"].width("增长5.2%"), PROFILES["latin"].width("GDP 5%")
        (4.0, 6)
        """
        if not self.half_width_half:
            return len(text)
        return len(text) - 0.5 * sum(map(is_half_width, text))


@dataclass(frozen=True)
class Limits:
    """A profile's times in samples of one rate, for placing cue ends."""

    min_duration: int
    max_duration: int
    min_gap: int
    close_gap: int
    linger: int

    @classmethod
    def of(cls, profile: Profile, sample_rate: int) -> Limits:
        def samples(milliseconds: float) -> int:
            return round(milliseconds * sample_rate / 1000)

        return cls(
            samples(profile.min_duration_ms),
            samples(profile.max_duration_ms),
            samples(profile.min_gap_ms),
            samples(profile.close_gap_ms),
            samples(profile.max_linger_ms),
        )

    def shown_until(self, start: int, speech_end: int, following: int | None) -> int:
        """Where a cue whose speech runs from ``start`` to ``speech_end`` leaves the screen,
        the next cue starting at ``following``: long enough to read where the next cue and
        the linger allow, a short gap to the next cue closed, never closer to it than the
        minimum gap, and never longer than the maximum unless its speech is.

        >>> limits = Limits(min_duration=800, max_duration=7000, min_gap=80, close_gap=480,
        ...                 linger=500)
        >>> limits.shown_until(0, 300, None), limits.shown_until(0, 600, 1000)
        (800, 920)
        >>> limits.shown_until(0, 300, 320), limits.shown_until(0, 6900, 7300)
        (240, 7000)
        """
        end = max(speech_end, min(start + self.min_duration, speech_end + self.linger))
        if following is not None:
            if following - end <= self.close_gap:
                end = max(end, min(following - self.min_gap, speech_end + self.linger))
            end = min(end, following - self.min_gap)
        end = min(end, max(speech_end, start + self.max_duration))
        return max(end, start + 1)


PROFILES = {
    "zh": Profile(name="zh"),
    "latin": Profile(
        name="latin", max_chars=42, max_cps=20.0, half_width_half=False, style="plain"
    ),
}


@lru_cache(maxsize=8192)  # called for every character of every candidate caption
def is_half_width(c: str) -> bool:
    """True for characters that take half the width of a Han character.

    >>> is_half_width("a"), is_half_width("中"), is_half_width("，"), is_half_width(" ")
    (True, False, False, True)
    """
    return unicodedata.east_asian_width(c) in ("Na", "H", "N")


def reading_units(text: str) -> float:
    """Characters for reading speed, Netflix's way: spaces and punctuation count, half-width
    characters count 0.5.

    >>> reading_units("你好，world")
    5.5
    """
    text = text.replace("\n", "")
    return len(text) - 0.5 * sum(map(is_half_width, text))


def reading_speed(cue: Cue, sample_rate: int) -> float:
    """Characters per second on screen, counted Netflix's way (half-width counts 0.5).

    >>> reading_speed(Cue(0, 2000, ("你好，", "world")), 1000)
    2.75
    """
    units = reading_units("\n".join(cue.lines))
    duration = (cue.end - cue.start) / sample_rate
    if duration <= 0:
        return math.inf if units else 0.0
    return units / duration


def profile_for(
    language: str, style: str | None = None, **overrides: float | int | None
) -> Profile:
    """The default profile for a language, with a style and explicit limits applied.

    >>> profile_for("zh", max_chars=14).max_chars
    14
    """
    base = PROFILES["zh" if language == "zh" else "latin"]
    changes: dict[str, Any] = {key: value for key, value in overrides.items() if value is not None}
    if style is not None:
        changes["style"] = style
    return replace(base, **changes)
