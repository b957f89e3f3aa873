"""Splitting a sentence into caption-sized pieces and laying each out in balanced lines.

The pieces are chosen with the times of the speech (:class:`Timing`): measured from the
engine's word marks once the audio exists, or estimated from the text (for ``voicer check``,
before anything is synthesised). Every rule of the profile is weighed: width and lines, the
maximum duration (a hard limit), and the minimum duration and reading speed that the room
before the next speech allows.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cache, lru_cache

from voicer import files
from voicer.errors import OutputError
from voicer.script.sentences import segmenter as _segmenter
from voicer.subtitles.profiles import Limits, Profile, reading_units

CLAUSE_END = "，、；：,;:"
SENTENCE_END = "。！？!?…."
OPENERS = "“‘「『（(《〈【〔["
CLOSERS = "”’」』）)》〉】〕]"
NO_LINE_START = CLAUSE_END + SENTENCE_END + CLOSERS + "%％‰"
# Speaking time at rate +0%, to estimate cue durations before synthesis.
SECONDS_PER_HAN = 0.2
SECONDS_PER_LATIN = 0.065
SECONDS_PER_DIGIT = 0.3  # 1,280 is 一千二百八十: about one and a half syllables per digit
SECONDS_PER_SYMBOL = 0.6  # % is 百分之 or "percent"

# Never broken: 《titles》, numbers with their signs and units, Latin words and abbreviations.
_UNBREAKABLE = re.compile(
    r"《[^《》]*》"
    r"|[+\-−]?\d[\d.,:：/]*\d[%％‰]?|[+\-−]?\d[%％‰]?"
    r"|[A-Za-z][A-Za-z'’.\-]*[A-Za-z]|[A-Za-z]"
)
_BREAK_COST = {"end": 0, "clause": 0, "bracket": 3, "space": 3, "word": 8}
_SINGLE_HAN_COST = 4  # breaking next to a one-character word (之, 的, 在 ...)
_IMBALANCE_COST = 0.5  # per character of difference between the lines of a cue
_PIECE_COST = 10  # each extra cue
_SHORT_PIECE_COST = 15  # a cue of fewer than _SHORT characters (unless it is the whole sentence)
_SHORT = 5
_TOO_QUICK_COST = 60  # a cue shorter than the minimum duration, or read too fast
_ESTIMATE_SHARE = 0.9  # of the maximum duration a cue may fill when its times are estimated
# A break inside a phrase a captioner keeps whole: after a preposition (向|奋战, 在|科研), between
# a number and its measure word (三|个), before a particle (了, 的) or a verb's direction
# (成长|起来), after a reduplication (条条|绽出) or a word that introduces what follows (什么|“…”).
_PHRASE_COST = 20
_DIRECTIONS = frozenset(
    "起来 下去 下来 出来 出去 上来 上去 过来 过去 回来 回去 进来 进去 起 开来".split()  # noqa: SIM905 - a list of words
)
_INTRODUCERS = frozenset(
    "什么 这种 那种 这些 那些 哪些 这个 那个 这样 那样 各种 各项 每个 一些 所谓 所有".split()  # noqa: SIM905 - a list of words
)
_RANGE_MARKS = "-–—~～至到"  # 3-5年, 3～5年, 3至5年, 2024—2025年
_UNIT_SIGNS = "%％‰℃°"
_NUMERAL = re.compile(r"[\d零〇一二两三四五六七八九十百千万亿几多余]+$")


@dataclass(frozen=True)
class Caption:
    """A piece of a sentence shown as one cue.

    ``text`` is the author's text (the pieces of a sentence join back to it); ``start`` its
    offset in the sentence; ``lines`` what the cue shows; ``break_after`` how the sentence goes
    on after it: "end", "clause" (after clause punctuation) or a weaker break. ``begin`` and
    ``speech_end`` are the times of its speech, in the samples of the :class:`Timing` used.
    """

    text: str
    start: int
    lines: tuple[str, ...]
    break_after: str
    begin: int
    speech_end: int


@dataclass(frozen=True)
class Timing:
    """When the speech of a sentence's tokens runs, at each place it could be broken.

    ``begins[k]`` is where the speech of tokens ``k:`` starts and ``ends[k]`` where the speech
    of tokens ``:k`` ends, for k from 0 to the number of tokens, in samples at ``rate``;
    ``following`` is where the next speech after the sentence starts (None: nothing follows).
    ``exact`` times are measured, not estimated. ``unbreakable`` holds the k inside one
    spoken word, where no cue may break.
    """

    begins: tuple[int, ...]
    ends: tuple[int, ...]
    rate: int
    following: int | None
    exact: bool
    unbreakable: frozenset[int] = frozenset()

    @classmethod
    def estimated(
        cls, tokens: Sequence[str], start: int, end: int, rate: int, following: int | None
    ) -> Timing:
        """Times shared out over ``start:end`` by each token's speaking time."""
        weights = [speaking_seconds(token) for token in tokens]
        total = sum(weights) or 1.0
        times, so_far = [start], 0.0
        for weight in weights:
            so_far += weight
            times.append(start + round((end - start) * so_far / total))
        return cls(tuple(times), tuple(times), rate, following, exact=False)


