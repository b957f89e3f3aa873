"""Emphasis next to Chinese text, for markdown-it-py: the CJK-friendly amendment to
CommonMark's flanking rules (github.com/tats-u/markdown-cjk-friendly), narrowly.

CommonMark decides whether ``**`` opens or closes from the characters either side. A run
after punctuation closes only before a space or more punctuation, so in ``增长**5.2%**左右``
the second ``**`` (after ``%``, before ``左``) closes nothing, and both stay in the text as
stars, where a draft's ``*`` means a figure still to come. The amendment lets a CJK character
stand where CommonMark asks for a space or punctuation, and takes CJK punctuation (``，``,
``（``) for letters. Variation selectors after a CJK character are not looked through (a
narrowing of the amendment that Chinese speeches do not need).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from functools import partial

from markdown_it.common.utils import isMdAsciiPunct, isPunctChar, isWhiteSpace
from markdown_it.rules_inline.state_inline import Scanned, StateInline

Rule = Callable[[StateInline, bool], bool]
_IDEOGRAPHIC_VARIATION_SELECTORS = range(0xE0100, 0xE01F0)
# wide symbols that are emoji rather than CJK (the amendment leaves emoji out)
_EMOJI_BLOCKS = (range(0x2300, 0x2C00), range(0x1F000, 0x1FB00))


def cjk_friendly(tokenize: Rule) -> Rule:
    """An inline rule (emphasis, strikethrough) that scans its delimiter runs with the
    amended flanking rules instead of CommonMark's."""

    def rule(state: StateInline, silent: bool) -> bool:
        state.scanDelims = partial(scan_delimiters, state)  # type: ignore[method-assign]
        return tokenize(state, silent)

    return rule


def scan_delimiters(state: StateInline, start: int, can_split_word: bool) -> Scanned:
    """The run of markers at ``start``: whether it can open and close emphasis, its length
    (markdown-it's ``StateInline.scanDelims`` with the amendment's flanking rules)."""
    marker, end = state.src[start], start
    while end < state.posMax and state.src[end] == marker:
        end += 1
    before = state.src[start - 1] if start > 0 else " "
    after = state.src[end] if end < state.posMax else " "
    left = _flanks(after, before, opening=True)
    right = _flanks(before, after, opening=False)
    before_punctuation = _is_punctuation(before)
    after_punctuation = _is_punctuation(after)
    can_open = left and (can_split_word or not right or before_punctuation)
    can_close = right and (can_split_word or not left or after_punctuation)
    return Scanned(can_open, can_close, end - start)


def _flanks(inside: str, outside: str, opening: bool) -> bool:
    """Whether a run is left-flanking (``opening``) or right-flanking: ``inside`` is the
    character on the side it would emphasise (after an opening run, before a closing one),
    ``outside`` the one on its other side.

    >>> _flanks("5", "长", opening=True), _flanks("%", "左", opening=False)
    (True, True)
    >>> _flanks('"', "a", opening=True), _flanks('"', "b", opening=False)
    (False, False)
    """
    if _is_space(inside):
        return False
    if not _is_punctuation(inside) or is_cjk(inside):
        return True
    return (
        _is_space(outside)
        or _is_punctuation(outside)
        or is_cjk(outside)
        or (opening and ord(outside) in _IDEOGRAPHIC_VARIATION_SELECTORS)
    )


def is_cjk(character: str) -> bool:
    """A CJK character in the amendment's sense: wide, full-width or half-width (East Asian
    Width W, F or H) and not an emoji, or Hangul.

    >>> [is_cjk(c) for c in "中，％ｶ한a“%😀"]
    [True, True, True, True, True, False, False, False, False]
    """
    code = ord(character)
    if unicodedata.east_asian_width(character) in ("W", "F", "H"):
        return not any(code in block for block in _EMOJI_BLOCKS)
    return unicodedata.name(character, "").startswith("HANGUL")


def _is_space(character: str) -> bool:
    return isWhiteSpace(ord(character))


def _is_punctuation(character: str) -> bool:
    return isMdAsciiPunct(ord(character)) or isPunctChar(character)
