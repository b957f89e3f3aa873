"""What a video output shows, checked before synthesis: its container, frame, background or
narrated video, and how captions and the title are drawn; and the ffmpeg job that makes it
once the programme and its cues exist."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from voicer import ffmpeg, files
from voicer.defaults import VIDEO_FITS
from voicer.errors import InputError
from voicer.model import Cue
from voicer.options import VideoSettings as VideoSettings  # declared with the other options
from voicer.subtitles import ass, formats
from voicer.video import chapters
from voicer.video.background import Background, background_for
from voicer.video.compose import Footage, Frame, SoftTrack, VideoJob
from voicer.video.containers import Container, container_for, track_tags

if TYPE_CHECKING:  # fontTools loads only for a video (README: Measured choices)
    from voicer.video import fonts

FITS = VIDEO_FITS
_SIZE = re.compile(r"(\d{2,5})x(\d{2,5})")


@dataclass(frozen=True)
class Narrated:
    """The video being narrated, as probed."""

    file: Path
    media: ffmpeg.Media

    @property
    def duration(self) -> float:
        return self.media.duration or 0.0


@dataclass(frozen=True)
class Picture:
    """A video output's settings, checked."""

    container: Container
    frame: Frame
    source: Background | Narrated
    settings: VideoSettings
    font: fonts.Font | None = None

    @property
    def draws_text(self) -> bool:
        return self.settings.burn_in or self.settings.title


def picture_for(path: Path, settings: VideoSettings, fps: float) -> Picture | None:
    """The checked video settings when ``path`` is a video file, else None; an InputError for
    any setting or input that is wrong, before any work starts."""
    container = container_for(path)
    if container is None:
        return None
    if settings.fit not in FITS:
        raise InputError(f"--fit must be one of {', '.join(FITS)}, not {settings.fit!r}")
    if settings.video_in is not None:
        if settings.background:
            raise InputError("--background and --video-in cannot be used together")
        narrated = _narrated(settings.video_in)
        assert narrated.media.picture is not None
        shown = narrated.media.picture
        frame = Frame(_even(shown.width), _even(shown.height), shown.fps or fps)
        return Picture(container, frame, narrated, settings)
    width, height = _size(settings.size)
    return Picture(
        container, Frame(width, height, fps), background_for(settings.background), settings
    )


def with_font(picture: Picture, text: str, scratch: contextlib.ExitStack) -> Picture:
    """The picture with the font its drawn text needs (an InputError if none can draw it)."""
    if not picture.draws_text:
        return picture
    from voicer.video import fonts

    return replace(picture, font=fonts.choose_font(text, picture.settings.font, scratch))


def output_seconds(picture: Picture, programme: float) -> float:
    """How long the video lasts for a programme of ``programme`` seconds.

    A card lasts as long as the programme. A narrated video: ``pad``, the longer of the two
    (the picture holds its last frame, or the sound goes on after the speech); ``trim``, the
    programme (a longer video is cut at its end); ``error``, refused when they differ by more
    than a frame.
    """
    if not isinstance(picture.source, Narrated):
        return programme
    video = picture.source.duration
    fit = picture.settings.fit
    if fit == "error" and abs(video - programme) > 1 / picture.frame.fps:
        raise InputError(
            f"the programme lasts {programme:.2f} s and {picture.source.file.name} "
            f"{video:.2f} s (--fit pad or trim to fit one to the other)"
        )
    return max(video, programme) if fit == "pad" else programme


def job(
    picture: Picture,
    cues: Sequence[Cue],
    sample_rate: int,
    folder: Path,
    audio: Path,
    seconds: float,
    language: str,
    heads: Sequence[tuple[int, str]],
) -> VideoJob:
    """The ffmpeg job for the video, its side files written into ``folder``: the caption
    tracks (none when the captions are burnt in), the drawn captions and title, the chapters
    (``heads``: start ms and title)."""
    settings, frame = picture.settings, picture.frame
    style = ass.AssStyle(
        frame.width,
        frame.height,
        picture.font.family if picture.font else "",
        box=settings.caption_box,
    )
    overlay = None
    if picture.draws_text:
        title = (
            ass.Title(heads[0][1], round(seconds * sample_rate))
            if settings.title and heads
            else None
        )
        drawn = cues if settings.burn_in else []
        (folder / "drawn.ass").write_text(ass.ass_text(drawn, sample_rate, style, title), "utf-8")
        overlay = "drawn.ass"
    tracks: tuple[SoftTrack, ...] = ()
    # burnt-in captions are the captions: players would draw a soft track over them again
    if not settings.burn_in:
        tracks = _tracks(picture.container, cues, sample_rate, folder, language, style)
    marks = None
    if heads:
        marks = folder / "chapters.txt"
        found = chapters.chapters(heads, round(seconds * 1000))
        marks.write_text(chapters.metadata_text(found), "utf-8")
    return VideoJob(
        container=picture.container,
        frame=frame,
        duration=seconds,
        audio=audio,
        picture=_shown(picture, seconds),
        folder=folder,
        overlay=overlay,
        fonts=_fonts_folder(picture.font, folder),
        tracks=tracks,
        chapters=marks,
    )


def _tracks(
    container: Container,
    cues: Sequence[Cue],
    sample_rate: int,
    folder: Path,
    language: str,
    style: ass.AssStyle,
) -> tuple[SoftTrack, ...]:
    code, title = track_tags(language)
    made: list[SoftTrack] = []
    for track in container.tracks:
        file = folder / f"track{len(made)}{track.extension}"
        if track.extension == ".ass":
            text = ass.ass_text(cues, sample_rate, style)
        else:
            text = formats.format_text(cues, sample_rate, track.extension)
        file.write_text(text, "utf-8")
        named = f"{title} ({track.kind})" if track.kind else title
        made.append(SoftTrack(file, track.codec, code, named))
    return tuple(made)


def _shown(picture: Picture, seconds: float) -> Background | Footage:
    source = picture.source
    if isinstance(source, Background):
        return source
    assert source.media.picture is not None
    hold = max(0.0, seconds - source.duration)
    return Footage(source.file.absolute(), source.media.picture.codec, hold)


def _fonts_folder(font: fonts.Font | None, folder: Path) -> str | None:
    if font is None or font.directory is None:
        return None
    link = folder / "fonts"
    link.symlink_to(font.directory.absolute(), target_is_directory=True)
    return link.name


def _narrated(path: Path) -> Narrated:
    files.check_readable(path, "video")
    media = ffmpeg.probe(path)
    if media is None:
        raise InputError(f"{path}: not a video (--video-in)")
    if media.picture is None or media.is_still:
        what = "a picture" if media.picture else "has no video stream"
        raise InputError(f"{path}: {what}, not a video to narrate (--video-in)")
    if not media.duration:
        raise InputError(f"{path}: cannot tell how long this video is (--video-in)")
    return Narrated(path, media)


def _size(value: str) -> tuple[int, int]:
    """A frame size ``WIDTHxHEIGHT``, both even (as 4:2:0 video needs).

    >>> _size("1920x1080")
    (1920, 1080)
    """
    found = _SIZE.fullmatch(value.strip().lower())
    width, height = (int(found.group(1)), int(found.group(2))) if found else (0, 0)
    if not (16 <= width <= 7680 and 16 <= height <= 4320) or width % 2 or height % 2:
        raise InputError(f"--size {value}: expected an even WIDTHxHEIGHT such as 1280x720")
    return width, height


def _even(number: int) -> int:
    return number - number % 2
