"""Unfilled placeholders in a draft speech: finding them, and filling them in.

Drafts often arrive with gaps for figures and names still to come: ``全市GDP增长*%``,
``居全省第X位``, ``××同志``, ``【待补充】``, ``{city}``. Spoken, such a gap is nonsense ("增长星号
百分号"), so voicer reports every one with its line and column before anything is synthesised,
and can fill them from ``--fill KEY=VALUE`` or a fill file.

What counts as a placeholder is a list of regular expressions, ``DEFAULT_PATTERNS``, each
documented where it is defined. A pattern with a group named ``key`` gives the placeholder's key
(``{city}`` -> ``city``); otherwise the key is the placeholder's text (``*``, ``XX``, ``【待定】``).
Where two patterns match overlapping text, the match that starts first wins, then the longer one.
A line with no letter or digit at all (``***``, ``______``, ``————``) is a decoration, which
voicer does not speak either, and holds no placeholder.

Filling (``fill``; ``unfilled`` lists what it would leave, at the original positions),
decided here once:

- ``values`` maps a key to one value or to a list of values. ``parse_fills`` and
  ``load_fill_file`` give lists: ``--fill '*=上海' --fill '*=5.2'`` is ``{"*": ["上海", "5.2"]}``.
- A key with a **single value** fills every occurrence of that key.
- A key with **several values** fills its occurrences one by one, in the order of the text:
  the first ``*`` gets ``上海``, the second ``5.2``. Occurrences left over stay as they are.
- A key ``LINE:COLUMN`` (1-based, as reported) fills the one placeholder that starts there, and
  takes that occurrence out of the order above: with ``--fill 1:3=上海 --fill '*=5.2'`` the
  placeholder at 1:3 gets 上海 and every other ``*`` gets 5.2.
- A key written as ``{name}`` or ``{{name}}`` means ``name``.
- Values are inserted verbatim and never searched again for placeholders.
- Running short of values is not an error: ``fill`` fills what it can, and
  ``find_placeholders`` on the result reports the rest. With ``strict=True`` (the default) a
  key that names no placeholder in the text, a ``LINE:COLUMN`` where none starts, or more
  values than there are occurrences is an ``InputError`` (a typo would otherwise go unnoticed);
  ``strict=False`` ignores them (a fill file shared by several drafts).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from voicer import files
from voicer.errors import InputError
from voicer.script.reading import decode

_LATIN = "A-Za-zＡ-Ｚａ-ｚ"  # letters of a Latin word, ASCII and full-width
_NOTE_WORDS = "待|补|填|定|确认|核实|数据|TBD|TBC|TODO"  # editorial notes in 【】〔〕［］〖〗
_PAREN_WORDS = "待[定补填查核确更议]|补充|填写|TBD|TBC|TODO"  # stricter: （） are everyday text
_X_WORDS = "光|射线|线|轴|型|染色体|战警|因子|平台"  # X光, X射线, X轴 ...: X as a letter


def _bracketed(opening: str, closing: str, words: str) -> str:
    """A note in the given brackets that is empty or contains one of ``words``."""
    inner = f"[^{opening}{closing}\\n]"
    return f"{opening}\\s*{closing}|{opening}{inner}*?(?:{words}){inner}*{closing}"


DEFAULT_PATTERNS: tuple[str, ...] = (
    # {{name}} template field (key: name); spaces inside the braces allowed.
    r"\{\{\s*(?P<key>[^{}\s]+)\s*\}\}",
    # {name} template field (key: name).
    r"\{\s*(?P<key>[^{}\s]+)\s*\}",
    # * or ＊ (a run of them), except between two ASCII letters or digits (5*3, a*b), and
    # except a run with a space or the line start before it and a space after it
    # (a "* " bullet, "a * b").
    r"(?<![*＊])(?!(?<![^ \n])[*＊]+ )(?:(?<![0-9A-Za-z])[*＊]++|[*＊]++(?![0-9A-Za-z]))",
    # XX, XXX, xx, ＸＸ: two or more, not part of a Latin word (XXL, Windows XP) and not after a
    # Latin word and a space ("Chapter XX"); 20XX年 and XX市 count.
    rf"(?<![{_LATIN}])(?<![A-Za-z0-9] )[XxＸｘ]{{2,}}(?![{_LATIN}])(?! [A-Za-z])",
    # A single X or Ｘ, by the same rules (not iPhone X, SpaceX, X-ray), and not one of the
    # words X光, X射线, X线, X轴, X型, X染色体, X战警, X因子, X平台.
    rf"(?<![{_LATIN}])(?<![A-Za-z0-9] )[XＸ](?![{_LATIN}\-])(?! [A-Za-z])(?!{_X_WORDS})",
    # ××, ××× (the multiplication sign, two or more; a single × multiplies).
    r"×{2,}",
    # □□ and □: the empty square printed for a character still unknown.
    r"□+",
    # 某某, 某某某 (a single 某, as in 某些 or 某种, is an ordinary word).
    r"某{2,}",
    # 【待定】, 【待补充】, 【数据】, 【】: an editorial note in 【】, 〔〕, ［］ or 〖〗
    # that is empty or contains 待, 补, 填, 定, 确认, 核实, 数据, TBD, TBC or TODO
    # (国发〔2024〕1号 does not).
    "|".join(_bracketed(o, c, _NOTE_WORDS) for o, c in ("【】", "〔〕", "［］", "〖〗")),
    # （待定）, (待补充): a note in parentheses with 待定, 待补, 待填, 待查, 待核, 待确认, 待更新,
    # 待议, 补充, 填写, TBD, TBC or TODO; parentheses are everyday text, so the list is stricter.
    _bracketed("（", "）", _PAREN_WORDS) + "|" + _bracketed(r"\(", r"\)", _PAREN_WORDS),
    # ___ : three or more underscores (ASCII or full-width) as a blank to fill.
    r"[_＿]{3,}",
    # [TBD], [TBC], [TODO], [TK] in square brackets.
    r"\[(?:TBD|TBC|TODO|TK)\]",
    # TBD, TBC, TODO, FIXME, XXX as words of their own (in English text too).
    r"(?<![A-Za-z0-9_])(?:TBD|TBC|TODO|FIXME|XXX+)(?![A-Za-z0-9_])",
)

POSITION_KEY = re.compile(r"(\d+):(\d+)")  # a --fill key naming a placeholder by LINE:COLUMN
_BRACED_KEY = re.compile(r"\{\{?\s*([^{}\s]+)\s*\}\}?")


@dataclass(frozen=True)
class Placeholder:
    """One placeholder: where it is (1-based line and column, 0-based offset) and its key."""

    line: int
    column: int
    offset: int
    text: str
    key: str  # what --fill KEY=VALUE names: the text itself, or the name of a {field}

    @property
    def end(self) -> int:
        """The offset just past the placeholder."""
        return self.offset + len(self.text)

    @property
    def position(self) -> str:
        """``LINE:COLUMN``, as reports show it and as ``--fill`` accepts it."""
        return f"{self.line}:{self.column}"


@lru_cache(maxsize=64)
def _compiled(patterns: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(pattern) for pattern in patterns)


def find_placeholders(
    text: str, patterns: Sequence[str] = DEFAULT_PATTERNS, *, literal: Collection[int] = ()
) -> list[Placeholder]:
    """Every placeholder in ``text``, in order, none overlapping another, and none holding a
    character at an offset in ``literal`` (text to be taken as it is, such as ``\\*`` in
    Markdown).

    >>> [(p.position, p.text, p.key) for p in find_placeholders("全市增长*%，居第X位。{city}")]
    [('1:5', '*', '*'), ('1:10', 'X', 'X'), ('1:13', '{city}', 'city')]
    >>> find_placeholders("X光检查，iPhone X，5*3，某些地方")
    []
    >>> [p.position for p in find_placeholders("*注，*市", literal={0})]
    ['1:4']
    """
    matches = sorted(
        (m.start(), -len(m.group()), index, m)
        for index, pattern in enumerate(_compiled(tuple(patterns)))
        for m in pattern.finditer(text)
        if m.group() and not any(offset in literal for offset in range(m.start(), m.end()))
    )
    found: list[Placeholder] = []
    for start, _, _, match in matches:
        if (found and start < found[-1].end) or _on_decoration_line(text, start):
            continue
        found.append(_placeholder(text, match))
    return found


def _placeholder(text: str, match: re.Match[str]) -> Placeholder:
    start = match.start()
    line_start = text.rfind("\n", 0, start) + 1
    key = match.group("key") if "key" in match.re.groupindex else match.group()
    return Placeholder(
        line=text.count("\n", 0, start) + 1,
        column=start - line_start + 1,
        offset=start,
        text=match.group(),
        key=key,
    )


def _on_decoration_line(text: str, offset: int) -> bool:
    """True when the line around ``offset`` has no letter or digit (``***``, ``______``)."""
    start = text.rfind("\n", 0, offset) + 1
    end = text.find("\n", offset)
    line = text[start : end if end >= 0 else len(text)]
    return not any(c.isalnum() for c in line)


def context(text: str, placeholder: Placeholder, width: int = 12) -> str:
    """Up to ``width`` characters either side of ``placeholder`` on its line, ``…`` where cut.

    >>> draft = "今年以来，全市GDP增长*%，居全省第*位。"
    >>> context(draft, find_placeholders(draft)[0], width=7)
    '…全市GDP增长*%，居全省第*…'
    """
    line_start = text.rfind("\n", 0, placeholder.offset) + 1
    line_end = text.find("\n", placeholder.end)
    line_end = len(text) if line_end < 0 else line_end
    start = max(line_start, placeholder.offset - width)
    end = min(line_end, placeholder.end + width)
    before = text[start : placeholder.offset]
    after = text[placeholder.end : end]
    before = "…" + before if text[line_start:start].strip() else before.lstrip()
    after = after + "…" if text[end:line_end].strip() else after.rstrip()
    return before + placeholder.text + after


def fill(
    text: str,
    values: Mapping[str, str | Sequence[str]],
    patterns: Sequence[str] = DEFAULT_PATTERNS,
    *,
    strict: bool = True,
    literal: Collection[int] = (),
) -> str:
    """``text`` with placeholders replaced from ``values`` (rules in the module docstring).

    >>> fill("增长*%，第*位，*市", {"*": ["5.2", "3"]})
    '增长5.2%，第3位，*市'
    >>> fill("增长*%，第*位", {"*": "?", "1:7": "3"})
    '增长?%，第3位'
    """
    pieces: list[str] = []
    done = 0
    for placeholder, value in filling(text, values, patterns, strict=strict, literal=literal):
        pieces += [text[done : placeholder.offset], value]
        done = placeholder.end
    return "".join(pieces) + text[done:]


def filling(
    text: str,
    values: Mapping[str, str | Sequence[str]],
    patterns: Sequence[str] = DEFAULT_PATTERNS,
    *,
    strict: bool = True,
    literal: Collection[int] = (),
) -> list[tuple[Placeholder, str]]:
    """The placeholders ``fill`` with the same arguments replaces, each with its value.

    >>> [(p.position, value) for p, value in filling("增长*%，第*位，*市", {"*": ["5.2", "3"]})]
    [('1:3', '5.2'), ('1:7', '3')]
    """
    found = find_placeholders(text, patterns, literal=literal)
    chosen = _choose(found, _as_lists(values), strict)
    return [(p, chosen[p.offset]) for p in found if p.offset in chosen]


def unfilled(
    text: str,
    values: Mapping[str, str | Sequence[str]],
    patterns: Sequence[str] = DEFAULT_PATTERNS,
    *,
    strict: bool = True,
    literal: Collection[int] = (),
) -> list[Placeholder]:
    """The placeholders of ``text`` that ``fill`` with the same arguments leaves as they are.

    Their lines and columns are those of ``text``, before filling: what a report should cite.

    >>> [p.position for p in unfilled("增长*%，第*位，*市", {"*": ["5.2", "3"]})]
    ['1:10']
    """
    found = find_placeholders(text, patterns, literal=literal)
    chosen = _choose(found, _as_lists(values), strict)
    return [p for p in found if p.offset not in chosen]


def _as_lists(values: Mapping[str, str | Sequence[str]]) -> dict[str, list[str]]:
    lists: dict[str, list[str]] = {}
    for key, value in values.items():
        more = [value] if isinstance(value, str) else list(value)
        lists.setdefault(_normal_key(key), []).extend(more)
    return {key: value for key, value in lists.items() if value}


def _choose(found: list[Placeholder], values: dict[str, list[str]], strict: bool) -> dict[int, str]:
    """The value for each placeholder to fill, by offset."""
    chosen: dict[int, str] = {}
    problems: list[str] = []
    by_position = {p.position: p for p in found}
    for key, given in values.items():
        if POSITION_KEY.fullmatch(key):
            if key not in by_position:
                problems.append(f"no placeholder starts at {key}")
            elif len(given) > 1:
                problems.append(f"{len(given)} values for the one placeholder at {key}")
            else:
                chosen[by_position[key].offset] = given[0]
    for key, given in values.items():
        if POSITION_KEY.fullmatch(key):
            continue
        problems += _choose_for_key(found, key, given, chosen)
    if strict and problems:
        raise InputError("--fill: " + "; ".join(problems))
    return chosen


def _choose_for_key(
    found: list[Placeholder], key: str, given: list[str], chosen: dict[int, str]
) -> list[str]:
    """Fill the occurrences of ``key`` not taken by a position; return what was wrong."""
    if not any(p.key == key for p in found):
        return [f"no placeholder {key!r} in the text"]
    open_ = [p for p in found if p.key == key and p.offset not in chosen]
    if len(given) == 1:
        chosen.update((p.offset, given[0]) for p in open_)
        return []
    chosen.update((p.offset, value) for p, value in zip(open_, given, strict=False))
    if len(given) > len(open_):
        return [f"{len(given)} values for {key!r} but {len(open_)} such placeholders to fill"]
    return []


def _normal_key(key: str) -> str:
    """A key as ``fill`` matches it: stripped, ``{name}`` and ``{{name}}`` as ``name``.

    >>> _normal_key(" {{ city }} "), _normal_key("*")
    ('city', '*')
    """
    key = key.strip()
    braced = _BRACED_KEY.fullmatch(key)
    return braced.group(1) if braced else key


def parse_fills(pairs: Sequence[str]) -> dict[str, list[str]]:
    """``KEY=VALUE`` strings (from ``--fill``) as a list of values per key, in order.

    The first ``=`` separates key from value; both are stripped of surrounding spaces.

    >>> parse_fills(["*=上海", "*=5.2", "{city}=a=b", "2:5= 3 "])
    {'*': ['上海', '5.2'], 'city': ['a=b'], '2:5': ['3']}
    """
    return _collect((pair, *_split_pair(pair, "=")) for pair in pairs)


def _split_pair(pair: str, separator: str) -> tuple[str, str] | tuple[None, None]:
    key, found, value = pair.partition(separator)
    if not found or not key.strip():
        return None, None
    return _normal_key(key), value.strip()


def _collect(entries: Iterable[tuple[str, str | None, str | None]]) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for where, key, value in entries:
        if key is None or value is None:
            raise InputError(
                f"--fill {where!r}: expected KEY=VALUE, e.g. --fill '*=上海' or --fill '3:12=5.2'"
            )
        values.setdefault(key, []).append(value)
    return values


def fill_values(
    path: Path | None, given: Mapping[str, str | Sequence[str]] | None = None
) -> dict[str, list[str]]:
    """The values of a fill file (if any), then ``given`` added after the file's, key by key:
    what ``--fill-file`` and ``--fill`` give together.

    >>> fill_values(None, {"*": "上海", "{city}": ["北京"]})
    {'*': ['上海'], 'city': ['北京']}
    """
    values = load_fill_file(path) if path else {}
    for key, value in (given or {}).items():
        more = [value] if isinstance(value, str) else list(value)
        values.setdefault(_normal_key(key), []).extend(more)
    return values


def load_fill_file(path: Path) -> dict[str, list[str]]:
    """Values from a fill file: TOML when the name ends in ``.toml``, else one pair a line.

    TOML: top-level keys, each a string or a list of strings (``"*" = ["上海", "5.2"]``).
    Otherwise every line is ``KEY=VALUE`` or ``KEY<tab>VALUE`` (a line with a tab splits at
    the first tab); blank lines and lines starting with ``#`` are skipped, and a key given on
    several lines collects its values in order. Text is read like a script (UTF-8, UTF-16
    with a BOM, GB18030).
    """
    text = decode(files.read_input(path, "fill file"), str(path))
    if path.suffix.lower() == ".toml":
        return _from_toml(text, path)
    return _from_lines(text, path)


def _from_lines(text: str, path: Path) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, value = _split_pair(line, "\t" if "\t" in line else "=")
        if key is None or value is None:
            raise InputError(
                f"expected KEY=VALUE or KEY<tab>VALUE, got {line.strip()!r}",
                source=str(path),
                line=number,
            )
        values.setdefault(key, []).append(value)
    return values


def _from_toml(text: str, path: Path) -> dict[str, list[str]]:
    try:
        table = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise files.toml_error(error, path) from None
    values: dict[str, list[str]] = {}
    for key, value in table.items():
        given = [value] if isinstance(value, str) else value
        if not isinstance(given, list) or not all(isinstance(v, str) for v in given):
            raise InputError(
                f'{path}: {key!r} must be a string or a list of strings (quote numbers: "5.20")'
            )
        values.setdefault(_normal_key(key), []).extend(given)
    return values
