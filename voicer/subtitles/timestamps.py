"""Sample positions to the millisecond times subtitle files carry."""

from __future__ import annotations

from datetime import timedelta


def to_ms(sample: int, sample_rate: int) -> int:
    """A sample position rounded to the nearest millisecond (half up: exact in integers).

    >>> to_ms(36, 24000), to_ms(12, 24000), to_ms(11, 24000)
    (2, 1, 0)
    """
    return (sample * 1000 * 2 + sample_rate) // (2 * sample_rate)


def from_ms(ms: int, sample_rate: int) -> int:
    """The first sample at or after ``ms`` milliseconds.

    >>> from_ms(2, 24000), from_ms(1, 44100)
    (48, 45)
    """
    return -(-ms * sample_rate // 1000)


def to_timedelta(sample: int, sample_rate: int) -> timedelta:
    """A sample position rounded to the nearest millisecond (SRT's resolution).

    >>> to_timedelta(36, 24000)
    datetime.timedelta(microseconds=2000)
    """
    return timedelta(milliseconds=to_ms(sample, sample_rate))


def clock(ms: int) -> str:
    """``HH:MM:SS.mmm``, WebVTT's way (hours grow past two digits when they must).

    >>> clock(3_723_004)
    '01:02:03.004'
    """
    seconds, ms = divmod(ms, 1000)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}.{ms:03d}"
