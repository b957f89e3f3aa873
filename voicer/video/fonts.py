"""The font burned-in captions are drawn with, checked by letting libass draw the text.

libass (ffmpeg's ``subtitles`` filter) never fails on a missing font: it substitutes another
family, or draws nothing at all. So every candidate is tried on one frame of an ASS file
holding each character the video will show, and ffmpeg's ``fontselect`` report says which
face libass took and which characters no font could draw.

>>> _missing_text(frozenset("今天"))
'今, 天 (U+4ECA, U+5929)'
>>> _is_han("今"), _is_han("a")
(True, False)
"""

from __future__ import annotations

import contextlib
import importlib.util
import re
import subprocess
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pysubs2
from fontTools.ttLib import TTCollection, TTFont

from voicer import ffmpeg
from voicer.errors import InputError, OutputError
from voicer.scratch import folder as scratch_folder

HAN_FAMILY = "Noto Sans CJK SC"
LATIN_FAMILY = "Noto Sans"
PACKAGED_FAMILY = "Noto Sans CJK SC"
PACKAGED_FILE = "NotoSansCJK-VF.otf.ttc"
HELP = "install Debian's fonts-noto-cjk, or pip install 'voicer[cjk]', or give --font PATH"

_CHOSEN = re.compile(r"fontselect: \(.*\) -> (.*), (\d+), (\S*)$", re.MULTILINE)
_FAILED = re.compile(r"fontselect: failed to find any fallback with glyph 0x([0-9A-Fa-f]+)")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
_FONT_SUFFIXES = {".ttf", ".otf", ".ttc", ".otc", ".woff", ".woff2", ".pfb", ".pfa"}


@dataclass(frozen=True)
class Font:
    """What the ``subtitles`` filter needs to draw the captions."""

    family: str  # the ASS Fontname to use
    directory: (
        Path | None
    )  # fontsdir for libass (a folder holding only this font), None: fontconfig
    file: Path | None  # the font file libass used (from the probe), for messages


@dataclass(frozen=True)
class _Face:
    """One face of a font file: its family and the names libass may match it by."""

    family: str
    names: frozenset[str]  # lower-cased family, full, PostScript and typographic family names
    characters: frozenset[str]


@dataclass(frozen=True)
class _Probe:
    """What libass did with one candidate."""

    file: str  # the file of the first face it took (a PostScript name for a fontsdir font)
    index: int
    missing: frozenset[str] | None  # characters no font could draw; None: no font at all


def choose_font(text: str, requested: str | None, scratch: contextlib.ExitStack) -> Font:
    """The font to draw ``text`` (every character the video shows) with: ``requested``
    (``--font NAME|PATH``) if given, else Noto Sans CJK SC for Han text (Noto Sans otherwise)
    from fontconfig, else the font of the ``voicer[cjk]`` extra. Temporary folders go on
    ``scratch``. InputError when no font can draw every character."""
    characters = _drawn(text)
    if requested is not None:
        if Path(requested).is_file():
            return _requested_file(characters, Path(requested), scratch)
        if Path(requested).suffix.lower() in _FONT_SUFFIXES or "/" in requested:
            raise InputError(f"{requested}: no such font file")
        return _requested_family(characters, requested)
    family = HAN_FAMILY if any(_is_han(c) for c in characters) else LATIN_FAMILY
    first = _probe(characters, family, None)
    if first.missing == frozenset():
        return Font(family, None, _file(first, None))
    missing = first.missing
    packaged = packaged_font()
    if packaged is not None:
        directory = _regular_subset(packaged, characters, scratch)
        second = _probe(characters, PACKAGED_FAMILY, directory)
        if second.missing == frozenset():
            return Font(PACKAGED_FAMILY, directory, _file(second, packaged))
        missing = _fewer(missing, second.missing)
    shown = _missing_text(missing if missing is not None else characters)
    raise InputError(f"no font can draw the captions' {shown}: {HELP}")


def packaged_font() -> Path | None:
    """Noto Sans CJK from the ``voicer[cjk]`` extra (manimgx-fonts-cjk), None if not installed."""
    spec = importlib.util.find_spec("manimgx_fonts_cjk")  # an optional extra: not imported
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).with_name(PACKAGED_FILE)
    return path if path.is_file() else None


