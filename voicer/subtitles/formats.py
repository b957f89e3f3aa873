"""Subtitle files: cues (in samples) to text and back, one module per format.

The format follows the file's extension, as in pysubs2: ``FORMATS`` maps each known extension
to its writer and reader. Files are UTF-8 without a BOM; reading accepts a BOM.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from voicer import files
from voicer.errors import InputError
from voicer.model import Cue
from voicer.subtitles.ass import ass_text, parse_ass
from voicer.subtitles.srt import parse_srt, srt_text
from voicer.subtitles.vtt import parse_vtt, vtt_text


@dataclass(frozen=True)
class Format:
    """One subtitle format: ``compose(cues, sample_rate)`` -> text, ``parse(text)`` -> cues in
    milliseconds (``parse`` raises ``ValueError`` with a one-line reason), and the step in
    milliseconds its times are kept to (a cue read back may be off by half of it)."""

    name: str
    compose: Callable[[Sequence[Cue], int], str]
    parse: Callable[[str], list[Cue]]
    resolution_ms: int = 1


FORMATS: dict[str, Format] = {
    ".srt": Format("SubRip", srt_text, parse_srt),
    ".vtt": Format("WebVTT", vtt_text, parse_vtt),
    # ASS in the default style (1920x1080); it keeps times to the centisecond
    ".ass": Format("Advanced SubStation Alpha", ass_text, parse_ass, resolution_ms=10),
}


def format_for(path: Path | str) -> Format:
    """The format of a subtitle file, by its extension; ``path`` may be just ``".vtt"``.

    Raises ``InputError`` for an extension no format has, before any work starts.
    """
    bare = isinstance(path, str) and path.startswith(".") and Path(path).suffix == ""
    extension = str(path) if bare else Path(path).suffix
    try:
        return FORMATS[extension.lower()]
    except KeyError:
        known = ", ".join(FORMATS)
        what = f"unknown subtitle format {extension!r}" if extension else "no file extension"
        where = "" if bare else f"{path}: "
        raise InputError(f"{where}{what} (use one of {known})") from None


def format_text(cues: Sequence[Cue], sample_rate: int, extension: str) -> str:
    """The cues as the text of a file with ``extension`` (``".srt"``, ``".vtt"``, ``".ass"``)."""
    return format_for(extension).compose(cues, sample_rate)


def read(path: Path | str) -> list[Cue]:
    """The cues of a subtitle file, in file order, at sample rate 1000 (milliseconds).

    Raises ``InputError`` naming the file when it cannot be read, is not UTF-8, does not parse
    or has no cues.
    """
    path = Path(path)
    subtitle_format = format_for(path)
    data = files.read_input(path, "subtitle file")
    try:
        content = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    try:
        cues = subtitle_format.parse(content)
    except ValueError as exc:
        raise InputError(f"{path}: {exc}") from None
    if not cues:
        raise InputError(f"{path}: no subtitles in this file")
    return cues
