"""Advanced SubStation Alpha (.ass) with ``pysubs2``: captions styled for broadcast.

The captions sit at the bottom centre inside the title-safe area (EBU R 95: the middle 90% of
the frame's width and height), white on a black outline with a small shadow, or on a box; an
optional title sits at the top centre. Lines break where voicer broke them (``WrapStyle 2``,
lines joined with ``\\N``), and times are voicer's milliseconds, which ASS keeps to the
centisecond.

Caption text is escaped so that no renderer can take any of it for an override tag; see
``_escape``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from voicer.model import Cue
from voicer.subtitles.timestamps import to_ms

if TYPE_CHECKING:  # pysubs2 loads only to write or read ASS (README: Measured choices)
    from pysubs2 import SSAEvent, SSAStyle

CAPTION = "Caption"  # the style of the captions
TITLE = "Title"  # the style of the title line
CJK_FONT = "Noto Sans CJK SC"
LATIN_FONT = "Noto Sans"
TITLE_SCALE = 1.3  # the title's size against the captions'
SAFE_PERCENT = 5  # EBU R 95 title-safe: 5% of the width and height on each side

RGBA = tuple[int, int, int, int]

_HAN = re.compile(r"[\u2e80-\u2fdf\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")

# ASS has no escape for a backslash and pysubs2 none for braces, so caption text is changed as
# libass (ffmpeg's subtitles filter, mpv, VLC) draws it:
# - "{" and "}" become the full-width "｛" and "｝": any "{" with a "}" after it opens an override
#   block in libass and VSFilter, and libass's own "\{" escape is taken for a tag block by
#   VSFilter and pysubs2, so only other characters are safe in every reader;
# - a backslash is followed by U+2060 WORD JOINER, which libass draws as nothing: "\N", "\n" and
#   "\h" are then shown as written instead of breaking the line or drawing a space.
# ``parse_ass`` undoes both, so a caption reads back as written (a file's own full-width
# braces read back as ASCII ones).
_WORD_JOINER = "\u2060"
_ESCAPES = str.maketrans({"{": "\uff5b", "}": "\uff5d", "\\": "\\" + _WORD_JOINER})
_UNESCAPES = {"\uff5b": "{", "\uff5d": "}", "\\" + _WORD_JOINER: "\\"}
_UNESCAPE = re.compile("|".join(map(re.escape, _UNESCAPES)))


@dataclass(frozen=True)
class AssStyle:
    """How captions look when drawn into a picture (burn-in) or in an .ass file."""

    width: int = 1920  # PlayResX
    height: int = 1080  # PlayResY
    # the font family; "" chooses by the text: CJK_FONT when any Han character, else LATIN_FONT
    font: str = ""
    size: float = 0.055  # font size as a share of the frame height
    box: bool = False  # an opaque box behind the lines (BorderStyle 3) instead of outline+shadow
    # colours as (red, green, blue, alpha), ASS's way: alpha 0 is opaque, 255 transparent
    colour: RGBA = (255, 255, 255, 0)  # the text
    edge: RGBA = (0, 0, 0, 0)  # the outline
    shadow: RGBA = (0, 0, 0, 128)  # the shadow, half transparent
    box_colour: RGBA = (0, 0, 0, 64)  # the box, three quarters opaque

    @property
    def font_size(self) -> int:
        """The captions' font size in pixels of the frame.

        >>> AssStyle().font_size, AssStyle(height=720).font_size
        (59, 40)
        """
        return round(self.size * self.height)

    @property
    def margins(self) -> tuple[int, int]:
        """(left and right, vertical) margins in pixels: the title-safe area, and a little more
        below and above it for the outline and shadow.

        >>> AssStyle().margins
        (96, 70)
        """
        side = -(-self.width * SAFE_PERCENT // 100)  # rounded up
        vertical = -(-self.height * SAFE_PERCENT // 100) + round(self.height * 0.015)
        return side, vertical


@dataclass(frozen=True)
class Title:
    """A line shown at the top of the frame from the start until ``end`` (samples)."""

    text: str
    end: int


def ass_text(
    cues: Sequence[Cue], sample_rate: int, style: AssStyle | None = None, title: Title | None = None
) -> str:
    """The cues as an ASS script, with ``title`` at the top from the start if given.

    >>> text = ass_text([Cue(12_000, 36_000, ("你好，", "世界"))], 24000)
    >>> "PlayResY: 1080" in text, "Style: Caption,Noto Sans CJK SC,59," in text
    (True, True)
    >>> text.splitlines()[-1]
    'Dialogue: 0,0:00:00.50,0:00:01.50,Caption,,0,0,0,,你好，\\\\N世界'
    """
    from pysubs2 import SSAEvent, SSAFile

    style = style or AssStyle()
    texts = [line for cue in cues for line in cue.lines] + ([title.text] if title else [])
    font = style.font or font_for(texts)
    script = SSAFile()
    script.info.update(
        {
            "PlayResX": str(style.width),
            "PlayResY": str(style.height),
            "ScaledBorderAndShadow": "yes",
            "WrapStyle": "2",  # no automatic wrapping: the lines are already broken
        }
    )
    script.styles = {CAPTION: _caption_style(style, font)}
    if title:
        script.styles[TITLE] = _title_style(style, font)
        end = to_ms(title.end, sample_rate)
        script.events.append(SSAEvent(start=0, end=end, text=_escape(title.text), style=TITLE))
    script.events.extend(_event(cue, sample_rate) for cue in cues)
    return script.to_string("ass", header_notice="written by voicer")


def parse_ass(text: str) -> list[Cue]:
    """Cues from ASS text, in file order, times in milliseconds (sample rate 1000).

    Every ``Dialogue`` line but the title's is a cue; its lines are split on ``\\N`` (and
    ``\\n``), with override tags left out. Raises ``ValueError`` when the text is not ASS.

    >>> parse_ass(ass_text([Cue(500, 1500, ("a {b}", "c"))], 1000))
    [Cue(start=500, end=1500, lines=('a {b}', 'c'), text='a {b}\\nc', segment=-1)]
    >>> parse_ass("hello")
    Traceback (most recent call last):
    ...
    ValueError: not an ASS file (no [Script Info] or [Events] section)
    """
    if not re.search(r"^\s*\[Script Info\]", text, re.M | re.I) or not re.search(
        r"^\s*\[Events\]", text, re.M | re.I
    ):
        raise ValueError("not an ASS file (no [Script Info] or [Events] section)")
    from pysubs2 import Pysubs2Error, SSAFile

    try:
        script = SSAFile.from_string(text, format_="ass")
    except (ValueError, TypeError, Pysubs2Error) as exc:
        reason = str(exc).splitlines()[0][:80] if str(exc) else type(exc).__name__
        raise ValueError(f"not valid ASS: {reason}") from None
    return [_cue(event) for event in script.events if event.is_text and event.style != TITLE]


def font_for(texts: Iterable[str]) -> str:
    """The font family for these texts: CJK_FONT when any has a Han character.

    >>> font_for(["Hello", "世界"]), font_for(["Hello"])
    ('Noto Sans CJK SC', 'Noto Sans')
    """
    return CJK_FONT if any(_HAN.search(text) for text in texts) else LATIN_FONT


def _caption_style(style: AssStyle, font: str) -> SSAStyle:
    from pysubs2 import Alignment, Color, SSAStyle

    side, vertical = style.margins
    edges = (
        {"borderstyle": 3, "outline": round(style.height / 135), "shadow": 0}
        if style.box  # with BorderStyle 3 the outline colour fills the box
        else {"borderstyle": 1, "outline": style.height / 360, "shadow": style.height / 540}
    )
    return SSAStyle(
        fontname=font,
        fontsize=style.font_size,
        primarycolor=Color(*style.colour),
        secondarycolor=Color(*style.colour),
        outlinecolor=Color(*(style.box_colour if style.box else style.edge)),
        backcolor=Color(*style.shadow),
        alignment=Alignment.BOTTOM_CENTER,
        marginl=side,
        marginr=side,
        marginv=vertical,
        **edges,
    )


def _title_style(style: AssStyle, font: str) -> SSAStyle:
    from pysubs2 import Alignment

    title = _caption_style(style, font).copy()
    title.fontsize = round(style.font_size * TITLE_SCALE)
    title.alignment = Alignment.TOP_CENTER
    return title


def _event(cue: Cue, sample_rate: int) -> SSAEvent:
    # to_ms as for SRT; pysubs2 rounds to centiseconds on writing. The rounding is the same
    # for every time, so it keeps their order: a cue never ends after the next one starts.
    from pysubs2 import SSAEvent

    return SSAEvent(
        start=to_ms(cue.start, sample_rate),
        end=to_ms(cue.end, sample_rate),
        text=r"\N".join(_escape(line) for line in cue.lines),
        style=CAPTION,
    )


def _cue(event: SSAEvent) -> Cue:
    shown = _UNESCAPE.sub(lambda match: _UNESCAPES[match[0]], event.plaintext)
    return Cue(event.start, event.end, tuple(shown.split("\n")) if shown else (), text=shown)


def _escape(text: str) -> str:
    r"""Caption text as ASS event text that shows it as it is (see ``_ESCAPES``).

    >>> _escape(r"{\b1}a\Nb") == "\uff5b\\\u2060b1\uff5da\\\u2060Nb"
    True
    """
    return text.translate(_ESCAPES)
