"""Kokoro's English phonemes, word by word, from espeak-ng (the optional extra voicer[english]).

misaki's full English G2P needs a spaCy model that is not on PyPI and would be downloaded at run
time, so voicer uses what misaki itself falls back to: espeak-ng (bundled by the PyPI package
espeakng-loader, GPL-3.0, through phonemizer-fork), with misaki's map from espeak's IPA to the
phonemes Kokoro was trained on. A sentence is phonemized whole (so short words get their weak
forms) and cut at espeak's word boundaries; when espeak joins or splits words differently from
the text, each word is phonemized on its own instead.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import re
import threading
from functools import cache
from typing import Any

from voicer.synthesis.engines.kokoro_words import Word

# The accent of a Kokoro voice, by the first letter of its name (af_heart: American English).
ACCENTS = {"a": "en-us", "b": "en-gb"}
EXTRA = "voicer[english]"  # the optional extra that brings espeak-ng
INSTALL = f"pip install '{EXTRA}'"
MISSING = (
    f"the offline English voices need espeak-ng, an optional part of voicer (GPL-3.0): {INSTALL}"
)
_WORD = re.compile(r"\S+")
_PUNCTUATION = ',.!?;:—…"“”()'
# What espeak is told is punctuation (kept in its output, as pauses): phonemizer's list, but a
# point or comma between digits belongs to the number.
_PAUSES = re.compile(r"(?<!\d)[.,]|[.,](?!\d)|[;:!?¡¿—…\"«»“”(){}\[\]]")
_LOCK = threading.Lock()  # one espeak-ng instance per process, not known to be thread-safe


def accent(voice: str) -> str | None:
    """The espeak-ng language of an English Kokoro voice ("en-us", "en-gb"), else None."""
    if len(voice) > 3 and voice[1] in "fm" and voice[2] == "_":
        return ACCENTS.get(voice[0])
    return None


def available() -> bool:
    """Whether the optional English part (espeak-ng and phonemizer) is installed."""
    return all(importlib.util.find_spec(name) for name in ("espeakng_loader", "phonemizer"))


def words(text: str, language: str) -> list[Word]:
    """``text`` as Kokoro phonemes, cut into its words (``Word.text`` as written) and what lies
    between them (``Word("", ...)``: spaces and punctuation, which the model hears as pauses).

    >>> [w.text for w in words("Well, hello there!", "en-us") if w.text]
    ['Well', 'hello', 'there']
    """
    spoken = [(match.group(), _clean(match.group())) for match in _WORD.finditer(text)]
    spoken_words = [word for _, word in spoken if word]
    if not spoken_words:
        return []
    with _LOCK:
        backend = _backend(language)
        whole = backend.phonemize([text], strip=True)[0].split()
        alone = backend.phonemize(spoken_words, strip=True)
    british = language == "en-gb"
    by_word = _cut(whole, [len(_core_chunks(p.split())) for p in alone])
    if by_word is None:  # espeak read the sentence with other word boundaries
        by_word = [(_core(p), _trailing(token)) for p, (token, _) in _spoken(alone, spoken)]
    found: list[Word] = []
    for word, (phonemes, after) in zip(spoken_words, by_word, strict=True):
        if found:
            found.append(Word("", " "))
        found.append(Word(word, _to_misaki(phonemes, british)))
        if after:
            found.append(Word("", after))
    return found


@cache
def _backend(language: str) -> Any:
    """espeak-ng for ``language``, as misaki's fallback sets it up, except that a point or
    comma inside a number (2,500 or 3.5) is read as part of it, not as a pause."""
    loader = importlib.import_module("espeakng_loader")
    wrapper = importlib.import_module("phonemizer.backend.espeak.wrapper").EspeakWrapper
    wrapper.set_library(loader.get_library_path())
    wrapper.set_data_path(loader.get_data_path())
    return importlib.import_module("phonemizer.backend").EspeakBackend(
        language,
        preserve_punctuation=True,
        with_stress=True,
        tie="^",
        punctuation_marks=_PAUSES,
        logger=_quiet_logger(),
    )


def _quiet_logger() -> logging.Logger:
    """phonemizer's warnings (e.g. "words count mismatch") are about its own bookkeeping,
    not the user's text: they stay out of the user's terminal."""
    logger = logging.getLogger("voicer.espeak")
    logger.setLevel(logging.ERROR)
    return logger


def _clean(token: str) -> str:
    """A token of the text without punctuation at its ends; "" when nothing is left to say."""
    word = token.strip(_PUNCTUATION + "'‘’-")
    return word if any(char.isalnum() for char in word) else ""


def _is_punctuation(chunk: str) -> bool:
    return all(char in _PUNCTUATION for char in chunk)


def _core_chunks(chunks: list[str]) -> list[str]:
    return [chunk for chunk in chunks if not _is_punctuation(chunk)]


def _core(phonemes: str) -> str:
    """Phonemes without the punctuation espeak keeps at their ends."""
    return " ".join(_core_chunks(phonemes.split())).strip(_PUNCTUATION)


def _trailing(token: str) -> str:
    """The punctuation that ends a token of the text (a pause for the model)."""
    end = len(token)
    while end and token[end - 1] in _PUNCTUATION:
        end -= 1
    return token[end:]


def _cut(chunks: list[str], counts: list[int]) -> list[tuple[str, str]] | None:
    """The sentence's chunks (espeak's words) dealt out to the text's words, ``counts[i]`` to
    word ``i``: each word's phonemes and the punctuation after it; None if they do not add up."""
    if sum(counts) != len(_core_chunks(chunks)) or 0 in counts:
        return None
    dealt: list[tuple[str, str]] = []
    at = 0
    for count in counts:
        taken: list[str] = []
        after = ""
        while len(taken) < count or (at < len(chunks) and _is_punctuation(chunks[at])):
            chunk = chunks[at]
            at += 1
            if _is_punctuation(chunk):
                after += chunk
                continue
            taken.append(chunk)
        last = taken[-1]
        stripped = last.rstrip(_PUNCTUATION)
        after = last[len(stripped) :] + after
        taken[-1] = stripped
        dealt.append((" ".join(taken).lstrip(_PUNCTUATION), after))
    return dealt


def _spoken(alone: list[str], spoken: list[tuple[str, str]]) -> list[tuple[str, tuple[str, str]]]:
    """Each word's own phonemes beside its token of the text."""
    return list(zip(alone, [pair for pair in spoken if pair[1]], strict=True))


def _to_misaki(phonemes: str, british: bool) -> str:
    """espeak-ng's IPA (ties as ``^``) in the phoneme set Kokoro was trained on: misaki's
    ``EspeakFallback`` mapping, for Kokoro v1.0."""
    from misaki.espeak import EspeakFallback

    for old, new in EspeakFallback.E2M:
        phonemes = phonemes.replace(old, new)
    phonemes = re.sub(r"(\S)\u0329", r"ᵊ\1", phonemes).replace(chr(809), "")
    if british:
        phonemes = phonemes.replace("e^ə", "ɛː").replace("iə", "ɪə").replace("ə^ʊ", "Q")
    else:
        phonemes = phonemes.replace("o^ʊ", "O").replace("ɜːɹ", "ɜɹ").replace("ɜː", "ɜɹ")
        phonemes = phonemes.replace("ɪə", "iə").replace("ː", "")
    phonemes = phonemes.replace("o", "ɔ").replace("ɾ", "T").replace("ʔ", "t")
    return phonemes.replace("^", "")
