"""From the author's draft to sentences ready to speak: fill placeholders, refuse the ones left
(unless allowed), read the inline markup, split into sentences carrying their voice, rate and
pause, each at the line and column where the author wrote it; then what the engine says for
each sentence (numbers in words, placeholders left out).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from voicer.errors import InputError
from voicer.model import Script, Segment
from voicer.script import markup, placeholders, sentences, spoken_form
from voicer.script.overrides import moved, within
from voicer.script.pinyin import Override
from voicer.script.placeholders import Placeholder

SHOWN_IN_ERROR = 5  # placeholders named in the one-line error; `voicer check` lists them all
_COMMENT = re.compile(r"\[\[|\[#[^\]\n]*\]")  # a [[ is a literal [: no comment starts there


@dataclass(frozen=True)
class Prepared:
    """The sentences of a draft, and the silence markup asks for before the first one.

    ``starts`` holds where each sentence starts in the text without markup, and ``origin``,
    for a text that is not its source file as written (Markdown), where a character of that
    text was written in the source.
    """

    segments: list[Segment]
    lead_in_ms: int = 0
    starts: tuple[int, ...] = field(default=(), repr=False)
    origin: Callable[[int], tuple[int, int]] | None = field(default=None, repr=False)

    def locate(self, segment: Segment, offset: int) -> tuple[int, int]:
        """Where the character at ``offset`` of ``segment.shown`` was written. In a plain text
        that is along the sentence's line (markup inside it shifts the column a little)."""
        if self.origin is None:
            return segment.line, segment.column + offset
        return self.origin(self.starts[segment.index] + offset)


def prepare(
    script: Script,
    fills: Mapping[str, Sequence[str]] | None = None,
    allow_placeholders: bool = False,
) -> Prepared:
    """Fill, check, parse and split ``script``; an InputError for anything that stops it."""
    draft = _filled(script, fills)
    if draft.left and not allow_placeholders:
        raise InputError(placeholder_error(script, draft.left))
    marked = _parse_markup(draft)
    pauses = [d for d in marked.directives if d.kind == "pause"]
    # every directive ends the sentence before it: a pause after it, a voice or rate from it on
    breaks = {d.offset for d in marked.directives}
    found = sentences.segments(replace(script, text=marked.text), breaks=breaks)
    starts = _offsets(marked.text, found)
    found = [_at_origin(segment, marked, draft) for segment in found]
    found = _apply(found, marked, starts)
    readings = [reading.override for reading in marked.readings]
    found = [
        replace(segment, pinyin=within(readings, start, start + len(segment.shown)))
        for segment, start in zip(found, starts, strict=True)
    ]
    lead_in = sum(_ms(d) for d in pauses if d.offset == 0)
    if script.positions is None:
        return Prepared(found, lead_in)

    def origin(at: int) -> tuple[int, int]:
        return draft.source_position(*marked.origin(at))

    return Prepared(found, lead_in, tuple(starts), origin)


@dataclass(frozen=True)
class _Draft:
    """A script's text ready for markup (comments blanked, placeholders filled), the
    placeholders left in it, and the way back to where its characters were written.

    ``edits`` holds each value filled in: where it is in ``text`` (start, end) and where its
    placeholder was in the script's text (start, end).
    """

    text: str
    left: list[Placeholder]
    script: Script
    edits: tuple[tuple[int, int, int, int], ...] = ()

    def source_position(self, line: int, column: int) -> tuple[int, int]:
        """Where ``line``:``column`` of ``text`` was written in the source (a column inside a
        filled value: where its placeholder was)."""
        if self.edits:
            offset = self._written(_offset(self.text, line, column))
            line, column = _line_column(self.script.text, offset)
        return self.script.locate(line, column)

    def _written(self, offset: int) -> int:
        """The offset in the script's text of ``offset`` in ``text``."""
        written = offset
        for start, end, written_start, written_end in self.edits:
            if offset < start:
                break
            written = written_start if offset < end else written_end + offset - end
        return written


