"""Reading a speech written in Markdown (``.md``): what is said, one paragraph per line.

Headings become paragraphs of their own (so they get the paragraph pause), the lines of a
wrapped paragraph are joined, list items are read as items (an ordered item keeps its number,
as 1、 in Chinese), bold and code marks are dropped (single-mark emphasis only around Latin
text, since a lone * in a Chinese draft is a placeholder), links are read as their text, and
images, code blocks, HTML comments and rules are not read at all. voicer's own markup
(``[pause 1s]`` and the like) passes through.
"""

from __future__ import annotations

import re

_FENCE = re.compile(r"^\s*(```|~~~)")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$")
_RULE = re.compile(r"^\s{0,3}([-*_])(\s*\1){2,}\s*$")
_BULLET = re.compile(r"^\s*[-*+]\s+(.*)$")
_NUMBERED = re.compile(r"^\s*(\d{1,3})[.)]\s+(.*)$")
_QUOTE = re.compile(r"^\s*>\s?")
_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_STRONG = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
# single-mark emphasis only around Latin text: in Chinese drafts a lone * is a placeholder
_EMPHASIS = re.compile(
    r"(?<![\w*])([*_])(?=[^\s\u3400-\u9fff])([^*_\n\u3400-\u9fff]+?)(?<=\S)\1(?![\w*])"
)
_CODE = re.compile(r"`([^`\n]+)`")
_HAN = re.compile(r"[\u3400-\u9fff]")


def to_plain(markdown: str) -> str:
    """The speech in a Markdown document, one paragraph per line.

    >>> draft = "# 一、总体情况\\n\\n今年**经济**运行\\n稳中向好。\\n\\n1. 第一项\\n2. 第二项\\n"
    >>> print(to_plain(draft), end="")
    一、总体情况
    今年经济运行稳中向好。
    1、第一项
    2、第二项
    """
    paragraphs: list[str] = []
    current: list[str] = []
    in_code = False
    for line in _COMMENT.sub("", markdown).split("\n"):
        if _FENCE.match(line):
            in_code = not in_code
            continue
        if in_code:
            continue
        item = _block(line)
        if item is None:  # a blank line or a rule ends a paragraph
            _close(paragraphs, current)
        elif item[1]:  # a heading or a list item stands alone
            _close(paragraphs, current)
            paragraphs.append(_inline(item[0]))
        else:
            current.append(item[0].strip())
    _close(paragraphs, current)
    return "\n".join(p for p in paragraphs if p) + "\n"


def _block(line: str) -> tuple[str, bool] | None:
    """(text, stands alone) for one line, or None for a line that ends a paragraph."""
    line = _QUOTE.sub("", line)
    if not line.strip() or _RULE.match(line):
        return None
    if heading := _HEADING.match(line):
        return heading[1], True
    if bullet := _BULLET.match(line):
        return bullet[1], True
    if numbered := _NUMBERED.match(line):
        separator = "、" if _HAN.search(numbered[2]) else ". "
        return f"{numbered[1]}{separator}{numbered[2]}", True
    return line, False


def _close(paragraphs: list[str], current: list[str]) -> None:
    """Join the lines of a wrapped paragraph: no space between Chinese lines, one otherwise."""
    if not current:
        return
    joined = current[0]
    for line in current[1:]:
        cjk_join = (
            _HAN.match(joined[-1:]) or _HAN.match(line[:1]) or joined[-1:] in "，。、；：！？"
        )
        joined += line if cjk_join else f" {line}"
    paragraphs.append(_inline(joined))
    current.clear()


def _inline(text: str) -> str:
    text = _IMAGE.sub("", text)
    text = _LINK.sub(r"\1", text)
    text = _CODE.sub(r"\1", text)
    text = _STRONG.sub(r"\2", text)
    return _EMPHASIS.sub(r"\2", text).strip()
