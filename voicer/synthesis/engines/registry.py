"""The engines voicer knows: ``ENGINES`` maps each name to how to make that engine.

An engine's modules are imported only when it is made (edge brings aiohttp, kokoro
onnxruntime), so reading the table, or an engine's default number of jobs, costs nothing.
The names are ``voicer.defaults.ENGINE_NAMES`` (with ``auto``, which is a way of choosing, not
an engine), which the command line reads without importing this stage.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from voicer.defaults import ENGINE_NAMES
from voicer.errors import InputError
from voicer.synthesis.engines.protocol import Engine

# requests to the edge service at once: it answers 429 from about 40 connections at once; 8
# keeps well clear of that (and measured faster than 4 or 6 against a loopback server paced
# like the service)
EDGE_JOBS = 8
KOKORO_MOST_WORKERS = 4  # see kokoro_processes


@dataclass(frozen=True)
class Factory:
    """One engine: ``create(kokoro_model)`` makes it (only kokoro reads the model path), and
    ``default_jobs()`` is the ``default_jobs`` of the engine ``create`` makes, without making
    it."""

    create: Callable[[Path | None], Engine]
    default_jobs: Callable[[], int]


def _edge(_: Path | None) -> Engine:
    from voicer.synthesis.engines.edge import EdgeEngine

    return EdgeEngine()


def _kokoro(model: Path | None) -> Engine:
    from voicer.synthesis.engines import workers
    from voicer.synthesis.engines.kokoro import THREADS_VARIABLE, KokoroEngine

    kokoro = KokoroEngine(model)
    processes = kokoro_processes()
    if processes < 2:
        return kokoro
    return workers.Workers(kokoro, processes, {THREADS_VARIABLE: "1"})


def _kokoro_jobs() -> int:
    from voicer.synthesis.engines.kokoro import KokoroEngine

    processes = kokoro_processes()
    return processes if processes >= 2 else KokoroEngine.default_jobs


def _tone(_: Path | None) -> Engine:
    from voicer.synthesis.engines.tone import ToneEngine

    return ToneEngine()


def _tone_jobs() -> int:
    from voicer.synthesis.engines.tone import ToneEngine

    return ToneEngine.default_jobs


ENGINES: dict[str, Factory] = {
    "edge": Factory(_edge, lambda: EDGE_JOBS),
    "kokoro": Factory(_kokoro, _kokoro_jobs),
    # synthetic speech, for tests and benchmarks
    "tone": Factory(_tone, _tone_jobs),
}


def factory_for(name: str) -> Factory:
    """The entry of engine ``name``; InputError for a name no engine has."""
    try:
        return ENGINES[name]
    except KeyError:
        known = ", ".join(ENGINE_NAMES)
        raise InputError(f"unknown engine {name!r} (choose from {known})") from None


def create(name: str, kokoro_model: Path | None = None) -> Engine:
    """A new engine by name."""
    return factory_for(name).create(kokoro_model)


def default_jobs(name: str) -> int:
    """How many sentences engine ``name`` synthesises at once when --jobs does not say."""
    return factory_for(name).default_jobs()


def kokoro_processes() -> int:
    """The worker processes the kokoro engine runs in (under 2: none, it runs in this one).

    One single-threaded engine process per core speaks sooner than one process with a thread
    per core (README: Measured choices); beyond 4 is unmeasured, and each process holds its
    own model. VOICER_KOKORO_WORKERS=1: everything in this process.
    """
    from voicer.synthesis.engines import workers

    return workers.wanted("VOICER_KOKORO_WORKERS", most=KOKORO_MOST_WORKERS)
