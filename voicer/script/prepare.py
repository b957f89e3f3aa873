"""From the author's draft to sentences ready to speak: fill placeholders, refuse the ones left
(unless allowed), read the inline markup, split into sentences carrying their voice, rate and
pause, each at the line and column where the author wrote it; then what the engine says for
each sentence (numbers in words, placeholders left out).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from voicer.errors import InputError
from voicer.model import Script, Segment
from voicer.script import markup, placeholders, sentences, spoken_form
from voicer.script.placeholders import Placeholder

SHOWN_IN_ERROR = 5  # placeholders named in the one-line error; `voicer check` lists them all
_COMMENT = re.compile(r"\[#[^\]\n]*\]")


@dataclass(frozen=True)
class Prepared:
    """The sentences of a draft, and the silence markup asks for before the first one."""

    segments: list[Segment]
    lead_in_ms: int = 0


def prepare(
    script: Script,
    fills: Mapping[str, Sequence[str]] | None = None,
    allow_placeholders: bool = False,
) -> Prepared:
    """Fill, check, parse and split ``script``; an InputError for anything that stops it."""
    draft = without_comment_text(script.text)
    if fills:
        left = placeholders.unfilled(draft, fills)
        draft = placeholders.fill(draft, fills)
    else:
        left = placeholders.find_placeholders(draft)
    if left and not allow_placeholders:
        raise InputError(placeholder_error(script.text, left))
    marked = markup.parse(draft)
    pauses = [d for d in marked.directives if d.kind == "pause"]
    found = sentences.segments(replace(script, text=marked.text), breaks={d.offset for d in pauses})
    starts = _offsets(marked.text, found)
    found = [_at_origin(segment, marked) for segment in found]
    found = _apply(found, marked, starts)
    lead_in = sum(_ms(d) for d in pauses if d.offset == 0)
    return Prepared(found, lead_in)


def find_placeholders(draft: str) -> list[Placeholder]:
    """The placeholders of a draft, leaving out what its markup comments say."""
    return placeholders.find_placeholders(without_comment_text(draft))


def without_comment_text(draft: str) -> str:
    """``draft`` with the text of its markup comments blanked out (positions kept), so that
    nothing in a comment counts as a placeholder or gets filled."""
    return _COMMENT.sub(lambda match: "[#" + " " * (len(match.group()) - 3) + "]", draft)


def placeholder_error(draft: str, left: Sequence[Placeholder]) -> str:
    """One line naming the first few placeholders and what to do about them."""
    named = "; ".join(
        f"{found.line}:{found.column} {found.text} in “{placeholders.context(draft, found)}”"
        for found in left[:SHOWN_IN_ERROR]
    )
    more = f" and {len(left) - SHOWN_IN_ERROR} more" if len(left) > SHOWN_IN_ERROR else ""
    return (
        f"{len(left)} unfilled placeholder{'s' if len(left) != 1 else ''}: {named}{more}; "
        "give values with --fill KEY=VALUE or --fill-file, or pass --allow-placeholders"
    )


def _at_origin(segment: Segment, marked: markup.Marked) -> Segment:
    line, column = marked.origin_at(segment.line, segment.column)
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
    takes over its pause."""
    kept: list[Segment] = []
    for segment in segments:
        segment = replace(segment, spoken=spoken_text(segment.shown, language, lexicon))
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
        raise InputError("nothing is left to speak once the placeholders are left out")
    return [replace(segment, index=number) for number, segment in enumerate(kept)]


def spoken_text(written: str, language: str, lexicon: Mapping[str, str] | None) -> str:
    """What the engine says for ``written``: placeholders left out, numbers in words."""
    return spoken_form.spoken_form(_unplaceheld(written), language, lexicon)


def _unplaceheld(text: str) -> str:
    """``text`` without its placeholders (with --allow-placeholders they are not spoken)."""
    for found in reversed(placeholders.find_placeholders(text)):
        after = found.end + (text[found.end : found.end + 1] in ("%", "％"))  # 增长*%
        text = text[: found.offset] + text[after:]
    return text
