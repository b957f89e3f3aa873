"""Reading a speech written in Markdown (``.md``): what is said, one paragraph per line, and
where in the file each character was written.

The document is parsed as CommonMark (markdown-it-py), with tables and ~~strikethrough~~:

- Headings (``#`` and underlined), paragraphs, list items and table rows each become a line of
  the plain text, so a paragraph of voicer's own; the lines of a wrapped paragraph are joined
  (no space between Chinese lines, one otherwise), and a hard line break starts a new line.
  An ordered list item keeps its number (``1、`` before Chinese text, ``1. `` otherwise).
- Emphasis, bold, strikethrough, inline code and links (inline, reference and autolinks) are
  read as their text; block quotes as the paragraphs inside them.
- Images, code blocks (fenced or indented), HTML (blocks, comments and inline tags; the text
  between inline tags is read), link definitions and rules are not read; neither are the
  underlines of headings and the pipes of tables.
- A table row is read as its non-empty cells, separated by ``，`` in a document with Chinese
  text and by ``, `` otherwise.
- A single ``*`` is never emphasis: in a draft it stands for a figure still to come
  (``*市``, ``增长*%``); ``**bold**`` is bold, and ``_word_`` emphasis. Next to Chinese text
  they follow the CJK-friendly amendment to CommonMark (:mod:`voicer.script.cjk_emphasis`), so
  ``增长**5.2%**左右`` is bold where CommonMark leaves its stars in the text.
- Escaped characters (``\\*``, ``\\[``) and inline code are text as written: they never form a
  placeholder, and a ``[`` among them is written ``[[`` (voicer markup's literal ``[``).
  Unescaped voicer markup (``[pause 1s]``, ``[# note]``) passes through unchanged.

Every character of the plain text is mapped back to its line and column in the file, so that
errors, findings and sentences are reported where the author wrote them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from markdown_it import MarkdownIt
from markdown_it.rules_inline import StateInline, emphasis, image, link, strikethrough
from markdown_it.token import Token

from voicer.model import SourceMap
from voicer.script.cjk_emphasis import cjk_friendly

_HAN = re.compile(r"[\u3400-\u9fff]")
_JOINS_WITHOUT_SPACE = "，。、；：！？"  # after these a wrapped Chinese line goes straight on


@dataclass(frozen=True)
class Plain:
    """The speech in a Markdown document: ``text``, one paragraph per line; ``positions``,
    where each of its characters is in the document; ``literal``, the offsets of characters
    written as text to be taken as it is (escaped, or inline code)."""

    text: str
    positions: SourceMap
    literal: frozenset[int]


def to_plain(markdown: str) -> str:
    """The speech in a Markdown document, one paragraph per line.

    >>> draft = "# 一、总体情况\\n\\n今年**经济**运行\\n稳中向好。\\n\\n1. 第一项\\n2. 第二项\\n"
    >>> print(to_plain(draft), end="")
    一、总体情况
    今年经济运行稳中向好。
    1、第一项
    2、第二项
    """
    return read_markdown(markdown).text


def read_markdown(markdown: str) -> Plain:
    """The speech in a Markdown document with the map back to the document.

    >>> plain = read_markdown("标题\\n===\\n\\n| a | b |\\n|---|---|\\n| 1 | 增长*% |\\n")
    >>> plain.text
    '标题\\na，b\\n1，增长*%\\n'
    >>> plain.positions.locate(3, 5)  # the *
    (6, 9)
    """
    lines = markdown.split("\n")
    separator = "，" if _HAN.search(markdown) else ", "
    written = [line for line in _lines(_PARSER.parse(markdown), lines, separator) if line]
    return _joined(written, len(lines))


# One character of the plain text: itself, its source line and column (1-based), and whether
# it is text to be taken as it is.
_Char = tuple[str, int, int, bool]


def _lines(tokens: list[Token], source: list[str], separator: str) -> Iterator[list[_Char]]:
    """The plain lines of a parsed document, each stripped of surrounding spaces."""
    number: list[_Char] = []  # an ordered list item's number, for its first paragraph
    row = _Row(source)
    for index, token in enumerate(tokens):
        if token.type == "list_item_open" and token.info and _opens(tokens, index + 1):
            number = _item_number(token, source)
        elif token.type == "tr_open":
            row = _Row(source)
        elif token.type == "tr_close":
            yield row.read(separator)
        elif token.type == "inline" and tokens[index - 1].type in ("th_open", "td_open"):
            row.add(token)
        elif token.type == "inline":
            first, *more = _read_inline(token, _block_origins(token, source))
            yield _stripped(_numbered(number, first) if number and first else first)
            yield from map(_stripped, more)
            number = []


def _opens(tokens: list[Token], index: int) -> bool:
    return index < len(tokens) and tokens[index].type == "paragraph_open"


def _item_number(item: Token, source: list[str]) -> list[_Char]:
    """An ordered list item's number and mark (``1.``, ``2)``), at their place."""
    line = item.map[0] if item.map else 0
    written = source[line] if line < len(source) else ""
    at = max(written.find(item.info + item.markup), 0)
    return [(c, line + 1, at + i + 1, False) for i, c in enumerate(item.info + item.markup)]


