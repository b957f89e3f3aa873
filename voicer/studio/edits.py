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
from voicer.options import BY_NAME
from voicer.script.markdown import read_markdown
from voicer.script.markup import MAX_PAUSE
from voicer.script.overrides import parse_pinyin
from voicer.script.reading import ZERO_WIDTH, normalise
from voicer.script.sentences import is_speakable

RATE = BY_NAME["rate"]  # a sentence's own rate keeps --rate's limits
BEFORE = ("voice", "rate")  # settings written before the sentence; a pause goes after it
_TOKEN = re.compile(r"\[\[|\[([^\]]*)\]")
_SPACES = " \t\u3000"
_LINE_BREAK = re.compile(r"\r\n|\r|\n")  # the reader's line breaks
MAX_PAUSE_MS = round(MAX_PAUSE * 1000)


def limits() -> dict[str, tuple[int, int]]:
    """The least and most a sentence's own rate (percent) and pause (ms) may be, which the
    page's inputs take from here."""
    low, high = RATE.bounds or (0, 0)
    return {"rate": (int(low), int(high)), "pause": (1, MAX_PAUSE_MS)}


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


def start_after(content: str, place: Place, change: Mapping[str, Setting]) -> int:
    """Where the sentence at ``place`` starts in ``content`` once :func:`changed` has made
    ``change`` to it (after its own markup).

    >>> start_after("一。[voice A]二。", Place(1, 12, "二。"), {"voice": None, "text": "”二。"})
    2
    """
    start, _ = _span(content, place)
    head = _run_before(content, start)
    return head[0] + len(_rewritten(content[slice(*head)], change, BEFORE))


def line_of(content: str, at: int) -> int:
    """The line (as the reader counts them) that offset ``at`` of ``content`` lies on."""
    return len(_LINE_BREAK.findall(content, 0, at)) + 1


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
        if not RATE.within_bounds(value):
            low, high = RATE.bounds or (0, 0)
            raise InputError(f"rate: from {low:+g} to {high:+g} (%)")
        return f"[rate {value:+d}%]"
    if not 0 < value <= MAX_PAUSE_MS:
        raise InputError(f"pause: from 1 to {MAX_PAUSE_MS} ms")
    return f"[pause {value}ms]"


def with_reading(content: str, written: str, spoken: str) -> str:
    """A TSV lexicon's text with ``written`` said as ``spoken`` (an empty ``spoken`` removes
    the entry); every other line as it was, its line break and a byte-order mark included, so
    an undo gives back the file's own bytes.

    >>> with_reading("# names\\nAI\\tA I\\n", "重庆", "chong2 qing4")
    '# names\\nAI\\tA I\\n重庆\\tchong2 qing4\\n'
    >>> with_reading("\\ufeffAI\\tA I\\r\\n重庆\\tx", "AI", "")
    '\\ufeff重庆\\tx'
    >>> with_reading("AI\\tA I\\r\\n重庆\\tx", "GDP", "G D P")
    'AI\\tA I\\r\\n重庆\\tx\\r\\nGDP\\tG D P'
    """
    written, spoken = written.strip(), spoken.strip()
    if not written or "\t" in written + spoken or _UNWRITABLE.search(written + spoken):
        raise InputError("a reading is one line: the written form and how to say it")
    if written.startswith("#"):
        raise InputError("a written form cannot start with #: the lexicon reads that as a comment")
    if spoken and not is_speakable(spoken):
        raise InputError("the spoken form has nothing that can be spoken (empty removes it)")
    mark = "\ufeff" if content.startswith("\ufeff") else ""
    lines = content[len(mark) :].splitlines(keepends=True)  # the lexicon reader's lines
    kept = [line for line in lines if not _entry_of(line, written)]
    if spoken:
        found = _LINE_BREAK.search(content)
        ending = "\n" if found is None else found.group()  # the file's own
        entry = f"{written}\t{spoken}"
        # a file that ends without a line break still does: each entry added brings its own
        # break, so any of them can be undone alone
        ended = not kept or kept[-1] != kept[-1].splitlines()[0]
        kept.append(entry + ending if ended else ending + entry)
    return mark + "".join(kept)


