"""The engine registry: one entry per engine name the command line offers, each making the
engine it is named for, and reading the table imports no engine."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from voicer import defaults
from voicer.errors import InputError
from voicer.synthesis.engines import registry

ROOT = Path(__file__).resolve().parent.parent


def test_the_command_lines_names_are_the_registrys():
    # auto is a way of choosing among the engines, not one of them
    assert ("auto", *registry.ENGINES) == defaults.ENGINE_NAMES


@pytest.mark.parametrize("name", list(registry.ENGINES))
def test_each_entry_makes_the_engine_it_is_named_for(name, monkeypatch):
    monkeypatch.setenv("VOICER_KOKORO_WORKERS", "2")
    engine = registry.create(name)
    assert engine.name == name
    assert engine.default_jobs == registry.default_jobs(name)


def test_an_unknown_engine_is_an_input_error_naming_the_known_ones():
    with pytest.raises(InputError, match=r"unknown engine 'espeak' \(choose from auto, edge, "):
        registry.create("espeak")
    with pytest.raises(InputError, match="unknown engine 'auto'"):
        registry.default_jobs("auto")


def test_the_table_and_edges_jobs_import_no_engine():
    code = "from voicer.synthesis.engines import registry; print(registry.default_jobs('edge'))"
    done = subprocess.run(
        [sys.executable, "-c", code + "; import sys; print(sorted(sys.modules))"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    jobs, modules = done.stdout.splitlines()
    assert int(jobs) == registry.EDGE_JOBS
    engines = ("edge", "kokoro", "kokoro_words", "kokoro_english", "tone", "workers")
    for module in (*(f"voicer.synthesis.engines.{name}" for name in engines), "aiohttp"):
        assert f"'{module}'" not in modules