def _numbered(number: list[_Char], text: list[_Char]) -> list[_Char]:
    """An item's text after its number: ``1、`` before Chinese, ``1. `` otherwise, the mark
    at the place of the one written."""
    *digits, (_, line, column, _) = number
    if _HAN.search("".join(c[0] for c in text)):
        return [*digits, ("、", line, column, False), *text]
    return [*digits, (".", line, column, False), (" ", line, column + 1, False), *text]


def _stripped(line: list[_Char]) -> list[_Char]:
    start, end = 0, len(line)
    while start < end and line[start][0] == " ":
        start += 1
    while end > start and line[end - 1][0] == " ":
        end -= 1
    return line[start:end]


class _Row:
    """A table row: its cells found one after another in its line of the source."""

    def __init__(self, source: list[str]) -> None:
        self.source = source
        self.cells: list[list[_Char]] = []
        self.column = 0  # in the row's line, past the cells found so far

    def add(self, cell: Token) -> None:
        line = cell.map[0] if cell.map else 0
        written = self.source[line] if line < len(self.source) else ""
        columns = _columns(cell.content, written, self.column, suffix=False)
        self.column = columns[-1]
        origins = [(line + 1, column + 1) for column in columns]
        self.cells.append(_stripped([c for part in _read_inline(cell, origins) for c in part]))

    def read(self, separator: str) -> list[_Char]:
        """The non-empty cells, each separator at the pipe before the next cell."""
        read: list[_Char] = []
        for cell in filter(None, self.cells):
            if read:
                _, line, column, _ = cell[0]
                pipe = self.source[line - 1].rfind("|", 0, column - 1) + 1 or column
                read += [(c, line, pipe, False) for c in separator]
            read += cell
        return read


def _block_origins(block: Token, source: list[str]) -> list[tuple[int, int]]:
    """The source line and column of every character of a block's inline content (and of
    its end): its lines are those of the block, less what Markdown strips from their start
    (indentation, ``>``, list marks, ``#``)."""
    first = block.map[0] if block.map else 0
    origins = []
    for number, part in enumerate(block.content.split("\n"), start=first):
        written = source[number] if number < len(source) else ""
        origins += [(number + 1, column + 1) for column in _columns(part, written, 0)]
    return origins


def _columns(part: str, written: str, start: int, suffix: bool = True) -> list[int]:
    """The 0-based column in ``written`` of each character of ``part`` and of its end:
    ``part`` ends the line, or is found in it from ``start``, or else its characters are
    matched one by one (a table cell's ``\\|`` is ``|`` in its content)."""
    kept = part.rstrip()
    line_end = len(written.rstrip())
    if suffix and kept and written.rstrip().endswith(kept):
        at = line_end - len(kept)
    else:
        at = written.find(part, start)
    if at >= 0:
        return list(range(at, at + len(part) + 1))
    columns, column = [], start
    for character in part:
        found = written.find(character, column)
        column = found if found >= 0 else column
        columns.append(column)
    return [*columns, min(column + 1, len(written))]


def _read_inline(block: Token, origins: list[tuple[int, int]]) -> list[list[_Char]]:
    """The text of an inline block as lines of characters (a hard break starts a line)."""
    reader = _InlineReader(block.content, origins)
    for child in block.children or []:
        reader.read(child)
    return reader.lines


