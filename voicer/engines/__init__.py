"""The Engine protocol, the engines voicer knows, and choosing one engine and voice per render."""

from __future__ import annotations

from typing import Protocol

from voicer.model import Clip, Prosody, Voice


class Engine(Protocol):
    """A text-to-speech engine. Adding one is one module that implements this."""

    name: str

    def voices(self) -> list[Voice]:
        """The voices this engine offers."""
        ...

    def speaks(self, language: str) -> bool:
        """Whether this engine can speak text of ``language`` ("zh", "en", ...)."""
        ...

    def ignored_settings(self, prosody: Prosody) -> list[str]:
        """Names of the settings in ``prosody`` this engine cannot honour."""
        ...

    def synthesize(self, text: str, voice: str, prosody: Prosody) -> Clip:
        """Speak ``text``; raise SynthesisError with a one-line reason on failure."""
        ...