def _filled(script: Script, fills: Mapping[str, Sequence[str]] | None) -> _Draft:
    draft = without_comment_text(script.text)
    literal = script.literal
    if not fills:
        return _Draft(draft, placeholders.find_placeholders(draft, literal=literal), script)
    fills = _at_text_positions(fills, draft, script)
    left = placeholders.unfilled(draft, fills, literal=literal)
    edits: list[tuple[int, int, int, int]] = []
    shift = 0
    for found, value in placeholders.filling(draft, fills, literal=literal):
        start = found.offset + shift
        edits.append((start, start + len(value), found.offset, found.end))
        shift += len(value) - len(found.text)
    filled = placeholders.fill(draft, fills, literal=literal)
    return _Draft(filled, left, script, tuple(edits))


def _offset(text: str, line: int, column: int) -> int:
    start = 0
    for _ in range(line - 1):
        start = text.index("\n", start) + 1
    return start + column - 1


def _line_column(text: str, offset: int) -> tuple[int, int]:
    return text.count("\n", 0, offset) + 1, offset - (text.rfind("\n", 0, offset) + 1) + 1


def find_placeholders(script: Script) -> list[Placeholder]:
    """The placeholders of a script, leaving out what its markup comments say and what is
    text as written; at their lines and columns in ``script.text``."""
    return placeholders.find_placeholders(without_comment_text(script.text), literal=script.literal)


def without_comment_text(draft: str) -> str:
    """``draft`` with the text of its markup comments blanked out (positions kept), so that
    nothing in a comment counts as a placeholder or gets filled; ``[[# x]`` is text.

    >>> without_comment_text("[# 待定*]增长*%，[[# 注]")
    '[#    ]增长*%，[[# 注]'
    """
    return _COMMENT.sub(_blanked, draft)


def _blanked(match: re.Match[str]) -> str:
    found = match.group()
    return found if found == "[[" else "[#" + " " * (len(found) - 3) + "]"


def placeholder_error(script: Script, left: Sequence[Placeholder]) -> str:
    """One line naming the first few placeholders (where they are in the source) and what to
    do about them."""
    named = "; ".join(
        f"{source_position(script, found)} {found.text}"
        f" in “{placeholders.context(script.text, found)}”"
        for found in left[:SHOWN_IN_ERROR]
    )
    more = f" and {len(left) - SHOWN_IN_ERROR} more" if len(left) > SHOWN_IN_ERROR else ""
    return (
        f"{len(left)} unfilled placeholder{'s' if len(left) != 1 else ''}: {named}{more}; "
        "give values with --fill KEY=VALUE or --fill-file, or pass --allow-placeholders"
    )


def source_position(script: Script, found: Placeholder) -> str:
    """``LINE:COLUMN`` of a placeholder in the source, as reports give it and ``--fill``
    takes it."""
    line, column = script.locate(found.line, found.column)
    return f"{line}:{column}"


def _at_text_positions(
    fills: Mapping[str, Sequence[str]], draft: str, script: Script
) -> Mapping[str, Sequence[str]]:
    """``fills`` with each ``LINE:COLUMN`` key, a placeholder's place in the source as reports
    give it, turned into its place in ``draft`` (they differ for Markdown)."""
    if script.positions is None:
        return fills
    in_draft = {
        source_position(script, found): found.position
        for found in placeholders.find_placeholders(draft, literal=script.literal)
    }
    moved: dict[str, Sequence[str]] = {}
    for key, values in fills.items():
        if placeholders.POSITION_KEY.fullmatch(key) and key not in in_draft:
            raise InputError(f"--fill: no placeholder starts at {key}")
        moved[in_draft.get(key, key)] = values
    return moved


def _parse_markup(draft: _Draft) -> markup.Marked:
    """The draft's markup, read; an error names the line and column in the source."""
    try:
        return markup.parse(draft.text)
    except InputError as error:
        if error.line is None or error.column is None:
            raise
        line, column = draft.source_position(error.line, error.column)
        raise error.replaced(line=line, column=column) from None


