"""The tone engine: tone bursts timed like speech, with a word mark for each, and no model.

For tests and benchmarks (``--engine tone``): it is fast and deterministic, so a render of
thousands of sentences measures voicer itself rather than a speech model. Each word (a run of
Han characters or of letters and digits) becomes a burst lasting about as long as a reader
would take to say it, at a pitch derived from the word.
"""

from __future__ import annotations

import re
import zlib

import numpy as np

from voicer.model import Clip, Mark, Prosody, Voice

SAMPLE_RATE = 24000
HAN_SECONDS = 0.18  # per Han character
LATIN_SECONDS = 0.06  # per letter or digit
GAP_SECONDS = 0.08  # between words
EDGE_SECONDS = 0.1  # silence before the first word and after the last
FADE_SECONDS = 0.005
VOICE = "tone"
LOW_VOICE = "tone-low"  # an octave lower: a second voice, for tests of voice changes

_HAN = "\u3400-\u4dbf\u4e00-\u9fff"
_WORDS = re.compile(f"[{_HAN}]{{1,2}}|[^\\W{_HAN}_]+")


class ToneEngine:
    """Synthetic speech for tests and benchmarks."""

    name = "tone"
    word_marks = True
    takes_pinyin = False
    default_jobs = 2
    cache_version = "tone/1"

    def voices(self) -> list[Voice]:
        return [
            Voice(VOICE, self.name, "und", "Female", "tone bursts timed like speech"),
            Voice(LOW_VOICE, self.name, "und", "Male", "the same an octave lower"),
        ]

    def speaks(self, language: str) -> bool:
        return True

    def ignored_settings(self, prosody: Prosody) -> list[str]:
        return [name for name in ("pitch", "volume") if getattr(prosody, name)]

    def synthesise(self, text: str, voice: str, prosody: Prosody) -> Clip:
        """Bursts for the words of ``text`` (none: a clip of silence)."""
        speed = min(2.0, max(0.5, 1 + prosody.rate / 100))
        pieces = [_samples(EDGE_SECONDS)]
        marks = []
        at = pieces[0].size
        for word in _WORDS.findall(text):
            burst = _burst(word, speed, 0.5 if voice == LOW_VOICE else 1.0)
            marks.append(Mark(at, at + burst.size, word))
            pieces += [burst, _samples(GAP_SECONDS)]
            at += burst.size + pieces[-1].size
        pieces.append(_samples(EDGE_SECONDS))
        return Clip(np.concatenate(pieces), SAMPLE_RATE, tuple(marks))


def _samples(seconds: float) -> np.ndarray:
    return np.zeros(round(seconds * SAMPLE_RATE), np.float32)


def _burst(word: str, speed: float, pitch: float) -> np.ndarray:
    per_character = HAN_SECONDS if re.match(f"[{_HAN}]", word) else LATIN_SECONDS
    length = round(max(0.12, per_character * len(word)) / speed * SAMPLE_RATE)
    frequency = pitch * (150 + zlib.crc32(word.encode("utf-8")) % 250)  # voice-like, per word
    burst = 0.3 * np.sin(2 * np.pi * frequency * np.arange(length) / SAMPLE_RATE)
    fade = min(length // 2, round(FADE_SECONDS * SAMPLE_RATE))
    ramp = np.linspace(0, 1, fade, endpoint=False)
    burst[:fade] *= ramp
    burst[length - fade :] *= ramp[::-1]
    return burst.astype(np.float32)
