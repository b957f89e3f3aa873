"""The README's quick start and CI run the same commands, in a virtual environment."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def quick_start_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return [line.strip() for line in section.splitlines() if line.startswith("    ")]


def test_the_quick_start_is_two_commands_that_install_into_a_venv():
    render, tests = quick_start_commands()
    # a system Python may refuse `pip install` outside a virtual environment (PEP 668)
    for command in (render, tests):
        assert command.startswith("python3 -m venv .venv && .venv/bin/python -m pip install ")
    assert render.endswith("voicer render examples/speech.txt")
    assert (ROOT / "examples" / "speech.txt").is_file()
    assert "'.[test]'" in tests and tests.endswith("-m pytest")


def test_ci_runs_exactly_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    commands = [line for line in ci if line.strip() and not line.startswith(("#", "set ", "cd "))]
    # before it, only the system packages the tests need (apt-get, when they are missing)
    assert commands[-1] == quick_start_commands()[1]
    assert not any("pip" in line or "pytest" in line for line in commands[:-1])