def split_captions(
    sentence: str, profile: Profile, speed: float = 1.0, keep_together: tuple[str, ...] = ()
) -> list[Caption]:
    """Split a sentence into the fewest well-broken pieces that each fit the profile, with
    times estimated from the text (spoken at ``speed`` times the normal rate).

    >>> from voicer.subtitles.profiles import profile_for
    >>> sentence = "第二，推动成果转化，让更多的科研成果走出实验室、走向生产线。"
    >>> [c.lines for c in split_captions(sentence, profile_for("zh"))]
    [('第二 推动成果转化', '让更多的科研成果走出实验室'), ('走向生产线',)]

    ``keep_together``: strings never broken across captions (lexicon entries, say).
    """
    kept = tuple(word for word in keep_together if word in sentence)
    return list(_split(sentence, profile, speed, kept))


@lru_cache(maxsize=1024)  # ``voicer check`` and a render's warnings split the same sentences
def _split(
    sentence: str, profile: Profile, speed: float, keep_together: tuple[str, ...]
) -> tuple[Caption, ...]:
    tokens = tokenise(sentence, keep_together)
    seconds = sum(map(speaking_seconds, tokens)) / max(speed, 0.1)
    timing = Timing.estimated(tokens, 0, round(seconds * 1000), 1000, None)
    return tuple(timed_captions(tokens, profile, timing))


def timed_captions(tokens: Sequence[str], profile: Profile, timing: Timing) -> list[Caption]:
    """The sentence made of ``tokens`` cut into captions by its speech's ``timing``."""
    if not tokens:
        return []
    ends = _best_breaks(tuple(tokens), profile, timing)
    tokens = list(tokens)
    captions = []
    start = 0
    offset = 0
    for end in ends:
        piece = tokens[start:end]
        text = "".join(piece)
        lines = layout(piece, profile) or (display(piece, profile),)
        kind = _break_kind(tokens, end)
        begin, speech_end = timing.begins[start], timing.ends[end]
        captions.append(Caption(text, offset, lines, kind, begin, max(speech_end, begin + 1)))
        offset += len(text)
        start = end
    return captions


def tokenise(text: str, keep_together: tuple[str, ...] = ()) -> list[str]:
    """Words, numbers, titles and single punctuation marks; they join back to ``text``.

    >>> tokenise("增长12.5%，《政府工作报告》提出GDP目标")
    ['增长', '12.5%', '，', '《政府工作报告》', '提出', 'GDP', '目标']
    >>> tokenise("朝阳区人民政府发布", ("朝阳区人民政府",))
    ['朝阳区人民政府', '发布']
    """
    tokens: list[str] = []
    position = 0
    for match in _unbreakable(keep_together).finditer(text):
        tokens += _words(text[position : match.start()])
        tokens.append(match.group())
        position = match.end()
    tokens += _words(text[position:])
    return tokens


