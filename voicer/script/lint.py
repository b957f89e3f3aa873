"""``voicer check``: what a producer should fix or know before rendering a draft.

Errors stop a render (unfilled placeholders, malformed markup); warnings are worth fixing
(sentences too long to subtitle well, characters no engine can speak, half-width punctuation in
Chinese text); notes say how numbers and symbols will be spoken, and where a pinyin reading the
author gave applies. Every finding has the line and column where the author wrote it and the
text around it.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from functools import partial

from voicer.errors import InputError
from voicer.model import Override, Script, Segment
from voicer.script import placeholders, prepare, spoken_form
from voicer.script.overrides import moved

# How many subtitle cues a sentence's text needs: the subtitles stage, later in the pipeline,
# knows; the caller hands it in.
CueCount = Callable[[str], int]
# Where the character at an offset of a sentence was written (line, column).
Locate = Callable[[Segment, int], tuple[int, int]]
_At = Callable[[int], tuple[int, int]]  # the same for one sentence

MAX_CUES = 3  # a sentence needing more cues than this reads better split
SEVERITIES = ("error", "warning", "note")
# ASCII punctuation that belongs in full width inside Chinese text (',' and ':' between digits
# are a number and a time, and stay)
_HALF_WIDTH = re.compile(r"(?<![0-9])[,:](?![0-9])|[;?!()]")
_HALF_TO_FULL = {",": "，", ":": "：", ";": "；", "?": "？", "!": "！", "(": "（", ")": "）"}
_ODD_PUNCTUATION = set("※@#&\\|^`_")
_UNSPEAKABLE_CATEGORIES = {"So", "Sm", "Sk", "Co", "Cn", "Cs", "No"}


@dataclass(frozen=True)
class Finding:
    """One thing ``voicer check`` reports."""

    line: int
    column: int
    severity: str  # "error", "warning" or "note"
    kind: str  # placeholder, markup, long-sentence, unspeakable, punctuation, reading
    text: str  # what was found, as written
    message: str
    context: str = ""
    spoken: str | None = None  # for readings: how it will be spoken


def script_findings(
    script: Script, cue_count: CueCount, lexicon: Mapping[str, str] | None = None
) -> list[Finding]:
    """Every finding in ``script``, by position."""
    found = [_placeholder(script, p) for p in prepare.find_placeholders(script)]
    try:
        prepared = prepare.prepare(script, allow_placeholders=True)
    except InputError as exc:
        return sorted([*found, _markup_error(exc)], key=_position)
    found += sentence_findings(
        prepared.segments, script.language, cue_count, lexicon, prepared.locate
    )
    return sorted(found, key=_position)


def sentence_findings(
    segments: list[Segment],
    language: str,
    cue_count: CueCount,
    lexicon: Mapping[str, str] | None = None,
    locate: Locate | None = None,
) -> list[Finding]:
    """The findings inside sentences already prepared (everything but placeholders and
    markup errors), in order; ``locate`` says where a sentence's characters were written
    (by default along the sentence's line)."""
    return [
        finding
        for segment in segments
        for finding in _sentence_findings(segment, language, cue_count, lexicon, locate)
    ]


def counts(findings: list[Finding]) -> dict[str, int]:
    return {severity: sum(f.severity == severity for f in findings) for severity in SEVERITIES}


def format_report(findings: list[Finding], source: str) -> str:
    """One line per finding, ``source:line:column: severity: message``, and a total."""
    lines = [f"{source}:{f.line}:{f.column}: {f.severity}: {f.message}" for f in findings]
    total = counts(findings)
    lines.append(
        f"{total['error']} errors, {total['warning']} warnings, {total['note']} notes"
        if findings
        else f"{source}: nothing to report"
    )
    return "\n".join(lines)


def format_json(findings: list[Finding], source: str) -> str:
    return json.dumps(
        {"source": source, "counts": counts(findings), "findings": [asdict(f) for f in findings]},
        ensure_ascii=False,
        indent=2,
    )


def _position(finding: Finding) -> tuple[int, int, int]:
    return finding.line, finding.column, SEVERITIES.index(finding.severity)


def _placeholder(script: Script, found: placeholders.Placeholder) -> Finding:
    around = placeholders.context(script.text, found)
    return Finding(
        *script.locate(found.line, found.column),
        "error",
        "placeholder",
        found.text,
        f"unfilled placeholder {found.text} in “{around}”",
        around,
    )


def _markup_error(error: InputError) -> Finding:
    """The finding for an error that stops the draft being prepared (at 1:1 when it has no
    place in the draft)."""
    if error.line is None or error.source is not None:
        return Finding(1, 1, "error", "markup", "", str(error))
    return Finding(error.line, error.column or 1, "error", "markup", "", error.reason)


def _sentence_findings(
    segment: Segment,
    language: str,
    cue_count: CueCount,
    lexicon: Mapping[str, str] | None,
    locate: Locate | None,
) -> list[Finding]:
    at = partial(locate or _along_the_line, segment)
    found = [_long_sentence(segment, cue_count)]
    found += _character_findings(segment, language, lexicon, at)
    found += _pinyin_findings(segment, language, lexicon, at)
    return [finding for finding in found if finding is not None]


def _character_findings(
    segment: Segment, language: str, lexicon: Mapping[str, str] | None, at: _At
) -> list[Finding | None]:
    """What the sentence's characters raise: marks the engines may skip, half-width
    punctuation in Chinese, and the readings of the spoken form; nothing inside a reading or
    a placeholder is flagged as unspeakable or half-width."""
    sentence = segment.shown
    readings = spoken_form.explain(sentence, language, lexicon)
    held = [range(p.offset, p.end) for p in placeholders.find_placeholders(sentence)]
    skip = set().union(*(range(r.start, r.end) for r in readings), *held)
    found = [_unspeakable(segment, i, at) for i in range(len(sentence)) if i not in skip]
    if language == "zh":
        found += [
            _half_width(segment, m, at)
            for m in _HALF_WIDTH.finditer(sentence)
            if m.start() not in skip
        ]
    found += [_reading(segment, r, at) for r in readings]
    return found


def _pinyin_findings(
    segment: Segment, language: str, lexicon: Mapping[str, str] | None, at: _At
) -> list[Finding]:
    """The readings the user and the lexicon give, and the user's readings the spoken form
    has moved away from (unused)."""
    sentence = segment.shown
    spoken = spoken_form.spoken_form(sentence, language, lexicon)
    unused = [o for o in segment.pinyin if not moved(sentence, spoken, [o])]
    entries = lexicon.pinyin if isinstance(lexicon, spoken_form.Lexicon) else {}
    used = [o for o in segment.pinyin if o not in unused]
    given = prepare.spoken_readings(sentence, sentence, used, entries)
    found = [_pinyin(segment, override, at) for override in given]
    found += [_unused_pinyin(segment, override, at) for override in unused]
    return found


def _along_the_line(segment: Segment, offset: int) -> tuple[int, int]:
    """Line and column of ``offset`` within a sentence of a plain text (a sentence lies on
    one line; markup inside it shifts the column a little, never the line)."""
    return segment.line, segment.column + offset


def _around(sentence: str, start: int, end: int, width: int = 10) -> str:
    before = sentence[max(0, start - width) : start]
    after = sentence[end : end + width]
    return f"{'…' if start > width else ''}{before}{sentence[start:end]}{after}" + (
        "…" if end + width < len(sentence) else ""
    )


def _long_sentence(segment: Segment, cue_count: CueCount) -> Finding | None:
    cues = cue_count(segment.shown)
    if cues <= MAX_CUES:
        return None
    message = (
        f"a sentence of {len(segment.shown)} characters needs {cues} subtitles "
        f"(more than {MAX_CUES}): consider splitting “{_around(segment.shown, 0, 0, 16)}”"
    )
    return Finding(segment.line, segment.column, "warning", "long-sentence", segment.shown, message)


def _unspeakable(segment: Segment, offset: int, at: _At) -> Finding | None:
    character = segment.shown[offset]
    odd = character in _ODD_PUNCTUATION
    if not odd and unicodedata.category(character) not in _UNSPEAKABLE_CATEGORIES:
        return None
    name = unicodedata.name(character, f"U+{ord(character):04X}").lower()
    line, column = at(offset)
    around = _around(segment.shown, offset, offset + 1)
    message = f"{character} ({name}) may be skipped or misread by the engines, in “{around}”"
    return Finding(line, column, "warning", "unspeakable", character, message, around)


def _half_width(segment: Segment, match: re.Match[str], at: _At) -> Finding:
    mark = match.group()
    line, column = at(match.start())
    around = _around(segment.shown, match.start(), match.end())
    message = f"half-width {mark} in Chinese text (use {_HALF_TO_FULL[mark]}), in “{around}”"
    return Finding(line, column, "warning", "punctuation", mark, message, around)


def _reading(segment: Segment, reading: spoken_form.Reading, at: _At) -> Finding:
    line, column = at(reading.start)
    around = _around(segment.shown, reading.start, reading.end)
    message = f"{reading.written} will be read “{reading.spoken}” ({reading.rule})"
    return Finding(
        line, column, "note", "reading", reading.written, message, around, reading.spoken
    )


def _pinyin(segment: Segment, override: Override, at: _At) -> Finding:
    line, column = at(override.start)
    written = segment.shown[override.start : override.end]
    said = " ".join(override.pinyin)
    around = _around(segment.shown, override.start, override.end)
    message = f"{written} will be read “{said}” (pinyin; by the offline engine)"
    return Finding(line, column, "note", "reading", written, message, around, said)


def _unused_pinyin(segment: Segment, override: Override, at: _At) -> Finding:
    """A reading in the script's markup whose characters the lexicon or the spoken form
    says otherwise: it is not used, and the author should know."""
    line, column = at(override.start)
    written = segment.shown[override.start : override.end]
    said = " ".join(override.pinyin)
    around = _around(segment.shown, override.start, override.end)
    message = (
        f"the reading “{said}” of {written} is not used: "
        f"the lexicon or the spoken form says {written} otherwise"
    )
    return Finding(line, column, "warning", "reading", written, message, around, said)


def is_clean(findings: list[Finding]) -> bool:
    """No errors and no warnings (notes only say how things will be read)."""
    return not any(f.severity in ("error", "warning") for f in findings)
