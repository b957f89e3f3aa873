"""Reading a speech: its bytes decoded, normalised, and checked that there is something to say.

Everything here is pure but ``read_script``: bytes or str in, plain data out.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from voicer.defaults import MARKDOWN_SUFFIXES
from voicer.errors import InputError
from voicer.files import read_bounded, read_input
from voicer.model import Script
from voicer.script.sentences import is_speakable

if TYPE_CHECKING:
    from voicer.script.markdown import Plain

ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff"  # left out of the text: no column of their own
_ZERO_WIDTH = dict.fromkeys(map(ord, ZERO_WIDTH), None)


def decode(data: bytes, source: str) -> str:
    """Decode UTF-8 (with or without BOM), UTF-16 with BOM, or GB18030/GBK; control characters
    are left out (see :func:`read_text`, which also says where they were).

    >>> decode("你好".encode("gbk"), "a.txt")
    '你好'
    >>> decode(b"\\xef\\xbb\\xbfhi", "a.txt")
    'hi'
    """
    return read_text(data, source)[0]


def read_text(data: bytes, source: str) -> tuple[str, tuple[str, ...]]:
    """The decoded text with its control characters left out, and a warning naming the line and
    column of each (the first few) when there were any.

    Bytes that are not UTF-8, UTF-16 with a BOM or GB18030, or that hold a NUL (UTF-16 without
    a BOM, or not text at all), are an InputError naming ``source``. Tab, CR, LF and Word's
    line and page breaks (vertical tab, form feed) are whitespace, not left out:
    :func:`normalise` makes the last two spaces, so a Word paragraph stays one paragraph and
    line numbers stay those a text editor shows. Any other control character is left out one
    for one: it becomes a space, so every later position on its line still matches the
    author's file; at the end of a line, where nothing follows, it is simply removed.

    >>> read_text(b"a\\x01b\\x01", "a.txt")
    ('a b', ('warning: a.txt: 2 control characters left out, at 1:2 (U+0001) and 1:4 (U+0001)',))
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        encodings = ["utf-16"]
    else:
        encodings = ["utf-8-sig", "gb18030"]
    for encoding in encodings:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "\0" not in text:
            return _without_control_characters(text, source)
    raise InputError(
        f"{source}: cannot decode the text (expected UTF-8, UTF-16 with a BOM, or GB18030/GBK)"
    )


SHOWN_CONTROL_CHARACTERS = 5  # positions named in the warning; the rest are counted
_CONTROL = re.compile(r"[\x01-\x08\x0e-\x1f\x7f-\x9f]")
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n|$)")


def _without_control_characters(text: str, source: str) -> tuple[str, tuple[str, ...]]:
    if not _CONTROL.search(text):
        return text, ()
    found: list[str] = []
    lines = []
    for number, line in enumerate(_LINE.findall(text), start=1):
        for match in _CONTROL.finditer(line):
            found.append(f"{number}:{match.start() + 1} (U+{ord(match.group()):04X})")
        body = line.rstrip("\r\n")
        lines.append(_spaced(body) + line[len(body) :])
    shown = found[:SHOWN_CONTROL_CHARACTERS]
    listed = ", ".join(shown[:-1]) + f" and {shown[-1]}" if len(shown) > 1 else shown[0]
    if len(found) > len(shown):
        listed = ", ".join(shown) + f" and {len(found) - len(shown)} more"
    noun = "control character" if len(found) == 1 else "control characters"
    return "".join(lines), (f"warning: {source}: {len(found)} {noun} left out, at {listed}",)


def _spaced(line: str) -> str:
    """``line`` (without its line break) with each control character a space, but those after
    its last other character (spaces aside), which are removed: nothing follows them.

    >>> _spaced("a\\x01b \\x01 ")
    'a b  '
    """
    end = len(line)
    while end and (line[end - 1] in " \t" or _CONTROL.match(line[end - 1])):
        end -= 1
    return _CONTROL.sub(" ", line[:end]) + _CONTROL.sub("", line[end:])


def normalise(text: str) -> str:
    """Unify line endings and turn every kind of space into a plain space, one for one.

    Characters are replaced one for one so that columns still match the author's file.

    >>> normalise("一\\u3000二\\r\\n三\\r四\\xa0五")
    '一 二\\n三\\n四 五'
    """
    text = text.translate(_ZERO_WIDTH).replace("\r\n", "\n").replace("\r", "\n")
    return "".join(" " if c != "\n" and (c.isspace() or c == "\u3000") else c for c in text)


# markup in square brackets and X placeholders say nothing about the language of the text
_NOT_LANGUAGE = re.compile(r"\[[^\]\n]*\]|(?<![A-Za-z])[Xx]{1,3}(?![A-Za-z])")


def detect_language(text: str) -> str:
    """``"zh"`` when Han characters carry the text, ``"en"`` for Latin script, else ``"other"``.

    >>> detect_language("今年GDP增长5%")
    'zh'
    >>> detect_language("Good evening.")
    'en'
    >>> detect_language("[voice zh-CN-XiaoxiaoNeural]\\n大家好。")
    'zh'
    """
    han = latin = other = 0
    for c in _NOT_LANGUAGE.sub("", text):
        if "\u4e00" <= c <= "\u9fff" or "\u3400" <= c <= "\u4dbf":
            han += 1
        elif c.isascii() and c.isalpha() or "LATIN" in unicodedata.name(c, ""):
            latin += 1
        elif c.isalpha():
            other += 1
    if other > max(han, latin):
        return "other"
    if han and han * 2 >= latin:
        return "zh"
    return "en" if latin else "other"


def read_script(path: Path) -> Script:
    """Read a speech from a file (Markdown when it ends in .md), with a one-line error for
    every way that can fail."""
    markdown = path.suffix.lower() in MARKDOWN_SUFFIXES
    return script_from_bytes(read_input(path, "text file"), str(path), markdown)


def script_from_stream(stream: BinaryIO, source: str) -> Script:
    """Read a speech from a stream (standard input), as much as a script may hold."""
    return script_from_bytes(read_bounded(stream, source, "text file"), source)


def script_from_bytes(data: bytes, source: str, markdown: bool = False) -> Script:
    """Decode, normalise and check that there is something to say; the script's notices warn
    about control characters left out."""
    decoded, notices = read_text(data, source)
    text = normalise(decoded)
    plain = _read_markdown(text) if markdown else None
    if plain and text.strip() and not plain.text.strip():
        raise InputError(
            f"{source}: nothing to speak: the Markdown has no text that is read aloud (only "
            "markup, code, images, HTML or rules)"
        )
    if plain:
        text = plain.text
    if not text.strip():
        raise InputError(f"{source}: the text is empty")
    if not any(is_speakable(line) for line in text.splitlines()):
        raise InputError(f"{source}: the text has nothing that can be spoken")
    return Script(
        text,
        source,
        detect_language(text),
        notices,
        positions=plain.positions if plain else None,
        literal=plain.literal if plain else frozenset(),
    )


def _read_markdown(text: str) -> Plain:
    # markdown-it is imported for a Markdown script only (README: Measured choices)
    from voicer.script.markdown import read_markdown

    return read_markdown(text)