@lru_cache(maxsize=64)
def _unbreakable(keep_together: tuple[str, ...]) -> re.Pattern[str]:
    if not keep_together:
        return _UNBREAKABLE
    words = "|".join(re.escape(w) for w in sorted(keep_together, key=len, reverse=True))
    return re.compile(f"{words}|{_UNBREAKABLE.pattern}")


def _words(text: str) -> list[str]:
    if not text:
        return []
    return list(_segmenter().cut(text, HMM=True))


def _break_kind(tokens: list[str], end: int) -> str:
    """How good a break after ``tokens[end - 1]`` is (or "never")."""
    if end >= len(tokens):
        return "end"
    before, after = tokens[end - 1], tokens[end]
    if after[0] in NO_LINE_START or before[-1] in OPENERS or _inside_number(tokens, end):
        return "never"
    if before[-1] in CLAUSE_END or before[-1] in SENTENCE_END:
        return "clause"
    if after[0] in OPENERS or before[-1] in CLOSERS:
        return "bracket"
    if before.isspace() or after.isspace():
        return "space"
    return "word"


def _inside_number(tokens: list[str], end: int) -> bool:
    """Whether a break before ``tokens[end]`` parts a number from its unit (1280|家, 30|℃,
    5.2|万元) or cuts a range (3|-5年, 3|至|5, 2024|—|2025): a number is never parted from
    the Han word, unit sign or range mark right after it, nor a range mark from its second
    number.

    >>> _inside_number(["达到", "1280", "家"], 2), _inside_number(["3", "至", "5", "年"], 2)
    (True, True)
    >>> _inside_number(["达到", "1280", "家"], 1), _inside_number(["热线", "12345", "，"], 2)
    (False, False)
    """
    before, after = tokens[end - 1], tokens[end]
    if before[-1].isdigit():
        return after[0] in _RANGE_MARKS or after[0] in _UNIT_SIGNS or _is_han(after[0])
    return (
        before in _RANGE_MARKS and after[0].isdigit() and end >= 2 and tokens[end - 2][-1].isdigit()
    )


def _is_han(c: str) -> bool:
    return "\u4e00" <= c <= "\u9fff"


@dataclass(frozen=True)
class _Breaking:
    """What the choice of breaks in one sentence weighs: its tokens, the profile and the
    speech's timing, and the longest a cue may last."""

    tokens: tuple[str, ...]
    profile: Profile
    timing: Timing
    limits: Limits
    longest: float


def _best_breaks(tokens: tuple[str, ...], profile: Profile, timing: Timing) -> list[int]:
    """Token indices ending each piece, chosen by dynamic programming over break positions.

    ``best[end]`` is the cost of the best pieces up to ``end`` and where its last piece starts
    (not every break before it: on a sentence of thousands of tokens that was quadratic)."""
    n = len(tokens)
    token_list = list(tokens)
    limits = Limits.of(profile, timing.rate)
    longest = limits.max_duration * (1.0 if timing.exact else _ESTIMATE_SHARE)
    breaking = _Breaking(tokens, profile, timing, limits, longest)
    best = [(0.0, 0)] + [(float("inf"), 0)] * n
    for end in range(1, n + 1):
        kind = _break_kind(token_list, end)
        if kind != "never" and end not in timing.unbreakable:
            best[end] = _best_last_piece(breaking, best, end, kind)
    if best[n][0] == float("inf"):  # cannot happen with single-token pieces allowed, but be safe
        return [n]
    ends = [n]
    while best[ends[-1]][1] > 0:
        ends.append(best[ends[-1]][1])
    return ends[::-1]


def _best_last_piece(
    breaking: _Breaking, best: list[tuple[float, int]], end: int, kind: str
) -> tuple[float, int]:
    """The cost of the best pieces up to a break of ``kind`` before ``tokens[end]``, and where
    the last of them starts, from ``best`` up to ``end``; an infinite cost if none fits."""
    tokens, profile, longest = breaking.tokens, breaking.profile, breaking.longest
    begins, speech_end = breaking.timing.begins, breaking.timing.ends[end]
    break_cost = _break_cost(tokens, end, kind)
    found = (float("inf"), 0)
    for start in range(end - 1, -1, -1):
        so_far = best[start][0]
        if so_far == float("inf"):
            continue
        piece = tokens[start:end]
        width = profile.width("".join(piece).strip())
        if end - start > 1 and speech_end - begins[start] > longest:
            break
        arranged = _layout_cached(piece, profile)
        if arranged is None and end - start > 1:
            if width > profile.max_chars * profile.max_lines:
                break
            continue
        line_cost = arranged[0] if arranged else 0.0
        cost = _penalised(
            so_far + _PIECE_COST + break_cost + line_cost, breaking, piece, start, width
        )
        if cost < found[0]:
            found = (cost, start)
    return found


