"""The studio's changes to a script and a lexicon, as text: pure functions, no I/O.

A sentence's own settings live in the markup right around it on its line: ``[voice ...]`` and
``[rate ...]`` just before it, ``[pause ...]`` just after it (see ``script.markup``). A change
rewrites only that markup, and the sentence's text where the file holds it as shown.

>>> line = "一。[voice A]二。三。"
>>> second = Place(line=1, column=12, shown="二。")
>>> own_settings(line, second)
{'voice': 'A'}
>>> changed(line, second, {"rate": 10, "pause": 800})
'一。[voice A][rate +10%]二。[pause 800ms]三。'
>>> changed(line, second, {"voice": None, "text": "二！"})
'一。二！三。'
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from voicer.errors import InputError
from voicer.script.markup import MAX_PAUSE
from voicer.script.reading import normalise
from voicer.script.sentences import is_speakable

BEFORE = ("voice", "rate")  # settings written before the sentence; a pause goes after it
_TOKEN = re.compile(r"\[\[|\[([^\]]*)\]")
_SPACES = " \t\u3000"
MAX_PAUSE_MS = round(MAX_PAUSE * 1000)
VOICE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")
_ARGUMENT = re.compile(r"[^\[\]\s]{1,100}")  # a setting as written in markup: "1.5s", "+10%"
# what a line of a script cannot hold as the reader shows it: control characters (tab aside,
# which reads as a space), line and paragraph separators, and lone surrogates (not Unicode)
_UNWRITABLE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")

Setting = str | int | None


@dataclass(frozen=True)
class Place:
    """Where a sentence starts in a script (1-based line and column) and its text as shown."""

    line: int
    column: int
    shown: str


def own_settings(content: str, place: Place) -> dict[str, str]:
    """The voice, rate and pause markup right around the sentence at ``place``, as written
    (``{"voice": "A", "rate": "+10%", "pause": "800ms"}``, each only when present)."""
    start, end = _span(content, place)
    found: dict[str, str] = {}
    for (begin, stop), keywords in (
        (_run_before(content, start), BEFORE),
        (_run_after(content, end), ("pause",)),
    ):
        for keyword, argument in _tokens(content[begin:stop]):
            if keyword in keywords:
                found[keyword] = argument
    return found


def changed(content: str, place: Place, change: Mapping[str, Setting]) -> str:
    """``content`` with the sentence at ``place`` changed: ``text`` replaces its text; ``voice``,
    ``rate`` (percent) and ``pause`` (ms) replace its own markup, None removing it."""
    start, end = _span(content, place)
    head, tail = _run_before(content, start), _run_after(content, end)
    pieces = {
        head: _rewritten(content[slice(*head)], change, BEFORE),
        tail: _rewritten(content[slice(*tail)], change, ("pause",)),
    }
    if "text" in change:
        pieces[(start, end)] = new_text(str(change["text"]), place.line)
    for (begin, stop), text in sorted(pieces.items(), reverse=True):
        content = content[:begin] + text + content[stop:]
    return content


def with_setting_before(content: str, place: Place, keyword: str, value: str) -> str:
    """``content`` with ``[keyword value]`` written right before the sentence at ``place``
    (its text need not be as shown), unless one is there already."""
    start = offset_of(content, place)
    begin, _ = _run_before(content, start)
    if any(found == keyword for found, _ in _tokens(content[begin:start])):
        return content
    return content[:start] + markup_for(keyword, value) + content[start:]


def markup_for(keyword: str, value: Setting) -> str:
    """The markup that sets ``keyword`` to ``value``: a number is checked (an InputError
    when out of range), a string is written as the markup's argument.

    >>> markup_for("rate", -5), markup_for("pause", 1500), markup_for("voice", "zm_yunxi")
    ('[rate -5%]', '[pause 1500ms]', '[voice zm_yunxi]')
    >>> markup_for("pause", "1.5s")
    '[pause 1.5s]'
    >>> markup_for("voice", "x]spoken[#")
    Traceback (most recent call last):
    voicer.errors.InputError: voice: a voice name is letters, digits, '-', '_' and '.'
    """
    if keyword == "voice":
        if not isinstance(value, str) or not VOICE_NAME.fullmatch(value):
            raise InputError("voice: a voice name is letters, digits, '-', '_' and '.'")
        return f"[voice {value}]"
    if isinstance(value, str):
        if not _ARGUMENT.fullmatch(value):
            raise InputError(f"{keyword}: no spaces or square brackets in a setting")
        return f"[{keyword} {value}]"
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(f"{keyword}: give a whole number")
    if keyword == "rate":
        if not -50 <= value <= 100:
            raise InputError("rate: from -50 to +100 (%)")
        return f"[rate {value:+d}%]"
    if not 0 < value <= MAX_PAUSE_MS:
        raise InputError(f"pause: from 1 to {MAX_PAUSE_MS} ms")
    return f"[pause {value}ms]"


def with_reading(content: str, written: str, spoken: str) -> str:
    """A TSV lexicon's text with ``written`` said as ``spoken`` (an empty ``spoken`` removes
    the entry); other lines as they were.

    >>> with_reading("# names\\nAI\\tA I\\n", "重庆", "chong2 qing4")
    '# names\\nAI\\tA I\\n重庆\\tchong2 qing4\\n'
    >>> with_reading("AI\\tA I\\n重庆\\tx\\n", "AI", "")
    '重庆\\tx\\n'
    """
    written, spoken = written.strip(), spoken.strip()
    if not written or "\t" in written + spoken or _UNWRITABLE.search(written + spoken):
        raise InputError("a reading is one line: the written form and how to say it")
    lines = [
        line
        for line in content.splitlines()
        if line.split("\t", 1)[0].strip() != written or line.lstrip().startswith("#")
    ]
    if spoken:
        lines.append(f"{written}\t{spoken}")
    return "".join(line + "\n" for line in lines)


def new_text(text: str, line: int) -> str:
    """A re-take's text for line ``line`` as the file will hold it: as the reader shows it
    (every kind of space a plain one, zero-width characters dropped), so that the page can
    find it again. An InputError when it is not one line of speakable text without markup
    (``[[`` is a literal ``[``; voice, rate and pause have their own settings).

    >>> new_text("\\u3000同志们\\t好\\u200b。", 3)
    '同志们 好。'
    >>> new_text("[pause 1s]", 3)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    voicer.errors.InputError: line 3: the new text holds markup: write [[ for a literal [ ...
    """
    unwritable = _UNWRITABLE.search(text)
    if unwritable:
        raise InputError(
            f"line {line}: the new text must be one line, without control characters "
            f"(it holds U+{ord(unwritable.group()):04X})"
        )
    text = normalise(text).strip()
    if not text:
        raise InputError(f"line {line}: the new text must be one non-empty line")
    if "[" in text.replace("[[", ""):
        raise InputError(
            f"line {line}: the new text holds markup: write [[ for a literal [ "
            "(voice, rate and pause have their own settings)"
        )
    if not is_speakable(shown_of(text)):
        raise InputError(f"line {line}: the new text has nothing that can be spoken")
    return text


def shown_of(text: str) -> str:
    """A text checked by :func:`new_text` as the page shows it: ``[[`` is a ``[``."""
    return text.replace("[[", "[")


def offset_of(content: str, place: Place) -> int:
    """Where the sentence at ``place`` starts in ``content``; an InputError when the file no
    longer has that line and column."""
    lines = content.split("\n")
    if not 0 < place.line <= len(lines) or place.column - 1 > len(lines[place.line - 1]):
        raise InputError(f"line {place.line}: the file no longer has this sentence there")
    start = sum(len(line) + 1 for line in lines[: place.line - 1]) + place.column - 1
    if place.line == 1 and content.startswith("\ufeff"):
        start += 1  # the reader leaves the byte-order mark out of the first line's columns
    return start


def _span(content: str, place: Place) -> tuple[int, int]:
    """Where the sentence's text lies in ``content``; an InputError when the file does not
    hold it there as shown (markup or placeholders inside it)."""
    start = offset_of(content, place)
    end = _end_as_shown(content, start, place.shown)
    if end is None:
        raise InputError(
            f"line {place.line}: this sentence is not written in the file as shown "
            "(markup or placeholders in it): edit it in the file"
        )
    return start, end


def _end_as_shown(content: str, start: int, shown: str) -> int | None:
    """Where ``shown`` ends in ``content`` if the text from ``start`` reads as it: ``[[`` for
    each ``[``, any kind of space for a space (the reader's :func:`normalise`)."""
    at = start
    for char in shown:
        if char == "[" and content.startswith("[[", at):
            at += 2
        elif at < len(content) and char != "[" and normalise(content[at]) == char:
            at += 1
        else:
            return None
    return at


def _markup_spans(content: str, at: int) -> list[tuple[int, int]]:
    """The spans of the markup tokens on the line around offset ``at``."""
    begin = content.rfind("\n", 0, at) + 1
    stop = content.find("\n", at)
    stop = len(content) if stop < 0 else stop
    return [m.span() for m in _TOKEN.finditer(content, begin, stop) if m.group(1) is not None]


def _run_before(content: str, start: int) -> tuple[int, int]:
    """The markup (and spaces between it) that ends right at ``start``: (start, start) if none."""
    spans = _markup_spans(content, start)
    begin = start
    for token_start, token_end in reversed(spans):
        if token_end <= begin and not content[token_end:begin].strip(_SPACES):
            begin = token_start
    return begin, start


def _run_after(content: str, end: int) -> tuple[int, int]:
    """The markup (and spaces between it) that starts right at ``end``: (end, end) if none."""
    spans = _markup_spans(content, end)
    stop = end
    for token_start, token_end in spans:
        if token_start >= stop and not content[stop:token_start].strip(_SPACES):
            stop = token_end
    return end, stop


def _tokens(run: str) -> list[tuple[str, str]]:
    """(keyword, argument) of each markup token in ``run``, keyword lower-cased."""
    found = []
    for match in _TOKEN.finditer(run):
        if match.group(1) is not None:
            keyword, _, argument = match.group(1).strip().partition(" ")
            found.append((keyword.lower(), argument.strip()))
    return found


def _rewritten(run: str, change: Mapping[str, Setting], keywords: tuple[str, ...]) -> str:
    """``run`` with the markup for each changed keyword replaced (or removed, for None)."""
    touched = [keyword for keyword in keywords if keyword in change]
    if not touched:
        return run
    kept = [
        match.group()
        for match in _TOKEN.finditer(run)
        if match.group(1) is not None and _keyword(match.group(1)) not in touched
    ]
    added = [markup_for(k, change[k]) for k in touched if change[k] is not None]
    return "".join(added + kept if keywords == ("pause",) else kept + added)


def _keyword(content: str) -> str:
    return content.strip().partition(" ")[0].lower()
