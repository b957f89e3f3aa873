"""voicer: a written speech to broadcast-ready audio and subtitles that match it.

>>> from voicer import render, RenderOptions, synthesise
"""

import warnings
from typing import TYPE_CHECKING, Any

from voicer.errors import InputError, SynthesisError, VoicerError
from voicer.options import Level, RenderOptions  # RenderOptions(rate=Level(10, "%"))

if TYPE_CHECKING:
    from voicer.pipeline import RenderResult, render, render_script, synthesise

__all__ = [
    "InputError",
    "Level",
    "RenderOptions",
    "RenderResult",
    "SynthesisError",
    "VoicerError",
    "render",
    "render_script",
    "synthesise",
]
__version__ = "0.1.0"

_FROM_PIPELINE = ("RenderResult", "render", "render_script", "synthesise")


def __getattr__(name: str) -> Any:
    """The pipeline's names, imported when first asked for: importing ``voicer`` alone takes
    no time, so the command takes Ctrl-C from its first moment (``voicer.__main__``)."""
    if name in _FROM_PIPELINE:
        from voicer import pipeline

        return getattr(pipeline, name)
    if name == "synthesize":
        warnings.warn("voicer.synthesize is now voicer.synthesise", DeprecationWarning, 2)
        from voicer import pipeline

        return pipeline.synthesise
    raise AttributeError(f"module 'voicer' has no attribute {name!r}")