def _at_origin(segment: Segment, marked: markup.Marked, draft: _Draft) -> Segment:
    line, column = draft.source_position(*marked.origin_at(segment.line, segment.column))
    return replace(segment, line=line, column=column)


def _ms(pause: markup.Directive) -> int:
    return round(float(pause.value or 0) * 1000)


def _offsets(clean: str, found: list[Segment]) -> list[int]:
    """Where each sentence starts in the clean text."""
    line_starts = [0]
    for line in clean.split("\n"):
        line_starts.append(line_starts[-1] + len(line) + 1)
    return [line_starts[segment.line - 1] + segment.column - 1 for segment in found]


def _apply(found: list[Segment], marked: markup.Marked, starts: list[int]) -> list[Segment]:
    """Each sentence with the voice and rate in force where it starts, and the pause that
    markup puts after it."""
    voice: str | None = None
    rate: int | None = None
    directives = sorted(marked.directives, key=lambda d: d.offset)
    applied = []
    for number, (segment, start) in enumerate(zip(found, starts, strict=True)):
        end = starts[number + 1] if number + 1 < len(found) else len(marked.text) + 1
        for directive in directives:
            if directive.kind == "voice" and directive.offset <= start:
                voice = directive.value  # type: ignore[assignment]
            elif directive.kind == "rate" and directive.offset <= start:
                rate = None if directive.value is None else int(str(directive.value).rstrip("%"))
        pauses = [
            _ms(d)
            for d in directives
            if d.kind == "pause" and d.offset > 0 and start < d.offset <= end
        ]
        pause_ms = sum(pauses) if pauses else None
        applied.append(replace(segment, voice=voice, rate=rate, pause_after_ms=pause_ms))
    return applied


def speakable(
    segments: list[Segment], language: str, lexicon: Mapping[str, str] | None = None
) -> list[Segment]:
    """The sentences with what the engine is to say for each, leaving out those with nothing
    to say (a placeholder alone, with --allow-placeholders); the sentence before one left out
    takes over its pause. A sentence too long to speak in one piece is first cut into pieces
    (:func:`sentences.pieces`), never inside a lexicon entry. Each keeps the readings its
    markup gives (where the spoken form still has those characters), and takes those of
    the lexicon (see :func:`spoken_readings`)."""
    kept: list[Segment] = []
    entries = lexicon.pinyin if isinstance(lexicon, spoken_form.Lexicon) else {}
    terms = (*(lexicon or ()), *entries)
    for segment in (piece for found in segments for piece in sentences.pieces(found, terms)):
        spoken = spoken_text(segment.shown, language, lexicon)
        readings = spoken_readings(segment.shown, spoken, segment.pinyin, entries)
        segment = replace(segment, spoken=spoken, pinyin=readings)
        if sentences.is_speakable(segment.spoken):
            kept.append(segment)
        elif kept:
            before = kept[-1]
            pause = segment.pause_after_ms
            kept[-1] = replace(
                before,
                pause_after_ms=before.pause_after_ms if pause is None else pause,
                ends_paragraph=before.ends_paragraph or segment.ends_paragraph,
            )
    if not kept:
        raise InputError(_nothing_to_speak(segments))
    return [replace(segment, index=number) for number, segment in enumerate(kept)]


def _nothing_to_speak(segments: list[Segment]) -> str:
    """Why none of ``segments`` has anything to speak, as true for the script at hand."""
    if not segments:
        return "nothing is left to speak once the markup ([pause …], [voice …], [# …]) is left out"
    if any(placeholders.find_placeholders(segment.shown) for segment in segments):
        return "nothing is left to speak once the placeholders are left out"
    return "no sentence has anything that can be spoken"


def spoken_text(written: str, language: str, lexicon: Mapping[str, str] | None) -> str:
    """What the engine says for ``written``: placeholders left out, numbers in words."""
    return spoken_form.spoken_form(_unplaceheld(written), language, lexicon)