def _requested_file(characters: frozenset[str], path: Path, scratch: contextlib.ExitStack) -> Font:
    """``--font PATH``: its face that covers the most of the text, drawn from a fontsdir."""
    face = _best_face(_faces(path), characters)
    lacking = characters - face.characters
    if lacking:
        raise InputError(
            f"{path}: {face.family} cannot draw the captions' {_missing_text(lacking)}"
        )
    directory = _folder(path, scratch)
    result = _probe(characters, face.family, directory)
    if result.missing != frozenset() or not _took(result, face.names):
        raise InputError(f"{path}: libass cannot draw the captions with {face.family}")
    return Font(face.family, directory, _file(result, path))


def _requested_family(characters: frozenset[str], family: str) -> Font:
    """``--font NAME``: that family from fontconfig, which must draw every character itself."""
    result = _probe(characters, family, None)
    if result.missing != frozenset():
        lacking = result.missing or characters
        raise InputError(f"font {family!r} cannot draw the captions' {_missing_text(lacking)}")
    if not _took(result, frozenset({family.casefold()})):
        raise InputError(f"font {family!r} not found by fontconfig: give its file with --font PATH")
    path = _file(result, None)
    face = _face_at(path, result.index) if path is not None else None
    if face is not None and characters - face.characters:
        lacking = characters - face.characters
        raise InputError(f"font {family!r} cannot draw the captions' {_missing_text(lacking)}")
    return Font(family, None, path)


def _probe(characters: frozenset[str], family: str, directory: Path | None) -> _Probe:
    """Let libass draw ``characters`` in ``family`` on one frame and read its fontselect report."""
    with tempfile.TemporaryDirectory(prefix="voicer-font-", dir=scratch_folder()) as folder:
        work = Path(folder)
        _probe_subtitles(characters, family).save(str(work / "probe.ass"))
        option = ""
        if directory is not None:
            (work / "fonts").symlink_to(directory, target_is_directory=True)
            option = ":fontsdir=fonts"  # relative to cwd: no filtergraph escaping needed
        command = [ffmpeg.executable(), "-hide_banner", "-nostdin", "-loglevel", "verbose"]
        command += ["-f", "lavfi", "-i", "color=s=320x240:d=0.04"]
        command += ["-vf", f"subtitles=probe.ass{option}", "-f", "null", "-"]
        result = subprocess.run(command, cwd=work, capture_output=True, check=False)
    report = result.stderr.decode("utf-8", "replace")
    if result.returncode != 0:
        last = report.strip().splitlines()[-1:] or [f"exit code {result.returncode}"]
        raise OutputError(f"cannot try font {family!r} with ffmpeg: {last[0]}")
    return _parse(report)


def _probe_subtitles(characters: frozenset[str], family: str) -> pysubs2.SSAFile:
    """One event at t=0 showing every character (ASS override braces and backslash left out:
    every font with Latin letters has them)."""
    subtitles = pysubs2.SSAFile()
    subtitles.info["PlayResX"] = "320"
    subtitles.info["PlayResY"] = "240"
    subtitles.styles["Default"].fontname = family
    shown = "".join(sorted(characters - set("{}\\")))
    subtitles.append(pysubs2.SSAEvent(start=0, end=1000, text=shown))
    return subtitles


def _parse(report: str) -> _Probe:
    """The first face libass took and the characters it found no font for.

    >>> line = "[Parsed_subtitles_0 @ 0x1] fontselect: (A, 400, 0) -> /f/a.ttc, 2, A-Regular"
    >>> _parse(line + "\\n")
    _Probe(file='/f/a.ttc', index=2, missing=frozenset())
    >>> _parse("fontselect: failed to find any fallback with glyph 0x4ECA for font: (A, 400, 0)")
    _Probe(file='', index=0, missing=frozenset({'今'}))
    >>> _parse("fontselect: failed to find any fallback with glyph 0x0 for font: (A, 400, 0)")
    _Probe(file='', index=0, missing=None)
    """
    codes = {int(code, 16) for code in _FAILED.findall(report)}
    missing = None if 0 in codes else frozenset(chr(code) for code in codes)
    chosen = _CHOSEN.search(report)
    if chosen is None:
        return _Probe("", 0, missing)
    return _Probe(chosen[1], int(chosen[2]), missing)


def _took(result: _Probe, names: frozenset[str]) -> bool:
    """Whether libass took a face known by one of ``names``."""
    path = Path(result.file)
    if not result.file or not path.is_file():  # a fontsdir font: reported by PostScript name
        return result.file.casefold() in names
    face = _face_at(path, result.index)
    return face is not None and bool(face.names & names)


