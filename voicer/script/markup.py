"""A small inline markup in ASCII square brackets, for what a plain script cannot say.

edge-tts takes text, not SSML, so pauses, voice and rate changes are written into the script:

=====================  ============================================================
``[pause 1.5s]``       a pause of that length here; ``s`` or ``ms``, more than 0 and at
                       most 60 s (``[pause 800ms]``)
``[voice NAME]``       the sentences from here on are spoken with voice NAME, until the next
                       ``[voice ...]``; ``[voice default]`` returns to the render's voice
``[rate +10%]``        the same for the speaking rate (edge-tts syntax, -50% to +100%);
                       ``[rate default]`` returns to the render's rate
``[# a comment]``      neither spoken nor shown
``行长[hang2 zhang3]``  the Han characters right before it, one per syllable, are said with
                       this pinyin: tone numbers 1 to 5 (5: neutral) or tone marks
                       (``[háng zhǎng]``), ü as ``ü``, ``v`` or ``u:``. The offline engine
                       says exactly that; edge cannot take pinyin and says the text
``[[``                 a literal ``[``
=====================  ============================================================

Rules, decided here once:

- Only ``[`` is special. ``]`` outside markup is an ordinary character (so ``]]`` is two of
  them); text without ``[`` parses to itself with no directives.
- Markup ends at the first ``]`` on the same line: it never spans lines, and a comment cannot
  contain ``]``. Keywords are case-insensitive and spaces inside the brackets are ignored.
- ``[voice ...]`` and ``[rate ...]`` may stand anywhere: at the start of a paragraph or
  sentence they apply to it; inside a sentence they start a new sentence there, as a pause
  does. Voice names are checked only for form (non-empty, no spaces); the engine checks they
  exist.
- A line that holds markup and nothing else but spaces is removed entirely, so it makes no
  paragraph; its directives apply where the next remaining line starts. Every other line, and
  every newline between remaining lines, is kept, so paragraphs stay paragraphs.
- A reading (``[hang2 zhang3]``: nothing but pinyin syllables) reads the characters just
  before it on its line: as many as it has syllables, all of them Han characters, none of
  them read by an earlier reading. It neither breaks the sentence nor counts as markup for a
  line that holds nothing else.
- Anything else in square brackets, a ``[`` with no ``]`` after it on its line, a bad pause
  length, a malformed rate, bad pinyin, or a reading with more syllables than there are Han
  characters right before it is an ``InputError`` whose ``line`` and ``column`` (1-based) are
  those of the ``[`` in the original text; its message starts ``LINE:COLUMN:``.
- ``Marked.origin(offset)`` maps any offset in the clean text back to the original (line,
  column); ``Marked.origin_at(line, column)`` does the same for a line and column counted in
  the clean text (as ``text.segments`` counts them), so sentences can still be reported at the
  author's line and column.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field
from functools import cached_property

from voicer.errors import InputError
from voicer.options import read
from voicer.script.overrides import looks_like_pinyin, parse_pinyin
from voicer.script.pinyin import Override

MAX_PAUSE = 60.0  # seconds
_TOKEN = re.compile(r"\[\[|\[([^\]]*)\]|\[")
_LENGTH = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*(ms|s)", re.IGNORECASE)
_LITERAL = "write [[ for a literal ["
_KNOWN = f"known: pause, voice, rate, #, pinyin after Han characters ({_LITERAL})"
_KEYWORDS = ("pause", "voice", "rate")
_HAN_END = re.compile("[\u4e00-\u9fff]*$")

Value = str | float | None


@dataclass(frozen=True)
class Directive:
    """One pause, voice change or rate change.

    ``value``: pause, seconds as a float; voice and rate, the name or the signed percentage
    (``"+10%"``), None for ``default``. ``line`` and ``column`` locate the markup in the
    original text (1-based); ``offset`` is where it applies in the clean text.
    """

    kind: str  # "pause", "voice" or "rate"
    value: Value
    line: int
    column: int
    offset: int


@dataclass(frozen=True)
class Reading:
    """A pinyin reading written in the script: ``pinyin`` for the clean text's
    ``start:end``, written at ``line`` and ``column`` (of its ``[``) in the original text."""

    start: int
    end: int
    pinyin: tuple[str, ...]
    line: int
    column: int

    @property
    def override(self) -> Override:
        return Override(self.start, self.end, self.pinyin)


@dataclass(frozen=True)
class Marked:
    """The script with all markup removed, the directives and readings it held, and a map
    back.

    ``origins`` holds, for every stretch of the clean text copied verbatim from the original,
    ``(clean offset, original line, original column)`` of its first character, in order
    (none: the text maps to itself).
    """

    text: str
    directives: tuple[Directive, ...] = ()
    origins: tuple[tuple[int, int, int], ...] = field(default=(), repr=False)
    readings: tuple[Reading, ...] = ()

    def origin(self, offset: int) -> tuple[int, int]:
        """The original (line, column), 1-based, of the clean text's character at ``offset``.

        ``offset == len(text)`` (the end) is allowed.

        >>> parse("[# note]\\n[[x] [pause 1s]y").origin(4)
        (2, 16)
        """
        if not 0 <= offset <= len(self.text):
            raise ValueError(f"offset {offset} outside the text (0..{len(self.text)})")
        index = bisect_right(self.origins, offset, key=lambda run: run[0]) - 1
        if index < 0:
            return _line_column(self.text, offset)
        start, line, column = self.origins[index]
        return line, column + offset - start

    def origin_at(self, line: int, column: int) -> tuple[int, int]:
        """The original (line, column) of the clean text's ``line`` and ``column`` (1-based).

        >>> parse("[voice a]\\n一。[# x]二。").origin_at(1, 3)
        (2, 8)
        """
        if not 1 <= line <= len(self._line_starts):
            raise ValueError(f"line {line} outside the text (1..{len(self._line_starts)})")
        return self.origin(self._line_starts[line - 1] + column - 1)

    @cached_property
    def _line_starts(self) -> list[int]:
        return [0] + [i + 1 for i, c in enumerate(self.text) if c == "\n"]


def _line_column(text: str, offset: int) -> tuple[int, int]:
    return text.count("\n", 0, offset) + 1, offset - (text.rfind("\n", 0, offset) + 1) + 1


@dataclass
class _Line:
    """One original line, parsed: its text pieces and its directives."""

    number: int
    length: int
    chunks: list[tuple[int, int, str]] = field(default_factory=list)  # clean pos, column, text
    found: list[tuple[str, Value, int, int]] = field(default_factory=list)  # kind, value, col, pos
    readings: list[tuple[int, tuple[str, ...], int]] = field(default_factory=list)  # end, .., col
    markup: bool = False

    @property
    def clean(self) -> str:
        return "".join(text for _, _, text in self.chunks)

    def add_text(self, column: int, text: str) -> None:
        if text:
            self.chunks.append((len(self.clean), column, text))


def parse(text: str) -> Marked:
    """Take the markup out of ``text`` (rules in the module docstring).

    >>> marked = parse("[voice zh-CN-YunxiNeural]\\n同志们：[pause 1.5s]大家好！[# 鼓掌]")
    >>> marked.text
    '同志们：大家好！'
    >>> [(d.kind, d.value, d.line, d.column, d.offset) for d in marked.directives]
    [('voice', 'zh-CN-YunxiNeural', 1, 1, 0), ('pause', 1.5, 2, 5, 4)]
    >>> parse("银行行长[háng zhǎng]讲话。").readings
    (Reading(start=2, end=4, pinyin=('hang2', 'zhang3'), line=1, column=5),)
    """
    builder = _Builder()
    for number, raw in enumerate(text.split("\n"), start=1):
        builder.add(_parse_line(number, raw))
    return builder.result()


class _Builder:
    """Joins parsed lines into the clean text, its directives and its map back."""

    def __init__(self) -> None:
        self.kept: list[str] = []
        self.size = 0  # length of the clean text so far
        self.last: _Line | None = None  # the last line kept
        self.origins: list[tuple[int, int, int]] = []
        self.directives: list[Directive] = []
        self.readings: list[Reading] = []
        self.pending: list[tuple[str, Value, int, int]] = []  # from removed lines: kind .. column

    def add(self, line: _Line) -> None:
        if line.markup and not line.clean.strip():
            self.pending += [(kind, value, line.number, col) for kind, value, col, _ in line.found]
            return
        if self.last is not None:
            self._run(self.last.number, self.last.length + 1)  # the newline ending the last line
            self.size += 1
        self._settle()
        for kind, value, column, pos in line.found:
            self.directives.append(Directive(kind, value, line.number, column, self.size + pos))
        for end, syllables, column in line.readings:
            at = self.size + end
            self.readings.append(Reading(at - len(syllables), at, syllables, line.number, column))
        start = self.size
        if not line.chunks:
            self._run(line.number, 1)  # an empty line still has a place
        for pos, column, _ in line.chunks:
            self.size = start + pos
            self._run(line.number, column)
        self.size = start + len(line.clean)
        self.kept.append(line.clean)
        self.last = line

    def result(self) -> Marked:
        self._settle()
        text = "\n".join(self.kept)
        return Marked(text, tuple(self.directives), tuple(self.origins), tuple(self.readings))

    def _settle(self) -> None:
        """Directives of removed lines apply where the clean text stands now."""
        for kind, value, number, column in self.pending:
            self.directives.append(Directive(kind, value, number, column, self.size))
        self.pending.clear()

    def _run(self, line: int, column: int) -> None:
        """Record that the clean text at ``self.size`` comes from (line, column)."""
        if self.origins:
            start, last_line, last_column = self.origins[-1]
            if last_line == line and last_column + self.size - start == column:
                return  # continues the previous run
        self.origins.append((self.size, line, column))


def _parse_line(number: int, raw: str) -> _Line:
    line = _Line(number, len(raw))
    done = 0
    for match in _TOKEN.finditer(raw):
        line.add_text(done + 1, raw[done : match.start()])
        column = match.start() + 1
        done = match.end()
        if match.group() == "[[":
            line.add_text(column, "[")
            continue
        where = _Where(number, column)
        if match.group(1) is None:
            raise where.error(f"unclosed [ (markup ends with ] on its line; {_LITERAL})")
        syllables = _reading(match.group(1), where)
        if syllables is not None:
            read = line.readings[-1][0] if line.readings else 0
            _check_read(line.clean[read:], syllables, where, match.group())
            line.readings.append((len(line.clean), syllables, column))
            continue
        line.markup = True
        directive = _directive(match.group(1), where)
        if directive is not None:
            line.found.append((*directive, column, len(line.clean)))
    line.add_text(done + 1, raw[done:])
    return line


@dataclass(frozen=True)
class _Where:
    """The line and column of the markup being read, for the errors it may raise."""

    line: int
    column: int

    def error(self, reason: str) -> InputError:
        return InputError(reason, line=self.line, column=self.column)


def _reading(content: str, where: _Where) -> tuple[str, ...] | None:
    """The syllables of the markup ``[content]`` when it is a reading; else None."""
    if content.lstrip().startswith("#") or content.split(" ", 1)[0].lower() in _KEYWORDS:
        return None
    try:
        return parse_pinyin(content)
    except ValueError as error:
        if looks_like_pinyin(content):
            raise where.error(
                f"unknown markup [{content}], not pinyin: {error}; {_KNOWN}"
            ) from None
        return None


def _check_read(before: str, syllables: tuple[str, ...], where: _Where, shown: str) -> None:
    """An InputError unless ``before`` (the line so far, after any reading already given)
    ends with a Han character for each syllable."""
    count = len(syllables)
    han = len(_HAN_END.search(before).group())  # type: ignore[union-attr]
    if han < count:
        raise where.error(
            f"the reading {shown} needs {count} Han character{'s' if count != 1 else ''}"
            f" right before it (one per syllable), found {han} ({_LITERAL})"
        )


def _directive(content: str, where: _Where) -> tuple[str, Value] | None:
    """(kind, value) for the markup ``[content]``; None for a comment."""
    if content.lstrip().startswith("#"):
        return None
    keyword, _, argument = content.strip().partition(" ")
    keyword, argument = keyword.lower(), argument.strip()
    shown = f"[{content}]"
    if keyword == "pause":
        return "pause", _pause(argument, where, shown)
    if keyword not in ("voice", "rate"):
        raise where.error(f"unknown markup {shown}; {_KNOWN}")
    if argument.lower() == "default":
        return keyword, None
    if keyword == "voice":
        return "voice", _voice(argument, where, shown)
    return "rate", _rate(argument, where, shown)


def _pause(argument: str, where: _Where, shown: str) -> float:
    """Seconds from ``1.5s`` or ``800ms``."""
    match = _LENGTH.fullmatch(argument)
    if not match:
        raise where.error(
            f"bad pause length in {shown}: write seconds or milliseconds,"
            " e.g. [pause 1.5s] or [pause 800ms]"
        )
    number, unit = match.groups()
    seconds = float(number) / (1000 if unit.lower() == "ms" else 1)
    if not 0 < seconds <= MAX_PAUSE:
        raise where.error(f"the pause in {shown} must be longer than 0 and at most {MAX_PAUSE:g} s")
    return seconds


def _voice(argument: str, where: _Where, shown: str) -> str:
    if not argument:
        raise where.error(
            f"{shown} names no voice, e.g. [voice zh-CN-YunxiNeural] or [voice default]"
        )
    if any(c.isspace() for c in argument):
        raise where.error(f"a voice name has no spaces: {shown}")
    return argument


def _rate(argument: str, where: _Where, shown: str) -> str:
    """The rate as edge-tts writes it, ``+10%``."""
    try:
        return str(read("rate", argument))  # within --rate's limits
    except InputError as error:
        raise where.error(f"bad rate in {shown}: {error.reason}, or default") from None