def _penalised(
    cost: float, breaking: _Breaking, piece: tuple[str, ...], start: int, width: float
) -> float:
    """``cost`` of ``piece``, the tokens from ``start``, ``width`` wide, with what a cue too
    short to see or too quick to read adds."""
    end = start + len(piece)
    if width < _SHORT and not (start == 0 and end == len(breaking.tokens)):
        cost += _SHORT_PIECE_COST
    if _too_quick(piece, breaking.profile, breaking.timing, breaking.limits, start, end):
        cost += _TOO_QUICK_COST
    return cost


def _too_quick(
    piece: tuple[str, ...], profile: Profile, timing: Timing, limits: Limits, start: int, end: int
) -> bool:
    """Whether the cue for ``piece`` would be on screen for less than the minimum duration, or
    too short a time to read, given where the next speech starts."""
    following = timing.begins[end] if end < len(timing.begins) - 1 else timing.following
    begin = timing.begins[start]
    shown = limits.shown_until(begin, timing.ends[end], following) - begin
    units = reading_units(display(piece, profile))
    return shown < limits.min_duration or units > profile.max_cps * shown / timing.rate


def speaking_seconds(text: str) -> float:
    """A rough speaking time at normal rate, enough to keep cues under 7 s.

    Digits and % take longer than they look: 12.5% is said 百分之十二点五 or "twelve point
    five percent".

    >>> round(speaking_seconds("今天开会，good news"), 3), round(speaking_seconds("增长12.5%"), 3)
    (1.32, 1.9)
    """
    seconds = 0.0
    for c in text:
        if c.isdigit():
            seconds += SECONDS_PER_DIGIT
        elif c in "%％‰℃":
            seconds += SECONDS_PER_SYMBOL
        elif c.isalnum():
            seconds += SECONDS_PER_LATIN if c.isascii() else SECONDS_PER_HAN
    return seconds


def display(tokens: list[str] | tuple[str, ...], profile: Profile) -> str:
    """One line as shown: with the zh-netflix style no ，。 at the end, an inner ， is a space.

    >>> from voicer.subtitles.profiles import profile_for
    >>> display(["今天", "，", "我们", "开会", "。"], profile_for("zh"))
    '今天 我们开会'
    >>> display(["今天", "，", "我们", "开会", "。"], profile_for("zh", style="plain"))
    '今天，我们开会。'
    """
    text = "".join(tokens).strip()
    if profile.style != "zh-netflix":
        return text
    text = _BEFORE_CLOSER.sub("", text).rstrip("，。、；,;").rstrip()
    text = _INNER_STOP.sub(" ", text)
    return _SPACES.sub(" ", text).strip()


# display() runs for every way of breaking every sentence: its patterns compiled once
_BEFORE_CLOSER = re.compile(f"[，；。](?=[{re.escape(CLOSERS)}])")
_INNER_STOP = re.compile(r"\s*[，；。]\s*")
_SPACES = re.compile(r"\s{2,}")


@lru_cache(maxsize=4096)
def _layout_cached(
    tokens: tuple[str, ...], profile: Profile
) -> tuple[float, tuple[str, ...]] | None:
    """(cost, lines) of the best layout: balanced lines broken at natural points."""
    single = display(tokens, profile)
    if profile.width(single) <= profile.max_chars:
        return 0.0, (single,)
    if profile.max_lines < 2:
        return None
    best: tuple[float, tuple[str, ...]] | None = None
    for split in range(1, len(tokens)):
        kind = _break_kind(list(tokens), split)
        if kind == "never":
            continue
        top = display(tokens[:split], profile)
        rest = _layout_cached(tokens[split:], _fewer_lines(profile))
        if not top or rest is None or profile.width(top) > profile.max_chars:
            continue
        widths = [profile.width(top), *(profile.width(line) for line in rest[1])]
        imbalance = max(widths) - min(widths) + (2 if widths[-1] < widths[0] else 0)
        cost = rest[0] + _break_cost(tokens, split, kind) + _IMBALANCE_COST * imbalance
        if best is None or cost < best[0]:
            best = (cost, (top, *rest[1]))
    return best


