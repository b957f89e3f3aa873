"""The video files voicer writes, by extension: their muxer, the codecs of picture, sound and
subtitle tracks, and what each track is tagged with."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

# x264 for a still or slowly changing picture: each frame differs from the last only where a
# caption changes, so the fastest preset costs little in size (README: Measured choices)
_X264_STILL = ("-c:v", "libx264", "-preset", "ultrafast", "-tune", "stillimage")
_X264_MOVING = ("-c:v", "libx264", "-preset", "veryfast")
_VP9 = ("-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-row-mt", "1")
_VP9_QUALITY = ("-b:v", "0", "-crf", "32")


@dataclass(frozen=True)
class Track:
    """A soft subtitle track: the subtitle format it is made from, and its codec in the file."""

    extension: str  # a voicer subtitle format (voicer.subtitles.formats)
    codec: str
    kind: str = ""  # said after the language in the track's title, to tell tracks apart


@dataclass(frozen=True)
class Container:
    """One kind of video file."""

    name: str
    muxer: str
    still: tuple[str, ...]  # encoder options for a still picture (a card, an image)
    moving: tuple[str, ...]  # for a moving one (a video background or input)
    copies: frozenset[str]  # picture codecs it takes as they are (no re-encoding)
    audio: str  # the audio format the programme is mastered to (voicer.audio.delivery)
    tracks: tuple[Track, ...]
    extra: tuple[str, ...] = ()  # muxer options
    # the tag players show as a track's name: MP4 keeps it as the track's handler name
    title_tag: str = "title"


CONTAINERS: dict[str, Container] = {
    ".mp4": Container(
        "MP4",
        "mp4",
        (*_X264_STILL, "-pix_fmt", "yuv420p"),
        (*_X264_MOVING, "-pix_fmt", "yuv420p"),
        frozenset({"h264", "hevc", "av1", "mpeg4"}),
        ".m4a",
        (Track(".srt", "mov_text"),),
        ("-movflags", "+faststart"),
        "handler_name",
    ),
    ".mkv": Container(
        "Matroska",
        "matroska",
        (*_X264_STILL, "-pix_fmt", "yuv420p"),
        (*_X264_MOVING, "-pix_fmt", "yuv420p"),
        frozenset({"h264", "hevc", "av1", "vp8", "vp9", "mpeg4", "mpeg2video", "prores"}),
        ".m4a",
        (Track(".srt", "srt"), Track(".ass", "ass", "styled")),
    ),
    ".webm": Container(
        "WebM",
        "webm",
        (*_VP9, *_VP9_QUALITY, "-pix_fmt", "yuv420p"),
        (*_VP9, *_VP9_QUALITY, "-pix_fmt", "yuv420p"),
        frozenset({"vp8", "vp9", "av1"}),
        ".opus",
        (Track(".vtt", "webvtt"),),
    ),
}

# ISO 639-2 (bibliographic) codes, as MP4 and Matroska tag tracks
_LANGUAGES = {"zh": ("chi", "中文"), "en": ("eng", "English")}


def container_for(path: Path) -> Container | None:
    """The kind of video ``path`` names by its extension, or None for any other file.

    >>> container_for(Path("out/talk.MP4")).name, container_for(Path("talk.mp3"))
    ('MP4', None)
    """
    return CONTAINERS.get(path.suffix.lower())


def track_tags(language: str) -> tuple[str, str]:
    """The language code and title of a subtitle track in ``language``.

    >>> track_tags("zh"), track_tags("other")
    (('chi', '中文'), ('und', 'Subtitles'))
    """
    return _LANGUAGES.get(language, ("und", "Subtitles"))
