"""Reading a speech: its bytes decoded, normalised, and checked that there is something to say.

Everything here is pure but ``read_script``: bytes or str in, plain data out.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from voicer.errors import InputError
from voicer.files import read_input
from voicer.model import Script
from voicer.script.markdown import to_plain
from voicer.script.sentences import is_speakable

_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"), None)


def decode(data: bytes, source: str) -> str:
    """Decode UTF-8 (with or without BOM), UTF-16 with BOM, or GB18030/GBK.

    >>> decode("你好".encode("gbk"), "a.txt")
    '你好'
    >>> decode(b"\\xef\\xbb\\xbfhi", "a.txt")
    'hi'
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
        if not _has_control_characters(text):
            return text
    raise InputError(
        f"{source}: cannot decode the text (expected UTF-8, UTF-16 with a BOM, or GB18030/GBK)"
    )


def _has_control_characters(text: str) -> bool:
    return any(unicodedata.category(c) == "Cc" and c not in "\n\r\t\f\v" for c in text)


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


MARKDOWN_SUFFIXES = (".md", ".markdown")


def read_script(path: Path) -> Script:
    """Read a speech from a file (Markdown when it ends in .md), with a one-line error for
    every way that can fail."""
    markdown = path.suffix.lower() in MARKDOWN_SUFFIXES
    return script_from_bytes(read_input(path, "text file"), str(path), markdown)


def script_from_bytes(data: bytes, source: str, markdown: bool = False) -> Script:
    """Decode, normalise and check that there is something to say."""
    text = normalise(decode(data, source))
    if markdown:
        text = to_plain(text)
    if not text.strip():
        raise InputError(f"{source}: the text is empty")
    if not any(is_speakable(line) for line in text.splitlines()):
        raise InputError(f"{source}: the text has nothing that can be spoken")
    return Script(text=text, source=source, language=detect_language(text))
