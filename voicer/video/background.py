"""What is behind the captions: a plain colour, a picture, or a video (looped to the length of
the programme), each fitted to the frame without distortion."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from voicer import ffmpeg, files
from voicer.errors import InputError

DEFAULT_COLOUR = "#14181f"  # a dark card: white captions read well on it
_HEX = re.compile(r"#?(?:0x)?([0-9a-fA-F]{6})")


@dataclass(frozen=True)
class Background:
    """A colour (ffmpeg's syntax, e.g. ``0x14181f``) or a file: a still picture or a video."""

    colour: str = DEFAULT_COLOUR
    file: Path | None = None
    moving: bool = False  # a video, not a picture

    def inputs(self, width: int, height: int, fps: float) -> list[str]:
        """ffmpeg input options that bring the background in."""
        if self.file is None:
            return ["-f", "lavfi", "-i", f"color=c={self.colour}:s={width}x{height}:r={fps:g}"]
        if self.moving:
            return ["-stream_loop", "-1", "-i", str(self.file)]
        return ["-i", str(self.file)]

    def filters(self, width: int, height: int, fps: float) -> list[str]:
        """The filters that fit it to the frame, one frame every 1/fps s from time 0."""
        if self.file is None:
            return ["format=yuv420p"]
        fitted = [*fit_filters(width, height), "format=yuv420p"]
        if self.moving:
            return [*fitted, f"fps={fps:g}"]
        # one decoded picture, repeated: decoding a PNG for every frame would cost more than
        # encoding the video
        return [*fitted, "loop=loop=-1:size=1:start=0", f"setpts=N/{fps:g}/TB"]


def fit_filters(width: int, height: int) -> list[str]:
    """Scale a picture to fit inside the frame, keeping its shape, and centre it on black.

    >>> fit_filters(1280, 720)[0]
    'scale=1280:720:force_original_aspect_ratio=decrease'
    """
    return [
        f"scale={width}:{height}:force_original_aspect_ratio=decrease",
        f"pad={width}:{height}:(ow-iw)/2:(oh-ih)/2:color=black",
        "setsar=1",
    ]


def background_for(value: str | None) -> Background:
    """The background ``--background`` names: an existing file (picture or video), else a
    colour (``#rrggbb`` or a name such as ``navy``); an InputError for anything else."""
    if not value:
        return Background()
    path = Path(value)
    if path.exists() or path.suffix:
        return _from_file(path)
    return Background(colour=_colour(value))


def _from_file(path: Path) -> Background:
    files.check_readable(path, "picture or video")
    media = ffmpeg.probe(path)
    if media is None or media.picture is None:
        raise InputError(f"{path}: not a picture or a video (--background)")
    return Background(file=path.absolute(), moving=not media.is_still)


def _colour(value: str) -> str:
    """ffmpeg's form of a colour, checked by ffmpeg itself.

    >>> _colour("#1A2b3c")
    '0x1A2b3c'
    """
    if found := _HEX.fullmatch(value):
        return f"0x{found.group(1)}"
    if not value.isascii() or not value.isalpha():  # a name; nothing that reaches the graph
        raise InputError(f"--background {value}: no such file, nor a colour (#rrggbb or a name)")
    command = [ffmpeg.executable(), "-nostdin", "-hide_banner", "-loglevel", "error"]
    command += ["-f", "lavfi", "-i", f"color=c={value}:s=2x2:d=0.04", "-f", "null", "-"]
    if subprocess.run(command, capture_output=True, check=False).returncode != 0:
        raise InputError(
            f"--background {value}: not a file, nor a colour (#rrggbb or a name like navy)"
        )
    return value