class _InlineReader:
    """Walks an inline block's tokens, finding each in the block's content from where the one
    before ended, so that every character read keeps its place in the source."""

    def __init__(self, content: str, origins: list[tuple[int, int]]) -> None:
        self.content = content
        self.origins = origins
        self.cursor = 0  # in content: everything before it is accounted for
        self.lines: list[list[_Char]] = [[]]
        self.wrap: int | None = None  # a soft break not yet written (where it is)
        self.in_autolink = False

    def read(self, token: Token) -> None:
        handler = self._HANDLERS.get(token.type)
        if handler is not None:
            handler(self, token)
        elif token.markup:  # emphasis, strong, strikethrough: skip their marks
            self._skip(token.markup)

    def _text(self, token: Token) -> None:
        at = self._find(token.content)
        self._write(token.content, at, literal=self.in_autolink)
        self.cursor = at + len(token.content)

    def _escaped(self, token: Token) -> None:
        """``\\*`` is ``*``, ``&amp;`` is ``&``: text as written, at the character or ``&``."""
        at = self._find(token.markup)
        self._write(token.content, at + (token.info == "escape"), literal=True, spread=False)
        self.cursor = at + len(token.markup)

    def _code(self, token: Token) -> None:
        opening = self._find(token.markup)
        self.cursor = opening + len(token.markup)
        at = self._find(token.content)
        self._write(token.content, at, literal=True)
        self.cursor = at + len(token.content)
        self._skip(token.markup)

    def _soft_break(self, token: Token) -> None:
        self.wrap = self._find("\n")
        self.cursor = self.wrap + 1

    def _hard_break(self, token: Token) -> None:
        self.cursor = self._find("\n") + 1
        self.lines.append([])
        self.wrap = None

    def _skip_source(self, token: Token) -> None:
        """HTML is not read."""
        self.cursor = self._find(token.content) + len(token.content)

    def _link_open(self, token: Token) -> None:
        self.in_autolink = token.markup == "autolink"
        self._skip("<" if self.in_autolink else "[")

    def _link_close(self, token: Token) -> None:
        if self.in_autolink:
            self._skip(">")
            self.in_autolink = False
        else:
            self._past(token)

    def _past(self, token: Token) -> None:
        """Past a link's destination, or a whole image: the parser noted where it ended."""
        self.cursor = max(self.cursor, token.meta.get("end", self.cursor))

    _HANDLERS: dict[str, Callable[[_InlineReader, Token], None]] = {
        "text": _text,
        "text_special": _escaped,
        "code_inline": _code,
        "softbreak": _soft_break,
        "hardbreak": _hard_break,
        "html_inline": _skip_source,
        "link_open": _link_open,
        "link_close": _link_close,
        "image": _past,
    }

    def _find(self, part: str) -> int:
        """Where ``part`` starts in the content from the cursor (the cursor when not found,
        as for an autolink's text, which the parser may have decoded)."""
        at = self.content.find(part, self.cursor)
        return self.cursor if at < 0 else at

    def _skip(self, mark: str) -> None:
        self.cursor = self._find(mark) + len(mark)

    def _write(self, text: str, at: int, literal: bool, spread: bool = True) -> None:
        """``text`` found at ``at``, each character at its place (at ``at`` when not
        ``spread``); a literal ``[`` is written ``[[``."""
        line = self.lines[-1]
        if self.wrap is not None and text:
            if line and not _joins_without_space(line[-1][0], text[0]):
                line.append((" ", *self._origin(self.wrap), False))
            self.wrap = None
        for index, character in enumerate(text):
            if character == " " and not literal and (not line or line[-1][0] == " "):
                continue  # one space where an image or a tag between two was not read
            origin = self._origin(at + index if spread else at)
            line.append((character, *origin, literal))
            if literal and character == "[":
                line.append((character, *origin, literal))

    def _origin(self, offset: int) -> tuple[int, int]:
        return self.origins[min(offset, len(self.origins) - 1)]


def _joins_without_space(before: str, after: str) -> bool:
    return bool(_HAN.match(before) or _HAN.match(after)) or before in _JOINS_WITHOUT_SPACE


def _joined(lines: list[list[_Char]], source_lines: int) -> Plain:
    """The plain text of ``lines``, its map back to the source and its literal characters."""
    runs: list[tuple[tuple[int, int, int], ...]] = []
    literal: set[int] = set()
    offset = 0
    for line in lines:
        runs.append(_runs(line))
        literal.update(offset + i for i, c in enumerate(line) if c[3])
        offset += len(line) + 1
    runs.append(((1, source_lines, 1),))  # the empty line after the last newline
    text = "".join(c[0] for line in lines for c in [*line, ("\n", 0, 0, False)])
    return Plain(text or "\n", SourceMap(tuple(runs)), frozenset(literal))


def _runs(line: list[_Char]) -> tuple[tuple[int, int, int], ...]:
    """The runs of a line: where its characters stop following one another in the source."""
    runs: list[tuple[int, int, int]] = []
    for column, (_, source_line, source_column, _) in enumerate(line, start=1):
        if runs:
            start, last_line, last_column = runs[-1]
            if (source_line, source_column) == (last_line, last_column + column - start):
                continue
        runs.append((column, source_line, source_column))
    return tuple(runs)


def _lone_star(state: StateInline, silent: bool) -> bool:
    """A single ``*`` is text, not emphasis: in drafts it stands for a figure to come."""
    if state.src[state.pos] != "*" or state.src[state.pos + 1 : state.pos + 2] == "*":
        return False
    if not silent:
        state.pending += "*"
    state.pos += 1
    return True


def _noting_end(rule: Callable[[StateInline, bool], bool]) -> Callable[[StateInline, bool], bool]:
    """``rule`` (link or image), noting on the last token it makes where its source ends."""

    def noted(state: StateInline, silent: bool) -> bool:
        made = len(state.tokens)
        found = rule(state, silent)
        if found and not silent and len(state.tokens) > made:
            state.tokens[-1].meta["end"] = state.pos
        return found

    return noted


def _parser() -> MarkdownIt:
    parser = MarkdownIt("commonmark").enable(["table", "strikethrough"])
    parser.inline.ruler.before("emphasis", "lone_star", _lone_star)
    parser.inline.ruler.at("emphasis", cjk_friendly(emphasis.tokenize))
    parser.inline.ruler.at("strikethrough", cjk_friendly(strikethrough.tokenize))
    parser.inline.ruler.at("link", _noting_end(link))
    parser.inline.ruler.at("image", _noting_end(image))
    parser.core.ruler.disable("text_join")  # keep escapes apart from the text around them
    return parser


_PARSER = _parser()