@cache
def _fewer_lines(profile: Profile) -> Profile:
    return replace(profile, max_lines=profile.max_lines - 1)


def layout(tokens: list[str] | tuple[str, ...], profile: Profile) -> tuple[str, ...] | None:
    """Lines for one cue: one line when it fits, else balanced lines; None if it cannot fit.

    >>> from voicer.subtitles.profiles import profile_for
    >>> layout(tokenise("我们建成了三个重点实验室，引进各类人才两千余名。"), profile_for("zh"))
    ('我们建成了三个重点实验室', '引进各类人才两千余名')
    """
    found = _layout_cached(tuple(tokens), profile)
    return found[1] if found else None


def _break_cost(tokens: tuple[str, ...] | list[str], split: int, kind: str) -> float:
    """Cost of breaking before ``tokens[split]``; single Han characters bind to their neighbours,
    and so do the words of a phrase (see :func:`binds`)."""
    cost = _BREAK_COST[kind]
    if kind in ("end", "clause"):
        return cost
    before, after = tokens[split - 1], tokens[split]
    if kind == "word" and (_is_single_han(before) or _is_single_han(after)):
        cost += _SINGLE_HAN_COST
    if binds(before, after):
        cost += _PHRASE_COST
    return cost


@lru_cache(maxsize=8192)
def binds(before: str, after: str) -> bool:
    """Whether ``before`` and ``after`` belong to one phrase that a line or cue break would cut.

    >>> binds("向", "奋战"), binds("三", "个"), binds("成长", "起来"), binds("什么", "“")
    (True, True, True, True)
    >>> binds("条条", "绽出"), binds("科研", "一线"), binds("增长", "，")
    (True, False, False)
    """
    before_tag, after_tag = _tag(before), _tag(after)
    return (
        before_tag == "p"
        or before in _INTRODUCERS
        or (len(before) == 2 and before[0] == before[1] and _is_single_han(before[0]))
        or (after_tag == "q" and (before_tag == "m" or bool(_NUMERAL.search(before))))
        or after_tag.startswith("u")
        or after in _DIRECTIONS
        or after == "们"
    )


def _tag(word: str) -> str:
    """jieba's part-of-speech tag of a word in its dictionary ("" when it has none)."""
    return _tags().get(word, "")


_KEPT_TAGS = re.compile(r"[pqm]|u\w*")  # the tags binds() asks about


@cache
def _tags() -> dict[str, str]:
    """jieba's tags of the words :func:`binds` asks about (prepositions, numerals, measure
    words, particles). Reading them from ``jieba.posseg`` parses its whole table of 349,000
    words, 0.85 s at every start, so the 13,500 kept are stored once in voicer's cache folder
    for each jieba version and read back from there in milliseconds."""
    _segmenter()  # jieba imported and set up as voicer wants it
    import jieba

    stored = files.cache_folder() / f"jieba-tags-{jieba.__version__}.json"
    with contextlib.suppress(ValueError):
        kept = files.read_own_file(stored, files.MAX_TEXT_BYTES)
        if kept is not None:
            tags: dict[str, str] = json.loads(kept)
            return tags
    import jieba.posseg

    table = jieba.posseg.dt.word_tag_tab
    tags = {word: tag for word, tag in table.items() if _KEPT_TAGS.fullmatch(tag)}
    with contextlib.suppress(OutputError):  # a cache that cannot be written is read next time
        files.write_atomically(stored, json.dumps(tags, ensure_ascii=False))
    return tags


def _is_single_han(token: str) -> bool:
    return len(token) == 1 and "\u4e00" <= token <= "\u9fff"
