"""Parsing rate, volume and pitch in edge-tts's syntax (``+10%``, ``-5%``, ``+2Hz``)."""

from __future__ import annotations

import re

from voicer.errors import InputError
from voicer.model import Prosody

_PERCENT = re.compile(r"^\s*([+-]?)(\d{1,3})\s*%?\s*$")
_HERTZ = re.compile(r"^\s*([+-]?)(\d{1,4})\s*(?:hz)?\s*$", re.IGNORECASE)


def _signed(match: re.Match[str]) -> int:
    sign, digits = match.groups()
    return -int(digits) if sign == "-" else int(digits)


def parse_percent(value: str, what: str, low: int = -100, high: int = 200) -> int:
    """``"+10%"``, ``"10%"`` or ``"10"`` -> 10; anything else is an InputError, its ``reason``
    saying what is wrong with the value.

    >>> parse_percent("-5%", "rate")
    -5
    >>> parse_percent("12", "volume")
    12
    """
    match = _PERCENT.match(value)
    if not match:
        reason = "expected a percentage such as +10% or -5%"
    elif not low <= _signed(match) <= high:
        reason = f"must be between {low:+d}% and {high:+d}%"
    else:
        return _signed(match)
    raise InputError(reason).within(f"invalid {what} {value!r}")


def parse_pitch(value: str) -> int:
    """``"+2Hz"``, ``"2Hz"`` or ``"-3"`` -> Hz as an int.

    >>> parse_pitch("+2Hz")
    2
    """
    match = _HERTZ.match(value)
    if not match:
        raise InputError(f"invalid pitch {value!r}: expected Hz such as +2Hz or -5Hz")
    number = _signed(match)
    if not -200 <= number <= 200:
        raise InputError(f"invalid pitch {value!r}: must be between -200Hz and +200Hz")
    return number


def parse_prosody(rate: str = "+0%", volume: str = "+0%", pitch: str = "+0Hz") -> Prosody:
    """All three settings at once, validated."""
    return Prosody(
        rate=parse_percent(rate, "rate", -50, 100),
        volume=parse_percent(volume, "volume", -100, 100),
        pitch=parse_pitch(pitch),
    )