def _file(result: _Probe, fallback: Path | None) -> Path | None:
    """The font file libass took: the probe's, else ``fallback`` (a font from a fontsdir)."""
    path = Path(result.file)
    return path if result.file and path.is_file() else fallback


def _faces(path: Path) -> list[_Face]:
    """Every face in a font file (several in a .ttc)."""
    try:
        with path.open("rb") as stream:
            collection = stream.read(4) == b"ttcf"
        fonts = TTCollection(path, lazy=True).fonts if collection else [TTFont(path, lazy=True)]
        return [_face(font) for font in fonts]
    except Exception as error:  # fontTools fails on a non-font in many ways
        raise InputError(f"{path}: not a font file") from error


@cache
def _face_at(path: Path, index: int) -> _Face | None:
    """Face ``index`` of a font file, None if fontTools cannot read it."""
    try:
        faces = _faces(path)
    except InputError:
        return None
    return faces[index] if index < len(faces) else None


def _face(font: TTFont) -> _Face:
    name = font["name"]
    family = name.getDebugName(16) or name.getDebugName(1) or ""
    names = {
        record.toUnicode().casefold() for record in name.names if record.nameID in (1, 4, 6, 16)
    }
    characters = frozenset(chr(code) for code in (font.getBestCmap() or {}))
    return _Face(family, frozenset(names), characters)


def _best_face(faces: list[_Face], characters: frozenset[str]) -> _Face:
    """The face covering most of ``characters``; a Simplified Chinese one for Han text."""
    han = any(_is_han(c) for c in characters)

    def score(face: _Face) -> tuple[int, bool]:
        return len(characters & face.characters), han and "SC" in face.family.split()

    return max(faces, key=score)


def _regular_subset(path: Path, characters: frozenset[str], scratch: contextlib.ExitStack) -> Path:
    """A temporary folder holding the packaged font's Simplified Chinese face, cut down to
    ``characters`` and fixed at the regular weight.

    The packaged font is variable, and libass draws a variable font at its default
    instance, which for Noto Sans CJK is Thin: too faint for captions. Cutting the face down
    first makes the instance quick (about a second for a long speech's characters).
    """
    from fontTools import subset
    from fontTools.varLib import instancer

    collection = TTCollection(path)
    face = next(f for f in collection.fonts if f["name"].getDebugName(1) == PACKAGED_FAMILY)
    options = subset.Options()
    options.layout_features, options.name_IDs, options.notdef_outline = ["*"], ["*"], True
    subsetter = subset.Subsetter(options)
    subsetter.populate(text="".join(characters))
    subsetter.subset(face)
    regular = instancer.instantiateVariableFont(face, {"wght": 400})
    folder = _fonts_folder(scratch)
    regular.save(folder / "captions.otf")
    return folder


def _folder(font: Path, scratch: contextlib.ExitStack) -> Path:
    """A temporary folder holding only ``font`` (libass loads every file in a fontsdir)."""
    folder = _fonts_folder(scratch)
    (folder / font.name).symlink_to(font.resolve())
    return folder


def _fonts_folder(scratch: contextlib.ExitStack) -> Path:
    """An empty folder for fonts, removed when ``scratch`` closes."""
    made = tempfile.TemporaryDirectory(prefix="voicer-fonts-", dir=scratch_folder())
    return Path(scratch.enter_context(made))


def _drawn(text: str) -> frozenset[str]:
    """The distinct characters that will be drawn (not spaces or control characters)."""
    return frozenset(c for c in text if c.isprintable() and not c.isspace())


def _is_han(character: str) -> bool:
    return _HAN.fullmatch(character) is not None


def _fewer(a: frozenset[str] | None, b: frozenset[str] | None) -> frozenset[str] | None:
    """The smaller of two sets of missing characters (None: all of them)."""
    if a is None:
        return b
    if b is None:
        return a
    return a if len(a) <= len(b) else b


def _missing_text(characters: frozenset[str], limit: int = 8) -> str:
    """Characters for a message, with their code points, at most ``limit`` of them."""
    shown = sorted(characters)[:limit]
    more = f" and {len(characters) - limit} more" if len(characters) > limit else ""
    codes = ", ".join(f"U+{ord(c):04X}" for c in shown)
    return f"{', '.join(shown)} ({codes}){more}"
