"""voicer: a written speech to broadcast-ready audio and subtitles that match it.

>>> from voicer import render, RenderOptions, synthesize
"""

from voicer.errors import InputError, SynthesisError, VoicerError
from voicer.pipeline import RenderOptions, RenderResult, render, render_script, synthesize

__all__ = [
    "InputError",
    "RenderOptions",
    "RenderResult",
    "SynthesisError",
    "VoicerError",
    "render",
    "render_script",
    "synthesize",
]
__version__ = "0.1.0"
