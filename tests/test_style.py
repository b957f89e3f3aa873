"""The code base passes its linters (part of the test command, so CI enforces it)."""

from __future__ import annotations

import doctest
import importlib
import io
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import voicer

ROOT = Path(__file__).resolve().parent.parent


RUFF = [sys.executable, "-m", "ruff"]
LINTED = ["voicer", "tests", "scripts"]
LINTERS = {
    "ruff check": [*RUFF, "check", *LINTED],
    "ruff format --check": [*RUFF, "format", "--check", *LINTED],
    "mypy": [sys.executable, "-m", "mypy"],  # voicer and scripts: [tool.mypy] files
    # the layers contract in pyproject.toml: no stage imports a later one
    "lint-imports": [str(Path(sys.executable).with_name("lint-imports"))],
}


@pytest.mark.lint
def test_linters():
    """ruff, ruff format, mypy and lint-imports, once per session and side by side: mypy, the
    longest, sets the time; every linter that fails is reported."""
    running = {
        name: subprocess.Popen(
            command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        for name, command in LINTERS.items()
    }
    failures = []
    for name, process in running.items():
        output, _ = process.communicate()
        if process.returncode != 0:
            failures.append(f"{name} (exit {process.returncode}):\n{output}")
    assert not failures, "\n".join(failures)


def test_doctests():
    """Every example in voicer's docstrings, as ``pytest --doctest-modules voicer`` finds them
    (every module imported, ``__main__`` left out), run in this process: the modules are
    mostly imported already, where a ``python -m pytest`` child spent seconds importing them."""
    finder = doctest.DocTestFinder()
    names = ["voicer"]
    names += [m.name for m in pkgutil.walk_packages(voicer.__path__, "voicer.")]
    tried, failures = 0, []
    for name in names:
        if name.rsplit(".", 1)[-1] == "__main__":
            continue
        for test in finder.find(importlib.import_module(name)):
            if not test.examples:
                continue
            report = io.StringIO()
            tried += 1
            if doctest.DocTestRunner().run(test, out=report.write).failed:
                failures.append(report.getvalue())
    assert tried >= 100, tried  # the examples were found (115 docstrings when this was written)
    assert not failures, "\n".join(failures)[-3000:]