def pinyin_reading(word: str, pinyin: str) -> str:
    """The lexicon value that has ``word`` (Han characters) said with ``pinyin``: one syllable
    per character, with tone numbers (5 or none: neutral) or tone marks, ü as ü, v or u:;
    written TONE3, ü as v. An empty ``pinyin`` gives "" (the entry is removed). An InputError
    for anything else.

    >>> pinyin_reading("银行", "yín háng"), pinyin_reading("女儿", "nü3 er5")
    ('yin2 hang2', 'nv3 er5')
    >>> pinyin_reading("银行", "yin2")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    voicer.errors.InputError: pinyin: 银行 has 2 characters and “yin2” 1 syllable: ...
    """
    word, pinyin = word.strip(), pinyin.strip()
    if len(word) > MAX_WORD:
        raise InputError(f"pinyin: a word has at most {MAX_WORD} characters")
    if not _HAN_WORD.fullmatch(word):
        raise InputError(f"pinyin: “{word}” is not a word of Han characters only")
    try:
        syllables = parse_pinyin(pinyin) if pinyin else ()
    except ValueError as exc:
        raise InputError(f"pinyin: {exc}") from None
    if syllables and len(syllables) != len(word):
        count = f"{len(syllables)} syllable{'s' if len(syllables) > 1 else ''}"
        raise InputError(
            f"pinyin: {word} has {len(word)} characters and “{pinyin}” {count}: "
            "one syllable per character"
        )
    return " ".join(syllables)


MAX_WORD = 50  # characters of a word given a reading in the studio
_HAN_WORD = re.compile("[\u4e00-\u9fff]+")


def _entry_of(line: str, written: str) -> bool:
    """Whether the lexicon's ``line`` says how to read ``written``."""
    return not line.lstrip().startswith("#") and line.split("\t", 1)[0].strip() == written


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


def check_plain_markdown(text: str, line: int) -> None:
    """An InputError unless ``text`` (as :func:`new_text` gives it) reads as itself in a
    Markdown script: else it would be saved as one thing and shown, or not read, as another.

    >>> check_plain_markdown("增长_5%_左右。", 3)
    >>> check_plain_markdown("<!-- 注 -->增长。", 3)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    voicer.errors.InputError: line 3: the new text reads otherwise in Markdown ...
    """
    if read_markdown(text).text != text + "\n":  # voicer's own [[ passes through
        raise InputError(
            f"line {line}: the new text reads otherwise in Markdown (emphasis, code, HTML, "
            "entities, headings or lists): edit it in the file"
        )


def shown_of(text: str) -> str:
    """A text checked by :func:`new_text` as the page shows it: ``[[`` is a ``[``."""
    return text.replace("[[", "[")


def offset_of(content: str, place: Place) -> int:
    """Where the sentence at ``place`` starts in ``content``, counting lines and columns as
    the reader does (a CR, LF or CRLF ends a line; zero-width characters and a byte-order mark
    take no column); an InputError when the file no longer has that line and column.

    >>> offset_of("一。\\r二。\\n\\u200b三。", Place(3, 1, "三。"))
    7
    """
    starts = [0, *(match.end() for match in _LINE_BREAK.finditer(content))]
    if not 0 < place.line <= len(starts):
        raise InputError(f"line {place.line}: the file no longer has this sentence there")
    at = starts[place.line - 1]
    end = _line_bounds(content, at)[1]
    column = 1
    while at < end and (column < place.column or content[at] in ZERO_WIDTH):
        column += content[at] not in ZERO_WIDTH
        at += 1
    if column != place.column:
        raise InputError(f"line {place.line}: the file no longer has this sentence there")
    return at


def _line_bounds(content: str, at: int) -> tuple[int, int]:
    """Where the line holding offset ``at`` starts and ends (before its line break)."""
    begin = max(content.rfind("\n", 0, at), content.rfind("\r", 0, at)) + 1
    found = _LINE_BREAK.search(content, at)
    return begin, len(content) if found is None else found.start()


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
    begin, stop = _line_bounds(content, at)
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