def _unplaceheld(text: str) -> str:
    """``text`` without its placeholders (with --allow-placeholders they are not spoken)."""
    for found in reversed(placeholders.find_placeholders(text)):
        after = found.end + (text[found.end : found.end + 1] in ("%", "％"))  # 增长*%
        text = text[: found.offset] + text[after:]
    return text


def spoken_readings(
    shown: str,
    spoken: str,
    given: Sequence[Override],
    entries: Mapping[str, tuple[str, ...]],
) -> tuple[Override, ...]:
    """The readings of ``spoken``, the spoken form of ``shown``: those ``given`` for characters
    of ``shown`` (from markup) where ``spoken`` still has those characters, then the lexicon's
    ``entries`` where their characters stand in ``spoken`` and no other reading is given.

    An entry applies only where it is whole words, or inside one: 行长 reads 银行行长 (银行|行长)
    but not 银行长期 (银行|长期), where its characters belong to two words.

    >>> spoken_readings("行长说", "行长说", (), {"行长": ("hang2", "zhang3")})
    (Override(start=0, end=2, pinyin=('hang2', 'zhang3')),)
    >>> spoken_readings("银行长期", "银行长期", (), {"行长": ("hang2", "zhang3")})
    ()
    """
    found = list(moved(shown, spoken, given)) if given else []
    keys = sorted((key for key in entries if key in spoken), key=len, reverse=True)
    if not keys:
        return tuple(found)
    words = _word_spans(spoken)
    taken = [False] * len(spoken)
    for override in found:
        taken[override.start : override.end] = [True] * (override.end - override.start)
    at = 0
    while at < len(spoken):
        match = next((key for key in keys if _applies(spoken, key, at, taken, words)), None)
        if match is not None:
            found.append(Override(at, at + len(match), entries[match]))
        at += len(match or " ")
    return tuple(sorted(found, key=lambda override: override.start))


def _applies(text: str, key: str, at: int, taken: list[bool], words: list[tuple[int, int]]) -> bool:
    """Whether the entry ``key`` reads ``text`` at ``at``: it stands there, no other reading
    has its characters, and no word lies partly inside it."""
    end = at + len(key)
    return (
        text.startswith(key, at)
        and not any(taken[at:end])
        and not any(_straddles(word, at, end) for word in words)
    )


def _word_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each word of ``text`` as jieba cuts it."""
    spans = []
    at = 0
    for word in sentences.segmenter().lcut(text):
        spans.append((at, at + len(word)))
        at += len(word)
    return spans


def _straddles(word: tuple[int, int], start: int, end: int) -> bool:
    """Whether ``word`` lies partly in ``start:end`` and partly outside it."""
    first, last = word
    return first < start < last < end or start < first < end < last


def said_instead(segment: Segment, say: Mapping[str, str]) -> Segment:
    """``segment`` for an engine that cannot take pinyin: what ``say`` gives for a reading's
    characters is spoken in their place, and the readings are dropped.

    >>> said_instead(Segment(0, "单于至", "单于至", 0, 1, 1, True,
    ...     pinyin=(Override(0, 2, ("chan2", "yu2")),)), {"单于": "缠于"}).spoken
    '缠于至'
    """
    spoken = segment.spoken
    for override in sorted(segment.pinyin, key=lambda o: o.start, reverse=True):
        instead = say.get(spoken[override.start : override.end])
        if instead is not None:
            spoken = spoken[: override.start] + instead + spoken[override.end :]
    return replace(segment, spoken=spoken, pinyin=())


def unsaid(segments: Sequence[Segment], say: Mapping[str, str]) -> list[tuple[str, str]]:
    """The readings of ``segments`` an engine that cannot take pinyin leaves unsaid (those
    ``say`` gives no text for): each characters and syllables once, in order."""
    found: dict[tuple[str, str], None] = {}
    for segment in segments:
        for override in segment.pinyin:
            written = segment.spoken[override.start : override.end]
            if written not in say:
                found[written, " ".join(override.pinyin)] = None
    return list(found)
