"""The Engine protocol: what voicer asks of a text-to-speech engine."""

from __future__ import annotations

from typing import Protocol

from voicer.model import Clip, Prosody, Voice


class Engine(Protocol):
    """A text-to-speech engine. Adding one is a module that implements this and an entry in
    :data:`voicer.synthesis.engines.registry.ENGINES`."""

    name: str
    word_marks: bool  # whether synthesise() returns a timing mark for every word
    default_jobs: int  # requests to run at once when the user does not say (--jobs)
    # whether synthesise() takes readings written into its text (voicer.script.overrides)
    takes_pinyin: bool

    @property
    def cache_version(self) -> str:
        """Changes whenever the same request could sound different (model, library, ...)."""
        ...

    def voices(self) -> list[Voice]:
        """The voices this engine offers."""
        ...

    def speaks(self, language: str) -> bool:
        """Whether this engine can speak text of ``language`` ("zh", "en", ...)."""
        ...

    def ignored_settings(self, prosody: Prosody) -> list[str]:
        """Names of the settings in ``prosody`` this engine cannot honour."""
        ...

    def synthesise(self, text: str, voice: str, prosody: Prosody) -> Clip:
        """Speak ``text``; raise SynthesisError with a one-line reason on failure."""
        ...
